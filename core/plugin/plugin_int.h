/* Private to core/plugin/: the loader (plugin_load.c), settings (plugin_config.c,
 * plugin_secret.c), the host table (plugin_host.c) and the services behind it (HTTP
 * client, fd watchers, post, metrics, inbound routes, signature helpers): what a
 * parley_ctx, a parley_timer and a parley_io really are. Nothing outside core/plugin/
 * includes this; the rest of the core sees plugin_load.h, plugin_http.h,
 * plugin_metrics.h and plugin_route.h. */
#ifndef PARLEY_PLUGIN_INT_H
#define PARLEY_PLUGIN_INT_H
#include <ev.h>
#include <pthread.h>
#include <stddef.h>

#include "plugin_load.h"

/* A host timer. The ev_timer is embedded so the libev callback finds its parley_timer
 * without a lookup; the instance keeps all live timers in a list so close can stop them
 * (a timer firing into an unloaded plugin would jump into unmapped code). */
struct parley_timer {
  ev_timer w;
  struct plugin_inst *pi;
  void (*cb)(parley_ctx *ctx, void *arg);
  void *arg;
  int firing; /* its callback is running: cancel is a no-op, the host frees it after */
  struct parley_timer *prev, *next;
};

/* A host fd watcher (plugin_io.c): the ev_io embedded, listed on its instance like
 * timers so close can stop it. */
struct parley_io {
  ev_io w;
  struct plugin_inst *pi;
  parley_io_cb cb;
  void *arg;
  int firing;  /* its callback is running */
  int stopped; /* io_stop from its own callback: freed when the callback returns */
  struct parley_io *prev, *next;
};

/* Functions posted from any thread (plugin_post.c), waiting for the loop thread. The
 * mutex guards the queue and `closed`; the ev_async wakes the loop. */
struct plugin_post_item;
struct plugin_post {
  pthread_mutex_t mu;
  ev_async wake;
  int started; /* wake runs on the loop (there is a loop) */
  int closed;  /* the instance is closing: post refuses */
  struct plugin_post_item *head, *tail;
};

/* One setting: the host's copy of the plugin's spec element (read with its stride) and
 * the value written into the instance, owned by the host. */
struct plugin_setting {
  struct parley_config_spec spec;
  union {
    char *str; /* STRING, SECRET (wiped at close) */
    int64_t i; /* INT, DURATION (ms) */
    int b;     /* BOOL */
    char **list; /* LIST, NULL-terminated */
  } v;
};

/* One configured channel instance. Plugins see it only as an opaque parley_ctx *. */
struct plugin_inst {
  struct plugin_env env; /* copied: the caller's struct may be on its stack */
  char *channel;         /* "email", "sms" ... */
  char *path;            /* the .so, for messages */
  char *subsys;          /* "plugin:<channel>", the log subsystem */
  void *dl;              /* dlopen handle */
  int verified_fd;       /* >= 0: the verified file, opened once; dlopen loads this very file */
  const struct parley_plugin *desc;
  void *self;            /* desc->instance_size zeroed bytes, owned by the host */
  struct plugin_setting *settings; /* the spec as read, and the values (plugin_config.c) */
  size_t nsettings;
  unsigned in_flight;    /* messages handed to send and not completed: those in `held` */
  void *held;            /* their addresses (plugin_held.c) */
  unsigned calls;        /* plugin callbacks on the stack: close must not unmap them */
  int inited;            /* init returned PARLEY_OK: shutdown is owed */
  struct parley_timer *timers;
  struct parley_http *http_reqs; /* HTTP requests not answered yet (plugin_http.c) */
  struct parley_io *ios;         /* fd watchers (plugin_io.c) */
  struct plugin_post post;       /* functions posted from other threads (plugin_post.c) */
  struct parley_metric *metrics; /* this instance's series (plugin_metrics.c) */
  struct plugin_route *routes;   /* inbound routes it registered (plugin_route.c) */
  struct plugin_route_call *route_call; /* the route handler running, or NULL */
  int closing;           /* close has begun: no new route */
  char error[256];       /* set_error's last text: why init failed */
};

/* The opaque handle and the real struct are the same object. */
static inline parley_ctx *plugin_ctx(struct plugin_inst *pi) { return (parley_ctx *)pi; }
static inline struct plugin_inst *plugin_inst_of(parley_ctx *ctx)
{
  return (struct plugin_inst *)ctx;
}

/* The one host function table, shared by every instance (plugin_host.c). */
const struct parley_host *plugin_host_table(void);
/* Stop and free every pending timer of `pi` (at close). */
void plugin_timers_cancel_all(struct plugin_inst *pi);

/* The messages `pi` holds (plugin_held.c). add returns -1 when out of memory; take
 * returns 1 when `msg` was held (and is no longer), 0 when it is not one of them. */
int plugin_held_add(struct plugin_inst *pi, const struct parley_msg *msg);
int plugin_held_take(struct plugin_inst *pi, const struct parley_msg *msg);
void plugin_held_clear(struct plugin_inst *pi);

/* The host table's HTTP client (plugin_http.c; see http_request in parley/plugin.h). */
parley_http *plugin_http_request(parley_ctx *ctx, const struct parley_http_req *req,
                                 parley_http_cb cb, void *arg);
void plugin_http_cancel(parley_ctx *ctx, parley_http *req);
const char *plugin_http_header(const struct parley_http_resp *resp, const char *name);
/* Cancel every request of `pi` without calling back (at close, and when init fails). */
void plugin_http_cancel_all(struct plugin_inst *pi);

/* Settings (plugin_config.c): read the spec, check `settings` against it, write the values
 * into pi->self. Returns 0, or -1 with err naming the channel, key and what is wrong (the
 * loader adds the file's name). */
int plugin_config_apply(struct plugin_inst *pi, const cJSON *settings, char *err, size_t errlen);
/* Frees the values, wiping secrets. */
void plugin_config_free(struct plugin_inst *pi);
enum parley_status plugin_config_get(parley_ctx *ctx, const char *key, enum parley_config_type type,
                                     void *out);
/* A SECRET's value from { file = ... } or { env = ... } (plugin_secret.c): malloc'd, or
 * NULL with `why` (a phrase after "setting 'k' of plugin 'p': ") that never holds it. */
char *plugin_secret_read(const cJSON *v, char *why, size_t whylen);
void plugin_secret_free(char *secret); /* wipes, then frees */

/* fd watchers (plugin_io.c; io_start, io_modify, io_stop in parley/plugin.h). */
parley_io *plugin_io_start(parley_ctx *ctx, int fd, unsigned events, parley_io_cb cb, void *arg);
enum parley_status plugin_io_modify(parley_ctx *ctx, parley_io *io, unsigned events);
void plugin_io_stop(parley_ctx *ctx, parley_io *io);
/* Stop and free every watcher of `pi` without calling back (at close). */
void plugin_io_stop_all(struct plugin_inst *pi);

/* post (plugin_post.c). plugin_post_init at the instance's birth; plugin_post_close refuses
 * later posts and runs (run = 1) or drops (run = 0) those queued; plugin_post_free, at
 * the end, also drops what is left and stops the watcher. */
void plugin_post_init(struct plugin_inst *pi);
enum parley_status plugin_post(parley_ctx *ctx, parley_post_fn fn, void *arg);
void plugin_post_close(struct plugin_inst *pi, int run);
void plugin_post_free(struct plugin_inst *pi);

/* Metrics (plugin_metrics.c; metric_* in parley/plugin.h). plugin_metrics_release removes
 * the instance's series (at close, after shutdown). */
parley_metric *plugin_metric_register(parley_ctx *ctx, enum parley_metric_type type, const char *name,
                                      const char *help, const double *bounds, size_t n_bounds);
void plugin_metric_add(parley_ctx *ctx, parley_metric *m, double v);
void plugin_metric_set(parley_ctx *ctx, parley_metric *m, double v);
void plugin_metric_observe(parley_ctx *ctx, parley_metric *m, double v);
void plugin_metrics_release(struct plugin_inst *pi);
/* RFC 9110's token (method and header names); no control character but, with
 * allow_space, space and tab (header values). 1 when so. */
int plugin_is_token(const char *s);
int plugin_is_clean(const char *s, int allow_space);

/* The host table's inbound routes (plugin_route.c; see route_add in parley/plugin.h). */
enum parley_status plugin_route_add(parley_ctx *ctx, const char *method, const char *path,
                                    parley_route_cb cb, void *arg);
enum parley_status plugin_route_answer(parley_ctx *ctx, const struct parley_route_req *req,
                                       const struct parley_route_resp *resp);
const char *plugin_route_header(const struct parley_route_req *req, const char *name);
/* Forget every route of `pi` (at close). */
void plugin_routes_free(struct plugin_inst *pi);

/* The host table's signature helpers (plugin_verify.c; see hmac_sha256 in parley/plugin.h). */
enum parley_status plugin_hmac_sha256(const void *key, size_t key_len, const struct parley_bytes *parts,
                                      size_t n_parts, unsigned char out[PARLEY_HMAC_SHA256_BYTES]);
enum parley_status plugin_hmac_sha256_verify(const void *key, size_t key_len,
                                             const struct parley_bytes *parts, size_t n_parts,
                                             const char *signature, size_t sig_len,
                                             enum parley_encoding enc);
enum parley_status plugin_timestamp_check(parley_ctx *ctx, const char *unix_seconds, uint32_t tolerance_s);
enum parley_status plugin_decode(const char *text, size_t len, enum parley_encoding enc, void *out,
                                 size_t cap, size_t *out_len);

/* The host table's contacts_find (plugin_contacts.c; see parley/plugin.h). */
int plugin_contacts_find(parley_ctx *ctx, const char *attribute, const char *value,
                         void (*cb)(parley_ctx *ctx, const char *contact_id, void *arg), void *arg);

#endif

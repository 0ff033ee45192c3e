/* Private to the plugin loader (plugin_load.c), the host table (plugin_host.c) and the
 * HTTP client (plugin_http.c): what a parley_ctx and a parley_timer really are. Nothing
 * outside core/plugin/ includes this; the rest of the core sees plugin_load.h and
 * plugin_http.h. */
#ifndef PARLEY_PLUGIN_INT_H
#define PARLEY_PLUGIN_INT_H
#include <ev.h>
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
  char **strings;        /* STRING settings we strdup'd into self, freed at close */
  size_t nstrings;
  unsigned in_flight;    /* messages handed to send and not completed: those in `held` */
  void *held;            /* their addresses (plugin_held.c) */
  unsigned calls;        /* plugin callbacks on the stack: close must not unmap them */
  int inited;            /* init returned PARLEY_OK: shutdown is owed */
  struct parley_timer *timers;
  struct parley_http *http_reqs; /* HTTP requests not answered yet (plugin_http.c) */
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

#endif

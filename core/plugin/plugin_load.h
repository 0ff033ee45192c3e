/* The plugin loader: dlopen a channel plugin, check its ABI, configure and start one
 * instance per channel, and the host function table plugins call back into. */
#ifndef PARLEY_PLUGIN_LOAD_H
#define PARLEY_PLUGIN_LOAD_H
#include <stddef.h>
#include <stdint.h>
#include <parley/plugin.h>

struct log;
struct clock;
struct ev_loop;
struct plugin_http;
struct plugin_metrics;
typedef struct cJSON cJSON;

struct plugin_inst; /* one configured channel instance (its parley_ctx) */

/* How a send ended, as the plugin said it: with send_done (1.0) or with send_delivered,
 * send_retry or send_failed (1.1). The strings are the plugin's, valid during the call. */
struct plugin_result {
  enum parley_status status;      /* PARLEY_OK, PARLEY_RETRY or PARLEY_ERROR */
  const char *detail;             /* why it failed (logs, the dead letter); may be NULL */
  const char *provider_id;        /* PARLEY_OK: the provider's id for it, or NULL */
  uint64_t retry_after_ms;        /* PARLEY_RETRY: the provider's wait, 0 when none */
  enum parley_fail_reason reason; /* PARLEY_ERROR: why; PARLEY_FAIL_OTHER unless told */
};

/* The name of a reason ("invalid_address"), as the "<channel>.failed" event gives it. */
const char *plugin_fail_reason_name(enum parley_fail_reason reason);

/* What the loader needs from the core. Copied by plugin_instance_open. */
struct plugin_env {
  const struct log *log;
  const struct clock *clock;
  struct ev_loop *loop;
  /* A PARLEY_PENDING send finished; `outbox` is passed back. */
  void (*send_done)(void *outbox, struct parley_msg *msg, const struct plugin_result *r);
  void *outbox;
  /* A plugin emitted a receipt event; `core` is passed back. Returns 0, or -1 with a
   * reason in err. */
  int (*emit_event)(void *core, const char *json, size_t len, char *err, size_t errlen);
  void *core;
  /* Trusted Ed25519 public keys (32 bytes each). With any, a plugin must carry a valid
   * signature by one of them (FILE.so.sig, see plugin_sign.h) or it is not loaded. */
  const unsigned char (*trusted_keys)[32];
  size_t n_trusted_keys;
  /* The HTTP client the instances share (plugin_http.h); NULL: http_request refuses. */
  struct plugin_http *http;
  /* The registry of plugin metrics (plugin_metrics.h); NULL: metric_register refuses. */
  struct plugin_metrics *metrics;
  /* contacts_find (ABI 1.2): calls `each(arg, id)` for every contact whose `attribute`
   * is `value`; returns the count, or -1 with a reason in err. NULL: the host table's
   * contacts_find refuses. `core` is passed back. */
  int (*contacts_find)(void *core, const char *attribute, const char *value,
                       void (*each)(void *arg, const char *contact_id), void *arg, char *err,
                       size_t errlen);
};

/* Find plugin `name` under `dir`: DIR/NAME.so, then DIR/.libs/NAME.so (build tree).
 * Returns 0 and the path, or -1 with a message. */
int plugin_find(const char *dir, const char *name, char *path, size_t pathlen, char *err,
                size_t errlen);
/* The same in several folders (plugin_path, then plugin_dir), in order: the first that
 * holds the plugin. The message for a plugin found nowhere names every folder. */
int plugin_find_in(const char *const *dirs, size_t ndirs, const char *name, char *path,
                   size_t pathlen, char *err, size_t errlen);

/* Load the plugin file at `path` (dlopen, entry symbol, ABI checks), apply `settings`
 * (a JSON object: key -> string/number/bool/list/table, checked against the plugin's config spec) and
 * run its init for `channel`. On any refusal: returns -1, err names the file and the
 * reason, nothing stays loaded, and nothing crashes. */
int plugin_instance_open(const struct plugin_env *env, const char *channel, const char *path,
                         const cJSON *settings, struct plugin_inst **out, char *err,
                         size_t errlen);

/* Hand one message to the instance. PARLEY_PENDING means send_done follows later through
 * env->send_done; any other status is final for this attempt and is NOT reported through
 * env->send_done (the caller handles it). */
enum parley_status plugin_instance_send(struct plugin_inst *pi, struct parley_msg *msg);

/* The plugin's check of a message a journey speaks (ABI 1.2): PARLEY_OK with `info` (a
 * JSON object, or "") when it may go, PARLEY_ERROR with the reason in `info` when it
 * never can. A plugin without check: PARLEY_OK and "". */
enum parley_status plugin_instance_check(struct plugin_inst *pi, const struct parley_msg *msg,
                                         char *info, size_t infolen);

const char *plugin_instance_name(const struct plugin_inst *pi);    /* plugin name */
const char *plugin_instance_channel(const struct plugin_inst *pi); /* channel it serves */

/* shutdown callback, free the instance, dlclose. */
void plugin_instance_close(struct plugin_inst *pi);

#endif

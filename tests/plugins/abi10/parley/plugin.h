/*
 * parley/plugin.h — the Parley channel plugin ABI, version 1.
 *
 * A channel plugin is a shared object (built with -fvisibility=hidden) that the Parley
 * daemon loads with dlopen. It exports exactly one symbol, PARLEY_PLUGIN_ENTRY_SYMBOL:
 *
 *     PARLEY_EXPORT const struct parley_plugin *
 *     parley_plugin_entry(const struct parley_host *host);
 *
 * The host passes its function table; the plugin keeps the pointer (it stays valid until
 * the plugin's shutdown callback returns) and returns a pointer to its static descriptor.
 * The entry point is called once per instance opened from the file (two channels served
 * by one plugin: two calls), so it must do nothing but store `host` and return the same
 * descriptor; real set-up belongs in init. The plugin never calls a symbol of the daemon
 * directly and never links libev or the core: everything it needs from the host is in
 * struct parley_host.
 *
 * Compatibility rules (read these once, they are the contract):
 *  - Both structs start with abi_major, abi_minor, size. The host refuses a plugin whose
 *    abi_major differs from its own, or whose descriptor is shorter than v1's.
 *  - struct parley_host only ever grows at the end. A field added in minor version N is
 *    valid only when host->abi_minor >= N (and host->size covers it); older hosts leave it
 *    out. A plugin built against a newer minor checks PARLEY_HOST_HAS(host, field) first.
 *  - Messages and contacts are opaque handles read through host accessors, so they can
 *    grow without breaking plugins.
 *
 * Life cycle of one instance (one per configured channel that names the plugin):
 *  1. entry(host) -> descriptor            (the host checks abi_major, size, name, init,
 *                                           send when PARLEY_CAP_SEND)
 *  2. the host allocates instance_size zeroed bytes, fills the fields the config spec
 *     names from the channel's settings (defaults applied, unknown keys refused), then
 *  3. init(ctx, self)                      PARLEY_OK, or PARLEY_ERROR to refuse loading
 *                                           (shutdown is NOT called after a failed init:
 *                                           free what you made before returning)
 *  4. send(ctx, self, msg) many times      see "Delivery" below
 *  5. shutdown(ctx, self)                  free what init made; the host frees `self`
 *                                           and the STRING settings, and cancels timers
 * `ctx` is the instance's handle for every host call; `self` is your instance struct.
 * The host never dlcloses a plugin while a PARLEY_PENDING send is outstanding (it keeps
 * the file mapped and logs a warning instead).
 *
 * All callbacks run on the daemon's single event loop thread. They must never block:
 * no sleeping, no blocking sockets, no synchronous HTTP. Use the host's timers (and, in
 * later minors, fd watchers and the async HTTP client) instead.
 *
 * Delivery: the core hands each message to send() at least once, with a stable message id
 * the plugin should pass to its provider as an idempotency key. send() either finishes
 * at once (returns PARLEY_OK, PARLEY_RETRY or PARLEY_ERROR) or returns PARLEY_PENDING and
 * later calls host->send_done(ctx, msg, status, detail) exactly once. The msg handle stays
 * valid until send_done is called (or send returned a final status). On PARLEY_RETRY the
 * core retries with exponential backoff and jitter, then dead-letters; PARLEY_ERROR is
 * permanent (bad address, content refused).
 *
 * Receipts (delivered, bounced, replied, opened...) go back into Parley as events with
 * host->emit_event, for the same contact, so the journey waiting for them wakes.
 *
 * A complete plugin (sdk/template/ has a fuller one, with a README):
 *
 *     #include <stddef.h>
 *     #include <stdio.h>
 *     #include <parley/plugin.h>
 *
 *     static const struct parley_host *host;
 *     struct hello { const char *greeting; int64_t repeat; };
 *
 *     static const struct parley_config_spec hello_config[] = {
 *       {"greeting", PARLEY_CONFIG_STRING, "hello", 0, offsetof(struct hello, greeting),
 *        "what to print before each message"},
 *       {"repeat", PARLEY_CONFIG_INT, "1", 0, offsetof(struct hello, repeat), "times"},
 *       {NULL, 0, NULL, 0, 0, NULL}};
 *
 *     static enum parley_status hello_init(parley_ctx *ctx, void *self)
 *     {
 *       struct hello *h = self;
 *       if (h->repeat < 1) {
 *         host->log(ctx, PARLEY_LOG_ERROR, "repeat must be at least 1", NULL);
 *         return PARLEY_ERROR;
 *       }
 *       return PARLEY_OK;
 *     }
 *
 *     static enum parley_status hello_send(parley_ctx *ctx, void *self, parley_msg *msg)
 *     {
 *       struct hello *h = self;
 *       for (int64_t i = 0; i < h->repeat; i++)
 *         printf("%s %s: %s\n", h->greeting, host->msg_contact(msg),
 *                host->msg_part(msg, "text") ? host->msg_part(msg, "text") : "");
 *       return PARLEY_OK;
 *     }
 *
 *     static const struct parley_plugin hello_plugin = {
 *       .abi_major = PARLEY_ABI_MAJOR, .abi_minor = PARLEY_ABI_MINOR,
 *       .size = sizeof(struct parley_plugin),
 *       .name = "hello", .version = "1.0", .description = "prints a greeting",
 *       .capabilities = PARLEY_CAP_SEND, .instance_size = sizeof(struct hello),
 *       .config = hello_config, .init = hello_init, .send = hello_send};
 *
 *     PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
 *     {
 *       host = h;
 *       return &hello_plugin;
 *     }
 *
 * Build: cc -fPIC -shared -fvisibility=hidden -I<sdk>/include hello.c -o hello.so
 * Use:   channels = { greet = { plugin = "hello", greeting = "hi" } }   (parley.conf.lua)
 */
#ifndef PARLEY_PLUGIN_H
#define PARLEY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PARLEY_ABI_MAJOR 1
#define PARLEY_ABI_MINOR 0

/* The one symbol a plugin exports. */
#define PARLEY_PLUGIN_ENTRY_SYMBOL "parley_plugin_entry"

#if defined(__GNUC__)
#define PARLEY_EXPORT __attribute__((visibility("default")))
#define PARLEY_SENTINEL __attribute__((sentinel)) /* warns when the NULL is forgotten */
#else
#define PARLEY_EXPORT
#define PARLEY_SENTINEL
#endif

/* The small return vocabulary of every callback and host function. */
enum parley_status {
  PARLEY_OK = 0,      /* done, succeeded */
  PARLEY_PENDING = 1, /* send only: accepted, host->send_done will follow */
  PARLEY_RETRY = 2,   /* failed, worth retrying later (timeout, 5xx, throttled) */
  PARLEY_ERROR = 3    /* failed for good (bad address, refused content, bad config) */
};

enum parley_log_level {
  PARLEY_LOG_DEBUG = 0,
  PARLEY_LOG_INFO = 1,
  PARLEY_LOG_WARN = 2,
  PARLEY_LOG_ERROR = 3
};

/* Capabilities a plugin declares in its descriptor. */
#define PARLEY_CAP_SEND 0x1u     /* delivers messages (send must be set) */
#define PARLEY_CAP_RECEIPTS 0x2u /* emits receipts as events */

/* Opaque handles. */
typedef struct parley_ctx parley_ctx; /* one plugin instance, as the host sees it */
typedef struct parley_msg parley_msg; /* one message to deliver */
typedef struct parley_timer parley_timer;

/* Declarative configuration. The host reads the channel's settings from the Parley config
 * file, checks them against this spec and writes each value into the instance at
 * `offset` (use offsetof). Unknown keys, wrong types and missing required keys refuse the
 * instance with a message naming the key. The key "plugin" is reserved (it names the
 * plugin). A setting neither given nor defaulted stays zero (NULL for strings). Types are
 * strict: an INT setting must be an integral number (not "10"), a BOOL true or false.
 * A default that does not parse as its type ("ten" for an INT) refuses the plugin: that
 * is the plugin author's bug, caught at the first load. */
enum parley_config_type {
  PARLEY_CONFIG_STRING = 1, /* const char * ; owned by the host, valid until shutdown */
  PARLEY_CONFIG_INT = 2,    /* int64_t */
  PARLEY_CONFIG_BOOL = 3    /* int, 0 or 1 */
};

struct parley_config_spec {
  const char *key;           /* NULL ends the array */
  enum parley_config_type type;
  const char *default_value; /* as text ("10", "true", "path"); NULL: no default */
  int required;              /* 1: the setting must be given */
  size_t offset;             /* where the value goes in the instance */
  const char *help;          /* one line for `parley check` and the docs */
};

/* What the host gives every plugin. Append-only: new fields go at the end, never between. */
struct parley_host {
  uint16_t abi_major; /* PARLEY_ABI_MAJOR of the host */
  uint16_t abi_minor; /* fields up to this minor are present */
  uint32_t size;      /* sizeof(struct parley_host) in the host */

  /* --- v1.0 --- */

  /* Log one record through the daemon's log, with subsystem "plugin:<channel>". `msg` is a
   * short constant message; then alternating key, value strings ending with NULL:
   *     host->log(ctx, PARLEY_LOG_WARN, "provider throttled", "status", "429", NULL);
   * At most 12 pairs are kept. Callable any time after entry returned, ctx may be NULL
   * (then the subsystem is just "plugin"). Nothing is retained after it returns. Never log
   * message bodies, addresses or credentials at INFO or above. */
  void (*log)(parley_ctx *ctx, enum parley_log_level level, const char *msg,
              ...) PARLEY_SENTINEL;

  /* Message accessors, callable from send and, for a pending message, until send_done.
   * Strings are owned by the host (never free or modify them) and valid while the handle
   * is; copy what you keep longer. A part or field the message lacks reads as NULL. */
  const char *(*msg_id)(const parley_msg *msg);      /* stable across retries */
  const char *(*msg_channel)(const parley_msg *msg); /* "email", "sms", ... */
  const char *(*msg_contact)(const parley_msg *msg); /* the contact id */
  const char *(*msg_address)(const parley_msg *msg); /* e-mail address, phone, token */
  const char *(*msg_journey)(const parley_msg *msg);
  const char *(*msg_template)(const parley_msg *msg);
  /* Rendered parts: "subject", "text", "html"; any other name reads as NULL. */
  const char *(*msg_part)(const parley_msg *msg, const char *part);
  /* Attempt number, 1 on first delivery. */
  unsigned (*msg_attempt)(const parley_msg *msg);
  /* The contact's profile attribute `key` as text, NULL when absent or null. A string is
   * returned as stored; a number, boolean, table or list is rendered ("42", "true",
   * JSON) into one scratch buffer per message, which the next msg_contact_attr call on
   * the same message replaces: copy it if you need two at once. */
  const char *(*msg_contact_attr)(const parley_msg *msg, const char *key);

  /* Completion of a send that returned PARLEY_PENDING. Call exactly once per message,
   * with PARLEY_OK, PARLEY_RETRY or PARLEY_ERROR (a PARLEY_PENDING here is treated as
   * RETRY). `detail` (may be NULL; copied, not kept) explains a failure, or carries the
   * provider's id on success. Usually called from a timer or (later minors) I/O callback;
   * calling it from inside send before returning PARLEY_PENDING is allowed. After it
   * returns the msg handle is gone. A send_done for no pending message is logged and
   * ignored. Messages still pending when the instance shuts down are abandoned: do not
   * complete them from shutdown; the core delivers them again (at least once). */
  void (*send_done)(parley_ctx *ctx, parley_msg *msg, enum parley_status status,
                    const char *detail);

  /* Feed an event back into Parley: one JSON object of the same shape as POST /v1/events
   * ({"id","type","contact","data"}), `len` bytes (need not be NUL-terminated; copied, not
   * kept). Callable any time after init started. Returns PARLEY_OK or PARLEY_ERROR
   * (malformed; the reason is logged). Use a deterministic id ("<msgid>:delivered") so a
   * receipt sent twice is deduplicated, and the message id in `data.message_id` to
   * correlate receipts. The event is checked and queued at once (PARLEY_OK means it was
   * accepted, with the same rules as the API: valid UTF-8, a `time` within range) and
   * applied by the core after your callback returns, at most one loop turn later, never
   * inside it: emitting from inside send() is safe and cannot re-enter your plugin. */
  enum parley_status (*emit_event)(parley_ctx *ctx, const char *json, size_t len);

  /* One-shot timer on the loop, `after_ms` from now (0: on the next loop iteration).
   * Returns NULL on failure (out of memory, no loop). `cb(ctx, arg)` runs on the loop
   * thread; the host frees the timer after cb returns, so the handle must not be used
   * after its callback started. timer_cancel stops and frees a timer that has not fired
   * (NULL is ignored; cancelling from its own callback is a no-op). Timers still pending
   * when the instance is closed are cancelled by the host. */
  parley_timer *(*timer_start)(parley_ctx *ctx, uint64_t after_ms,
                               void (*cb)(parley_ctx *ctx, void *arg), void *arg);
  void (*timer_cancel)(parley_ctx *ctx, parley_timer *timer);

  /* Wall-clock milliseconds since the epoch, from the core's clock: the loop's in
   * `parley serve`, a virtual clock in tests. Use it, never time(), for timestamps. */
  int64_t (*now_ms)(parley_ctx *ctx);
};

/* True when the host provides `field` (for plugins built against a newer minor). */
#define PARLEY_HOST_HAS(host, field)                                                       \
  ((host)->size >= offsetof(struct parley_host, field) + sizeof((host)->field) &&         \
   (host)->field != NULL)

/* What a plugin returns from its entry point: a static, read-only descriptor. */
struct parley_plugin {
  uint16_t abi_major; /* set to PARLEY_ABI_MAJOR */
  uint16_t abi_minor; /* set to PARLEY_ABI_MINOR */
  uint32_t size;      /* set to sizeof(struct parley_plugin) */

  /* --- v1.0 --- */
  const char *name;        /* short, lower-case: "smtp", "kannel", "console" */
  const char *version;     /* the plugin's own version, for logs */
  const char *description; /* one line */
  uint32_t capabilities;   /* PARLEY_CAP_* */
  size_t instance_size;    /* bytes the host allocates (zeroed) per instance; may be 0 */
  const struct parley_config_spec *config; /* NULL-key terminated; may be NULL */

  /* Required. Set up the instance; config values are already in `self`. Return PARLEY_OK,
   * or PARLEY_ERROR after logging why: the host then refuses the instance. */
  enum parley_status (*init)(parley_ctx *ctx, void *self);
  /* Required with PARLEY_CAP_SEND. See "Delivery" at the top of this file. */
  enum parley_status (*send)(parley_ctx *ctx, void *self, parley_msg *msg);
  /* Optional. Release what init made. No message is in flight when it is called. */
  void (*shutdown)(parley_ctx *ctx, void *self);
};

#define PARLEY_PLUGIN_V1_SIZE (offsetof(struct parley_plugin, shutdown) + sizeof(void (*)(void)))

typedef const struct parley_plugin *(*parley_plugin_entry_fn)(const struct parley_host *host);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_PLUGIN_H */

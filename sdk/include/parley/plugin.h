/*
 * parley/plugin.h — the Parley channel plugin ABI, version 1.1.
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
 *    abi_major differs from its own, or whose descriptor is shorter than v1.0's.
 *  - A minor version only adds. struct parley_host and struct parley_plugin only ever
 *    grow at the end; no field moves, changes type or changes meaning, and no constant
 *    changes value. A 1.0 plugin runs unchanged on a 1.1 host, which reads of its
 *    descriptor only what its `size` covers (PARLEY_PLUGIN_HAS).
 *  - A plugin built against a newer minor may be loaded by an older host: before using a
 *    host function added after 1.0 it checks PARLEY_HOST_HAS(host, field) (or
 *    host->abi_minor), and does without, or refuses in init, when it is absent. Each
 *    field below says in which minor it came.
 *  - Messages and contacts are opaque handles read through host accessors, so they can
 *    grow without breaking plugins. Structs a plugin fills in for the host (such as
 *    struct parley_http_req) start with their own `size`, for the same reason.
 *
 * Versions: 1.0, the first; 1.1, which only adds (the fields under "v1.1"): an
 * asynchronous HTTP client (http_request, http_cancel, http_header) and a finer word on
 * how a send ended (send_delivered, send_retry, send_failed; enum parley_fail_reason),
 * and set_error, the one line that says why init failed. A 1.1 host also brings, with no
 * new field: flow control per channel (rate, burst, max_in_flight; see "Delivery"), an
 * attempt number stored before each hand-over, and completions checked against the
 * messages the instance holds.
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
 *                                           and the STRING settings. Before it runs,
 *                                           the host cancelled the instance's timers and
 *                                           HTTP requests without calling them back:
 *                                           free what their `arg`s hold here
 * `ctx` is the instance's handle for every host call; `self` is your instance struct.
 * The host never dlcloses a plugin while a PARLEY_PENDING send is outstanding (it keeps
 * the file mapped and logs a warning instead).
 *
 * Threads: there is one. Every callback (entry, init, send, shutdown, timers, HTTP
 * answers) runs on the daemon's event loop thread, and every host function must be
 * called from it; none is safe from a thread of your own. Callbacks must never block: no
 * sleeping, no blocking sockets, no synchronous HTTP. Use the host's timers and (1.1) its
 * HTTP client instead.
 *
 * Delivery: the core hands each message to send() at least once, with a stable message id
 * the plugin should pass to its provider as an idempotency key. send() either finishes
 * at once (returns PARLEY_OK, PARLEY_RETRY or PARLEY_ERROR) or returns PARLEY_PENDING and
 * later completes the message exactly once: host->send_done(ctx, msg, status, detail), or
 * with 1.1 host->send_delivered, send_retry or send_failed, which also carry the
 * provider's id, the provider's retry-after and the reason of a permanent failure. The
 * msg handle stays valid until it is completed (or send returned a final status). On
 * PARLEY_RETRY the core retries with exponential backoff and jitter (or after the
 * provider's retry-after, when later), then dead-letters; PARLEY_ERROR is permanent (bad
 * address, content refused): the message is dead-lettered at once. Every dead letter is
 * told to the journey as the event "<channel>.failed" (data: message_id, reason).
 *
 * Flow control is the core's: the channel's configuration may set `rate` (messages per
 * second; none by default), `burst` (messages at once; default: the rate rounded up) and
 * `max_in_flight` (messages handed to send and not yet completed; default 100). The host
 * never calls send faster or with more messages outstanding than that; messages that
 * must wait stay queued in the core, and each channel waits on its own. So send never
 * needs to queue or throttle on its own behalf: when the provider is busy, answer
 * PARLEY_RETRY (with 1.1, send_retry and the provider's retry-after). A message still
 * PARLEY_PENDING holds one of the channel's slots until it is completed: a plugin that
 * never completes its messages stops its channel, and only its channel.
 *
 * Attempts: msg_attempt is the number of this attempt, stored before send is called. If
 * the daemon stops while a send is outstanding (a crash, a kill), the message is handed
 * over again at the next start, with the same id and the next attempt number; when that
 * attempt would be past the configured maximum, the message is dead-lettered as
 * "retries_exhausted" instead. So an attempt number is never handed over twice, and a
 * message whose send crashes the daemon is not retried for ever.
 *
 * Completions are checked: the host keeps the messages each instance holds, and a
 * completion (send_done, send_delivered, send_retry, send_failed) for any other handle --
 * completed already, another channel's, or not a message at all -- is refused with an
 * ERROR log naming the plugin and the channel, and nothing else happens. (The msg_*
 * accessors take no ctx and cannot be checked: call them only on a message you hold.)
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
 *
 * A send to a provider's HTTP API (1.1), the shape of most real plugins; the answer says
 * how the delivery ended. `struct req` is the plugin's per-message state, listed in the
 * instance so shutdown can free what is still pending; listed, unlist, render_json and
 * retry_after_ms are the plugin's own small helpers:
 *
 *     static void on_answer(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
 *     {
 *       struct req *q = arg;
 *       unlist(q);
 *       if (r->error != PARLEY_HTTP_OK)
 *         host->send_retry(ctx, q->msg, 0, r->error_text);
 *       else if (r->status / 100 == 2)
 *         host->send_delivered(ctx, q->msg, host->http_header(r, "X-Message-Id"));
 *       else if (r->status == 429 || r->status >= 500)
 *         host->send_retry(ctx, q->msg, retry_after_ms(host->http_header(r, "Retry-After")),
 *                          "provider busy");
 *       else
 *         host->send_failed(ctx, q->msg, r->status == 404 ? PARLEY_FAIL_INVALID_ADDRESS
 *                                                         : PARLEY_FAIL_REJECTED, r->body);
 *       free(q);
 *     }
 *
 *     static enum parley_status api_send(parley_ctx *ctx, void *self, parley_msg *msg)
 *     {
 *       struct api *a = self;
 *       struct parley_http_header h[] = {{"Authorization", a->auth},
 *                                        {"Idempotency-Key", host->msg_id(msg)},
 *                                        {"Content-Type", "application/json"}};
 *       char body[4096];
 *       int n = render_json(body, sizeof body, msg); // the provider's format
 *       struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = a->url,
 *                                     .headers = h, .n_headers = 3,
 *                                     .body = body, .body_len = (size_t)n,
 *                                     .timeout_ms = 10000};
 *       struct req *q = listed(a, msg);
 *       if (q == NULL || host->http_request(ctx, &req, on_answer, q) == NULL) {
 *         unlist_and_free(q);
 *         return PARLEY_RETRY;
 *       }
 *       return PARLEY_PENDING;
 *     }
 *
 * Its init checks PARLEY_HOST_HAS(host, http_request) (a 1.0 host has none) and refuses
 * the instance with a log line when it is missing.
 */
#ifndef PARLEY_PLUGIN_H
#define PARLEY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PARLEY_ABI_MAJOR 1
#define PARLEY_ABI_MINOR 1

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

/* v1.1: why a message can never be delivered (host->send_failed). The core dead-letters
 * it at once, records the reason with it, and tells the journey with an event
 * "<channel>.failed" whose data.reason is the name in quotes. A value this host does not
 * know counts as PARLEY_FAIL_OTHER. */
enum parley_fail_reason {
  PARLEY_FAIL_OTHER = 0,           /* "other": none of these, or not known */
  PARLEY_FAIL_INVALID_ADDRESS = 1, /* "invalid_address": no such mailbox, number or device
                                      token; malformed; expired */
  PARLEY_FAIL_UNSUBSCRIBED = 2,    /* "unsubscribed": the recipient opted out with the
                                      provider (STOP, a suppression list) */
  PARLEY_FAIL_BLOCKED = 3,         /* "blocked": the provider, carrier or recipient blocks
                                      this sender or this recipient */
  PARLEY_FAIL_REJECTED = 4         /* "rejected": the content was refused (policy, spam,
                                      size, a template the provider does not accept) */
};

/* Capabilities a plugin declares in its descriptor. */
#define PARLEY_CAP_SEND 0x1u     /* delivers messages (send must be set) */
#define PARLEY_CAP_RECEIPTS 0x2u /* emits receipts as events (emit_event refuses without it) */

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

/* --- v1.1: the HTTP client's types (see http_request in struct parley_host) --- */

typedef struct parley_http parley_http; /* one HTTP request in flight */

/* One header, request or response. */
struct parley_http_header {
  const char *name;  /* "Content-Type"; a token: no space, colon, CR, LF */
  const char *value; /* "application/json"; no CR, LF; "" sends the header empty */
};

/* A request, filled in by the plugin. Start with `size`, so a later minor may add fields
 * at the end without breaking plugins built against this one:
 *
 *     struct parley_http_req req = {.size = sizeof req, .method = "POST", .url = url,
 *                                   .headers = hdrs, .n_headers = 2,
 *                                   .body = json, .body_len = strlen(json),
 *                                   .timeout_ms = 10000};
 *
 * Everything it points to is read during the http_request call and copied: the struct,
 * its strings and the body may go as soon as http_request returns. */
struct parley_http_req {
  uint32_t size;                            /* sizeof(struct parley_http_req) */
  const char *method;                       /* "GET", "POST", "PUT", "PATCH", "DELETE",
                                               "HEAD" or another token; NULL: GET */
  const char *url;                          /* http:// or https:// only */
  const struct parley_http_header *headers; /* may be NULL when n_headers is 0 */
  size_t n_headers;
  const void *body;                         /* the request body; NULL when body_len is 0 */
  size_t body_len;
  uint32_t timeout_ms;     /* the whole request, from http_request to the last byte of the
                              answer, waiting for a free connection included; 0: 30 s */
  size_t max_body_bytes;   /* the largest response body accepted (PARLEY_HTTP_TOO_LARGE
                              beyond it); 0: 1 MiB; more than 64 MiB counts as 64 MiB */
};

/* Why no response came. A response with any status, 5xx included, is PARLEY_HTTP_OK: what
 * a status means is the plugin's to say. */
enum parley_http_error {
  PARLEY_HTTP_OK = 0,        /* a response arrived: status, headers and body are set */
  PARLEY_HTTP_TIMEOUT = 1,   /* timeout_ms passed first */
  PARLEY_HTTP_CONNECT = 2,   /* the name did not resolve, or no connection could be made
                                (refused, unreachable) */
  PARLEY_HTTP_TLS = 3,       /* the TLS handshake failed, or the server's certificate did not
                                verify (verification is always on) */
  PARLEY_HTTP_TOO_LARGE = 4, /* the response's body went past max_body_bytes, or its headers
                                past 64 KiB or 100 lines */
  PARLEY_HTTP_FAILED = 5     /* anything else: the connection was cut, the answer was not
                                HTTP, out of memory */
};

/* A response, owned by the host and valid only during the callback that receives it:
 * copy what you keep. Fields past `size` are absent (a later minor may add some). */
struct parley_http_resp {
  uint32_t size;                            /* sizeof(struct parley_http_resp) in the host */
  enum parley_http_error error;             /* PARLEY_HTTP_OK, or why there is no response */
  const char *error_text;                   /* NULL when OK; else a line for a log or a
                                               send_done detail ("Connection refused") */
  int status;                               /* 200, 404, 503...; 0 unless OK */
  const struct parley_http_header *headers; /* the final response's, in order (HTTP/2's
                                               names are lower case) */
  size_t n_headers;
  const char *body;                         /* body_len bytes, then a NUL the length does
                                               not count; "" when there is none */
  size_t body_len;
};

/* Called once per request, on the loop thread, with the response or the error. */
typedef void (*parley_http_cb)(parley_ctx *ctx, const struct parley_http_resp *resp, void *arg);

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
  /* Attempt number, 1 on first delivery; stored before send is called, so it grows across
   * restarts too (see "Attempts" at the top). */
  unsigned (*msg_attempt)(const parley_msg *msg);
  /* The contact's profile attribute `key` as text, NULL when absent or null. A string is
   * returned as stored; a number, boolean, table or list is rendered ("42", "true",
   * JSON) into one scratch buffer per message, which the next msg_contact_attr call on
   * the same message replaces: copy it if you need two at once. */
  const char *(*msg_contact_attr)(const parley_msg *msg, const char *key);

  /* Completion of a send that returned PARLEY_PENDING. Call exactly once per message,
   * with PARLEY_OK, PARLEY_RETRY or PARLEY_ERROR (a PARLEY_PENDING here is treated as
   * RETRY). `detail` (may be NULL; copied, not kept) explains a failure, or carries the
   * provider's id on success. Usually called from a timer or an HTTP callback; calling it
   * from inside send before returning PARLEY_PENDING is allowed. After it returns the msg
   * handle is gone. A send_done for a message this instance does not hold (completed
   * already, another instance's, not a message) is logged as an ERROR and ignored. Messages
   * still pending when the instance shuts down are abandoned: do not complete them from
   * shutdown; the core delivers them again (at least once). Since 1.1, send_delivered,
   * send_retry and send_failed say more; each of them is a completion too: per message,
   * call exactly one of the four, once. */
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

  /* --- v1.1 --- (check PARLEY_HOST_HAS(host, <field>) before using one of them) */

  /* Start an HTTP request without blocking; `cb(ctx, resp, arg)` gets its answer later,
   * on the loop thread, never from inside http_request.
   *
   * Every instance of every plugin shares the host's one client: connections are kept
   * and reused (at most 8 to one host at a time; more requests wait their turn, and with
   * HTTP/2, which is used over TLS when the server offers it, they share one connection).
   * Redirects are not followed (a 3xx is a response like any other). Certificates are
   * always verified against the system's store; there is no way to turn that off. A
   * proxy named in the daemon's environment (https_proxy, no_proxy...) is used as curl
   * uses it.
   *
   * Returns the request's handle, or NULL when it could not start: no client in this host,
   * a request that is not valid (size too small, a URL that is not
   * http:// or https://, a method or header name that is not a token, a CR or LF in a
   * header value, a body pointer missing), or out of memory. The reason is logged, and no
   * callback follows a NULL.
   *
   * A handle is valid until its callback returns or it is cancelled: exactly one of those
   * happens. The callback may start requests (a retry), cancel other ones, call
   * send_done or emit_event. Callable any time after init started.
   *
   * Requests still pending when the instance is closed (at shutdown, and when init fails)
   * are cancelled by the host before shutdown runs, WITHOUT calling back: free the `arg`
   * of each in shutdown (keep a list, as with timers). A pending request keeps no message
   * alive: if it belongs to a send, that message is abandoned as send_done says. */
  parley_http *(*http_request)(parley_ctx *ctx, const struct parley_http_req *req,
                               parley_http_cb cb, void *arg);

  /* Cancel a request that has not been answered: its callback will not be called, its
   * handle is gone and its connection is closed or reused. NULL is ignored; cancelling a
   * request from inside its own callback does nothing (it is ending anyway). */
  void (*http_cancel)(parley_ctx *ctx, parley_http *req);

  /* The value of the first header of `resp` named `name`, compared without regard to
   * case; NULL when there is none. Valid as long as `resp` is. */
  const char *(*http_header)(const struct parley_http_resp *resp, const char *name);

  /* How a send ended, said more precisely than send_done can. Each completes a message
   * exactly as send_done does (a send that returned PARLEY_PENDING; from inside send
   * before it returns PARLEY_PENDING; once per message, one of the four functions; the
   * handle is gone when it returns; strings copied, not kept; on the loop thread).
   *
   * send_delivered: the provider took the message. `provider_id` (may be NULL) is the
   * provider's id for it; it is kept in the history of the conversation that spoke the
   * message ("delivered email/welcome id=<message id> provider=<provider_id>"), which
   * `parley inspect` and GET /v1/contacts/{id} show. At most 128 bytes of UTF-8 without
   * control characters; another one is logged and left out (the delivery still counts).
   *
   * send_retry: failed for now (a timeout, a 5xx, throttled). The core tries again after
   * its own backoff or after `retry_after_ms` (0: none), whichever is later; the
   * provider's wait is capped at one day. As every retry, it counts toward the
   * configured attempts, after which the message is dead-lettered.
   *
   * send_failed: it can never be delivered. No retry: the message is dead-lettered at
   * once, `reason` and `detail` kept with it (`parley inspect --dead` shows
   * "invalid_address: <detail>"), and the core emits the event "<channel>.failed" to the
   * contact ({"message_id": ..., "reason": "invalid_address"}), so a journey listening for
   * it can fall back to another channel. Nothing else changes: an "unsubscribed" does not
   * unsubscribe the contact, the journey decides.
   *
   * 1.0's send_done keeps its meaning: PARLEY_OK is send_delivered with `detail` as the
   * provider's id, PARLEY_RETRY is send_retry without a wait, PARLEY_ERROR is send_failed
   * with PARLEY_FAIL_OTHER. So is a status returned by send: PARLEY_ERROR dead-letters with
   * reason "other". A message that used up its attempts is dead-lettered with reason
   * "retries_exhausted", one whose channel no plugin serves with "no_plugin"; both emit
   * "<channel>.failed" as well. */
  void (*send_delivered)(parley_ctx *ctx, parley_msg *msg, const char *provider_id);
  void (*send_retry)(parley_ctx *ctx, parley_msg *msg, uint64_t retry_after_ms,
                     const char *detail);
  void (*send_failed)(parley_ctx *ctx, parley_msg *msg, enum parley_fail_reason reason,
                      const char *detail);

  /* set_error: why this instance cannot work, in one line, for the operator. Called from
   * init before it returns PARLEY_ERROR, the text becomes the refusal `parley check` and
   * `parley serve` print ("init failed for channel 'email': <text>") instead of a bare
   * status; a later call replaces an earlier one. Called outside init, it is logged once
   * at WARN. The text is copied (at most 255 bytes are kept); `text` may be freed as soon
   * as set_error returns. Loop thread only. Never put a secret in it. */
  void (*set_error)(parley_ctx *ctx, const char *text);
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
  /* Optional. Release what init made. Messages still pending are abandoned (the core
   * delivers them again at the next start; never complete them from here); the host has
   * cancelled the instance's timers and HTTP requests, without calling them back, before
   * it calls shutdown: free the state they pointed to. */
  void (*shutdown)(parley_ctx *ctx, void *self);
};

/* The size of a 1.0 descriptor: the least the host accepts. */
#define PARLEY_PLUGIN_V1_SIZE (offsetof(struct parley_plugin, shutdown) + sizeof(void (*)(void)))

/* True when the descriptor `plugin` covers `field`: how the host reads a field added to
 * struct parley_plugin after 1.0 without reading past an older plugin's descriptor. The
 * twin of PARLEY_HOST_HAS, but it tests the size only: a field may be a number, and a
 * callback the plugin left NULL is "not provided" whatever the size. */
#define PARLEY_PLUGIN_HAS(plugin, field)                                                   \
  ((plugin)->size >= offsetof(struct parley_plugin, field) + sizeof((plugin)->field))

typedef const struct parley_plugin *(*parley_plugin_entry_fn)(const struct parley_host *host);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_PLUGIN_H */

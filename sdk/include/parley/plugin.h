/*
 * parley/plugin.h — the Parley channel plugin ABI, version 1.2.
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
 *  - A plugin built against a newer minor than the host's is refused, by name, with what
 *    to do ("built for plugin ABI 1.3, newer than this Parley's 1.2: build it against
 *    this Parley's SDK, or upgrade Parley"): its descriptor may hold callbacks this host
 *    would never call. To run on older hosts too, build against the oldest header you
 *    support. A host function may still be absent (NULL) when the host cannot offer it:
 *    before using one added after 1.0, check PARLEY_HOST_HAS(host, field), and do
 *    without, or refuse in init. Each field below says in which minor it came.
 *  - Messages and contacts are opaque handles read through host accessors, so they can
 *    grow without breaking plugins. Structs a plugin fills in for the host (such as
 *    struct parley_http_req) start with their own `size`, for the same reason.
 *
 * Versions: 1.0, the first; 1.1, which only adds (the fields under "v1.1"): an
 * asynchronous HTTP client (http_request, http_cancel, http_header) and a finer word on
 * how a send ended (send_delivered, send_retry, send_failed; enum parley_fail_reason),
 * set_error, the one line that says why init failed; the setting types DURATION, LIST and
 * SECRET, config_spec_size (the config spec's element may grow) and config_get (a
 * setting read by key); fd watchers (io_start, io_modify, io_stop) for sockets the plugin
 * owns; post, the one host function callable from any thread; plugin metrics
 * (metric_register, metric_add, metric_set, metric_observe), exported in /metrics;
 * inbound HTTP routes under /v1/channels/<channel>/ for a provider's callbacks
 * (route_add, route_answer, route_header) and the helpers that check such a callback's
 * signature (hmac_sha256, hmac_sha256_verify, timestamp_check, decode). A 1.1 host also
 * brings, with no new field: flow control per channel (rate, burst, max_in_flight; see
 * "Delivery"), an attempt number stored before each hand-over, completions checked
 * against the messages the instance holds, and a plugin built for a newer minor refused;
 * route_add takes a last segment "*" (any one segment, for a token in a link). 1.2 adds
 * what a two-way channel needs: contacts_find (the contacts an inbound message's sender
 * address belongs to), msg_option (the options a journey gave a message: c:speak's
 * fifth argument) and the plugin's optional `check` (a message measured, or refused,
 * when the journey speaks it, not later when it is sent).
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
 *                                           and the STRING, LIST and SECRET settings
 *                                           (secrets wiped). Before it runs, the host
 *                                           ran the functions already posted (1.1),
 *                                           then refuses new posts, and cancelled the
 *                                           instance's timers, HTTP requests and fd
 *                                           watchers without calling them back, and
 *                                           removed its routes: free what their
 *                                           `arg`s hold here
 *
 * The stop, and what happens to messages in flight (one story, kept by `parley serve`):
 * at SIGTERM or SIGINT the daemon stops taking requests and stops handing messages to
 * plugins; what is still queued stays in the store. The loop keeps running, so sends a
 * plugin holds (PARLEY_PENDING) can still complete, from timers and HTTP answers as
 * usual, and their outcomes and receipts are recorded, until none is left or
 * `delivery.shutdown_grace` (default 5 s) has passed, or a second signal comes. Then
 * timers and HTTP requests are cancelled and shutdown is called. A send still pending at
 * that moment is abandoned: the plugin must not complete it (its handle is gone), and the
 * core hands it over again, with the same id, at the next start. So a message is never
 * lost, and at most the sends in flight at a stop can be delivered twice.
 * `ctx` is the instance's handle for every host call; `self` is your instance struct.
 * The host never dlcloses a plugin while a PARLEY_PENDING send is outstanding (it keeps
 * the file mapped and logs a warning instead).
 *
 * Threads: there is one. Every callback (entry, init, send, shutdown, timers, HTTP
 * answers, fd watchers, posted functions, route handlers) runs on the daemon's event
 * loop thread, and every host function must be called from it, with one exception:
 * (1.1) host->post, which a thread of your own (a vendor SDK's) calls to have a function
 * run on the loop thread. Callbacks must never block: no sleeping, no blocking sockets, no synchronous
 * HTTP. Use the host's timers, fd watchers and (1.1) its HTTP client instead.
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
 *       .config = hello_config, .init = hello_init, .send = hello_send,
 *       .config_spec_size = sizeof(struct parley_config_spec)};
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
#define PARLEY_ABI_MINOR 2

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
  PARLEY_CONFIG_BOOL = 3,   /* int, 0 or 1 */
  /* --- v1.1 (a 1.0 host refuses a spec that uses them: "unknown type") --- */
  PARLEY_CONFIG_DURATION = 4, /* int64_t, milliseconds. Written as text with a unit:
                                 "250ms", "30s", "5m", "1h", "7d", "2w", "1.5s". A bare
                                 number (30 or "30") is refused: seconds or milliseconds
                                 would be a guess. */
  PARLEY_CONFIG_LIST = 5,     /* const char *const * : NULL-terminated array of strings,
                                 written as a Lua list { "a", "b" } ({} is empty); every
                                 element must be a string. Owned by the host, valid until
                                 shutdown. A default is comma-separated text ("a,b"; ""
                                 is the empty list). Never given nor defaulted: NULL. */
  PARLEY_CONFIG_SECRET = 6    /* const char * : a password, API key or token, read from a
                                 file or an environment variable that the setting names:
                                     api_key = { file = "/etc/parley/sms.key" }
                                     api_key = { env = "PARLEY_SMS_KEY" }
                                 A file's one trailing newline ("\n" or "\r\n") is
                                 dropped; an empty value, a missing or unreadable file
                                 (or one past 64 KiB, or holding a NUL byte) and an unset
                                 variable refuse the instance, naming the channel, the key
                                 and the file or variable. A literal string in the
                                 configuration is refused: secrets never sit in it. A
                                 SECRET setting has no default. The value is never logged
                                 or printed by the host; it is owned by the host, valid
                                 until shutdown returns, and wiped from memory then:
                                 never log it, and copy it only where you must. */
};

struct parley_config_spec {
  const char *key;           /* NULL ends the array */
  enum parley_config_type type;
  const char *default_value; /* as text ("10", "true", "path"); NULL: no default */
  int required;              /* 1: the setting must be given */
  size_t offset;             /* where the value goes in the instance */
  const char *help;          /* one line for `parley check` and the docs */
  /* A later minor may add fields here. The host walks the array with the plugin's
   * config_spec_size (1.1) and reads only the fields that element covers. */
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

/* --- v1.1: fd watchers, post, metrics (see io_start, post, metric_register below) --- */

typedef struct parley_io parley_io;         /* one fd watcher */
typedef struct parley_metric parley_metric; /* one metric of one instance */

/* Readiness an fd watcher waits for (events) and reports (revents). */
#define PARLEY_IO_READ 0x1u  /* readable, or the peer closed (read returns 0) */
#define PARLEY_IO_WRITE 0x2u /* writable (a non-blocking connect finished: check SO_ERROR) */
#define PARLEY_IO_ERROR 0x4u /* revents only: the loop could not watch the fd (closed while
                                watched, not pollable); the watcher is paused, as with
                                io_modify(io, 0): stop it */

/* Called on the loop thread when `fd` is ready: `revents` holds the PARLEY_IO_* bits. */
typedef void (*parley_io_cb)(parley_ctx *ctx, int fd, unsigned revents, void *arg);

/* A function posted to the loop thread (host->post). */
typedef void (*parley_post_fn)(parley_ctx *ctx, void *arg);

enum parley_metric_type {
  PARLEY_METRIC_COUNTER = 1,  /* only goes up (metric_add with a value >= 0); name it
                                 "..._total" by Prometheus' custom */
  PARLEY_METRIC_GAUGE = 2,    /* goes up and down (metric_set, metric_add) */
  PARLEY_METRIC_HISTOGRAM = 3 /* observations counted in buckets (metric_observe) */
};

/* --- v1.1: inbound HTTP routes (see route_add in struct parley_host) --- */

/* A request to one of the instance's routes, owned by the host and valid only while the
 * handler runs: copy what you keep. Fields past `size` are absent (a later minor may add
 * some). Nothing in it has been authenticated: see route_add. */
struct parley_route_req {
  uint32_t size;                            /* sizeof(struct parley_route_req) in the host */
  const char *channel;                      /* the instance's channel: "sms" */
  const char *method;                       /* "POST", "GET", ...; a HEAD arrives as "GET"
                                               (its answer's body is not sent) */
  const char *path;                         /* below /v1/channels/<channel>, as registered:
                                               "/inbound" */
  const char *query;                        /* after '?', as sent (%-escapes kept); "" */
  const struct parley_http_header *headers; /* as sent, in order, names as spelled */
  size_t n_headers;
  const char *body;                         /* the exact bytes sent: body_len of them (NULs
                                               included), then a NUL the length does not
                                               count; "" when there is none. Verify a
                                               signature over these bytes, never over a
                                               re-encoding of them */
  size_t body_len;
  const char *peer;                         /* the client's address as text ("203.0.113.7",
                                               "::1"); behind a proxy, the proxy's */
};

/* An answer, filled in by the plugin and handed to route_answer, which copies it: it and
 * what it points to may live on the handler's stack. Start with `size`:
 *
 *     struct parley_http_header h[] = {{"Content-Type", "application/json"}};
 *     struct parley_route_resp resp = {.size = sizeof resp, .status = 200, .headers = h,
 *                                      .n_headers = 1, .body = "{}", .body_len = 2};
 */
struct parley_route_resp {
  uint32_t size;                            /* sizeof(struct parley_route_resp) */
  int status;                               /* 200..599 (a 1xx is not an answer) */
  const struct parley_http_header *headers; /* may be NULL when n_headers is 0. With no
                                               Content-Type among them the body goes as
                                               text/plain. The host's own (Content-Length,
                                               Connection, Date, Transfer-Encoding,
                                               Cache-Control) may not be given */
  size_t n_headers;
  const void *body;                         /* NULL when body_len is 0 */
  size_t body_len;
};

/* A route's handler: runs on the loop thread, once per request, and answers it with
 * route_answer before it returns. */
typedef void (*parley_route_cb)(parley_ctx *ctx, const struct parley_route_req *req, void *arg);

/* --- v1.1: checking a provider's signature (see hmac_sha256 in struct parley_host) --- */

/* Some bytes: one part of what was signed. */
struct parley_bytes {
  const void *data; /* may be NULL when len is 0 */
  size_t len;
};

/* How a signature or a secret is written as text. Padding ('=') is optional in both
 * base64 forms; nothing else may surround the text (no spaces, no newline). */
enum parley_encoding {
  PARLEY_ENC_HEX = 1,       /* "9f86d0...", upper or lower case */
  PARLEY_ENC_BASE64 = 2,    /* RFC 4648 section 4: A-Z a-z 0-9 + / */
  PARLEY_ENC_BASE64URL = 3  /* RFC 4648 section 5: A-Z a-z 0-9 - _ */
};

#define PARLEY_HMAC_SHA256_BYTES 32

/* Results a caller must not ignore: the compiler says when one is. */
#if defined(__GNUC__)
#define PARLEY_MUST_CHECK __attribute__((warn_unused_result))
#else
#define PARLEY_MUST_CHECK
#endif

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
   * always verified, against the system's store and the CA certificates the operator adds
   * with the daemon's http_client.ca_file; there is no way to turn that off. A
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
   * it can fall back to another channel. A reason the channel's `suppress_on` names (by
   * default invalid_address and unsubscribed) also suppresses the contact's address on
   * that channel, in the same change: profile.suppressed.<channel> = {"address",
   * "reason", "at"}, and the core refuses every later speak to that address on that
   * channel (a new address is spoken to; null lifts it). The contact is not unsubscribed
   * from anything else: the journey decides. A failure learnt later (a bounce, a
   * complaint, a STOP reply) is reported the same way: emit_event with that "profile"
   * in the event.
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

  /* config_get: the instance's setting `key`, read at run time, for a setting the config
   * spec declares, as the type the spec gives it. `out` points to what that type reads
   * as: const char ** (STRING, SECRET), int64_t * (INT, DURATION), int * (BOOL),
   * const char *const ** (LIST). The value is the host's own copy, the one written into
   * the instance before init (what the plugin did to its instance since does not
   * change it); strings and lists are owned by the host and valid until shutdown
   * returns. A setting neither given nor defaulted reads as zero or NULL, and PARLEY_OK.
   * An unknown key, a type other than the spec's, or a NULL argument: PARLEY_ERROR, with
   * a log line naming the plugin, the channel and the key, and *out untouched. Loop
   * thread only; callable from init on. */
  enum parley_status (*config_get)(parley_ctx *ctx, const char *key, enum parley_config_type type,
                                   void *out);

  /* io_start: watch `fd`, a socket (or pipe) the plugin owns and has made non-blocking,
   * for readiness: `events` is PARLEY_IO_READ, PARLEY_IO_WRITE, both, or 0 (paused).
   * `cb(ctx, fd, revents, arg)` runs on the loop thread each time the fd is ready, for as
   * long as the watcher runs (level-triggered: read or write until EAGAIN, or the loop
   * calls again). Returns the watcher, or NULL (logged) for a negative or closed fd,
   * unknown event bits, no callback, no loop, or out of memory. Several watchers may
   * watch one fd.
   *
   * io_modify: change what the watcher waits for (0 pauses it); PARLEY_ERROR (logged)
   * for unknown bits or a NULL watcher. io_stop: stop and free the watcher; NULL is
   * ignored. Both may be called from any callback, the watcher's own included (after
   * io_stop there, the handle is gone when the callback returns).
   *
   * The host never closes the fd: stop the watcher, then close the fd, in that order.
   * Watchers still running when the instance closes (at shutdown, and when init fails)
   * are stopped and freed by the host before shutdown runs, WITHOUT calling back: close
   * the fds and free what the `arg`s hold in shutdown. Loop thread only. */
  parley_io *(*io_start)(parley_ctx *ctx, int fd, unsigned events, parley_io_cb cb, void *arg);
  enum parley_status (*io_modify)(parley_ctx *ctx, parley_io *io, unsigned events);
  void (*io_stop)(parley_ctx *ctx, parley_io *io);

  /* post: run `fn(ctx, arg)` on the loop thread, soon. The one host function callable
   * from ANY thread (a vendor SDK's callback thread, a worker of your own); everything
   * else, the functions fn calls included, stays on the loop thread, so a thread hands
   * its results to the loop through post and fn does the rest.
   *
   * Returns PARLEY_OK: fn will run exactly once, after post returns, on the loop thread,
   * in the order posts were made (per instance). Or PARLEY_ERROR: fn will never run and
   * `arg` is still the caller's to free. PARLEY_ERROR comes for a NULL ctx or fn, out of
   * memory, and once the instance began to close.
   *
   * Shutdown: when the instance closes, the host first runs every function already
   * posted, then refuses new posts (PARLEY_ERROR), then stops timers, requests and fd
   * watchers and calls shutdown. So a post that returned PARLEY_OK always runs, before
   * shutdown; a thread still posting while shutdown runs gets PARLEY_ERROR and keeps
   * its arg. Shutdown must stop and join your threads: `ctx` is gone when shutdown
   * returns, and a post after that is a use after free. When init fails, functions
   * posted so far are dropped WITHOUT running (as timers are cancelled): an init that
   * fails stops its threads and frees what they posted; simplest is to start threads
   * last, when nothing else can fail. */
  enum parley_status (*post)(parley_ctx *ctx, parley_post_fn fn, void *arg);

  /* metric_register: a metric of this instance, exported in GET /metrics (Prometheus
   * text) as parley_plugin_<plugin name>_<name>{channel="<channel>"}; two channels served
   * by one plugin share the family and differ by the label. `name` and the plugin's own
   * name must match [a-z_][a-z0-9_]* (at most 64 bytes each); `help` is one line
   * (required). For a histogram, `bounds` are the buckets' upper bounds, finite and
   * increasing, at most 32 (the +Inf bucket is added); NULL and 0 take Prometheus'
   * defaults (0.005 ... 10, for seconds). Ignored for other types.
   *
   * Returns the metric, or NULL (logged, naming the plugin, channel and metric): a bad
   * name or bounds, a name another instance (or this one) registered with another type
   * or other bounds, no metrics in this host, out of memory. Registering the same name
   * and type again returns the same metric. Updates on NULL are ignored, so a plugin may
   * go on without its metrics. Call it from init (a metric registered later appears
   * when registered).
   *
   * metric_add: a counter goes up by `v` (a negative or non-finite `v` is refused,
   * logged once per metric); a gauge by `v` (may be negative). metric_set: a gauge's
   * value. metric_observe: one observation into a histogram. Each refuses (and logs) the
   * wrong type. Values start at 0. A metric belongs to its instance: its series leaves
   * /metrics when the instance closes (after shutdown returns, so shutdown may still
   * update it); a family leaves with its last series. Loop thread only. */
  parley_metric *(*metric_register)(parley_ctx *ctx, enum parley_metric_type type, const char *name,
                                    const char *help, const double *bounds, size_t n_bounds);
  void (*metric_add)(parley_ctx *ctx, parley_metric *m, double v);
  void (*metric_set)(parley_ctx *ctx, parley_metric *m, double v);
  void (*metric_observe)(parley_ctx *ctx, parley_metric *m, double v);
  /* --- v1.1: inbound HTTP routes, for a provider's callbacks (replies, delivery
   * receipts, webhooks) ---
   *
   * route_add: answer `method` `path` under this instance's prefix,
   * /v1/channels/<channel>, where <channel> is the channel the configuration names (two
   * channels served by one plugin have two prefixes). Registering "POST", "/inbound" for
   * the channel "sms" serves POST /v1/channels/sms/inbound on the daemon's listen address.
   *
   *   SECURITY. These routes are NOT behind the API's tokens: a provider cannot hold one,
   *   so anyone who can reach the daemon can call them. Every handler MUST authenticate
   *   its caller before it believes a byte of the request: check the provider's signature
   *   over the exact body (hmac_sha256_verify below, or the provider's own scheme) or a
   *   shared secret compared in constant time, and refuse old timestamps
   *   (timestamp_check) so a recorded request cannot be replayed. Answer 401 otherwise,
   *   and emit nothing.
   *
   * `method`: upper-case letters ("POST", "GET", "PUT"...). A GET route also answers HEAD;
   * "HEAD" itself is refused. `path`: "/" then one or more segments joined by "/" of the
   * characters A-Z a-z 0-9 - . _ ~ (no empty segment, no "." or "..", no trailing "/", at
   * most 200 bytes): "/inbound", "/dlr/v2". Matched exactly, case included; the query is
   * not part of it. The last segment may be "*" (registered as "/u/" then "*"): the route
   * then takes any one segment there, of the same characters, 1 to 2048 of them
   * ("/u/aGVsbG8", not "/u/", "/u/a/b" nor "/u/a%20b"), for a signed token carried in a
   * link; req->path is the path as requested, so the handler reads the segment from it.
   * A fixed path that matches a request is preferred to a "*": the two may sit side by
   * side.
   *
   * Returns PARLEY_OK, or PARLEY_ERROR with an ERROR log line naming the plugin and the
   * route: a malformed method or path, no callback, the same method and path registered
   * twice by this instance, or a call once the instance's shutdown has begun. Callable
   * from init on (registering in init is usual) and from any callback after it. Routes
   * live until the instance closes: after that (or for a channel that does not exist)
   * the daemon answers 404 in JSON. `arg` is passed to `cb` untouched.
   *
   * The server applies its own limits before a handler runs: the request's headers (at
   * most 100 and 16 KiB), its body (limits.body_bytes in the configuration: a larger one
   * is answered 413 without reading it), the header and body timeouts. A path this
   * instance serves with other methods only is answered 405 with Allow. The handler runs
   * on the loop thread, like every callback: answer at once (a provider wants a quick
   * 2xx) and feed what the request says into Parley with emit_event (which needs
   * PARLEY_CAP_RECEIPTS); never wait for anything. /metrics counts the requests per
   * channel and status (parley_channel_requests_total).
   *
   * A handler, in full (`struct sms` holds the plugin's settings; `secret` the decoded
   * Standard Webhooks secret; reply is the plugin's own helper that fills a
   * parley_route_resp and calls route_answer):
   *
   *     static int authentic(parley_ctx *ctx, const struct sms *s,
   *                          const struct parley_route_req *req)
   *     {
   *       const char *id = host->route_header(req, "webhook-id");
   *       const char *ts = host->route_header(req, "webhook-timestamp");
   *       const char *sig = host->route_header(req, "webhook-signature"); // "v1,<base64>"
   *       if (id == NULL || ts == NULL || sig == NULL || strncmp(sig, "v1,", 3) != 0)
   *         return 0;
   *       if (host->timestamp_check(ctx, ts, 300) != PARLEY_OK)
   *         return 0; // a replay, or a clock far off
   *       struct parley_bytes signed_parts[] = {{id, strlen(id)}, {".", 1}, {ts, strlen(ts)},
   *                                             {".", 1}, {req->body, req->body_len}};
   *       return host->hmac_sha256_verify(s->secret, s->secret_len, signed_parts, 5, sig + 3,
   *                                       strlen(sig + 3), PARLEY_ENC_BASE64) == PARLEY_OK;
   *     }
   *
   *     static void on_inbound(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
   *     {
   *       char json[4096];
   *       if (!authentic(ctx, arg, req)) {
   *         reply(ctx, req, 401, "bad signature"); // and emit nothing
   *         return;
   *       }
   *       // the provider's body as an event's data, as the journey wants it
   *       int n = snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"sms.replied\","
   *                        "\"contact\":\"%s\",\"data\":%.*s}",
   *                        host->route_header(req, "webhook-id"), contact_of(req),
   *                        (int)req->body_len, req->body);
   *       if (n < 0 || (size_t)n >= sizeof json || host->emit_event(ctx, json, (size_t)n) != PARLEY_OK)
   *         reply(ctx, req, 400, "not an event");
   *       else
   *         reply(ctx, req, 200, "ok");
   *     }
   *
   *     host->route_add(ctx, "POST", "/inbound", on_inbound, s);   // in init
   */
  enum parley_status (*route_add)(parley_ctx *ctx, const char *method, const char *path,
                                  parley_route_cb cb, void *arg);

  /* Answer `req`, the request the running handler was given, with `resp` (copied: it
   * and what it points to may go as soon as route_answer returns). Call it once, from
   * inside the handler; the answer is sent after the handler returns. Returns PARLEY_OK,
   * or PARLEY_ERROR when the answer cannot be sent as given: a status outside 200..599,
   * a header name that is not a token or a value holding CR or LF, one of the host's
   * own headers, a body pointer missing, `size` too small, a second answer, or a `req`
   * that is not the running handler's. Then, as when a handler returns without
   * answering, the client gets 500 in JSON and the daemon logs an ERROR naming the
   * plugin, the route and the reason: a broken answer never reaches the provider as if
   * it were meant. */
  enum parley_status (*route_answer)(parley_ctx *ctx, const struct parley_route_req *req,
                                     const struct parley_route_resp *resp);

  /* The value of the first header of `req` named `name`, compared without regard to
   * case; NULL when there is none. Valid as long as `req` is. */
  const char *(*route_header)(const struct parley_route_req *req, const char *name);

  /* --- v1.1: signatures of a provider's callbacks (and of the plugin's own requests)
   * --- These need no ctx and may be called from any callback; libsodium underneath.
   *
   * hmac_sha256: HMAC-SHA256 (RFC 2104, FIPS 180-4) with `key` (key_len bytes; any
   * length but 0) over the concatenation of `parts` (n_parts of them, at least one;
   * e.g. Standard Webhooks signs id "." timestamp "." body, Stripe timestamp "." body,
   * GitHub and Shopify the body alone), into `out` (PARLEY_HMAC_SHA256_BYTES bytes).
   * For a plugin that signs its own requests. Returns PARLEY_OK, or PARLEY_ERROR
   * (and `out` zeroed) for an empty key or a NULL pointer. Never use it to check a
   * signature with memcmp: that leaks through timing. Use hmac_sha256_verify. */
  enum parley_status (*hmac_sha256)(const void *key, size_t key_len,
                                    const struct parley_bytes *parts, size_t n_parts,
                                    unsigned char out[PARLEY_HMAC_SHA256_BYTES]);

  /* PARLEY_OK when `signature` (sig_len bytes of text in `enc`, the provider's header
   * value without its prefix such as "sha256=" or "v1,") is the HMAC-SHA256 of `parts`
   * with `key`, compared in constant time (sodium_memcmp). PARLEY_ERROR otherwise: a
   * different MAC, text that does not decode to exactly 32 bytes, a NULL signature (pass
   * route_header's answer as it is), an empty key. It says nothing more, on purpose.
   * Test it as the house does, `!= PARLEY_OK` refuses: PARLEY_OK is 0, so
   * `if (host->hmac_sha256_verify(...))` is true for a BAD signature. */
  enum parley_status (*hmac_sha256_verify)(const void *key, size_t key_len,
                                           const struct parley_bytes *parts, size_t n_parts,
                                           const char *signature, size_t sig_len,
                                           enum parley_encoding enc) PARLEY_MUST_CHECK;

  /* PARLEY_OK when `unix_seconds` (decimal seconds since the epoch, as Standard
   * Webhooks, Stripe and Slack send it: digits only, at most 12) is within
   * `tolerance_s` seconds of the host's clock (now_ms), either side: |now - ts| <=
   * tolerance. 0 means 300 seconds, the usual window. PARLEY_ERROR when it is not, or
   * when the text is not such a number (NULL included). Check it before the signature
   * is believed, and sign it (it is part of what Standard Webhooks and Stripe sign): a
   * signed request replayed later then fails here. */
  enum parley_status (*timestamp_check)(parley_ctx *ctx, const char *unix_seconds,
                                        uint32_t tolerance_s) PARLEY_MUST_CHECK;

  /* Decode `len` bytes of `text` written in `enc` into `out` (room for `cap` bytes),
   * setting *out_len. For a secret given as text (Standard Webhooks' "whsec_<base64>":
   * decode what follows the prefix). PARLEY_ERROR when the text is not valid in `enc`
   * whole, or does not fit in `cap`. Nothing is logged: the text may be a secret. */
  enum parley_status (*decode)(const char *text, size_t len, enum parley_encoding enc,
                               void *out, size_t cap, size_t *out_len);

  /* --- v1.2: two-way channels --- */

  /* The contacts an inbound message is from: calls `cb(ctx, contact_id, arg)` once for
   * each contact whose profile attribute `attribute` equals `value`, before it returns,
   * and returns how many there were (0: no contact has it), or -1 when `attribute` is
   * not an address attribute of a configured channel (each channel's `address`: "email",
   * "phone", ...; only those are indexed) or the store failed (both logged). E-mail
   * addresses match whatever their case; a phone number is E.164 as the profile keeps it
   * ("+4915112345678"). Reads what the core has applied, events of the group not yet on
   * disk included. Loop thread only (a route or timer callback); never from send. Several
   * contacts may share an address (a family's landline): a reply or an opt-out is usually
   * meant for each of them; at most 1,000 are called back. */
  int (*contacts_find)(parley_ctx *ctx, const char *attribute, const char *value,
                       void (*cb)(parley_ctx *ctx, const char *contact_id, void *arg),
                       void *arg);

  /* The option `key` the journey gave the message, c:speak(channel, template, vars,
   * { max_segments = 2 }), as text ("2", "true", "transactional"); NULL when it gave
   * none. Options are the journey's word to the channel; a plugin documents the ones it
   * reads and ignores the others. Same lifetime rules as the other msg_* accessors, and
   * callable from check. */
  const char *(*msg_option)(const parley_msg *msg, const char *key);
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
   * it calls shutdown, and removed its routes (route_add is refused from here on): free
   * the state they pointed to. */
  void (*shutdown)(parley_ctx *ctx, void *self);

  /* --- v1.1 --- (the host reads them only when PARLEY_PLUGIN_HAS says they are there) */

  /* sizeof(struct parley_config_spec) as the plugin was built: the stride of `config`.
   * 0, or a descriptor without this field: the 1.0 size. A later minor may grow the spec
   * at its end; the host reads only the fields this size covers, and a plugin built
   * against a newer header (a larger spec) loads on an older host, which reads the
   * fields it knows. Smaller than the 1.0 size: refused. Set it to
   * sizeof(struct parley_config_spec). */
  size_t config_spec_size;

  /* --- v1.2 --- */

  /* Optional. Called when a journey speaks on the channel, inside the journey's step and
   * before the message is queued, with the rendered message (the msg_* accessors work;
   * msg_attempt reads 0; the message is not yet yours: never complete it or keep the
   * handle). Say whether it can ever be delivered, and what it will cost:
   *  - PARLEY_OK: it is queued. You may write into `info` (room for `info_len` bytes,
   *    an empty string on entry) a flat JSON object of what you measured, such as
   *    {"segments":2,"encoding":"GSM-7"}: c:speak returns it to the journey as a table,
   *    and the contact's history keeps it with the message.
   *  - PARLEY_ERROR: refused for good, nothing is queued; write into `info` the reason in
   *    plain words ("the text needs 4 segments, more than the 3 allowed"): c:speak
   *    returns false and that reason, and the history records it.
   * It runs inside a journey's step, on the loop: it must be quick and pure (no I/O, no
   * waiting, no host function but the msg_* accessors, msg_option and log). A plugin
   * without check accepts every message at speak time, as 1.1 plugins do. */
  enum parley_status (*check)(parley_ctx *ctx, void *self, const parley_msg *msg, char *info,
                              size_t info_len);
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

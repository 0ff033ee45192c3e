/* The webhook channel's parts, shared by its files: the signing key and the signature
 * (webhook_sign.c), the JSON envelope (webhook_envelope.c), the static headers
 * (webhook_headers.c), and what an answer means (webhook_answer.c: the URL rule,
 * Retry-After, a status as a delivery outcome). The
 * plugin itself, its config and its life cycle, is webhook.c. */
#ifndef PARLEY_WEBHOOK_H
#define PARLEY_WEBHOOK_H
#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#define WEBHOOK_KEY_MIN 24 /* bytes of a decoded secret, as Standard Webhooks asks */
#define WEBHOOK_KEY_MAX 64
/* "v1," and the base64 of a 32-byte HMAC-SHA256, with its NUL. */
#define WEBHOOK_SIGNATURE_SIZE 64

struct webhook_key {
  unsigned char bytes[WEBHOOK_KEY_MAX];
  size_t len;
};

/* The key from a secret written "whsec_<base64>". 0, or -1 and why (never the secret). */
int webhook_key_parse(const char *secret, struct webhook_key *key, char *why, size_t len);
/* "v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>" into out
 * (WEBHOOK_SIGNATURE_SIZE bytes). 0, or -1 when out of memory. */
int webhook_sign(const struct webhook_key *key, const char *id, int64_t timestamp_s,
                 const char *body, size_t body_len, char out[WEBHOOK_SIGNATURE_SIZE]);

#define WEBHOOK_EXTRA_HEADERS 8

/* The `headers` setting, parsed: names and values point into `text`. */
struct webhook_headers {
  char *text;
  struct parley_http_header h[WEBHOOK_EXTRA_HEADERS];
  size_t n;
};

/* "Name: value" lines (blank ones skipped) into hs; NULL: none. 0, or -1 and why (a
 * line that is not a header, a name the plugin sets itself, a control character, more
 * than WEBHOOK_EXTRA_HEADERS). */
int webhook_headers_parse(const char *setting, struct webhook_headers *hs, char *why, size_t len);
void webhook_headers_free(struct webhook_headers *hs);

/* The request body for `msg` at `now_ms` (docs/webhook.md: the envelope), malloc'd, or
 * NULL when out of memory. */
char *webhook_envelope(const struct parley_host *host, const parley_msg *msg, int64_t now_ms);

/* 0 when the channel may POST to `url`: https://, or http:// to a loopback host only.
 * Else -1 and why. */
int webhook_url_allowed(const char *url, char *why, size_t len);
/* A Retry-After value (delta seconds, or an HTTP date) as milliseconds from `now_ms`;
 * 0 when absent, unreadable or already past. */
uint64_t webhook_retry_after_ms(const char *value, int64_t now_ms);

/* How one answer ends the delivery. */
enum webhook_outcome { WEBHOOK_DELIVERED, WEBHOOK_RETRY, WEBHOOK_FAILED };
/* The outcome of an HTTP status, and for WEBHOOK_FAILED the reason. */
enum webhook_outcome webhook_outcome_of(int status, enum parley_fail_reason *reason);

#endif

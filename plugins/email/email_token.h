/* Signed tokens for the links an email carries (unsubscribe, tracked clicks) and for its
 * bounce address; the recipient sealed into its Message-ID. A token says what it is for (`kind`), which message and contact it
 * belongs to, optionally a link's name and target, and when it expires; it is signed
 * with HMAC-SHA256 (libsodium) under the channel's signing key and written in base64url,
 * so it fits a URL path segment as it is. Nothing in it is secret (anyone holding it can
 * decode it); what the signature gives is that it cannot be forged or altered.
 *
 *     char tok[EMAIL_TOKEN_MAX];
 *     email_token_make(key, key_len, &(struct email_token){.kind = 'u', .message_id = id,
 *                      .contact = who, .expires_ms = now + ttl}, tok, sizeof tok);
 *     struct email_token t;
 *     if (email_token_read(key, key_len, tok, strlen(tok), now, &t) != EMAIL_TOKEN_OK) ...
 *
 * No global state; callable from any thread once sodium_init() has run. */
#ifndef PARLEY_EMAIL_TOKEN_H
#define PARLEY_EMAIL_TOKEN_H
#include <stddef.h>
#include <stdint.h>

#define EMAIL_TOKEN_MAX 2048     /* the longest token made or read, with its NUL */
#define EMAIL_TOKEN_UNSUBSCRIBE 'u'
#define EMAIL_TOKEN_CLICK 'c'
#define EMAIL_TOKEN_OPEN 'o'

/* What a token carries. Strings are UTF-8 without control characters; name and target
 * may be NULL (read back as ""). Read back, the strings point into `buf`. */
struct email_token {
  char kind;              /* EMAIL_TOKEN_UNSUBSCRIBE, EMAIL_TOKEN_CLICK, EMAIL_TOKEN_OPEN */
  const char *message_id; /* required */
  const char *contact;    /* required */
  const char *name;       /* a link's name ("pricing"), or NULL */
  const char *target;     /* a link's target URL, or NULL */
  int64_t expires_ms;     /* wall-clock ms since the epoch, kept to the second */
  char buf[EMAIL_TOKEN_MAX];
};

enum email_token_rc {
  EMAIL_TOKEN_OK = 0,
  EMAIL_TOKEN_MALFORMED = 1, /* not base64url, too short or too long, fields broken */
  EMAIL_TOKEN_FORGED = 2,    /* the signature does not match: forged or altered */
  EMAIL_TOKEN_EXPIRED = 3    /* authentic, but past expires_ms */
};

/* Writes the token for `t` (buf unused) into out, NUL-terminated. Returns its length,
 * or -1: a required field missing, a control character in a field, `key_len` 0, or out
 * (at most EMAIL_TOKEN_MAX) too small. */
int email_token_make(const unsigned char *key, size_t key_len, const struct email_token *t, char *out, size_t cap);

/* Checks `token` (len bytes) against the key, in constant time, and at `now_ms` for its
 * expiry; fills `t` (strings in t->buf). Anything but EMAIL_TOKEN_OK leaves `t` holding
 * nothing to believe. */
enum email_token_rc email_token_read(const unsigned char *key, size_t key_len, const char *token, size_t len,
                                     int64_t now_ms, struct email_token *t);

/* A short word for a refusal, for a log line: "forged", "expired"... */
const char *email_token_why(enum email_token_rc rc);

/* The bounce address's local part for a message, "bounces+<message id>-<signature>" (at
 * most 64 octets: message ids are up to 32 characters), into out. Returns its length,
 * or -1. A bounce that comes back to it names the message, and cannot be made up. */
int email_token_verp(const unsigned char *key, size_t key_len, const char *message_id, char *out, size_t cap);

/* The recipient of a message, sealed into its Message-ID so that a bounce or complaint
 * quoting that Message-ID names the contact and the address without showing them:
 * crypto_secretbox of "<contact>\n<address>" under a key derived from the signing key,
 * its nonce derived from the message id (the same on every attempt; unique per message),
 * in base64url. Returns the length written to out (NUL-terminated), or -1: a field empty
 * or holding a control character, or out too small (EMAIL_SEAL_MAX fits any). */
#define EMAIL_SEAL_MAX 640
int email_token_seal(const unsigned char *key, size_t key_len, const char *message_id, const char *contact,
                     const char *address, char *out, size_t cap);
/* Opens what email_token_seal made for `message_id`: the contact and the address into
 * buf (cap bytes), *contact and *address pointing into it. 0, or -1 when `sealed` was not
 * made with this key for this message (forged, altered, another message's). */
int email_token_unseal(const unsigned char *key, size_t key_len, const char *message_id, const char *sealed,
                       char *buf, size_t cap, const char **contact, const char **address);

#endif

/* Signed tokens (see email_token.h). The signed text is
 * "1\n<kind>\n<expires, s>\n<message id>\n<contact>\n<name>\n<target>", followed by the
 * first 16 bytes of its HMAC-SHA256 (128 bits: enough against forgery, short in a URL),
 * the whole written in base64url without padding. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "email_token.h"

#define TOKEN_MAC_BYTES 16
#define TOKEN_RAW_MAX ((EMAIL_TOKEN_MAX / 4) * 3)

static void mac_of(const unsigned char *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[TOKEN_MAC_BYTES])
{
  crypto_auth_hmacsha256_state st;
  unsigned char full[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, key, key_len);
  crypto_auth_hmacsha256_update(&st, data, len);
  crypto_auth_hmacsha256_final(&st, full);
  memcpy(out, full, TOKEN_MAC_BYTES);
  sodium_memzero(full, sizeof full);
}

/* A field is text without control characters (the separator among them). */
static int field_ok(const char *s, int required)
{
  if (s == NULL)
    return !required;
  if (required && *s == '\0')
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return 0;
  return 1;
}

int email_token_make(const unsigned char *key, size_t key_len, const struct email_token *t, char *out, size_t cap)
{
  unsigned char raw[TOKEN_RAW_MAX];
  if (key_len == 0 || (unsigned char)t->kind < 0x21 || t->kind == 0x7f || !field_ok(t->message_id, 1) ||
      !field_ok(t->contact, 1) || !field_ok(t->name, 0) || !field_ok(t->target, 0))
    return -1;
  int n = snprintf((char *)raw, sizeof raw, "1\n%c\n%" PRId64 "\n%s\n%s\n%s\n%s", t->kind, t->expires_ms / 1000,
                   t->message_id, t->contact, t->name ? t->name : "", t->target ? t->target : "");
  if (n < 0 || (size_t)n + TOKEN_MAC_BYTES > sizeof raw)
    return -1;
  mac_of(key, key_len, raw, (size_t)n, raw + n);
  size_t raw_len = (size_t)n + TOKEN_MAC_BYTES;
  size_t need = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (cap > EMAIL_TOKEN_MAX)
    cap = EMAIL_TOKEN_MAX;
  if (need > cap)
    return -1;
  sodium_bin2base64(out, cap, raw, raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return (int)strlen(out);
}

/* The signed text's fields, split in place (t->buf holds them). */
static enum email_token_rc split(struct email_token *t, size_t len)
{
  char *f[7];
  char *p = t->buf;
  for (int i = 0; i < 7; i++) {
    f[i] = p;
    char *nl = i < 6 ? memchr(p, '\n', len - (size_t)(p - t->buf)) : NULL;
    if (i < 6 && nl == NULL)
      return EMAIL_TOKEN_MALFORMED;
    if (nl) {
      *nl = '\0';
      p = nl + 1;
    }
  }
  char *end;
  if (strcmp(f[0], "1") != 0 || strlen(f[1]) != 1 || *f[3] == '\0' || *f[4] == '\0')
    return EMAIL_TOKEN_MALFORMED;
  long long exp_s = strtoll(f[2], &end, 10);
  if (*f[2] == '\0' || *end != '\0' || exp_s < 0 || exp_s > INT64_MAX / 1000)
    return EMAIL_TOKEN_MALFORMED;
  t->kind = f[1][0];
  t->expires_ms = (int64_t)exp_s * 1000;
  t->message_id = f[3];
  t->contact = f[4];
  t->name = f[5];
  t->target = f[6];
  return EMAIL_TOKEN_OK;
}

enum email_token_rc email_token_read(const unsigned char *key, size_t key_len, const char *token, size_t len,
                                     int64_t now_ms, struct email_token *t)
{
  unsigned char raw[TOKEN_RAW_MAX], mac[TOKEN_MAC_BYTES];
  size_t raw_len = 0;
  memset(t, 0, sizeof *t);
  if (key_len == 0 || token == NULL || len >= EMAIL_TOKEN_MAX ||
      sodium_base642bin(raw, sizeof raw, token, len, NULL, &raw_len, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      raw_len <= TOKEN_MAC_BYTES)
    return EMAIL_TOKEN_MALFORMED;
  size_t text_len = raw_len - TOKEN_MAC_BYTES;
  mac_of(key, key_len, raw, text_len, mac);
  if (sodium_memcmp(mac, raw + text_len, TOKEN_MAC_BYTES) != 0)
    return EMAIL_TOKEN_FORGED;
  if (memchr(raw, '\0', text_len))
    return EMAIL_TOKEN_MALFORMED;
  memcpy(t->buf, raw, text_len);
  t->buf[text_len] = '\0';
  enum email_token_rc rc = split(t, text_len);
  if (rc == EMAIL_TOKEN_OK && now_ms / 1000 > t->expires_ms / 1000)
    rc = EMAIL_TOKEN_EXPIRED;
  if (rc != EMAIL_TOKEN_OK)
    memset(t, 0, sizeof *t);
  return rc;
}

const char *email_token_why(enum email_token_rc rc)
{
  switch (rc) {
  case EMAIL_TOKEN_OK:
    return "ok";
  case EMAIL_TOKEN_FORGED:
    return "forged or altered";
  case EMAIL_TOKEN_EXPIRED:
    return "expired";
  default:
    return "malformed";
  }
}

int email_token_verp(const unsigned char *key, size_t key_len, const char *message_id, char *out, size_t cap)
{
  unsigned char mac[TOKEN_MAC_BYTES];
  char sig[sodium_base64_ENCODED_LEN(10, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  if (key_len == 0 || message_id == NULL || strlen(message_id) > 32 ||
      strspn(message_id, "0123456789abcdefABCDEF-") != strlen(message_id))
    return -1;
  char text[48];
  snprintf(text, sizeof text, "verp\n%s", message_id);
  mac_of(key, key_len, text, strlen(text), mac);
  sodium_bin2base64(sig, sizeof sig, mac, 10, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  int n = snprintf(out, cap, "bounces+%s-%s", message_id, sig);
  return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The sealing key: a hash of the signing key under its own label, so the key that signs
 * tokens is never the key that encrypts. */
static void seal_key(const unsigned char *key, size_t key_len, unsigned char out[crypto_secretbox_KEYBYTES])
{
  static const char label[] = "parley email seal v1\n";
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, crypto_secretbox_KEYBYTES);
  crypto_generichash_update(&st, (const unsigned char *)label, sizeof label - 1);
  crypto_generichash_update(&st, key, key_len);
  crypto_generichash_final(&st, out, crypto_secretbox_KEYBYTES);
}

/* The nonce is the message id's keyed hash: one per message, and a box moved to another
 * message's id does not open. */
static void seal_nonce(const unsigned char k[crypto_secretbox_KEYBYTES], const char *message_id,
                       unsigned char out[crypto_secretbox_NONCEBYTES])
{
  crypto_generichash(out, crypto_secretbox_NONCEBYTES, (const unsigned char *)message_id, strlen(message_id), k,
                     crypto_secretbox_KEYBYTES);
}

#define SEAL_PLAIN_MAX ((EMAIL_SEAL_MAX / 4) * 3 - crypto_secretbox_MACBYTES - 1)

int email_token_seal(const unsigned char *key, size_t key_len, const char *message_id, const char *contact,
                     const char *address, char *out, size_t cap)
{
  unsigned char k[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
  unsigned char plain[SEAL_PLAIN_MAX], box[SEAL_PLAIN_MAX + crypto_secretbox_MACBYTES];
  if (key_len == 0 || !field_ok(message_id, 1) || !field_ok(contact, 1) || !field_ok(address, 1))
    return -1;
  int n = snprintf((char *)plain, sizeof plain, "%s\n%s", contact, address);
  if (n < 0 || (size_t)n >= sizeof plain ||
      sodium_base64_ENCODED_LEN((size_t)n + crypto_secretbox_MACBYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > cap)
    return -1;
  seal_key(key, key_len, k);
  seal_nonce(k, message_id, nonce);
  crypto_secretbox_easy(box, plain, (size_t)n, nonce, k);
  sodium_memzero(k, sizeof k);
  sodium_bin2base64(out, cap, box, (size_t)n + crypto_secretbox_MACBYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return (int)strlen(out);
}

int email_token_unseal(const unsigned char *key, size_t key_len, const char *message_id, const char *sealed,
                       char *buf, size_t cap, const char **contact, const char **address)
{
  unsigned char k[crypto_secretbox_KEYBYTES], nonce[crypto_secretbox_NONCEBYTES];
  unsigned char box[SEAL_PLAIN_MAX + crypto_secretbox_MACBYTES];
  size_t box_len = 0;
  if (key_len == 0 || message_id == NULL || sealed == NULL ||
      sodium_base642bin(box, sizeof box, sealed, strlen(sealed), NULL, &box_len, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      box_len <= crypto_secretbox_MACBYTES || box_len - crypto_secretbox_MACBYTES >= cap)
    return -1;
  seal_key(key, key_len, k);
  seal_nonce(k, message_id, nonce);
  int rc = crypto_secretbox_open_easy((unsigned char *)buf, box, box_len, nonce, k);
  sodium_memzero(k, sizeof k);
  if (rc != 0)
    return -1;
  size_t n = box_len - crypto_secretbox_MACBYTES;
  buf[n] = '\0';
  char *nl = memchr(buf, '\n', n);
  if (nl == NULL || memchr(buf, '\0', n) || nl == buf || nl[1] == '\0')
    return -1;
  *nl = '\0';
  *contact = buf;
  *address = nl + 1;
  return 0;
}

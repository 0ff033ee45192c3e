/* Standard Webhooks signing (https://www.standardwebhooks.com): the secret is
 * "whsec_" and the base64 of the key; a signature is "v1," and the base64 of
 * HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"). libsodium does the HMAC
 * and the base64, so no byte of it is hand-written here. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "webhook.h"

#define SECRET_PREFIX "whsec_"

int webhook_key_parse(const char *secret, struct webhook_key *key, char *why, size_t len)
{
  size_t plen = strlen(SECRET_PREFIX);
  memset(key, 0, sizeof *key);
  if (secret == NULL || strncmp(secret, SECRET_PREFIX, plen) != 0) {
    snprintf(why, len, "secret must be written whsec_<base64 of the key>");
    return -1;
  }
  const char *b64 = secret + plen;
  if (sodium_base642bin(key->bytes, sizeof key->bytes, b64, strlen(b64), NULL, &key->len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    snprintf(why, len, "secret: the part after whsec_ is not base64 of at most %d bytes",
             WEBHOOK_KEY_MAX);
    return -1;
  }
  if (key->len < WEBHOOK_KEY_MIN) {
    snprintf(why, len, "secret: the key is %zu bytes, at least %d are needed", key->len,
             WEBHOOK_KEY_MIN);
    sodium_memzero(key, sizeof *key);
    return -1;
  }
  return 0;
}

int webhook_sign(const struct webhook_key *key, const char *id, int64_t timestamp_s,
                 const char *body, size_t body_len, char out[WEBHOOK_SIGNATURE_SIZE])
{
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char ts[32];
  int n = snprintf(ts, sizeof ts, ".%" PRId64 ".", timestamp_s);
  if (crypto_auth_hmacsha256_init(&st, key->bytes, key->len) != 0 ||
      crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id)) != 0 ||
      crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n) != 0 ||
      crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len) != 0 ||
      crypto_auth_hmacsha256_final(&st, mac) != 0)
    return -1;
  memcpy(out, "v1,", 3);
  sodium_bin2base64(out + 3, WEBHOOK_SIGNATURE_SIZE - 3, mac, sizeof mac,
                    sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(&st, sizeof st);
  return 0;
}

/* Signed callback URLs and stable event ids. A delivery receipt comes back on a URL the
 * plugin wrote into the message's request (Kannel's dlr-url, a provider's callback URL):
 * it carries the message, the contact and the number, and a MAC of the three under a
 * key derived from inbound_secret, so a receipt names only a message the plugin sent,
 * to that contact at that number. libsodium does the HMAC, the hashes and the base64. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "sms.h"

/* HMAC-SHA256(inbound_secret, label): the URL key is never the secret itself, which
 * Kannel's MO URL carries in the clear. */
void sms_token_key(const char *secret, unsigned char key[32])
{
  static const char label[] = "parley sms callback url v1";
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof label - 1);
  crypto_auth_hmacsha256_final(&st, key);
  sodium_memzero(&st, sizeof st);
}

/* The MAC over "message\ncontact\nnumber"; the newline is in no id nor number. */
static void mac_of(const unsigned char key[32], const char *message, const char *contact, const char *number,
                   unsigned char mac[32])
{
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, 32);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)message, strlen(message));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)contact, strlen(contact));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)number, strlen(number));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
}

int sms_token_make(const unsigned char key[32], const char *message, const char *contact, const char *number,
                   char out[SMS_TOKEN_SIZE])
{
  unsigned char mac[32];
  if (message == NULL || contact == NULL || number == NULL)
    return -1;
  mac_of(key, message, contact, number, mac);
  sodium_bin2base64(out, SMS_TOKEN_SIZE, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return 0;
}

int sms_token_ok(const unsigned char key[32], const char *message, const char *contact, const char *number,
                 const char *token)
{
  unsigned char want[32], got[32];
  size_t n = 0;
  if (message == NULL || contact == NULL || number == NULL || token == NULL ||
      sodium_base642bin(got, sizeof got, token, strlen(token), NULL, &n, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || n != sizeof got)
    return 0;
  mac_of(key, message, contact, number, want);
  return sodium_memcmp(want, got, sizeof want) == 0;
}

void sms_event_id(const char *prefix, const char *a, const char *b, const char *c, char out[SMS_EVENT_ID_SIZE])
{
  crypto_generichash_state st;
  unsigned char h[16];
  char hex[33];
  const char *parts[] = {a, b, c};
  crypto_generichash_init(&st, NULL, 0, sizeof h);
  for (size_t i = 0; i < 3; i++) {
    const char *p = parts[i] ? parts[i] : "";
    crypto_generichash_update(&st, (const unsigned char *)p, strlen(p) + 1); /* with its NUL: a|bc != ab|c */
  }
  crypto_generichash_final(&st, h, sizeof h);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  snprintf(out, SMS_EVENT_ID_SIZE, "%.24s:%s", prefix, hex);
}

int sms_secret_equal(const char *want, const char *got)
{
  unsigned char a[32], b[32];
  if (want == NULL || got == NULL)
    return 0;
  crypto_generichash(a, sizeof a, (const unsigned char *)want, strlen(want), NULL, 0);
  crypto_generichash(b, sizeof b, (const unsigned char *)got, strlen(got), NULL, 0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

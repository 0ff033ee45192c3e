/* The APNs provider token (see push.h): the team's signing key (the .p8 file Apple gives,
 * an EC P-256 key in PKCS#8 PEM) read once at init, and the JWT every request carries as
 * "authorization: bearer <jwt>", signed ES256 ({"alg": "ES256", "kid": key id}, {"iss":
 * team id, "iat": now}). Apple takes a token for an hour and refuses one renewed more often
 * than every 20 minutes: it is made again once 40 minutes old, never per request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "push.h"

#define PUSH_APNS_RENEW_S (40 * 60)
#define PUSH_APNS_RENEW_MIN_S (20 * 60)

struct push_apns_key {
  EVP_PKEY *pkey;
  char key_id[16], team_id[16];
  char *jwt;      /* the token in use, or NULL */
  int64_t iat_s;  /* when it was made */
};

/* Apple's ids: ten upper-case letters and digits. */
static int apple_id_ok(const char *s)
{
  return s && strlen(s) == 10 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == 10;
}

int push_apns_key_read(const char *pem, const char *key_id, const char *team_id, struct push_apns_key **out,
                       char *why, size_t len)
{
  *out = NULL;
  if (!apple_id_ok(key_id) || !apple_id_ok(team_id)) {
    snprintf(why, len, "apns_key_id and apns_team_id must be Apple's ten-character ids (A-Z, 0-9)");
    return -1;
  }
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  char curve[32] = "";
  size_t n = 0;
  BIO_free(bio);
  if (k)
    EVP_PKEY_get_utf8_string_param(k, "group", curve, sizeof curve, &n);
  ERR_clear_error();
  if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC || strcmp(curve, "prime256v1") != 0) {
    EVP_PKEY_free(k);
    snprintf(why, len, "apns_key is not an EC P-256 private key in PEM (the .p8 file of an APNs key)");
    return -1;
  }
  struct push_apns_key *a = calloc(1, sizeof *a);
  if (a == NULL) {
    EVP_PKEY_free(k);
    snprintf(why, len, "out of memory");
    return -1;
  }
  a->pkey = k;
  snprintf(a->key_id, sizeof a->key_id, "%s", key_id);
  snprintf(a->team_id, sizeof a->team_id, "%s", team_id);
  *out = a;
  return 0;
}

void push_apns_key_free(struct push_apns_key *a)
{
  if (a == NULL)
    return;
  EVP_PKEY_free(a->pkey);
  free(a->jwt);
  free(a);
}

/* ES256 of `data`: the 64 bytes r || s JWS wants (OpenSSL gives DER), base64url. */
static char *sign_es256(EVP_PKEY *pkey, const char *data)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char der[128], raw[64];
  size_t n = sizeof der;
  char *out = NULL;
  if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
      EVP_DigestSign(md, der, &n, (const unsigned char *)data, strlen(data)) == 1) {
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 &&
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32)
      out = push_b64url(raw, sizeof raw);
    ECDSA_SIG_free(sig);
  }
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  return out;
}

static char *make_jwt(const struct push_apns_key *a, int64_t now_s)
{
  char head[64], claims[64];
  snprintf(head, sizeof head, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", a->key_id);
  snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"iat\":%lld}", a->team_id, (long long)now_s);
  return push_jwt(head, claims, sign_es256, a->pkey);
}

const char *push_apns_jwt(struct push_apns_key *a, int64_t now_s)
{
  if (a->jwt && now_s - a->iat_s < PUSH_APNS_RENEW_S && now_s >= a->iat_s)
    return a->jwt;
  char *jwt = make_jwt(a, now_s);
  if (jwt == NULL)
    return a->jwt; /* out of memory: the old one, while Apple takes it */
  free(a->jwt);
  a->jwt = jwt;
  a->iat_s = now_s;
  return jwt;
}

void push_apns_jwt_refused(struct push_apns_key *a, int64_t now_s)
{
  if (a->jwt && now_s - a->iat_s >= PUSH_APNS_RENEW_MIN_S) { /* sooner would be TooManyProviderTokenUpdates */
    free(a->jwt);
    a->jwt = NULL;
  }
}

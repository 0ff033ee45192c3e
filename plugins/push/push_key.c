/* The service account's key (see push.h): Google's key file read and checked once, at
 * init, and the signed assertion (RFC 7523, a JWT signed RS256) exchanged for an access
 * token. The key is held as OpenSSL's EVP_PKEY; its PEM text is wiped from the parsed
 * file as soon as it is read, and no message here ever quotes a value of the file but
 * the project and the client's address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "push.h"

#define PUSH_RSA_BITS_MIN 2048
#define PUSH_ASSERTION_TTL_S 3600 /* Google's most */

struct push_key {
  EVP_PKEY *pkey;
  char *project, *client_email, *token_uri, *key_id;
};

char *push_b64url(const void *data, size_t n)
{
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *out = malloc(cap);
  if (out)
    sodium_bin2base64(out, cap, data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

static const char *text_field(const cJSON *doc, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
  return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* http:// only to this machine (a test's token endpoint); https:// anywhere. */
static int url_ok(const char *u)
{
  if (strncmp(u, "https://", 8) == 0 && u[8] != '\0')
    return 1;
  return strncmp(u, "http://127.", 11) == 0 || strncmp(u, "http://localhost", 16) == 0 ||
         strncmp(u, "http://[::1]", 12) == 0;
}

/* The PEM text as an RSA key of at least 2048 bits; NULL and why. */
static EVP_PKEY *read_pem(const char *pem, char *why, size_t len)
{
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  ERR_clear_error(); /* OpenSSL's queue says nothing the operator needs, and must not linger */
  if (k == NULL)
    snprintf(why, len, "service_account: field 'private_key' is not a PEM private key");
  else if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_get_bits(k) < PUSH_RSA_BITS_MIN)
    snprintf(why, len, "service_account: field 'private_key' is not an RSA key of at least %d bits",
             PUSH_RSA_BITS_MIN);
  else
    return k;
  EVP_PKEY_free(k);
  return NULL;
}

/* The fields of the file, checked; 0, or -1 and why. */
static int read_fields(const cJSON *doc, struct push_key *k, char *why, size_t len)
{
  static const char *const need[] = {"project_id", "client_email", "private_key", "token_uri"};
  const char *type = text_field(doc, "type");
  if (type == NULL || strcmp(type, "service_account") != 0) {
    snprintf(why, len, "service_account: field 'type' must be \"service_account\" (a Firebase service account's "
                       "key file, from the console's Service accounts page)");
    return -1;
  }
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
    if (text_field(doc, need[i]) == NULL) {
      snprintf(why, len, "service_account: field '%s' is missing or not a string", need[i]);
      return -1;
    }
  const char *project = text_field(doc, "project_id");
  if (strspn(project, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(project) || strlen(project) > 64) {
    snprintf(why, len, "service_account: field 'project_id' must be a Firebase project id (a-z, 0-9, '-')");
    return -1;
  }
  if (!strchr(text_field(doc, "client_email"), '@')) {
    snprintf(why, len, "service_account: field 'client_email' is not an e-mail address");
    return -1;
  }
  if (!url_ok(text_field(doc, "token_uri"))) {
    snprintf(why, len, "service_account: field 'token_uri' must be an https:// URL");
    return -1;
  }
  k->project = strdup(project);
  k->client_email = strdup(text_field(doc, "client_email"));
  k->token_uri = strdup(text_field(doc, "token_uri"));
  k->key_id = text_field(doc, "private_key_id") ? strdup(text_field(doc, "private_key_id")) : NULL;
  if (!k->project || !k->client_email || !k->token_uri) {
    snprintf(why, len, "out of memory");
    return -1;
  }
  return 0;
}

int push_key_read(const char *json, struct push_key **out, char *why, size_t len)
{
  *out = NULL;
  cJSON *doc = cJSON_Parse(json);
  struct push_key *k = calloc(1, sizeof *k);
  cJSON *pem = cJSON_GetObjectItemCaseSensitive(doc, "private_key");
  int rc = -1;
  if (k == NULL)
    snprintf(why, len, "out of memory");
  else if (!cJSON_IsObject(doc))
    snprintf(why, len, "service_account: the key file is not a JSON object (a Firebase service account's key file)");
  else if (read_fields(doc, k, why, len) == 0 && (k->pkey = read_pem(pem->valuestring, why, len)) != NULL)
    rc = 0;
  if (cJSON_IsString(pem)) /* the key's text goes as soon as it is read */
    sodium_memzero(pem->valuestring, strlen(pem->valuestring));
  cJSON_Delete(doc);
  if (rc < 0)
    push_key_free(k);
  else
    *out = k;
  return rc;
}

void push_key_free(struct push_key *k)
{
  if (k == NULL)
    return;
  EVP_PKEY_free(k->pkey);
  free(k->project);
  free(k->client_email);
  free(k->token_uri);
  free(k->key_id);
  free(k);
}

const char *push_key_project(const struct push_key *k) { return k->project; }
const char *push_key_token_uri(const struct push_key *k) { return k->token_uri; }

/* RS256 (RSASSA-PKCS1-v1_5 with SHA-256) of `data`, base64url; NULL on failure. */
static char *sign(EVP_PKEY *pkey, const char *data)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char sig[1024];
  size_t n = sizeof sig;
  char *out = NULL;
  if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
      EVP_DigestSign(md, sig, &n, (const unsigned char *)data, strlen(data)) == 1)
    out = push_b64url(sig, n);
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  return out;
}

char *push_jwt(const char *head_json, const char *claims_json, char *(*signer)(EVP_PKEY *key, const char *data),
               EVP_PKEY *key)
{
  char *h = head_json ? push_b64url(head_json, strlen(head_json)) : NULL;
  char *c = claims_json ? push_b64url(claims_json, strlen(claims_json)) : NULL, *jwt = NULL;
  size_t n = h && c ? strlen(h) + strlen(c) + 2 : 0;
  char *signing = n ? malloc(n) : NULL;
  if (signing) {
    snprintf(signing, n, "%s.%s", h, c);
    char *s = signer(key, signing);
    size_t m = s ? n + strlen(s) + 1 : 0;
    if (m && (jwt = malloc(m)) != NULL)
      snprintf(jwt, m, "%s.%s", signing, s);
    free(s);
  }
  free(signing);
  free(h);
  free(c);
  return jwt;
}

/* The unformatted JSON of `obj` (taken): malloc'd, or NULL. */
static char *json_of(cJSON *obj)
{
  char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
  cJSON_Delete(obj);
  return text;
}

char *push_key_assertion(const struct push_key *k, const char *scope, int64_t now_s)
{
  cJSON *head = cJSON_CreateObject(), *claims = cJSON_CreateObject();
  cJSON_AddStringToObject(head, "alg", "RS256");
  cJSON_AddStringToObject(head, "typ", "JWT");
  if (k->key_id)
    cJSON_AddStringToObject(head, "kid", k->key_id);
  cJSON_AddStringToObject(claims, "iss", k->client_email);
  cJSON_AddStringToObject(claims, "scope", scope);
  cJSON_AddStringToObject(claims, "aud", k->token_uri);
  cJSON_AddNumberToObject(claims, "iat", (double)now_s);
  cJSON_AddNumberToObject(claims, "exp", (double)(now_s + PUSH_ASSERTION_TTL_S));
  char *h = json_of(head), *c = json_of(claims);
  char *jwt = push_jwt(h, c, sign, k->pkey);
  free(h);
  free(c);
  return jwt;
}

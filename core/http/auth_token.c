/* What a token is: its name's rules, its scopes by name, its text form and the keyed
 * hash of its secret (see auth.h). No state. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth_int.h"

static const struct {
  const char *name;
  unsigned bit;
} scopes[] = {
    {"events:write", AUTH_EVENTS_WRITE},   {"contacts:read", AUTH_CONTACTS_READ},
    {"contacts:write", AUTH_CONTACTS_WRITE}, {"metrics:read", AUTH_METRICS_READ},
    {"admin", AUTH_ADMIN},         {"agent", AUTH_AGENT},
};
#define N_SCOPES (sizeof scopes / sizeof scopes[0])

#define SECRET_CHARS 43 /* 32 bytes of base64url without padding */
#define VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

int auth_name_valid(const char *name)
{
  size_t n = strlen(name);
  if (n == 0 || n > AUTH_NAME_MAX)
    return 0;
  return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

const char *auth_scopes_known(void)
{
  return "events:write, contacts:read, contacts:write, metrics:read, admin, agent";
}

unsigned auth_scope_bit(const char *name)
{
  for (size_t i = 0; name && i < N_SCOPES; i++)
    if (strcmp(scopes[i].name, name) == 0)
      return scopes[i].bit;
  return 0;
}

const char *auth_scope_name(unsigned bit)
{
  for (size_t i = 0; i < N_SCOPES; i++)
    if (scopes[i].bit == bit)
      return scopes[i].name;
  return NULL;
}

int auth_scopes_parse(const char *list, unsigned *mask, char *err, size_t errlen)
{
  unsigned got = 0;
  for (const char *p = list;; p++) {
    size_t n = strcspn(p, ",");
    char one[64];
    snprintf(one, sizeof one, "%.*s", (int)n, p);
    unsigned bit = n < sizeof one ? auth_scope_bit(one) : 0;
    if (n == 0) {
      snprintf(err, errlen, "an empty scope in '%.200s' (valid: %s)", list, auth_scopes_known());
      return -1;
    }
    if (!bit) {
      snprintf(err, errlen, "unknown scope '%.*s' (valid: %s)", (int)(n > 64 ? 64 : n), p, auth_scopes_known());
      return -1;
    }
    got |= bit;
    p += n;
    if (*p == '\0')
      break;
  }
  *mask |= got;
  return 0;
}

void auth_scopes_format(unsigned mask, char *buf, size_t cap)
{
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < N_SCOPES; i++) {
    if (!(mask & scopes[i].bit))
      continue;
    int w = snprintf(buf + at, cap - at, "%s%s", at ? "," : "", scopes[i].name);
    if (w < 0 || (size_t)w >= cap - at)
      return;
    at += (size_t)w;
  }
}

int auth_id_valid(const char *id)
{
  return strlen(id) == AUTH_ID_LEN && strspn(id, "0123456789abcdef") == AUTH_ID_LEN;
}

void auth_token_new(char id[AUTH_ID_LEN + 1], unsigned char secret[AUTH_SECRET_BYTES])
{
  unsigned char raw[AUTH_ID_LEN / 2];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(id, AUTH_ID_LEN + 1, raw, sizeof raw);
  randombytes_buf(secret, AUTH_SECRET_BYTES);
}

void auth_token_text(const char *id, const unsigned char secret[AUTH_SECRET_BYTES],
                     char out[AUTH_TOKEN_LEN + 1])
{
  char b64[SECRET_CHARS + 1];
  sodium_bin2base64(b64, sizeof b64, secret, AUTH_SECRET_BYTES, VARIANT);
  snprintf(out, AUTH_TOKEN_LEN + 1, "prl_%s_%s", id, b64);
}

/* Exactly the shape auth_token_text makes. Each secret has one text: base64 leaves two
 * spare bits in the last character, and libsodium refuses them unless they are zero. */
int auth_token_parse(const char *text, size_t len, char id[AUTH_ID_LEN + 1],
                     unsigned char secret[AUTH_SECRET_BYTES])
{
  if (len != AUTH_TOKEN_LEN || memcmp(text, "prl_", 4) != 0 || text[4 + AUTH_ID_LEN] != '_')
    return -1;
  memcpy(id, text + 4, AUTH_ID_LEN);
  id[AUTH_ID_LEN] = '\0';
  const char *s = text + 5 + AUTH_ID_LEN;
  size_t got = 0;
  const char *end = NULL;
  if (!auth_id_valid(id) ||
      sodium_base642bin(secret, AUTH_SECRET_BYTES, s, SECRET_CHARS, NULL, &got, &end, VARIANT) != 0 ||
      got != AUTH_SECRET_BYTES || end != s + SECRET_CHARS)
    return -1;
  return 0;
}

void auth_token_hash(const unsigned char key[AUTH_KEY_BYTES], const unsigned char secret[AUTH_SECRET_BYTES],
                     unsigned char out[AUTH_HASH_BYTES])
{
  crypto_generichash(out, AUTH_HASH_BYTES, secret, AUTH_SECRET_BYTES, key, AUTH_KEY_BYTES);
}

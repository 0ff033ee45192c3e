/* The tokens file's text: one JSON document,
 *   {"version": 1, "tokens": [{"name": "ci", "id": "3f9c0a17be42",
 *     "scopes": ["events:write"], "created": "2026-11-18T09:30:00Z", "hash": "<64 hex>"}]}
 * read strictly (every field present, of its type and form; nothing else; no name or id
 * twice), since a file the daemon half-understands could let the wrong token in. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_int.h"
#include "timestamp.h"
#include "util.h"

static const char *str_field(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Exactly the five fields, each once (cJSON keeps a repeated key twice). */
static int has_only_fields(const cJSON *o)
{
  static const char *const keys[] = {"name", "id", "scopes", "created", "hash"};
  int n = 0;
  for (const cJSON *c = o->child; c; c = c->next, n++) {
    size_t k = 0;
    while (k < 5 && strcmp(c->string, keys[k]) != 0)
      k++;
    if (k == 5)
      return 0;
  }
  return n == 5;
}

static int parse_scopes(const cJSON *arr, unsigned *mask)
{
  const cJSON *s;
  *mask = 0;
  if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
    return -1;
  cJSON_ArrayForEach(s, arr)
  {
    unsigned bit = cJSON_IsString(s) ? auth_scope_bit(s->valuestring) : 0;
    if (!bit)
      return -1;
    *mask |= bit;
  }
  return 0;
}

/* Why one element of "tokens" is not a token, or NULL when it is one (then *t holds it). */
static const char *token_fields(const cJSON *o, struct auth_token *t)
{
  const char *name = str_field(o, "name"), *id = str_field(o, "id"), *created = str_field(o, "created");
  const char *hash = str_field(o, "hash");
  size_t hlen = 0;
  int64_t ms;
  if (!name || !auth_name_valid(name))
    return "has no valid name";
  if (!id || !auth_id_valid(id))
    return "has no valid id (12 lowercase hex digits)";
  if (parse_scopes(cJSON_GetObjectItemCaseSensitive(o, "scopes"), &t->e.scopes) < 0)
    return "has no valid scopes";
  if (!created || strlen(created) >= sizeof t->e.created || timestamp_parse(created, &ms) < 0)
    return "has no valid created time";
  if (!hash || strlen(hash) != 2 * AUTH_HASH_BYTES ||
      sodium_hex2bin(t->hash, AUTH_HASH_BYTES, hash, strlen(hash), NULL, &hlen, NULL) != 0 ||
      hlen != AUTH_HASH_BYTES)
    return "has no valid hash (64 hex digits)";
  snprintf(t->e.name, sizeof t->e.name, "%s", name);
  snprintf(t->e.id, sizeof t->e.id, "%s", id);
  snprintf(t->e.created, sizeof t->e.created, "%s", created);
  return NULL;
}

static int parse_token(const cJSON *o, size_t i, struct auth_token *t, char *err, size_t errlen)
{
  const char *why = !cJSON_IsObject(o) || !has_only_fields(o)
                        ? "must be an object of name, id, scopes, created and hash"
                        : token_fields(o, t);
  if (why)
    snprintf(err, errlen, "token %zu %s", i + 1, why);
  return why ? -1 : 0;
}

/* A name or an id given twice would make a lookup or a revoke ambiguous. */
static int check_unique(const struct auth_tokens *t, char *err, size_t errlen)
{
  for (size_t i = 0; i < t->n; i++) {
    for (size_t j = 0; j < i; j++) {
      if (strcmp(t->v[i].e.name, t->v[j].e.name) == 0 || strcmp(t->v[i].e.id, t->v[j].e.id) == 0) {
        snprintf(err, errlen, "tokens %zu and %zu share a name or an id", j + 1, i + 1);
        return -1;
      }
    }
  }
  return 0;
}

static int parse_doc(const cJSON *doc, struct auth_tokens *out, char *err, size_t errlen)
{
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "tokens");
  if (!cJSON_IsObject(doc) || cJSON_GetArraySize(doc) != 2 || !cJSON_IsNumber(ver) || !cJSON_IsArray(arr)) {
    snprintf(err, errlen, "not a tokens document ({\"version\": 1, \"tokens\": [...]})");
    return -1;
  }
  if (ver->valueint != 1 || ver->valuedouble > 1 || ver->valuedouble < 1) {
    snprintf(err, errlen, "version %g is not 1", ver->valuedouble);
    return -1;
  }
  size_t n = (size_t)cJSON_GetArraySize(arr);
  out->v = n ? calloc(n, sizeof *out->v) : NULL;
  if (n && !out->v) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  const cJSON *o;
  cJSON_ArrayForEach(o, arr)
  {
    if (parse_token(o, out->n, &out->v[out->n], err, errlen) < 0)
      return -1;
    out->n++;
  }
  return check_unique(out, err, errlen);
}

int auth_tokens_parse(const char *text, struct auth_tokens *out, char *err, size_t errlen)
{
  const char *end = NULL;
  memset(out, 0, sizeof *out);
  cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
  if (!doc) {
    snprintf(err, errlen, "not JSON (near byte %zu)", end ? (size_t)(end - text) : 0);
    return -1;
  }
  int rc = parse_doc(doc, out, err, errlen);
  cJSON_Delete(doc);
  if (rc < 0)
    auth_tokens_free(out);
  return rc;
}

static cJSON *token_json(const struct auth_token *t)
{
  char hex[2 * AUTH_HASH_BYTES + 1];
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", t->e.name);
  cJSON_AddStringToObject(o, "id", t->e.id);
  cJSON *scopes = cJSON_AddArrayToObject(o, "scopes");
  for (unsigned bit = 1; bit & AUTH_SCOPES_ALL; bit <<= 1) /* every scope, agent too */
    if (t->e.scopes & bit)
      cJSON_AddItemToArray(scopes, cJSON_CreateString(auth_scope_name(bit)));
  sodium_bin2hex(hex, sizeof hex, t->hash, AUTH_HASH_BYTES);
  cJSON_AddStringToObject(o, "created", t->e.created);
  cJSON_AddStringToObject(o, "hash", hex);
  return o;
}

char *auth_tokens_print(const struct auth_tokens *t)
{
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "version", 1);
  cJSON *arr = cJSON_AddArrayToObject(doc, "tokens");
  for (size_t i = 0; i < t->n; i++)
    cJSON_AddItemToArray(arr, token_json(&t->v[i]));
  char *s = cJSON_Print(doc);
  cJSON_Delete(doc);
  return s;
}

/* The fstat of the open file is what the daemon compares later: stat-ing the path first
 * could see a file renamed over it before the open. */
int auth_tokens_read(const char *path, struct auth_tokens *out, struct stat *sig, char *err, size_t errlen)
{
  char why[512];
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  FILE *f = fd < 0 ? NULL : fdopen(fd, "rb");
  if (!f || fstat(fd, sig) < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (f)
      fclose(f);
    else if (fd >= 0)
      close(fd);
    return -1;
  }
  size_t len;
  char *text = util_read_stream(f, path, AUTH_FILE_MAX, &len, err, errlen);
  fclose(f);
  if (!text)
    return -1;
  int has_nul = strlen(text) != len, rc = -1;
  if (has_nul)
    snprintf(why, sizeof why, "holds a NUL byte");
  else
    rc = auth_tokens_parse(text, out, why, sizeof why);
  free(text);
  if (rc < 0)
    snprintf(err, errlen, "%s: %s", path, why);
  return rc < 0 ? -1 : 1;
}

struct auth_token *auth_tokens_find(const struct auth_tokens *t, const char *name)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].e.name, name) == 0)
      return &t->v[i];
  return NULL;
}

void auth_tokens_free(struct auth_tokens *t)
{
  free(t->v);
  t->v = NULL;
  t->n = 0;
}

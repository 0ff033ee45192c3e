/* Making, listing and revoking tokens (what `parley token` does): each change reads the
 * file, changes it and writes it whole, holding the folder's lock from the read to the
 * rename, so two changes at once both land. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_int.h"
#include "timestamp.h"
#include "util.h"

/* What every change starts with: the paths, the folder, the lock and the tokens as they
 * are. A file that cannot be read is never overwritten: it may hold tokens in use. */
static int begin(const char *data_dir, struct auth_paths *p, struct auth_tokens *t, char *err, size_t errlen)
{
  struct stat sig;
  memset(t, 0, sizeof *t);
  if (sodium_init() < 0) {
    snprintf(err, errlen, "libsodium failed to initialise");
    return -1;
  }
  if (auth_paths_make(data_dir, p, err, errlen) < 0 || auth_dir_make(data_dir, p, err, errlen) < 0)
    return -1;
  int lock = auth_lock(p, err, errlen);
  if (lock >= 0 && auth_tokens_read(p->tokens, t, &sig, err, errlen) < 0) {
    size_t n = strlen(err);
    snprintf(err + n, errlen - n, " (nothing was changed: repair or remove the file)");
    auth_unlock(lock);
    return -1;
  }
  return lock;
}

/* Writes the tokens back (the caller still holds the lock). */
static int commit(const struct auth_paths *p, const struct auth_tokens *t, char *err, size_t errlen)
{
  char *doc = auth_tokens_print(t);
  struct buf b = {0};
  int rc = -1;
  if (!doc || buf_add(&b, doc, strlen(doc)) < 0 || buf_add(&b, "\n", 1) < 0)
    snprintf(err, errlen, "out of memory");
  else
    rc = auth_write_atomic(p->dir, p->tokens, b.p, b.len, err, errlen);
  free(doc);
  buf_free(&b);
  return rc;
}

static int id_taken(const struct auth_tokens *t, const char *id)
{
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].e.id, id) == 0)
      return 1;
  return 0;
}

/* Appends a new token to t; its text in out. The secret lives only in out. */
static int add_token(const struct auth_paths *p, struct auth_tokens *t, const char *name, unsigned scopes,
                     int64_t now_ms, char out[AUTH_TOKEN_LEN + 1], char *err, size_t errlen)
{
  unsigned char key[AUTH_KEY_BYTES], secret[AUTH_SECRET_BYTES];
  if (auth_tokens_find(t, name)) {
    snprintf(err, errlen, "a token named '%s' exists already (parley token revoke %s, or another name)", name,
             name);
    return -1;
  }
  struct auth_token *v = realloc(t->v, (t->n + 1) * sizeof *v);
  if (!v) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  t->v = v;
  if (auth_key_make(p, key, err, errlen) < 0)
    return -1;
  struct auth_token *nt = &t->v[t->n];
  memset(nt, 0, sizeof *nt);
  do
    auth_token_new(nt->e.id, secret);
  while (id_taken(t, nt->e.id));
  snprintf(nt->e.name, sizeof nt->e.name, "%s", name);
  nt->e.scopes = scopes;
  timestamp_format(now_ms, nt->e.created, sizeof nt->e.created);
  auth_token_hash(key, secret, nt->hash);
  auth_token_text(nt->e.id, secret, out);
  sodium_memzero(secret, sizeof secret);
  sodium_memzero(key, sizeof key);
  t->n++;
  return 0;
}

static int check_request(const char *name, unsigned scopes, char *err, size_t errlen)
{
  if (!auth_name_valid(name)) {
    snprintf(err, errlen, "'%.80s' cannot name a token: 1 to %d of A-Z a-z 0-9 . _ -", name, AUTH_NAME_MAX);
    return -1;
  }
  if (scopes == 0 || (scopes & ~AUTH_SCOPES_ALL)) {
    snprintf(err, errlen, "a token needs at least one scope of: %s", auth_scopes_known());
    return -1;
  }
  return 0;
}

int auth_create(const char *data_dir, const char *name, unsigned scopes, int64_t now_ms,
                char token_out[AUTH_TOKEN_LEN + 1], char *err, size_t errlen)
{
  struct auth_paths p;
  struct auth_tokens t;
  if (check_request(name, scopes, err, errlen) < 0)
    return -1;
  int lock = begin(data_dir, &p, &t, err, errlen);
  if (lock < 0)
    return -1;
  int rc = add_token(&p, &t, name, scopes, now_ms, token_out, err, errlen);
  if (rc == 0 && (rc = commit(&p, &t, err, errlen)) < 0)
    sodium_memzero(token_out, AUTH_TOKEN_LEN + 1); /* never stored: it would not work */
  auth_unlock(lock);
  auth_tokens_free(&t);
  return rc;
}

int auth_revoke(const char *data_dir, const char *name, char id_out[AUTH_ID_LEN + 1], char *err, size_t errlen)
{
  struct auth_paths p;
  struct auth_tokens t;
  int lock = begin(data_dir, &p, &t, err, errlen);
  if (lock < 0)
    return -1;
  struct auth_token *old = auth_tokens_find(&t, name);
  int rc = -1;
  if (!old) {
    snprintf(err, errlen, "no token named '%.80s' (parley token list)", name);
  } else {
    if (id_out)
      snprintf(id_out, AUTH_ID_LEN + 1, "%s", old->e.id);
    size_t i = (size_t)(old - t.v);
    memmove(&t.v[i], &t.v[i + 1], (t.n - i - 1) * sizeof *t.v);
    t.n--;
    rc = commit(&p, &t, err, errlen);
  }
  auth_unlock(lock);
  auth_tokens_free(&t);
  return rc;
}

/* Reading needs no lock: the file is only ever replaced whole. */
int auth_list(const char *data_dir, struct auth_entry **out, size_t *n, char *err, size_t errlen)
{
  struct auth_paths p;
  struct auth_tokens t;
  struct stat sig;
  *out = NULL;
  *n = 0;
  if (auth_paths_make(data_dir, &p, err, errlen) < 0 || auth_tokens_read(p.tokens, &t, &sig, err, errlen) < 0)
    return -1;
  if (t.n && !(*out = calloc(t.n, sizeof **out))) {
    snprintf(err, errlen, "out of memory");
    auth_tokens_free(&t);
    return -1;
  }
  for (size_t i = 0; i < t.n; i++)
    (*out)[i] = t.v[i].e;
  *n = t.n;
  auth_tokens_free(&t);
  return 0;
}

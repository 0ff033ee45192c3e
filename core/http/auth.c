/* The daemon's side of the tokens (see auth.h): check a request's bearer token against
 * the tokens file, read again whenever it changed. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_int.h"

/* What tells the tokens file changed: a rewrite renames a new file over it (a new inode),
 * an edit in place changes its size or times. */
struct file_sig {
  int err; /* 0, or the errno of stat (ENOENT: no file, no tokens) */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
};

struct auth {
  struct auth_paths paths;
  struct log log;
  struct auth_tokens tokens;
  unsigned char key[AUTH_KEY_BYTES];
  int read_once; /* sig is of the file as last read */
  int broken;    /* the file could not be used: every token is refused */
  struct file_sig sig;
};

static void sig_of(const struct stat *st, struct file_sig *s)
{
  memset(s, 0, sizeof *s);
  s->dev = st->st_dev;
  s->ino = st->st_ino;
  s->size = st->st_size;
  s->mtime = st->st_mtim;
  s->ctime = st->st_ctim;
}

static void sig_now(const char *path, struct file_sig *s)
{
  struct stat st;
  memset(s, 0, sizeof *s);
  if (stat(path, &st) == 0)
    sig_of(&st, s);
  else
    s->err = errno;
}

static int sig_same(const struct file_sig *a, const struct file_sig *b)
{
  return a->err == b->err && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
         a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Reads the tokens and, when there are any, the key their hashes need. A file that
 * cannot be used is told once (this runs only when the file changed) and refuses every
 * token until it changes again. */
static void reload(struct auth *a, const struct file_sig *seen)
{
  struct auth_tokens t;
  struct stat st;
  char err[1024];
  int rc = auth_tokens_read(a->paths.tokens, &t, &st, err, sizeof err);
  if (rc == 1 && t.n > 0 && auth_key_read(&a->paths, a->key, err, sizeof err) < 0)
    rc = -1;
  auth_tokens_free(&a->tokens);
  a->read_once = 1;
  a->broken = rc < 0;
  if (rc == 1)
    sig_of(&st, &a->sig);
  else
    a->sig = *seen;
  if (rc < 0) {
    auth_tokens_free(&t);
    log_kv(&a->log, LOG_ERROR, "auth", "the tokens file cannot be used: every token is refused until it is repaired",
           "path", a->paths.tokens, "error", err, (char *)NULL);
    return;
  }
  a->tokens = t;
  char n[32];
  snprintf(n, sizeof n, "%zu", t.n);
  log_kv(&a->log, LOG_INFO, "auth", "tokens read", "path", a->paths.tokens, "tokens", n, (char *)NULL);
}

static void refresh(struct auth *a)
{
  struct file_sig now;
  sig_now(a->paths.tokens, &now);
  if (!a->read_once || !sig_same(&now, &a->sig))
    reload(a, &now);
}

struct auth *auth_open(const char *data_dir, char *err, size_t errlen)
{
  struct auth *a = calloc(1, sizeof *a);
  if (!a || sodium_init() < 0) {
    snprintf(err, errlen, a ? "libsodium failed to initialise" : "out of memory");
    free(a);
    return NULL;
  }
  a->log.min = LOG_INFO;
  int lock = -1;
  if (auth_paths_make(data_dir, &a->paths, err, errlen) < 0 || auth_dir_make(data_dir, &a->paths, err, errlen) < 0 ||
      (lock = auth_lock(&a->paths, err, errlen)) < 0 || auth_key_make(&a->paths, a->key, err, errlen) < 0) {
    auth_unlock(lock);
    auth_close(a);
    return NULL;
  }
  auth_unlock(lock);
  return a;
}

void auth_set_log(struct auth *a, const struct log *log)
{
  a->log = *log;
}

void auth_close(struct auth *a)
{
  if (!a)
    return;
  auth_tokens_free(&a->tokens);
  sodium_memzero(a->key, sizeof a->key);
  free(a);
}

/* The credentials of "Bearer <credentials>" (the scheme in any case, blanks around),
 * as s[0..*len); NULL when the header is absent, too long or of another form. */
static const char *bearer(const char *h, size_t *len)
{
  if (!h || strnlen(h, AUTH_HEADER_MAX + 1) > AUTH_HEADER_MAX || strncasecmp(h, "Bearer", 6) != 0 ||
      (h[6] != ' ' && h[6] != '\t'))
    return NULL;
  const char *s = h + 6 + strspn(h + 6, " \t");
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  *len = n;
  return n ? s : NULL;
}

/* The token whose id and secret these are, or NULL. The hashes are compared in constant
 * time; the id is public. */
static const struct auth_token *match(const struct auth *a, const char *cred, size_t len)
{
  char id[AUTH_ID_LEN + 1];
  unsigned char secret[AUTH_SECRET_BYTES], hash[AUTH_HASH_BYTES];
  const struct auth_token *t = NULL;
  if (a->broken || auth_token_parse(cred, len, id, secret) < 0)
    return NULL;
  for (size_t i = 0; i < a->tokens.n && !t; i++)
    if (strcmp(a->tokens.v[i].e.id, id) == 0)
      t = &a->tokens.v[i];
  if (t) {
    auth_token_hash(a->key, secret, hash);
    if (sodium_memcmp(hash, t->hash, AUTH_HASH_BYTES) != 0)
      t = NULL;
  }
  sodium_memzero(secret, sizeof secret);
  return t;
}

enum auth_result auth_check(struct auth *a, const char *authorization, const char *scope, const char **name_out)
{
  size_t len = 0;
  const char *cred = bearer(authorization, &len);
  if (name_out)
    *name_out = NULL;
  if (!cred)
    return AUTH_MISSING;
  refresh(a);
  const struct auth_token *t = match(a, cred, len);
  if (!t)
    return AUTH_INVALID;
  if (name_out)
    *name_out = t->e.name;
  unsigned bit = auth_scope_bit(scope);
  return bit && (t->e.scopes & bit) ? AUTH_OK : AUTH_FORBIDDEN;
}

const char *auth_message(enum auth_result r)
{
  switch (r) {
  case AUTH_OK:
    return "authorized";
  case AUTH_MISSING:
    return "no bearer token: send Authorization: Bearer TOKEN (parley token create)";
  case AUTH_INVALID:
    return "the bearer token is not valid: unknown, revoked or mistyped (parley token list)";
  case AUTH_FORBIDDEN:
    return "the token lacks the scope this request needs (parley token list shows its scopes)";
  }
  return "not authorized";
}

unsigned auth_http_status(enum auth_result r)
{
  return r == AUTH_OK ? 200 : r == AUTH_FORBIDDEN ? 403 : 401;
}

const char *auth_error_code(enum auth_result r)
{
  return r == AUTH_OK ? NULL : r == AUTH_FORBIDDEN ? "forbidden" : "unauthorized";
}

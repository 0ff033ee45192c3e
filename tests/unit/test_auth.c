/* API tokens (core/http/auth*.c): what the tokens file keeps and never keeps, how a
 * request's Authorization header is judged, that a revoke counts at the next check, and
 * that a broken file refuses everything, says so once and crashes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/auth.h"
#include "timestamp.h"
#include "util.h"

#define NOW_MS 1795000000000LL /* 2026-11-18T...Z */

struct fix {
  char dir[64];
  char tokens[128];
  int errors;        /* ERROR records the auth log received */
  char last[2048];   /* the last record: message and fields */
  struct auth *auth; /* opened by open_auth */
};

static int setup(void **state)
{
  struct fix *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/parley-auth-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->tokens, sizeof f->tokens, "%s/auth/tokens", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fix *f = *state;
  char cmd[128];
  auth_close(f->auth);
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static void sink(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields)
{
  struct fix *f = ud;
  size_t at = (size_t)snprintf(f->last, sizeof f->last, "%s %s", subsys, msg);
  for (const char *k; (k = va_arg(fields, const char *)) && at < sizeof f->last;)
    at += (size_t)snprintf(f->last + at, sizeof f->last - at, " %s=%s", k, va_arg(fields, const char *));
  if (lvl == LOG_ERROR)
    f->errors++;
}

static struct auth *open_auth(struct fix *f)
{
  char err[1024] = "";
  struct log lg = {.min = LOG_DEBUG, .sink = sink, .sink_ud = f};
  f->auth = auth_open(f->dir, err, sizeof err);
  if (!f->auth)
    fail_msg("auth_open: %s", err);
  auth_set_log(f->auth, &lg);
  return f->auth;
}

static void create(struct fix *f, const char *name, unsigned scopes, char tok[AUTH_TOKEN_LEN + 1])
{
  char err[1024] = "";
  if (auth_create(f->dir, name, scopes, NOW_MS, tok, err, sizeof err) < 0)
    fail_msg("auth_create %s: %s", name, err);
}

static enum auth_result check(struct fix *f, const char *header, const char *scope)
{
  const char *name = (const char *)1;
  enum auth_result r = auth_check(f->auth, header, scope, &name);
  if (r == AUTH_OK || r == AUTH_FORBIDDEN)
    assert_non_null(name);
  else
    assert_null(name);
  return r;
}

static enum auth_result check_token(struct fix *f, const char *tok, const char *scope)
{
  char h[256];
  snprintf(h, sizeof h, "Bearer %s", tok);
  return check(f, h, scope);
}

static char *slurp(const char *path)
{
  char err[256];
  size_t len;
  char *s = util_read_file(path, 1 << 20, &len, err, sizeof err);
  if (!s)
    fail_msg("%s", err);
  return s;
}

static void spill(const char *path, const char *text, size_t len)
{
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s.new", path);
  FILE *fp = fopen(tmp, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(text, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
  assert_int_equal(rename(tmp, path), 0); /* a new inode, as any editor's save would be */
}

static void test_token_shape(void **state)
{
  struct fix *f = *state;
  char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];
  create(f, "one", AUTH_EVENTS_WRITE, a);
  create(f, "two", AUTH_EVENTS_WRITE, b);
  assert_int_equal(strlen(a), AUTH_TOKEN_LEN);
  assert_memory_equal(a, "prl_", 4);
  assert_int_equal(strspn(a + 4, "0123456789abcdef"), 12);
  assert_int_equal(a[16], '_');
  assert_int_equal(strspn(a + 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
  unsigned char secret[32];
  size_t got = 0;
  assert_int_equal(sodium_base642bin(secret, sizeof secret, a + 17, 43, NULL, &got, NULL,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                   0);
  assert_int_equal(got, 32);
  assert_memory_not_equal(a + 4, b + 4, 12);
  assert_memory_not_equal(a + 17, b + 17, 43);
}

static void test_create_list_revoke(void **state)
{
  struct fix *f = *state;
  char ci[AUTH_TOKEN_LEN + 1], ops[AUTH_TOKEN_LEN + 1], err[1024] = "", id[AUTH_ID_LEN + 1];
  char when[32];
  struct auth_entry *v;
  size_t n;
  assert_int_equal(auth_list(f->dir, &v, &n, err, sizeof err), 0); /* nothing yet: no file, no error */
  assert_int_equal(n, 0);
  assert_null(v);
  create(f, "ci", AUTH_EVENTS_WRITE | AUTH_CONTACTS_READ, ci);
  create(f, "ops.team-1_x", AUTH_ADMIN, ops);
  assert_int_equal(auth_list(f->dir, &v, &n, err, sizeof err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].name, "ci");
  assert_memory_equal(v[0].id, ci + 4, 12);
  assert_int_equal(v[0].scopes, AUTH_EVENTS_WRITE | AUTH_CONTACTS_READ);
  timestamp_format(NOW_MS, when, sizeof when);
  assert_string_equal(v[0].created, when);
  assert_string_equal(v[1].name, "ops.team-1_x");
  assert_int_equal(v[1].scopes, AUTH_ADMIN);
  free(v);

  assert_int_equal(auth_revoke(f->dir, "ci", id, err, sizeof err), 0);
  assert_memory_equal(id, ci + 4, 12);
  assert_int_equal(auth_list(f->dir, &v, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].name, "ops.team-1_x");
  free(v);
  assert_int_equal(auth_revoke(f->dir, "ci", id, err, sizeof err), -1);
  assert_non_null(strstr(err, "no token named 'ci'"));
}

static void test_refused_requests(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], err[1024], long_name[80];
  memset(long_name, 'a', 65);
  long_name[65] = '\0';
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  assert_int_equal(auth_create(f->dir, "ci", AUTH_ADMIN, NOW_MS, tok, err, sizeof err), -1);
  assert_non_null(strstr(err, "'ci' exists already"));
  const char *bad[] = {"", "a b", "a/b", "z\xc3\xbc", long_name, "ci\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    if (auth_create(f->dir, bad[i], AUTH_ADMIN, NOW_MS, tok, err, sizeof err) == 0)
      fail_msg("name '%s' accepted", bad[i]);
    assert_non_null(strstr(err, "cannot name a token"));
  }
  long_name[64] = '\0';
  create(f, long_name, AUTH_ADMIN, tok); /* 64 is the limit, not over it */
  assert_int_equal(auth_create(f->dir, "none", 0, NOW_MS, tok, err, sizeof err), -1);
  assert_non_null(strstr(err, "at least one scope"));
  assert_int_equal(auth_create(f->dir, "odd", 1u << 20, NOW_MS, tok, err, sizeof err), -1);
}

static void test_scopes_by_name(void **state)
{
  unsigned m = 0;
  char err[512] = "", buf[128];
  assert_int_equal(auth_scopes_parse("events:write,admin", &m, err, sizeof err), 0);
  assert_int_equal(m, AUTH_EVENTS_WRITE | AUTH_ADMIN);
  assert_int_equal(auth_scopes_parse("metrics:read", &m, err, sizeof err), 0); /* --scope again adds */
  assert_int_equal(m, AUTH_EVENTS_WRITE | AUTH_ADMIN | AUTH_METRICS_READ);
  auth_scopes_format(m, buf, sizeof buf);
  assert_string_equal(buf, "events:write,metrics:read,admin");
  assert_int_equal(auth_scopes_parse("contacts:read,nope", &m, err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown scope 'nope'"));
  assert_non_null(strstr(err, "events:write, contacts:read, contacts:write, metrics:read, admin, agent"));
  assert_int_equal(m, AUTH_EVENTS_WRITE | AUTH_ADMIN | AUTH_METRICS_READ); /* unchanged */
  assert_int_equal(auth_scopes_parse("admin,,events:write", &m, err, sizeof err), -1);
  assert_non_null(strstr(err, "empty scope"));
  assert_int_equal(auth_scopes_parse("", &m, err, sizeof err), -1);
  assert_int_equal(auth_scopes_parse("Admin", &m, err, sizeof err), -1);
  assert_int_equal(auth_scope_bit("contacts:write"), AUTH_CONTACTS_WRITE);
  assert_int_equal(auth_scope_bit("agent"), AUTH_AGENT);
  assert_int_equal(auth_scope_bit("events"), 0);
  assert_int_equal(auth_scope_bit(NULL), 0);
}

/* The file holds a keyed hash: not the secret, not its unkeyed hash, not the token. */
static void test_the_file_keeps_no_secret(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], hex[65], plain_hex[65];
  unsigned char secret[32], plain[32];
  size_t got;
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  char *text = slurp(f->tokens);
  assert_null(strstr(text, tok));
  assert_null(strstr(text, tok + 17));
  assert_int_equal(sodium_base642bin(secret, 32, tok + 17, 43, NULL, &got, NULL,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                   0);
  sodium_bin2hex(hex, sizeof hex, secret, 32);
  crypto_generichash(plain, 32, secret, 32, NULL, 0);
  sodium_bin2hex(plain_hex, sizeof plain_hex, plain, 32);
  assert_null(strstr(text, hex));
  assert_null(strstr(text, plain_hex));
  cJSON *doc = cJSON_Parse(text);
  cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "tokens"), 0);
  const char *hash = cJSON_GetStringValue(cJSON_GetObjectItem(t0, "hash"));
  assert_non_null(hash);
  assert_int_equal(strlen(hash), 64);
  assert_string_not_equal(hash, hex);
  assert_string_not_equal(hash, plain_hex);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(t0, "name")), "ci");
  cJSON_Delete(doc);
  free(text);
}

static void test_permissions(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], path[128];
  struct stat sb;
  mode_t old = umask(0); /* whatever the umask, the files are the owner's alone */
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  umask(old);
  snprintf(path, sizeof path, "%s/auth", f->dir);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0700);
  assert_int_equal(stat(f->tokens, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  snprintf(path, sizeof path, "%s/auth/key", f->dir);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(sb.st_size, 32);
  snprintf(path, sizeof path, "%s/auth", f->dir); /* a folder opened up is closed again */
  assert_int_equal(chmod(path, 0755), 0);
  create(f, "two", AUTH_EVENTS_WRITE, tok);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0700);
}

static void test_scopes_are_checked(void **state)
{
  struct fix *f = *state;
  char ci[AUTH_TOKEN_LEN + 1], ops[AUTH_TOKEN_LEN + 1];
  const char *name = NULL;
  create(f, "ci", AUTH_EVENTS_WRITE | AUTH_CONTACTS_READ, ci);
  create(f, "ops", AUTH_ADMIN, ops);
  open_auth(f);
  char h[128];
  snprintf(h, sizeof h, "Bearer %s", ci);
  assert_int_equal(auth_check(f->auth, h, "events:write", &name), AUTH_OK);
  assert_string_equal(name, "ci");
  assert_int_equal(check_token(f, ci, "contacts:read"), AUTH_OK);
  assert_int_equal(check_token(f, ci, "contacts:write"), AUTH_FORBIDDEN);
  assert_int_equal(check_token(f, ci, "metrics:read"), AUTH_FORBIDDEN);
  assert_int_equal(auth_check(f->auth, h, "admin", &name), AUTH_FORBIDDEN);
  assert_string_equal(name, "ci");
  assert_int_equal(check_token(f, ops, "admin"), AUTH_OK);
  assert_int_equal(check_token(f, ops, "events:write"), AUTH_FORBIDDEN); /* admin implies no other */
  assert_int_equal(check_token(f, ops, "contacts:read"), AUTH_FORBIDDEN);
  assert_int_equal(check_token(f, ops, "no:such"), AUTH_FORBIDDEN);
  assert_int_equal(check_token(f, ops, NULL), AUTH_FORBIDDEN);
  assert_int_equal(auth_check(f->auth, h, "events:write", NULL), AUTH_OK); /* name_out may be NULL */
  assert_int_equal(f->errors, 0);
}

/* Another secret under a real id, and the real secret under another id, are refused. */
static void test_wrong_secret_or_id(void **state)
{
  struct fix *f = *state;
  char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], t[AUTH_TOKEN_LEN + 1];
  create(f, "a", AUTH_EVENTS_WRITE, a);
  create(f, "b", AUTH_EVENTS_WRITE, b);
  open_auth(f);
  assert_int_equal(check_token(f, a, "events:write"), AUTH_OK);
  memcpy(t, a, sizeof t);
  memcpy(t + 17, b + 17, 43); /* a's id, b's secret */
  assert_int_equal(check_token(f, t, "events:write"), AUTH_INVALID);
  memcpy(t, b, sizeof t);
  memcpy(t + 4, a + 4, 12); /* b's secret under a's id */
  assert_int_equal(check_token(f, t, "events:write"), AUTH_INVALID);
  for (size_t i = 17; i < AUTH_TOKEN_LEN; i += 7) { /* one character of the secret changed */
    memcpy(t, a, sizeof t);
    t[i] = t[i] == 'A' ? 'B' : 'A';
    assert_int_equal(check_token(f, t, "events:write"), AUTH_INVALID);
  }
  memcpy(t, a, sizeof t); /* the last character's spare bits: the same bytes, another text */
  const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t v = (size_t)(strchr(b64, t[59]) - b64);
  t[59] = b64[v ^ 1];
  assert_int_equal(check_token(f, t, "events:write"), AUTH_INVALID);
  for (size_t i = 4; i < 16; i++) { /* one digit of the id changed */
    memcpy(t, a, sizeof t);
    t[i] = t[i] == '0' ? '1' : '0';
    assert_int_equal(check_token(f, t, "events:write"), AUTH_INVALID);
  }
  memcpy(t, a, sizeof t);
  for (size_t i = 4; i < 16; i++)
    t[i] = (char)(t[i] >= 'a' ? t[i] - 32 : t[i]); /* uppercase hex is not the id */
  if (memcmp(t, a, sizeof t) != 0)
    assert_int_equal(check_token(f, t, "events:write"), AUTH_INVALID);
  memcpy(t, a, sizeof t);
  memcpy(t, "prx_", 4);
  assert_int_equal(check_token(f, t, "events:write"), AUTH_INVALID);
}

static void test_headers(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], h[4096];
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  open_auth(f);
  assert_int_equal(check(f, NULL, "events:write"), AUTH_MISSING);
  const char *missing[] = {"", "Bearer", "Bearer ", "Bearer \t ", "Basic dXNlcjpwYXNz", "Token x", "bearer", " Bearer x"};
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
    if (check(f, missing[i], "events:write") != AUTH_MISSING)
      fail_msg("'%s' is not MISSING", missing[i]);
  assert_int_equal(check(f, tok, "events:write"), AUTH_MISSING); /* the token without its scheme */
  snprintf(h, sizeof h, "Bearer%s", tok);
  assert_int_equal(check(f, h, "events:write"), AUTH_MISSING);
  snprintf(h, sizeof h, "bEaReR \t%s \t", tok); /* the scheme in any case, blanks around */
  assert_int_equal(check(f, h, "events:write"), AUTH_OK);
  const char *invalid[] = {"Bearer x", "Bearer prl_", "Bearer prl__", "Bearer %s%s", "Bearer %s x", "Bearer x%s",
                           "Bearer %.59s", "Bearer \"%s\""};
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(h, sizeof h, invalid[i], tok, tok);
#pragma GCC diagnostic pop
    if (check(f, h, "events:write") != AUTH_INVALID)
      fail_msg("'%s' is not INVALID", h);
  }
  snprintf(h, sizeof h, "Bearer %s", tok); /* overlong: not read at all */
  memset(h + strlen(h), ' ', AUTH_HEADER_MAX);
  h[AUTH_HEADER_MAX + 1] = '\0';
  assert_int_equal(check(f, h, "events:write"), AUTH_MISSING);
  memset(h, 'a', sizeof h - 1);
  memcpy(h, "Bearer ", 7);
  h[sizeof h - 1] = '\0';
  assert_int_equal(check(f, h, "events:write"), AUTH_MISSING);
}

/* Junk of every byte but NUL, bare or after "Bearer ": refused, never a crash. */
static void test_junk_headers(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], h[256];
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  open_auth(f);
  for (int round = 0; round < 5000; round++) {
    size_t at = round % 2 ? (size_t)snprintf(h, sizeof h, "Bearer ") : 0;
    size_t n = randombytes_uniform(120);
    if (round % 3 == 0 && at) { /* a token's frame with junk inside */
      at += (size_t)snprintf(h + at, sizeof h - at, "prl_%.12s_", tok + 4);
      n = 43;
    }
    for (size_t i = 0; i < n; i++)
      h[at + i] = (char)(1 + randombytes_uniform(255));
    h[at + n] = '\0';
    enum auth_result r = check(f, h, "events:write");
    if (r != AUTH_MISSING && r != AUTH_INVALID)
      fail_msg("junk header accepted (%d)", (int)r);
  }
  assert_int_equal(check_token(f, tok, "events:write"), AUTH_OK);
}

static void test_revoke_counts_at_the_next_check(void **state)
{
  struct fix *f = *state;
  char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], err[512], id[AUTH_ID_LEN + 1];
  create(f, "a", AUTH_EVENTS_WRITE, a);
  open_auth(f);
  assert_int_equal(check_token(f, a, "events:write"), AUTH_OK);
  create(f, "b", AUTH_EVENTS_WRITE, b); /* made while the daemon runs */
  assert_int_equal(check_token(f, b, "events:write"), AUTH_OK);
  assert_int_equal(auth_revoke(f->dir, "a", id, err, sizeof err), 0);
  assert_int_equal(check_token(f, a, "events:write"), AUTH_INVALID);
  assert_int_equal(check_token(f, b, "events:write"), AUTH_OK);
  assert_int_equal(auth_revoke(f->dir, "b", id, err, sizeof err), 0); /* the last one */
  assert_int_equal(check_token(f, b, "events:write"), AUTH_INVALID);
  assert_int_equal(unlink(f->tokens), 0); /* no file: no tokens, and nothing wrong */
  assert_int_equal(check_token(f, b, "events:write"), AUTH_INVALID);
  assert_int_equal(f->errors, 0);
}

/* Each broken file refuses every token and is told once, naming the file; the CLI side
 * refuses to write over it; a repaired file is taken at the next check. */
static void test_a_broken_file_refuses_everything(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], other[AUTH_TOKEN_LEN + 1], err[1024];
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  char *good = slurp(f->tokens);
  open_auth(f);
  assert_int_equal(check_token(f, tok, "events:write"), AUTH_OK);
  char *nul = strdup(good);
  nul[10] = '\0';
  const char *broken[] = {"", "{", "null", "[]", "{\"version\": 1}", "{\"version\": 2, \"tokens\": []}",
                          "{\"version\": 1, \"tokens\": [], \"more\": 1}", "{\"version\": 1, \"tokens\": [1]}",
                          "{\"version\": 1, \"tokens\": [{\"name\": \"ci\"}]}"};
  int told = 0;
  for (size_t i = 0; i < sizeof broken / sizeof broken[0] + 1; i++) {
    if (i < sizeof broken / sizeof broken[0])
      spill(f->tokens, broken[i], strlen(broken[i]));
    else
      spill(f->tokens, nul, strlen(good)); /* a NUL byte inside */
    assert_int_equal(check_token(f, tok, "events:write"), AUTH_INVALID);
    assert_int_equal(check_token(f, tok, "events:write"), AUTH_INVALID);
    assert_int_equal(f->errors, ++told); /* once per broken file, not per request */
    assert_non_null(strstr(f->last, f->tokens));
    assert_non_null(strstr(f->last, "every token is refused"));
  }
  assert_int_equal(auth_create(f->dir, "new", AUTH_ADMIN, NOW_MS, other, err, sizeof err), -1);
  assert_non_null(strstr(err, f->tokens));
  assert_non_null(strstr(err, "nothing was changed"));
  struct auth_entry *v;
  size_t n;
  assert_int_equal(auth_list(f->dir, &v, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, f->tokens));
  spill(f->tokens, good, strlen(good)); /* repaired */
  assert_int_equal(check_token(f, tok, "events:write"), AUTH_OK);
  assert_int_equal(f->errors, told);
  free(nul);
  free(good);
}

/* Every field of a token is checked: a file half-understood could let the wrong one in. */
static void test_each_field_is_checked(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], err[1024];
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  create(f, "ops", AUTH_ADMIN, tok);
  char *good = slurp(f->tokens);
  static const struct {
    const char *from, *to;
  } edits[] = {
      {"\"ops\"", "\"ci\""},                 /* a name twice */
      {"\"admin\"", "\"root\""},             /* a scope that is none */
      {"[\"admin\"]", "[]"},                 /* no scope */
      {"\"name\":\t\"ops\"", "\"name\":\t\"o p\""},
      {"\"version\":\t1", "\"version\":\t1.5"},
      {"\"hash\":\t\"", "\"hash\":\t\"0"},   /* 65 digits */
      {"\"hash\":\t\"", "\"hash\":\t\"zz"},
      {"\"created\":\t\"", "\"created\":\t\"x"},
      {"\"name\":\t\"ops\"", "\"name\":\t\"ops\", \"secret\": \"s\""},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    char *at = strstr(good, edits[i].from);
    assert_non_null(at);
    struct buf b = {0};
    buf_add(&b, good, (size_t)(at - good));
    buf_add(&b, edits[i].to, strlen(edits[i].to));
    buf_add(&b, at + strlen(edits[i].from), strlen(at + strlen(edits[i].from)));
    spill(f->tokens, b.p, b.len);
    struct auth_entry *v;
    size_t n;
    if (auth_list(f->dir, &v, &n, err, sizeof err) == 0)
      fail_msg("edit %zu accepted: %s", i, b.p);
    buf_free(&b);
  }
  free(good);
}

static void test_a_missing_key_refuses_everything(void **state)
{
  struct fix *f = *state;
  char tok[AUTH_TOKEN_LEN + 1], key[128];
  create(f, "ci", AUTH_EVENTS_WRITE, tok);
  open_auth(f);
  assert_int_equal(check_token(f, tok, "events:write"), AUTH_OK);
  char *good = slurp(f->tokens);
  snprintf(key, sizeof key, "%s/auth/key", f->dir);
  assert_int_equal(unlink(key), 0);
  spill(f->tokens, good, strlen(good));
  assert_int_equal(check_token(f, tok, "events:write"), AUTH_INVALID);
  assert_int_equal(f->errors, 1);
  assert_non_null(strstr(f->last, key));
  free(good);
}

/* Writers hold the folder's lock from read to rename: none loses another's token. */
static void test_concurrent_creates_all_land(void **state)
{
  struct fix *f = *state;
  enum { KIDS = 6, EACH = 5 };
  pid_t kids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    kids[k] = fork();
    assert_true(kids[k] >= 0);
    if (kids[k] == 0) {
      char name[32], tok[AUTH_TOKEN_LEN + 1], err[1024];
      for (int i = 0; i < EACH; i++) {
        snprintf(name, sizeof name, "k%d-%d", k, i);
        if (auth_create(f->dir, name, AUTH_EVENTS_WRITE, NOW_MS, tok, err, sizeof err) < 0)
          _exit(1);
      }
      _exit(0);
    }
  }
  for (int k = 0; k < KIDS; k++) {
    int st;
    assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  struct auth_entry *v;
  size_t n;
  char err[1024];
  assert_int_equal(auth_list(f->dir, &v, &n, err, sizeof err), 0);
  assert_int_equal(n, KIDS * EACH);
  free(v);
}

static void test_messages(void **state)
{
  assert_non_null(strstr(auth_message(AUTH_MISSING), "Authorization: Bearer"));
  assert_non_null(strstr(auth_message(AUTH_MISSING), "parley token create"));
  assert_string_not_equal(auth_message(AUTH_INVALID), auth_message(AUTH_MISSING));
  assert_string_not_equal(auth_message(AUTH_FORBIDDEN), auth_message(AUTH_INVALID));
  assert_int_equal(auth_http_status(AUTH_OK), 200);
  assert_int_equal(auth_http_status(AUTH_MISSING), 401);
  assert_int_equal(auth_http_status(AUTH_INVALID), 401);
  assert_int_equal(auth_http_status(AUTH_FORBIDDEN), 403);
  assert_string_equal(auth_error_code(AUTH_INVALID), "unauthorized");
  assert_string_equal(auth_error_code(AUTH_FORBIDDEN), "forbidden");
  assert_null(auth_error_code(AUTH_OK));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  assert_true(sodium_init() >= 0);
  const struct CMUnitTest tests[] = {
      T(test_token_shape),
      T(test_create_list_revoke),
      T(test_refused_requests),
      cmocka_unit_test(test_scopes_by_name),
      T(test_the_file_keeps_no_secret),
      T(test_permissions),
      T(test_scopes_are_checked),
      T(test_wrong_secret_or_id),
      T(test_headers),
      T(test_junk_headers),
      T(test_revoke_counts_at_the_next_check),
      T(test_a_broken_file_refuses_everything),
      T(test_each_field_is_checked),
      T(test_a_missing_key_refuses_everything),
      T(test_concurrent_creates_all_land),
      cmocka_unit_test(test_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

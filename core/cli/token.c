/* `parley token` (see token.h): read the command line, then make, list or revoke a token
 * in the configuration's data_dir. A new token is printed once, on stdout alone. */
#include "token.h"

#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "http/auth.h"

const char token_usage[] =
    "usage: parley token create --name NAME --scope SCOPE[,SCOPE...] [-c FILE]\n"
    "       parley token list [-c FILE]\n"
    "       parley token revoke NAME [-c FILE]\n\n"
    "API tokens for the HTTP API (http.auth = \"tokens\"). create prints the new token on\n"
    "stdout, once: only a keyed hash of it is kept (<data_dir>/auth/tokens). Clients send it\n"
    "as `Authorization: Bearer TOKEN`; parley send and parley replay send $PARLEY_TOKEN.\n"
    "A token made or revoked counts from the daemon's next request; no restart.\n\n"
    "  --name NAME        the token's name: 1 to 64 of A-Z a-z 0-9 . _ -, unique\n"
    "  --scope SCOPES     what it may do, comma-separated or --scope again: events:write,\n"
    "                     contacts:read, contacts:write, metrics:read, admin (admin\n"
    "                     implies none of the others)\n"
    "  -c, --config FILE  the configuration, for its data_dir (default: the embedded one)\n\n"
    "Exit status: 0 done; 1 refused (a name taken, no such token, a file that cannot be\n"
    "used); 2 a usage error.\n";

enum action { CREATE, LIST, REVOKE };

struct token_args {
  enum action action;
  const char *config, *name;
  unsigned scopes;
};

/* A command line it cannot take: what is wrong, then the usage; exit status 2. */
__attribute__((format(printf, 1, 2))) static int misuse(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("parley token: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n\n%s", token_usage);
  return 2;
}

static int parse_action(const char *s, enum action *out)
{
  static const char *const names[] = {"create", "list", "revoke"};
  for (int i = 0; i < 3; i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = (enum action)i;
      return 0;
    }
  }
  return -1;
}

static int is_config(const char *s)
{
  return strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0;
}

/* An option with its value: 0, or the exit status of a usage error (explained). */
static int take_value(const char *opt, const char *v, struct token_args *a)
{
  char err[512];
  if (is_config(opt))
    a->config = v;
  else if (strcmp(opt, "--name") == 0)
    a->name = v;
  else if (auth_scopes_parse(v, &a->scopes, err, sizeof err) < 0)
    return misuse("%s", err);
  return 0;
}

/* One option or operand at argv[*i] (moved past its value). Returns 0, or the exit
 * status of a usage error (explained). */
static int parse_one(int argc, char **argv, int *i, struct token_args *a)
{
  const char *s = argv[*i];
  int creating = a->action == CREATE;
  if (is_config(s) || (creating && (strcmp(s, "--name") == 0 || strcmp(s, "--scope") == 0))) {
    if (*i + 1 >= argc)
      return misuse("option %s needs a value", s);
    return take_value(s, argv[++*i], a);
  }
  if (s[0] == '-')
    return misuse("unexpected option '%s'", s);
  if (a->action != REVOKE || a->name)
    return misuse("unexpected argument '%s'", s);
  a->name = s;
  return 0;
}

static int parse(int argc, char **argv, struct token_args *a)
{
  memset(a, 0, sizeof *a);
  if (argc < 3)
    return misuse("name what to do: create, list or revoke");
  if (parse_action(argv[2], &a->action) < 0)
    return misuse("'%s' is not create, list or revoke", argv[2]);
  for (int i = 3; i < argc; i++) {
    int rc = parse_one(argc, argv, &i, a);
    if (rc)
      return rc;
  }
  if (a->action == REVOKE && !a->name)
    return misuse("name the token to revoke (parley token list)");
  if (a->action == CREATE && !a->name)
    return misuse("--name NAME is required");
  if (a->action == CREATE && !auth_name_valid(a->name))
    return misuse("'%s' cannot name a token: 1 to %d of A-Z a-z 0-9 . _ -", a->name, AUTH_NAME_MAX);
  if (a->action == CREATE && !a->scopes)
    return misuse("--scope is required (scopes: %s)", auth_scopes_known());
  return 0;
}

static int create(const char *data_dir, const struct token_args *a)
{
  char token[AUTH_TOKEN_LEN + 1], err[8192], scopes[128];
  if (auth_create(data_dir, a->name, a->scopes, clock_wall_now_ms(), token, err, sizeof err) < 0) {
    fprintf(stderr, "parley token create: %s\n", err);
    return 1;
  }
  auth_scopes_format(a->scopes, scopes, sizeof scopes);
  printf("%s\n", token);
  fflush(stdout);
  fprintf(stderr, "parley token create: token '%s' (id %.*s, scopes %s) made; it is shown only this once\n"
                  "and will not be shown again: keep it now\n",
          a->name, AUTH_ID_LEN, token + 4, scopes);
  memset(token, 0, sizeof token);
  return 0;
}

static int list(const char *data_dir)
{
  struct auth_entry *v;
  size_t n;
  char err[8192], scopes[128];
  if (auth_list(data_dir, &v, &n, err, sizeof err) < 0) {
    fprintf(stderr, "parley token list: %s\n", err);
    return 1;
  }
  if (n == 0)
    fprintf(stderr, "parley token list: no tokens (parley token create --name NAME --scope SCOPE)\n");
  int w = 4;
  for (size_t i = 0; i < n; i++)
    w = (int)strlen(v[i].name) > w ? (int)strlen(v[i].name) : w;
  if (n)
    printf("%-*s  %-12s  %-20s  %s\n", w, "NAME", "ID", "CREATED", "SCOPES");
  for (size_t i = 0; i < n; i++) {
    auth_scopes_format(v[i].scopes, scopes, sizeof scopes);
    printf("%-*s  %-12s  %-20s  %s\n", w, v[i].name, v[i].id, v[i].created, scopes);
  }
  free(v);
  return 0;
}

static int revoke(const char *data_dir, const char *name)
{
  char id[AUTH_ID_LEN + 1], err[8192];
  if (auth_revoke(data_dir, name, id, err, sizeof err) < 0) {
    fprintf(stderr, "parley token revoke: %s\n", err);
    return 1;
  }
  printf("revoked token '%s' (id %s): refused from the daemon's next request on\n", name, id);
  return 0;
}

int token_main(int argc, char **argv)
{
  struct token_args a;
  char err[8192];
  int rc = parse(argc, argv, &a);
  if (rc)
    return rc;
  struct cfg *cfg = cfg_load(a.config, err, sizeof err);
  if (!cfg) {
    fprintf(stderr, "parley token: %s\n", err);
    return 1;
  }
  rc = a.action == CREATE ? create(cfg->data_dir, &a) : a.action == LIST ? list(cfg->data_dir)
                                                                         : revoke(cfg->data_dir, a.name);
  cfg_free(cfg);
  return rc;
}

/* parley: one binary for the daemon and its tools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

#include "admin.h"
#include "inspect.h"
#include "jtest.h"
#include "plugin/plugin_sign.h"
#include "serve.h"

static int usage(FILE *f)
{
  fprintf(f, "usage: parley <command> [options]\n"
             "\n"
             "commands:\n"
             "  serve [-c FILE]                  run the daemon (default: the embedded configuration)\n"
             "  check [-c FILE]                  load the configuration, journeys and plugins (not the\n"
             "                                   store), warn of channels journeys use that are not\n"
             "                                   configured, then exit\n"
             "  inspect CONTACT [-c FILE] [--json]\n"
             "                                   a contact: profile, conversations, history, outbox\n"
             "  inspect --dead [-c FILE] [--json]\n"
             "                                   every dead letter\n"
             "  replay MSG_ID [-c FILE]          ask the running daemon to deliver a dead letter again\n"
             "  send FILE|- [-c FILE]            post events (one JSON event or NDJSON) to the running daemon\n"
             "  backup DIR [-c FILE]             copy the store while the daemon serves; to start\n"
             "                                   from it, copy DIR to <data_dir>/store\n"
             "  keygen DIR                       make a plugin signing key pair in DIR\n"
             "  plugin sign FILE.so KEYFILE      sign a plugin (writes FILE.so.sig)\n"
             "  plugin verify FILE.so PUBKEY     check a plugin's signature\n"
             "  test [-c FILE] [TEST.lua ...]    run journey tests on a virtual clock (default:\n"
             "                                   every *_test.lua in the journeys folder's tests/)\n"
             "  version                          print the version\n"
             "  help                             this text\n");
  return f == stderr ? 2 : 0;
}

enum { ARG_JSON = 1, ARG_DEAD = 2 };

struct args {
  const char *config;
  const char *operand; /* CONTACT, MSG_ID or DIR */
  int json, dead;
};

/* Reads `-c FILE` / `--config FILE`, the flags allowed in `flags` and at most one operand;
 * returns -1 (explained) on anything else. */
static int parse_args(int argc, char **argv, int flags, int operands, struct args *a)
{
  memset(a, 0, sizeof *a);
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    if ((strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) && i + 1 < argc)
      a->config = argv[++i];
    else if ((flags & ARG_JSON) && strcmp(s, "--json") == 0)
      a->json = 1;
    else if ((flags & ARG_DEAD) && strcmp(s, "--dead") == 0)
      a->dead = 1;
    else if ((s[0] != '-' || strcmp(s, "-") == 0) && operands && !a->operand)
      a->operand = s;
    else {
      fprintf(stderr, "parley %s: unexpected %s '%s'\n", argv[1], s[0] == '-' ? "option" : "argument", s);
      return -1;
    }
  }
  return 0;
}

/* A command taking one operand: 0 with it, or 2 (explained) when it is missing. */
static int need_operand(const char *cmd, const struct args *a, const char *what)
{
  if (a->operand)
    return 0;
  fprintf(stderr, "parley %s: name the %s (parley help)\n", cmd, what);
  return 2;
}

static int run_inspect(int argc, char **argv)
{
  struct args a;
  if (parse_args(argc, argv, ARG_JSON | ARG_DEAD, 1, &a) < 0)
    return 2;
  if (!a.dead == !a.operand) {
    fprintf(stderr, "parley inspect: name a contact, or --dead for every dead letter\n");
    return 2;
  }
  struct inspect_options o = {a.config, a.operand, a.dead, a.json};
  return inspect_run(&o);
}

static int run_with_operand(int argc, char **argv)
{
  struct args a;
  const char *cmd = argv[1];
  if (parse_args(argc, argv, 0, 1, &a) < 0)
    return 2;
  if (strcmp(cmd, "send") == 0)
    return need_operand(cmd, &a, "file of events (- for stdin)") ? 2 : admin_send(a.config, a.operand);
  int replay = strcmp(cmd, "replay") == 0;
  if (need_operand(cmd, &a, replay ? "message id" : "backup folder"))
    return 2;
  return replay ? admin_replay(a.config, a.operand) : admin_backup(a.config, a.operand);
}

/* A public key given as hex, or as the path of a .pub file holding it. */
static int read_pubkey(const char *arg, plugin_pubkey pk)
{
  char hex[200] = "";
  FILE *f = strlen(arg) == 2 * crypto_sign_PUBLICKEYBYTES ? NULL : fopen(arg, "r");
  if (f) {
    if (!fgets(hex, sizeof hex, f))
      hex[0] = '\0';
    fclose(f);
    hex[strcspn(hex, "\r\n")] = '\0';
  } else {
    snprintf(hex, sizeof hex, "%s", arg);
  }
  return plugin_pubkey_parse(hex, pk);
}

/* parley keygen DIR | parley plugin sign FILE.so KEY | parley plugin verify FILE.so PUB */
static int run_signing(int argc, char **argv)
{
  char err[1024];
  if (strcmp(argv[1], "keygen") == 0) {
    if (argc != 3) {
      fprintf(stderr, "usage: parley keygen DIR\n");
      return 2;
    }
    if (plugin_keygen(argv[2], err, sizeof err) < 0) {
      fprintf(stderr, "parley keygen: %s\n", err);
      return 1;
    }
    printf("wrote %s/parley-plugin.key (secret: keep it off the servers) and %s/parley-plugin.pub\n",
           argv[2], argv[2]);
    return 0;
  }
  if (argc != 5 || (strcmp(argv[2], "sign") != 0 && strcmp(argv[2], "verify") != 0)) {
    fprintf(stderr, "usage: parley plugin sign FILE.so KEYFILE | parley plugin verify FILE.so PUBKEY\n");
    return 2;
  }
  if (argv[2][0] == 's') {
    if (plugin_sign_file(argv[3], argv[4], err, sizeof err) < 0) {
      fprintf(stderr, "parley plugin sign: %s\n", err);
      return 1;
    }
    printf("wrote %s.sig\n", argv[3]);
    return 0;
  }
  plugin_pubkey pk;
  if (read_pubkey(argv[4], pk) < 0) {
    fprintf(stderr, "parley plugin verify: %s: not a public key (64 hex digits, or a .pub file)\n", argv[4]);
    return 2;
  }
  if (plugin_verify_file(argv[3], (const plugin_pubkey *)&pk, 1, err, sizeof err) < 0) {
    fprintf(stderr, "parley plugin verify: %s: %s\n", argv[3], err);
    return 1;
  }
  printf("%s: good signature\n", argv[3]);
  return 0;
}

/* parley test [-c FILE] [TEST.lua ...] */
static int run_tests(int argc, char **argv)
{
  const char *config = NULL;
  char **files = calloc((size_t)argc, sizeof *files);
  size_t n = 0;
  for (int i = 2; i < argc; i++) {
    if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
      config = argv[++i];
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "parley test: unexpected option '%s'\n", argv[i]);
      free(files);
      return 2;
    } else {
      files[n++] = argv[i];
    }
  }
  int rc = jtest_run(config, files, n);
  free(files);
  return rc;
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return usage(stderr);
  const char *cmd = argv[1];
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
    return usage(stdout);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("parley %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, PARLEY_ABI_MAJOR, PARLEY_ABI_MINOR);
    return 0;
  }
  if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "check") == 0) {
    struct args a;
    if (parse_args(argc, argv, 0, 0, &a) < 0)
      return 2;
    return cmd[0] == 's' ? serve_run(a.config) : serve_check(a.config);
  }
  if (strcmp(cmd, "inspect") == 0)
    return run_inspect(argc, argv);
  if (strcmp(cmd, "test") == 0)
    return run_tests(argc, argv);
  if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "plugin") == 0)
    return run_signing(argc, argv);
  if (strcmp(cmd, "replay") == 0 || strcmp(cmd, "backup") == 0 || strcmp(cmd, "send") == 0)
    return run_with_operand(argc, argv);
  fprintf(stderr, "parley: unknown command '%s'\n", cmd);
  return usage(stderr);
}

/* parley: one binary for the daemon and its tools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

#include "admin.h"
#include "inspect.h"
#include "jtest.h"
#include "plugin/plugin_sign.h"
#include "plugin_try.h"
#include "serve.h"
#include "stats_cmd.h"
#include "timestamp.h"
#include "token.h"

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
             "  stats [JOURNEY] [--from T] [--to T] [-c FILE] [--json]\n"
             "                                   a journey's stats: steps, channels, experiment arms,\n"
             "                                   attribution (without JOURNEY: a line per journey)\n"
             "  replay MSG_ID [-c FILE]          ask the running daemon to deliver a dead letter again\n"
             "  send FILE|- [-c FILE]            post events (one JSON event or NDJSON) to the running daemon\n"
             "  erase CONTACT [-c FILE]          ask the running daemon to erase a contact and all it holds of it\n"
             "  backup DIR [-c FILE]             copy the store while the daemon serves; to start\n"
             "                                   from it, copy DIR to <data_dir>/store\n"
             "  token create --name NAME --scope SCOPE[,SCOPE] [-c FILE]\n"
             "                                   make an API token (printed once)\n"
             "  token list [-c FILE]             the API tokens: name, id, scopes, created\n"
             "  token revoke NAME [-c FILE]      revoke an API token (from the next request on)\n"
             "  keygen DIR                       make a plugin signing key pair in DIR\n"
             "  plugin sign FILE.so KEYFILE      sign a plugin (writes FILE.so.sig)\n"
             "  plugin verify FILE.so PUBKEY     check a plugin's signature\n"
             "  plugin try PLUGIN --to ADDRESS [--channel NAME] [--set KEY=VALUE ...] [-c FILE]\n"
             "                                   run one plugin instance without the daemon, send it\n"
             "                                   one message, print the outcome and its events\n"
             "  test [-c FILE] [--journeys DIR] [TEST.lua ...]\n"
             "                                   run journey tests on a virtual clock (default:\n"
             "                                   every *_test.lua in the journeys folder's tests/)\n"
             "  version                          print the version\n"
             "  help                             this text\n"
             "\n"
             "parley COMMAND --help explains one command.\n");
  return f == stderr ? 2 : 0;
}

/* `parley COMMAND --help`: what one command does, its operands and options. */
static const struct {
  const char *cmd, *text;
} command_help[] = {
    {"serve", "usage: parley serve [-c FILE]\n\n"
              "Run the daemon: the HTTP API, the journeys and the channels' plugins. SIGINT or\n"
              "SIGTERM stop it cleanly; SIGHUP loads the journeys again.\n\n"
              "  -c, --config FILE  the configuration (default: the embedded one, the demo)\n"},
    {"check", "usage: parley check [-c FILE]\n\n"
              "Load the configuration, the journeys and the plugins (never the store), say what\n"
              "is wrong, and exit: 0 when everything loads.\n\n"
              "  -c, --config FILE  the configuration (default: the embedded one)\n"},
    {"inspect", "usage: parley inspect CONTACT [-c FILE] [--json]\n"
                "       parley inspect --dead [-c FILE] [--json]\n\n"
                "A contact: profile, every conversation (journey and version, step, memory, what it\n"
                "listens for, deadline, status, error), history and its messages in the outbox.\n"
                "With --dead: every dead letter, with attempts and last error. Works beside a\n"
                "running daemon (a read-only reader of the store).\n\n"
                "  -c, --config FILE  the configuration (default: the embedded one)\n"
                "  --json             one JSON document instead of text\n"},
    {"stats", "usage: parley stats [JOURNEY] [--from TIME] [--to TIME] [-c FILE] [--json]\n\n"
              "A journey's stats, read from the store beside a running daemon: per step entered,\n"
              "spoken, refused (by reason), waiting now, timed out and converted; per channel\n"
              "sent, delivered, failed, clicked, replied and unsubscribed; per experiment arm\n"
              "assigned, converted and the conversion rate; the conversions credited to its\n"
              "messages, last touch and linear. Counted in hourly buckets: --from and --to\n"
              "(RFC 3339, such as 2026-11-18T09:00:00Z) choose the hours. Without JOURNEY, one\n"
              "line per journey. --json prints what GET /v1/journeys/{name}/stats answers.\n\n"
              "Exit status: 0 shown, 1 no stats for that journey or the store cannot be read,\n"
              "2 on a usage error.\n"},
    {"replay", "usage: parley replay MSG_ID [-c FILE]\n\n"
               "Ask the running daemon to deliver a dead letter again, with the same id.\n"
               "PARLEY_TOKEN, when set, is sent as the API token (scope admin).\n\n"
               "  -c, --config FILE  the configuration (default: the embedded one)\n"},
    {"send", "usage: parley send FILE|- [-c FILE]\n\n"
             "Post events to the running daemon: one JSON event, or NDJSON (one per line); - reads\n"
             "stdin. All or nothing; prints the daemon's answer. PARLEY_TOKEN, when set, is sent\n"
             "as the API token (scope events:write).\n\n"
             "  -c, --config FILE  the configuration (default: the embedded one)\n"},
    {"erase", "usage: parley erase CONTACT [-c FILE]\n\n"
              "Ask the running daemon to erase a contact: its profile, every conversation, its\n"
              "history and its messages, queued or dead-lettered. It cannot be undone; an event\n"
              "for the same id later starts a new contact. CONTACT is the id as events give it\n"
              "(it is percent-encoded for the request); put -- before an id that starts with -.\n"
              "PARLEY_TOKEN, when set, is sent as the API token (scope contacts:write).\n\n"
              "  -c, --config FILE  the configuration (default: the embedded one)\n\n"
              "Exit status: 0 erased, 1 no such contact or the daemon failed, 2 on a usage error.\n"},
    {"backup", "usage: parley backup DIR [-c FILE]\n\n"
               "A consistent, compacted copy of the store, taken while the daemon serves. To\n"
               "start from it, copy DIR to <data_dir>/store.\n\n"
               "  -c, --config FILE  the configuration (default: the embedded one)\n"},
    {"test", "usage: parley test [-c FILE] [--journeys DIR] [TEST.lua ...]\n\n"
             "Run journey tests on a virtual clock: days pass in microseconds and nothing is\n"
             "sent. Without TEST.lua files: every *_test.lua in the journeys folder's tests/.\n\n"
             "Each test file runs against the journeys beside it:\n"
             "  - in a tests/ folder whose parent holds journeys (*.lua): that parent;\n"
             "  - else its own folder, when it holds journeys (*.lua other than *_test.lua);\n"
             "  - else the configuration's journeys_dir.\n"
             "A line \"# journeys: DIR\" says which folder was loaded.\n\n"
             "  -c, --config FILE  the configuration: channels, limits, sdk_dir (default: the\n"
             "                     embedded one)\n"
             "  --journeys DIR     test the journeys in DIR, wherever the test files are\n\n"
             "Exit status: 0 when every test passed, 1 when one failed, 2 on a usage error.\n"},
    {"token", token_usage},
    {"keygen", "usage: parley keygen DIR\n\n"
               "Make an Ed25519 key pair for signing plugins: DIR/parley-plugin.key (secret: keep\n"
               "it off the servers) and DIR/parley-plugin.pub.\n"},
    {"plugin", "usage: parley plugin sign FILE.so KEYFILE\n"
               "       parley plugin verify FILE.so PUBKEY\n"
               "       parley plugin try PLUGIN --to ADDRESS [options] (parley plugin try --help)\n\n"
               "sign writes FILE.so.sig with the secret key of parley keygen; verify checks that\n"
               "signature (PUBKEY: 64 hex digits, or the .pub file). With plugin_keys in the\n"
               "configuration, only plugins signed by one of those keys load. try runs one\n"
               "instance of a plugin on its own and sends it one message.\n"},
    {"version", "usage: parley version\n\nPrint the version and the plugin ABI.\n"},
    {"help", "usage: parley help\n\nList the commands; parley COMMAND --help explains one.\n"},
};

/* Does any argument after the command ask for help? */
static int wants_help(int argc, char **argv)
{
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return 1;
  return 0;
}

/* Prints the command's help on `f`: 0, or -1 when the command is unknown. */
static int command_usage_to(FILE *f, const char *cmd)
{
  for (size_t i = 0; i < sizeof command_help / sizeof command_help[0]; i++) {
    if (strcmp(command_help[i].cmd, cmd) == 0) {
      fputs(command_help[i].text, f);
      return 0;
    }
  }
  return -1;
}

static int command_usage(const char *cmd)
{
  return command_usage_to(stdout, cmd);
}

/* A command line it cannot take: what is wrong, then the command's usage, exit status 2. */
static int misuse(const char *cmd)
{
  fputc('\n', stderr);
  command_usage_to(stderr, cmd);
  return 2;
}

enum { ARG_JSON = 1, ARG_DEAD = 2 };

struct args {
  const char *config;
  const char *operand; /* CONTACT, MSG_ID or DIR */
  int json, dead;
};

/* Reads `-c FILE` / `--config FILE`, the flags allowed in `flags` and at most one operand
 * (after `--`, an argument is an operand even when it starts with '-'); returns -1
 * (explained) on anything else. */
static int parse_args(int argc, char **argv, int flags, int operands, struct args *a)
{
  memset(a, 0, sizeof *a);
  int options = 1; /* until `--` */
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    int operand = (!options || s[0] != '-' || strcmp(s, "-") == 0) && operands && !a->operand;
    if (options && strcmp(s, "--") == 0)
      options = 0;
    else if (options && (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) && i + 1 < argc)
      a->config = argv[++i];
    else if (options && (flags & ARG_JSON) && strcmp(s, "--json") == 0)
      a->json = 1;
    else if (options && (flags & ARG_DEAD) && strcmp(s, "--dead") == 0)
      a->dead = 1;
    else if (operand)
      a->operand = s;
    else {
      fprintf(stderr, "parley %s: unexpected %s '%s'\n", argv[1], s[0] == '-' ? "option" : "argument", s);
      misuse(argv[1]);
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

/* `parley stats`: parse_args's options, and --from / --to with their times. */
static int run_stats(int argc, char **argv)
{
  struct stats_cmd_options o = {0};
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int n = 0;
  for (int i = 0; rest && i < argc; i++) {
    int from = strcmp(argv[i], "--from") == 0, to = strcmp(argv[i], "--to") == 0;
    if (i < 2 || (!from && !to)) {
      rest[n++] = argv[i];
      continue;
    }
    if (i + 1 >= argc || timestamp_parse(argv[i + 1], from ? &o.from_ms : &o.to_ms) < 0) {
      fprintf(stderr, "parley stats: %s takes an RFC 3339 time, such as 2026-11-18T09:00:00Z\n", argv[i]);
      free(rest);
      return misuse("stats");
    }
    i++;
  }
  struct args a;
  int bad = !rest || parse_args(n, rest, ARG_JSON, 1, &a) < 0;
  free(rest);
  if (bad)
    return 2;
  if (o.from_ms && o.to_ms && o.to_ms <= o.from_ms) {
    fprintf(stderr, "parley stats: --to must be later than --from\n");
    return misuse("stats");
  }
  o.config_path = a.config;
  o.journey = a.operand;
  o.json = a.json;
  return stats_cmd_run(&o);
}

static int run_with_operand(int argc, char **argv)
{
  struct args a;
  const char *cmd = argv[1];
  if (parse_args(argc, argv, 0, 1, &a) < 0)
    return 2;
  if (strcmp(cmd, "send") == 0)
    return need_operand(cmd, &a, "file of events (- for stdin)") ? 2 : admin_send(a.config, a.operand);
  if (strcmp(cmd, "erase") == 0)
    return need_operand(cmd, &a, "contact") ? 2 : admin_erase(a.config, a.operand);
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
    if (argc != 3 || argv[2][0] == '-') { /* an unknown option is not a folder name */
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
  if (argc != 5 || (strcmp(argv[2], "sign") != 0 && strcmp(argv[2], "verify") != 0) ||
      argv[3][0] == '-' || argv[4][0] == '-') {
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

/* parley test [-c FILE] [--journeys DIR] [TEST.lua ...] */
static int run_tests(int argc, char **argv)
{
  struct jtest_options o = {0};
  o.files = calloc((size_t)argc, sizeof *o.files);
  for (int i = 2; i < argc; i++) {
    if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
      o.config_path = argv[++i];
    } else if (strcmp(argv[i], "--journeys") == 0 && i + 1 < argc) {
      o.journeys_dir = argv[++i];
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "parley test: unexpected option '%s'\n", argv[i]);
      free(o.files);
      return misuse("test");
    } else {
      o.files[o.n_files++] = argv[i];
    }
  }
  int rc = jtest_run(&o);
  free(o.files);
  return rc;
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return usage(stderr);
  const char *cmd = argv[1];
  if (strcmp(cmd, "plugin") == 0 && argc > 2 && strcmp(argv[2], "try") == 0) {
    if (wants_help(argc, argv)) {
      fputs(plugin_try_usage, stdout);
      return 0;
    }
    return plugin_try_main(argc - 2, argv + 2);
  }
  if (wants_help(argc, argv) && command_usage(cmd) == 0)
    return 0;
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
    return usage(stdout);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    if (argc > 2) {
      fprintf(stderr, "usage: parley version\n");
      return 2;
    }
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
  if (strcmp(cmd, "stats") == 0)
    return run_stats(argc, argv);
  if (strcmp(cmd, "token") == 0)
    return token_main(argc, argv);
  if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "plugin") == 0)
    return run_signing(argc, argv);
  if (strcmp(cmd, "replay") == 0 || strcmp(cmd, "backup") == 0 || strcmp(cmd, "send") == 0 ||
      strcmp(cmd, "erase") == 0)
    return run_with_operand(argc, argv);
  fprintf(stderr, "parley: unknown command '%s'\n", cmd);
  return usage(stderr);
}

/* parley: one binary for the daemon and its tools. */
#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

#include "serve.h"

static int usage(FILE *f)
{
  fprintf(f, "usage: parley <command> [options]\n"
             "\n"
             "commands:\n"
             "  serve [-c FILE]   run the daemon (default: the embedded configuration)\n"
             "  check [-c FILE]   load the configuration, journeys and plugins, then exit\n"
             "  version           print the version\n"
             "  help              this text\n");
  return f == stderr ? 2 : 0;
}

/* Reads `-c FILE` / `--config FILE`; returns -1 on an unknown option. */
static int parse_config_opt(int argc, char **argv, const char **config)
{
  for (int i = 2; i < argc; i++) {
    if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
      *config = argv[++i];
      continue;
    }
    fprintf(stderr, "parley %s: unknown option '%s'\n", argv[1], argv[i]);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return usage(stderr);
  const char *cmd = argv[1], *config = NULL;
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
    return usage(stdout);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("parley %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, PARLEY_ABI_MAJOR, PARLEY_ABI_MINOR);
    return 0;
  }
  if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "check") == 0) {
    if (parse_config_opt(argc, argv, &config) < 0)
      return 2;
    return cmd[0] == 's' ? serve_run(config) : serve_check(config);
  }
  fprintf(stderr, "parley: unknown command '%s'\n", cmd);
  return usage(stderr);
}

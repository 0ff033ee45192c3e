/* `parley serve` and `parley check`: the daemon's life cycle around the core. */
#ifndef PARLEY_SERVE_H
#define PARLEY_SERVE_H

/* Runs until SIGINT or SIGTERM. Returns the process exit code. */
int serve_run(const char *config_path);
/* Loads config, journeys and plugins, reports, and exits. */
int serve_check(const char *config_path);

#endif

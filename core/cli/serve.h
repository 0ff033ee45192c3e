/* `parley serve` and `parley check`: the daemon's life cycle around the core. */
#ifndef PARLEY_SERVE_H
#define PARLEY_SERVE_H

/* Runs until SIGINT or SIGTERM. Returns the process exit code. */
int serve_run(const char *config_path);
/* Loads config, journeys and plugins, warns of each channel a journey names in c:speak or
 * c:can_speak that the config does not define, and reports. Returns the exit code: 1 when
 * something was refused, else 0 (warnings included). */
int serve_check(const char *config_path);

#endif

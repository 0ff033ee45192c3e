/* What the channels' integration tests share beyond the daemon (harness.h): a test
 * server of tests/ (smtp_sink.py, sms_provider.py) started on loopback and stopped, a
 * server's log waited on, a secret written to a file for the configuration to read, an event that makes the
 * journey "say" speak, and the contact's history waited on. */
#ifndef PARLEY_TEST_FIXTURE_H
#define PARLEY_TEST_FIXTURE_H
#include <sys/types.h>

#include "harness.h"

/* A test server: the script's log (its first argument), the port it printed, its pid. */
struct fx_server {
  char log[160];
  int port;
  pid_t pid;
};

/* Starts /usr/bin/python3 tests/`script` with s->log and `arg` (NULL: none) and reads
 * the port it prints on its first line. 0, or -1 (s->port is then 0). */
int fx_server_start(struct fx_server *s, const char *script, const char *arg);
/* SIGTERM and wait; nothing when it is not running. */
void fx_server_stop(struct fx_server *s);
/* The lines of a test server's JSON-lines log that `keep` keeps (1), parsed, in order,
 * waiting up to `ms` (polling every 50 ms) for at least `n`: the array, never NULL. */
cJSON *fx_lines_wait(const char *path, int (*keep)(const cJSON *line, const void *arg), const void *arg, int n,
                     long ms);
/* `text` and a newline into `path`. 0, or -1. */
int fx_write_file(const char *path, const char *text);
/* 1 when the contact's view holds `needle`, waiting up to `ms` for it; else 0. */
int fx_history_says(const struct daemon *d, const char *contact, const char *needle, long ms);
/* The journey "say" speaks `text` to `contact` at `phone`; the event's id is `id`. */
void fx_say_as(const struct daemon *d, const char *id, const char *contact, const char *phone, const char *text);
/* The same with the id "say-<contact>". */
void fx_say(const struct daemon *d, const char *contact, const char *phone, const char *text);

#endif

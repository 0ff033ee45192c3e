/* Integration test harness: run the real `parley serve` on a free loopback port with a
 * generated configuration, talk to it over HTTP (libcurl), read what the `file` plugin
 * spoke, stop it with a signal and check how it exited. */
#ifndef PARLEY_TEST_HARNESS_H
#define PARLEY_TEST_HARNESS_H
#include <cJSON.h>
#include <stdint.h>
#include <sys/types.h>

struct daemon {
  char dir[64];
  char conf[128], spoken[128], log[128];
  int port;
  pid_t pid;
  char journeys[256]; /* the journeys folder; empty: the shipped ones */
};

/* A fresh temporary folder and port. */
void h_init(struct daemon *d);
/* Writes the configuration: the common part (listen, data under the folder, build-tree
 * plugins, d->journeys or the shipped journeys, small limits) plus `extra`, more Lua table fields, which may
 * use the local `spoken` (the path the file plugin should write to). */
void h_write_config(struct daemon *d, const char *extra);
/* Starts the daemon and waits for /healthz. Returns 0, or -1 (its log is printed). */
int h_start(struct daemon *d);
/* Sends `sig` and waits. Returns the exit code (128 + signal when killed). */
int h_stop(struct daemon *d, int sig);
/* cmocka set-up: init, write the configuration with `extra`, start. */
int h_setup(struct daemon *d, const char *extra);
/* cmocka tear-down: SIGTERM must end the daemon with status 0, which under the sanitizers
 * also means no leak and no error report; then the folder is removed. */
int h_teardown(struct daemon *d);
/* Removes the temporary folder. */
void h_cleanup(struct daemon *d);
void h_dump_log(const struct daemon *d);

void h_sleep_ms(long ms);
/* One request; returns the status (0: no connection), the body in *out (may be NULL). */
long h_http(const struct daemon *d, const char *method, const char *path, const char *body,
            const char *ctype, char **out);
/* The same with `Authorization: Bearer token` (token NULL: none). */
long h_http_as(const struct daemon *d, const char *token, const char *method, const char *path,
               const char *body, const char *ctype, char **out);
/* POST /v1/events expecting `want_status`; returns the parsed answer. */
cJSON *h_post(const struct daemon *d, const char *body, long want_status);
double h_num(cJSON *doc, const char *name);
/* A time field of a view: RFC 3339 text in UTC to the millisecond (fails the test
 * otherwise), as milliseconds since the epoch. */
int64_t h_time(cJSON *doc, const char *name);
/* Messages the file plugin wrote for `contact`, in order. */
cJSON *h_spoken_to(const struct daemon *d, const char *contact);
/* The same, waiting up to `ms` for at least `n`. */
cJSON *h_wait_spoken(const struct daemon *d, const char *contact, int n, long ms);
const char *h_str(cJSON *arr, int i, const char *name);
cJSON *h_get_contact(const struct daemon *d, const char *id, long *status);
/* The contact's first conversation (asserts there is one). */
cJSON *h_first_conv(const struct daemon *d, const char *id);

/* Raw connections, for what a well-behaved client would never send. h_connect returns a
 * connected socket from source address `from` (NULL: any; "127.0.0.2" is another client
 * on loopback), or -1. h_raw_read reads until the server closes or `ms` pass; returns
 * what came (malloc'd, NUL-terminated). */
int h_connect(const struct daemon *d, const char *from);
char *h_raw_read(int fd, long ms);
/* Sends `req` on a new connection, reads the answer as h_raw_read does, closes. */
char *h_raw(const struct daemon *d, const char *req, size_t len, long ms);
/* The status of a raw answer ("HTTP/1.1 404 ..."), or 0. */
int h_raw_status(const char *answer);
/* The JSON body of a raw answer's first response (after the blank line), parsed. */
cJSON *h_raw_json(const char *answer);
/* Milliseconds on the monotonic clock. */
long h_now_ms(void);

#endif

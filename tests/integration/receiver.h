/* The Standard Webhooks receiver of the tests (tests/webhook_receiver.py), started on
 * loopback once per test binary: it verifies each request's signature and answers as the
 * request asks (see the script), noting every request in a JSON-lines log. */
#ifndef PARLEY_TEST_RECEIVER_H
#define PARLEY_TEST_RECEIVER_H
#include <cJSON.h>
#include <sys/types.h>

/* The secret the receiver verifies with, for the channel's `secret`. */
#define RECEIVER_SECRET "whsec_cGFybGV5LXdlYmhvb2stdGVzdC1zZWNyZXQtMzItYnk="

struct receiver {
  char log[128];
  int port;
  pid_t pid;
};

/* Starts it with its log in `dir`. 0, or -1. */
int receiver_start(struct receiver *r, const char *dir);
void receiver_stop(struct receiver *r);
/* Every request it saw for the message `id`, oldest first (a JSON array, never NULL). */
cJSON *receiver_seen(const struct receiver *r, const char *id);
/* The same for contact `contact`, waiting up to `ms` for at least `n`. */
cJSON *receiver_wait(const struct receiver *r, const char *contact, int n, long ms);

#endif

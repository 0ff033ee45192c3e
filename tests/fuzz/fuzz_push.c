/* libFuzzer target: what the push channel reads from outside (plugins/push): FCM's answer
 * to a message (push_fcm.c) and APNs's (push_apns.c), whatever their status and body.
 * Byte 0 picks the status (from a list of those the providers use, and some they do not);
 * the rest is the body, split at the first NUL from a Retry-After value. Invariants: the
 * outcome is one of the five, a message taken carries no error code, a dead token or a
 * refusal never carries a wait, every text is terminated within its buffer. Aborts
 * otherwise. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "push.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void holds(const struct push_answer *a)
{
  if (a->outcome < PUSH_SENT || a->outcome > PUSH_AUTH)
    abort();
  if (memchr(a->code, '\0', sizeof a->code) == NULL || memchr(a->id, '\0', sizeof a->id) == NULL ||
      memchr(a->detail, '\0', sizeof a->detail) == NULL)
    abort();
  if (a->outcome == PUSH_SENT && a->code[0])
    abort();
  if ((a->outcome == PUSH_BAD_TOKEN || a->outcome == PUSH_REJECTED) && a->retry_after_ms)
    abort();
  if (a->retry_after_ms > 999999u * 1000u)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 410, 413, 429, 500, 502, 503, 0, 302, 999};
  if (size < 1)
    return 0;
  int status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
  char *buf = malloc(size);
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = '\0';
  size_t body_len = strlen(buf);
  const char *retry = body_len < size - 1 ? buf + body_len + 1 : NULL; /* after the first NUL */
  struct push_answer a;
  push_fcm_answer(status, buf, body_len, retry, &a);
  holds(&a);
  push_apns_answer(status, buf, body_len, retry, retry, &a);
  holds(&a);
  free(buf);
  return 0;
}

/* libFuzzer target: request bodies of POST /v1/events (one JSON event or NDJSON). Any
 * input must be accepted whole or refused with a message; never a crash, a leak, or a
 * half-made batch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const struct event_limits lim = {4096, 64};
  struct event *evs = NULL;
  size_t n = 0, line = 0;
  char err[512];
  if (event_parse_body((const char *)data, size, &lim, &evs, &n, &line, err, sizeof err) == 0) {
    if (n == 0 || n > lim.max_batch_events)
      abort();
    for (size_t i = 0; i < n; i++)
      if (!evs[i].type || !evs[i].contact)
        abort();
    event_free_array(evs, n);
  } else if (evs != NULL || err[0] == '\0') {
    abort(); /* a refusal names the problem and leaves nothing behind */
  }
  return 0;
}

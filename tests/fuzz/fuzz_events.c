/* libFuzzer target: request bodies of POST /v1/events (one JSON event or NDJSON). Any
 * input must be accepted whole or refused with a message; never a crash, a leak, or a
 * half-made batch. What is accepted holds ids fit to be keys (UTF-8, no control
 * character), a time (when given) from 2000-01-01 to a day past the receiver's clock, and
 * every string of it prints as UTF-8 JSON. The same bytes are also read as a profile sent
 * alone (PUT and PATCH /v1/contacts/{id}): what is accepted, applied as a merge patch,
 * makes a profile an event could have set, with no null member, that prints as UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "event.h"
#include "profile.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1800000000000LL /* 2027-01-15 */

static int time_in_range(int64_t ms)
{
  return ms == 0 || (ms >= 946684800000LL && ms <= NOW_MS + 24 * 3600 * 1000LL);
}

static int fit_id(const char *s)
{
  return !s || (*s && text_utf8_ok(s, strlen(s)) && !text_has_control(s, strlen(s)));
}

static int prints_as_utf8(const struct event *ev)
{
  cJSON *j = event_to_json(ev);
  char *text = cJSON_PrintUnformatted(j);
  int ok = text && text_utf8_ok(text, strlen(text));
  cJSON_free(text);
  cJSON_Delete(j);
  return ok;
}

/* After a merge patch no member of an object the patch reached is null. An array is a
 * value the patch puts whole (RFC 7396), so what lies inside one is left as sent. */
static int no_null_member(const cJSON *v)
{
  for (const cJSON *c = v->child; c; c = c->next)
    if (cJSON_IsNull(c) || (cJSON_IsObject(c) && !no_null_member(c)))
      return 0;
  return 1;
}

static void profile_document(const uint8_t *data, size_t size)
{
  cJSON *doc;
  char err[512];
  if (event_parse_profile((const char *)data, size, &doc, err, sizeof err) < 0) {
    if (doc || err[0] == '\0' || !text_utf8_ok(err, strlen(err)))
      abort();
    return;
  }
  cJSON *p = cJSON_CreateObject();
  /* PUT (onto nothing), then PATCH (the same again, onto what PUT made) */
  for (int round = 0; round < 2; round++)
    if (profile_merge_patch(p, doc) < 0 || profile_check(p, err, sizeof err) < 0 || !no_null_member(p))
      abort();
  char *text = cJSON_PrintUnformatted(p);
  if (!text || !text_utf8_ok(text, strlen(text)))
    abort();
  cJSON_free(text);
  cJSON_Delete(p);
  cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  profile_document(data, size);
  static const struct event_limits lim = {4096, 64, NOW_MS};
  struct event *evs = NULL;
  size_t n = 0, line = 0;
  char err[512];
  if (event_parse_body((const char *)data, size, &lim, &evs, &n, &line, err, sizeof err) == 0) {
    if (n == 0 || n > lim.max_batch_events)
      abort();
    for (size_t i = 0; i < n; i++)
      if (!evs[i].type || !evs[i].contact || !fit_id(evs[i].contact) || !fit_id(evs[i].id) ||
          !time_in_range(evs[i].time_ms) || !prints_as_utf8(&evs[i]))
        abort();
    event_free_array(evs, n);
  } else if (evs != NULL || err[0] == '\0' || !text_utf8_ok(err, strlen(err))) {
    abort(); /* a refusal names the problem, in UTF-8, and leaves nothing behind */
  }
  return 0;
}

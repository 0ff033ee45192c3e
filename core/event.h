/* Events: what the customer did, as posted to POST /v1/events or emitted by a plugin.
 *   {"id": "evt-1", "type": "cart.updated", "contact": "c42",
 *    "time": 1795000000.5, "data": {...}, "profile": {...}}
 * `type` and `contact` are required; `id` (idempotency key) is strongly advised; `time` is
 * epoch seconds or RFC 3339 text ("2026-11-18T09:30:00Z"), from 2000-01-01 to a day past
 * the receiver's clock (default: when received); `data` is the event's payload; `profile` holds
 * contact attributes to set (email, phone, first_name, consent...). Any other field is
 * refused, so a typo never silently drops data. Every string and key in an event is UTF-8
 * with no NUL, and keys have no control character: what is accepted prints back as JSON
 * unchanged. Refusals name the field ("field 'data.items[2]' is not valid UTF-8"). */
#ifndef PARLEY_EVENT_H
#define PARLEY_EVENT_H
#include <stddef.h>
#include <stdint.h>

typedef struct cJSON cJSON;

struct event {
  char *id; /* NULL when the sender gave none (then it is never de-duplicated) */
  char *type;
  char *contact;
  int64_t time_ms; /* 0: not given */
  cJSON *data;     /* object or NULL */
  cJSON *profile;  /* object or NULL */
};

struct event_limits {
  size_t max_event_bytes;
  size_t max_batch_events;
  int64_t now_ms; /* the receiver's clock, which bounds `time` */
};

/* NULL when `s` (len bytes) can be a contact's id, else why not ("is not valid UTF-8"): 1-256
 * bytes of UTF-8 with no control character, neither "." nor "..". The same rule serves
 * GET /v1/contacts/{id}, so an id an event was accepted with can always be read back. */
const char *event_contact_problem(const char *s, size_t len);
/* Validate one parsed JSON value as an event received at now_ms (the receiver's clock);
 * `data` and `profile` are moved out of obj. */
int event_from_json(cJSON *obj, int64_t now_ms, struct event *ev, char *err, size_t errlen);
/* Parse one event from JSON text, received at now_ms. */
int event_parse(const char *json, size_t len, int64_t now_ms, struct event *ev, char *err,
                size_t errlen);
/* Parse a request body: one JSON object (on one line or several), or NDJSON (one object
 * per line, blank lines skipped). All or nothing: on error returns -1, frees what it made,
 * sets err and, for NDJSON, *bad_line (1-based; 0 for a single document). */
int event_parse_body(const char *body, size_t len, const struct event_limits *lim,
                     struct event **evs, size_t *n, size_t *bad_line, char *err, size_t errlen);
/* Parse a contact's profile sent on its own (PUT and PATCH /v1/contacts/{id}): one JSON
 * object, checked exactly as an event's `profile` is (every string and key as above, the
 * typed attributes of profile.h), refusals naming the field as they do there ("field
 * 'profile.email' must be a string"). Returns 0 and *out (the caller deletes it), or -1
 * with err and *out NULL. */
int event_parse_profile(const char *json, size_t len, cJSON **out, char *err, size_t errlen);
void event_clear(struct event *ev);
void event_free_array(struct event *evs, size_t n);
/* The event as JSON (for emit and logs). */
cJSON *event_to_json(const struct event *ev);

#endif

/* Parsing and validating events. Everything a journey or the store will rely on is checked
 * here, once, so the state machine can trust an event. */
#include "event.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "text.h"
#include "timestamp.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

#define EVENT_MAX_ID 128
#define EVENT_MAX_TYPE 128
#define EVENT_MAX_CONTACT 256
#define EVENT_MAX_KEY 128
#define EVENT_TIME_MIN_MS 946684800000LL /* 2000-01-01T00:00:00Z */
#define EVENT_TIME_AHEAD_MS (24 * 3600 * 1000LL)

/* Event types are dotted names ("email.clicked"): they appear in journeys and metrics. */
static const char *type_problem(const char *s, size_t len)
{
  if (!len)
    return "has a bad value (empty, or characters not allowed)";
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '.' || *p == '_' || *p == '-' || *p == ':'))
      return "has a bad value (empty, or characters not allowed)";
  return NULL;
}

/* Ids are UTF-8 text with no control characters: they end up in logs and store keys. */
static const char *id_problem(const char *s, size_t len)
{
  if (!len)
    return "is empty";
  if (!text_utf8_ok(s, len))
    return "is not valid UTF-8";
  if (text_has_control(s, len))
    return "holds a control character";
  return NULL;
}

const char *event_contact_problem(const char *s, size_t len)
{
  if (len > EVENT_MAX_CONTACT)
    return "is longer than " STRINGIFY(EVENT_MAX_CONTACT) " bytes";
  /* "." and ".." would be taken for path segments by HTTP clients, and never read back */
  if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
    return "cannot be '.' or '..'";
  return id_problem(s, len);
}

static int take_string(const cJSON *item, const char *field, size_t max,
                       const char *(*problem)(const char *, size_t), char **out, char *err, size_t errlen)
{
  if (*out) {
    snprintf(err, errlen, "field '%s' is given twice", field);
    return -1;
  }
  if (!cJSON_IsString(item)) {
    snprintf(err, errlen, "field '%s' must be a string", field);
    return -1;
  }
  size_t len = strlen(item->valuestring);
  if (len > max) {
    snprintf(err, errlen, "field '%s' is longer than %zu bytes", field, max);
    return -1;
  }
  const char *why = problem(item->valuestring, len);
  if (why) {
    snprintf(err, errlen, "field '%s' %s", field, why);
    return -1;
  }
  *out = strdup(item->valuestring);
  return 0;
}

/* A walk of every string in the event, keys included, before any field is read: each
 * must be UTF-8 (it comes back out as JSON), hold no NUL (a C string would end there),
 * and each key must be a sane name. `path` names where the walk is ("data.items[2]") for
 * messages. */
struct walk {
  char path[160];
  long nul_string; /* the string holding a NUL (text_json_nul_string); -1: none */
  long seen;       /* strings met so far, in document order */
  char *err;
  size_t errlen;
};

/* Every value of every event passes here, and its path is only read when one is refused:
 * a key that fits is copied, not formatted (snprintf was a tenth of parsing an event). */
static size_t walk_push(struct walk *w, const char *key, int index)
{
  size_t old = strlen(w->path), room = sizeof w->path - old, dot = old > 0;
  size_t n = key ? strlen(key) : 0;
  if (key && dot + n < room) {
    w->path[old] = '.';
    memcpy(w->path + old + dot, key, n + 1);
  } else if (key)
    snprintf(w->path + old, room, "%s%.*s", dot ? "." : "", text_clip(key, room > 2 ? room - 2 : 0), key);
  else
    snprintf(w->path + old, room, "[%d]", index);
  return old;
}

static int walk_fail_key(struct walk *w, const char *why)
{
  if (w->path[0])
    snprintf(w->err, w->errlen, "field '%s' has a key %s", w->path, why);
  else
    snprintf(w->err, w->errlen, "the event has a key %s", why);
  return -1;
}

static int walk_key(struct walk *w, const char *key)
{
  size_t len = strlen(key);
  if (w->seen++ == w->nul_string)
    return walk_fail_key(w, "holding a NUL character (\\u0000)");
  if (!text_utf8_ok(key, len))
    return walk_fail_key(w, "that is not valid UTF-8");
  if (text_has_control(key, len))
    return walk_fail_key(w, "holding a control character");
  if (len > EVENT_MAX_KEY)
    return walk_fail_key(w, "longer than " STRINGIFY(EVENT_MAX_KEY) " bytes");
  return 0;
}

static int walk_string(struct walk *w, const char *s)
{
  const char *why = w->seen++ == w->nul_string      ? "holds a NUL character (\\u0000)"
                    : !text_utf8_ok(s, strlen(s)) ? "is not valid UTF-8"
                                                  : NULL;
  if (why)
    snprintf(w->err, w->errlen, "field '%s' %s", w->path, why);
  return why ? -1 : 0;
}

static int walk_value(struct walk *w, const cJSON *v)
{
  if (cJSON_IsString(v))
    return walk_string(w, v->valuestring);
  int i = 0;
  for (const cJSON *c = v->child; c; c = c->next, i++) {
    if (cJSON_IsObject(v) && walk_key(w, c->string) < 0)
      return -1;
    size_t old = walk_push(w, cJSON_IsObject(v) ? c->string : NULL, i);
    int rc = walk_value(w, c);
    w->path[old] = '\0';
    if (rc < 0)
      return -1;
  }
  return 0;
}

static int time_out_of_range(int64_t now_ms, char *err, size_t errlen)
{
  char max[40];
  timestamp_format(now_ms + EVENT_TIME_AHEAD_MS, max, sizeof max);
  snprintf(err, errlen,
           "field 'time' must lie between 2000-01-01T00:00:00Z and %s (a day past the receiver's clock)", max);
  return -1;
}

/* `time` says when the event happened: epoch seconds, or RFC 3339 text. Before 2000 or
 * more than a day past the receiver's clock it is a mistake (milliseconds sent for seconds,
 * a typo in the year, a wrong clock), refused rather than handed to journeys that reckon
 * from it. The day allows for skewed clocks and for a local time sent as UTC. */
static int take_time(const cJSON *item, int64_t now_ms, struct event *ev, char *err, size_t errlen)
{
  int64_t ms, max = now_ms + EVENT_TIME_AHEAD_MS;
  if (ev->time_ms) {
    snprintf(err, errlen, "field 'time' is given twice");
    return -1;
  }
  if (cJSON_IsNumber(item)) {
    double x = item->valuedouble * 1000.0;
    if (!isfinite(x) || x < (double)EVENT_TIME_MIN_MS || x > (double)max)
      return time_out_of_range(now_ms, err, errlen);
    ms = (int64_t)llround(x);
  } else if (cJSON_IsString(item)) {
    if (timestamp_parse(item->valuestring, &ms) < 0) {
      snprintf(err, errlen, "field 'time' is not an RFC 3339 date-time with an offset (such as "
                            "2026-11-18T09:30:00Z or 2026-11-18T10:30:00.250+01:00)");
      return -1;
    }
  } else {
    snprintf(err, errlen, "field 'time' must be a number of seconds since the epoch, or RFC 3339 text");
    return -1;
  }
  if (ms < EVENT_TIME_MIN_MS || ms > max)
    return time_out_of_range(now_ms, err, errlen);
  ev->time_ms = ms;
  return 0;
}

/* Takes one field of `obj`; data and profile are moved out of it, not copied. */
static int take_field(cJSON *obj, cJSON *item, int64_t now_ms, struct event *ev, char *err, size_t errlen)
{
  const char *k = item->string;
  if (strcmp(k, "id") == 0)
    return take_string(item, k, EVENT_MAX_ID, id_problem, &ev->id, err, errlen);
  if (strcmp(k, "type") == 0)
    return take_string(item, k, EVENT_MAX_TYPE, type_problem, &ev->type, err, errlen);
  if (strcmp(k, "contact") == 0)
    return take_string(item, k, EVENT_MAX_CONTACT, event_contact_problem, &ev->contact, err, errlen);
  if (strcmp(k, "time") == 0)
    return take_time(item, now_ms, ev, err, errlen);
  if (strcmp(k, "data") == 0 || strcmp(k, "profile") == 0) {
    if (!cJSON_IsObject(item)) {
      snprintf(err, errlen, "field '%s' must be an object", k);
      return -1;
    }
    cJSON **dst = k[0] == 'd' ? &ev->data : &ev->profile;
    if (*dst) {
      snprintf(err, errlen, "field '%s' is given twice", k);
      return -1;
    }
    if (dst == &ev->profile && profile_check(item, err, errlen) < 0)
      return -1;
    *dst = cJSON_DetachItemViaPointer(obj, item);
    return 0;
  }
  snprintf(err, errlen, "unknown field '%.*s' (known: id, type, contact, time, data, profile)",
           text_clip(k, 64), k);
  return -1;
}

/* `nul_string` comes from the text obj was parsed from (text_json_nul_string); -1 when
 * there was none, or no text. */
static int from_json(cJSON *obj, long nul_string, int64_t now_ms, struct event *ev, char *err,
                     size_t errlen)
{
  memset(ev, 0, sizeof *ev);
  if (!cJSON_IsObject(obj)) {
    snprintf(err, errlen, "an event must be a JSON object");
    return -1;
  }
  struct walk w = {.nul_string = nul_string, .err = err, .errlen = errlen};
  if (walk_value(&w, obj) < 0)
    return -1;
  for (cJSON *item = obj->child, *next; item; item = next) {
    next = item->next;
    if (take_field(obj, item, now_ms, ev, err, errlen) < 0) {
      event_clear(ev);
      return -1;
    }
  }
  const char *missing = !ev->type ? "type" : !ev->contact ? "contact" : NULL;
  if (missing) {
    snprintf(err, errlen, "field '%s' is required", missing);
    event_clear(ev);
    return -1;
  }
  return 0;
}

int event_from_json(cJSON *obj, int64_t now_ms, struct event *ev, char *err, size_t errlen)
{
  return from_json(obj, -1, now_ms, ev, err, errlen);
}

int event_parse(const char *json, size_t len, int64_t now_ms, struct event *ev, char *err,
                size_t errlen)
{
  const char *end = NULL;
  cJSON *obj = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (!obj) {
    size_t at = end ? (size_t)(end - json) : 0;
    snprintf(err, errlen, "malformed JSON at byte %zu", at + 1);
    memset(ev, 0, sizeof *ev);
    return -1;
  }
  /* Only white space may follow the object. */
  for (const char *p = end; p < json + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
      cJSON_Delete(obj);
      snprintf(err, errlen, "unexpected text after the event at byte %zu", (size_t)(p - json) + 1);
      memset(ev, 0, sizeof *ev);
      return -1;
    }
  }
  int rc = from_json(obj, text_json_nul_string(json, len), now_ms, ev, err, errlen);
  cJSON_Delete(obj);
  return rc;
}

/* The walk and the checks of an event's `profile`, on a profile that came alone: its
 * strings are walked from "profile", so a refusal reads as it would in an event. */
int event_parse_profile(const char *json, size_t len, cJSON **out, char *err, size_t errlen)
{
  const char *end = NULL;
  *out = NULL;
  cJSON *obj = cJSON_ParseWithLengthOpts(json, len, &end, 0);
  if (!obj) {
    snprintf(err, errlen, "malformed JSON at byte %zu", (end ? (size_t)(end - json) : 0) + 1);
    return -1;
  }
  for (const char *p = end; p < json + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
      snprintf(err, errlen, "unexpected text after the profile at byte %zu", (size_t)(p - json) + 1);
      cJSON_Delete(obj);
      return -1;
    }
  }
  struct walk w = {.path = "profile", .nul_string = text_json_nul_string(json, len), .err = err, .errlen = errlen};
  if (!cJSON_IsObject(obj)) {
    snprintf(err, errlen, "the profile must be a JSON object of attributes, such as {\"first_name\": \"Ann\"}");
  } else if (walk_value(&w, obj) == 0 && profile_check(obj, err, errlen) == 0) {
    *out = obj;
    return 0;
  }
  cJSON_Delete(obj);
  return -1;
}

static int blank(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}

/* A body that is one JSON document, even spread over lines (pretty-printed), is one
 * event. Returns 1 and the parsed value, or 0 when the body is not one document (NDJSON,
 * or malformed: the line-by-line reading then says where). */
static int one_document(const char *body, size_t len, cJSON **out)
{
  const char *end = NULL;
  cJSON *doc = cJSON_ParseWithLengthOpts(body, len, &end, 0);
  if (!doc)
    return 0;
  for (const char *p = end; p < body + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
      cJSON_Delete(doc);
      return 0;
    }
  }
  *out = doc;
  return 1;
}

static int single_event(cJSON *doc, const char *body, size_t len, const struct event_limits *lim,
                        struct event **evs, size_t *n, char *err, size_t errlen)
{
  struct event *ev = calloc(1, sizeof *ev);
  int rc = -1;
  if (len > lim->max_event_bytes)
    snprintf(err, errlen, "event larger than %zu bytes", lim->max_event_bytes);
  else if (ev && from_json(doc, text_json_nul_string(body, len), lim->now_ms, ev, err, errlen) == 0)
    rc = 0;
  cJSON_Delete(doc);
  if (rc < 0) {
    free(ev);
    return -1;
  }
  *evs = ev;
  *n = 1;
  return 0;
}

int event_parse_body(const char *body, size_t len, const struct event_limits *lim,
                     struct event **evs, size_t *n, size_t *bad_line, char *err, size_t errlen)
{
  cJSON *doc;
  *bad_line = 0;
  if (one_document(body, len, &doc))
    return single_event(doc, body, len, lim, evs, n, err, errlen);
  size_t cap = 16, count = 0, line = 0;
  struct event *arr = calloc(cap, sizeof *arr);
  const char *p = body, *end = body + len;
  char why[256];
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t llen = nl ? (size_t)(nl - p) : (size_t)(end - p);
    line++;
    if (!blank(p, llen)) {
      if (llen > lim->max_event_bytes) {
        snprintf(why, sizeof why, "event larger than %zu bytes", lim->max_event_bytes);
        goto fail;
      }
      if (count == lim->max_batch_events) {
        snprintf(why, sizeof why, "more than %zu events in one request", lim->max_batch_events);
        goto fail;
      }
      if (count == cap) {
        struct event *grown = realloc(arr, cap * 2 * sizeof *arr);
        if (!grown) {
          snprintf(why, sizeof why, "out of memory");
          goto fail;
        }
        arr = grown;
        cap *= 2;
      }
      if (event_parse(p, llen, lim->now_ms, &arr[count], why, sizeof why) < 0)
        goto fail;
      count++;
    }
    p = nl ? nl + 1 : end;
  }
  if (count == 0) {
    free(arr);
    snprintf(err, errlen, "the body holds no event");
    *bad_line = 1;
    return -1;
  }
  *evs = arr;
  *n = count;
  return 0;
fail:
  event_free_array(arr, count);
  *bad_line = line;
  snprintf(err, errlen, "line %zu: %s", line, why);
  return -1;
}

void event_clear(struct event *ev)
{
  free(ev->id);
  free(ev->type);
  free(ev->contact);
  cJSON_Delete(ev->data);
  cJSON_Delete(ev->profile);
  memset(ev, 0, sizeof *ev);
}

void event_free_array(struct event *evs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    event_clear(&evs[i]);
  free(evs);
}

cJSON *event_to_json(const struct event *ev)
{
  cJSON *o = cJSON_CreateObject();
  if (ev->id)
    cJSON_AddStringToObject(o, "id", ev->id);
  cJSON_AddStringToObject(o, "type", ev->type);
  cJSON_AddStringToObject(o, "contact", ev->contact);
  if (ev->time_ms)
    cJSON_AddNumberToObject(o, "time", (double)ev->time_ms / 1000.0);
  if (ev->data)
    cJSON_AddItemToObject(o, "data", cJSON_Duplicate(ev->data, 1));
  if (ev->profile)
    cJSON_AddItemToObject(o, "profile", cJSON_Duplicate(ev->profile, 1));
  return o;
}

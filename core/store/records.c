/* Records shared by every store backend: histories, contacts, conversations, outbox
 * messages, and their constructors and destructors. */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"

const char *conv_status_name(enum conv_status st)
{
  static const char *const names[] = {"listening", "deciding", "speaking", "done", "failed"};
  return (unsigned)st < 5 ? names[st] : "?";
}

/* Lays the ring out again, oldest first, in `cap` slots, dropping the oldest entries
 * that do not fit. */
static int history_resize(struct history *h, size_t cap)
{
  struct hist_entry *n = calloc(cap, sizeof *n);
  if (!n)
    return -1;
  size_t keep = h->n < cap ? h->n : cap, skip = h->n - keep;
  for (size_t i = 0; i < skip; i++)
    free(h->items[(h->start + i) % h->cap].what);
  for (size_t i = 0; i < keep; i++)
    n[i] = h->items[(h->start + skip + i) % h->cap];
  free(h->items);
  h->items = n;
  h->cap = cap;
  h->start = 0;
  h->n = keep;
  return 0;
}

/* The ring grows as entries come, up to `limit`; most histories stay short, so none
 * pays for `limit` slots up front. */
void history_add(struct history *h, size_t limit, int64_t at_ms, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (limit == 0)
    return;
  if (h->cap > limit || (h->n == h->cap && h->cap < limit)) {
    size_t cap = h->cap > limit ? limit : h->cap ? h->cap * 2 : 4;
    if (history_resize(h, cap < limit ? cap : limit) < 0)
      return;
  }
  if (h->n == h->cap) { /* full at the limit: the oldest entry falls off */
    free(h->items[h->start].what);
    h->items[h->start] = (struct hist_entry){at_ms, strdup(buf)};
    h->start = (h->start + 1) % h->cap;
    return;
  }
  h->items[(h->start + h->n++) % h->cap] = (struct hist_entry){at_ms, strdup(buf)};
}

const struct hist_entry *history_at(const struct history *h, size_t i)
{
  return i < h->n ? &h->items[(h->start + i) % h->cap] : NULL;
}

/* Entries are appended as time goes, but a wall clock may step back: every entry is
 * looked at, and the kept ones slide down the ring in place (a kept entry never moves
 * past one not read yet). */
size_t history_forget_before(struct history *h, int64_t before_ms)
{
  size_t kept = 0;
  for (size_t i = 0; i < h->n; i++) {
    struct hist_entry *e = &h->items[(h->start + i) % h->cap];
    if (e->at_ms < before_ms)
      free(e->what);
    else
      h->items[(h->start + kept++) % h->cap] = *e;
  }
  size_t gone = h->n - kept;
  h->n = kept;
  return gone;
}

void history_free(struct history *h)
{
  for (size_t i = 0; i < h->n; i++)
    free(h->items[(h->start + i) % h->cap].what);
  free(h->items);
  memset(h, 0, sizeof *h);
}

int ids_push(uint64_t **ids, size_t *n, size_t *cap, uint64_t id)
{
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 4;
    uint64_t *grown = realloc(*ids, ncap * sizeof *grown);
    if (!grown)
      return -1;
    *ids = grown;
    *cap = ncap;
  }
  (*ids)[(*n)++] = id;
  return 0;
}

static int note_start(struct contact *c, const char *journey, int64_t at_ms)
{
  for (size_t i = 0; i < c->n_starts; i++) {
    if (strcmp(c->starts[i].journey, journey) == 0) {
      c->starts[i].at_ms = at_ms;
      return 0;
    }
  }
  struct journey_start *n = realloc(c->starts, (c->n_starts + 1) * sizeof *n);
  if (!n)
    return -1;
  c->starts = n;
  c->starts[c->n_starts++] = (struct journey_start){strdup(journey), at_ms};
  return 0;
}

int contact_last_start(const struct contact *c, const char *journey, int64_t *at_ms)
{
  for (size_t i = 0; i < c->n_starts; i++) {
    if (strcmp(c->starts[i].journey, journey) == 0) {
      *at_ms = c->starts[i].at_ms;
      return 1;
    }
  }
  return 0;
}

static void ids_remove(uint64_t *ids, size_t *n, uint64_t id)
{
  for (size_t i = 0; i < *n; i++) {
    if (ids[i] == id) {
      memmove(&ids[i], &ids[i + 1], (*n - i - 1) * sizeof *ids);
      (*n)--;
      return;
    }
  }
}

void contact_conv_ended(struct contact *c, uint64_t id)
{
  ids_remove(c->active, &c->n_active, id);
}

void contact_conv_forget(struct contact *c, uint64_t id)
{
  ids_remove(c->convs, &c->n_convs, id);
  ids_remove(c->active, &c->n_active, id);
}

struct conv *conv_record_new(struct contact *c, uint64_t id, const char *journey, uint32_t version,
                             int64_t now_ms)
{
  struct conv *cv = calloc(1, sizeof *cv);
  if (!cv || ids_push(&c->convs, &c->n_convs, &c->cap_convs, id) < 0) {
    free(cv);
    return NULL;
  }
  if (ids_push(&c->active, &c->n_active, &c->cap_active, id) < 0) {
    c->n_convs--;
    free(cv);
    return NULL;
  }
  if (note_start(c, journey, now_ms) < 0) {
    c->n_convs--;
    c->n_active--;
    free(cv);
    return NULL;
  }
  cv->id = id;
  cv->contact = strdup(c->id);
  cv->journey = strdup(journey);
  if (!cv->contact || !cv->journey) {
    c->n_convs--;
    c->n_active--;
    conv_record_free(cv);
    return NULL;
  }
  cv->journey_version = version;
  cv->status = CONV_DECIDING;
  cv->started_ms = cv->updated_ms = now_ms;
  return cv;
}

void conv_record_free(struct conv *cv)
{
  if (!cv)
    return;
  free(cv->contact);
  free(cv->journey);
  free(cv->step);
  free(cv->memory);
  for (size_t i = 0; i < cv->n_listen; i++)
    free(cv->listening_for[i]);
  free(cv->listening_for);
  free(cv->outcome);
  free(cv->error);
  history_free(&cv->history);
  for (size_t i = 0; i < cv->n_arms; i++) {
    free(cv->arms[i].experiment);
    free(cv->arms[i].arm);
  }
  free(cv->arms);
  free(cv);
}

void touch_clear(struct touch *t)
{
  free(t->channel);
  free(t->journey);
  free(t->template_name);
  memset(t, 0, sizeof *t);
}

void contact_record_free(struct contact *c)
{
  if (!c)
    return;
  free(c->id);
  cJSON_Delete(c->profile);
  free(c->convs);
  free(c->active);
  for (size_t i = 0; i < c->n_starts; i++)
    free(c->starts[i].journey);
  free(c->starts);
  for (size_t i = 0; i < c->n_touches; i++)
    touch_clear(&c->touches[i]);
  free(c->touches);
  history_free(&c->history);
  free(c);
}

void msg_record_free(struct parley_msg *m)
{
  if (!m)
    return;
  free(m->channel);
  free(m->contact);
  free(m->address);
  free(m->journey);
  free(m->template_name);
  free(m->subject);
  free(m->text);
  free(m->html);
  free(m->profile_json);
  cJSON_Delete(m->profile);
  free(m->attr_text);
  free(m->options_json);
  cJSON_Delete(m->options);
  free(m->last_error);
  free(m);
}

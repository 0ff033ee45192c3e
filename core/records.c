/* Records shared by every store backend: histories, contacts, conversations, outbox
 * messages, and their constructors and destructors. */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "store.h"

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

void history_free(struct history *h)
{
  for (size_t i = 0; i < h->n; i++)
    free(h->items[(h->start + i) % h->cap].what);
  free(h->items);
  memset(h, 0, sizeof *h);
}

struct conv *conv_record_new(struct contact *c, uint64_t id, const char *journey, uint32_t version,
                             int64_t now_ms)
{
  if (c->n_convs == c->cap_convs) {
    size_t ncap = c->cap_convs ? c->cap_convs * 2 : 4;
    uint64_t *n = realloc(c->convs, ncap * sizeof *n);
    if (!n)
      return NULL;
    c->convs = n;
    c->cap_convs = ncap;
  }
  struct conv *cv = calloc(1, sizeof *cv);
  if (!cv)
    return NULL;
  cv->id = id;
  cv->contact = strdup(c->id);
  cv->journey = strdup(journey);
  cv->journey_version = version;
  cv->status = CONV_DECIDING;
  cv->started_ms = cv->updated_ms = now_ms;
  c->convs[c->n_convs++] = id;
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
  free(cv);
}

void contact_record_free(struct contact *c)
{
  if (!c)
    return;
  free(c->id);
  cJSON_Delete(c->profile);
  free(c->convs);
  history_free(&c->history);
  free(c);
}

void outbox_msg_free(struct parley_msg *m)
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
  free(m->last_error);
  free(m);
}

/* The retention sweep (see sweep.h): two walks over the store, conversations and
 * contacts, each moved on a few records per tick. */
#include "sweep.h"

#include <assert.h>

#include "context.h"

static int ended(const struct conv *cv)
{
  return cv->status == CONV_DONE || cv->status == CONV_FAILED;
}

/* Entries written before now - retention.history go; 0 keeps them all. */
static size_t trim_history(struct core *core, struct history *h, int64_t now)
{
  int64_t keep = core->cfg->retention.history_ms;
  size_t gone = keep > 0 ? history_forget_before(h, now - keep) : 0;
  core->stats.swept_history += gone;
  return gone;
}

/* An ended conversation past retention leaves its contact's lists and the store. Returns
 * the records it read beyond the conversation (its contact). */
static size_t remove_conv(struct core *core, struct conv *cv)
{
  struct store *st = core->store;
  uint64_t id = cv->id;
  struct contact *ct = st->ops->contact_get(st, cv->contact);
  if (ct) {
    contact_conv_forget(ct, id);
    st->ops->contact_put(st, ct);
  }
  st->ops->conv_del(st, id); /* frees cv */
  core->stats.swept_convs++;
  return 1;
}

/* Conversations, until `budget` records are read or the pass ends. Each step reads two at
 * most (a conversation and its contact). */
static size_t sweep_convs(struct core *core, size_t budget, int64_t now)
{
  struct store *st = core->store;
  int64_t keep = core->cfg->retention.conversations_ms;
  size_t read = 0;
  struct conv *cv;
  int rc;
  while (read + 2 <= budget && (rc = st->ops->conv_walk(st, &cv)) != 0) {
    read++;
    if (rc < 0) /* a record that cannot be read is passed over */
      continue;
    if (keep > 0 && ended(cv) && now - cv->updated_ms >= keep)
      read += remove_conv(core, cv);
    else if (trim_history(core, &cv->history, now) > 0)
      st->ops->conv_put(st, cv);
  }
  return read;
}

/* Contacts, for their histories: until `budget` records are read or the pass ends. */
static size_t sweep_contacts(struct core *core, size_t budget, int64_t now)
{
  struct store *st = core->store;
  size_t read = 0;
  struct contact *ct;
  int rc;
  while (read < budget && (rc = st->ops->contact_walk(st, &ct)) != 0) {
    read++;
    if (rc > 0 && trim_history(core, &ct->history, now) > 0)
      st->ops->contact_put(st, ct);
  }
  return read;
}

size_t sweep_tick(struct core *core, size_t budget)
{
  const struct cfg_retention *r = &core->cfg->retention;
  int64_t now = clock_now_ms(&core->clock);
  uint64_t before = core->stats.swept_convs + core->stats.swept_history;
  size_t read = 0;
  assert(!core->settling);
  if (r->conversations_ms > 0 || r->history_ms > 0) /* half for each walk when both run */
    read += sweep_convs(core, r->history_ms > 0 ? budget / 2 : budget, now);
  if (r->history_ms > 0)
    read += sweep_contacts(core, budget - read, now);
  if (core->stats.swept_convs + core->stats.swept_history != before)
    core->must_commit = 1;
  assert(read <= budget);
  return read;
}

/* Delivery: at least once, with the message id as idempotency key; exponential backoff
 * with jitter on PARLEY_RETRY; dead letters kept (and logged) after max_attempts or a
 * permanent failure. */
#include "outbox.h"

#include <cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "plugin/plugin_load.h"

static void append(struct core *core, struct parley_msg *m)
{
  m->next = NULL;
  if (core->outbox.tail)
    core->outbox.tail->next = m;
  else
    core->outbox.head = m;
  core->outbox.tail = m;
  core->outbox.n_active++;
}

/* A spoken message is written to the store in the open batch and waits in `fresh` until
 * that batch commits: no plugin sees a message that a crash could still take back. */
void outbox_enqueue(struct core *core, struct parley_msg *m)
{
  m->state = MSG_QUEUED;
  core->store->ops->msg_put(core->store, m);
  m->next = core->outbox.fresh;
  core->outbox.fresh = m;
}

static struct parley_msg *reverse(struct parley_msg *m)
{
  struct parley_msg *r = NULL;
  while (m) {
    struct parley_msg *n = m->next;
    m->next = r;
    r = m;
    m = n;
  }
  return r;
}

void outbox_promote_fresh(struct core *core)
{
  struct parley_msg *m = reverse(core->outbox.fresh);
  core->outbox.fresh = NULL;
  while (m) {
    struct parley_msg *n = m->next;
    append(core, m);
    m = n;
  }
}

void outbox_drop_fresh(struct core *core)
{
  for (struct parley_msg *m = core->outbox.fresh, *n; m; m = n) {
    n = m->next;
    outbox_msg_free(m);
  }
  core->outbox.fresh = NULL;
}

static void restore_one(void *ud, struct parley_msg *m)
{
  struct core *core = ud;
  if (m->state == MSG_DEAD) {
    outbox_msg_free(m);
    return;
  }
  m->state = MSG_QUEUED; /* one in flight at the stop is handed over again, same id */
  append(core, m);
}

void outbox_restore(struct core *core)
{
  core->store->ops->msg_each(core->store, restore_one, core);
  if (core->outbox.n_active) {
    char n[24];
    snprintf(n, sizeof n, "%zu", core->outbox.n_active);
    log_kv(&core->log, LOG_INFO, "outbox", "messages to deliver again after a restart", "count", n,
           (char *)NULL);
  }
}

static void unlink_msg(struct core *core, struct parley_msg *m)
{
  struct parley_msg **pp = &core->outbox.head, *prev = NULL;
  while (*pp && *pp != m) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (!*pp)
    return;
  *pp = m->next;
  if (core->outbox.tail == m)
    core->outbox.tail = prev;
  m->next = NULL;
  core->outbox.n_active--;
}

/* base * 2^(attempt-1), capped, then a random 50-100% of it so that retries of many
 * messages failed together do not arrive together. */
int64_t outbox_backoff_ms(const struct cfg *cfg, unsigned attempt)
{
  int64_t d = cfg->retry_base_ms;
  for (unsigned i = 1; i < attempt && d < cfg->retry_max_ms; i++)
    d *= 2;
  if (d > cfg->retry_max_ms)
    d = cfg->retry_max_ms;
  return d / 2 + (int64_t)randombytes_uniform((uint32_t)(d / 2 + 1));
}

static void finish(struct core *core, struct parley_msg *m, enum parley_status st, const char *detail)
{
  const char *ch = m->channel;
  free(m->last_error);
  m->last_error = detail && st != PARLEY_OK ? strdup(detail) : NULL;
  if (st == PARLEY_OK) {
    core->stats.delivered++;
    log_kv(&core->log, LOG_DEBUG, "outbox", "delivered", "id", m->id, "channel", ch, (char *)NULL);
    core->store->ops->msg_del(core->store, m->id);
    unlink_msg(core, m);
    outbox_msg_free(m);
    return;
  }
  if (st == PARLEY_RETRY && m->attempt < core->cfg->max_attempts) {
    m->state = MSG_QUEUED;
    m->due_ms = clock_now_ms(&core->clock) + outbox_backoff_ms(core->cfg, m->attempt);
    core->store->ops->msg_put(core->store, m);
    core->stats.retried++;
    log_kv(&core->log, LOG_INFO, "outbox", "delivery will be retried", "id", m->id, "channel", ch,
           "reason", detail ? detail : "", (char *)NULL);
    return;
  }
  m->state = MSG_DEAD;
  core->stats.dead++;
  log_kv(&core->log, LOG_WARN, "outbox", "dead letter", "id", m->id, "channel", ch, "contact", m->contact,
         "reason", detail ? detail : "", (char *)NULL);
  core->store->ops->msg_put(core->store, m); /* kept for inspection and replay */
  unlink_msg(core, m);
  outbox_msg_free(m);
}

void outbox_send_done(void *ud, struct parley_msg *m, enum parley_status st, const char *detail)
{
  struct core *core = ud;
  if (m == core->outbox.in_send) { /* completed from inside send(): deliver() finishes it */
    core->outbox.in_send_status = st;
    free(core->outbox.in_send_detail);
    core->outbox.in_send_detail = detail ? strdup(detail) : NULL;
    core->outbox.in_send = NULL;
    return;
  }
  if (m->state != MSG_SENDING) {
    log_kv(&core->log, LOG_WARN, "outbox", "a plugin completed a message twice", "id", m->id,
           (char *)NULL);
    return;
  }
  finish(core, m, st == PARLEY_PENDING ? PARLEY_RETRY : st, detail);
}

static void deliver(struct core *core, struct parley_msg *m)
{
  struct channel *ch = core_channel_find(core, m->channel);
  m->attempt++;
  if (!ch) {
    m->state = MSG_SENDING;
    finish(core, m, PARLEY_ERROR, "no plugin serves this channel");
    return;
  }
  m->state = MSG_SENDING;
  if (core->capture) {
    core->capture(core->capture_ud, m);
    finish(core, m, PARLEY_OK, NULL);
    return;
  }
  m->inst = ch->inst;
  core->outbox.in_send = m;
  enum parley_status st = plugin_instance_send(ch->inst, m);
  if (core->outbox.in_send == NULL) { /* the plugin called send_done before returning */
    finish(core, m, core->outbox.in_send_status, core->outbox.in_send_detail);
    free(core->outbox.in_send_detail);
    core->outbox.in_send_detail = NULL;
    return;
  }
  core->outbox.in_send = NULL;
  if (st != PARLEY_PENDING)
    finish(core, m, st,
           st == PARLEY_OK      ? NULL
           : st == PARLEY_RETRY ? "the plugin asked for a retry"
                                : "the plugin refused the message for good");
}

void outbox_kick(struct core *core)
{
  int64_t now = clock_now_ms(&core->clock);
  struct parley_msg *m = core->outbox.head;
  while (m) {
    struct parley_msg *next = m->next; /* deliver may unlink and free m */
    if (m->state == MSG_QUEUED && m->due_ms <= now)
      deliver(core, m);
    m = next;
  }
}

int outbox_next_due(const struct core *core, int64_t *due_ms)
{
  int found = 0;
  for (const struct parley_msg *m = core->outbox.head; m; m = m->next) {
    if (m->state == MSG_QUEUED && (!found || m->due_ms < *due_ms)) {
      *due_ms = m->due_ms;
      found = 1;
    }
  }
  return found;
}

void outbox_close(struct core *core)
{
  outbox_drop_fresh(core);
  for (struct parley_msg *m = core->outbox.head, *n; m; m = n) {
    n = m->next;
    outbox_msg_free(m);
  }
  memset(&core->outbox, 0, sizeof core->outbox);
}

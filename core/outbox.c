/* Delivery (see outbox.h): at least once, with the message id as idempotency key;
 * exponential backoff with jitter on PARLEY_RETRY, or the provider's wait when later;
 * dead letters kept (and logged) after max_attempts or at once on a permanent failure.
 * Queued messages sit in their channel's lane (outbox_lane.c), a heap ordered by (due
 * time, arrival), so a kick and the retry timer read each lane's earliest in O(1) and a
 * commit never scans every message waiting for a retry. */
#include "outbox.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox_slim.h"
#include "plugin/plugin_load.h"

void outbox_init(struct outbox *ob, const struct outbox_env *env)
{
  memset(ob, 0, sizeof *ob);
  ob->env = *env;
  ob->turn_left = OUTBOX_TURN_MAX;
}

void outbox_turn(struct outbox *ob)
{
  ob->turn_left = OUTBOX_TURN_MAX;
  ob->turn_cut = 0;
}

/* --- lanes --- */

static struct outbox_lane *find_lane(const struct outbox *ob, const char *channel)
{
  for (size_t i = 0; i < ob->n_lanes; i++)
    if (strcmp(ob->lanes[i]->channel, channel) == 0)
      return ob->lanes[i];
  return NULL;
}

const struct outbox_lane *outbox_lane_of(const struct outbox *ob, const char *channel)
{
  return find_lane(ob, channel);
}

static struct outbox_lane *add_lane(struct outbox *ob, const char *channel, const struct outbox_flow *flow)
{
  struct outbox_lane **grown = realloc(ob->lanes, (ob->n_lanes + 1) * sizeof *grown);
  if (!grown)
    return NULL;
  ob->lanes = grown;
  struct outbox_lane *lane = outbox_lane_new(channel, flow);
  if (lane)
    ob->lanes[ob->n_lanes++] = lane;
  return lane;
}

int outbox_add_channel(struct outbox *ob, const char *channel, const struct outbox_flow *flow)
{
  struct outbox_lane *lane = find_lane(ob, channel);
  if (lane) {
    outbox_lane_set_flow(lane, flow);
    return 0;
  }
  return add_lane(ob, channel, flow) ? 0 : -1;
}

/* The lane a message waits in; a channel no configuration named gets one without limits
 * (its messages are dead-lettered as "no_plugin" when due). */
static struct outbox_lane *lane_for(struct outbox *ob, const struct parley_msg *m)
{
  struct outbox_lane *lane = find_lane(ob, m->channel);
  return lane ? lane : add_lane(ob, m->channel, NULL);
}

/* Queues `m` in its arrival order `m->seq`. Out of memory, the message stays stored (it
 * is delivered after a restart) and the failure is logged: it is never freed while the
 * store still holds it queued. */
static void queue_insert(struct outbox *ob, struct parley_msg *m)
{
  struct outbox_lane *lane = lane_for(ob, m);
  m->state = MSG_QUEUED;
  if (!lane || outbox_lane_push(lane, m) < 0) {
    log_kv(ob->env.log, LOG_ERROR, "outbox", "out of memory: message left for the next start", "id", m->id,
           (char *)NULL);
    msg_record_free(m);
    return;
  }
  if (ob->env.slim_queue)
    outbox_slim(m);
  ob->n_queue++;
}

static void queue_push(struct outbox *ob, struct parley_msg *m)
{
  m->seq = ob->next_seq++;
  queue_insert(ob, m);
}

/* Sends in flight are listed so that close can free what plugins abandoned. */
static void sending_link(struct outbox *ob, struct parley_msg *m)
{
  m->prev = NULL;
  m->next = ob->sending;
  if (ob->sending)
    ob->sending->prev = m;
  ob->sending = m;
  ob->n_sending++;
}

static void sending_unlink(struct outbox *ob, struct parley_msg *m)
{
  assert(ob->n_sending > 0);
  if (m->prev)
    m->prev->next = m->next;
  else
    ob->sending = m->next;
  if (m->next)
    m->next->prev = m->prev;
  m->next = m->prev = NULL;
  ob->n_sending--;
}

/* --- the open batch --- */

/* The first attempt is claimed in the batch that speaks the message: it reaches no plugin
 * before that batch commits. */
int outbox_enqueue(struct outbox *ob, struct parley_msg *m)
{
  m->state = MSG_QUEUED;
  if (m->due_ms <= clock_now_ms(ob->env.clock)) { /* due now: claimed, handed over after the commit */
    m->attempt++;
    m->claimed = 1;
  }
  int rc = ob->env.store->ops->msg_put(ob->env.store, m);
  m->next = ob->fresh;
  ob->fresh = m;
  return rc;
}

int outbox_has_fresh(const struct outbox *ob)
{
  return ob->fresh != NULL || ob->erasing != NULL || ob->claiming != NULL;
}

/* A claim that will not be handed over: its slot goes back to the lane and, when its
 * batch did not commit (`undo`), so does the attempt it wrote. */
static void unclaim(struct outbox *ob, struct parley_msg *m, int undo)
{
  struct outbox_lane *lane = find_lane(ob, m->channel);
  assert(lane && lane->reserved > 0);
  lane->reserved--;
  if (undo) {
    m->attempt--;
    m->claimed = 0;
  }
}

/* Erasures of the open batch: `commit` says whether it was committed. Messages plugins
 * hold are marked only, so they are settled when the plugin answers. */
static void settle_erasures(struct outbox *ob, int commit)
{
  for (struct parley_msg *m = ob->erasing, *n; m; m = n) {
    n = m->next;
    if (commit)
      msg_record_free(m);
    else
      queue_insert(ob, m); /* its place in the arrival order too */
  }
  ob->erasing = NULL;
  for (struct parley_msg *m = ob->sending; m; m = m->next)
    if (m->erased == OUTBOX_ERASING)
      m->erased = commit ? OUTBOX_ERASED : 0;
}

void outbox_promote_fresh(struct outbox *ob)
{
  struct parley_msg *r = NULL; /* fresh is newest first: reverse it, so spoken order holds */
  for (struct parley_msg *m = ob->fresh, *n; m; m = n) {
    n = m->next;
    m->next = r;
    r = m;
  }
  ob->fresh = NULL;
  for (struct parley_msg *m = r, *n; m; m = n) { /* for the kick that follows */
    n = m->next;
    struct outbox_lane *lane = lane_for(ob, m);
    m->seq = ob->next_seq++;
    if (lane && m->claimed)
      outbox_fifo_add(&lane->fresh, m);
    else
      queue_insert(ob, m); /* held till later (quiet hours); or out of memory: logged there */
  }
  for (struct parley_msg *m = ob->claiming, *n; m; m = n) { /* their attempt is durable */
    n = m->next;
    outbox_fifo_add(&find_lane(ob, m->channel)->ready, m);
  }
  ob->claiming = NULL;
  settle_erasures(ob, 1);
}

void outbox_drop_fresh(struct outbox *ob)
{
  for (struct parley_msg *m = ob->fresh, *n; m; m = n) {
    n = m->next;
    msg_record_free(m);
  }
  ob->fresh = NULL;
  for (struct parley_msg *m = ob->claiming, *n; m; m = n) {
    n = m->next;
    unclaim(ob, m, 1);
    queue_insert(ob, m);
  }
  ob->claiming = NULL;
  settle_erasures(ob, 0);
}

/* The open batch's messages for `contact` go with it: whether the batch commits (the
 * contact is erased) or not (they were never durable), no plugin sees them. */
static size_t erase_fresh(struct outbox *ob, const char *contact)
{
  size_t n = 0;
  for (struct parley_msg **pp = &ob->fresh, *m; (m = *pp);) {
    if (strcmp(m->contact, contact) != 0) {
      pp = &m->next;
      continue;
    }
    *pp = m->next;
    msg_record_free(m);
    n++;
  }
  return n;
}

/* Claimed messages for `contact` (in the open batch, `undo`, or committed and ready) are
 * set aside with the queued ones: they give their slot back, and one of the open batch
 * its attempt too, so a dropped batch queues it again as it was. */
static size_t erase_claimed(struct outbox *ob, struct parley_msg **list, const char *contact, int undo)
{
  size_t n = 0;
  for (struct parley_msg **pp = list, *m; (m = *pp);) {
    if (strcmp(m->contact, contact) != 0) {
      pp = &m->next;
      continue;
    }
    *pp = m->next;
    unclaim(ob, m, undo);
    m->next = ob->erasing;
    ob->erasing = m;
    n++;
  }
  return n;
}

static void fifo_retail(struct outbox_fifo *q)
{
  q->tail = NULL;
  for (struct parley_msg *m = q->head; m; m = m->next)
    q->tail = m;
}

/* Committed claims waiting for their hand-over (ready: they hold a slot), and messages
 * spoken in a committed batch that the turn's bound cut (fresh: no slot held). */
static size_t erase_ready(struct outbox *ob, struct outbox_lane *lane, const char *contact)
{
  size_t n = erase_claimed(ob, &lane->ready.head, contact, 0);
  fifo_retail(&lane->ready);
  for (struct parley_msg **pp = &lane->fresh.head, *m; (m = *pp);) {
    if (strcmp(m->contact, contact) != 0) {
      pp = &m->next;
      continue;
    }
    *pp = m->next;
    m->next = ob->erasing;
    ob->erasing = m;
    n++;
  }
  fifo_retail(&lane->fresh);
  return n;
}

size_t outbox_erase_contact(struct outbox *ob, const char *contact)
{
  assert(!ob->kicking && ob->in_send == NULL);
  size_t n = erase_fresh(ob, contact) + erase_claimed(ob, &ob->claiming, contact, 1);
  for (size_t i = 0; i < ob->n_lanes; i++) {
    size_t taken = outbox_lane_take_contact(ob->lanes[i], contact, &ob->erasing);
    ob->n_queue -= taken;
    n += taken + erase_ready(ob, ob->lanes[i], contact);
  }
  for (struct parley_msg *m = ob->sending; m; m = m->next) {
    if (!m->erased && strcmp(m->contact, contact) == 0) {
      m->erased = OUTBOX_ERASING;
      n++;
    }
  }
  return n;
}

/* --- attempts and their outcome --- */

/* base * 2^(attempt-1), capped, then a random 50-100% of it so that retries of many
 * messages failed together do not arrive together. */
int64_t outbox_backoff_ms(const struct outbox_policy *p, unsigned attempt)
{
  int64_t d = p->retry_base_ms;
  for (unsigned i = 1; i < attempt && d < p->retry_max_ms; i++)
    d *= 2;
  if (d > p->retry_max_ms)
    d = p->retry_max_ms;
  return d / 2 + (int64_t)randombytes_uniform((uint32_t)(d / 2 + 1));
}

/* A plugin answered for a message whose contact was erased while it held it: nothing of
 * it is written back or tried again. Delivered while its erasure is not committed yet,
 * it is deleted as any delivered message, in case that batch is dropped. */
static void forget_erased(struct outbox *ob, struct parley_msg *m, enum parley_status st)
{
  const struct outbox_env *env = &ob->env;
  struct outbox_lane *lane = find_lane(ob, m->channel);
  if (st == PARLEY_OK)
    env->stats->delivered++;
  if (st == PARLEY_OK && lane)
    outbox_lane_observe_latency(lane, (double)(clock_now_ms(env->clock) - m->created_ms) / 1000.0);
  if (st == PARLEY_OK && m->erased == OUTBOX_ERASING)
    env->store->ops->msg_del(env->store, m->id);
  log_kv(env->log, LOG_DEBUG, "outbox", "a plugin answered for an erased contact: forgotten", "id",
         m->id, (char *)NULL);
  msg_record_free(m);
}

/* A captured message (`parley test`) reached no plugin: there is nothing to tell. */
static void tell_end(struct outbox *ob, struct parley_msg *m, const struct outbox_end *end)
{
  if (ob->env.ended && !ob->env.capture)
    ob->env.ended(ob->env.ud, m, end);
  msg_record_free(m);
}

static void delivered(struct outbox *ob, struct parley_msg *m, const char *provider_id)
{
  const struct outbox_env *env = &ob->env;
  env->stats->delivered++;
  struct outbox_lane *lane = find_lane(ob, m->channel);
  if (lane)
    outbox_lane_observe_latency(lane, (double)(clock_now_ms(env->clock) - m->created_ms) / 1000.0);
  log_kv(env->log, LOG_DEBUG, "outbox", "delivered", "id", m->id, "channel", m->channel, (char *)NULL);
  env->store->ops->msg_del(env->store, m->id);
  tell_end(ob, m, &(struct outbox_end){.delivered = 1, .provider_id = provider_id});
}

/* The next attempt waits the backoff, or what the provider asked when that is longer. It
 * is claimed when due (outbox_kick): this write keeps the attempt that just ended. */
static void retry_later(struct outbox *ob, struct parley_msg *m, const struct plugin_result *r)
{
  const struct outbox_env *env = &ob->env;
  int64_t wait = outbox_backoff_ms(&env->policy, m->attempt);
  int64_t asked = r->retry_after_ms > (uint64_t)OUTBOX_RETRY_AFTER_MAX_MS ? OUTBOX_RETRY_AFTER_MAX_MS
                                                                          : (int64_t)r->retry_after_ms;
  m->due_ms = clock_now_ms(env->clock) + (asked > wait ? asked : wait);
  m->state = MSG_QUEUED;
  m->claimed = 0;
  env->store->ops->msg_put(env->store, m);
  env->stats->retried++;
  struct outbox_lane *lane = find_lane(ob, m->channel);
  if (lane)
    lane->stats.retried++;
  log_kv(env->log, LOG_INFO, "outbox", "delivery will be retried", "id", m->id, "channel",
         m->channel, "reason", r->detail ? r->detail : "", (char *)NULL);
  queue_push(ob, m);
}

/* `reason` is the plugin's (`fail` >= 0: its enum parley_fail_reason, whose name leads
 * last_error, so `parley inspect --dead` shows it) or the outbox's own (`fail` < 0:
 * "retries_exhausted", "no_plugin": the detail alone). */
static void dead_letter(struct outbox *ob, struct parley_msg *m, const char *reason,
                        const char *detail, int fail)
{
  const struct outbox_env *env = &ob->env;
  char text[1024];
  if (fail > 0)
    snprintf(text, sizeof text, "%s%s%s", reason, detail ? ": " : "", detail ? detail : "");
  else
    snprintf(text, sizeof text, "%s", detail ? detail : "");
  free(m->last_error);
  m->last_error = text[0] ? strdup(text) : NULL;
  m->state = MSG_DEAD;
  m->claimed = 0;
  env->stats->dead++;
  struct outbox_lane *lane = lane_for(ob, m);
  if (lane) {
    lane->stats.dead++;
    if (fail >= 0 && fail < OUTBOX_FAIL_REASONS)
      lane->stats.failed[fail]++;
  }
  log_kv(env->log, LOG_WARN, "outbox", "dead letter", "id", m->id, "channel", m->channel, "contact",
         m->contact, "reason", reason, "detail", detail ? detail : "", (char *)NULL);
  env->store->ops->msg_put(env->store, m); /* kept for inspection and replay */
  tell_end(ob, m, &(struct outbox_end){.reason = reason});
}

/* The attempt of `m` (state MSG_SENDING, owned by no queue) ended with `r`: its slot in
 * the lane is free again. */
static void finish(struct outbox *ob, struct parley_msg *m, const struct plugin_result *r)
{
  assert(m->state == MSG_SENDING);
  struct outbox_lane *lane = find_lane(ob, m->channel);
  assert(lane && lane->in_flight > 0);
  lane->in_flight--;
  m->claimed = 0;
  if (m->erased) {
    forget_erased(ob, m, r->status);
    return;
  }
  if (r->status == PARLEY_OK) {
    free(m->last_error);
    m->last_error = NULL;
    delivered(ob, m, r->provider_id);
  } else if (r->status == PARLEY_ERROR) {
    int fail = (int)r->reason >= 0 && (int)r->reason < OUTBOX_FAIL_REASONS ? (int)r->reason : 0;
    dead_letter(ob, m, plugin_fail_reason_name(r->reason), r->detail, fail);
  } else if (m->attempt < ob->env.policy.max_attempts) {
    free(m->last_error);
    m->last_error = r->detail ? strdup(r->detail) : NULL;
    retry_later(ob, m, r);
  } else {
    dead_letter(ob, m, "retries_exhausted", r->detail, -1);
  }
}

static void answer_clear(struct outbox_answer *a)
{
  free(a->detail);
  free(a->provider_id);
  memset(a, 0, sizeof *a);
}

void outbox_send_done(void *ud, struct parley_msg *m, const struct plugin_result *r)
{
  struct outbox *ob = ud;
  if (m == ob->in_send) { /* completed from inside send(): deliver() finishes it */
    struct outbox_answer *a = &ob->in_send_answer;
    answer_clear(a);
    ob->in_send_done = 1;
    *a = (struct outbox_answer){r->status, r->reason, r->retry_after_ms,
                                r->detail ? strdup(r->detail) : NULL,
                                r->provider_id ? strdup(r->provider_id) : NULL};
    return;
  }
  if (m->state != MSG_SENDING) {
    log_kv(ob->env.log, LOG_WARN, "outbox", "a plugin completed a message twice", "id", m->id,
           (char *)NULL);
    return;
  }
  sending_unlink(ob, m);
  if (r->status != PARLEY_PENDING) {
    finish(ob, m, r);
    return;
  }
  struct plugin_result retry = *r;
  retry.status = PARLEY_RETRY;
  finish(ob, m, &retry);
}

/* A status send() returned: 1.0's words, with the outbox's detail. */
static void finish_status(struct outbox *ob, struct parley_msg *m, enum parley_status st)
{
  struct plugin_result r = {.status = st, .reason = PARLEY_FAIL_OTHER};
  r.detail = st == PARLEY_OK      ? NULL
             : st == PARLEY_RETRY ? "the plugin asked for a retry"
                                  : "the plugin refused the message for good";
  finish(ob, m, &r);
}

/* An answer given from inside send(). */
static void finish_answer(struct outbox *ob, struct parley_msg *m)
{
  struct outbox_answer a = ob->in_send_answer;
  memset(&ob->in_send_answer, 0, sizeof ob->in_send_answer);
  struct plugin_result r = {a.status == PARLEY_PENDING ? PARLEY_RETRY : a.status, a.detail,
                            a.provider_id, a.retry_after_ms, a.reason};
  finish(ob, m, &r);
  answer_clear(&a);
}

/* One attempt, already claimed (its number is stored). The plugin may answer by its
 * return value, by send_done before returning (in_send), or later; emitted receipts are
 * queued by the core, never applied here. */
static void deliver(struct outbox *ob, struct outbox_lane *lane, struct parley_msg *m)
{
  const struct outbox_env *env = &ob->env;
  assert(m->claimed);
  m->state = MSG_SENDING;
  if (env->capture) {
    lane->in_flight++;
    env->capture(env->capture_ud, m);
    finish_status(ob, m, PARLEY_OK);
    return;
  }
  struct plugin_inst *inst = env->channel_plugin(env->ud, m->channel);
  if (!inst) {
    dead_letter(ob, m, "no_plugin", "no plugin serves this channel", -1);
    return;
  }
  assert(ob->in_send == NULL); /* sends never nest: nothing re-enters a kick */
  lane->in_flight++;
  m->inst = inst;
  ob->in_send = m;
  ob->in_send_done = 0;
  enum parley_status st = plugin_instance_send(inst, m);
  ob->in_send = NULL;
  if (ob->in_send_done)
    finish_answer(ob, m);
  else if (st == PARLEY_PENDING)
    sending_link(ob, m);
  else
    finish_status(ob, m, st);
}

/* A message due again: attempt + 1 is written in the open batch, with the token and the
 * slot it will use; it is handed over once that batch commits (outbox_promote_fresh). */
static void claim(struct outbox *ob, struct outbox_lane *lane, struct parley_msg *m)
{
  m->attempt++;
  m->claimed = 1;
  lane->reserved++;
  ob->env.store->ops->msg_put(ob->env.store, m);
  m->next = ob->claiming;
  ob->claiming = m;
}

/* Takes the token (outside `parley test`) and a place in the turn. */
static void spend(struct outbox *ob, struct outbox_lane *lane, int64_t now)
{
  ob->turn_left--;
  if (!ob->env.capture)
    outbox_lane_take_token(lane, now);
}

/* May the lane hand one more over now? A turn cut short is noted for outbox_next_due. */
static int may_go(struct outbox *ob, struct outbox_lane *lane, int64_t now)
{
  if (!ob->env.capture && !outbox_lane_may_send(lane, now))
    return 0;
  if (ob->turn_left == 0) {
    ob->turn_cut = 1;
    return 0;
  }
  return 1;
}

/* One step of one lane: a committed claim handed over; else, as flow control and the turn
 * allow, a message just spoken handed over, or the earliest due one handed over (claimed
 * already) or claimed. Returns 1 when it did something. */
static int lane_step(struct outbox *ob, struct outbox_lane *lane, int64_t now)
{
  struct parley_msg *m = outbox_fifo_take(&lane->ready);
  if (m) { /* its token and slot were taken with the claim */
    lane->reserved--;
    deliver(ob, lane, m);
    return 1;
  }
  if (lane->fresh.head) {
    if (!may_go(ob, lane, now))
      return 0;
    spend(ob, lane, now);
    deliver(ob, lane, outbox_fifo_take(&lane->fresh));
    return 1;
  }
  m = outbox_lane_peek(lane);
  if (!m || m->due_ms > now || !may_go(ob, lane, now))
    return 0;
  outbox_lane_pop(lane);
  ob->n_queue--;
  if (outbox_fill(ob->env.store, m) < 0) {
    log_kv(ob->env.log, LOG_ERROR, "outbox", "a queued message could not be read back from the store: tried "
           "again in a minute", "id", m->id, (char *)NULL);
    m->due_ms = now + OUTBOX_REREAD_MS;
    queue_insert(ob, m);
    return 1;
  }
  spend(ob, lane, now);
  if (m->claimed)
    deliver(ob, lane, m);
  else
    claim(ob, lane, m);
  return 1;
}

/* A message spoken in the batch just committed that must wait for rate or max_in_flight
 * gives its first attempt back: written again with attempt 0 and queued, so that a crash
 * while it waits costs it no attempt; it is claimed when its turn comes. One cut only by
 * the turn's bound (the lane could go on) keeps its claim and goes at the next turn, a
 * loop turn away: writing a burst back and claiming it again would cost two writes and a
 * commit per message. */
static void unclaim_waiting(struct outbox *ob, struct outbox_lane *lane, int64_t now)
{
  if (lane->fresh.head && (ob->env.capture || outbox_lane_may_send(lane, now)))
    return;
  for (struct parley_msg *m = outbox_fifo_take(&lane->fresh); m; m = outbox_fifo_take(&lane->fresh)) {
    m->attempt--;
    m->claimed = 0;
    ob->env.store->ops->msg_put(ob->env.store, m);
    queue_insert(ob, m);
  }
}

/* One message per lane in turn, so no channel waits behind another's backlog. A message
 * retried during the kick is due later than now (a backoff), or is cut by the turn's
 * bound: the loop never spins here. */
void outbox_kick(struct outbox *ob)
{
  if (ob->kicking)
    return;
  ob->kicking = 1;
  int64_t now = clock_now_ms(ob->env.clock);
  int progress;
  do {
    progress = 0;
    for (size_t i = 0; i < ob->n_lanes; i++)
      progress |= lane_step(ob, ob->lanes[i], now);
  } while (progress);
  for (size_t i = 0; i < ob->n_lanes; i++)
    unclaim_waiting(ob, ob->lanes[i], now);
  ob->kicking = 0;
}

int outbox_next_due(const struct outbox *ob, int64_t *due_ms)
{
  int have = 0;
  int64_t now = clock_now_ms(ob->env.clock);
  for (size_t i = 0; i < ob->n_lanes; i++) {
    int64_t at;
    if (!outbox_lane_next_at(ob->lanes[i], &at))
      continue;
    if (at < now)
      at = now;
    if (!have || at < *due_ms) {
      *due_ms = at;
      have = 1;
    }
  }
  if (have && ob->turn_cut && *due_ms > now)
    *due_ms = now;
  return have;
}

size_t outbox_active(const struct outbox *ob)
{
  size_t n = ob->n_queue + ob->n_sending;
  for (size_t i = 0; i < ob->n_lanes; i++)
    n += ob->lanes[i]->reserved;
  return n;
}

/* --- restart --- */

static void restore_one(void *ud, struct parley_msg *m)
{
  struct outbox *ob = ud;
  if (m->state == MSG_DEAD) {
    msg_record_free(m);
    return;
  }
  m->claimed = 0; /* one in flight at the stop is claimed again: same id, next attempt */
  if (m->attempt >= ob->env.policy.max_attempts) {
    char detail[128];
    snprintf(detail, sizeof detail, "attempt %u of %u did not finish before a restart", m->attempt,
             ob->env.policy.max_attempts);
    dead_letter(ob, m, "retries_exhausted", detail, -1);
    return;
  }
  queue_push(ob, m);
}

void outbox_restore(struct outbox *ob)
{
  uint64_t dead = ob->env.stats->dead;
  ob->env.store->ops->msg_each(ob->env.store, restore_one, ob);
  char n[24];
  if (ob->n_queue) {
    snprintf(n, sizeof n, "%zu", ob->n_queue);
    log_kv(ob->env.log, LOG_INFO, "outbox", "messages to deliver again after a restart", "count", n,
           (char *)NULL);
  }
  if (ob->env.stats->dead > dead) {
    snprintf(n, sizeof n, "%llu", (unsigned long long)(ob->env.stats->dead - dead));
    log_kv(ob->env.log, LOG_WARN, "outbox", "messages whose attempts were used up before a restart: dead-lettered",
           "count", n, (char *)NULL);
  }
}

/* Messages in flight belong to plugins until send_done; plugins are shut down before this
 * runs, so those are abandoned here (they are still stored: the next start sends them). */
void outbox_close(struct outbox *ob)
{
  outbox_drop_fresh(ob);
  for (size_t i = 0; i < ob->n_lanes; i++) {
    struct outbox_lane *lane = ob->lanes[i];
    for (size_t j = 0; j < lane->n_heap; j++)
      msg_record_free(lane->heap[j]);
    for (struct parley_msg *m = outbox_fifo_take(&lane->ready); m; m = outbox_fifo_take(&lane->ready))
      msg_record_free(m);
    for (struct parley_msg *m = outbox_fifo_take(&lane->fresh); m; m = outbox_fifo_take(&lane->fresh))
      msg_record_free(m);
    outbox_lane_free(lane);
  }
  free(ob->lanes);
  for (struct parley_msg *m = ob->sending, *n; m; m = n) {
    n = m->next;
    msg_record_free(m);
  }
  answer_clear(&ob->in_send_answer);
  memset(ob, 0, sizeof *ob);
}

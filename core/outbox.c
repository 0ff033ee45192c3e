/* Delivery (see outbox.h): at least once, with the message id as idempotency key;
 * exponential backoff with jitter on PARLEY_RETRY, or the provider's wait when later;
 * dead letters kept (and logged) after max_attempts or at once on a permanent failure. Queued messages sit in a binary heap ordered by
 * (due time, arrival), so a kick and the retry timer read the earliest in O(1) and a
 * commit never scans every message waiting for a retry. */
#include "outbox.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_load.h"

void outbox_init(struct outbox *ob, const struct outbox_env *env)
{
  memset(ob, 0, sizeof *ob);
  ob->env = *env;
}

/* --- the queue: a min-heap on (due_ms, seq) --- */

static int earlier(const struct parley_msg *a, const struct parley_msg *b)
{
  return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->seq < b->seq;
}

static void sift_up(struct outbox *ob, size_t i)
{
  struct parley_msg **q = ob->queue;
  while (i > 0 && earlier(q[i], q[(i - 1) / 2])) {
    struct parley_msg *t = q[i];
    q[i] = q[(i - 1) / 2];
    q[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

static void sift_down(struct outbox *ob, size_t i)
{
  struct parley_msg **q = ob->queue;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < ob->n_queue && earlier(q[l], q[m]))
      m = l;
    if (r < ob->n_queue && earlier(q[r], q[m]))
      m = r;
    if (m == i)
      return;
    struct parley_msg *t = q[i];
    q[i] = q[m];
    q[m] = t;
    i = m;
  }
}

/* Queues `m` in its arrival order `m->seq`. Out of memory, the message stays stored (it
 * is delivered after a restart) and the failure is logged: it is never freed while the
 * store still holds it queued. */
static void queue_insert(struct outbox *ob, struct parley_msg *m)
{
  if (ob->n_queue == ob->cap_queue) {
    size_t cap = ob->cap_queue ? ob->cap_queue * 2 : 64;
    struct parley_msg **q = realloc(ob->queue, cap * sizeof *q);
    if (!q) {
      log_kv(ob->env.log, LOG_ERROR, "outbox", "out of memory: message left for the next start",
             "id", m->id, (char *)NULL);
      msg_record_free(m);
      return;
    }
    ob->queue = q;
    ob->cap_queue = cap;
  }
  m->state = MSG_QUEUED;
  m->next = NULL;
  ob->queue[ob->n_queue++] = m;
  sift_up(ob, ob->n_queue - 1);
}

static void queue_push(struct outbox *ob, struct parley_msg *m)
{
  m->seq = ob->next_seq++;
  queue_insert(ob, m);
}

static struct parley_msg *queue_pop(struct outbox *ob)
{
  assert(ob->n_queue > 0);
  struct parley_msg *m = ob->queue[0];
  ob->queue[0] = ob->queue[--ob->n_queue];
  sift_down(ob, 0);
  return m;
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

int outbox_enqueue(struct outbox *ob, struct parley_msg *m)
{
  m->state = MSG_QUEUED;
  int rc = ob->env.store->ops->msg_put(ob->env.store, m);
  m->next = ob->fresh;
  ob->fresh = m;
  return rc;
}

int outbox_has_fresh(const struct outbox *ob)
{
  return ob->fresh != NULL || ob->erasing != NULL;
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
  for (struct parley_msg *m = r, *n; m; m = n) {
    n = m->next;
    queue_push(ob, m);
  }
  settle_erasures(ob, 1);
}

void outbox_drop_fresh(struct outbox *ob)
{
  for (struct parley_msg *m = ob->fresh, *n; m; m = n) {
    n = m->next;
    msg_record_free(m);
  }
  ob->fresh = NULL;
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

/* Queued messages for `contact` are set aside, and the heap is built again from the rest
 * (one pass: the whole queue is read anyway). */
static size_t erase_queued(struct outbox *ob, const char *contact)
{
  size_t kept = 0, n = 0;
  for (size_t i = 0; i < ob->n_queue; i++) {
    struct parley_msg *m = ob->queue[i];
    if (strcmp(m->contact, contact) != 0) {
      ob->queue[kept++] = m;
      continue;
    }
    m->next = ob->erasing;
    ob->erasing = m;
    n++;
  }
  ob->n_queue = kept;
  for (size_t i = kept / 2; i-- > 0;)
    sift_down(ob, i);
  return n;
}

size_t outbox_erase_contact(struct outbox *ob, const char *contact)
{
  assert(!ob->kicking && ob->in_send == NULL);
  size_t n = erase_fresh(ob, contact) + erase_queued(ob, contact);
  for (struct parley_msg *m = ob->sending; m; m = m->next) {
    if (!m->erased && strcmp(m->contact, contact) == 0) {
      m->erased = OUTBOX_ERASING;
      n++;
    }
  }
  return n;
}

static void restore_one(void *ud, struct parley_msg *m)
{
  struct outbox *ob = ud;
  if (m->state == MSG_DEAD) {
    msg_record_free(m);
    return;
  }
  queue_push(ob, m); /* one in flight at the stop is handed over again, same id */
}

void outbox_restore(struct outbox *ob)
{
  ob->env.store->ops->msg_each(ob->env.store, restore_one, ob);
  if (ob->n_queue) {
    char n[24];
    snprintf(n, sizeof n, "%zu", ob->n_queue);
    log_kv(ob->env.log, LOG_INFO, "outbox", "messages to deliver again after a restart", "count", n,
           (char *)NULL);
  }
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
  if (st == PARLEY_OK)
    env->stats->delivered++;
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
  log_kv(env->log, LOG_DEBUG, "outbox", "delivered", "id", m->id, "channel", m->channel, (char *)NULL);
  env->store->ops->msg_del(env->store, m->id);
  tell_end(ob, m, &(struct outbox_end){.delivered = 1, .provider_id = provider_id});
}

/* The next attempt waits the backoff, or what the provider asked when that is longer. */
static void retry_later(struct outbox *ob, struct parley_msg *m, const struct plugin_result *r)
{
  const struct outbox_env *env = &ob->env;
  int64_t wait = outbox_backoff_ms(&env->policy, m->attempt);
  int64_t asked = r->retry_after_ms > (uint64_t)OUTBOX_RETRY_AFTER_MAX_MS ? OUTBOX_RETRY_AFTER_MAX_MS
                                                                          : (int64_t)r->retry_after_ms;
  m->due_ms = clock_now_ms(env->clock) + (asked > wait ? asked : wait);
  m->state = MSG_QUEUED;
  env->store->ops->msg_put(env->store, m);
  env->stats->retried++;
  log_kv(env->log, LOG_INFO, "outbox", "delivery will be retried", "id", m->id, "channel",
         m->channel, "reason", r->detail ? r->detail : "", (char *)NULL);
  queue_push(ob, m);
}

/* `reason` is the plugin's (its name leads last_error, so `parley inspect --dead` shows
 * it) or the outbox's own ("retries_exhausted", "no_plugin": the detail alone). */
static void dead_letter(struct outbox *ob, struct parley_msg *m, const char *reason,
                        const char *detail, int plugin_reason)
{
  const struct outbox_env *env = &ob->env;
  char text[1024];
  if (plugin_reason && strcmp(reason, "other") != 0)
    snprintf(text, sizeof text, "%s%s%s", reason, detail ? ": " : "", detail ? detail : "");
  else
    snprintf(text, sizeof text, "%s", detail ? detail : "");
  free(m->last_error);
  m->last_error = text[0] ? strdup(text) : NULL;
  m->state = MSG_DEAD;
  env->stats->dead++;
  log_kv(env->log, LOG_WARN, "outbox", "dead letter", "id", m->id, "channel", m->channel, "contact",
         m->contact, "reason", reason, "detail", detail ? detail : "", (char *)NULL);
  env->store->ops->msg_put(env->store, m); /* kept for inspection and replay */
  tell_end(ob, m, &(struct outbox_end){.reason = reason});
}

/* The attempt of `m` (state MSG_SENDING, owned by no queue) ended with `r`. */
static void finish(struct outbox *ob, struct parley_msg *m, const struct plugin_result *r)
{
  assert(m->state == MSG_SENDING);
  if (m->erased) {
    forget_erased(ob, m, r->status);
    return;
  }
  if (r->status == PARLEY_OK) {
    free(m->last_error);
    m->last_error = NULL;
    delivered(ob, m, r->provider_id);
  } else if (r->status == PARLEY_ERROR) {
    dead_letter(ob, m, plugin_fail_reason_name(r->reason), r->detail, 1);
  } else if (m->attempt < ob->env.policy.max_attempts) {
    free(m->last_error);
    m->last_error = r->detail ? strdup(r->detail) : NULL;
    retry_later(ob, m, r);
  } else {
    dead_letter(ob, m, "retries_exhausted", r->detail, 0);
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

/* One attempt. The plugin may answer by its return value, by send_done before returning
 * (in_send), or later; emitted receipts are queued by the core, never applied here. */
static void deliver(struct outbox *ob, struct parley_msg *m)
{
  const struct outbox_env *env = &ob->env;
  m->attempt++;
  m->state = MSG_SENDING;
  if (env->capture) {
    env->capture(env->capture_ud, m);
    finish_status(ob, m, PARLEY_OK);
    return;
  }
  struct plugin_inst *inst = env->channel_plugin(env->ud, m->channel);
  if (!inst) {
    dead_letter(ob, m, "no_plugin", "no plugin serves this channel", 0);
    return;
  }
  assert(ob->in_send == NULL); /* sends never nest: nothing re-enters a kick */
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

void outbox_kick(struct outbox *ob)
{
  if (ob->kicking)
    return;
  ob->kicking = 1;
  int64_t now = clock_now_ms(ob->env.clock);
  /* At most the messages queued now: one retried at once (a zero backoff) waits for the
   * next kick instead of spinning here. */
  for (size_t left = ob->n_queue; left > 0 && ob->n_queue > 0 && ob->queue[0]->due_ms <= now; left--)
    deliver(ob, queue_pop(ob));
  ob->kicking = 0;
}

int outbox_next_due(const struct outbox *ob, int64_t *due_ms)
{
  if (ob->n_queue == 0)
    return 0;
  *due_ms = ob->queue[0]->due_ms;
  return 1;
}

size_t outbox_active(const struct outbox *ob)
{
  return ob->n_queue + ob->n_sending;
}

/* Messages in flight belong to plugins until send_done; plugins are shut down before this
 * runs, so those are abandoned here (they are still stored: the next start sends them). */
void outbox_close(struct outbox *ob)
{
  outbox_drop_fresh(ob);
  for (size_t i = 0; i < ob->n_queue; i++)
    msg_record_free(ob->queue[i]);
  for (struct parley_msg *m = ob->sending, *n; m; m = n) {
    n = m->next;
    msg_record_free(m);
  }
  free(ob->queue);
  answer_clear(&ob->in_send_answer);
  memset(ob, 0, sizeof *ob);
}

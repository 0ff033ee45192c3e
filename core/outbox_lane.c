/* A channel's lane (see outbox_lane.h): its heap, its token bucket, its figures. */
#include "outbox_lane.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_load.h"
#include "store/records.h"

const double outbox_latency_bounds[OUTBOX_LATENCY_BUCKETS] = {0.05, 0.1, 0.25, 0.5,  1,     2.5,   5,    10,
                                                               30,   60,  300,  900, 3600, 21600, 86400};

const char *outbox_fail_reason_name(int i)
{
  return plugin_fail_reason_name((enum parley_fail_reason)i);
}

struct outbox_lane *outbox_lane_new(const char *channel, const struct outbox_flow *flow)
{
  struct outbox_lane *lane = calloc(1, sizeof *lane);
  if (!lane || !(lane->channel = strdup(channel))) {
    free(lane);
    return NULL;
  }
  outbox_lane_set_flow(lane, flow);
  return lane;
}

void outbox_lane_free(struct outbox_lane *lane)
{
  if (!lane)
    return;
  free(lane->heap);
  free(lane->channel);
  free(lane);
}

void outbox_lane_set_flow(struct outbox_lane *lane, const struct outbox_flow *flow)
{
  lane->flow = flow ? *flow : (struct outbox_flow){0};
  lane->interval_us = lane->flow.rate > 0 ? llround(1e6 / lane->flow.rate) : 0;
  if (lane->flow.rate > 0 && lane->interval_us < 1)
    lane->interval_us = 1;
  if (lane->flow.burst < 1)
    lane->flow.burst = 1;
}

/* --- the heap: a min-heap on (due_ms, seq) --- */

static int earlier(const struct parley_msg *a, const struct parley_msg *b)
{
  return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->seq < b->seq;
}

static void sift_up(struct outbox_lane *lane, size_t i)
{
  struct parley_msg **q = lane->heap;
  while (i > 0 && earlier(q[i], q[(i - 1) / 2])) {
    struct parley_msg *t = q[i];
    q[i] = q[(i - 1) / 2];
    q[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

static void sift_down(struct outbox_lane *lane, size_t i)
{
  struct parley_msg **q = lane->heap;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < lane->n_heap && earlier(q[l], q[m]))
      m = l;
    if (r < lane->n_heap && earlier(q[r], q[m]))
      m = r;
    if (m == i)
      return;
    struct parley_msg *t = q[i];
    q[i] = q[m];
    q[m] = t;
    i = m;
  }
}

int outbox_lane_push(struct outbox_lane *lane, struct parley_msg *m)
{
  if (lane->n_heap == lane->cap_heap) {
    size_t cap = lane->cap_heap ? lane->cap_heap * 2 : 64;
    struct parley_msg **q = realloc(lane->heap, cap * sizeof *q);
    if (!q)
      return -1;
    lane->heap = q;
    lane->cap_heap = cap;
  }
  m->next = NULL;
  lane->heap[lane->n_heap++] = m;
  sift_up(lane, lane->n_heap - 1);
  return 0;
}

struct parley_msg *outbox_lane_peek(const struct outbox_lane *lane)
{
  return lane->n_heap ? lane->heap[0] : NULL;
}

struct parley_msg *outbox_lane_pop(struct outbox_lane *lane)
{
  assert(lane->n_heap > 0);
  struct parley_msg *m = lane->heap[0];
  lane->heap[0] = lane->heap[--lane->n_heap];
  sift_down(lane, 0);
  return m;
}

/* One pass over the heap (it is read whole anyway), then the heap is built again. */
size_t outbox_lane_take_contact(struct outbox_lane *lane, const char *contact, struct parley_msg **into)
{
  size_t kept = 0, n = 0;
  for (size_t i = 0; i < lane->n_heap; i++) {
    struct parley_msg *m = lane->heap[i];
    if (strcmp(m->contact, contact) != 0) {
      lane->heap[kept++] = m;
      continue;
    }
    m->next = *into;
    *into = m;
    n++;
  }
  lane->n_heap = kept;
  for (size_t i = kept / 2; i-- > 0;)
    sift_down(lane, i);
  return n;
}

/* --- lists --- */

void outbox_fifo_add(struct outbox_fifo *q, struct parley_msg *m)
{
  m->next = NULL;
  if (q->tail)
    q->tail->next = m;
  else
    q->head = m;
  q->tail = m;
}

struct parley_msg *outbox_fifo_take(struct outbox_fifo *q)
{
  struct parley_msg *m = q->head;
  if (m) {
    q->head = m->next;
    if (!q->head)
      q->tail = NULL;
    m->next = NULL;
  }
  return m;
}

/* --- flow control --- */

static int slots_full(const struct outbox_lane *lane)
{
  return lane->flow.max_in_flight && lane->in_flight + lane->reserved >= lane->flow.max_in_flight;
}

/* The bucket holds a token when its next one is due within the burst's tolerance. */
static int64_t token_due_us(const struct outbox_lane *lane)
{
  return lane->tat_us - (int64_t)(lane->flow.burst - 1) * lane->interval_us;
}

int outbox_lane_may_send(const struct outbox_lane *lane, int64_t now_ms)
{
  if (slots_full(lane))
    return 0;
  return lane->interval_us == 0 || token_due_us(lane) <= now_ms * 1000;
}

void outbox_lane_take_token(struct outbox_lane *lane, int64_t now_ms)
{
  if (lane->interval_us == 0)
    return;
  int64_t now_us = now_ms * 1000;
  lane->tat_us = (lane->tat_us > now_us ? lane->tat_us : now_us) + lane->interval_us;
}

int outbox_lane_next_at(const struct outbox_lane *lane, int64_t *at_ms)
{
  const struct parley_msg *head = outbox_lane_peek(lane);
  if (lane->ready.head || lane->fresh.head) { /* handed over at the next kick */
    *at_ms = 0;
    return 1;
  }
  if (!head || slots_full(lane)) /* a completion frees a slot, and the loop kicks then */
    return 0;
  int64_t at = head->due_ms;
  if (lane->interval_us) {
    int64_t us = token_due_us(lane), token_ms = us / 1000 + (us % 1000 > 0); /* rounded up */
    if (token_ms > at)
      at = token_ms;
  }
  *at_ms = at;
  return 1;
}

void outbox_lane_observe_latency(struct outbox_lane *lane, double seconds)
{
  size_t i = 0;
  if (seconds < 0)
    seconds = 0;
  while (i < OUTBOX_LATENCY_BUCKETS && seconds > outbox_latency_bounds[i])
    i++;
  lane->stats.latency[i]++;
  lane->stats.latency_sum += seconds;
  lane->stats.delivered++;
}

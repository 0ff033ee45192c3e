/* One channel's lane in the outbox: its queue (a heap on due time, then arrival), its flow
 * control (a token bucket on the core's clock and a count of messages the plugin holds),
 * and its figures for /metrics. Each channel has its own lane, so a throttled or stuck
 * channel never delays another's messages (outbox.c takes one message per lane in turn).
 *
 * The bucket is kept as the time its next token is due ("theoretical arrival time", the
 * GCRA form of a token bucket): integral microseconds, so a virtual clock gives the same
 * hand-over times on every run. It starts full: `burst` messages may go at once, then one
 * every 1/rate seconds. */
#ifndef PARLEY_OUTBOX_LANE_H
#define PARLEY_OUTBOX_LANE_H
#include <stddef.h>
#include <stdint.h>

struct parley_msg;

/* A channel's limits. rate 0: no rate limit; max_in_flight 0: no limit. */
struct outbox_flow {
  double rate;            /* messages per second */
  unsigned burst;         /* messages at once (>= 1 with a rate) */
  unsigned max_in_flight; /* messages handed to the plugin and not yet completed */
};

/* Upper bounds (seconds) of the speak-to-delivered latency histogram; +Inf follows. */
#define OUTBOX_LATENCY_BUCKETS 15
extern const double outbox_latency_bounds[OUTBOX_LATENCY_BUCKETS];
/* Permanent failures are counted by enum parley_fail_reason, 0 (other) to this. */
#define OUTBOX_FAIL_REASONS 5
/* The name of failure reason `i` ("invalid_address"), as "<channel>.failed" gives it. */
const char *outbox_fail_reason_name(int i);

/* Since the process started. */
struct outbox_lane_stats {
  uint64_t delivered, retried, dead;
  uint64_t failed[OUTBOX_FAIL_REASONS];          /* the plugin's permanent failures */
  uint64_t latency[OUTBOX_LATENCY_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
  double latency_sum;                            /* seconds */
};

/* A list of messages in arrival order, linked through ->next. */
struct outbox_fifo {
  struct parley_msg *head, *tail;
};

struct outbox_lane {
  char *channel;
  struct outbox_flow flow;
  int64_t interval_us;       /* 1 s / rate; 0 without a rate */
  int64_t tat_us;            /* when the bucket's next token is due, tolerance aside */
  struct parley_msg **heap;  /* queued: the earliest due first, then first come */
  size_t n_heap, cap_heap;
  struct outbox_fifo ready;  /* claims committed, to be handed over */
  struct outbox_fifo fresh;  /* spoken in the batch just committed (attempt 1 claimed): handed
                                over in this kick, or unclaimed at its end */
  size_t in_flight;          /* handed to the plugin, not completed */
  size_t reserved;           /* claimed (in the open batch, or ready): a slot is theirs */
  struct outbox_lane_stats stats;
};

/* A lane for `channel` with `flow` (NULL: no limits). NULL when out of memory. */
struct outbox_lane *outbox_lane_new(const char *channel, const struct outbox_flow *flow);
/* Frees the lane and its arrays, not the messages (the outbox frees those). */
void outbox_lane_free(struct outbox_lane *lane);
void outbox_lane_set_flow(struct outbox_lane *lane, const struct outbox_flow *flow);

/* The heap. push returns -1 when out of memory (the message is not queued). */
int outbox_lane_push(struct outbox_lane *lane, struct parley_msg *m);
struct parley_msg *outbox_lane_peek(const struct outbox_lane *lane);
struct parley_msg *outbox_lane_pop(struct outbox_lane *lane);
/* Takes every queued message of `contact` out, linked through ->next onto *into, and
 * builds the heap again from the rest. Returns how many. */
size_t outbox_lane_take_contact(struct outbox_lane *lane, const char *contact, struct parley_msg **into);

void outbox_fifo_add(struct outbox_fifo *q, struct parley_msg *m);
/* The first message, taken out; NULL when empty. */
struct parley_msg *outbox_fifo_take(struct outbox_fifo *q);

/* Flow control: may one more message be handed over (or claimed) at `now_ms`? take
 * spends a token. */
int outbox_lane_may_send(const struct outbox_lane *lane, int64_t now_ms);
void outbox_lane_take_token(struct outbox_lane *lane, int64_t now_ms);
/* When this lane can next make progress on its own: 1 and *at_ms, or 0 when it holds
 * nothing due or waits for a completion (a free slot) rather than for time. */
int outbox_lane_next_at(const struct outbox_lane *lane, int64_t *at_ms);

/* A delivery that took `seconds` from speak. */
void outbox_lane_observe_latency(struct outbox_lane *lane, double seconds);

#endif

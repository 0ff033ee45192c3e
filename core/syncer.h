/* The store's flusher: a thread of its own that makes commits durable (the store's `sync`,
 * an fdatasync for LMDB) while the loop goes on applying and committing the next ones.
 * The loop says what it wants on disk (syncer_want, a commit's mark); the thread flushes
 * and tells the loop (syncer_env.durable, called on the loop) what it reached.
 *
 * Two paces. Without an interval the thread flushes as soon as something waits: the
 * daemon answers a request once its commit is flushed, and the requests that arrive during
 * one flush share the next (group commit, pipelined with the disk). With an interval
 * (store.sync = "interval") it flushes at most once per interval, and the daemon answers
 * at commit: what a machine crash may lose is the last interval and one flush. */
#ifndef PARLEY_SYNCER_H
#define PARLEY_SYNCER_H
#include <ev.h>
#include <stdint.h>

#include "store/store.h"

struct syncer;

struct syncer_env {
  struct store *store;   /* its `sync` is the only call made from the thread */
  struct ev_loop *loop;
  int64_t interval_ms;   /* 0: flush at once; else at most once per interval */
  /* On the loop: every commit up to `upto` is durable; or a flush failed (`failed` says
   * why; upto is then what was durable before it). */
  void (*durable)(void *ud, uint64_t upto, const char *failed);
  void *ud;
};

/* Starts the thread. NULL (err says why) when it cannot be started. */
struct syncer *syncer_start(const struct syncer_env *env, char *err, size_t errlen);
/* Commits up to `mark` should be flushed (a later mark replaces an earlier one). */
void syncer_want(struct syncer *sy, uint64_t mark);
/* The mark every flushed commit is at or below. */
uint64_t syncer_reached(const struct syncer *sy);
/* Blocks until `mark` is flushed or a flush failed; 0 or -1. For stopping, not for the loop's
 * ordinary turns. */
int syncer_wait(struct syncer *sy, uint64_t mark);
/* Flushes what was wanted, stops the thread and frees it (NULL is fine). */
void syncer_stop(struct syncer *sy);

#endif

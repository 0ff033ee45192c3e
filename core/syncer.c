/* The store's flusher thread (see syncer.h). The thread and the loop share only the
 * fields under `mu`; the thread calls nothing but the store's `sync`. */
#include "syncer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SYNCER_RETRY_MS 1000 /* after a failed flush, the next try */

struct syncer {
  struct syncer_env env;
  ev_async done; /* the thread -> the loop: a flush ended */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake; /* to the thread: something is wanted, or stop */
  pthread_cond_t flushed; /* to syncer_wait: a flush ended */
  /* under mu */
  uint64_t wanted, reached;
  unsigned failures; /* flushes failed so far (the loop reports each new one) */
  char why[256];
  int stop;
  /* the loop's own */
  uint64_t seen;
  unsigned failures_told;
};

static void deadline_in(struct timespec *ts, int64_t ms)
{
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* Waits (mu held) until `until`, or until stop. */
static void pause_until(struct syncer *sy, const struct timespec *until)
{
  while (!sy->stop && pthread_cond_timedwait(&sy->wake, &sy->mu, until) != ETIMEDOUT)
    ;
}

/* One flush, mu held on entry and on return (released during the flush). */
static void flush_once(struct syncer *sy)
{
  char err[256] = "";
  uint64_t upto = 0;
  pthread_mutex_unlock(&sy->mu);
  int rc = sy->env.store->ops->sync(sy->env.store, &upto, err, sizeof err);
  pthread_mutex_lock(&sy->mu);
  if (rc == 0) {
    if (upto > sy->reached)
      sy->reached = upto;
  } else {
    sy->failures++;
    snprintf(sy->why, sizeof sy->why, "%s", err);
  }
  pthread_cond_broadcast(&sy->flushed);
}

/* The thread: flush whenever more is wanted than reached, at the configured pace; after
 * a failure, wait a while before the next try. On stop, one last flush of what is wanted. */
static void *run(void *arg)
{
  struct syncer *sy = arg;
  pthread_mutex_lock(&sy->mu);
  for (;;) {
    while (!sy->stop && sy->wanted <= sy->reached)
      pthread_cond_wait(&sy->wake, &sy->mu);
    if (sy->stop && sy->wanted <= sy->reached)
      break;
    struct timespec next;
    deadline_in(&next, sy->env.interval_ms);
    unsigned failures = sy->failures;
    flush_once(sy);
    ev_async_send(sy->env.loop, &sy->done);
    if (sy->stop && sy->failures != failures)
      break; /* stopping on a failing disk: syncer_wait has its answer */
    if (sy->failures != failures)
      deadline_in(&next, SYNCER_RETRY_MS);
    if (sy->env.interval_ms > 0 || sy->failures != failures)
      pause_until(sy, &next);
  }
  pthread_mutex_unlock(&sy->mu);
  return NULL;
}

/* On the loop: tell what the thread reached, and each failure once. */
static void deliver(struct syncer *sy)
{
  pthread_mutex_lock(&sy->mu);
  uint64_t reached = sy->reached;
  unsigned failures = sy->failures;
  char why[256];
  memcpy(why, sy->why, sizeof why);
  pthread_mutex_unlock(&sy->mu);
  sy->seen = reached;
  int failed = failures != sy->failures_told;
  sy->failures_told = failures;
  sy->env.durable(sy->env.ud, reached, failed ? why : NULL);
}

static void on_done(struct ev_loop *loop, ev_async *w, int revents)
{
  deliver(w->data);
}

struct syncer *syncer_start(const struct syncer_env *env, char *err, size_t errlen)
{
  struct syncer *sy = calloc(1, sizeof *sy);
  if (!sy) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  sy->env = *env;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&sy->mu, NULL);
  pthread_cond_init(&sy->wake, &ca);
  pthread_cond_init(&sy->flushed, NULL);
  pthread_condattr_destroy(&ca);
  ev_async_init(&sy->done, on_done);
  sy->done.data = sy;
  ev_async_start(env->loop, &sy->done);
  ev_unref(env->loop); /* a flusher waiting for work does not keep the loop running */
  int rc = pthread_create(&sy->thread, NULL, run, sy);
  if (rc) {
    snprintf(err, errlen, "the store's flusher thread: %s", strerror(rc));
    ev_ref(env->loop);
    ev_async_stop(env->loop, &sy->done);
    pthread_cond_destroy(&sy->wake);
    pthread_cond_destroy(&sy->flushed);
    pthread_mutex_destroy(&sy->mu);
    free(sy);
    return NULL;
  }
  return sy;
}

void syncer_want(struct syncer *sy, uint64_t mark)
{
  pthread_mutex_lock(&sy->mu);
  if (mark > sy->wanted) {
    sy->wanted = mark;
    pthread_cond_signal(&sy->wake);
  }
  pthread_mutex_unlock(&sy->mu);
}

uint64_t syncer_reached(const struct syncer *sy)
{
  return sy->seen;
}

int syncer_wait(struct syncer *sy, uint64_t mark)
{
  syncer_want(sy, mark);
  pthread_mutex_lock(&sy->mu);
  unsigned failures = sy->failures;
  while (sy->reached < mark && sy->failures == failures)
    pthread_cond_wait(&sy->flushed, &sy->mu);
  int ok = sy->reached >= mark;
  pthread_mutex_unlock(&sy->mu);
  deliver(sy);
  return ok ? 0 : -1;
}

void syncer_stop(struct syncer *sy)
{
  if (!sy)
    return;
  pthread_mutex_lock(&sy->mu);
  sy->stop = 1;
  pthread_cond_signal(&sy->wake);
  pthread_mutex_unlock(&sy->mu);
  pthread_join(sy->thread, NULL);
  ev_ref(sy->env.loop);
  ev_async_stop(sy->env.loop, &sy->done);
  pthread_cond_destroy(&sy->wake);
  pthread_cond_destroy(&sy->flushed);
  pthread_mutex_destroy(&sy->mu);
  free(sy);
}

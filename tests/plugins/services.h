/* The `services` test plugin's instance, shared with the tests that read it through the
 * loader (a test may look at what the host wrote into an instance and what the plugin
 * counted; a real integrator has no such window). */
#ifndef PARLEY_TEST_SERVICES_H
#define PARLEY_TEST_SERVICES_H
#include <pthread.h>
#include <stdint.h>

#include <parley/plugin.h>

#define SVC_MAX_THREADS 8

struct svc {
  /* settings */
  const char *label;         /* STRING */
  int64_t count;             /* INT: metric values */
  int flag;                  /* BOOL */
  int64_t timeout_ms;        /* DURATION, default "30s" */
  const char *const *hosts;  /* LIST, default "a.example,b.example" */
  const char *token;         /* SECRET */
  int64_t watch_fd;          /* INT: an fd to watch, -1 none (default) */
  int64_t post_threads;      /* INT: threads started by init that post */
  int64_t posts_each;        /* INT */
  /* what the plugin saw */
  int bad_name_refused;      /* metric_register refused "Bad-Name" */
  int clash_refused;         /* metric_register refused sends_total as a gauge */
  int same_again;            /* registering sends_total twice gave the same handle */
  int64_t io_bytes;          /* read from watch_fd */
  int io_writes;             /* "ok" answers written */
  int io_eof;                /* the peer closed; the watcher stopped itself */
  int64_t posts_run;         /* posted functions run (loop thread) */
  int post_disorder;         /* a thread's posts ran out of order */
  int64_t last_seq[SVC_MAX_THREADS];
  int64_t posts_accepted;    /* post returned PARLEY_OK (threads; atomic) */
  int64_t posts_refused;     /* post returned PARLEY_ERROR (threads; atomic) */
  pthread_t threads[SVC_MAX_THREADS];
  int nthreads;
  parley_ctx *ctx;
  parley_io *io;
};

#endif

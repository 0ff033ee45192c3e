/* A test plugin for the host services of ABI 1.1: a setting of every type (the instance
 * layout is services.h, which the tests read), metrics registered in init (good, a bad
 * name, a type clash, the same one twice), an fd watcher on `watch_fd` that answers "ok"
 * to what it reads and stops itself when the peer closes, and `post_threads` threads that
 * each post `posts_each` functions from init on, joined in shutdown. Shutdown checks the
 * post promise (every accepted post ran; a post now is refused) and says so in the log. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "services.h"

static const struct parley_host *host;

static const struct parley_config_spec svc_config[] = {
    {"label", PARLEY_CONFIG_STRING, "none", 0, offsetof(struct svc, label), "a name"},
    {"count", PARLEY_CONFIG_INT, "1", 0, offsetof(struct svc, count), "metric values"},
    {"flag", PARLEY_CONFIG_BOOL, "false", 0, offsetof(struct svc, flag), "a switch"},
    {"timeout", PARLEY_CONFIG_DURATION, "30s", 0, offsetof(struct svc, timeout_ms), "how long"},
    {"hosts", PARLEY_CONFIG_LIST, "a.example,b.example", 0, offsetof(struct svc, hosts), "servers"},
    {"token", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct svc, token), "the provider's token"},
    {"watch_fd", PARLEY_CONFIG_INT, "-1", 0, offsetof(struct svc, watch_fd), "an fd to watch"},
    {"post_threads", PARLEY_CONFIG_INT, "0", 0, offsetof(struct svc, post_threads), "posting threads"},
    {"posts_each", PARLEY_CONFIG_INT, "0", 0, offsetof(struct svc, posts_each), "posts per thread"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* --- metrics --- */

static void metrics(parley_ctx *ctx, struct svc *s)
{
  static const double bounds[] = {0.1, 1};
  parley_metric *sends = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "sends_total", "Messages sent.", NULL, 0);
  host->metric_add(ctx, sends, (double)s->count);
  s->same_again = sends != NULL &&
                  host->metric_register(ctx, PARLEY_METRIC_COUNTER, "sends_total", "Messages sent.", NULL, 0) == sends;
  parley_metric *depth = host->metric_register(ctx, PARLEY_METRIC_GAUGE, "queue_depth", "Messages waiting.", NULL, 0);
  host->metric_set(ctx, depth, (double)(2 * s->count));
  host->metric_add(ctx, depth, -1);
  parley_metric *lat = host->metric_register(ctx, PARLEY_METRIC_HISTOGRAM, "latency_seconds",
                                             "Provider latency.", bounds, 2);
  host->metric_observe(ctx, lat, 0.05);
  host->metric_observe(ctx, lat, 0.5);
  host->metric_observe(ctx, lat, (double)s->count);
  host->metric_add(ctx, lat, 1); /* refused: a histogram is observed */
  s->bad_name_refused = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "Bad-Name", "x", NULL, 0) == NULL;
  s->clash_refused = host->metric_register(ctx, PARLEY_METRIC_GAUGE, "sends_total", "x", NULL, 0) == NULL;
}

/* --- fd watcher: read, answer "ok" when writable, stop at EOF --- */

static void on_io(parley_ctx *ctx, int fd, unsigned revents, void *arg)
{
  struct svc *s = arg;
  if (revents & PARLEY_IO_READ) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) {
      host->io_stop(ctx, s->io); /* from its own callback */
      s->io = NULL;
      s->io_eof = 1;
      return;
    }
    if (n > 0) {
      s->io_bytes += n;
      host->io_modify(ctx, s->io, PARLEY_IO_READ | PARLEY_IO_WRITE);
    }
  }
  if ((revents & PARLEY_IO_WRITE) && write(fd, "ok", 2) == 2) {
    s->io_writes++;
    host->io_modify(ctx, s->io, PARLEY_IO_READ);
  }
}

/* --- post from threads --- */

struct post_arg {
  struct svc *s;
  int thread;
  int64_t seq;
};

static void posted(parley_ctx *ctx, void *arg)
{
  struct post_arg *a = arg;
  struct svc *s = a->s;
  if (a->seq != s->last_seq[a->thread] + 1)
    s->post_disorder++;
  s->last_seq[a->thread] = a->seq;
  s->posts_run++;
  free(a);
}

struct thread_arg {
  struct svc *s;
  int thread;
};

static void *poster(void *p)
{
  struct thread_arg *t = p;
  struct svc *s = t->s;
  for (int64_t i = 1; i <= s->posts_each; i++) {
    struct post_arg *a = malloc(sizeof *a);
    *a = (struct post_arg){s, t->thread, i};
    if (host->post(s->ctx, posted, a) != PARLEY_OK) { /* closing: the arg is still ours */
      free(a);
      __atomic_add_fetch(&s->posts_refused, 1, __ATOMIC_SEQ_CST);
      break;
    }
    __atomic_add_fetch(&s->posts_accepted, 1, __ATOMIC_SEQ_CST);
  }
  free(t);
  return NULL;
}

static enum parley_status svc_init(parley_ctx *ctx, void *self)
{
  struct svc *s = self;
  s->ctx = ctx;
  metrics(ctx, s);
  if (s->watch_fd >= 0 && (s->io = host->io_start(ctx, (int)s->watch_fd, PARLEY_IO_READ, on_io, s)) == NULL) {
    host->set_error(ctx, "cannot watch watch_fd");
    return PARLEY_ERROR;
  }
  for (int i = 0; i < s->post_threads && i < SVC_MAX_THREADS; i++) { /* last: nothing fails after */
    struct thread_arg *t = malloc(sizeof *t);
    *t = (struct thread_arg){s, i};
    if (pthread_create(&s->threads[i], NULL, poster, t) != 0) {
      free(t);
      break;
    }
    s->nthreads++;
  }
  return PARLEY_OK;
}

static void svc_shutdown(parley_ctx *ctx, void *self)
{
  struct svc *s = self;
  for (int i = 0; i < s->nthreads; i++)
    pthread_join(s->threads[i], NULL);
  int64_t accepted = __atomic_load_n(&s->posts_accepted, __ATOMIC_SEQ_CST);
  if (s->nthreads && accepted == s->posts_run && s->post_disorder == 0)
    host->log(ctx, PARLEY_LOG_INFO, "posts accounted for", NULL);
  else if (s->nthreads)
    host->log(ctx, PARLEY_LOG_ERROR, "posts lost or out of order", NULL);
  int x = 0;
  if (host->post(ctx, posted, &x) == PARLEY_ERROR)
    host->log(ctx, PARLEY_LOG_INFO, "post refused in shutdown", NULL);
}

static const struct parley_plugin svc_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "services",
    .version = "1.0",
    .description = "exercises the host's 1.1 services",
    .instance_size = sizeof(struct svc),
    .config = svc_config,
    .init = svc_init,
    .shutdown = svc_shutdown,
    .config_spec_size = sizeof(struct parley_config_spec),
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &svc_plugin;
}

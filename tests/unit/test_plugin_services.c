/* The host services of ABI 1.1 that run on the loop, through the loader with the real
 * `services` test plugin: an fd watcher on one end of a socketpair (read, answer when
 * writable, stop itself at EOF; stopped without a call back at close), post from real
 * threads, many at once, with the shutdown promise checked while threads still post, and
 * plugin metrics as /metrics renders them (two instances, one family; refusals). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "plugin/plugin_int.h"
#include "plugin/plugin_load.h"
#include "plugin/plugin_metrics.h"
#include "../plugins/services.h"

#define SERVICES PARLEY_BUILDDIR "/tests/plugins/.libs/services.so"

struct fixture {
  struct log log;
  struct clock clock;
  struct ev_loop *loop;
  struct plugin_env env;
  struct plugin_metrics *metrics;
  char *logged;
  size_t logged_len;
  FILE *logf;
  char err[1024];
};

static void sink(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields)
{
  struct fixture *f = ud;
  fprintf(f->logf, "%s %s %s", log_level_name(lvl), subsys, msg);
  for (const char *k; (k = va_arg(fields, const char *)) != NULL;)
    fprintf(f->logf, " %s=%s", k, va_arg(fields, const char *));
  fputc('\n', f->logf);
  fflush(f->logf);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  f->logf = open_memstream(&f->logged, &f->logged_len);
  f->log = (struct log){.min = LOG_DEBUG, .sink = sink, .sink_ud = f};
  f->loop = ev_loop_new(EVFLAG_AUTO);
  clock_init_loop(&f->clock, f->loop);
  f->metrics = plugin_metrics_open();
  f->env = (struct plugin_env){.log = &f->log, .clock = &f->clock, .loop = f->loop, .metrics = f->metrics};
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  plugin_metrics_close(f->metrics);
  ev_loop_destroy(f->loop);
  fclose(f->logf);
  free(f->logged);
  free(f);
  return 0;
}

static struct plugin_inst *open_svc(struct fixture *f, const char *channel, const char *json)
{
  cJSON *s = cJSON_Parse(json);
  struct plugin_inst *pi = NULL;
  if (plugin_instance_open(&f->env, channel, SERVICES, s, &pi, f->err, sizeof f->err) != 0)
    fail_msg("open: %s", f->err);
  cJSON_Delete(s);
  return pi;
}

static long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Turns the loop until *flag reaches want (or 10 s pass). */
static void run_until(struct fixture *f, const int64_t *value, int64_t want)
{
  long end = now_ms() + 10000;
  while (__atomic_load_n(value, __ATOMIC_SEQ_CST) < want && now_ms() < end) {
    ev_run(f->loop, EVRUN_NOWAIT);
    usleep(200);
  }
  assert_true(*value >= want);
}

/* --- fd watchers --- */

static void test_io_socketpair(void **state)
{
  struct fixture *f = *state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  char json[64];
  snprintf(json, sizeof json, "{\"watch_fd\":%d}", sv[0]);
  struct plugin_inst *pi = open_svc(f, "sock", json);
  struct svc *s = pi->self;
  assert_int_equal(write(sv[1], "hello", 5), 5);
  run_until(f, &s->io_bytes, 5);
  int64_t writes = 0;
  long end = now_ms() + 5000;
  while (s->io_writes < 1 && now_ms() < end)
    ev_run(f->loop, EVRUN_NOWAIT);
  writes = s->io_writes;
  assert_int_equal(writes, 1); /* write readiness asked for once, answered once */
  char buf[8] = "";
  assert_int_equal(read(sv[1], buf, sizeof buf), 2);
  assert_memory_equal(buf, "ok", 2);
  for (int i = 0; i < 20; i++) /* paused for writing again: no more answers */
    ev_run(f->loop, EVRUN_NOWAIT);
  assert_int_equal(s->io_writes, 1);
  close(sv[1]); /* EOF: the watcher stops itself from its callback */
  end = now_ms() + 5000;
  while (!s->io_eof && now_ms() < end)
    ev_run(f->loop, EVRUN_NOWAIT);
  assert_int_equal(s->io_eof, 1);
  assert_null(pi->ios);
  plugin_instance_close(pi);
  close(sv[0]);
}

static void test_io_stopped_at_close(void **state)
{
  struct fixture *f = *state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  char json[64];
  snprintf(json, sizeof json, "{\"watch_fd\":%d}", sv[0]);
  struct plugin_inst *pi = open_svc(f, "sock", json);
  assert_non_null(pi->ios);
  assert_int_equal(write(sv[1], "pending", 7), 7); /* ready, but the instance closes first */
  plugin_instance_close(pi);
  for (int i = 0; i < 20; i++) /* nothing calls into the closed plugin (ASan would say) */
    ev_run(f->loop, EVRUN_NOWAIT);
  close(sv[0]);
  close(sv[1]);
}

static void test_io_refused(void **state)
{
  struct fixture *f = *state;
  const struct parley_host *h = plugin_host_table();
  struct plugin_inst *pi = open_svc(f, "sock", "{}");
  parley_ctx *ctx = plugin_ctx(pi);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[1]);
  assert_null(h->io_start(ctx, -1, PARLEY_IO_READ, (parley_io_cb)abort, NULL));
  assert_null(h->io_start(ctx, sv[1], PARLEY_IO_READ, (parley_io_cb)abort, NULL)); /* closed */
  assert_non_null(strstr(f->logged, "io_start refused plugin=services fd=-1 reason=not an open file descriptor"));
  assert_null(h->io_start(ctx, sv[0], 0x8, (parley_io_cb)abort, NULL));
  assert_non_null(strstr(f->logged, "reason=unknown event bits"));
  assert_null(h->io_start(ctx, sv[0], PARLEY_IO_READ, NULL, NULL));
  parley_io *io = h->io_start(ctx, sv[0], 0, (parley_io_cb)abort, NULL); /* paused */
  assert_non_null(io);
  assert_int_equal(h->io_modify(ctx, io, 0x10), PARLEY_ERROR);
  assert_int_equal(h->io_modify(ctx, NULL, PARLEY_IO_READ), PARLEY_ERROR);
  assert_int_equal(h->io_modify(ctx, io, PARLEY_IO_WRITE), PARLEY_OK);
  h->io_stop(ctx, io);
  h->io_stop(ctx, NULL);
  assert_null(pi->ios);
  plugin_instance_close(pi);
  close(sv[0]);
}

/* --- post from threads --- */

static void test_post_from_threads(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi = open_svc(f, "threads", "{\"post_threads\":8,\"posts_each\":2000}");
  struct svc *s = pi->self;
  run_until(f, &s->posts_run, 8 * 2000);
  assert_int_equal(s->posts_run, 8 * 2000);
  assert_int_equal(s->post_disorder, 0); /* one thread's posts run in its order */
  assert_int_equal(s->posts_refused, 0);
  plugin_instance_close(pi);
  assert_non_null(strstr(f->logged, "posts accounted for"));
  assert_non_null(strstr(f->logged, "post refused in shutdown"));
  assert_null(strstr(f->logged, "posts lost"));
}

/* Close while the threads still post: what was accepted runs before shutdown, the rest
 * is refused (the threads free their args), and nothing leaks or runs twice. */
static void test_post_racing_close(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi = open_svc(f, "threads", "{\"post_threads\":4,\"posts_each\":1000000}");
  struct svc *s = pi->self;
  run_until(f, &s->posts_run, 1000); /* they are well under way */
  plugin_instance_close(pi);
  assert_non_null(strstr(f->logged, "posts accounted for"));
  assert_null(strstr(f->logged, "posts lost"));
}

static void test_post_refused(void **state)
{
  struct fixture *f = *state;
  const struct parley_host *h = plugin_host_table();
  assert_int_equal(h->post(NULL, (parley_post_fn)abort, NULL), PARLEY_ERROR);
  struct plugin_inst *pi = open_svc(f, "threads", "{}");
  assert_int_equal(h->post(plugin_ctx(pi), NULL, NULL), PARLEY_ERROR);
  plugin_instance_close(pi);
}

/* --- metrics --- */

static char *render(struct fixture *f)
{
  char *out = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&out, &len);
  plugin_metrics_render(f->metrics, m);
  fclose(m);
  return out;
}

static void test_metrics_two_instances(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *a = open_svc(f, "sms", "{\"count\":3}");
  struct plugin_inst *b = open_svc(f, "sms\"eu", "{\"count\":5}");
  struct svc *sa = a->self;
  assert_true(sa->same_again);
  assert_true(sa->bad_name_refused);
  assert_true(sa->clash_refused);
  char *out = render(f);
  static const char *const want[] = {
      "# HELP parley_plugin_services_sends_total Messages sent.\n"
      "# TYPE parley_plugin_services_sends_total counter\n"
      "parley_plugin_services_sends_total{channel=\"sms\"} 3\n"
      "parley_plugin_services_sends_total{channel=\"sms\\\"eu\"} 5\n",
      "# TYPE parley_plugin_services_queue_depth gauge\n"
      "parley_plugin_services_queue_depth{channel=\"sms\"} 5\n",
      "# TYPE parley_plugin_services_latency_seconds histogram\n"
      "parley_plugin_services_latency_seconds_bucket{channel=\"sms\",le=\"0.1\"} 1\n"
      "parley_plugin_services_latency_seconds_bucket{channel=\"sms\",le=\"1\"} 2\n"
      "parley_plugin_services_latency_seconds_bucket{channel=\"sms\",le=\"+Inf\"} 3\n"
      "parley_plugin_services_latency_seconds_sum{channel=\"sms\"} 3.55\n"
      "parley_plugin_services_latency_seconds_count{channel=\"sms\"} 3\n",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(out, want[i]))
      fail_msg("/metrics lacks\n%s\nin\n%s", want[i], out);
  assert_int_equal(strstr(strstr(out, "# TYPE parley_plugin_services_sends_total") + 1,
                          "# TYPE parley_plugin_services_sends_total") == NULL, 1); /* one family */
  assert_null(strstr(out, "Bad"));
  assert_non_null(strstr(f->logged, "metric refused plugin=services channel=sms metric=Bad-Name"));
  assert_non_null(strstr(f->logged, "metric=sends_total reason=registered already with another type"));
  assert_non_null(strstr(f->logged, "metric update refused plugin=services metric=parley_plugin_services_latency_seconds"));
  free(out);
  plugin_instance_close(a); /* its series go; the family stays for b */
  out = render(f);
  assert_null(strstr(out, "{channel=\"sms\"}"));
  assert_non_null(strstr(out, "parley_plugin_services_sends_total{channel=\"sms\\\"eu\"} 5\n"));
  free(out);
  plugin_instance_close(b);
  out = render(f);
  assert_string_equal(out, "");
  free(out);
}

static void test_metrics_refusals(void **state)
{
  struct fixture *f = *state;
  const struct parley_host *h = plugin_host_table();
  struct plugin_inst *pi = open_svc(f, "sms", "{}");
  parley_ctx *ctx = plugin_ctx(pi);
  const double down[] = {1, 0.5}, inf[] = {1, 1.0 / 0.0};
  assert_null(h->metric_register(ctx, PARLEY_METRIC_HISTOGRAM, "h1", "x", down, 2));
  assert_non_null(strstr(f->logged, "reason=bucket bounds must increase"));
  assert_null(h->metric_register(ctx, PARLEY_METRIC_HISTOGRAM, "h2", "x", inf, 2));
  assert_null(h->metric_register(ctx, PARLEY_METRIC_COUNTER, "9lives", "x", NULL, 0));
  assert_null(h->metric_register(ctx, PARLEY_METRIC_COUNTER, "ok_name", "", NULL, 0));
  assert_null(h->metric_register(ctx, (enum parley_metric_type)9, "ok_name", "x", NULL, 0));
  parley_metric *c = h->metric_register(ctx, PARLEY_METRIC_COUNTER, "c_total", "A counter.", NULL, 0);
  h->metric_add(ctx, c, -1); /* refused: counters go up */
  h->metric_set(ctx, c, 10); /* refused: not a gauge */
  h->metric_add(ctx, NULL, 1); /* ignored */
  parley_metric *d = h->metric_register(ctx, PARLEY_METRIC_HISTOGRAM, "d_seconds", "Defaults.", NULL, 0);
  h->metric_observe(ctx, d, 0.007);
  char *out = render(f);
  assert_non_null(strstr(out, "parley_plugin_services_c_total{channel=\"sms\"} 0\n"));
  assert_non_null(strstr(out, "parley_plugin_services_d_seconds_bucket{channel=\"sms\",le=\"0.005\"} 0\n"
                              "parley_plugin_services_d_seconds_bucket{channel=\"sms\",le=\"0.01\"} 1\n"));
  assert_non_null(strstr(out, "le=\"10\"} 1\n"));
  free(out);
  assert_non_null(strstr(f->logged, "reason=a counter only goes up"));
  plugin_instance_close(pi);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_io_socketpair, setup, teardown),
      cmocka_unit_test_setup_teardown(test_io_stopped_at_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_io_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_post_from_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_post_racing_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_post_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metrics_two_instances, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metrics_refusals, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Delivery through the core with real plugins: the shipped `file` plugin with receipts,
 * tests/plugins/receipts.c answering synchronously, from inside send, and later from a
 * timer, and tests/plugins/abi10.c, built against the ABI 1.0 header. Each batch holds several events and several messages per event; every receipt
 * comes back as an event that wakes the conversation which spoke. The loop runs for real
 * (the plugins' timers are libev timers), with either store backend. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv.h"
#include "core.h"
#include "httpd.h"

#define CONTACTS 3
#define MSGS_PER_CONTACT 2

struct dfx {
  struct core *core;
  struct ev_loop *loop;
  char dir[64];
};

/* `channel` is the Lua table that configures the email channel; plugins are looked for in
 * `plugins` under the build tree. */
static struct dfx *open_core(const char *backend, const char *plugins, const char *channel)
{
  struct dfx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-delivery-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  char conf[2048], err[1024];
  snprintf(conf, sizeof conf,
           "return { log_level = 'error', data_dir = '%s',\n"
           "  plugin_dir = builddir .. '/%s', sdk_dir = srcdir .. '/sdk/lua',\n"
           "  journeys_dir = srcdir .. '/tests/unit/delivery_journeys',\n"
           "  store = { backend = '%s', map_size_mb = 64 },\n"
           "  channels = { email = %s } }\n",
           f->dir, plugins, backend, channel);
  struct cfg *cfg;
  if (cfg_load_string(conf, strlen(conf), "test config", &cfg, err, sizeof err) < 0)
    fail_msg("config: %s", err);
  f->loop = ev_loop_new(EVFLAG_AUTO);
  if (core_open(cfg, f->loop, &f->core, err, sizeof err) < 0)
    fail_msg("core_open: %s", err);
  return f;
}

static void close_core(struct dfx *f)
{
  char cmd[128];
  core_close(f->core);
  ev_loop_destroy(f->loop);
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
}

/* One batch, as one NDJSON request is: every event applied, then one flush. */
static void post_batch(struct dfx *f)
{
  for (int i = 0; i < CONTACTS; i++) {
    char json[256], err[256];
    struct event ev;
    snprintf(json, sizeof json, "{\"id\":\"e%d\",\"type\":\"signed_up\",\"contact\":\"c%d\",\"profile\":{\"email\":\"c%d@example.com\"}}", i, i, i);
    if (event_parse(json, strlen(json), clock_now_ms(&f->core->clock), &ev, err, sizeof err) < 0)
      fail_msg("event: %s", err);
    conv_apply_event(f->core, &ev);
    event_clear(&ev);
  }
  core_flush(f->core);
}

/* Runs the loop until every message is delivered and every conversation has finished
 * (or two seconds pass). */
static void run_until_done(struct dfx *f)
{
  for (int i = 0; i < 2000; i++) {
    if (f->core->stats.delivery.delivered == CONTACTS * MSGS_PER_CONTACT &&
        f->core->stats.conv_done == CONTACTS)
      break;
    ev_run(f->loop, EVRUN_NOWAIT);
    usleep(1000);
  }
}

static void count_msg(void *ud, struct parley_msg *m)
{
  (*(int *)ud)++;
  msg_record_free(m);
}

static void assert_all_delivered(struct dfx *f)
{
  struct store *st = f->core->store;
  assert_int_equal(f->core->stats.delivery.delivered, CONTACTS * MSGS_PER_CONTACT);
  assert_int_equal(f->core->stats.spoken, CONTACTS * MSGS_PER_CONTACT);
  assert_int_equal(f->core->stats.delivery.dead, 0);
  /* the three sign-ups and one receipt per message, none of them lost or doubled */
  assert_int_equal(f->core->stats.events, CONTACTS + CONTACTS * MSGS_PER_CONTACT);
  assert_int_equal(f->core->stats.duplicates, 0);
  assert_int_equal(f->core->stats.conv_done, CONTACTS);
  for (int i = 0; i < CONTACTS; i++) {
    char id[16];
    snprintf(id, sizeof id, "c%d", i);
    struct contact *ct = st->ops->contact_get(st, id);
    assert_non_null(ct);
    assert_int_equal(ct->n_convs, 1);
    struct conv *cv = st->ops->conv_get(st, ct->convs[0]);
    assert_int_equal(cv->status, CONV_DONE);
    assert_string_equal(cv->outcome, "finished");
  }
  core_flush(f->core);
  int left = 0;
  st->ops->msg_each(st, count_msg, &left);
  assert_int_equal(left, 0);
}

static void run_case(const char *backend, const char *plugins, const char *channel)
{
  struct dfx *f = open_core(backend, plugins, channel);
  post_batch(f);
  run_until_done(f);
  assert_all_delivered(f);
  close_core(f);
}

static void test_file_plugin_receipts(void **state)
{
  const char *ch = "{ plugin = 'file', path = '/dev/null', receipts = true }";
  run_case("memory", "plugins", ch);
  run_case("lmdb", "plugins", ch);
}

/* A plugin that did not declare PARLEY_CAP_RECEIPTS has its events refused: its messages
 * are delivered, but no receipt reaches a conversation. */
static void test_undeclared_receipts_are_refused(void **state)
{
  struct dfx *f = open_core("memory", "tests/plugins", "{ plugin = 'receipts_undeclared', mode = 'sync' }");
  post_batch(f);
  for (int i = 0; i < 2000 && f->core->stats.delivery.delivered < CONTACTS * MSGS_PER_CONTACT; i++) {
    ev_run(f->loop, EVRUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(f->core->stats.delivery.delivered, CONTACTS * MSGS_PER_CONTACT);
  for (int i = 0; i < 20; i++)
    ev_run(f->loop, EVRUN_NOWAIT);
  assert_int_equal(f->core->stats.events, CONTACTS); /* the sign-ups; no receipt */
  assert_int_equal(f->core->stats.conv_done, 0);
  close_core(f);
}

static void test_sync_receipts(void **state)
{
  run_case("memory", "tests/plugins", "{ plugin = \'receipts\', mode = 'sync' }");
  run_case("lmdb", "tests/plugins", "{ plugin = \'receipts\', mode = 'sync' }");
}

static void test_receipts_inside_send(void **state)
{
  run_case("memory", "tests/plugins", "{ plugin = \'receipts\', mode = 'inside' }");
  run_case("lmdb", "tests/plugins", "{ plugin = \'receipts\', mode = 'inside' }");
}

static void test_receipts_later(void **state)
{
  run_case("memory", "tests/plugins", "{ plugin = \'receipts\', mode = 'later', delay_ms = 2 }");
  run_case("lmdb", "tests/plugins", "{ plugin = \'receipts\', mode = 'later', delay_ms = 2 }");
}

/* A 1.1 plugin that delivers by HTTP (tests/plugins/webhook.c) through the core's HTTP
 * client, against a server on loopback. */
static void test_webhook_plugin(void **state)
{
  struct httpd *d = httpd_start();
  char ch[256];
  assert_non_null(d);
  snprintf(ch, sizeof ch, "{ plugin = 'webhook', url = 'http://127.0.0.1:%d/echo' }", httpd_port(d));
  run_case("memory", "tests/plugins", ch);
  run_case("lmdb", "tests/plugins", ch);
  assert_true(httpd_accepted(d) >= 1);
  httpd_stop(d);
}

/* Runs the loop until `n` messages were answered one way or another (or two seconds). */
static void run_until_answered(struct dfx *f, uint64_t n)
{
  const struct outbox_stats *st = &f->core->stats.delivery;
  for (int i = 0; i < 2000 && st->delivered + st->retried + st->dead < n; i++) {
    ev_run(f->loop, EVRUN_NOWAIT);
    usleep(1000);
  }
}

/* A 404 is for good: every message dead-lettered at its first attempt as
 * "invalid_address", and each dead letter told to the contact as "email.failed". */
static void test_webhook_refused(void **state)
{
  struct httpd *d = httpd_start();
  char ch[256];
  snprintf(ch, sizeof ch, "{ plugin = 'webhook', url = 'http://127.0.0.1:%d/status/404' }", httpd_port(d));
  struct dfx *f = open_core("lmdb", "tests/plugins", ch);
  post_batch(f);
  run_until_answered(f, CONTACTS * MSGS_PER_CONTACT);
  core_flush(f->core); /* the failed events are applied */
  assert_int_equal(f->core->stats.delivery.dead, CONTACTS * MSGS_PER_CONTACT);
  assert_int_equal(f->core->stats.delivery.retried, 0);
  assert_int_equal(f->core->stats.events, CONTACTS + CONTACTS * MSGS_PER_CONTACT);
  close_core(f);
  httpd_stop(d);
}

/* A 429 with Retry-After: 7 waits seven seconds, longer than the first backoff (at most
 * one second by default). */
static void test_webhook_throttled(void **state)
{
  struct httpd *d = httpd_start();
  char ch[256];
  snprintf(ch, sizeof ch, "{ plugin = 'webhook', url = 'http://127.0.0.1:%d/status/429?retry_after=7' }",
           httpd_port(d));
  struct dfx *f = open_core("memory", "tests/plugins", ch);
  post_batch(f);
  run_until_answered(f, CONTACTS * MSGS_PER_CONTACT);
  assert_int_equal(f->core->stats.delivery.retried, CONTACTS * MSGS_PER_CONTACT);
  const struct outbox *ob = &f->core->outbox;
  int64_t now = clock_now_ms(&f->core->clock);
  const struct outbox_lane *lane = outbox_lane_of(ob, "email");
  assert_int_equal(ob->n_queue, CONTACTS * MSGS_PER_CONTACT);
  assert_int_equal(lane->n_heap, CONTACTS * MSGS_PER_CONTACT);
  for (size_t i = 0; i < lane->n_heap; i++) {
    int64_t in = lane->heap[i]->due_ms - now;
    if (in < 5000 || in > 7000)
      fail_msg("retried in %lld ms, not after the provider's 7 s", (long long)in);
  }
  close_core(f);
  httpd_stop(d);
}

/* The core closed while the webhook's requests are pending: they are cancelled without a
 * callback (LeakSanitizer checks that nothing of them is left), and the messages stay
 * stored, to be handed over again at the next start. */
static void test_webhook_closed_pending(void **state)
{
  struct httpd *d = httpd_start();
  char ch[256];
  assert_non_null(d);
  snprintf(ch, sizeof ch, "{ plugin = 'webhook', url = 'http://127.0.0.1:%d/slow/500' }", httpd_port(d));
  struct dfx *f = open_core("lmdb", "tests/plugins", ch);
  post_batch(f);
  for (int i = 0; i < 20; i++) { /* the requests go out */
    ev_run(f->loop, EVRUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(f->core->stats.delivery.delivered, 0);
  int left = 0;
  f->core->store->ops->msg_each(f->core->store, count_msg, &left);
  assert_int_equal(left, CONTACTS * MSGS_PER_CONTACT);
  close_core(f);
  httpd_stop(d);
}

/* A plugin built against the 1.0 header (tests/plugins/abi10.c) delivers through the
 * core unchanged: every message delivered, every receipt applied. */
static void test_abi10_plugin(void **state)
{
  run_case("memory", "tests/plugins", "{ plugin = 'abi10', delay_ms = 2 }");
  run_case("lmdb", "tests/plugins", "{ plugin = 'abi10', delay_ms = 2 }");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_plugin_receipts),
      cmocka_unit_test(test_sync_receipts),
      cmocka_unit_test(test_undeclared_receipts_are_refused),
      cmocka_unit_test(test_receipts_inside_send),
      cmocka_unit_test(test_receipts_later),
      cmocka_unit_test(test_abi10_plugin),
      cmocka_unit_test(test_webhook_plugin),
      cmocka_unit_test(test_webhook_closed_pending),
      cmocka_unit_test(test_webhook_refused),
      cmocka_unit_test(test_webhook_throttled),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

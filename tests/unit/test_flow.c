/* Flow control per channel, attempts written before each hand-over, and completions the
 * host refuses, through the real core and plugins on a virtual clock. The journey
 * (tests/unit/flow_journeys/flow.lua) speaks one note per "go" event on the channel the
 * event names (a, b or c); each test configures those channels with the plugins and the
 * limits it needs. The clock is moved as the daemon's retry timer would move it: to
 * outbox_next_due. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv.h"
#include "core.h"
#include "erase.h"

#define T0 1800000000000LL

struct ffx {
  struct core *core;
  struct ev_loop *loop;
  char dir[64];
  char channels[1024];
  int refused[3];         /* "completion refused" errors per channel a, b, c */
  int refused_elsewhere;  /* ... naming no channel, or another plugin */
  int n_events;
};

/* Counts the host's refusals of a completion, by the channel the record names. */
static void sink(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields)
{
  struct ffx *f = ud;
  if (lvl != LOG_ERROR || strncmp(msg, "completion refused", 18) != 0)
    return;
  const char *plugin = NULL, *channel = NULL, *k;
  while ((k = va_arg(fields, const char *)) != NULL) {
    const char *v = va_arg(fields, const char *);
    if (strcmp(k, "plugin") == 0)
      plugin = v;
    else if (strcmp(k, "channel") == 0)
      channel = v;
  }
  if (plugin && strcmp(plugin, "bad_complete") == 0 && channel && strlen(channel) == 1 && *channel >= 'a' &&
      *channel <= 'c')
    f->refused[*channel - 'a']++;
  else
    f->refused_elsewhere++;
}

static void open_core(struct ffx *f)
{
  char conf[4096], err[1024];
  snprintf(conf, sizeof conf,
           "return { log_level = 'error', data_dir = '%s',\n"
           "  plugin_dir = builddir .. '/tests/plugins', sdk_dir = srcdir .. '/sdk/lua',\n"
           "  journeys_dir = srcdir .. '/tests/unit/flow_journeys',\n"
           "  store = { backend = 'lmdb', map_size_mb = 64 },\n"
           "  delivery = { max_attempts = 3, retry_base = '1s', retry_max = '1m' },\n"
           "  channels = { %s } }\n",
           f->dir, f->channels);
  struct cfg *cfg;
  if (cfg_load_string(conf, strlen(conf), "test config", &cfg, err, sizeof err) < 0)
    fail_msg("config: %s", err);
  cfg->log_sink = sink;
  cfg->log_sink_ud = f;
  if (core_open(cfg, f->loop, &f->core, err, sizeof err) < 0)
    fail_msg("core_open: %s", err);
  clock_init_virtual(&f->core->clock, T0);
}

static struct ffx *start(const char *channels)
{
  struct ffx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-flow-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->channels, sizeof f->channels, "%s", channels);
  f->loop = ev_loop_new(EVFLAG_AUTO);
  open_core(f);
  return f;
}

static void stop(struct ffx *f)
{
  char cmd[128];
  core_close(f->core);
  ev_loop_destroy(f->loop);
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
}

/* `n` new contacts each get one note on `channel`, all in the open batch. */
static void speak(struct ffx *f, const char *channel, int n)
{
  for (int i = 0; i < n; i++) {
    char json[512], err[256];
    struct event ev;
    int k = f->n_events++;
    snprintf(json, sizeof json,
             "{\"id\":\"e%d\",\"type\":\"go\",\"contact\":\"k%d\",\"profile\":{\"a\":\"x\",\"b\":\"y\",\"c\":\"z\"},"
             "\"data\":{\"channel\":\"%s\"}}",
             k, k, channel);
    if (event_parse(json, strlen(json), clock_now_ms(&f->core->clock), &ev, err, sizeof err) < 0)
      fail_msg("event: %s", err);
    conv_apply_event(f->core, &ev);
    event_clear(&ev);
  }
}

static const struct outbox_lane *lane(struct ffx *f, const char *channel)
{
  const struct outbox_lane *l = outbox_lane_of(&f->core->outbox, channel);
  assert_non_null(l);
  return l;
}

/* The virtual clock goes where the retry timer would wake the daemon. Returns 0 when
 * nothing waits on time. */
static int wake(struct ffx *f)
{
  int64_t due;
  if (!outbox_next_due(&f->core->outbox, &due))
    return 0;
  if (due > f->core->clock.virtual_ms)
    f->core->clock.virtual_ms = due;
  core_flush(f->core);
  return 1;
}

/* --- the rate and the burst --- */

/* `n` messages at `rate` with `burst`: `burst` at once, then one every 1/rate seconds,
 * never more at one instant; the last one after (n - burst) / rate seconds. */
static void expect_rate(const char *channels, int n, int burst, int64_t interval_ms)
{
  struct ffx *f = start(channels);
  speak(f, "a", n);
  core_flush(f->core);
  uint64_t before = 0;
  int wakes = 0;
  for (;;) {
    uint64_t now = lane(f, "a")->stats.delivered;
    int64_t at = f->core->clock.virtual_ms - T0;
    uint64_t want = at == 0 ? (uint64_t)burst : before + 1;
    if (now != want)
      fail_msg("%llu delivered at +%lld ms, %llu expected", (unsigned long long)now, (long long)at,
               (unsigned long long)want);
    if (at != 0 && at != (int64_t)(now - (uint64_t)burst) * interval_ms)
      fail_msg("message %llu went at +%lld ms, not +%lld", (unsigned long long)now, (long long)at,
               (long long)((int64_t)(now - (uint64_t)burst) * interval_ms));
    before = now;
    if (now == (uint64_t)n)
      break;
    assert_true(wake(f));
    assert_true(++wakes <= n);
  }
  assert_int_equal(f->core->clock.virtual_ms - T0, (n - burst) * interval_ms);
  assert_false(wake(f)); /* nothing left to wait for */
  stop(f);
}

static void test_rate_one_at_a_time(void **state)
{
  expect_rate("a = { plugin = 'outcome', rate = 2, burst = 1 }", 10, 1, 500);
}

static void test_rate_with_burst(void **state)
{
  expect_rate("a = { plugin = 'outcome', rate = 10, burst = 5 }", 20, 5, 100);
}

/* The default burst is the rate rounded up. */
static void test_rate_default_burst(void **state)
{
  expect_rate("a = { plugin = 'outcome', rate = 2.5 }", 8, 3, 400);
}

/* --- slots --- */

/* A plugin that never answers holds max_in_flight messages, no more; the rest stay
 * queued (and stored), and no timer is armed for them: only a completion frees a slot. */
static void test_max_in_flight_with_a_stuck_plugin(void **state)
{
  struct ffx *f = start("a = { plugin = 'pending_send', delay_ms = 600000, max_in_flight = 3 }");
  speak(f, "a", 10);
  core_flush(f->core);
  for (int i = 0; i < 5; i++) {
    f->core->clock.virtual_ms += 60000;
    core_flush(f->core);
    assert_int_equal(lane(f, "a")->in_flight, 3);
    assert_int_equal(f->core->outbox.n_sending, 3);
    assert_int_equal(lane(f, "a")->n_heap, 7);
  }
  int64_t due;
  assert_false(outbox_next_due(&f->core->outbox, &due));
  stop(f);
}

/* A completion frees a slot and the next message goes in the same loop turn, with the
 * clock standing still: no timer of the outbox's is needed. */
static void test_completion_hands_the_next_over(void **state)
{
  struct ffx *f = start("a = { plugin = 'pending_send', delay_ms = 1, max_in_flight = 2 }");
  speak(f, "a", 8);
  core_flush(f->core);
  assert_int_equal(lane(f, "a")->in_flight, 2);
  assert_int_equal(lane(f, "a")->n_heap, 6);
  for (int i = 0; i < 3000 && lane(f, "a")->stats.delivered < 8; i++) {
    ev_run(f->loop, EVRUN_NOWAIT); /* the plugin's timers; the core's flush before blocking */
    assert_true(lane(f, "a")->in_flight <= 2);
    usleep(200);
  }
  assert_int_equal(lane(f, "a")->stats.delivered, 8);
  assert_int_equal(f->core->clock.virtual_ms, T0);
  stop(f);
}

/* A stuck channel (a) and a throttled one (c) do not delay another (b): b's messages all
 * go in the first turn. */
static void test_a_stuck_channel_delays_no_other(void **state)
{
  struct ffx *f = start("a = { plugin = 'pending_send', delay_ms = 600000, max_in_flight = 2 },\n"
                        "b = { plugin = 'outcome' }, c = { plugin = 'outcome', rate = 1 }");
  speak(f, "a", 20);
  speak(f, "c", 20);
  speak(f, "b", 20);
  core_flush(f->core);
  assert_int_equal(lane(f, "a")->in_flight, 2);
  assert_int_equal(lane(f, "c")->stats.delivered, 1);
  assert_int_equal(lane(f, "b")->stats.delivered, 20);
  int64_t due;
  assert_true(outbox_next_due(&f->core->outbox, &due));
  assert_int_equal(due, T0 + 1000); /* c's next token; a waits for a completion */
  stop(f);
}

/* --- the turn's bound --- */

/* A backlog goes OUTBOX_TURN_MAX per loop turn; the rest is due at once, for the next,
 * keeping the attempt it was spoken with. */
static void test_a_backlog_goes_a_turn_at_a_time(void **state)
{
  const int n = OUTBOX_TURN_MAX * 2 + 40;
  struct ffx *f = start("b = { plugin = 'outcome' }");
  speak(f, "b", n);
  core_flush(f->core);
  assert_int_equal(lane(f, "b")->stats.delivered, OUTBOX_TURN_MAX);
  /* cut only by the turn's bound: still claimed (attempt 1), waiting in the lane's fresh
   * list for the next turn, never written back and claimed again */
  assert_int_equal(lane(f, "b")->n_heap, 0);
  assert_non_null(lane(f, "b")->fresh.head);
  assert_int_equal(lane(f, "b")->fresh.head->attempt, 1);
  int64_t due;
  assert_true(outbox_next_due(&f->core->outbox, &due));
  assert_int_equal(due, T0);
  core_flush(f->core);
  assert_int_equal(lane(f, "b")->stats.delivered, 2 * OUTBOX_TURN_MAX);
  core_flush(f->core);
  assert_int_equal(lane(f, "b")->stats.delivered, n);
  assert_false(outbox_next_due(&f->core->outbox, &due));
  stop(f);
}

/* A contact erased while its message waits, cut by the turn's bound, for the next turn:
 * the message is taken out with the erasure and never handed over. */
static void test_erasure_reaches_a_message_cut_by_the_turn(void **state)
{
  const int n = OUTBOX_TURN_MAX + 5;
  struct ffx *f = start("b = { plugin = 'outcome' }");
  speak(f, "b", n);
  core_flush(f->core);
  assert_int_equal(lane(f, "b")->stats.delivered, OUTBOX_TURN_MAX);
  const struct parley_msg *cut = lane(f, "b")->fresh.head;
  assert_non_null(cut);
  char who[64];
  snprintf(who, sizeof who, "%s", cut->contact);
  assert_int_equal(erase_contact(f->core, who), 1);
  core_flush(f->core);
  core_flush(f->core);
  assert_int_equal(lane(f, "b")->stats.delivered, n - 1);
  assert_null(lane(f, "b")->fresh.head);
  stop(f);
}

/* The bound is shared fairly: a backlog on one channel leaves room for another's. */
static void test_the_turn_is_shared(void **state)
{
  struct ffx *f = start("a = { plugin = 'outcome' }, b = { plugin = 'outcome' }");
  speak(f, "a", OUTBOX_TURN_MAX * 2);
  speak(f, "b", 10);
  core_flush(f->core);
  assert_int_equal(lane(f, "b")->stats.delivered, 10);
  assert_int_equal(lane(f, "a")->stats.delivered, OUTBOX_TURN_MAX - 10);
  stop(f);
}

/* --- attempts --- */

/* Held by a plugin at a stop, a message is claimed again at the next start: attempt 2 is
 * stored before the plugin sees it; at the start after that, with max_attempts 2 used
 * up, it is dead-lettered as retries_exhausted, never sent a third time. */
static void test_attempts_survive_restarts(void **state)
{
  struct ffx *f = start("a = { plugin = 'pending_send', delay_ms = 600000 }");
  speak(f, "a", 1);
  core_flush(f->core);
  assert_int_equal(f->core->outbox.n_sending, 1);
  assert_int_equal(f->core->outbox.sending->attempt, 1);
  for (unsigned attempt = 2; attempt <= 3; attempt++) {
    core_close(f->core);
    open_core(f);
    core_flush(f->core);
    assert_int_equal(f->core->outbox.n_sending, 1);
    assert_int_equal(f->core->outbox.sending->attempt, attempt);
  }
  core_close(f->core);
  open_core(f);
  core_flush(f->core);
  assert_int_equal(f->core->outbox.n_sending, 0);
  assert_int_equal(lane(f, "a")->stats.dead, 1);
  assert_int_equal(f->core->stats.delivery.dead, 1);
  stop(f);
}

/* A message that waits for its turn (here for a token) has not begun an attempt: it is
 * stored with attempt 0, so a restart while it waits costs it none. The one handed over
 * comes back as attempt 2, the one that waited as attempt 1. */
static void test_waiting_costs_no_attempt(void **state)
{
  struct ffx *f = start("a = { plugin = 'pending_send', delay_ms = 600000, rate = 1 }");
  speak(f, "a", 2);
  core_flush(f->core);
  assert_int_equal(f->core->outbox.n_sending, 1);
  assert_int_equal(f->core->outbox.sending->attempt, 1);
  assert_int_equal(lane(f, "a")->n_heap, 1);
  assert_int_equal(outbox_lane_peek(lane(f, "a"))->attempt, 0);
  core_close(f->core); /* commits the attempt given back */
  open_core(f);
  core_flush(f->core);
  f->core->clock.virtual_ms += 1000;
  core_flush(f->core);
  assert_int_equal(f->core->outbox.n_sending, 2);
  unsigned a = f->core->outbox.sending->attempt, b = f->core->outbox.sending->next->attempt;
  assert_true((a == 1 && b == 2) || (a == 2 && b == 1));
  stop(f);
}

/* --- completions the host refuses --- */

/* A second completion (b), another channel's message and a pointer that is no message
 * (c) are each refused with an ERROR naming the plugin and the channel; nothing else
 * happens: a's message is still held, b's and c's delivered once. */
static void test_wrong_completions_are_refused(void **state)
{
  struct ffx *f = start("a = { plugin = 'bad_complete', mode = 'hold' },\n"
                        "b = { plugin = 'bad_complete', mode = 'twice' },\n"
                        "c = { plugin = 'bad_complete', mode = 'foreign' }");
  speak(f, "a", 1);
  core_flush(f->core);
  speak(f, "b", 1);
  core_flush(f->core);
  speak(f, "c", 1);
  core_flush(f->core);
  assert_int_equal(f->refused[0], 0);
  assert_int_equal(f->refused[1], 1); /* b: the second delivery */
  assert_int_equal(f->refused[2], 2); /* c: a's message, and garbage */
  assert_int_equal(f->refused_elsewhere, 0);
  assert_int_equal(lane(f, "a")->in_flight, 1);
  assert_int_equal(lane(f, "a")->stats.dead, 0);
  assert_int_equal(lane(f, "b")->stats.delivered, 1);
  assert_int_equal(lane(f, "c")->stats.delivered, 1);
  assert_int_equal(f->core->stats.delivery.delivered, 2);
  assert_int_equal(f->core->stats.delivery.dead, 0);
  stop(f);
}

/* --- the configuration --- */

static void expect_refused(const char *channel, const char *want)
{
  char conf[512], err[512];
  struct cfg *cfg;
  snprintf(conf, sizeof conf, "return { channels = { email = { plugin = 'file', %s } } }", channel);
  if (cfg_load_string(conf, strlen(conf), "test config", &cfg, err, sizeof err) == 0) {
    cfg_free(cfg);
    fail_msg("'%s' was accepted", channel);
  }
  if (strstr(err, want) == NULL)
    fail_msg("'%s' was refused with \"%s\", not \"%s\"", channel, err, want);
}

static void test_channel_keys(void **state)
{
  char err[512];
  struct cfg *cfg;
  const char *ok = "return { channels = { email = { plugin = 'file', rate = 0.5, max_in_flight = 7, path = '/x' },"
                   " sms = { plugin = 'file', rate = 20, burst = 3 } } }";
  if (cfg_load_string(ok, strlen(ok), "test config", &cfg, err, sizeof err) < 0)
    fail_msg("config: %s", err);
  const struct cfg_channel *email = cfg_channel_find(cfg, "email"), *sms = cfg_channel_find(cfg, "sms");
  assert_true(email->rate == 0.5);
  assert_int_equal(email->burst, 1);
  assert_int_equal(email->max_in_flight, 7);
  assert_int_equal(sms->burst, 3);
  assert_int_equal(sms->max_in_flight, CFG_MAX_IN_FLIGHT_DEFAULT);
  /* the plugin's spec sees none of the core's keys */
  assert_null(cJSON_GetObjectItem(email->settings, "rate"));
  assert_null(cJSON_GetObjectItem(email->settings, "max_in_flight"));
  assert_null(cJSON_GetObjectItem(sms->settings, "burst"));
  assert_non_null(cJSON_GetObjectItem(email->settings, "path"));
  cfg_free(cfg);
  expect_refused("rate = 0", "channels.email: 'rate' must be a number of messages per second above 0");
  expect_refused("rate = -2", "channels.email: 'rate'");
  expect_refused("rate = 'fast'", "channels.email: 'rate'");
  expect_refused("rate = 5, burst = 0", "channels.email: 'burst' must be a positive integer");
  expect_refused("rate = 5, burst = 1.5", "channels.email: 'burst'");
  expect_refused("burst = 4", "channels.email: 'burst' needs a 'rate'");
  expect_refused("max_in_flight = 0", "channels.email: 'max_in_flight' must be a positive integer");
  expect_refused("max_in_flight = 'many'", "channels.email: 'max_in_flight'");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rate_one_at_a_time),
      cmocka_unit_test(test_rate_with_burst),
      cmocka_unit_test(test_rate_default_burst),
      cmocka_unit_test(test_max_in_flight_with_a_stuck_plugin),
      cmocka_unit_test(test_completion_hands_the_next_over),
      cmocka_unit_test(test_a_stuck_channel_delays_no_other),
      cmocka_unit_test(test_a_backlog_goes_a_turn_at_a_time),
      cmocka_unit_test(test_erasure_reaches_a_message_cut_by_the_turn),
      cmocka_unit_test(test_the_turn_is_shared),
      cmocka_unit_test(test_attempts_survive_restarts),
      cmocka_unit_test(test_waiting_costs_no_attempt),
      cmocka_unit_test(test_wrong_completions_are_refused),
      cmocka_unit_test(test_channel_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

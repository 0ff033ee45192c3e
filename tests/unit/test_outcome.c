/* How a delivery ended, as ABI 1.1 lets a plugin say it (send_delivered, send_retry,
 * send_failed) and as 1.0 always could (send_done, send's status), through the real core
 * and outbox on a virtual clock: the provider's id kept in the conversation's history, a
 * provider's retry-after honoured when later than the backoff (and capped), a permanent
 * failure dead-lettered at once with its reason, and every dead letter told to the journey
 * as "email.failed", on which tests/unit/outcome_journeys/fallback.lua falls back to SMS.
 * The answers come from tests/plugins/outcome.c, chosen per contact by its profile.
 * Dead letters are read back from LMDB (the memory store keeps no outbox). */
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

#define T0 1800000000000LL

struct ofx {
  struct core *core;
  struct ev_loop *loop;
  char dir[64];
  const char *backend;
};

static struct ofx *open_core(const char *backend)
{
  struct ofx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-outcome-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->backend = backend;
  char conf[2048], err[1024];
  snprintf(conf, sizeof conf,
           "return { log_level = 'error', data_dir = '%s',\n"
           "  plugin_dir = builddir .. '/tests/plugins', sdk_dir = srcdir .. '/sdk/lua',\n"
           "  journeys_dir = srcdir .. '/tests/unit/outcome_journeys',\n"
           "  store = { backend = '%s', map_size_mb = 64 },\n"
           "  delivery = { max_attempts = 3, retry_base = '1s', retry_max = '1m' },\n"
           "  channels = { email = { plugin = 'outcome' }, sms = { plugin = 'outcome' } } }\n",
           f->dir, backend);
  struct cfg *cfg;
  if (cfg_load_string(conf, strlen(conf), "test config", &cfg, err, sizeof err) < 0)
    fail_msg("config: %s", err);
  f->loop = ev_loop_new(EVFLAG_AUTO);
  if (core_open(cfg, f->loop, &f->core, err, sizeof err) < 0)
    fail_msg("core_open: %s", err);
  clock_init_virtual(&f->core->clock, T0);
  return f;
}

static int setup_memory(void **state)
{
  *state = open_core("memory");
  return 0;
}

static int setup_lmdb(void **state)
{
  *state = open_core("lmdb");
  return 0;
}

static int teardown(void **state)
{
  struct ofx *f = *state;
  char cmd[128];
  core_close(f->core);
  ev_loop_destroy(f->loop);
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* A sign-up of `contact`, whose e-mail and SMS end as `email` and `sms` say (outcome.c). */
static void sign_up(struct ofx *f, const char *contact, const char *email, const char *sms)
{
  char json[1024], err[256];
  struct event ev;
  snprintf(json, sizeof json,
           "{\"id\":\"e-%s\",\"type\":\"signed_up\",\"contact\":\"%s\",\"profile\":{"
           "\"email\":\"%s@example.com\",\"phone\":\"+15550100\",\"email_outcome\":\"%s\","
           "\"sms_outcome\":\"%s\"}}",
           contact, contact, contact, email, sms);
  if (event_parse(json, strlen(json), clock_now_ms(&f->core->clock), &ev, err, sizeof err) < 0)
    fail_msg("event: %s", err);
  conv_apply_event(f->core, &ev);
  event_clear(&ev);
  core_flush(f->core);
}

static void advance(struct ofx *f, int64_t ms)
{
  f->core->clock.virtual_ms += ms;
  core_flush(f->core);
}

static struct conv *only_conv(struct ofx *f, const char *contact)
{
  struct store *st = f->core->store;
  struct contact *ct = st->ops->contact_get(st, contact);
  assert_non_null(ct);
  assert_int_equal(ct->n_convs, 1);
  struct conv *cv = st->ops->conv_get(st, ct->convs[0]);
  assert_non_null(cv);
  return cv;
}

/* The history entry of `contact`'s conversation that starts with `prefix`, or NULL. */
static const char *history_line(struct ofx *f, const char *contact, const char *prefix)
{
  const struct history *h = &only_conv(f, contact)->history;
  for (size_t i = 0; i < h->n; i++)
    if (strncmp(history_at(h, i)->what, prefix, strlen(prefix)) == 0)
      return history_at(h, i)->what;
  return NULL;
}

/* The id of the e-mail `contact` was spoken ("spoke email/hello id=..."). */
static void email_id(struct ofx *f, const char *contact, char *id, size_t cap)
{
  const char *spoke = history_line(f, contact, "spoke email/hello id=");
  assert_non_null(spoke);
  snprintf(id, cap, "%s", spoke + strlen("spoke email/hello id="));
}

/* The one message the store holds: a dead letter (LMDB; the memory store keeps no
 * outbox). */
static void keep_one(void *ud, struct parley_msg *m)
{
  struct parley_msg **out = ud;
  assert_null(*out);
  *out = m;
}

static struct parley_msg *dead_letter(struct ofx *f)
{
  struct parley_msg *m = NULL;
  assert_string_equal(f->backend, "lmdb");
  f->core->store->ops->msg_each(f->core->store, keep_one, &m);
  assert_non_null(m);
  return m;
}

static void assert_line(struct ofx *f, const char *contact, const char *want)
{
  const char *got = history_line(f, contact, want);
  if (got == NULL || strcmp(got, want) != 0)
    fail_msg("no history line \"%s\" (got \"%s\")", want, got ? got : "none");
}

/* --- delivered --- */

static void test_delivered_with_provider_id(void **state)
{
  struct ofx *f = *state;
  char id[64], want[256];
  sign_up(f, "ann", "delivered:prov-123", "delivered");
  sign_up(f, "bo", "ok10:prov-10", "delivered"); /* 1.0: send_done's detail on success */
  sign_up(f, "cy", "delivered", "delivered");    /* no provider id */
  assert_int_equal(f->core->stats.delivery.delivered, 3);
  assert_int_equal(f->core->stats.delivery.dead, 0);
  email_id(f, "ann", id, sizeof id);
  snprintf(want, sizeof want, "delivered email/hello id=%s provider=prov-123", id);
  assert_line(f, "ann", want);
  email_id(f, "bo", id, sizeof id);
  snprintf(want, sizeof want, "delivered email/hello id=%s provider=prov-10", id);
  assert_line(f, "bo", want);
  email_id(f, "cy", id, sizeof id);
  snprintf(want, sizeof want, "delivered email/hello id=%s", id);
  assert_line(f, "cy", want);
  assert_int_equal(only_conv(f, "ann")->status, CONV_LISTENING); /* no failure was heard */
}

/* --- permanent failures --- */

/* Dead at once, the reason kept with the dead letter, the journey told: it falls back to
 * SMS, whose text names the reason and the message (echoed as the SMS's provider id). */
static void expect_fallback(struct ofx *f, const char *contact, const char *reason,
                            const char *last_error)
{
  char id[64], want[256];
  email_id(f, contact, id, sizeof id);
  struct parley_msg *m = dead_letter(f);
  assert_string_equal(m->id, id);
  assert_int_equal(m->state, MSG_DEAD);
  if (last_error)
    assert_string_equal(m->last_error, last_error);
  else
    assert_null(m->last_error);
  unsigned attempts = m->attempt;
  msg_record_free(m);
  snprintf(want, sizeof want, "failed email/hello id=%s: %s", id, reason);
  assert_line(f, contact, want);
  const char *sms = history_line(f, contact, "delivered sms/hello_sms id=");
  assert_non_null(sms);
  snprintf(want, sizeof want, " provider=sms after %s for %s", reason, id);
  if (strstr(sms, want) == NULL)
    fail_msg("the fallback said \"%s\", not \"%s\"", sms, want);
  assert_int_equal(only_conv(f, contact)->status, CONV_DONE);
  assert_int_equal(f->core->stats.delivery.dead, 1);
  assert_int_equal(f->core->stats.spoken, 2);
  assert_int_equal(f->core->stats.events, 2); /* the sign-up and email.failed */
  if (strcmp(reason, "retries_exhausted") != 0)
    assert_int_equal(attempts, 1); /* no retry */
}

static void test_failed_for_good(void **state)
{
  struct ofx *f = *state;
  sign_up(f, "ann", "failed:1:no such box", "echo_text");
  assert_int_equal(f->core->stats.delivery.retried, 0);
  expect_fallback(f, "ann", "invalid_address", "invalid_address: no such box");
}

static void test_failed_reasons(void **state)
{
  const char *names[] = {"other", "invalid_address", "unsubscribed", "blocked", "rejected", "other"};
  for (int n = 0; n <= 5; n++) { /* 5: a reason this host does not know */
    struct ofx *f = open_core("lmdb");
    char how[32];
    snprintf(how, sizeof how, "failed:%d", n);
    sign_up(f, "dee", how, "echo_text");
    expect_fallback(f, "dee", names[n], n == 0 || n == 5 ? NULL : names[n]);
    void *s = f;
    teardown(&s);
  }
}

/* 1.0's permanent failures keep their meaning: dead at once, reason "other", the dead
 * letter's error as it always was. */
static void test_failed_1_0(void **state)
{
  struct ofx *f = *state;
  sign_up(f, "eve", "error10", "echo_text");
  expect_fallback(f, "eve", "other", "bad address");
}

static void test_failed_by_status(void **state)
{
  struct ofx *f = *state;
  sign_up(f, "fay", "return_error", "echo_text");
  expect_fallback(f, "fay", "other", "the plugin refused the message for good");
}

/* Answered from a timer rather than from inside send. */
static void test_failed_later(void **state)
{
  struct ofx *f = *state;
  sign_up(f, "gus", "later:failed:2:opted out", "echo_text");
  for (int i = 0; i < 500 && f->core->stats.delivery.delivered == 0; i++) {
    ev_run(f->loop, EVRUN_NOWAIT);
    usleep(1000);
  }
  core_flush(f->core);
  expect_fallback(f, "gus", "unsubscribed", "unsubscribed: opted out");
}

/* --- retries --- */

/* How long until the one message waiting in the outbox is tried again. */
static int64_t due_in(struct ofx *f, unsigned *attempt)
{
  assert_int_equal(f->core->outbox.n_queue, 1);
  const struct parley_msg *m = outbox_lane_peek(outbox_lane_of(&f->core->outbox, "email"));
  assert_int_equal(m->state, MSG_QUEUED);
  assert_string_equal(m->last_error, "throttled");
  *attempt = m->attempt;
  return m->due_ms - clock_now_ms(&f->core->clock);
}

/* A wait longer than the backoff is honoured, to the millisecond; then the attempts run
 * out, the message is dead-lettered as "retries_exhausted" and the journey falls back. */
static void test_retry_after_honoured(void **state)
{
  struct ofx *f = *state;
  unsigned attempt;
  sign_up(f, "hal", "retry:3600000", "echo_text");
  assert_int_equal(due_in(f, &attempt), 3600000);
  assert_int_equal(attempt, 1);
  advance(f, 3600000 - 1);
  assert_int_equal(due_in(f, &attempt), 1); /* not yet */
  advance(f, 1);
  assert_int_equal(due_in(f, &attempt), 3600000);
  assert_int_equal(attempt, 2);
  assert_int_equal(f->core->stats.delivery.retried, 2);
  advance(f, 3600000);
  expect_fallback(f, "hal", "retries_exhausted", "throttled");
}

/* A message waiting for its retry waits in the store: with LMDB the outbox keeps no
 * rendered part nor profile of it in memory, and reads them back when its turn comes, so
 * every attempt gets the message whole (the store's record stays whole through the
 * claims: the dead letter still holds the text). With the memory store it stays whole. */
static void test_queued_message_waits_in_the_store(void **state)
{
  struct ofx *f = *state;
  unsigned attempt;
  sign_up(f, "ivy", "retry:1000", "echo_text");
  assert_true(due_in(f, &attempt) > 0);
  const struct parley_msg *m = outbox_lane_peek(outbox_lane_of(&f->core->outbox, "email"));
  assert_int_equal(m->slim, 1);
  assert_null(m->text);
  assert_null(m->subject);
  assert_null(m->profile_json);
  assert_string_equal(m->contact, "ivy");
  for (int i = 0; i < 10 && f->core->stats.delivery.dead == 0; i++)
    advance(f, 3600000);
  assert_int_equal(f->core->stats.delivery.dead, 1);
  struct parley_msg *d = dead_letter(f);
  assert_int_equal(d->attempt, 3);
  assert_string_equal(d->text, "Hello by e-mail.");
  assert_string_equal(d->subject, "Hello");
  assert_non_null(d->profile_json);
  msg_record_free(d);

  struct ofx *g = open_core("memory");
  sign_up(g, "jo", "retry:1000", "delivered");
  m = outbox_lane_peek(outbox_lane_of(&g->core->outbox, "email"));
  assert_int_equal(m->slim, 0);
  assert_string_equal(m->text, "Hello by e-mail.");
  void *sg = g;
  teardown(&sg);
}

/* A wait shorter than the backoff gives way to it; a wait of years is cut to a day. */
static void test_retry_after_bounds(void **state)
{
  struct ofx *f = *state;
  unsigned attempt;
  sign_up(f, "ida", "retry:1", "delivered");
  int64_t in = due_in(f, &attempt);
  if (in < 500 || in > 1000) /* the first backoff: 50-100% of retry_base */
    fail_msg("a retry-after of 1 ms waited %lld ms, not the backoff", (long long)in);
  struct ofx *g = open_core("memory");
  sign_up(g, "jo", "retry:99999999999999", "delivered");
  assert_int_equal(due_in(g, &attempt), 24 * 3600 * 1000LL);
  void *s = g;
  teardown(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_delivered_with_provider_id, setup_memory, teardown),
      cmocka_unit_test_setup_teardown(test_delivered_with_provider_id, setup_lmdb, teardown),
      cmocka_unit_test_setup_teardown(test_failed_for_good, setup_lmdb, teardown),
      cmocka_unit_test(test_failed_reasons),
      cmocka_unit_test_setup_teardown(test_failed_1_0, setup_lmdb, teardown),
      cmocka_unit_test_setup_teardown(test_failed_by_status, setup_lmdb, teardown),
      cmocka_unit_test_setup_teardown(test_failed_later, setup_lmdb, teardown),
      cmocka_unit_test_setup_teardown(test_retry_after_honoured, setup_lmdb, teardown),
      cmocka_unit_test_setup_teardown(test_retry_after_bounds, setup_memory, teardown),
      cmocka_unit_test_setup_teardown(test_queued_message_waits_in_the_store, setup_lmdb, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

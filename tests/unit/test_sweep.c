/* The retention sweep (sweep.c) on a virtual clock, on both store backends: an ended
 * conversation past retention goes (a recent one and a running one stay, and so does the
 * re-entry rule), history entries go by age, retention false keeps everything, and each
 * tick reads no more records than it is allowed, a pass going on where the last tick
 * stopped, across a restart too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corefix.h"
#include "sweep.h"

#define DAY (24 * HOUR)
#define ALL 1000000 /* a budget no test store reaches: one tick is a whole pass */

static struct store *store_of(struct fixture *f)
{
  return f->core->store;
}

static struct contact *contact(struct fixture *f, const char *id)
{
  struct contact *ct = store_of(f)->ops->contact_get(store_of(f), id);
  assert_non_null(ct);
  return ct;
}

static void post(struct fixture *f, const char *id, const char *type, const char *who)
{
  char json[256];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"%s\",\"contact\":\"%s\",\"profile\":{\"email\":\"%s@x.org\"}}", id,
           type, who, who);
  fx_post(f, json);
}

static void sweep(struct fixture *f, size_t budget)
{
  sweep_tick(f->core, budget);
  core_flush(f->core);
}

static int oldest_at_least(const struct history *h, int64_t at)
{
  for (size_t i = 0; i < h->n; i++)
    if (history_at(h, i)->at_ms < at)
      return 0;
  return 1;
}

static int setup_conversations(void **state, const char *backend)
{
  *state = fx_new_with(backend, 0, "  retention = { conversations = '30d', history = false },");
  return 0;
}

static int setup_conversations_memory(void **state)
{
  return setup_conversations(state, "memory");
}

static int setup_conversations_lmdb(void **state)
{
  return setup_conversations(state, "lmdb");
}

/* Ann's and Dan's conversations ended at T0, Bob's 20 days later, Carl's still runs. */
static void test_old_ended_conversations_go(void **state)
{
  struct fixture *f = *state;
  assert_true(ev_is_active(&f->core->sweep_timer));
  post(f, "e1", "visited", "ann");
  post(f, "e2", "signed_up", "dan");
  post(f, "e3", "clicked", "dan");
  post(f, "e4", "signed_up", "carl");
  uint64_t carl = contact(f, "carl")->convs[0];
  fx_advance(f, 20 * DAY);
  post(f, "e5", "visited", "bob");
  fx_advance(f, 10 * DAY); /* T0 + 30 d: Ann's and Dan's are just old enough */
  sweep(f, ALL);
  assert_int_equal(f->core->stats.swept_convs, 2);
  if (strcmp(f->backend, "lmdb") == 0) { /* gone for good */
    fx_close(f);
    fx_open(f);
    assert_int_equal(f->core->stats.swept_convs, 2);
  }
  assert_int_equal(contact(f, "ann")->n_convs, 0);
  assert_int_equal(contact(f, "dan")->n_convs, 0);
  assert_true(fx_history_has(&contact(f, "ann")->history, "entered again")); /* history: for ever */
  assert_int_equal(contact(f, "bob")->n_convs, 1);
  assert_int_equal(fx_only_conv(f, "carl")->id, carl);
  assert_int_equal(fx_only_conv(f, "carl")->status, CONV_LISTENING);
  /* the last start stays: Dan entered greet once and never again; Ann may enter again
   * (a day after her last start) */
  post(f, "e6", "signed_up", "dan");
  assert_int_equal(contact(f, "dan")->n_convs, 0);
  post(f, "e7", "visited", "ann");
  assert_int_equal(contact(f, "ann")->n_convs, 1);
  sweep(f, ALL); /* nothing more is old enough */
  assert_int_equal(f->core->stats.swept_convs, 2);
}

static int setup_history(void **state, const char *backend)
{
  *state = fx_new_with(backend, 0, "  retention = { conversations = false, history = '2d' },");
  return 0;
}

static int setup_history_memory(void **state)
{
  return setup_history(state, "memory");
}

static int setup_history_lmdb(void **state)
{
  return setup_history(state, "lmdb");
}

static size_t older(const struct history *h, int64_t at)
{
  size_t n = 0;
  for (size_t i = 0; i < h->n; i++)
    n += history_at(h, i)->at_ms < at;
  return n;
}

/* Ann's greet conversation nudges her every day; Bob's ended at T0. Five days later only
 * what was written in the last two days is left, in contacts and conversations alike;
 * Bob's conversation stays (conversations = false), with an empty history. */
static void test_history_goes_by_age(void **state)
{
  struct fixture *f = *state;
  post(f, "e1", "signed_up", "ann");
  post(f, "e2", "visited", "bob");
  fx_advance(f, 5 * DAY);
  int64_t cut = f->now_ms - 2 * DAY;
  const char *who[] = {"ann", "bob"};
  size_t expect = 0;
  for (int i = 0; i < 2; i++)
    expect += older(&contact(f, who[i])->history, cut) + older(&fx_only_conv(f, who[i])->history, cut);
  assert_true(fx_history_has(&contact(f, "ann")->history, "entered greet"));
  sweep(f, ALL);
  assert_int_equal(f->core->stats.swept_history, expect);
  struct contact *ann = contact(f, "ann");
  struct conv *cv = fx_only_conv(f, "ann");
  assert_true(oldest_at_least(&ann->history, cut));
  assert_true(oldest_at_least(&cv->history, cut));
  assert_false(fx_history_has(&ann->history, "entered greet"));
  assert_false(fx_history_has(&cv->history, "entered on signed_up"));
  assert_true(fx_history_has(&cv->history, "deadline passed")); /* yesterday's nudge */
  assert_true(fx_history_has(&ann->history, "spoke email/nudge"));
  assert_int_equal(cv->status, CONV_LISTENING);
  assert_int_equal(contact(f, "bob")->history.n, 0);
  assert_int_equal(fx_only_conv(f, "bob")->status, CONV_DONE);
  assert_int_equal(fx_only_conv(f, "bob")->history.n, 0);
  assert_int_equal(f->core->stats.swept_convs, 0);
}

static int setup_forever(void **state)
{
  *state = fx_new_with("lmdb", 0, "  retention = { conversations = false, history = false },");
  return 0;
}

static void test_retention_false_keeps_everything(void **state)
{
  struct fixture *f = *state;
  assert_false(ev_is_active(&f->core->sweep_timer));
  post(f, "e1", "visited", "ann");
  size_t entries = contact(f, "ann")->history.n;
  fx_advance(f, 400 * DAY);
  assert_int_equal(sweep_tick(f->core, ALL), 0); /* nothing is even read */
  core_flush(f->core);
  assert_int_equal(fx_only_conv(f, "ann")->status, CONV_DONE);
  assert_int_equal(contact(f, "ann")->history.n, entries);
  assert_true(fx_only_conv(f, "ann")->history.n > 0);
  assert_int_equal(f->core->stats.swept_convs + f->core->stats.swept_history, 0);
}

static int setup_bounded(void **state, const char *backend)
{
  *state = fx_new_with(backend, 0, "  retention = { conversations = '1d', history = false },");
  return 0;
}

static int setup_bounded_memory(void **state)
{
  return setup_bounded(state, "memory");
}

static int setup_bounded_lmdb(void **state)
{
  return setup_bounded(state, "lmdb");
}

#define CONTACTS 30
#define BUDGET 9

/* Thirty ended conversations, swept nine records a tick: a removal reads two (the
 * conversation and its contact), so a tick removes four at most, never reading a tenth
 * record for a fifth; a pass takes eight ticks or more and misses none (with LMDB, across
 * a restart halfway). */
static void test_each_tick_reads_a_bounded_number(void **state)
{
  struct fixture *f = *state;
  char id[16], who[16];
  for (int i = 0; i < CONTACTS; i++) {
    snprintf(id, sizeof id, "e%d", i);
    snprintf(who, sizeof who, "c%d", i);
    post(f, id, "visited", who);
  }
  fx_advance(f, 2 * DAY);
  int ticks = 0;
  while (f->core->stats.swept_convs < CONTACTS && ticks < 100) {
    uint64_t before = f->core->stats.swept_convs;
    size_t read = sweep_tick(f->core, BUDGET);
    core_flush(f->core);
    assert_true(read <= BUDGET);
    assert_true(f->core->stats.swept_convs - before <= BUDGET / 2);
    if (++ticks == 3 && strcmp(f->backend, "lmdb") == 0) {
      fx_close(f);
      fx_open(f);
    }
  }
  assert_int_equal(f->core->stats.swept_convs, CONTACTS);
  assert_true(ticks >= (CONTACTS + BUDGET / 2 - 1) / (BUDGET / 2));
  for (int i = 0; i < CONTACTS; i++) {
    snprintf(who, sizeof who, "c%d", i);
    assert_int_equal(contact(f, who)->n_convs, 0);
  }
  assert_true(sweep_tick(f->core, BUDGET) <= BUDGET);
  core_flush(f->core);
  assert_int_equal(f->core->stats.swept_convs, CONTACTS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_old_ended_conversations_go, setup_conversations_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_old_ended_conversations_go, setup_conversations_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_history_goes_by_age, setup_history_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_history_goes_by_age, setup_history_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_retention_false_keeps_everything, setup_forever, fx_teardown),
      cmocka_unit_test_setup_teardown(test_each_tick_reads_a_bounded_number, setup_bounded_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_each_tick_reads_a_bounded_number, setup_bounded_lmdb, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Erasing a contact through the core (erase.c) on both store backends: everything of it
 * goes (profile, conversations, deadlines, active counts, history, messages queued, in
 * flight or dead, receipts not applied yet), another contact is untouched, a restart
 * brings nothing back, no erased message is ever delivered, a failed commit keeps the
 * contact whole, and a later event for the id starts from nothing. */
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
#include "corefix.h"
#include "erase.h"
#include "registry.h"

#define SECOND 1000LL
/* Three attempts a second apart, so a message is dead a few seconds after it is spoken. */
#define FAST_DEAD "  delivery = { max_attempts = 3, retry_base = '1s', retry_max = '1s' },"

static struct store *store_of(struct fixture *f)
{
  return f->core->store;
}

static int is_lmdb(const struct fixture *f)
{
  return strcmp(f->backend, "lmdb") == 0;
}

/* How many lines the file plugin wrote for `contact`. */
static int spoken_to(struct fixture *f, const char *contact)
{
  cJSON *out = fx_spoken(f);
  int n = 0;
  for (int i = 0; i < cJSON_GetArraySize(out); i++)
    n += strcmp(fx_field(out, i, "contact"), contact) == 0;
  cJSON_Delete(out);
  return n;
}

/* Active conversations of the greet journey's current version. */
static int64_t greet_active(struct fixture *f)
{
  uint32_t v = registry_current_version(&f->core->registry, "greet");
  return store_of(f)->ops->active_add(store_of(f), "greet", v, 0);
}

/* Messages of `contact`: queued in the outbox's memory, and stored (queued or dead). */
struct census {
  int queued, stored, dead;
  const char *contact;
};

static void count_stored(void *ud, struct parley_msg *m)
{
  struct census *c = ud;
  if (strcmp(m->contact, c->contact) == 0) {
    c->stored++;
    c->dead += m->state == MSG_DEAD;
  }
  msg_record_free(m);
}

static struct census census(struct fixture *f, const char *contact)
{
  struct census c = {0, 0, 0, contact};
  const struct outbox *ob = &f->core->outbox;
  for (size_t l = 0; l < ob->n_lanes; l++)
    for (size_t i = 0; i < ob->lanes[l]->n_heap; i++)
      c.queued += strcmp(ob->lanes[l]->heap[i]->contact, contact) == 0;
  store_of(f)->ops->msg_each(store_of(f), count_stored, &c);
  return c;
}

static void erase_now(struct fixture *f, const char *contact, int expect)
{
  assert_int_equal(erase_contact(f->core, contact), expect);
  core_flush(f->core);
}

/* Bob was left alone: his profile, his listening conversation and his deadline. */
static void assert_bob_untouched(struct fixture *f)
{
  struct conv *cv = fx_only_conv(f, "bob");
  assert_int_equal(cv->status, CONV_LISTENING);
  int64_t due;
  uint64_t id;
  assert_int_equal(store_of(f)->ops->deadline_next(store_of(f), &due, &id), 1);
  assert_int_equal(id, cv->id);
  struct contact *ct = store_of(f)->ops->contact_get(store_of(f), "bob");
  assert_string_equal(cJSON_GetObjectItem(ct->profile, "email")->valuestring, "b@x.org");
  assert_true(fx_history_has(&ct->history, "entered greet"));
}

static void assert_ann_gone(struct fixture *f, const uint64_t *ids, size_t n)
{
  const struct store_ops *o = store_of(f)->ops;
  assert_null(o->contact_get(store_of(f), "ann"));
  for (size_t i = 0; i < n; i++)
    assert_null(o->conv_get(store_of(f), ids[i]));
  assert_int_equal(greet_active(f), 1); /* bob's */
}

/* Ann: a running greet conversation (deadline in an hour) and an ended one; Bob: a
 * running one. A receipt for Ann waits to be applied when she is erased. */
static void test_erase_takes_everything_and_spares_the_rest(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"ann\","
             "\"profile\":{\"email\":\"a@x.org\",\"first_name\":\"Ann\"}}");
  fx_post(f, "{\"id\":\"e2\",\"type\":\"visited\",\"contact\":\"ann\"}");
  fx_post(f, "{\"id\":\"e3\",\"type\":\"signed_up\",\"contact\":\"bob\",\"profile\":{\"email\":\"b@x.org\"}}");
  struct contact *ct = store_of(f)->ops->contact_get(store_of(f), "ann");
  assert_int_equal(ct->n_convs, 2);
  uint64_t ids[2] = {ct->convs[0], ct->convs[1]};
  assert_int_equal(greet_active(f), 2);
  char err[128];
  const char *receipt = "{\"id\":\"r1\",\"type\":\"email.delivered\",\"contact\":\"ann\"}";
  assert_int_equal(core_emit_event(f->core, receipt, strlen(receipt), err, sizeof err), 0);

  erase_now(f, "ann", 1);
  assert_ann_gone(f, ids, 2); /* the receipt did not bring her back either */
  assert_bob_untouched(f);
  assert_int_equal(f->core->stats.erased, 1);
  erase_now(f, "ann", 0); /* unknown now */
  assert_int_equal(f->core->stats.erased, 1);
  if (is_lmdb(f)) { /* the restart brings nothing back */
    fx_close(f);
    fx_open(f);
    assert_ann_gone(f, ids, 2);
    assert_bob_untouched(f);
    assert_int_equal(f->core->stats.erased, 1);
  }
  fx_advance(f, HOUR); /* only Bob's deadline is left to fire */
  assert_int_equal(spoken_to(f, "ann"), 1); /* the welcome, before the erasure */
  assert_int_equal(spoken_to(f, "bob"), 2);
  assert_null(store_of(f)->ops->contact_get(store_of(f), "ann"));
}

/* Event ids stay in the dedupe window (not personal data); a new event starts a new
 * contact from nothing: no old profile, history or conversations, and greet (entered
 * once) may be entered again. */
static void test_later_events_start_from_nothing(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"ann\","
             "\"profile\":{\"email\":\"a@x.org\",\"first_name\":\"Ann\"}}");
  erase_now(f, "ann", 1);
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"ann\","
             "\"profile\":{\"email\":\"a@x.org\",\"first_name\":\"Ann\"}}");
  assert_int_equal(f->core->stats.duplicates, 1);
  assert_null(store_of(f)->ops->contact_get(store_of(f), "ann"));
  fx_post(f, "{\"id\":\"e9\",\"type\":\"signed_up\",\"contact\":\"ann\",\"profile\":{\"email\":\"a@y.org\"}}");
  struct contact *ct = store_of(f)->ops->contact_get(store_of(f), "ann");
  assert_non_null(ct);
  assert_null(cJSON_GetObjectItem(ct->profile, "first_name"));
  assert_false(fx_history_has(&ct->history, "id=e1"));
  struct conv *cv = fx_only_conv(f, "ann"); /* greet again, and only this one */
  assert_string_equal(cv->journey, "greet");
  assert_int_equal(cv->status, CONV_LISTENING);
  assert_int_equal(greet_active(f), 1);
}

/* Ann and Bob each get a dead welcome and a nudge waiting for its retry (the channel
 * writes to /dev/full, so every attempt fails). */
static struct fixture *failing_channel(const char *backend)
{
  struct fixture *f = fx_new_with(backend, 0, FAST_DEAD);
  fx_close(f);
  strcpy(f->spoken, "/dev/full");
  fx_open(f);
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"ann\",\"profile\":{\"email\":\"a@x.org\"}}");
  fx_post(f, "{\"id\":\"e2\",\"type\":\"signed_up\",\"contact\":\"bob\",\"profile\":{\"email\":\"b@x.org\"}}");
  for (int i = 0; i < 3; i++)
    fx_advance(f, 2 * SECOND);
  assert_int_equal(f->core->stats.delivery.dead, 2);
  fx_advance(f, HOUR);
  struct census ann = census(f, "ann");
  assert_int_equal(ann.queued, 1);
  assert_int_equal(ann.stored, is_lmdb(f) ? 2 : 0); /* the memory store keeps no outbox */
  assert_int_equal(ann.dead, is_lmdb(f) ? 1 : 0);
  return f;
}

static void assert_census(struct fixture *f, const char *contact, int queued, int stored, int dead)
{
  struct census c = census(f, contact);
  assert_int_equal(c.queued, queued);
  assert_int_equal(c.stored, is_lmdb(f) ? stored : 0);
  assert_int_equal(c.dead, is_lmdb(f) ? dead : 0);
}

/* After the erasure only Bob's nudge is tried again (once more, then dead). */
static void check_erased_messages_never_tried(const char *backend)
{
  struct fixture *f = failing_channel(backend);
  uint64_t retried = f->core->stats.delivery.retried;
  erase_now(f, "ann", 1);
  assert_census(f, "ann", 0, 0, 0);
  assert_census(f, "bob", 1, 2, 1);
  for (int i = 0; i < 3; i++)
    fx_advance(f, 2 * SECOND);
  assert_int_equal(f->core->stats.delivery.retried - retried, 1);
  assert_int_equal(f->core->stats.delivery.dead, 3);
  assert_census(f, "bob", 0, 2, 2);
  fx_free(f);
}

static void test_erased_messages_are_never_tried_again(void **state)
{
  check_erased_messages_never_tried("memory");
  check_erased_messages_never_tried("lmdb");
}

/* LMDB: restarted on a channel that works, the daemon delivers Bob's waiting nudge and
 * nothing of Ann's. */
static void test_erased_messages_stay_gone_after_a_restart(void **state)
{
  struct fixture *f = failing_channel("lmdb");
  erase_now(f, "ann", 1);
  fx_close(f);
  snprintf(f->spoken, sizeof f->spoken, "%s/spoken.ndjson", f->dir);
  fx_open(f);
  assert_census(f, "ann", 0, 0, 0);
  fx_advance(f, 2 * SECOND);
  assert_int_equal(spoken_to(f, "bob"), 1);
  assert_int_equal(spoken_to(f, "ann"), 0);
  assert_census(f, "bob", 0, 1, 1); /* the nudge delivered; the dead welcome kept */
  fx_free(f);
}

/* A store whose commits fail: the batch is dropped, as a full disk would. */
static const struct store_ops *real_ops;

static int failing_commit(struct store *s, char *err, size_t errlen)
{
  real_ops->abort(s);
  if (err)
    snprintf(err, errlen, "injected failure");
  return -1;
}

/* LMDB: a dropped batch keeps Ann whole, her queued nudge back in the queue; erased again
 * once commits succeed, she is gone. */
static void test_failed_commit_keeps_the_contact_whole(void **state)
{
  struct fixture *f = failing_channel("lmdb");
  struct store_ops failing = *store_of(f)->ops;
  failing.commit = failing_commit;
  real_ops = store_of(f)->ops;
  store_of(f)->ops = &failing;
  assert_int_equal(erase_contact(f->core, "ann"), 1);
  assert_int_equal(census(f, "ann").queued, 0); /* set aside until the commit says */
  core_flush(f->core);
  store_of(f)->ops = real_ops;
  assert_true(f->core->commit_failing);
  struct conv *cv = fx_only_conv(f, "ann");
  assert_int_equal(cv->status, CONV_LISTENING);
  assert_int_equal(greet_active(f), 2);
  assert_census(f, "ann", 1, 2, 1);
  uint64_t retried = f->core->stats.delivery.retried;
  fx_advance(f, 2 * SECOND); /* both nudges are tried again */
  assert_int_equal(f->core->stats.delivery.retried - retried, 2);
  erase_now(f, "ann", 1);
  assert_false(f->core->commit_failing);
  assert_null(store_of(f)->ops->contact_get(store_of(f), "ann"));
  assert_census(f, "ann", 0, 0, 0);
  assert_int_equal(greet_active(f), 1);
  fx_free(f);
}

/* ---- a message a plugin holds when its contact is erased ---- */

struct pfx {
  struct core *core;
  struct ev_loop *loop;
  char dir[64];
};

/* The `twice` journey (two e-mails per sign-up) on tests/plugins/pending_send, which
 * answers 20 ms later with PARLEY_RETRY. The loop's clock is real. */
static struct pfx *pending_core(const char *backend)
{
  struct pfx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-erase-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  char conf[2048], err[1024];
  snprintf(conf, sizeof conf,
           "return { log_level = 'error', data_dir = '%s',\n"
           "  plugin_dir = builddir .. '/tests/plugins', sdk_dir = srcdir .. '/sdk/lua',\n"
           "  journeys_dir = srcdir .. '/tests/unit/delivery_journeys',\n"
           "  store = { backend = '%s', map_size_mb = 64 },\n"
           "  delivery = { max_attempts = 5, retry_base = '1h', retry_max = '1h' },\n"
           "  channels = { email = { plugin = 'pending_send', delay_ms = 20, fail = true } } }\n",
           f->dir, backend);
  struct cfg *cfg;
  if (cfg_load_string(conf, strlen(conf), "test config", &cfg, err, sizeof err) < 0)
    fail_msg("config: %s", err);
  f->loop = ev_loop_new(EVFLAG_AUTO);
  if (core_open(cfg, f->loop, &f->core, err, sizeof err) < 0)
    fail_msg("core_open: %s", err);
  return f;
}

static void post(struct core *core, const char *contact)
{
  char json[256], err[256];
  struct event ev;
  snprintf(json, sizeof json,
           "{\"id\":\"up-%s\",\"type\":\"signed_up\",\"contact\":\"%s\",\"profile\":{\"email\":\"%s@x.org\"}}",
           contact, contact, contact);
  if (event_parse(json, strlen(json), clock_now_ms(&core->clock), &ev, err, sizeof err) < 0)
    fail_msg("event: %s", err);
  conv_apply_event(core, &ev);
  event_clear(&ev);
}

static void check_in_flight(const char *backend)
{
  struct pfx *f = pending_core(backend);
  post(f->core, "ann");
  post(f->core, "bob");
  core_flush(f->core);
  assert_int_equal(f->core->outbox.n_sending, 4); /* all four with the plugin */
  assert_int_equal(erase_contact(f->core, "ann"), 1);
  core_flush(f->core);
  for (int i = 0; i < 2000 && f->core->outbox.n_sending > 0; i++) {
    ev_run(f->loop, EVRUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(f->core->outbox.n_sending, 0);
  core_flush(f->core);
  /* Bob's two wait for their retry; Ann's were forgotten, neither queued nor stored */
  assert_int_equal(f->core->stats.delivery.retried, 2);
  assert_int_equal(f->core->outbox.n_queue, 2);
  const struct outbox_lane *lane = outbox_lane_of(&f->core->outbox, "email");
  assert_int_equal(lane->n_heap, 2);
  for (size_t i = 0; i < lane->n_heap; i++)
    assert_string_equal(lane->heap[i]->contact, "bob");
  struct census ann = {0, 0, 0, "ann"}, bob = {0, 0, 0, "bob"};
  f->core->store->ops->msg_each(f->core->store, count_stored, &ann);
  f->core->store->ops->msg_each(f->core->store, count_stored, &bob);
  assert_int_equal(ann.stored, 0);
  assert_int_equal(bob.stored, strcmp(backend, "lmdb") == 0 ? 2 : 0);
  char cmd[128];
  core_close(f->core);
  ev_loop_destroy(f->loop);
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
}

static void test_message_in_flight_is_forgotten(void **state)
{
  check_in_flight("memory");
  check_in_flight("lmdb");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_erase_takes_everything_and_spares_the_rest, fx_setup_memory,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_erase_takes_everything_and_spares_the_rest, fx_setup_lmdb,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_later_events_start_from_nothing, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_later_events_start_from_nothing, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test(test_erased_messages_are_never_tried_again),
      cmocka_unit_test(test_erased_messages_stay_gone_after_a_restart),
      cmocka_unit_test(test_failed_commit_keeps_the_contact_whole),
      cmocka_unit_test(test_message_in_flight_is_forgotten),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The conversation state machine on a virtual clock: entry, listen with timeout, wake by
 * event, goal and exit, re-entry, entry conditions, de-duplication, consent gate, failing
 * scripts, and what the real `file` plugin received. */
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

static void test_entry_speaks_and_listens(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"ann\",\"data\":{\"plan\":\"pro\"},"
          "\"profile\":{\"email\":\"ann@example.com\",\"first_name\":\"Ann\"}}");
  struct conv *cv = fx_only_conv(f, "ann");
  assert_int_equal(cv->status, CONV_LISTENING);
  assert_string_equal(cv->step, "after");
  assert_int_equal(cv->n_listen, 1);
  assert_string_equal(cv->listening_for[0], "clicked");
  assert_int_equal(cv->deadline_ms, T0 + HOUR);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(fx_field(out, 0, "template"), "hello");
  assert_string_equal(fx_field(out, 0, "address"), "ann@example.com");
  assert_string_equal(fx_field(out, 0, "subject"), "Welcome aboard");
  assert_string_equal(fx_field(out, 0, "text"), "Hi Ann, you are on the pro plan.\n");
  cJSON_Delete(out);
  /* the sms speak was refused by the core's gate, and that is on record */
  assert_true(fx_history_has(&cv->history, "refused sms/hello: no channel 'sms' is configured"));
  assert_int_equal(f->core->stats.refused, 1);
}

static void test_silence_wakes_with_nil_after_deadline(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"bob\",\"profile\":{\"email\":\"b@x.org\"}}");
  fx_advance(f, HOUR - 1);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 1); /* not yet */
  cJSON_Delete(out);
  fx_advance(f, 1);
  out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(fx_field(out, 1, "template"), "nudge");
  assert_string_equal(fx_field(out, 1, "text"), "Nudge number 1");
  cJSON_Delete(out);
  fx_advance(f, 24 * HOUR);
  out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 3);
  assert_string_equal(fx_field(out, 2, "text"), "Nudge number 2"); /* memory kept between steps */
  cJSON_Delete(out);
  struct conv *cv = fx_only_conv(f, "bob");
  assert_int_equal(cv->deadline_ms, T0 + HOUR + 24 * HOUR + 24 * HOUR);
}

static void test_answer_branches_and_finishes(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"cy\",\"profile\":{\"email\":\"c@x.org\"}}");
  fx_advance(f, 10 * 60 * 1000);
  fx_post(f, "{\"id\":\"e2\",\"type\":\"clicked\",\"contact\":\"cy\"}");
  struct conv *cv = fx_only_conv(f, "cy");
  assert_int_equal(cv->status, CONV_DONE);
  assert_string_equal(cv->outcome, "finished");
  assert_int_equal(cv->deadline_ms, 0);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(fx_field(out, 1, "template"), "thanks");
  cJSON_Delete(out);
  fx_advance(f, 48 * HOUR); /* nothing more is said once done */
  out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  cJSON_Delete(out);
}

static void test_goal_and_exit_end_conversations(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"di\",\"profile\":{\"email\":\"d@x.org\"}}");
  fx_post(f, "{\"id\":\"e2\",\"type\":\"purchased\",\"contact\":\"di\"}");
  struct conv *cv = fx_only_conv(f, "di");
  assert_int_equal(cv->status, CONV_DONE);
  assert_string_equal(cv->outcome, "goal:purchased");
  assert_int_equal(f->core->stats.goals, 1);
  fx_post(f, "{\"id\":\"e3\",\"type\":\"signed_up\",\"contact\":\"ed\",\"profile\":{\"email\":\"e@x.org\"}}");
  fx_post(f, "{\"id\":\"e4\",\"type\":\"deleted\",\"contact\":\"ed\"}");
  cv = fx_only_conv(f, "ed");
  assert_string_equal(cv->outcome, "exit:deleted");
  assert_int_equal(f->core->stats.goals, 1);
  fx_advance(f, 2 * HOUR);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 2); /* the two hellos, no nudges */
  cJSON_Delete(out);
}

static void test_duplicate_event_applied_once(void **state)
{
  struct fixture *f = *state;
  const char *ev = "{\"id\":\"same\",\"type\":\"signed_up\",\"contact\":\"fa\",\"profile\":{\"email\":\"f@x.org\"}}";
  fx_post(f, ev);
  fx_post(f, ev);
  assert_int_equal(f->core->stats.duplicates, 1);
  assert_int_equal(f->core->stats.events, 1);
  fx_only_conv(f, "fa");
}

static void test_reentry_rules(void **state)
{
  struct fixture *f = *state;
  /* greet has no reenter_after: a contact enters it once */
  fx_post(f, "{\"id\":\"g1\",\"type\":\"signed_up\",\"contact\":\"gus\",\"profile\":{\"email\":\"g@x.org\"}}");
  fx_post(f, "{\"id\":\"g2\",\"type\":\"purchased\",\"contact\":\"gus\"}");
  fx_post(f, "{\"id\":\"g3\",\"type\":\"signed_up\",\"contact\":\"gus\"}");
  fx_only_conv(f, "gus");
  /* again: re-entry a day after the last start */
  fx_post(f, "{\"id\":\"v1\",\"type\":\"visited\",\"contact\":\"hal\"}");
  fx_advance(f, 23 * HOUR);
  fx_post(f, "{\"id\":\"v2\",\"type\":\"visited\",\"contact\":\"hal\"}");
  assert_int_equal(f->core->store->ops->contact_get(f->core->store, "hal")->n_convs, 1);
  fx_advance(f, HOUR);
  fx_post(f, "{\"id\":\"v3\",\"type\":\"visited\",\"contact\":\"hal\"}");
  assert_int_equal(f->core->store->ops->contact_get(f->core->store, "hal")->n_convs, 2);
}

/* entry.when is asked before a conversation exists: a contact it turns away is not
 * started, so nothing counts against reenter_after, and may enter once eligible. A
 * condition that fails enters no one and parks nothing. */
static void test_entry_condition(void **state)
{
  struct fixture *f = *state;
  struct store *st = f->core->store;
  int64_t at;
  fx_post(f, "{\"id\":\"p1\",\"type\":\"plan.changed\",\"contact\":\"mia\",\"profile\":{\"plan\":\"free\"}}");
  struct contact *ct = st->ops->contact_get(st, "mia");
  assert_int_equal(ct->n_convs, 0);
  assert_false(contact_last_start(ct, "vip", &at));
  assert_int_equal(f->core->stats.conv_started, 0);
  fx_advance(f, 60 * 1000);
  fx_post(f, "{\"id\":\"p2\",\"type\":\"plan.changed\",\"contact\":\"mia\",\"profile\":{\"plan\":\"pro\"}}");
  ct = st->ops->contact_get(st, "mia");
  assert_int_equal(ct->n_convs, 1);
  assert_true(contact_last_start(ct, "vip", &at));
  assert_int_equal(at, T0 + 60 * 1000);
  assert_int_equal(fx_only_conv(f, "mia")->status, CONV_DONE);
  /* a real start still counts: not again within the day */
  fx_post(f, "{\"id\":\"p3\",\"type\":\"plan.changed\",\"contact\":\"mia\"}");
  assert_int_equal(st->ops->contact_get(st, "mia")->n_convs, 1);
  fx_post(f, "{\"id\":\"p4\",\"type\":\"plan.changed\",\"contact\":\"ned\",\"data\":{\"broken\":true},"
          "\"profile\":{\"plan\":\"pro\"}}");
  ct = st->ops->contact_get(st, "ned");
  assert_int_equal(ct->n_convs, 0);
  assert_false(contact_last_start(ct, "vip", &at));
  assert_int_equal(f->core->stats.conv_started, 1);
  assert_int_equal(f->core->stats.conv_failed, 0);
}

static void test_failing_script_parks_only_its_conversation(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"x1\",\"type\":\"explode\",\"contact\":\"ivy\"}");
  struct conv *cv = fx_only_conv(f, "ivy");
  assert_int_equal(cv->status, CONV_FAILED);
  assert_non_null(cv->error);
  assert_non_null(strstr(cv->error, "kaboom"));
  assert_non_null(strstr(cv->error, "step 'start'"));
  /* the error (what GET /v1/contacts/{id} shows) names the file as the journeys folder
   * holds it, never by a path of the machine */
  const char *file = strstr(cv->error, "boom.lua:");
  assert_non_null(file);
  assert_null(memchr(cv->error, '/', (size_t)(file - cv->error)));
  assert_null(strstr(cv->error, f->journeys));
  assert_false(fx_history_has(&cv->history, f->journeys));
  assert_int_equal(f->core->stats.conv_failed, 1);
  /* everyone else goes on */
  fx_post(f, "{\"id\":\"x2\",\"type\":\"signed_up\",\"contact\":\"jo\",\"profile\":{\"email\":\"j@x.org\"}}");
  assert_int_equal(fx_only_conv(f, "jo")->status, CONV_LISTENING);
}

/* Each reason the journey docs give for a refused speak (no consent, no address, opted out;
 * an unknown channel: test_entry_speaks_and_listens) is the core's, and on record. */
static void test_consent_refusal_is_recorded(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"k1\",\"type\":\"signed_up\",\"contact\":\"kim\","
          "\"profile\":{\"email\":\"k@x.org\",\"consent\":{\"email\":false}}}");
  struct conv *cv = fx_only_conv(f, "kim");
  assert_true(fx_history_has(&cv->history, "refused email/hello: no consent for email"));
  fx_post(f, "{\"id\":\"k2\",\"type\":\"signed_up\",\"contact\":\"lee\"}"); /* no address */
  cv = fx_only_conv(f, "lee");
  assert_true(fx_history_has(&cv->history, "refused email/hello: the contact has no email for email"));
  fx_post(f, "{\"id\":\"k3\",\"type\":\"signed_up\",\"contact\":\"max\","
          "\"profile\":{\"email\":\"m@x.org\",\"unsubscribed\":true}}");
  cv = fx_only_conv(f, "max");
  assert_true(fx_history_has(&cv->history, "refused email/hello: the contact unsubscribed"));
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 0);
  cJSON_Delete(out);
}

/* Consent is kept channel by channel: an answer for sms leaves an earlier "no" for email
 * standing (replacing the whole object would have given consent by accident), and null
 * forgets one answer. */
static void test_consent_is_merged_by_channel(void **state)
{
  struct fixture *f = *state;
  struct store *st = f->core->store;
  fx_post(f, "{\"id\":\"m1\",\"type\":\"noted\",\"contact\":\"kay\","
          "\"profile\":{\"email\":\"kay@x.org\",\"consent\":{\"email\":false,\"push\":true}}}");
  fx_post(f, "{\"id\":\"m2\",\"type\":\"noted\",\"contact\":\"kay\",\"profile\":{\"consent\":{\"sms\":true}}}");
  const cJSON *consent = cJSON_GetObjectItem(st->ops->contact_get(st, "kay")->profile, "consent");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(consent, "email")));
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(consent, "sms")));
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(consent, "push")));
  fx_post(f, "{\"id\":\"m3\",\"type\":\"noted\",\"contact\":\"kay\",\"profile\":{\"consent\":{\"push\":null}}}");
  consent = cJSON_GetObjectItem(st->ops->contact_get(st, "kay")->profile, "consent");
  assert_null(cJSON_GetObjectItem(consent, "push"));
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(consent, "email")));
  fx_post(f, "{\"id\":\"m4\",\"type\":\"signed_up\",\"contact\":\"kay\"}");
  assert_true(fx_history_has(&fx_only_conv(f, "kay")->history, "refused email/hello: no consent for email"));
  fx_post(f, "{\"id\":\"m5\",\"type\":\"noted\",\"contact\":\"kay\",\"profile\":{\"consent\":null}}");
  assert_null(cJSON_GetObjectItem(st->ops->contact_get(st, "kay")->profile, "consent"));
}

/* With no journey loaded an event still makes its contact, and starts nothing. */
static void test_event_with_no_journey_loaded(void **state)
{
  (void)state;
  struct fixture *f = fx_new_custom("lmdb", "tests/unit/empty_journeys", "", "");
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"nobody\",\"profile\":{\"email\":\"n@x.org\"}}");
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 0);
  cJSON_Delete(out);
  assert_int_equal(f->core->stats.conv_started, 0);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_entry_speaks_and_listens, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_silence_wakes_with_nil_after_deadline, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_answer_branches_and_finishes, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_goal_and_exit_end_conversations, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_event_applied_once, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_reentry_rules, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_entry_condition, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_failing_script_parks_only_its_conversation, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_refusal_is_recorded, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_is_merged_by_channel, fx_setup_memory, fx_teardown),
      cmocka_unit_test_setup_teardown(test_entry_speaks_and_listens, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_silence_wakes_with_nil_after_deadline, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_answer_branches_and_finishes, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_goal_and_exit_end_conversations, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_event_applied_once, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_reentry_rules, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_entry_condition, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_failing_script_parks_only_its_conversation, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_refusal_is_recorded, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_is_merged_by_channel, fx_setup_lmdb, fx_teardown),
      cmocka_unit_test(test_event_with_no_journey_loaded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Address suppression through the real core and outbox: a send that fails for good with a
 * reason the channel's suppress_on names writes profile.suppressed.<channel> (the address,
 * the reason, when), in the same change as the "email.failed" event; the speak gate then
 * refuses that channel for that address, and only that address: a new one, or the
 * suppression lifted (null), lets the journey speak again. Answers come from
 * tests/plugins/outcome.c (profile.email_outcome); journeys from
 * tests/unit/suppress_journeys (every "nudge" speaks one e-mail; every "ask" asks
 * c:can_speak first). Also the global suppression lists (the configuration's and the
 * API's) through the same core. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corefix.h"
#include "addr.h"
#include "gate.h"
#include "supdb.h"
#include "http/view.h"
#include "profile.h"
#include "store/store.h"

#define CHANNELS "email = { plugin = 'outcome' %s }"
#define PATH "plugin_path = { builddir .. '/tests/plugins' },"

static struct fixture *open_with(const char *email_settings)
{
  char channels[256];
  snprintf(channels, sizeof channels, CHANNELS, email_settings);
  return fx_new_custom("lmdb", "tests/unit/suppress_journeys", channels, PATH);
}

static void nudge(struct fixture *f, const char *contact, const char *profile)
{
  static int n;
  char json[512];
  snprintf(json, sizeof json, "{\"id\":\"n-%d\",\"type\":\"nudge\",\"contact\":\"%s\",\"profile\":%s}", ++n,
           contact, profile);
  fx_advance(f, 2000); /* past reenter_after */
  fx_post(f, json);
}

/* profile.suppressed.email of `contact`, as JSON text ("" when there is none). */
static void suppression(struct fixture *f, const char *contact, char *out, size_t cap)
{
  struct store *st = f->core->store;
  struct contact *ct = st->ops->contact_get(st, contact);
  assert_non_null(ct);
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ct->profile, "suppressed"),
                                                    "email");
  const cJSON *addr = cJSON_GetObjectItemCaseSensitive(s, "address");
  const cJSON *why = cJSON_GetObjectItemCaseSensitive(s, "reason");
  const cJSON *at = cJSON_GetObjectItemCaseSensitive(s, "at");
  if (s == NULL)
    snprintf(out, cap, "%s", "");
  else
    snprintf(out, cap, "%s %s %s", cJSON_IsString(addr) ? addr->valuestring : "?",
             cJSON_IsString(why) ? why->valuestring : "?", cJSON_IsString(at) ? at->valuestring : "?");
}

static int contact_history_has(struct fixture *f, const char *contact, const char *needle)
{
  struct store *st = f->core->store;
  struct contact *ct = st->ops->contact_get(st, contact);
  assert_non_null(ct);
  int has = fx_history_has(&ct->history, needle);
  return has;
}

/* invalid_address: suppressed at once; the next e-mail to that address is refused by the
 * gate, naming why; a new address is spoken to; lifting the suppression frees the old. */
static void test_invalid_address_suppresses(void **state)
{
  (void)state;
  struct fixture *f = open_with("");
  char got[256];
  nudge(f, "ann", "{\"email\":\"ann@example.com\",\"email_outcome\":\"failed:1:no such box\"}");
  assert_int_equal(f->core->stats.delivery.dead, 1);
  suppression(f, "ann", got, sizeof got);
  assert_string_equal(got, "ann@example.com invalid_address 2027-01-15T08:00:02Z");

  nudge(f, "ann", "{\"email_outcome\":\"delivered\"}");
  assert_int_equal(f->core->stats.spoken, 1);
  assert_int_equal(f->core->stats.refused, 1);
  assert_true(contact_history_has(f, "ann", "the contact's email is suppressed for email: invalid_address"));

  nudge(f, "ann", "{\"email\":\"ann@example.org\"}"); /* a new address: spoken to */
  assert_int_equal(f->core->stats.spoken, 2);
  assert_int_equal(f->core->stats.delivery.delivered, 1);

  nudge(f, "ann", "{\"email\":\"ann@example.com\"}"); /* the old one again: still refused */
  assert_int_equal(f->core->stats.refused, 2);
  nudge(f, "ann", "{\"suppressed\":{\"email\":null}}"); /* lifted */
  assert_int_equal(f->core->stats.spoken, 3);
  assert_int_equal(f->core->stats.delivery.delivered, 2);
  suppression(f, "ann", got, sizeof got);
  assert_string_equal(got, "");
  fx_free(f);
}

/* Which failures suppress is the channel's choice: by default invalid_address and
 * unsubscribed, never blocked, rejected or other, never a message that ran out of
 * attempts (which says nothing of the address); suppress_on = {} turns it off. */
static void test_which_reasons(void **state)
{
  (void)state;
  static const struct {
    const char *settings, *outcome;
    int suppressed;
  } cases[] = {
      {"", "failed:2:STOP", 1},
      {"", "failed:3:carrier", 0},
      {"", "failed:4:spam", 0},
      {"", "failed:0", 0},
      {"", "retry:1", 0},
      {", suppress_on = {}", "failed:1", 0},
      {", suppress_on = { 'blocked' }", "failed:3", 1},
      {", suppress_on = { 'blocked' }", "failed:1", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct fixture *f = open_with(cases[i].settings);
    char profile[256], got[256];
    snprintf(profile, sizeof profile, "{\"email\":\"bo@example.com\",\"email_outcome\":\"%s\"}", cases[i].outcome);
    nudge(f, "bo", profile);
    for (int k = 0; k < 48 && f->core->stats.delivery.dead == 0; k++)
      fx_advance(f, 3600 * 1000); /* retries run out */
    if (f->core->stats.delivery.dead != 1)
      fail_msg("case %zu (%s): %llu dead letters", i, cases[i].outcome,
               (unsigned long long)f->core->stats.delivery.dead);
    suppression(f, "bo", got, sizeof got);
    if ((got[0] != '\0') != cases[i].suppressed)
      fail_msg("case %zu (%s%s): suppression \"%s\"", i, cases[i].outcome, cases[i].settings, got);
    fx_free(f);
  }
}

/* suppress_on is checked when the configuration is read: a list of known reasons. */
static void test_config_refused(void **state)
{
  (void)state;
  static const struct {
    const char *settings, *want;
  } cases[] = {
      {"suppress_on = 'invalid_address'", "channels.email: 'suppress_on' must be a list of reasons"},
      {"suppress_on = { 'rejected' }", "channels.email: suppress_on[1] must be \"invalid_address\""},
      {"suppress_on = { 'blocked', 7 }", "channels.email: suppress_on[2] must be"},
      {"suppress_on = { x = 'blocked' }", "channels.email: 'suppress_on' must be a list"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char conf[512], err[512] = "";
    struct cfg *cfg = NULL;
    snprintf(conf, sizeof conf, "return { channels = { email = { plugin = 'file', %s } } }", cases[i].settings);
    assert_int_equal(cfg_load_string(conf, strlen(conf), "test", &cfg, err, sizeof err), -1);
    if (strstr(err, cases[i].want) == NULL)
      fail_msg("%s: got \"%s\"", cases[i].settings, err);
  }
}

/* A suppression set by hand (an API client, a plugin's bounce event) is checked as the
 * core's own is. */
static void test_profile_checked(void **state)
{
  (void)state;
  static const struct {
    const char *json, *want;
  } cases[] = {
      {"{\"suppressed\":true}", "field 'profile.suppressed' must be an object"},
      {"{\"suppressed\":{\"email\":{\"reason\":\"x\"}}}", "field 'profile.suppressed.email' needs 'address'"},
      {"{\"suppressed\":{\"email\":{\"address\":\"a@b.c\",\"why\":\"x\"}}}", "may hold only"},
      {"{\"suppressed\":{\"email\":{\"address\":\"a@b.c\",\"reason\":1}}}", "holds strings only"},
      {"{\"suppressed\":{\"e mail\":null}}", "not a channel name"},
      {"{\"suppressed\":{\"email\":null,\"sms\":{\"address\":\"+15550100\"}}}", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[512] = "";
    cJSON *p = cJSON_Parse(cases[i].json);
    assert_non_null(p);
    int rc = profile_check(p, err, sizeof err);
    cJSON_Delete(p);
    if (cases[i].want == NULL ? rc != 0 : rc != -1 || strstr(err, cases[i].want) == NULL)
      fail_msg("%s: rc %d, \"%s\"", cases[i].json, rc, err);
  }
}

/* An event's suppression for one channel keeps another's (merged channel by channel). */
static void test_merged_by_channel(void **state)
{
  (void)state;
  cJSON *prof = cJSON_Parse("{\"suppressed\":{\"sms\":{\"address\":\"+15550100\"}}}");
  cJSON *ch = cJSON_Parse("{\"suppressed\":{\"email\":{\"address\":\"a@b.c\"}}}");
  profile_merge(prof, ch);
  char *s = cJSON_PrintUnformatted(prof);
  assert_string_equal(s, "{\"suppressed\":{\"sms\":{\"address\":\"+15550100\"},\"email\":{\"address\":\"a@b.c\"}}}");
  cJSON_free(s);
  cJSON_Delete(ch);
  ch = cJSON_Parse("{\"suppressed\":{\"sms\":null,\"email\":null}}");
  profile_merge(prof, ch);
  s = cJSON_PrintUnformatted(prof);
  assert_string_equal(s, "{}");
  cJSON_free(s);
  cJSON_Delete(ch);
  cJSON_Delete(prof);
}

/* The configuration's global list, through the real core: the listed address is refused
 * whoever holds it, the refusal is in the contact's history with its reason and counted
 * per reason in /metrics; an address not listed is spoken to. */
static void test_global_list(void **state)
{
  (void)state;
  struct fixture *f = fx_new_custom("lmdb", "tests/unit/suppress_journeys", "email = { plugin = 'outcome' }",
                                    PATH "suppress = { email = { 'Complaint@Example.com' } },");
  nudge(f, "cy", "{\"email\":\"complaint@example.COM\",\"email_outcome\":\"delivered\"}");
  nudge(f, "di", "{\"email\":\"complaint@example.com\",\"email_outcome\":\"delivered\"}");
  nudge(f, "ed", "{\"email\":\"ed@example.com\",\"email_outcome\":\"delivered\"}");
  assert_int_equal(f->core->stats.spoken, 1);
  assert_int_equal(f->core->stats.refused, 2);
  assert_int_equal(f->core->stats.refused_by[GATE_GLOBAL_SUPPRESSED], 2);
  assert_int_equal(f->core->stats.refused_by[GATE_SUPPRESSED], 0);
  assert_true(contact_history_has(f, "cy", "refused email/hello (nudge): the contact's email is on the global "
                                           "suppression list for email (the configuration)"));
  assert_false(contact_history_has(f, "ed", "refused"));
  char *m = view_metrics(f->core);
  assert_non_null(strstr(m, "parley_messages_refused_by_reason_total{reason=\"suppressed_globally\"} 2\n"));
  free(m);
  fx_close(f); /* the count is kept across a restart */
  fx_open(f);
  assert_int_equal(f->core->stats.refused_by[GATE_GLOBAL_SUPPRESSED], 2);
  fx_free(f);
}

/* c:can_speak answers as c:speak would: the "ask" journey speaks a transactional e-mail
 * only when told it may, so a listed address sees neither a message nor a refusal. */
static void test_can_speak_answers_the_same(void **state)
{
  (void)state;
  struct fixture *f = fx_new_custom("lmdb", "tests/unit/suppress_journeys", "email = { plugin = 'outcome' }",
                                    PATH "suppress = { email = { 'listed@example.com' } },");
  fx_post(f, "{\"id\":\"a1\",\"type\":\"ask\",\"contact\":\"ivy\",\"profile\":{\"email\":\"LISTED@example.com\","
             "\"email_outcome\":\"delivered\"}}");
  assert_int_equal(f->core->stats.spoken, 0);
  assert_int_equal(f->core->stats.refused, 0);
  fx_post(f, "{\"id\":\"a2\",\"type\":\"ask\",\"contact\":\"jo\",\"profile\":{\"email\":\"jo@example.com\","
             "\"email_outcome\":\"delivered\"}}");
  assert_int_equal(f->core->stats.spoken, 1);
  fx_free(f);
}

static void found(void *arg, const char *id)
{
  snprintf(arg, 64, "%s", id);
}

/* The API's list lives in the store's index beside the contact index: a reindex at start
 * (here: a channel with a new address attribute) rebuilds the contact index and keeps the
 * list whole. */
static void test_reindex_keeps_the_list(void **state)
{
  (void)state;
  struct fixture *f = fx_new_custom("lmdb", "tests/unit/suppress_journeys", "email = { plugin = 'outcome' }", PATH);
  struct store *st = f->core->store;
  char err[256] = "", id[64] = "";
  nudge(f, "gil", "{\"email\":\"gil@example.com\",\"phone\":\"+4915100000007\",\"email_outcome\":\"delivered\"}");
  assert_int_equal(supdb_put(f->core, "email", "gil@example.com", "complaint", T0), 0);
  assert_int_equal(supdb_put(f->core, "email", "hal@example.com", "", T0), 0);
  assert_int_equal(st->ops->commit(st, err, sizeof err), 0);
  assert_int_equal(addr_find(f->core, "phone", "+4915100000007", found, id, err, sizeof err), -1); /* not indexed */
  fx_close(f);
  snprintf(f->channels, sizeof f->channels, "%s", "email = { plugin = 'outcome' }, sms = { plugin = 'outcome', "
                                                  "address = 'phone' }");
  fx_open(f);
  assert_int_equal(addr_find(f->core, "phone", "+4915100000007", found, id, err, sizeof err), 1); /* reindexed */
  assert_string_equal(id, "gil");
  assert_int_equal(addr_find(f->core, "email", "gil@example.com", found, id, err, sizeof err), 1);
  struct supdb_entry e[4];
  assert_int_equal(supdb_list(f->core, "email", "", e, 4), 2);
  assert_string_equal(e[0].address, "gil@example.com");
  assert_string_equal(e[0].reason, "complaint");
  assert_int_equal(e[0].at_ms, T0);
  assert_string_equal(e[1].address, "hal@example.com");
  /* and the gate still reads it: gil is not spoken to again */
  nudge(f, "gil", "{\"email_outcome\":\"delivered\"}");
  assert_int_equal(f->core->stats.refused_by[GATE_GLOBAL_SUPPRESSED], 1);
  assert_true(contact_history_has(f, "gil", "on the global suppression list for email: complaint"));
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invalid_address_suppresses),
      cmocka_unit_test(test_which_reasons),
      cmocka_unit_test(test_config_refused),
      cmocka_unit_test(test_profile_checked),
      cmocka_unit_test(test_merged_by_channel),
      cmocka_unit_test(test_global_list),
      cmocka_unit_test(test_reindex_keeps_the_list),
      cmocka_unit_test(test_can_speak_answers_the_same),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* What ABI 1.2 gives a two-way channel, through the real core and the `twoway` test plugin
 * (tests/plugins/twoway.c) on the sms channel: the plugin's check measures a message when
 * a journey speaks it (c:speak returns what it measured, the history keeps it, and the id
 * it saw is the message's) or refuses it for good (c:speak's false and reason, recorded);
 * c:speak's options reach the plugin's send (msg_option); and contacts_find answers from
 * the contact index, which follows every profile change, an erasure and a restart, and
 * indexes existing contacts again when a channel brings a new address attribute. Journeys
 * from tests/unit/twoway_journeys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "corefix.h"
#include "erase.h"
#include "plugin/plugin_int.h"
#include "plugin/plugin_load.h"

#define SMS "sms = { plugin = 'twoway' }"
#define PATH "plugin_path = { builddir .. '/tests/plugins' },"

static struct fixture *open_with(const char *channels)
{
  return fx_new_custom("lmdb", "tests/unit/twoway_journeys", channels, PATH);
}

static void hello(struct fixture *f, const char *contact, const char *profile, const char *data)
{
  static int n;
  char json[1024];
  snprintf(json, sizeof json, "{\"id\":\"h-%d\",\"type\":\"hello\",\"contact\":\"%s\",\"profile\":%s,\"data\":%s}",
           ++n, contact, profile, data);
  fx_advance(f, 2000); /* past reenter_after */
  fx_post(f, json);
}

static int contact_history_has(struct fixture *f, const char *contact, const char *needle)
{
  struct contact *ct = f->core->store->ops->contact_get(f->core->store, contact);
  assert_non_null(ct);
  return fx_history_has(&ct->history, needle);
}

/* The check's answer is kept with the message, under the id the message has; the journey
 * reads it (its second message is tagged with it) and the option reaches the send. */
static void test_check_measures(void **state)
{
  (void)state;
  struct fixture *f = open_with(SMS);
  hello(f, "ann", "{\"phone\":\"+4915100000001\"}", "{\"text\":\"hällo\"}");
  assert_int_equal(f->core->stats.spoken, 2);
  assert_int_equal(f->core->stats.delivery.delivered, 2);
  struct conv *cv = fx_only_conv(f, "ann");
  assert_true(fx_history_has(&cv->history, "provider=untagged"));
  assert_true(fx_history_has(&cv->history, "provider=chars=5"));
  /* "spoke sms/say id=X chars=5 id=X": the id the check saw is the message's */
  int same_id = 0;
  for (size_t i = 0; i < cv->history.n; i++) {
    const char *e = history_at(&cv->history, i)->what, *c = strstr(e, " chars=5 id=");
    if (strncmp(e, "spoke sms/say id=", 17) == 0 && c && strncmp(e + 17, c + 12, 32) == 0)
      same_id = 1;
  }
  assert_true(same_id);
  fx_free(f);
}

/* Too long for the setting, or for the journey's own option: refused, with the plugin's
 * reason returned to the journey and kept in the history; nothing queued for it. */
static void test_check_refuses(void **state)
{
  (void)state;
  struct fixture *f = open_with(SMS);
  hello(f, "ann", "{\"phone\":\"+4915100000001\"}", "{\"text\":\"far more than twenty characters\"}");
  assert_int_equal(f->core->stats.spoken, 1);
  assert_int_equal(f->core->stats.refused, 1);
  assert_true(contact_history_has(f, "ann", "refused sms/say (twoway): the text has 31 characters, more than the 20 allowed"));
  assert_true(fx_history_has(&fx_only_conv(f, "ann")->history, "provider=refused"));

  hello(f, "bob", "{\"phone\":\"+4915100000002\"}", "{\"text\":\"hello\",\"options\":{\"max_chars\":3}}");
  assert_true(contact_history_has(f, "bob", "the text has 5 characters, more than the 3 allowed"));
  assert_int_equal(f->core->stats.refused, 2);
  assert_int_equal(f->core->stats.refused_by[GATE_CHANNEL], 2); /* /metrics: reason="channel" */
  fx_free(f);
}

/* The topic is an option like any other, read by the core's gate: a transactional message
 * reaches a contact who unsubscribed, the marketing one after it does not; a topic the
 * configuration does not declare is the step's error. */
static void test_topics(void **state)
{
  (void)state;
  struct fixture *f = open_with(SMS);
  hello(f, "ann", "{\"phone\":\"+4915100000001\",\"unsubscribed\":true}",
        "{\"text\":\"your code 1234\",\"options\":{\"topic\":\"transactional\"}}");
  assert_int_equal(f->core->stats.spoken, 1);
  assert_int_equal(f->core->stats.refused_by[GATE_UNSUBSCRIBED], 1);
  assert_true(contact_history_has(f, "ann", "refused sms/say (twoway): the contact unsubscribed"));

  hello(f, "bob", "{\"phone\":\"+4915100000002\"}", "{\"text\":\"hi\",\"options\":{\"topic\":\"promos\"}}");
  struct conv *cv = fx_only_conv(f, "bob");
  assert_int_equal(cv->status, CONV_FAILED);
  assert_true(fx_history_has(&cv->history, "topic 'promos' is not declared"));
  fx_free(f);
}

/* A bad option is the step's error, naming it: the conversation fails, nothing is sent. */
static void test_bad_option(void **state)
{
  (void)state;
  struct fixture *f = open_with(SMS);
  hello(f, "ann", "{\"phone\":\"+4915100000001\"}", "{\"text\":\"hi\",\"options\":{\"max_chars\":{\"x\":1}}}");
  assert_int_equal(f->core->stats.spoken, 0);
  struct conv *cv = fx_only_conv(f, "ann");
  assert_int_equal(cv->status, CONV_FAILED);
  assert_true(fx_history_has(&cv->history, "option 'max_chars' must be text, a number or true/false"));
  fx_free(f);
}

struct found {
  int n;
  char ids[256];
};

static void found(parley_ctx *ctx, const char *id, void *arg)
{
  (void)ctx;
  struct found *fd = arg;
  fd->n++;
  snprintf(fd->ids + strlen(fd->ids), sizeof fd->ids - strlen(fd->ids), "%s%s", fd->ids[0] ? "," : "", id);
}

/* contacts_find as a plugin calls it, on the instance serving channel `channel`; the ids
 * found, sorted by the index (key order), or "-1" when refused. */
static const char *find(struct fixture *f, const char *channel, const char *attr, const char *value,
                        struct found *fd)
{
  memset(fd, 0, sizeof *fd);
  parley_ctx *ctx = NULL;
  for (size_t i = 0; i < f->core->n_channels; i++)
    if (strcmp(f->core->channels[i].cfg->name, channel) == 0)
      ctx = (parley_ctx *)f->core->channels[i].inst;
  assert_non_null(ctx);
  int n = plugin_host_table()->contacts_find(ctx, attr, value, found, fd);
  if (n < 0)
    return "-1";
  assert_int_equal(n, fd->n);
  return fd->ids;
}

/* Fatigue caps through the core: counted from the contact's record as the step speaks
 * (its second text is the cap's second), refused with the cap named, still there after a
 * restart, free again once the window has passed; a transactional text is not capped. */
static void test_caps(void **state)
{
  (void)state;
  /* attribution off: touches are kept for the caps alone */
  struct fixture *f = fx_new_custom("lmdb", "tests/unit/twoway_journeys", SMS,
                                    PATH " caps = { { max = 2, per = '1d', channel = 'sms' } }, attribution_window = 0,");
  hello(f, "ann", "{\"phone\":\"+4915100000001\"}", "{\"text\":\"one\"}");
  assert_int_equal(f->core->stats.spoken, 2);
  hello(f, "ann", "{}", "{\"text\":\"two\"}");
  assert_int_equal(f->core->stats.spoken, 2);
  assert_int_equal(f->core->stats.refused_by[GATE_CAP], 2);
  assert_true(contact_history_has(f, "ann", "refused sms/say (twoway): cap reached: 2 sms messages in 1d"));

  fx_close(f); /* the count is in the contact's record */
  fx_open(f);
  hello(f, "ann", "{}", "{\"text\":\"three\"}");
  assert_int_equal(f->core->stats.spoken, 2);
  hello(f, "ann", "{}", "{\"text\":\"code 1234\",\"options\":{\"topic\":\"transactional\"}}");
  assert_int_equal(f->core->stats.spoken, 3); /* the code, not the tagged text after it */

  fx_advance(f, 24 * HOUR);
  hello(f, "ann", "{}", "{\"text\":\"four\"}");
  assert_int_equal(f->core->stats.spoken, 5);
  struct contact *ct = f->core->store->ops->contact_get(f->core->store, "ann");
  assert_int_equal(ct->n_touches, 2); /* the day-old ones are gone */
  fx_free(f);
}

/* A journey's own cap is checked with the configuration's when it speaks, counting every
 * journey's messages; another journey is not held by it. */
static void test_journey_caps(void **state)
{
  (void)state;
  struct fixture *f = open_with(SMS);
  fx_post(f, "{\"id\":\"c-1\",\"type\":\"capped.hello\",\"contact\":\"ann\",\"profile\":{\"phone\":\"+4915100000001\"}}");
  assert_int_equal(f->core->stats.spoken, 1);
  assert_true(contact_history_has(f, "ann", "refused sms/say (capped): cap reached (journey capped): 1 sms messages in 1d"));
  hello(f, "ann", "{}", "{\"text\":\"hi\"}"); /* the other journey speaks twice, uncapped */
  assert_int_equal(f->core->stats.spoken, 3);
  struct contact *ct = f->core->store->ops->contact_get(f->core->store, "ann");
  assert_int_equal(ct->n_touches, 3); /* counted for the capped journey's sake */
  fx_free(f);
}

static void test_contacts_find(void **state)
{
  (void)state;
  struct fixture *f = open_with(SMS);
  struct found fd;
  hello(f, "ann", "{\"phone\":\"+4915100000001\"}", "{\"text\":\"hi\"}");
  hello(f, "bob", "{\"phone\":\"+4915100000001\"}", "{\"text\":\"hi\"}"); /* one landline */
  hello(f, "cat", "{\"phone\":\"+4915100000003\",\"email\":\"Cat@Example.com\"}", "{\"text\":\"hi\"}");
  assert_string_equal(find(f, "sms", "phone", "+4915100000001", &fd), "ann,bob");
  assert_string_equal(find(f, "sms", "phone", "+4915100000003", &fd), "cat");
  assert_string_equal(find(f, "sms", "phone", "+4915199999999", &fd), "");
  assert_string_equal(find(f, "sms", "email", "cat@example.com", &fd), "-1"); /* no channel's address */

  hello(f, "bob", "{\"phone\":\"+4915100000002\"}", "{\"text\":\"hi\"}"); /* bob moves */
  assert_string_equal(find(f, "sms", "phone", "+4915100000001", &fd), "ann");
  assert_string_equal(find(f, "sms", "phone", "+4915100000002", &fd), "bob");
  hello(f, "bob", "{\"phone\":null}", "{\"text\":\"hi\"}"); /* and drops his number */
  assert_string_equal(find(f, "sms", "phone", "+4915100000002", &fd), "");

  assert_int_equal(erase_contact(f->core, "ann"), 1);
  core_flush(f->core);
  assert_string_equal(find(f, "sms", "phone", "+4915100000001", &fd), "");

  fx_close(f); /* a restart keeps the index: it is in the store */
  fx_open(f);
  assert_string_equal(find(f, "sms", "phone", "+4915100000003", &fd), "cat");

  /* A channel addressed by e-mail: contacts from before it are indexed by it at start,
   * whatever the case of the address. */
  fx_close(f);
  snprintf(f->channels, sizeof f->channels, "%s, email = { plugin = 'twoway' }", SMS);
  fx_open(f);
  assert_string_equal(find(f, "email", "email", "CAT@example.com", &fd), "cat");
  assert_string_equal(find(f, "sms", "phone", "+4915100000003", &fd), "cat");
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_measures),
      cmocka_unit_test(test_check_refuses),
      cmocka_unit_test(test_bad_option),
      cmocka_unit_test(test_topics),
      cmocka_unit_test(test_caps),
      cmocka_unit_test(test_journey_caps),
      cmocka_unit_test(test_contacts_find),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

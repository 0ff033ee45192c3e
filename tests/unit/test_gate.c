/* The speak gate's rules (gate.c) on configurations read from text: consent per channel
 * and topic (the profile's answers, then the channel's policy), transactional messages
 * past opt-outs and unsubscribes but never past a suppression, the reasons and their
 * codes, and the configuration's errors for topics and policies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "gate.h"
#include "store/records.h"

#define DAY (86400 * 1000LL)

#define CONF "return { channels = { email = { plugin = 'file' }, " \
             "sms = { plugin = 'file', consent = { marketing = 'opt_in' } }, " \
             "push = { plugin = 'file', consent = 'opt_in' } }, topics = { 'newsletter' } }"

static struct cfg *load(const char *src)
{
  struct cfg *cfg = NULL;
  char err[512];
  if (cfg_load_string(src, strlen(src), "gate.conf.lua", &cfg, err, sizeof err) != 0)
    fail_msg("%s", err);
  return cfg;
}

/* The gate's code for `profile` (JSON), and its words in why. */
static int ask(const struct cfg *cfg, const char *profile, const char *channel, const char *topic, char *why)
{
  cJSON *p = cJSON_Parse(profile);
  assert_non_null(p);
  struct gate_ask a = {p, channel, topic, NULL, 0, 0};
  int r = gate_speak(cfg, &a, why, 256);
  cJSON_Delete(p);
  return r;
}

static void test_policies(void **state)
{
  (void)state;
  struct cfg *cfg = load(CONF);
  char why[256];
  const char *plain = "{\"email\":\"a@example.com\",\"phone\":\"+4915100000001\","
                      "\"devices\":{\"t\":{\"platform\":\"android\"}}}";
  assert_int_equal(ask(cfg, plain, "email", NULL, why), GATE_OK);          /* opt-out by default */
  assert_int_equal(ask(cfg, plain, "sms", NULL, why), GATE_NO_CONSENT);    /* marketing is opt-in */
  assert_string_equal(why, "sms marketing needs the contact's opt-in (consent.sms.marketing = true)");
  assert_int_equal(ask(cfg, plain, "sms", "newsletter", why), GATE_OK);    /* only marketing is */
  assert_int_equal(ask(cfg, plain, "push", "newsletter", why), GATE_NO_CONSENT); /* every topic */
  assert_int_equal(ask(cfg, plain, "push", "transactional", why), GATE_OK);
  assert_int_equal(ask(cfg, "{\"devices\":{}}", "push", "transactional", why), GATE_NO_ADDRESS);
  assert_string_equal(why, "the contact has no devices for push"); /* the last device was removed */
  assert_int_equal(ask(cfg, plain, "fax", NULL, why), GATE_NO_CHANNEL);
  assert_int_equal(ask(cfg, plain, "email", "promos", why), -1);
  assert_non_null(strstr(why, "topic 'promos' is not declared"));
  cfg_free(cfg);
}

static void test_profile_answers(void **state)
{
  (void)state;
  struct cfg *cfg = load(CONF);
  char why[256];
  /* opted in to sms marketing, out of the email newsletter */
  const char *p = "{\"email\":\"a@example.com\",\"phone\":\"+4915100000001\","
                  "\"consent\":{\"sms\":{\"marketing\":true},\"email\":{\"newsletter\":false}}}";
  assert_int_equal(ask(cfg, p, "sms", "marketing", why), GATE_OK);
  assert_int_equal(ask(cfg, p, "email", "marketing", why), GATE_OK);
  assert_int_equal(ask(cfg, p, "email", "newsletter", why), GATE_NO_CONSENT);
  assert_string_equal(why, "no consent for email newsletter");
  /* the whole channel: true opts in to every topic, false out of all but transactional */
  const char *q = "{\"email\":\"a@example.com\",\"phone\":\"+4915100000001\",\"consent\":{\"sms\":true,\"email\":false}}";
  assert_int_equal(ask(cfg, q, "sms", "marketing", why), GATE_OK);
  assert_int_equal(ask(cfg, q, "email", "newsletter", why), GATE_NO_CONSENT);
  assert_int_equal(ask(cfg, q, "email", "transactional", why), GATE_OK);
  cfg_free(cfg);
}

static void test_transactional_limits(void **state)
{
  (void)state;
  struct cfg *cfg = load(CONF);
  char why[256];
  const char *gone = "{\"email\":\"a@example.com\",\"unsubscribed\":true}";
  assert_int_equal(ask(cfg, gone, "email", NULL, why), GATE_UNSUBSCRIBED);
  assert_int_equal(ask(cfg, gone, "email", "transactional", why), GATE_OK);
  const char *bounced = "{\"email\":\"a@example.com\",\"suppressed\":{\"email\":{\"address\":\"a@example.com\","
                        "\"reason\":\"invalid_address\",\"at\":\"2027-01-15T08:00:00Z\"}}}";
  assert_int_equal(ask(cfg, bounced, "email", "transactional", why), GATE_SUPPRESSED);
  assert_string_equal(why, "the contact's email is suppressed for email: invalid_address");
  assert_int_equal(ask(cfg, "{}", "email", "transactional", why), GATE_NO_ADDRESS);
  assert_string_equal(gate_reason_name(GATE_NO_CONSENT), "no_consent");
  cfg_free(cfg);
}

/* 3 e-mails in 7 days, 5 messages of any kind: counted from the touches within each
 * window; transactional neither counted nor capped; a refusal names the cap. */
static void test_caps(void **state)
{
  (void)state;
  struct cfg *cfg = load("return { channels = { email = { plugin = 'file' }, sms = { plugin = 'file' } }, "
                         "caps = { { max = 3, per = '7d', channel = 'email' }, { max = 5, per = '7d' } } }");
  char why[256];
  cJSON *p = cJSON_Parse("{\"email\":\"a@example.com\",\"phone\":\"+4915100000001\"}");
  struct touch t[5] = {{1 * DAY, "email", .capped = 1}, {2 * DAY, "sms", .capped = 1}, {3 * DAY, "email", .capped = 1},
                      {4 * DAY, "sms", .capped = 1}, {5 * DAY, "email", .capped = 1}};
  struct gate_ask a = {p, "email", NULL, t, 3, 6 * DAY}; /* 2 e-mails, 1 text */
  assert_int_equal(gate_speak(cfg, &a, why, sizeof why), GATE_OK);
  a.n_touches = 5; /* 3 e-mails within 7 days */
  assert_int_equal(gate_speak(cfg, &a, why, sizeof why), GATE_CAP);
  assert_string_equal(why, "cap reached: 3 email messages in 7d");
  a.channel = "sms"; /* 5 of any kind */
  assert_int_equal(gate_speak(cfg, &a, why, sizeof why), GATE_CAP);
  assert_string_equal(why, "cap reached: 5 messages in 7d");
  a.topic = "transactional";
  assert_int_equal(gate_speak(cfg, &a, why, sizeof why), GATE_OK);
  assert_int_equal(gate_counts(cfg, "transactional"), 0);
  assert_int_equal(gate_counts(cfg, NULL), 1);
  a.topic = NULL;
  a.now_ms = 8 * DAY + 1; /* the first e-mail is out of the window: 2 e-mails, 4 in all */
  a.channel = "email";
  assert_int_equal(gate_speak(cfg, &a, why, sizeof why), GATE_OK);
  cJSON_Delete(p);
  cfg_free(cfg);
}

static void refused(const char *src, const char *needle)
{
  struct cfg *cfg = NULL;
  char err[512] = "";
  assert_int_not_equal(cfg_load_string(src, strlen(src), "bad.conf.lua", &cfg, err, sizeof err), 0);
  if (!strstr(err, needle))
    fail_msg("error '%s' lacks '%s'", err, needle);
}

static void test_bad_configuration(void **state)
{
  (void)state;
  refused("return { topics = 'news' }", "topics: must be a list of names");
  refused("return { topics = { 'News!' } }", "topics[1]: must be a name of 1-32 lower-case letters");
  refused("return { channels = { sms = { plugin = 'file', consent = 'maybe' } } }",
          "channels.sms.consent: must be \"opt_in\", \"opt_out\" or a table");
  refused("return { channels = { sms = { plugin = 'file', consent = { promos = 'opt_in' } } } }",
          "channels.sms.consent: 'promos' is not a topic");
  refused("return { channels = { sms = { plugin = 'file', consent = { marketing = 'yes' } } } }",
          "channels.sms.consent.marketing: must be \"opt_in\" or \"opt_out\"");
  refused("return { channels = { sms = { plugin = 'file', consent = { transactional = 'opt_in' } } } }",
          "transactional messages need no consent");
  refused("return { caps = { { max = -1, per = '7d' } } }", "caps[1]: 'max' must be a whole number of messages, 0 or more");
  refused("return { caps = { { max = 3, per = '3x' } } }", "caps[1]: 'per' must be a duration");
  refused("return { caps = { { max = 3 } } }", "caps[1]: 'per' must be a duration");
  refused("return { caps = { max = 3 } }", "caps: unknown key 'max'");
  refused("return { caps = { exempt = { 'promos' } } }", "caps.exempt[1]: not a topic");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policies),
      cmocka_unit_test(test_profile_answers),
      cmocka_unit_test(test_transactional_limits),
      cmocka_unit_test(test_caps),
      cmocka_unit_test(test_bad_configuration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

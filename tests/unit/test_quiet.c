/* Quiet hours through the real core and outbox (the `twoway` test plugin on sms, which
 * delivers at once, so a message's delivery is when the outbox let it go): a text spoken in
 * the contact's local night is held until the window ends, in the contact's own time zone
 * (the profile's, else the configuration's), across a restart and a daylight-saving change;
 * outside the window, or transactional, it goes at once; the conversation is not held.
 * Journeys from tests/unit/twoway_journeys. */
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

#define SMS "sms = { plugin = 'twoway', quiet_hours = { from = '21:00', to = '08:00' } }"
#define EXTRA "plugin_path = { builddir .. '/tests/plugins' }, timezone = 'Europe/Berlin',"
#define MINUTE (60 * 1000LL)

static struct fixture *open_quiet(void)
{
  return fx_new_custom("lmdb", "tests/unit/twoway_journeys", SMS, EXTRA);
}

static void hello(struct fixture *f, const char *contact, const char *profile, const char *data)
{
  static int n;
  char json[1024];
  snprintf(json, sizeof json, "{\"id\":\"q-%d\",\"type\":\"hello\",\"contact\":\"%s\",\"profile\":%s,\"data\":%s}",
           ++n, contact, profile, data);
  fx_post(f, json);
}

static int history_has(struct fixture *f, const char *contact, const char *needle)
{
  struct contact *ct = f->core->store->ops->contact_get(f->core->store, contact);
  assert_non_null(ct);
  return fx_history_has(&ct->history, needle);
}

/* 08:00Z is 03:00 in New York: held until 08:00 there (13:00Z), through a restart; the
 * conversation has finished meanwhile. */
static void test_held_until_morning(void **state)
{
  (void)state;
  struct fixture *f = open_quiet();
  hello(f, "ann", "{\"phone\":\"+15550100001\",\"timezone\":\"America/New_York\"}", "{\"text\":\"hi\"}");
  assert_int_equal(f->core->stats.spoken, 2);
  assert_int_equal(f->core->stats.held, 2);
  assert_int_equal(f->core->stats.delivery.delivered, 0);
  assert_true(history_has(f, "ann", "until 2027-01-15T08:00:00-05:00 (quiet hours)"));
  assert_int_equal(fx_only_conv(f, "ann")->status, CONV_DONE);
  fx_advance(f, 4 * HOUR);
  fx_close(f); /* held in the store, not in memory only */
  fx_open(f);
  fx_advance(f, 59 * MINUTE);
  assert_int_equal(f->core->stats.delivery.delivered, 0);
  fx_advance(f, 2 * MINUTE);
  assert_int_equal(f->core->stats.delivery.delivered, 2);
  fx_free(f);
}

/* 09:00 in Berlin (the configuration's zone, the profile names none): at once; a
 * transactional text in New York's night: at once too. */
static void test_day_and_transactional_go_at_once(void **state)
{
  (void)state;
  struct fixture *f = open_quiet();
  hello(f, "bo", "{\"phone\":\"+4915100000002\"}", "{\"text\":\"hi\"}");
  assert_int_equal(f->core->stats.delivery.delivered, 2);
  hello(f, "cy", "{\"phone\":\"+15550100003\",\"timezone\":\"America/New_York\"}",
        "{\"text\":\"code 1234\",\"options\":{\"topic\":\"transactional\"}}");
  assert_int_equal(f->core->stats.delivery.delivered, 3); /* the code; the tagged text waits */
  assert_int_equal(f->core->stats.held, 1);
  fx_free(f);
}

/* 2027-03-27T23:00Z is midnight in Berlin; that night the clocks go from 02:00 CET to
 * 03:00 CEST, so 08:00 comes at 06:00Z, not 07:00Z. */
static void test_daylight_saving(void **state)
{
  (void)state;
  struct fixture *f = open_quiet();
  fx_advance(f, 6188400000LL);
  hello(f, "dee", "{\"phone\":\"+4915100000004\"}", "{\"text\":\"hi\"}");
  assert_true(history_has(f, "dee", "until 2027-03-28T08:00:00+02:00 (quiet hours)"));
  fx_advance(f, 7 * HOUR - MINUTE);
  assert_int_equal(f->core->stats.delivery.delivered, 0);
  fx_advance(f, 2 * MINUTE);
  assert_int_equal(f->core->stats.delivery.delivered, 2);
  fx_free(f);
}

static void refused(const char *extra, const char *channels, const char *needle)
{
  char src[1024], err[512] = "";
  struct cfg *cfg = NULL;
  snprintf(src, sizeof src, "return { %s channels = { %s } }", extra, channels);
  assert_int_not_equal(cfg_load_string(src, strlen(src), "bad.conf.lua", &cfg, err, sizeof err), 0);
  if (!strstr(err, needle))
    fail_msg("error '%s' lacks '%s'", err, needle);
}

static void test_bad_configuration(void **state)
{
  (void)state;
  refused("timezone = 'Mars/Olympus',", "", "timezone: 'Mars/Olympus' is not an IANA time zone");
  refused("", "sms = { plugin = 'file', quiet_hours = { from = '25:00', to = '08:00' } }",
          "channels.sms.quiet_hours: 'from' and 'to' must be two different local times");
  refused("", "sms = { plugin = 'file', quiet_hours = '21-8' }", "channels.sms.quiet_hours: must be a table");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_held_until_morning),
      cmocka_unit_test(test_day_and_transactional_go_at_once),
      cmocka_unit_test(test_daylight_saving),
      cmocka_unit_test(test_bad_configuration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

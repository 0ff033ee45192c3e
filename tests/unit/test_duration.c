/* Durations as marketers write them, and every way to get one wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "duration.h"

static int64_t ok(const char *s)
{
  char err[256] = "";
  int64_t ms = -7;
  assert_int_equal(duration_parse(s, &ms, err, sizeof err), 0);
  return ms;
}

static void bad(const char *s, const char *needle)
{
  char err[256] = "";
  int64_t ms = -7;
  assert_int_equal(duration_parse(s, &ms, err, sizeof err), -1);
  assert_non_null(strstr(err, needle));
  assert_int_equal(ms, -7);
}

static void test_units(void **state)
{
  (void)state;
  assert_int_equal(ok("500ms"), 500);
  assert_int_equal(ok("90s"), 90000);
  assert_int_equal(ok("15m"), 15 * 60000);
  assert_int_equal(ok("4h"), 4 * 3600000);
  assert_int_equal(ok("7d"), 7LL * 86400000);
  assert_int_equal(ok("2w"), 14LL * 86400000);
  assert_int_equal(ok("0"), 0);
  assert_int_equal(ok("30"), 30000);
  assert_int_equal(ok("1.5h"), 90 * 60000);
  assert_int_equal(ok("0.25"), 250);
}

static void test_rejects(void **state)
{
  (void)state;
  bad("", "empty");
  bad(NULL, "empty");
  bad("-5s", "negative");
  bad("abc", "bad duration");
  bad("5y", "unknown unit 'y'");
  bad("5 s", "unknown unit");
  bad(" 5s", "bad duration");
  bad("1e3", "unknown unit");
  bad("inf", "bad duration");
  bad("4h30m", "unknown unit");
  bad("99999999999999999999s", "too large");
  bad("9999999999999999w", "too large");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_units),
      cmocka_unit_test(test_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

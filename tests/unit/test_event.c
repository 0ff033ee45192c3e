/* Event parsing: what is accepted, and that every refusal names the problem. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "timestamp.h"

#define NOW 1800000000000LL /* the receiver's clock: 2027-01-15T08:00:00Z */

static const struct event_limits LIM = {256, 3, NOW};

static void refuse(const char *json, const char *needle)
{
  struct event ev;
  char err[256];
  assert_int_equal(event_parse(json, strlen(json), NOW, &ev, err, sizeof err), -1);
  if (!strstr(err, needle))
    fail_msg("%s: error '%s' does not say '%s'", json, err, needle);
  assert_null(ev.type); /* nothing half-made is left behind */
}

static void test_full_event(void **state)
{
  const char *j = "{\"id\":\"e-1\",\"type\":\"cart.updated\",\"contact\":\"c42\",\"time\":1795000000.25,"
                  "\"data\":{\"items\":[1,2]},\"profile\":{\"email\":\"a@b.c\"}}";
  struct event ev;
  char err[256];
  assert_int_equal(event_parse(j, strlen(j), NOW, &ev, err, sizeof err), 0);
  assert_string_equal(ev.id, "e-1");
  assert_string_equal(ev.type, "cart.updated");
  assert_string_equal(ev.contact, "c42");
  assert_int_equal(ev.time_ms, 1795000000250LL);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ev.data, "items")), 2);
  assert_string_equal(cJSON_GetObjectItem(ev.profile, "email")->valuestring, "a@b.c");
  event_clear(&ev);
}

static void test_minimal_event(void **state)
{
  struct event ev;
  char err[256];
  const char *j = "  {\"type\":\"x\",\"contact\":\"c\"}\r\n";
  assert_int_equal(event_parse(j, strlen(j), NOW, &ev, err, sizeof err), 0);
  assert_null(ev.id);
  assert_null(ev.data);
  assert_int_equal(ev.time_ms, 0);
  event_clear(&ev);
}

static void test_refusals_name_the_problem(void **state)
{
  refuse("{\"type\":\"x\"", "malformed JSON at byte");
  refuse("[1,2]", "must be a JSON object");
  refuse("{\"contact\":\"c\"}", "field 'type' is required");
  refuse("{\"type\":\"x\"}", "field 'contact' is required");
  refuse("{\"type\":7,\"contact\":\"c\"}", "field 'type' must be a string");
  refuse("{\"type\":\"has space\",\"contact\":\"c\"}", "field 'type' has a bad value");
  refuse("{\"type\":\"\",\"contact\":\"c\"}", "field 'type' has a bad value");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"time\":\"yesterday\"}", "field 'time' is not an RFC 3339 date-time");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"time\":true}", "field 'time' must be a number of seconds");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"time\":-1}", "field 'time'");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":\"s\"}", "field 'data' must be an object");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"profile\":[]}", "field 'profile' must be an object");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"extra\":1}", "unknown field 'extra'");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"contact\":\"d\"}", "field 'contact' is given twice");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{},\"data\":{}}", "field 'data' is given twice");
  refuse("{\"type\":\"x\",\"contact\":\"c\"} {}", "unexpected text after the event");
  refuse("{\"type\":\"x\",\"contact\":\"c\\u0001\"}", "field 'contact' holds a control character");
  char long_id[400];
  snprintf(long_id, sizeof long_id, "{\"type\":\"x\",\"contact\":\"c\",\"id\":\"%0200d\"}", 0);
  refuse(long_id, "field 'id' is longer than 128 bytes");
}

static void accept_json(const char *json, size_t len, struct event *ev)
{
  char err[256];
  if (event_parse(json, len, NOW, ev, err, sizeof err) < 0)
    fail_msg("%s: refused: %s", json, err);
}

/* A NUL cannot live in a C string: cJSON hands back "bob" for "bob\u0000evil", and the
 * event would be applied to another contact (or two ids that differ after the NUL would
 * collide in the dedupe window). Refused wherever it stands, escaped or raw. */
static void test_nul_is_refused_naming_the_field(void **state)
{
  refuse("{\"type\":\"x\",\"contact\":\"bob\\u0000evil\"}", "field 'contact' holds a NUL character");
  refuse("{\"id\":\"e\\u0000-1\",\"type\":\"x\",\"contact\":\"c\"}", "field 'id' holds a NUL character");
  refuse("{\"type\":\"x\\u0000y\",\"contact\":\"c\"}", "field 'type' holds a NUL character");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"a\":[\"ok\",\"b\\u0000\"]}}",
         "field 'data.a[1]' holds a NUL character");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"profile\":{\"n\\u0000x\":1}}",
         "field 'profile' has a key holding a NUL character");
  static const char raw[] = "{\"type\":\"x\",\"contact\":\"bob\0evil\"}";
  struct event ev;
  char err[256];
  assert_int_equal(event_parse(raw, sizeof raw - 1, NOW, &ev, err, sizeof err), -1);
  assert_non_null(strstr(err, "field 'contact' holds a NUL character"));
  /* an escaped backslash followed by "u0000" is text, not a NUL */
  const char *text = "{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"p\":\"C:\\\\u0000\"}}";
  accept_json(text, strlen(text), &ev);
  assert_string_equal(cJSON_GetObjectItem(ev.data, "p")->valuestring, "C:\\u0000");
  event_clear(&ev);
}

/* Strings come back out in API answers and plugin messages as JSON, which must be UTF-8:
 * an ill-formed sequence anywhere is refused, naming where it is. */
static void test_strings_must_be_utf8(void **state)
{
  refuse("{\"type\":\"x\",\"contact\":\"c\xff\"}", "field 'contact' is not valid UTF-8");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"s\":\"\xc0\xaf\"}}",
         "field 'data.s' is not valid UTF-8"); /* overlong '/' */
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"s\":\"\xed\xa0\x80\"}}",
         "field 'data.s' is not valid UTF-8"); /* an encoded surrogate */
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"s\":[\"\xf4\x90\x80\x80\"]}}",
         "field 'data.s[0]' is not valid UTF-8"); /* above U+10FFFF */
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"profile\":{\"first_name\":\"\xe2\x82\"}}",
         "field 'profile.first_name' is not valid UTF-8"); /* cut short */
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"k\xff\":1}}",
         "field 'data' has a key that is not valid UTF-8");
  refuse("{\"id\":\"\xc3\",\"type\":\"x\",\"contact\":\"c\"}", "field 'id' is not valid UTF-8");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"s\":\"\\ud800\"}}", "malformed JSON");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"s\":\"\\udc00\\ud800\"}}", "malformed JSON");
  struct event ev;
  const char *ok = "{\"type\":\"x\",\"contact\":\"Zo\xc3\xab \xe6\x9d\x8e\",\"data\":{\"s\":\"\\ud83d\\ude00\"}}";
  accept_json(ok, strlen(ok), &ev);
  assert_string_equal(ev.contact, "Zo\xc3\xab \xe6\x9d\x8e");
  assert_string_equal(cJSON_GetObjectItem(ev.data, "s")->valuestring, "\xf0\x9f\x98\x80");
  event_clear(&ev);
}

/* Ids, types and keys end up in logs, store keys and paths: no control characters (C0,
 * DEL, C1), and each has a length limit. */
static void test_ids_and_keys_have_no_control_characters(void **state)
{
  refuse("{\"type\":\"x\",\"contact\":\"c\\u0085\"}", "field 'contact' holds a control character");
  refuse("{\"type\":\"x\",\"contact\":\"c\\u007f\"}", "field 'contact' holds a control character");
  refuse("{\"id\":\"a\\tb\",\"type\":\"x\",\"contact\":\"c\"}", "field 'id' holds a control character");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"o\":{\"a\\u0001\":1}}}",
         "field 'data.o' has a key holding a control character");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"e\\n\":1}", "the event has a key holding a control character");
  char long_key[300];
  snprintf(long_key, sizeof long_key, "{\"type\":\"x\",\"contact\":\"c\",\"data\":{\"%0129d\":1}}", 0);
  refuse(long_key, "field 'data' has a key longer than 128 bytes");
  /* a message quoting an unknown field never cuts a character in two */
  char name[200] = "";
  for (int i = 0; i < 40; i++)
    strcat(name, "\xc3\xa9");
  char j[300];
  snprintf(j, sizeof j, "{\"type\":\"x\",\"contact\":\"c\",\"%s\":1}", name);
  struct event ev;
  char err[256];
  assert_int_equal(event_parse(j, strlen(j), NOW, &ev, err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown field '\xc3\xa9\xc3\xa9"));
  assert_null(strstr(err, "\xc3'"));
}

static void time_is(const char *time, int64_t want_ms)
{
  char j[200];
  struct event ev;
  snprintf(j, sizeof j, "{\"type\":\"x\",\"contact\":\"c\",\"time\":%s}", time);
  accept_json(j, strlen(j), &ev);
  if (ev.time_ms != want_ms)
    fail_msg("time %s: %lld ms, want %lld", time, (long long)ev.time_ms, (long long)want_ms);
  event_clear(&ev);
}

static void time_refused(const char *time, const char *needle)
{
  char j[200];
  snprintf(j, sizeof j, "{\"type\":\"x\",\"contact\":\"c\",\"time\":%s}", time);
  refuse(j, needle);
}

/* "time": 99999999999 (the year 5138) was accepted. The range is 2000-01-01 to a day past
 * the receiver's clock; RFC 3339 text is read as well as epoch seconds. */
static void test_time_is_bounded_and_may_be_text(void **state)
{
  const char *range = "field 'time' must lie between 2000-01-01T00:00:00Z and 2027-01-16T08:00:00Z";
  time_refused("99999999999", range);
  time_refused("1e300", range);
  time_refused("1800000000000", range); /* milliseconds sent for seconds */
  time_refused("946684799.999", range);
  time_refused("0", range);
  time_refused("-1", range);
  time_refused("1800086400.001", range);
  time_refused("\"1999-12-31T23:59:59Z\"", range);
  time_refused("\"2027-01-16T08:00:00.001Z\"", range);
  time_refused("\"5138-11-16T09:46:39Z\"", range);
  time_is("946684800", 946684800000LL);
  time_is("1800086400", 1800086400000LL);
  time_is("1795000000.2506", 1795000000251LL);
  time_is("\"2000-01-01T00:00:00Z\"", 946684800000LL);
  time_is("\"2026-11-18T09:30:00Z\"", 1794994200000LL);
  time_is("\"2026-11-18t09:30:00z\"", 1794994200000LL);
  time_is("\"2026-11-18T10:30:00.25+01:00\"", 1794994200250LL);
  time_is("\"2026-11-18T09:30:00.999999-05:30\"", 1794994200999LL + 5 * 3600000LL + 1800000LL);
  time_is("\"2016-12-31T23:59:60Z\"", 1483228800000LL); /* a leap second: the next second's start */
  time_is("\"2024-02-29T00:00:00Z\"", 1709164800000LL);
  const char *bad = "field 'time' is not an RFC 3339 date-time";
  const char *texts[] = {"\"2026-11-18\"", "\"2026-11-18T09:30:00\"", "\"2026-11-18 09:30:00Z\"",
                         "\"2026-11-18T09:30Z\"", "\"2026-02-30T09:30:00Z\"", "\"2025-02-29T09:30:00Z\"",
                         "\"2026-13-01T09:30:00Z\"", "\"2026-11-18T24:00:00Z\"", "\"2026-11-18T09:60:00Z\"",
                         "\"2026-11-18T09:30:61Z\"", "\"2026-11-18T09:30:00.Z\"", "\"2026-11-18T09:30:00+0100\"",
                         "\"2026-11-18T09:30:00+24:00\"", "\"2026-11-18T09:30:00Z \"", "\" 2026-11-18T09:30:00Z\"",
                         "\"+2026-11-18T09:30:00Z\"", "\"2026-1-18T09:30:00Z\"", "\"1794994200\"", "\"\""};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    time_refused(texts[i], bad);
}

/* What the API answers: UTC to the millisecond, three digits always, read back the same. */
static void test_times_are_written_to_the_millisecond(void **state)
{
  static const struct {
    int64_t ms;
    const char *text;
  } cases[] = {
      {1800000000250LL, "2027-01-15T08:00:00.250Z"}, {1800000000000LL, "2027-01-15T08:00:00.000Z"},
      {1800000000007LL, "2027-01-15T08:00:00.007Z"}, {946684800999LL, "2000-01-01T00:00:00.999Z"},
      {0, "1970-01-01T00:00:00.000Z"},               {-1, "1969-12-31T23:59:59.999Z"},
  };
  char buf[40];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t back;
    timestamp_format_ms(cases[i].ms, buf, sizeof buf);
    assert_string_equal(buf, cases[i].text);
    assert_int_equal(timestamp_parse(buf, &back), 0);
    assert_int_equal(back, cases[i].ms);
  }
  timestamp_format(-1, buf, sizeof buf); /* to the second: the second it lies in */
  assert_string_equal(buf, "1969-12-31T23:59:59Z");
  timestamp_format(1800000000999LL, buf, sizeof buf);
  assert_string_equal(buf, "2027-01-15T08:00:00Z");
}

#define WITH_PROFILE(p) "{\"type\":\"x\",\"contact\":\"c\",\"profile\":{" p "}}"

/* The attributes the core and the channels read are typed: "unsubscribed": "true" (a
 * string) would have left the contact e-mailed, and a consent of the wrong type would have
 * been stored as given. */
static void test_profile_attributes_that_carry_meaning_are_typed(void **state)
{
  refuse(WITH_PROFILE("\"unsubscribed\":\"true\""), "field 'profile.unsubscribed' must be true or false");
  refuse(WITH_PROFILE("\"unsubscribed\":1"), "field 'profile.unsubscribed' must be true or false");
  refuse(WITH_PROFILE("\"consent\":true"), "field 'profile.consent' must be an object");
  refuse(WITH_PROFILE("\"consent\":{\"email\":\"no\"}"),
         "field 'profile.consent.email' must be true, false or null");
  refuse(WITH_PROFILE("\"consent\":{\"sms\":true,\"email\":0}"),
         "field 'profile.consent.email' must be true, false or null");
  refuse(WITH_PROFILE("\"consent\":{\"e mail\":false}"), "field 'profile.consent' has a key");
  refuse(WITH_PROFILE("\"email\":7"), "field 'profile.email' must be a string");
  refuse(WITH_PROFILE("\"email\":\"ann\""), "field 'profile.email' is not an e-mail address");
  refuse(WITH_PROFILE("\"email\":\"a@b@example.com\""), "field 'profile.email' is not an e-mail address");
  refuse(WITH_PROFILE("\"email\":\"a b@example.com\""), "field 'profile.email' is not an e-mail address");
  refuse(WITH_PROFILE("\"email\":\"ann@localhost\""), "field 'profile.email' is not an e-mail address");
  refuse(WITH_PROFILE("\"email\":\"@example.com\""), "field 'profile.email' is not an e-mail address");
  refuse(WITH_PROFILE("\"email\":\"ann@example.com.\""), "field 'profile.email' is not an e-mail address");
  refuse(WITH_PROFILE("\"email\":\"ann@example.com\\n\""), "field 'profile.email' is not an e-mail address");
  char long_email[400];
  snprintf(long_email, sizeof long_email, WITH_PROFILE("\"email\":\"a@%0250d.org\""), 0);
  refuse(long_email, "field 'profile.email' is not an e-mail address");
  refuse(WITH_PROFILE("\"phone\":\"555-0100\""), "field 'profile.phone' must be E.164");
  refuse(WITH_PROFILE("\"phone\":\"+1234567\""), "field 'profile.phone' must be E.164");
  refuse(WITH_PROFILE("\"phone\":\"+1234567890123456\""), "field 'profile.phone' must be E.164");
  refuse(WITH_PROFILE("\"phone\":15550100"), "field 'profile.phone' must be a string");
  refuse(WITH_PROFILE("\"timezone\":\"Mars/Olympus_Mons\""), "field 'profile.timezone' is not an IANA time zone");
  refuse(WITH_PROFILE("\"timezone\":\"../../../etc/passwd\""), "field 'profile.timezone' is not an IANA time zone");
  refuse(WITH_PROFILE("\"timezone\":\"/etc/localtime\""), "field 'profile.timezone' is not an IANA time zone");
  refuse(WITH_PROFILE("\"timezone\":\"Europe\""), "field 'profile.timezone' is not an IANA time zone");
  refuse(WITH_PROFILE("\"timezone\":\"zone.tab\""), "field 'profile.timezone' is not an IANA time zone");
  refuse(WITH_PROFILE("\"timezone\":\"Europe//Paris\""), "field 'profile.timezone' is not an IANA time zone");
  refuse(WITH_PROFILE("\"first name\":\"Ann\""), "field 'profile' has a key");
  char long_key[200];
  snprintf(long_key, sizeof long_key, WITH_PROFILE("\"%065d\":1"), 0);
  refuse(long_key, "field 'profile' has a key");

  const char *ok = WITH_PROFILE("\"email\":\"ann.o'neil+news@mail.example.co.uk\",\"phone\":\"+4915112345678\","
                                "\"timezone\":\"America/Argentina/Buenos_Aires\",\"unsubscribed\":false,"
                                "\"consent\":{\"email\":true,\"sms\":false,\"push\":null},"
                                "\"first_name\":\"Zo\xc3\xab\",\"tags\":[\"vip\",{\"any\":1}],\"nickname\":null");
  struct event ev;
  accept_json(ok, strlen(ok), &ev);
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ev.profile, "unsubscribed")));
  event_clear(&ev);
  /* null removes any attribute, the typed ones too */
  const char *gone = WITH_PROFILE("\"email\":null,\"phone\":null,\"timezone\":null,\"unsubscribed\":null,"
                                  "\"consent\":null");
  accept_json(gone, strlen(gone), &ev);
  event_clear(&ev);
}

static void test_ndjson_batch(void **state)
{
  const char *body = "{\"type\":\"a\",\"contact\":\"1\"}\n\n{\"type\":\"b\",\"contact\":\"2\"}\r\n"
                     "{\"type\":\"c\",\"contact\":\"3\"}";
  struct event *evs;
  size_t n, line;
  char err[256];
  assert_int_equal(event_parse_body(body, strlen(body), &LIM, &evs, &n, &line, err, sizeof err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(evs[2].type, "c");
  event_free_array(evs, n);
}

/* A pretty-printed event (one document over several lines) is one event, and its errors
 * are not blamed on a line. */
static void test_pretty_printed_event(void **state)
{
  const char *body = "{\n  \"type\": \"user.signed_up\",\n  \"contact\": \"ann\",\n"
                     "  \"profile\": {\"email\": \"a@b.c\"}\n}\n";
  struct event *evs;
  size_t n, line = 99;
  char err[256];
  assert_int_equal(event_parse_body(body, strlen(body), &LIM, &evs, &n, &line, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(evs[0].contact, "ann");
  event_free_array(evs, n);
  const char *bad = "{\n  \"type\": \"x\",\n  \"colour\": \"red\"\n}";
  assert_int_equal(event_parse_body(bad, strlen(bad), &LIM, &evs, &n, &line, err, sizeof err), -1);
  assert_int_equal(line, 0);
  assert_string_equal(err, "unknown field 'colour' (known: id, type, contact, time, data, profile)");
}

static void test_batch_all_or_nothing(void **state)
{
  struct event *evs = NULL;
  size_t n = 0, line;
  char err[256];
  const char *body = "{\"type\":\"a\",\"contact\":\"1\"}\n{\"type\":\"b\",\"contact\":\"2\"}\n{\"type\":\"c\"}\n";
  assert_int_equal(event_parse_body(body, strlen(body), &LIM, &evs, &n, &line, err, sizeof err), -1);
  assert_int_equal(line, 3);
  assert_string_equal(err, "line 3: field 'contact' is required");
  assert_null(evs);

  const char *four = "{\"type\":\"a\",\"contact\":\"1\"}\n{\"type\":\"a\",\"contact\":\"1\"}\n"
                     "{\"type\":\"a\",\"contact\":\"1\"}\n{\"type\":\"a\",\"contact\":\"1\"}\n";
  assert_int_equal(event_parse_body(four, strlen(four), &LIM, &evs, &n, &line, err, sizeof err), -1);
  assert_string_equal(err, "line 4: more than 3 events in one request");

  char big[400];
  snprintf(big, sizeof big, "{\"type\":\"a\",\"contact\":\"%0300d\"}", 0);
  assert_int_equal(event_parse_body(big, strlen(big), &LIM, &evs, &n, &line, err, sizeof err), -1);
  assert_string_equal(err, "event larger than 256 bytes");
  char two[800];
  snprintf(two, sizeof two, "{\"type\":\"a\",\"contact\":\"1\"}\n%s\n", big);
  assert_int_equal(event_parse_body(two, strlen(two), &LIM, &evs, &n, &line, err, sizeof err), -1);
  assert_string_equal(err, "line 2: event larger than 256 bytes");

  assert_int_equal(event_parse_body("\n \n", 3, &LIM, &evs, &n, &line, err, sizeof err), -1);
  assert_string_equal(err, "the body holds no event");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_event),
      cmocka_unit_test(test_minimal_event),
      cmocka_unit_test(test_refusals_name_the_problem),
      cmocka_unit_test(test_nul_is_refused_naming_the_field),
      cmocka_unit_test(test_strings_must_be_utf8),
      cmocka_unit_test(test_ids_and_keys_have_no_control_characters),
      cmocka_unit_test(test_profile_attributes_that_carry_meaning_are_typed),
      cmocka_unit_test(test_time_is_bounded_and_may_be_text),
      cmocka_unit_test(test_times_are_written_to_the_millisecond),
      cmocka_unit_test(test_ndjson_batch),
      cmocka_unit_test(test_pretty_printed_event),
      cmocka_unit_test(test_batch_all_or_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

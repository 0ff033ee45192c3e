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

static const struct event_limits LIM = {256, 3};

static void refuse(const char *json, const char *needle)
{
  struct event ev;
  char err[256];
  assert_int_equal(event_parse(json, strlen(json), &ev, err, sizeof err), -1);
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
  assert_int_equal(event_parse(j, strlen(j), &ev, err, sizeof err), 0);
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
  assert_int_equal(event_parse(j, strlen(j), &ev, err, sizeof err), 0);
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
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"time\":\"yesterday\"}", "field 'time' must be a number");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"time\":-1}", "field 'time'");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":\"s\"}", "field 'data' must be an object");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"profile\":[]}", "field 'profile' must be an object");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"extra\":1}", "unknown field 'extra'");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"contact\":\"d\"}", "field 'contact' is given twice");
  refuse("{\"type\":\"x\",\"contact\":\"c\",\"data\":{},\"data\":{}}", "field 'data' is given twice");
  refuse("{\"type\":\"x\",\"contact\":\"c\"} {}", "unexpected text after the event");
  refuse("{\"type\":\"x\",\"contact\":\"c\\u0001\"}", "field 'contact' has a bad value");
  char long_id[400];
  snprintf(long_id, sizeof long_id, "{\"type\":\"x\",\"contact\":\"c\",\"id\":\"%0200d\"}", 0);
  refuse(long_id, "field 'id' is longer than 128 bytes");
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
      cmocka_unit_test(test_ndjson_batch),
      cmocka_unit_test(test_pretty_printed_event),
      cmocka_unit_test(test_batch_all_or_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

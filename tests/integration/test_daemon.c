/* The real daemon over real HTTP: `parley serve` is started on a free loopback port with
 * the shipped journeys (their waits shortened through journey_params) and the `file`
 * plugin on every channel; the test posts events with libcurl and reads what was spoken. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct daemon D;

static int start_daemon(void **state)
{
  return h_setup(&D, "  channels = { email = { plugin = 'file', path = spoken },\n"
                     "               sms = { plugin = 'file', path = spoken } },\n"
                     "  journey_params = {\n"
                     "    welcome = { follow_up_after = '1s', last_call_after = '1s' },\n"
                     "    cart_abandonment = { nudge_after = '1s', reply_within = '1s' },\n"
                     "  },");
}

static int stop_daemon(void **state)
{
  return h_teardown(&D);
}

static void test_welcome_then_follow_up_after_silence(void **state)
{
  cJSON *r = h_post(&D, "{\"id\":\"w1-signup\",\"type\":\"user.signed_up\",\"contact\":\"w1\","
                       "\"profile\":{\"email\":\"ann@example.com\",\"first_name\":\"Ann\"}}",
                       200);
  assert_int_equal(h_num(r, "accepted"), 1);
  assert_int_equal(h_num(r, "applied"), 1);
  cJSON_Delete(r);
  cJSON *out = h_wait_spoken(&D, "w1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(h_str(out, 0, "template"), "welcome");
  assert_string_equal(h_str(out, 0, "channel"), "email");
  assert_string_equal(h_str(out, 0, "address"), "ann@example.com");
  assert_non_null(strstr(h_str(out, 0, "text"), "Ann"));
  cJSON_Delete(out);
  /* one configured second of silence later, the follow-up */
  out = h_wait_spoken(&D, "w1", 2, 8000);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(h_str(out, 1, "template"), "welcome_nudge");
  assert_string_equal(h_str(out, 1, "journey"), "welcome");
  cJSON_Delete(out);
}

static void test_answer_takes_the_other_branch(void **state)
{
  cJSON_Delete(h_post(&D, "{\"id\":\"w2-signup\",\"type\":\"user.signed_up\",\"contact\":\"w2\","
                         "\"profile\":{\"email\":\"bo@example.com\"}}",
                         200));
  cJSON_Delete(h_wait_spoken(&D, "w2", 1, 5000));
  cJSON_Delete(h_post(&D, "{\"id\":\"w2-click\",\"type\":\"email.clicked\",\"contact\":\"w2\"}", 200));
  cJSON *out = h_wait_spoken(&D, "w2", 2, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(h_str(out, 1, "template"), "welcome_tips");
  cJSON_Delete(out);
  cJSON *cv = h_first_conv(&D, "w2");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "done");
  cJSON_Delete(cv);
}

static void test_goal_event_ends_the_conversation(void **state)
{
  cJSON_Delete(h_post(&D, "{\"id\":\"c1-cart\",\"type\":\"cart.updated\",\"contact\":\"c1\","
                         "\"profile\":{\"email\":\"cy@example.com\",\"phone\":\"+15550100\"},"
                         "\"data\":{\"items\":[{\"name\":\"Teapot\",\"price\":30}]}}",
                         200));
  cJSON *out = h_wait_spoken(&D, "c1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(h_str(out, 0, "journey"), "cart_abandonment");
  cJSON_Delete(out);
  cJSON *cv = h_first_conv(&D, "c1");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "listening");
  /* times are RFC 3339 text: the deadline lies ahead of the start; not ended yet */
  int64_t started = h_time(cv, "started");
  assert_true(h_time(cv, "deadline") > started);
  assert_true(h_time(cv, "updated") >= started);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(cv, "ended")));
  assert_true(h_time(cJSON_GetArrayItem(cJSON_GetObjectItem(cv, "history"), 0), "at") >= started);
  cJSON_Delete(cv);
  cJSON_Delete(h_post(&D, "{\"id\":\"c1-order\",\"type\":\"order.placed\",\"contact\":\"c1\"}", 200));
  cv = h_first_conv(&D, "c1");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "done");
  assert_string_equal(cJSON_GetObjectItem(cv, "outcome")->valuestring, "goal:order.placed");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(cv, "deadline")));
  assert_true(h_time(cv, "ended") >= started);
  cJSON_Delete(cv);
  h_sleep_ms(1600); /* past the nudge deadline: nothing more is said */
  out = h_spoken_to(&D, "c1");
  assert_int_equal(cJSON_GetArraySize(out), 1);
  cJSON_Delete(out);
}

static void test_batch_is_applied_once(void **state)
{
  const char *batch = "{\"id\":\"b-1\",\"type\":\"user.signed_up\",\"contact\":\"n1\",\"profile\":{\"email\":\"n1@x.org\"}}\n"
                      "\n"
                      "{\"id\":\"b-2\",\"type\":\"user.signed_up\",\"contact\":\"n2\",\"profile\":{\"email\":\"n2@x.org\"}}\n"
                      "{\"id\":\"b-3\",\"type\":\"user.signed_up\",\"contact\":\"n3\",\"profile\":{\"email\":\"n3@x.org\"}}\n";
  char *out;
  assert_int_equal(h_http(&D, "POST", "/v1/events", batch, "application/x-ndjson", &out), 200);
  cJSON *r = cJSON_Parse(out);
  free(out);
  assert_int_equal(h_num(r, "accepted"), 3);
  assert_int_equal(h_num(r, "applied"), 3);
  cJSON_Delete(r);
  assert_int_equal(h_http(&D, "POST", "/v1/events", batch, "application/x-ndjson", &out), 200);
  r = cJSON_Parse(out);
  free(out);
  assert_int_equal(h_num(r, "applied"), 0);
  assert_int_equal(h_num(r, "duplicates"), 3);
  cJSON_Delete(r);
  const char *who[] = {"n1", "n2", "n3"};
  for (int i = 0; i < 3; i++) {
    cJSON *sp = h_spoken_to(&D, who[i]);
    assert_int_equal(cJSON_GetArraySize(sp), 1); /* one welcome each, not two */
    cJSON_Delete(sp);
  }
}

static void expect_error(const char *body, long status, const char *code, const char *needle)
{
  char *out;
  long st = h_http(&D, "POST", "/v1/events", body, "application/x-ndjson", &out);
  cJSON *doc = cJSON_Parse(out);
  cJSON *e = cJSON_GetObjectItem(doc, "error");
  cJSON *msg = cJSON_GetObjectItem(e, "message");
  if (st != status || !cJSON_IsString(msg) || !strstr(msg->valuestring, needle) ||
      strcmp(cJSON_GetObjectItem(e, "code")->valuestring, code) != 0)
    fail_msg("body %.60s: got %ld %s, want %ld %s '%s'", body, st, out, status, code, needle);
  cJSON_Delete(doc);
  free(out);
}

static void test_bad_requests_get_clear_errors(void **state)
{
  expect_error("{\"type\":\"x\",", 400, "bad_event", "malformed JSON");
  expect_error("{\"type\":\"x\",\"contact\":\"q\",\"colour\":\"red\"}", 400, "bad_event", "unknown field 'colour'");
  expect_error("{\"type\":5,\"contact\":\"q\"}", 400, "bad_event", "field 'type' must be a string");
  expect_error("{\"contact\":\"q\"}", 400, "bad_event", "field 'type' is required");
  expect_error("{\"type\":\"x\",\"contact\":\"q\",\"data\":[1]}", 400, "bad_event", "field 'data' must be an object");
  expect_error("", 400, "bad_event", "no event");
  /* line 3 of a batch is bad: 400 naming it, and lines 1-2 are not applied */
  expect_error("{\"id\":\"h1\",\"type\":\"user.signed_up\",\"contact\":\"half1\"}\n"
               "{\"id\":\"h2\",\"type\":\"user.signed_up\",\"contact\":\"half2\"}\n"
               "{\"id\":\"h3\",\"type\":\"user.signed_up\"}\n",
               400, "bad_event", "line 3: field 'contact' is required");
  long st;
  cJSON_Delete(h_get_contact(&D, "half1", &st));
  assert_int_equal(st, 404);
  cJSON_Delete(h_get_contact(&D, "half2", &st));
  assert_int_equal(st, 404);
  /* over-size: one event, and the whole body */
  char *big = malloc(70000);
  memset(big, 'a', 69999);
  big[69999] = '\0';
  const char *head = "{\"type\":\"x\",\"contact\":\"q\",\"data\":{\"pad\":\"";
  memcpy(big, head, strlen(head));
  expect_error(big, 413, "body_too_large", "larger than 65536 bytes");
  big[5000] = '\0';
  expect_error(big, 400, "bad_event", "event larger than 4096 bytes");
  free(big);
  assert_int_equal(h_http(&D, "GET", "/v1/nothing", NULL, NULL, NULL), 404);
  assert_int_equal(h_http(&D, "GET", "/v1/events", NULL, NULL, NULL), 405);
  /* and the daemon still serves */
  assert_int_equal(h_http(&D, "GET", "/healthz", NULL, NULL, NULL), 200);
}

/* Strings the daemon could not keep as sent are refused, naming the field and the line,
 * and nothing of the request is applied: a NUL would cut "bob\u0000evil" down to bob, and
 * invalid UTF-8 would come back out of GET /v1/contacts as invalid JSON. */
static void test_strings_that_cannot_be_kept_are_refused(void **state)
{
  long st;
  cJSON_Delete(h_post(&D, "{\"id\":\"nul-bob\",\"type\":\"x\",\"contact\":\"bob\"}", 200));
  expect_error("{\"id\":\"nul-1\",\"type\":\"user.signed_up\",\"contact\":\"bob\\u0000evil\","
               "\"profile\":{\"email\":\"mallory@example.com\"}}",
               400, "bad_event", "field 'contact' holds a NUL character");
  cJSON *bob = h_get_contact(&D, "bob", &st);
  assert_int_equal(st, 200);
  assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(bob, "profile"), "email"));
  cJSON_Delete(bob);
  expect_error("{\"id\":\"nul-bob\\u0000x\",\"type\":\"x\",\"contact\":\"bob\"}", 400, "bad_event",
               "field 'id' holds a NUL character");
  expect_error("{\"id\":\"u8-1\",\"type\":\"user.signed_up\",\"contact\":\"u8a\"}\n"
               "{\"id\":\"u8-2\",\"type\":\"user.signed_up\",\"contact\":\"u8b\","
               "\"profile\":{\"first_name\":\"\xc3\x28\"}}\n",
               400, "bad_event", "line 2: field 'profile.first_name' is not valid UTF-8");
  cJSON_Delete(h_get_contact(&D, "u8a", &st));
  assert_int_equal(st, 404);
  expect_error("{\"type\":\"x\",\"contact\":\"u8c\",\"data\":{\"s\":\"\\ud800\"}}", 400, "bad_event",
               "malformed JSON");
}

/* "unsubscribed": "true" (a string) used to be stored, and only JSON true is honoured: the
 * contact was e-mailed. Typed attributes of the wrong type are refused and never stored;
 * right ones are stored as given. */
static void test_profile_types_are_enforced(void **state)
{
  long st;
  expect_error("{\"id\":\"un-1\",\"type\":\"user.signed_up\",\"contact\":\"un1\","
               "\"profile\":{\"email\":\"un1@example.com\",\"unsubscribed\":\"true\"}}",
               400, "bad_event", "field 'profile.unsubscribed' must be true or false");
  expect_error("{\"id\":\"un-2\",\"type\":\"user.signed_up\",\"contact\":\"un2\","
               "\"profile\":{\"email\":\"un2@example.com\",\"consent\":{\"email\":\"false\"}}}",
               400, "bad_event", "field 'profile.consent.email' must be true, false or null");
  expect_error("{\"type\":\"x\",\"contact\":\"un3\",\"profile\":{\"timezone\":\"../../../etc/passwd\"}}",
               400, "bad_event", "field 'profile.timezone' is not an IANA time zone");
  h_sleep_ms(300);
  cJSON *sp = h_spoken_to(&D, "un1");
  assert_int_equal(cJSON_GetArraySize(sp), 0);
  cJSON_Delete(sp);
  cJSON_Delete(h_get_contact(&D, "un1", &st));
  assert_int_equal(st, 404);
  cJSON_Delete(h_post(&D, "{\"id\":\"un-4\",\"type\":\"x\",\"contact\":\"un4\","
                         "\"profile\":{\"email\":\"un4@example.com\",\"phone\":\"+4915112345678\","
                         "\"timezone\":\"Europe/Paris\",\"unsubscribed\":true,\"consent\":{\"sms\":false}}}",
                         200));
  cJSON *ct = h_get_contact(&D, "un4", &st);
  assert_int_equal(st, 200);
  cJSON *p = cJSON_GetObjectItem(ct, "profile");
  assert_string_equal(cJSON_GetObjectItem(p, "timezone")->valuestring, "Europe/Paris");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p, "unsubscribed")));
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "consent"), "sms")));
  cJSON_Delete(ct);
}

/* GET /v1/contacts/{id} for an id as a client sends it: percent-encoded (RFC 3986). */
static long get_contact_escaped(const char *id, char **out)
{
  char *esc = curl_easy_escape(NULL, id, 0), path[512];
  snprintf(path, sizeof path, "/v1/contacts/%s", esc);
  curl_free(esc);
  return h_http(&D, "GET", path, NULL, NULL, out);
}

/* Every contact an event was accepted for can be read back: "a/b" was accepted, and
 * GET /v1/contacts/a%2Fb answered 404 (the path was decoded before it was split). */
static void test_contact_ids_round_trip(void **state)
{
  const char *ids[] = {"a/b", "100%", "%2F", "ann smith", "Zo\xc3\xab \xe6\x9d\x8e", "?x=1#y&z+w;", "../up", "a%00b"};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "x");
    cJSON_AddStringToObject(ev, "contact", ids[i]);
    char *body = cJSON_PrintUnformatted(ev);
    cJSON_Delete(h_post(&D, body, 200));
    free(body);
    cJSON_Delete(ev);
    char *out;
    long st = get_contact_escaped(ids[i], &out);
    cJSON *doc = cJSON_Parse(out);
    cJSON *id = cJSON_GetObjectItem(doc, "id");
    if (st != 200 || !cJSON_IsString(id) || strcmp(id->valuestring, ids[i]) != 0)
      fail_msg("contact '%s': GET answered %ld %s", ids[i], st, out);
    cJSON_Delete(doc);
    free(out);
  }
  /* a path that cannot name a contact is a bad request, not an unknown contact */
  const char *bad[] = {"/v1/contacts/%C3%28", "/v1/contacts/%2E%2E"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *out;
    long st = h_http(&D, "GET", bad[i], NULL, NULL, &out);
    if (st != 400 || !strstr(out, "bad_contact_id"))
      fail_msg("GET %s answered %ld %s", bad[i], st, out);
    free(out);
  }
  /* a segment that does not decode, or decodes to a NUL, is refused before any route */
  const char *undecodable[] = {"/v1/contacts/a%2", "/v1/contacts/a%zz", "/v1/contacts/a%00b"};
  for (size_t i = 0; i < sizeof undecodable / sizeof undecodable[0]; i++) {
    char *out;
    long st = h_http(&D, "GET", undecodable[i], NULL, NULL, &out);
    if (st != 400 || !strstr(out, "bad_path"))
      fail_msg("GET %s answered %ld %s", undecodable[i], st, out);
    free(out);
  }
  long st;
  cJSON_Delete(h_get_contact(&D, "nobody", &st));
  assert_int_equal(st, 404);
  expect_error("{\"type\":\"x\",\"contact\":\"..\"}", 400, "bad_event", "field 'contact' cannot be '.' or '..'");
}

/* "time": 99999999999 (the year 5138) was accepted. An event's time lies between
 * 2000-01-01 and a day past the daemon's clock, given as epoch seconds or RFC 3339 text. */
static void test_event_time_is_bounded_and_may_be_text(void **state)
{
  expect_error("{\"type\":\"x\",\"contact\":\"t1\",\"time\":99999999999}", 400, "bad_event",
               "field 'time' must lie between 2000-01-01T00:00:00Z and ");
  expect_error("{\"type\":\"x\",\"contact\":\"t1\",\"time\":946684799}", 400, "bad_event",
               "field 'time' must lie between 2000-01-01T00:00:00Z and ");
  expect_error("{\"type\":\"x\",\"contact\":\"t1\",\"time\":\"3000-01-01T00:00:00Z\"}", 400, "bad_event",
               "field 'time' must lie between");
  expect_error("{\"type\":\"x\",\"contact\":\"t1\",\"time\":\"2026-02-30T10:00:00Z\"}", 400, "bad_event",
               "field 'time' is not an RFC 3339 date-time");
  long st;
  cJSON_Delete(h_get_contact(&D, "t1", &st));
  assert_int_equal(st, 404);
  cJSON_Delete(h_post(&D, "{\"type\":\"x\",\"contact\":\"t2\",\"time\":\"2026-11-18T10:30:00.250+01:00\"}\n"
                         "{\"type\":\"x\",\"contact\":\"t2\",\"time\":1795000000.5}\n",
                         200));
  cJSON_Delete(h_get_contact(&D, "t2", &st));
  assert_int_equal(st, 200);
}

static void test_metrics_count_what_happened(void **state)
{
  char *out;
  assert_int_equal(h_http(&D, "GET", "/metrics", NULL, NULL, &out), 200);
  assert_non_null(strstr(out, "# TYPE parley_events_total counter"));
  assert_non_null(strstr(out, "parley_goals_total 1\n"));
  free(out);
}

/* The shipped file plugin confirming every message as "email.delivered": receipts emitted
 * from inside a plugin's send, several messages in one batch, must be applied by the core
 * after the send (this once crashed the daemon with a use-after-free). A daemon of its
 * own: the receipts change every count the other tests read. */
static void test_receipts_from_the_file_plugin(void **state)
{
  struct daemon r;
  assert_int_equal(h_setup(&r, "  channels = { email = { plugin = 'file', path = spoken, receipts = true } },"),
                   0);
  const char *batch =
      "{\"id\":\"r-1\",\"type\":\"user.signed_up\",\"contact\":\"r1\",\"profile\":{\"email\":\"r1@x.org\"}}\n"
      "{\"id\":\"r-2\",\"type\":\"user.signed_up\",\"contact\":\"r2\",\"profile\":{\"email\":\"r2@x.org\"}}\n"
      "{\"id\":\"r-3\",\"type\":\"user.signed_up\",\"contact\":\"r3\",\"profile\":{\"email\":\"r3@x.org\"}}\n";
  char *out = NULL;
  assert_int_equal(h_http(&r, "POST", "/v1/events", batch, "application/x-ndjson", &out), 200);
  free(out);
  const char *who[] = {"r1", "r2", "r3"};
  for (int i = 0; i < 3; i++) {
    cJSON *sp = h_wait_spoken(&r, who[i], 1, 5000);
    assert_int_equal(cJSON_GetArraySize(sp), 1);
    cJSON_Delete(sp);
  }
  /* each receipt is an event in the contact's history, applied once */
  for (int i = 0; i < 3; i++) {
    int seen = 0;
    for (int tries = 0; tries < 100 && !seen; tries++) {
      long st;
      cJSON *ct = h_get_contact(&r, who[i], &st);
      char *text = cJSON_PrintUnformatted(ct);
      seen = text && strstr(text, "event email.delivered") != NULL;
      free(text);
      cJSON_Delete(ct);
      if (!seen)
        h_sleep_ms(20);
    }
    if (!seen)
      fail_msg("no email.delivered in the history of %s", who[i]);
  }
  assert_int_equal(h_http(&r, "GET", "/metrics", NULL, NULL, &out), 200);
  assert_non_null(strstr(out, "parley_events_total 6\n"));
  assert_non_null(strstr(out, "parley_messages_delivered_total 3\n"));
  free(out);
  assert_int_equal(h_teardown(&r), 0); /* a clean exit: no sanitizer report, no leak */
}

/* Waits up to five seconds for /metrics to hold every line of `want` (NULL-ended);
 * returns the last scrape (the caller frees it), failing with the first line missing. */
static char *scrape_until(const struct daemon *d, const char *const *want)
{
  char *out = NULL;
  const char *missing = NULL;
  for (int tries = 0; tries < 100; tries++) {
    free(out);
    assert_int_equal(h_http(d, "GET", "/metrics", NULL, NULL, &out), 200);
    missing = NULL;
    for (const char *const *w = want; *w && !missing; w++)
      if (!strstr(out, *w))
        missing = *w;
    if (!missing)
      return out;
    h_sleep_ms(50);
  }
  fail_msg("no \"%s\" in /metrics:\n%s", missing, out);
  return out;
}

/* Per-channel figures: one message delivered, one failed for good (invalid_address,
 * dead-lettered), one retried and queued again, on a channel served by
 * tests/plugins/outcome.c (each contact's profile says how its e-mail ends); the
 * latency histogram counts the delivery in its buckets. A daemon of its own, like the
 * receipts test. */
static void test_metrics_per_channel(void **state)
{
  struct daemon r;
  assert_int_equal(h_setup(&r, "  plugin_path = { builddir .. '/tests/plugins' },\n"
                               "  channels = { email = { plugin = 'outcome', rate = 100, max_in_flight = 5 } },"),
                   0);
  const char *batch =
      "{\"id\":\"m-1\",\"type\":\"user.signed_up\",\"contact\":\"m1\",\"profile\":{\"email\":\"m1@x.org\"}}\n"
      "{\"id\":\"m-2\",\"type\":\"user.signed_up\",\"contact\":\"m2\",\"profile\":{\"email\":\"m2@x.org\","
      "\"email_outcome\":\"failed:1:no such box\"}}\n"
      "{\"id\":\"m-3\",\"type\":\"user.signed_up\",\"contact\":\"m3\",\"profile\":{\"email\":\"m3@x.org\","
      "\"email_outcome\":\"retry:3600000\"}}\n";
  cJSON_Delete(h_post(&r, batch, 200));
  const char *const want[] = {
      "# TYPE parley_channel_delivered_total counter\n",
      "parley_channel_delivered_total{channel=\"email\"} 1\n",
      "parley_channel_failed_total{channel=\"email\",reason=\"invalid_address\"} 1\n",
      "parley_channel_failed_total{channel=\"email\",reason=\"blocked\"} 0\n",
      "parley_channel_retried_total{channel=\"email\"} 1\n",
      "parley_channel_dead_total{channel=\"email\"} 1\n",
      "# TYPE parley_channel_in_flight gauge\n",
      "parley_channel_in_flight{channel=\"email\"} 0\n",
      "parley_channel_queued{channel=\"email\"} 1\n",
      "# TYPE parley_channel_delivery_seconds histogram\n",
      "parley_channel_delivery_seconds_bucket{channel=\"email\",le=\"86400\"} 1\n",
      "parley_channel_delivery_seconds_bucket{channel=\"email\",le=\"+Inf\"} 1\n",
      "parley_channel_delivery_seconds_count{channel=\"email\"} 1\n",
      "parley_messages_delivered_total 1\n", /* the totals are kept */
      "parley_messages_dead_total 1\n",
      NULL};
  char *out = scrape_until(&r, want);
  /* the bucket below the first is empty or holds the one delivery: cumulative, never more */
  assert_non_null(strstr(out, "parley_channel_delivery_seconds_bucket{channel=\"email\",le=\"0.05\"} "));
  assert_null(strstr(out, "parley_channel_delivery_seconds_bucket{channel=\"email\",le=\"0.05\"} 2"));
  free(out);
  assert_int_equal(h_teardown(&r), 0);
}

/* Sends `request` as it is on a new connection and returns what came back (the caller
 * frees it): for what an HTTP client library would never send. */
static char *raw_http(const char *request)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)D.port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
  char *out = calloc(1, 65536);
  size_t n = 0;
  ssize_t r;
  while (n < 65535 && (r = read(fd, out + n, 65535 - n)) > 0)
    n += (size_t)r;
  close(fd);
  return out;
}

/* HEAD answers where GET does, without a body; HTTP/1.1 without Host is a JSON 400. */
static void test_head_and_host(void **state)
{
  char *out = raw_http("HEAD /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  assert_true(strncmp(out, "HTTP/1.1 200", 12) == 0);
  const char *end = strstr(out, "\r\n\r\n");
  assert_non_null(end);
  assert_string_equal(end + 4, ""); /* no body */
  free(out);
  out = raw_http("HEAD /v1/contacts/nobody-here HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  assert_true(strncmp(out, "HTTP/1.1 404", 12) == 0);
  free(out);
  out = raw_http("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  assert_true(strncmp(out, "HTTP/1.1 400", 12) == 0);
  const char *body = strstr(out, "\r\n\r\n");
  assert_non_null(body);
  cJSON *doc = cJSON_Parse(body + 4);
  cJSON *code = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "code");
  assert_true(cJSON_IsString(code) && strcmp(code->valuestring, "bad_request") == 0);
  cJSON_Delete(doc);
  free(out);
  /* two Content-Length headers: refused, and nothing of the body is applied */
  out = raw_http("POST /v1/events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                 "Content-Length: 43\r\nContent-Length: 5\r\n\r\n"
                 "{\"type\":\"user.signed_up\",\"contact\":\"smug\"}");
  assert_true(strncmp(out, "HTTP/1.1 400", 12) == 0);
  assert_non_null(strstr(out, "more than one Content-Length"));
  free(out);
  long st;
  cJSON_Delete(h_get_contact(&D, "smug", &st));
  assert_int_equal(st, 404);
}

/* The retention sweep ticks on the daemon's loop: a second after a conversation ended (the
 * retention configured here), it is gone, and so is every history entry older than that,
 * and /metrics counts what went. A daemon of its own, like the receipts test. */
static void test_retention_sweeps_on_the_loop(void **state)
{
  struct daemon r;
  assert_int_equal(h_setup(&r, "  channels = { email = { plugin = 'file', path = spoken } },\n"
                               "  retention = { conversations = '1s', history = '1s' },"),
                   0);
  cJSON_Delete(h_post(&r,
                      "{\"id\":\"s-1\",\"type\":\"cart.updated\",\"contact\":\"s1\",\"profile\":{\"email\":"
                      "\"s1@x.org\"},\"data\":{\"items\":[{\"name\":\"Teapot\"}]}}\n"
                      "{\"id\":\"s-2\",\"type\":\"order.placed\",\"contact\":\"s1\"}\n",
                      200));
  int gone = 0;
  for (int tries = 0; tries < 100 && !gone; tries++) { /* ticks come every second */
    long st;
    cJSON *ct = h_get_contact(&r, "s1", &st);
    assert_int_equal(st, 200);
    gone = cJSON_GetArraySize(cJSON_GetObjectItem(ct, "conversations")) == 0 &&
           cJSON_GetArraySize(cJSON_GetObjectItem(ct, "history")) == 0;
    cJSON_Delete(ct);
    if (!gone)
      h_sleep_ms(100);
  }
  assert_true(gone);
  char *out;
  assert_int_equal(h_http(&r, "GET", "/metrics", NULL, NULL, &out), 200);
  assert_non_null(strstr(out, "parley_retention_conversations_removed_total 1\n"));
  assert_null(strstr(out, "parley_retention_history_removed_total 0\n"));
  assert_non_null(strstr(out, "parley_contacts_erased_total 0\n"));
  free(out);
  assert_int_equal(h_teardown(&r), 0);
}

/* PUT and PATCH a profile without an event; the journeys and a reload, over HTTP. */
static void test_profiles_journeys_and_reload(void **state)
{
  char *out;
  assert_int_equal(h_http(&D, "PUT", "/v1/contacts/pp1", "{\"first_name\":\"Pia\",\"unsubscribed\":true}", NULL, &out), 201);
  assert_non_null(strstr(out, "\"Pia\""));
  free(out);
  assert_int_equal(h_http(&D, "PUT", "/v1/contacts/pp1", "{\"first_name\":\"Pia\"}", NULL, &out), 200);
  free(out);
  assert_int_equal(h_http(&D, "PATCH", "/v1/contacts/pp1", "{\"plan\":\"pro\",\"first_name\":null}", NULL, &out), 200);
  free(out);
  long st;
  cJSON *ct = h_get_contact(&D, "pp1", &st);
  cJSON *profile = cJSON_GetObjectItem(ct, "profile");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(profile, "unsubscribed"))); /* a PUT that leaves it out keeps it */
  assert_string_equal(cJSON_GetObjectItem(profile, "plan")->valuestring, "pro");
  assert_null(cJSON_GetObjectItem(profile, "first_name"));
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ct, "conversations")), 0); /* no journey started */
  cJSON_Delete(ct);
  assert_int_equal(h_http(&D, "PATCH", "/v1/contacts/nobody-here", "{}", NULL, &out), 404);
  free(out);
  assert_int_equal(h_http(&D, "PUT", "/v1/contacts/pp2", "{\"phone\":\"12\"}", NULL, &out), 400);
  assert_non_null(strstr(out, "phone"));
  free(out);
  cJSON_Delete(h_get_contact(&D, "pp2", &st));
  assert_int_equal(st, 404); /* nothing stored from the refused PUT */
  assert_int_equal(h_http(&D, "GET", "/v1/journeys", NULL, NULL, &out), 200);
  assert_non_null(strstr(out, "\"welcome\""));
  assert_non_null(strstr(out, "\"loaded\""));
  free(out);
  assert_int_equal(h_http(&D, "POST", "/v1/admin/reload", "", NULL, &out), 200);
  assert_non_null(strstr(out, "\"welcome\""));
  free(out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_profiles_journeys_and_reload),
      cmocka_unit_test(test_welcome_then_follow_up_after_silence),
      cmocka_unit_test(test_answer_takes_the_other_branch),
      cmocka_unit_test(test_goal_event_ends_the_conversation),
      cmocka_unit_test(test_batch_is_applied_once),
      cmocka_unit_test(test_bad_requests_get_clear_errors),
      cmocka_unit_test(test_strings_that_cannot_be_kept_are_refused),
      cmocka_unit_test(test_profile_types_are_enforced),
      cmocka_unit_test(test_contact_ids_round_trip),
      cmocka_unit_test(test_event_time_is_bounded_and_may_be_text),
      cmocka_unit_test(test_metrics_count_what_happened),
      cmocka_unit_test(test_head_and_host),
      cmocka_unit_test(test_receipts_from_the_file_plugin),
      cmocka_unit_test(test_metrics_per_channel),
      cmocka_unit_test(test_retention_sweeps_on_the_loop),
  };
  return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}

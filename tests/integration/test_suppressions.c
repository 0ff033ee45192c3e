/* The API's global suppression list through the real daemon over HTTP: PUT lists an
 * address (201, then 200 replacing its reason), GET pages through a channel's list, DELETE
 * lifts it (404 when it is not there); a listed address is refused by the speak gate for
 * whoever holds it, recorded in the contact's history and counted in /metrics; the list
 * survives a restart; bad channels, addresses, bodies and queries are JSON errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct daemon D;

static int start(void **state)
{
  return h_setup(&D, "  channels = { email = { plugin = 'file', path = spoken },\n"
                     "               sms = { plugin = 'file', path = spoken, address = 'phone' } },");
}

static int stop(void **state)
{
  return h_teardown(&D);
}

/* A request expecting `status`; the parsed answer (NULL when it has no body). */
static cJSON *req(const char *method, const char *path, const char *body, long status)
{
  char *out = NULL;
  long got = h_http(&D, method, path, body, body ? "application/json" : NULL, &out);
  if (got != status)
    fail_msg("%s %s: %ld, want %ld: %s", method, path, got, status, out ? out : "");
  cJSON *doc = out && *out ? cJSON_Parse(out) : NULL;
  free(out);
  return doc;
}

static const char *str(const cJSON *doc, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void expect_error(const char *method, const char *path, const char *body, long status, const char *code)
{
  cJSON *doc = req(method, path, body, status);
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
  if (!str(e, "code") || strcmp(str(e, "code"), code) != 0)
    fail_msg("%s %s: want error %s", method, path, code);
  cJSON_Delete(doc);
}

static int history_has(const char *contact, const char *needle)
{
  long status;
  cJSON *ct = h_get_contact(&D, contact, &status);
  char *s = cJSON_PrintUnformatted(ct);
  int has = s && strstr(s, needle) != NULL;
  free(s);
  cJSON_Delete(ct);
  return has;
}

static void test_put_get_delete(void **state)
{
  cJSON *doc = req("PUT", "/v1/suppressions/email/Carol%40Example.com", "{\"reason\":\"complaint\"}", 201);
  assert_string_equal(str(doc, "address"), "carol@example.com");
  assert_string_equal(str(doc, "reason"), "complaint");
  assert_non_null(str(doc, "at"));
  cJSON_Delete(doc);
  doc = req("PUT", "/v1/suppressions/email/carol@example.com", "{\"reason\":\"do not mail\"}", 200);
  cJSON_Delete(doc);
  cJSON_Delete(req("PUT", "/v1/suppressions/email/bob@example.com", NULL, 201));
  cJSON_Delete(req("PUT", "/v1/suppressions/email/dan@example.com", "", 201));
  cJSON_Delete(req("PUT", "/v1/suppressions/sms/+4915100000001", NULL, 201));
  /* pages in address order */
  doc = req("GET", "/v1/suppressions/email?limit=2", NULL, 200);
  cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "suppressions");
  assert_int_equal(cJSON_GetArraySize(list), 2);
  assert_string_equal(str(cJSON_GetArrayItem(list, 0), "address"), "bob@example.com");
  assert_string_equal(str(cJSON_GetArrayItem(list, 1), "address"), "carol@example.com");
  assert_string_equal(str(cJSON_GetArrayItem(list, 1), "reason"), "do not mail");
  assert_string_equal(str(doc, "next"), "carol@example.com");
  cJSON_Delete(doc);
  doc = req("GET", "/v1/suppressions/email?limit=2&after=carol%40example.com", NULL, 200);
  list = cJSON_GetObjectItemCaseSensitive(doc, "suppressions");
  assert_int_equal(cJSON_GetArraySize(list), 1);
  assert_string_equal(str(cJSON_GetArrayItem(list, 0), "address"), "dan@example.com");
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "next")));
  cJSON_Delete(doc);
  doc = req("GET", "/v1/suppressions/sms", NULL, 200);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "suppressions")), 1);
  cJSON_Delete(doc);
  /* lifted once */
  cJSON_Delete(req("DELETE", "/v1/suppressions/email/DAN@example.com", NULL, 200));
  expect_error("DELETE", "/v1/suppressions/email/dan@example.com", NULL, 404, "not_found");
  doc = req("GET", "/v1/suppressions/email", NULL, 200);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "suppressions")), 2);
  cJSON_Delete(doc);
}

/* A sign-up of `who` with `email`, listed, is refused while `other`'s goes out. */
static void signup_refused_beside(const char *who, const char *email, const char *other)
{
  char ev[256];
  snprintf(ev, sizeof ev, "{\"id\":\"%s\",\"type\":\"user.signed_up\",\"contact\":\"%s\","
           "\"profile\":{\"email\":\"%s\",\"first_name\":\"X\"}}", who, who, email);
  cJSON_Delete(h_post(&D, ev, 200));
  snprintf(ev, sizeof ev, "{\"id\":\"%s\",\"type\":\"user.signed_up\",\"contact\":\"%s\","
           "\"profile\":{\"email\":\"%s@example.org\",\"first_name\":\"Y\"}}", other, other, other);
  cJSON_Delete(h_post(&D, ev, 200));
  cJSON_Delete(h_wait_spoken(&D, other, 1, 5000));
  cJSON *out = h_spoken_to(&D, who);
  assert_int_equal(cJSON_GetArraySize(out), 0);
  cJSON_Delete(out);
  assert_true(history_has(who, "on the global suppression list for email"));
}

/* Whoever holds a listed address is not spoken to there; the list outlives a restart. */
static void test_gate_refuses_and_survives_restart(void **state)
{
  cJSON_Delete(req("PUT", "/v1/suppressions/email/erin%40example.com", "{\"reason\":\"complaint\"}", 201));
  cJSON_Delete(h_post(&D, "{\"id\":\"s1\",\"type\":\"user.signed_up\",\"contact\":\"s1\","
                          "\"profile\":{\"email\":\"Erin@example.com\",\"first_name\":\"Erin\"}}", 200));
  cJSON_Delete(h_post(&D, "{\"id\":\"s2\",\"type\":\"user.signed_up\",\"contact\":\"s2\","
                          "\"profile\":{\"email\":\"fay@example.com\",\"first_name\":\"Fay\"}}", 200));
  cJSON_Delete(h_wait_spoken(&D, "s2", 1, 5000));
  cJSON *out = h_spoken_to(&D, "s1");
  assert_int_equal(cJSON_GetArraySize(out), 0);
  cJSON_Delete(out);
  assert_true(history_has("s1", "the contact's email is on the global suppression list for email: complaint"));
  char *m = NULL;
  assert_int_equal(h_http(&D, "GET", "/metrics", NULL, NULL, &m), 200);
  assert_non_null(strstr(m, "parley_messages_refused_by_reason_total{reason=\"suppressed_globally\"} 1\n"));
  free(m);
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  assert_int_equal(h_start(&D), 0);
  cJSON *doc = req("GET", "/v1/suppressions/email?limit=1000", NULL, 200);
  char *s = cJSON_PrintUnformatted(doc);
  assert_non_null(strstr(s, "\"address\":\"erin@example.com\",\"reason\":\"complaint\""));
  free(s);
  cJSON_Delete(doc);
  /* after the restart the gate finds the list by itself (a speak skips the lookup only
   * while the list is empty) */
  signup_refused_beside("s3", "erin@example.com", "s4");
  /* an empty list at start, then an entry: the next speak sees it */
  const char *const listed[] = {"email/erin%40example.com", "email/carol%40example.com", "email/bob%40example.com",
                                "sms/%2B4915100000001"};
  char path[96];
  for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++) {
    snprintf(path, sizeof path, "/v1/suppressions/%s", listed[i]);
    cJSON_Delete(req("DELETE", path, NULL, 200));
  }
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  assert_int_equal(h_start(&D), 0);
  cJSON_Delete(h_post(&D, "{\"id\":\"s5\",\"type\":\"user.signed_up\",\"contact\":\"s5\","
                          "\"profile\":{\"email\":\"erin@example.com\",\"first_name\":\"Erin\"}}", 200));
  cJSON_Delete(h_wait_spoken(&D, "s5", 1, 5000));
  cJSON_Delete(req("PUT", "/v1/suppressions/email/gus%40example.com", "{\"reason\":\"complaint\"}", 201));
  signup_refused_beside("s6", "gus@example.com", "s7");
}

static void test_bad_requests(void **state)
{
  expect_error("PUT", "/v1/suppressions/fax/+4915100000001", NULL, 404, "no_channel");
  expect_error("GET", "/v1/suppressions/fax", NULL, 404, "no_channel");
  expect_error("PUT", "/v1/suppressions/email/nobody", NULL, 400, "bad_address");
  expect_error("PUT", "/v1/suppressions/sms/015100000001", NULL, 400, "bad_address");
  expect_error("DELETE", "/v1/suppressions/sms/not%20a%20number", NULL, 400, "bad_address");
  expect_error("PUT", "/v1/suppressions/email/a@example.com", "{\"reason\":7}", 400, "bad_body");
  expect_error("PUT", "/v1/suppressions/email/a@example.com", "{\"why\":\"x\"}", 400, "bad_body");
  expect_error("PUT", "/v1/suppressions/email/a@example.com", "[1]", 400, "bad_body");
  expect_error("PUT", "/v1/suppressions/email/a@example.com", "{\"reason\":\"a\\u0007b\"}", 400, "bad_body");
  expect_error("GET", "/v1/suppressions/email?limit=0", NULL, 400, "bad_query");
  expect_error("GET", "/v1/suppressions/email?limit=1001", NULL, 400, "bad_query");
  expect_error("GET", "/v1/suppressions/email?limit=x", NULL, 400, "bad_query");
  expect_error("GET", "/v1/suppressions/email?after=%zz", NULL, 400, "bad_query");
  expect_error("GET", "/v1/suppressions/email?after=a%00b", NULL, 400, "bad_query");
  expect_error("GET", "/v1/suppressions/email?after=a%4", NULL, 400, "bad_query");
  cJSON *doc = req("GET", "/v1/suppressions/email", NULL, 200); /* nothing was listed */
  char *s = cJSON_PrintUnformatted(doc);
  assert_null(strstr(s, "a@example.com"));
  free(s);
  cJSON_Delete(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_delete),
      cmocka_unit_test(test_gate_refuses_and_survives_restart),
      cmocka_unit_test(test_bad_requests),
  };
  return cmocka_run_group_tests(tests, start, stop);
}

/* A provider's callbacks through the real daemon, over real HTTP: the sms channel is
 * served by tests/plugins/inbound.c, whose route POST /v1/channels/sms/events takes
 * Standard Webhooks signed requests and emits "sms.replied", which the journey
 * tests/integration/inbound_journeys/reply.lua waits for. The daemon asks for API tokens;
 * the callbacks carry none. Proven here: a signed callback is accepted and wakes the
 * journey; a bad signature and an old timestamp are refused 401 by the plugin; an unknown
 * channel or path is a JSON 404, a wrong method 405 with Allow, an oversize body 413; a
 * route registered twice is refused with a log line naming plugin and route; a handler's
 * bad answer is a JSON 500 with an ERROR line, and the daemon keeps serving; /metrics
 * counts by channel and status; shutdown cannot register a route. */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* "parley-inbound-secret-01", as the provider's console would show it */
#define SECRET_RAW "parley-inbound-secret-01"
#define SECRET "whsec_cGFybGV5LWluYm91bmQtc2VjcmV0LTAx"

static struct daemon D;
static char token[128];

/* `parley token create`, as an operator would. */
static void make_token(void)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/core/parley token create --name it --scope events:write,contacts:read -c %s 2>/dev/null",
           PARLEY_BUILDDIR, D.conf);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(token, sizeof token, p));
  assert_int_equal(pclose(p), 0);
  token[strcspn(token, "\n")] = '\0';
  assert_int_equal(strncmp(token, "prl_", 4), 0);
}

static int start(void **state)
{
  h_init(&D);
  snprintf(D.journeys, sizeof D.journeys, "%s/tests/integration/inbound_journeys", PARLEY_SRCDIR);
  h_write_config(&D, "  http = { auth = 'tokens', public_healthz = true, public_metrics = true },\n"
                     "  plugin_dir = builddir .. '/tests/plugins',\n"
                     "  channels = { sms = { plugin = 'inbound', secret = '" SECRET "' } },");
  if (sodium_init() < 0 || h_start(&D) != 0)
    return -1;
  make_token();
  return 0;
}

static int stop(void **state)
{
  return h_teardown(&D);
}

/* A raw request (no Authorization header), answered and closed; the whole answer. */
static char *request(const char *method, const char *path, const char *headers, const char *body)
{
  char *req = NULL;
  size_t blen = body ? strlen(body) : 0;
  int n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: provider.example\r\nConnection: close\r\n%s"
                         "Content-Length: %zu\r\n\r\n%s",
                   method, path, headers ? headers : "", blen, body ? body : "");
  assert_true(n > 0);
  char *answer = h_raw(&D, req, (size_t)n, 5000);
  free(req);
  assert_non_null(answer);
  return answer;
}

/* The Standard Webhooks headers for `body`, signed with `secret` at `ts`. */
static void sign(char *out, size_t cap, const char *id, long long ts, const char *body, const char *secret)
{
  char tss[32], b64[64];
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  snprintf(tss, sizeof tss, "%lld", ts);
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)tss, strlen(tss));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
  snprintf(out, cap,
           "Content-Type: application/json\r\nwebhook-id: %s\r\nwebhook-timestamp: %s\r\n"
           "webhook-signature: v1,%s\r\n",
           id, tss, b64);
}

/* The error code of a JSON error answer ("" when there is none). */
static void expect_error(const char *answer, int status, const char *code)
{
  if (h_raw_status(answer) != status)
    fail_msg("wanted %d, got: %s", status, answer);
  cJSON *doc = h_raw_json(answer);
  const char *got = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "code"));
  if (got == NULL || strcmp(got, code) != 0)
    fail_msg("wanted error code %s: %s", code, answer);
  cJSON_Delete(doc);
}

static int log_has(const char *pattern)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "grep -q -E '%s' %s", pattern, D.log);
  if (system(cmd) == 0)
    return 1;
  h_dump_log(&D);
  return 0;
}

static cJSON *conv_of(const char *contact)
{
  char path[128], *out = NULL;
  snprintf(path, sizeof path, "/v1/contacts/%s", contact);
  assert_int_equal(h_http_as(&D, token, "GET", path, NULL, NULL, &out), 200);
  cJSON *doc = cJSON_Parse(out);
  free(out);
  cJSON *cv = cJSON_DetachItemFromArray(cJSON_GetObjectItem(doc, "conversations"), 0);
  cJSON_Delete(doc);
  assert_non_null(cv);
  return cv;
}

static void test_signed_callback_wakes_the_journey_without_a_token(void **state)
{
  char hdrs[512];
  assert_int_equal(h_http_as(&D, token, "POST", "/v1/events",
                             "{\"id\":\"su-1\",\"type\":\"signed_up\",\"contact\":\"c1\"}", NULL, NULL), 200);
  cJSON *cv = conv_of("c1");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cv, "status")), "listening");
  cJSON_Delete(cv);
  /* the provider holds no token: the API refuses it, the channel's route does not */
  assert_int_equal(h_http_as(&D, NULL, "POST", "/v1/events", "{}", NULL, NULL), 401);
  const char *body = "{\"text\":\"yes\"}";
  sign(hdrs, sizeof hdrs, "msg_1", (long long)time(NULL), body, SECRET_RAW);
  char *answer = request("POST", "/v1/channels/sms/events?contact=c1", hdrs, body);
  if (h_raw_status(answer) != 200 || !strstr(answer, "X-Handled-By: inbound\r\n") ||
      !strstr(answer, "Content-Type: application/json\r\n") || !strstr(answer, "\r\n\r\n{\"ok\":true}"))
    fail_msg("signed callback: %s", answer);
  free(answer);
  const char *status = NULL;
  for (int i = 0; i < 200; i++) { /* applied within a loop turn; read back over HTTP */
    cv = conv_of("c1");
    status = strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cv, "status")), "done") == 0 ? "done" : NULL;
    if (status) {
      cJSON *mem = cJSON_GetObjectItem(cv, "memory");
      assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(mem, "answer")), "yes");
    }
    cJSON_Delete(cv);
    if (status)
      break;
    h_sleep_ms(25);
  }
  assert_non_null(status);
}

static void test_bad_signature_and_replay_are_refused_by_the_plugin(void **state)
{
  char hdrs[512];
  const char *body = "{\"text\":\"forged\"}";
  sign(hdrs, sizeof hdrs, "msg_2", (long long)time(NULL), body, "another secret");
  char *answer = request("POST", "/v1/channels/sms/events?contact=c2", hdrs, body);
  if (h_raw_status(answer) != 401 || !strstr(answer, "{\"error\":\"bad signature\"}"))
    fail_msg("forged: %s", answer);
  free(answer);
  /* signed with the right secret, an hour ago: a recorded request replayed */
  sign(hdrs, sizeof hdrs, "msg_3", (long long)time(NULL) - 3600, body, SECRET_RAW);
  answer = request("POST", "/v1/channels/sms/events?contact=c2", hdrs, body);
  if (h_raw_status(answer) != 401 || !strstr(answer, "{\"error\":\"stale\"}"))
    fail_msg("replayed: %s", answer);
  free(answer);
  answer = request("POST", "/v1/channels/sms/events?contact=c2", NULL, body);
  assert_int_equal(h_raw_status(answer), 401); /* unsigned */
  free(answer);
  char *out = NULL; /* none of them made the contact */
  assert_int_equal(h_http_as(&D, token, "GET", "/v1/contacts/c2", NULL, NULL, &out), 404);
  free(out);
}

static void test_unknown_channel_path_method_and_size(void **state)
{
  char *a = request("POST", "/v1/channels/nope/events", NULL, "{}");
  expect_error(a, 404, "not_found");
  free(a);
  a = request("POST", "/v1/channels/sms/nothing", NULL, "{}");
  expect_error(a, 404, "not_found");
  free(a);
  a = request("GET", "/v1/channels/sms", NULL, NULL);
  expect_error(a, 404, "not_found");
  free(a);
  a = request("GET", "/v1/channels/sms/events", NULL, NULL);
  expect_error(a, 405, "method_not_allowed");
  if (!strstr(a, "Allow: POST\r\n"))
    fail_msg("no Allow: %s", a);
  free(a);
  /* limits.body_bytes is 65536: refused on its Content-Length, before the plugin sees it */
  const char big[] = "POST /v1/channels/sms/events HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n";
  a = h_raw(&D, big, sizeof big - 1, 5000);
  expect_error(a, 413, "body_too_large");
  free(a);
  a = request("HEAD", "/v1/channels/sms/status", NULL, NULL);
  if (h_raw_status(a) != 200 || !strstr(a, "Content-Length: 4\r\n") || strstr(a, "\"ok\""))
    fail_msg("HEAD: %s", a);
  free(a);
}

static void test_route_registered_twice_is_refused_and_logged(void **state)
{
  assert_true(log_has("ERROR +plugin:sms \"route refused\" plugin=inbound route=\"POST /v1/channels/sms/events\" "
                      "reason=\"this method and path are registered already\""));
  assert_true(log_has("\"route refused\" plugin=inbound route=\"POST /v1/channels/sms/../etc\""));
}

static void test_bad_answers_are_500_and_the_daemon_keeps_serving(void **state)
{
  static const char *const paths[] = {"/v1/channels/sms/bad-status", "/v1/channels/sms/bad-header",
                                      "/v1/channels/sms/silent"};
  for (size_t i = 0; i < 3; i++) {
    char *a = request("GET", paths[i], NULL, NULL);
    expect_error(a, 500, "plugin_error");
    if (strstr(a, "Set-Cookie") || strstr(a, "X-Evil"))
      fail_msg("a header was smuggled: %s", a);
    free(a);
  }
  assert_true(log_has("ERROR +plugin:sms \"route answer refused, the client gets 500\" plugin=inbound "
                      "route=\"GET /v1/channels/sms/bad-status\" reason=\"status 42 is not an answer"));
  assert_true(log_has("ERROR +plugin:sms \"route answer refused.*bad-header.*CR, LF"));
  assert_true(log_has("ERROR +plugin:sms \"route handler returned without an answer.*plugin=inbound.*silent"));
  assert_int_equal(h_http(&D, "GET", "/healthz", NULL, NULL, NULL), 200);
  char *a = request("GET", "/v1/channels/sms/status", NULL, NULL);
  assert_int_equal(h_raw_status(a), 200);
  free(a);
}

static void test_metrics_count_by_channel_and_status(void **state)
{
  char *out = NULL;
  assert_int_equal(h_http(&D, "GET", "/metrics", NULL, NULL, &out), 200);
  static const char *const want[] = {
      "parley_channel_requests_total{channel=\"sms\",status=\"200\"} 3\n", /* the event, HEAD, GET */
      "parley_channel_requests_total{channel=\"sms\",status=\"404\"} 2\n",
      "parley_channel_requests_total{channel=\"sms\",status=\"401\"} 3\n",
      "parley_channel_requests_total{channel=\"sms\",status=\"405\"} 1\n",
      "parley_channel_requests_total{channel=\"sms\",status=\"500\"} 3\n",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(out, want[i]))
      fail_msg("no %s in:\n%s", want[i], out);
  assert_null(strstr(out, "channel=\"nope\"")); /* an unknown channel is not a label */
  free(out);
}

/* Last: shutdown's route_add is refused; the daemon still ends cleanly. */
static void test_shutdown_cannot_register(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  D.pid = 0;
  assert_true(log_has("\"route refused\" plugin=inbound route=\"GET /v1/channels/sms/late\" "
                      "reason=\"the instance is shutting down\""));
  assert_true(log_has("late route refused"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signed_callback_wakes_the_journey_without_a_token),
      cmocka_unit_test(test_bad_signature_and_replay_are_refused_by_the_plugin),
      cmocka_unit_test(test_unknown_channel_path_method_and_size),
      cmocka_unit_test(test_route_registered_twice_is_refused_and_logged),
      cmocka_unit_test(test_bad_answers_are_500_and_the_daemon_keeps_serving),
      cmocka_unit_test(test_metrics_count_by_channel_and_status),
      cmocka_unit_test(test_shutdown_cannot_register),
  };
  return cmocka_run_group_tests(tests, start, stop);
}

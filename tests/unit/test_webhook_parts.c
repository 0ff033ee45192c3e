/* The webhook plugin's parts that need no server (plugins/webhook/webhook_sign.c,
 * webhook_headers.c and webhook_answer.c), built into this test from the plugin's own
 * sources: the signature against Standard Webhooks' published example, the secret's
 * checks, the URL rule (plain http to loopback only, whatever the host name looks like),
 * the static headers setting, Retry-After in both forms and what each status means. The plugin as a whole is tested in the daemon
 * (integration/test_webhook.c) and by `parley plugin try` (cli_tests.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "webhook.h"

static void test_signature_of_the_published_example(void **state)
{
  struct webhook_key key;
  char why[256], sig[WEBHOOK_SIGNATURE_SIZE];
  const char *body = "{\"test\": 2432232314}";
  assert_int_equal(webhook_key_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, why, sizeof why), 0);
  assert_int_equal(webhook_sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body), sig), 0);
  assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  assert_int_equal(webhook_sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body), sig), 0);
  assert_string_not_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void key_refused(const char *secret, const char *needle)
{
  struct webhook_key key;
  char why[256] = "";
  assert_int_equal(webhook_key_parse(secret, &key, why, sizeof why), -1);
  if (strstr(why, needle) == NULL)
    fail_msg("'%s' refused with '%s', not '%s'", secret ? secret : "(null)", why, needle);
  assert_int_equal(key.len, 0);
}

static void test_secrets_refused(void **state)
{
  key_refused(NULL, "whsec_");
  key_refused("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_");
  key_refused("whsec_not base64!", "not base64");
  key_refused("whsec_c2hvcnQ=", "5 bytes, at least 24");
}

static void url(const char *u, int allowed)
{
  char why[256];
  if ((webhook_url_allowed(u, why, sizeof why) == 0) != allowed)
    fail_msg("%s: %s", u, allowed ? why : "allowed");
}

static void test_plain_http_to_loopback_only(void **state)
{
  url("https://hooks.example.com/parley", 1);
  url("http://127.0.0.1:8080/hook", 1);
  url("http://127.9.9.9/hook", 1);
  url("http://localhost/hook", 1);
  url("http://[::1]:9000/hook", 1);
  url("http://example.com/hook", 0);
  url("http://10.0.0.1/hook", 0);
  url("http://127.0.0.1.example.com/hook", 0);
  url("http://localhost.example.com/", 0);
  url("http://user:pw@127.0.0.1/", 0);
  url("http://[::2]/", 0);
  url("ftp://127.0.0.1/", 0);
  url("https:///nohost", 0);
  url("", 0);
}

static void headers_refused(const char *setting, const char *needle)
{
  struct webhook_headers hs;
  char why[256] = "";
  assert_int_equal(webhook_headers_parse(setting, &hs, why, sizeof why), -1);
  if (strstr(why, needle) == NULL)
    fail_msg("'%s' refused with '%s', not '%s'", setting, why, needle);
  assert_null(hs.text);
}

static void test_static_headers(void **state)
{
  struct webhook_headers hs;
  char why[256];
  assert_int_equal(webhook_headers_parse(NULL, &hs, why, sizeof why), 0);
  assert_int_equal(hs.n, 0);
  assert_int_equal(webhook_headers_parse("Authorization: Bearer a b\r\n\nX-Tenant:acme\n", &hs, why, sizeof why), 0);
  assert_int_equal(hs.n, 2);
  assert_string_equal(hs.h[0].name, "Authorization");
  assert_string_equal(hs.h[0].value, "Bearer a b");
  assert_string_equal(hs.h[1].name, "X-Tenant");
  assert_string_equal(hs.h[1].value, "acme");
  webhook_headers_free(&hs);
  headers_refused("X-Tenant acme", "is not 'Name: value'");
  headers_refused("Webhook-Signature: v1,forged", "'Webhook-Signature' is not a header name");
  headers_refused("content-type: text/plain", "'content-type' is not a header name");
  headers_refused("X Tenant: acme", "'X Tenant' is not a header name");
  headers_refused("X-A: 1\rX-B: 2", "control character");
  headers_refused("A:1\nB:2\nC:3\nD:4\nE:5\nF:6\nG:7\nH:8\nI:9", "at most 8");
}

static void test_retry_after(void **state)
{
  int64_t now = 1614265330000; /* Thu, 25 Feb 2021 15:02:10 GMT */
  assert_int_equal(webhook_retry_after_ms("120", now), 120000);
  assert_int_equal(webhook_retry_after_ms(" 2 ", now), 2000);
  assert_int_equal(webhook_retry_after_ms("Thu, 25 Feb 2021 15:02:40 GMT", now), 30000);
  assert_int_equal(webhook_retry_after_ms("Thu, 25 Feb 2021 15:00:00 GMT", now), 0); /* past */
  assert_int_equal(webhook_retry_after_ms(NULL, now), 0);
  assert_int_equal(webhook_retry_after_ms("soon", now), 0);
  assert_int_equal(webhook_retry_after_ms("12abc", now), 0);
  assert_int_equal(webhook_retry_after_ms("-5", now), 0);
}

static void test_outcomes(void **state)
{
  enum parley_fail_reason r;
  assert_int_equal(webhook_outcome_of(200, &r), WEBHOOK_DELIVERED);
  assert_int_equal(webhook_outcome_of(204, &r), WEBHOOK_DELIVERED);
  assert_int_equal(webhook_outcome_of(429, &r), WEBHOOK_RETRY);
  assert_int_equal(webhook_outcome_of(408, &r), WEBHOOK_RETRY);
  assert_int_equal(webhook_outcome_of(503, &r), WEBHOOK_RETRY);
  assert_int_equal(webhook_outcome_of(404, &r), WEBHOOK_FAILED);
  assert_int_equal(r, PARLEY_FAIL_INVALID_ADDRESS);
  assert_int_equal(webhook_outcome_of(410, &r), WEBHOOK_FAILED);
  assert_int_equal(r, PARLEY_FAIL_UNSUBSCRIBED);
  assert_int_equal(webhook_outcome_of(401, &r), WEBHOOK_FAILED);
  assert_int_equal(r, PARLEY_FAIL_REJECTED);
  assert_int_equal(webhook_outcome_of(301, &r), WEBHOOK_FAILED); /* redirects are not followed */
  assert_int_equal(r, PARLEY_FAIL_REJECTED);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signature_of_the_published_example),
      cmocka_unit_test(test_secrets_refused),
      cmocka_unit_test(test_plain_http_to_loopback_only),
      cmocka_unit_test(test_static_headers),
      cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_outcomes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

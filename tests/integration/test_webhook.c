/* The shipped webhook channel (plugins/webhook) in the real daemon: the shipped welcome
 * journey speaks on the email channel, the webhook plugin POSTs it, signed, to the test
 * receiver (receiver.h), which verifies the Standard Webhooks signature and answers as the
 * contact's first word asks. What a user sees is checked: the conversation's history (the
 * receiver's id kept), the retries the receiver saw (a Retry-After honoured, in seconds
 * and as an HTTP date), and the dead letters `parley inspect --dead` lists, with the
 * reason the answer meant. One receiver and one daemon for the whole file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "receiver.h"

static struct daemon D;
static struct receiver R;

static int start_all(void **state)
{
  char extra[1024];
  signal(SIGPIPE, SIG_IGN);
  h_init(&D);
  if (receiver_start(&R, D.dir) < 0)
    return -1;
  char secret_file[256];
  snprintf(secret_file, sizeof secret_file, "%s/webhook.secret", D.dir);
  FILE *sf = fopen(secret_file, "w");
  if (sf == NULL || fprintf(sf, "%s\n", RECEIVER_SECRET) < 0 || fclose(sf) != 0)
    return -1;
  snprintf(extra, sizeof extra,
           "  delivery = { max_attempts = 3, retry_base = '100ms', retry_max = '200ms' },\n"
           "  channels = { email = { plugin = 'webhook', url = 'http://127.0.0.1:%d/',\n"
           "                         secret = { file = '%s' }, timeout_ms = 500,\n"
           "                         provider_id_header = 'X-Receipt-Id',\n"
           "                         headers = 'X-Tenant: acme' } },\n"
           "  journey_params = { welcome = { follow_up_after = '1h', last_call_after = '1h' } },",
           R.port, secret_file);
  h_write_config(&D, extra);
  return h_start(&D);
}

static int stop_all(void **state)
{
  int rc = h_teardown(&D); /* a request still hanging is cancelled: the daemon exits 0 */
  receiver_stop(&R);
  return rc;
}

static void signup(const char *contact)
{
  char ev[256];
  snprintf(ev, sizeof ev,
           "{\"id\":\"su-%s\",\"type\":\"user.signed_up\",\"contact\":\"%s\","
           "\"profile\":{\"email\":\"%s@example.com\"}}",
           contact, contact, contact);
  cJSON_Delete(h_post(&D, ev, 200));
}

static const cJSON *at(const cJSON *arr, int i, const char *key)
{
  return cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), key);
}

/* `parley inspect --dead --json`, as an operator runs it beside the daemon. */
static cJSON *dead_letters(void)
{
  char out[160];
  snprintf(out, sizeof out, "%s/dead.json", D.dir);
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out, "w", stdout))
      _exit(127);
    execl(PARLEY_BUILDDIR "/core/parley", "parley", "inspect", "--dead", "--json", "-c", D.conf,
          (char *)NULL);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  FILE *f = fopen(out, "r");
  assert_non_null(f);
  char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  cJSON *doc = cJSON_Parse(buf);
  assert_non_null(doc);
  return doc;
}

/* The dead letter of `contact` (waiting up to `ms`): its last error and attempts. */
static int dead_letter_of(const char *contact, long ms, char *last_error, size_t cap)
{
  for (long waited = 0; waited <= ms; waited += 100) {
    cJSON *doc = dead_letters();
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(doc, "dead_letters"))
    {
      const cJSON *c = cJSON_GetObjectItem(m, "contact");
      if (cJSON_IsString(c) && strcmp(c->valuestring, contact) == 0) {
        const cJSON *e = cJSON_GetObjectItem(m, "last_error");
        snprintf(last_error, cap, "%s", cJSON_IsString(e) ? e->valuestring : "");
        int attempts = (int)cJSON_GetObjectItem(m, "attempts")->valuedouble;
        cJSON_Delete(doc);
        return attempts;
      }
    }
    cJSON_Delete(doc);
    h_sleep_ms(100);
  }
  fail_msg("no dead letter for %s", contact);
  return 0;
}

/* The history line the delivery left in the contact's conversation, waiting up to `ms`. */
static int history_says(const char *contact, const char *needle, long ms)
{
  for (long waited = 0; waited <= ms; waited += 50) {
    cJSON *cv = h_first_conv(&D, contact);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(cv, "history"));
    int found = text && strstr(text, needle) != NULL;
    free(text);
    cJSON_Delete(cv);
    if (found)
      return 1;
    h_sleep_ms(50);
  }
  return 0;
}

static void assert_signed(const cJSON *seen, int n)
{
  assert_int_equal(cJSON_GetArraySize(seen), n);
  for (int i = 0; i < n; i++) {
    assert_true(cJSON_IsTrue(at(seen, i, "sig_ok")));
    assert_true(cJSON_IsTrue(at(seen, i, "ts_ok")));
  }
}

static void test_delivered_signed_with_the_receivers_id(void **state)
{
  signup("ok-1");
  cJSON *seen = receiver_wait(&R, "ok-1", 1, 5000);
  assert_signed(seen, 1);
  assert_int_equal(at(seen, 0, "status")->valueint, 200);
  assert_int_equal(at(seen, 0, "attempt")->valueint, 1);
  assert_string_equal(at(seen, 0, "tenant")->valuestring, "acme"); /* the static header */
  char want[128];
  snprintf(want, sizeof want, "provider=rcpt-%s", at(seen, 0, "id")->valuestring);
  assert_true(history_says("ok-1", want, 5000));
  h_sleep_ms(300);
  cJSON *again = receiver_wait(&R, "ok-1", 2, 0); /* delivered once, not again */
  assert_int_equal(cJSON_GetArraySize(again), 1);
  cJSON_Delete(again);
  cJSON_Delete(seen);
}

/* 429 with Retry-After: the next attempt waits for it, not for the 100 ms backoff. */
static void retried_after(const char *contact, double at_least_s)
{
  signup(contact);
  cJSON *seen = receiver_wait(&R, contact, 2, 10000);
  assert_signed(seen, 2);
  assert_int_equal(at(seen, 0, "status")->valueint, 429);
  assert_int_equal(at(seen, 1, "status")->valueint, 200);
  assert_string_equal(at(seen, 0, "id")->valuestring, at(seen, 1, "id")->valuestring);
  assert_int_equal(at(seen, 1, "attempt")->valueint, 2);
  double gap = at(seen, 1, "time")->valuedouble - at(seen, 0, "time")->valuedouble;
  if (gap < at_least_s)
    fail_msg("%s: retried after %.3f s, Retry-After asked %.1f s", contact, gap, at_least_s);
  assert_true(history_says(contact, "provider=rcpt-", 3000));
  cJSON_Delete(seen);
}

static void test_429_retry_after_seconds(void **state)
{
  retried_after("busy-1", 1.9);
}

static void test_429_retry_after_http_date(void **state)
{
  retried_after("busydate-1", 1.5); /* 3 s ahead, to the second */
}

/* A refusal is final: one attempt, dead at once, the reason leading the error. */
static void refused(const char *contact, const char *want_error)
{
  char err[512];
  signup(contact);
  assert_int_equal(dead_letter_of(contact, 5000, err, sizeof err), 1);
  assert_string_equal(err, want_error);
  cJSON *seen = receiver_wait(&R, contact, 1, 0);
  assert_signed(seen, 1);
  cJSON_Delete(seen);
}

static void test_400_rejected(void **state)
{
  refused("bad-1", "rejected: HTTP 400: bad payload");
}

static void test_410_unsubscribed(void **state)
{
  refused("gone-1", "unsubscribed: HTTP 410");
}

static void test_404_invalid_address(void **state)
{
  refused("nobody-1", "invalid_address: HTTP 404");
}

/* Retried every time, then dead after the configured three attempts. */
static void exhausted(const char *contact, const char *error_has)
{
  char err[512];
  signup(contact);
  assert_int_equal(dead_letter_of(contact, 15000, err, sizeof err), 3);
  if (strstr(err, error_has) == NULL)
    fail_msg("%s: last error '%s' lacks '%s'", contact, err, error_has);
  cJSON *seen = receiver_wait(&R, contact, 3, 2000);
  assert_signed(seen, 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(at(seen, i, "attempt")->valueint, i + 1);
  cJSON_Delete(seen);
}

static void test_500_retried_then_dead(void **state)
{
  exhausted("e500-1", "HTTP 500");
}

static void test_slow_answer_times_out_and_is_retried(void **state)
{
  exhausted("slow-1", "imed out"); /* curl: "Operation timed out after 5.. milliseconds" */
}

static void test_no_answer_is_retried(void **state)
{
  exhausted("hang-1", "imed out");
}

static void test_closed_without_answer_is_retried(void **state)
{
  exhausted("close-1", "Empty reply");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_delivered_signed_with_the_receivers_id),
      cmocka_unit_test(test_429_retry_after_seconds),
      cmocka_unit_test(test_429_retry_after_http_date),
      cmocka_unit_test(test_400_rejected),
      cmocka_unit_test(test_410_unsubscribed),
      cmocka_unit_test(test_404_invalid_address),
      cmocka_unit_test(test_500_retried_then_dead),
      cmocka_unit_test(test_slow_answer_times_out_and_is_retried),
      cmocka_unit_test(test_no_answer_is_retried),
      cmocka_unit_test(test_closed_without_answer_is_retried),
  };
  return cmocka_run_group_tests(tests, start_all, stop_all);
}

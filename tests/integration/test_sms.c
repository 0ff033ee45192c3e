/* The shipped sms channel (plugins/sms) in the real daemon, generic dialect, against a
 * JSON provider on loopback (tests/sms_provider.py): a journey speaks a text, the plugin
 * POSTs it with the channel's headers and the message id as Idempotency-Key, the provider
 * answers and calls back with a receipt on the signed callback URL, which becomes
 * sms.delivered or sms.failed in the contact's history. What a provider gets wrong: an
 * HTML page instead of JSON and a 503 (retried, one text), a refusal (dead letter with
 * its words). Forged callbacks: a receipt URL not signed by the channel, an inbound
 * webhook without the provider's signature (401, nothing recorded); malformed bodies
 * (400). Replies through the signed webhook: sms.replied once however often it comes;
 * STOP suppresses the number (the journey's next text refused) with one confirmation,
 * START lifts it, HELP is answered; a reply from an unknown number creates nothing, a STOP
 * from one is still confirmed. What c:speak returns (segments, encoding), and a text over
 * the journey's max_segments refused, nothing sent. One provider and one daemon for the
 * whole file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"

#define INBOUND_SECRET "an-inbound-secret-for-the-tests"
#define API_KEY "test-api-key-123"

static struct daemon D;
static struct fx_server P; /* tests/sms_provider.py */

static int start_all(void **state)
{
  char extra[2048], secret[200], key[200];
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0)
    return -1;
  h_init(&D);
  snprintf(P.log, sizeof P.log, "%s/provider.jsonl", D.dir);
  snprintf(D.journeys, sizeof D.journeys, "%s", PARLEY_SRCDIR "/tests/integration/sms_journeys");
  snprintf(secret, sizeof secret, "%s/inbound.secret", D.dir);
  snprintf(key, sizeof key, "%s/api.key", D.dir);
  if (fx_server_start(&P, "sms_provider.py", NULL) < 0 || fx_write_file(secret, INBOUND_SECRET) < 0 ||
      fx_write_file(key, API_KEY) < 0)
    return -1;
  snprintf(extra, sizeof extra,
           "  delivery = { max_attempts = 5, retry_base = '100ms', retry_max = '300ms' },\n"
           "  channels = { sms = { plugin = 'sms', dialect = 'generic',\n"
           "                       url = 'http://127.0.0.1:%d/messages', from = 'Shop',\n"
           "                       public_url = 'http://127.0.0.1:%d/',\n"
           "                       inbound_secret = { file = '%s' }, api_key = { file = '%s' },\n"
           "                       headers = { 'Authorization: Bearer {{api_key}}' },\n"
           "                       id_path = 'messages.0.id', error_path = 'error.message',\n"
           "                       timeout = '2s' } },",
           P.port, D.port, secret, key);
  h_write_config(&D, extra);
  return h_start(&D);
}

static int stop_all(void **state)
{
  fx_server_stop(&P); /* first: its log is in the daemon's folder, which the teardown removes */
  return h_teardown(&D);
}

static int to_or_receipt(const cJSON *o, const void *arg)
{
  const char *to = arg;
  const cJSON *t = cJSON_GetObjectItem(o, "to");
  return to ? cJSON_IsString(t) && strcmp(t->valuestring, to) == 0 : cJSON_GetObjectItem(o, "receipt") != NULL;
}

/* The provider's lines for `to` (receipts: for the callback URL holding nothing to
 * match, so `to` NULL takes receipts), waiting up to `ms` for at least `n`. */
static cJSON *provider_wait(const char *to, int n, long ms)
{
  return fx_lines_wait(P.log, to_or_receipt, to, n, ms);
}

static const char *str(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItem(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* `parley inspect --dead --json`, as an operator runs it beside the daemon: the last
 * error of `contact`'s dead letter, waiting up to `ms` for it. */
static void dead_letter_of(const char *contact, long ms, char *last_error, size_t cap)
{
  char out[200];
  snprintf(out, sizeof out, "%s/dead.json", D.dir);
  for (long waited = 0; waited <= ms; waited += 100) {
    pid_t pid = fork();
    if (pid == 0) {
      if (!freopen(out, "w", stdout))
        _exit(127);
      execl(PARLEY_BUILDDIR "/core/parley", "parley", "inspect", "--dead", "--json", "-c", D.conf, (char *)NULL);
      _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *doc = cJSON_Parse(buf), *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(doc, "dead_letters"))
    {
      const char *c = str(m, "contact");
      if (c && strcmp(c, contact) == 0) {
        snprintf(last_error, cap, "%s", str(m, "last_error") ? str(m, "last_error") : "");
        cJSON_Delete(doc);
        return;
      }
    }
    cJSON_Delete(doc);
    h_sleep_ms(100);
  }
  fail_msg("no dead letter for %s", contact);
}

/* The path below the daemon of a callback URL the provider was given. */
static const char *path_of(const char *url)
{
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%d", D.port);
  assert_true(strncmp(url, base, strlen(base)) == 0);
  return url + strlen(base);
}

static void test_text_reaches_the_provider_and_its_receipt_comes_back(void **state)
{
  fx_say(&D, "ann", "+4915112340001", "Hello Ann, your order \"42\" shipped.");
  cJSON *got = provider_wait("+4915112340001", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(got), 1);
  cJSON *m = cJSON_GetArrayItem(got, 0);
  assert_string_equal(str(m, "text"), "Hello Ann, your order \"42\" shipped.");
  assert_string_equal(str(m, "from"), "Shop");
  assert_string_equal(str(m, "auth"), "Bearer " API_KEY);
  assert_string_equal(str(m, "idem"), str(m, "reference")); /* the message id, on every attempt */
  assert_true(strlen(str(m, "idem")) > 8);
  assert_non_null(strstr(str(m, "status_callback"), "/v1/channels/sms/status?r="));
  char want[80];
  snprintf(want, sizeof want, "id=%s", str(m, "idem"));
  assert_true(fx_history_says(&D, "ann", want, 5000));
  assert_true(fx_history_says(&D, "ann", "provider=prov-", 5000));
  assert_true(fx_history_says(&D, "ann", "woken by sms.delivered", 5000));
  cJSON_Delete(got);
}

static void test_undelivered_receipt_is_sms_failed(void **state)
{
  fx_say(&D, "ben", "+4915112340002", "undeliverable nobody home");
  assert_true(fx_history_says(&D, "ben", "woken by sms.failed", 5000));
  assert_true(fx_history_says(&D, "ben", "event sms.failed id=", 100));
  assert_false(fx_history_says(&D, "ben", "event sms.delivered", 0));
}

static void test_garbage_and_busy_answers_are_retried_into_one_text(void **state)
{
  fx_say(&D, "cem", "+4915112340003", "garbage answer first, Привет 😀");
  fx_say(&D, "dan", "+4915112340004", "busy provider first");
  cJSON *c = provider_wait("+4915112340003", 2, 8000), *d = provider_wait("+4915112340004", 2, 8000);
  assert_int_equal(cJSON_GetArraySize(c), 2);
  assert_int_equal(cJSON_GetArraySize(d), 2);
  assert_string_equal(str(cJSON_GetArrayItem(c, 0), "idem"), str(cJSON_GetArrayItem(c, 1), "idem"));
  assert_string_equal(str(cJSON_GetArrayItem(c, 1), "text"), "garbage answer first, Привет 😀");
  assert_true(fx_history_says(&D, "cem", "woken by sms.delivered", 5000));
  assert_true(fx_history_says(&D, "dan", "woken by sms.delivered", 5000));
  h_sleep_ms(500); /* and no third attempt */
  cJSON_Delete(c);
  c = provider_wait("+4915112340003", 3, 0);
  assert_int_equal(cJSON_GetArraySize(c), 2);
  cJSON_Delete(c);
  cJSON_Delete(d);
}

static void test_refused_text_is_dead_lettered_with_the_providers_words(void **state)
{
  fx_say(&D, "eve", "+4915112340005", "reject me");
  assert_true(fx_history_says(&D, "eve", "woken by sms.failed", 5000));
  assert_true(fx_history_says(&D, "eve", ": rejected", 100));
  char last_error[512];
  dead_letter_of("eve", 2000, last_error, sizeof last_error);
  assert_non_null(strstr(last_error, "HTTP 400: content refused"));
  cJSON *got = provider_wait("+4915112340005", 2, 500);
  assert_int_equal(cJSON_GetArraySize(got), 1); /* a refusal is not retried */
  cJSON_Delete(got);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
  (void)p;
  (void)ud;
  return size * n;
}

/* POST `body` (JSON) to `path` with one extra header `hdr` (NULL: none); the status. */
static long post_to(const char *path, const char *body, const char *hdr)
{
  char url[1200];
  long status = 0;
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", D.port, path);
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  if (hdr)
    h = curl_slist_append(h, hdr);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return status;
}

static void test_forged_receipts_are_refused(void **state)
{
  fx_say(&D, "fay", "+4915112340006", "Hello Fay");
  cJSON *r = provider_wait(NULL, 1, 5000);
  assert_true(cJSON_GetArraySize(r) >= 1);
  assert_true(fx_history_says(&D, "fay", "woken by sms.delivered", 5000));
  cJSON *got = provider_wait("+4915112340006", 1, 100);
  char path[1024], forged[1100];
  snprintf(path, sizeof path, "%s", path_of(str(cJSON_GetArrayItem(got, 0), "status_callback")));
  /* the same URL with the token altered */
  snprintf(forged, sizeof forged, "%s", path);
  char *t = strstr(forged, "&t=");
  assert_non_null(t);
  t[3] = t[3] == 'A' ? 'B' : 'A';
  assert_int_equal(post_to(forged, "{\"status\":\"failed\"}", NULL), 401);
  assert_int_equal(post_to("/v1/channels/sms/status?r=bm9wZQ&t=x", "{\"status\":\"failed\"}", NULL), 401);
  assert_int_equal(post_to("/v1/channels/sms/status", "{\"status\":\"failed\"}", NULL), 401);
  /* the genuine URL: a body without a status is malformed; an intermediate status is noted only */
  assert_int_equal(post_to(path, "not json", NULL), 400);
  assert_int_equal(post_to(path, "{\"state\":\"x\"}", NULL), 400);
  assert_int_equal(post_to(path, "{\"status\":\"sent\"}", NULL), 200);
  h_sleep_ms(300);
  assert_false(fx_history_says(&D, "fay", "event sms.failed", 0));
  cJSON_Delete(got);
  cJSON_Delete(r);
}

/* The inbound webhook with the provider's signature: hex HMAC-SHA256 of the body. */
static long post_inbound(const char *body, const char *secret)
{
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char hex[2 * sizeof mac + 1], hdr[128];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  snprintf(hdr, sizeof hdr, "X-Signature: sha256=%s", hex);
  return post_to("/v1/channels/sms/inbound", body, hdr);
}

static void test_forged_inbound_webhooks_are_refused(void **state)
{
  const char *body = "{\"from\":\"+4915112340001\",\"to\":\"+4930123456\",\"text\":\"forged\",\"id\":\"in-1\"}";
  assert_int_equal(post_inbound(body, "not-the-inbound-secret"), 401);
  assert_int_equal(h_http(&D, "POST", "/v1/channels/sms/inbound", body, "application/json", NULL), 401);
  assert_int_equal(post_inbound("{\"from\":\"+4915112340001\"}", INBOUND_SECRET), 400); /* no text, not UTF-8 */
  assert_int_equal(post_inbound("[1,2", INBOUND_SECRET), 400);
  assert_int_equal(post_inbound("{\"from\":\"+4915112340001\",\"text\":\"caf\xe9\"}", INBOUND_SECRET), 400);
  h_sleep_ms(300);
  assert_false(fx_history_says(&D, "ann", "forged", 0));
}

/* The contact's profile as the API shows it. */
static cJSON *profile_of(const char *contact)
{
  long status;
  cJSON *ct = h_get_contact(&D, contact, &status);
  assert_int_equal(status, 200);
  cJSON *p = cJSON_DetachItemFromObject(ct, "profile");
  cJSON_Delete(ct);
  return p;
}

/* How many times `needle` is in the contact's history. */
static int history_count(const char *contact, const char *needle)
{
  long status;
  cJSON *ct = h_get_contact(&D, contact, &status);
  char *text = cJSON_PrintUnformatted(ct);
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  free(text);
  cJSON_Delete(ct);
  return n;
}

static long inbound(const char *from, const char *text, const char *id)
{
  char body[512];
  snprintf(body, sizeof body, "{\"from\":\"%s\",\"to\":\"+4930123456\",\"text\":\"%s\",\"id\":\"%s\"}", from, text, id);
  return post_inbound(body, INBOUND_SECRET);
}

static void test_a_reply_wakes_the_journey_once(void **state)
{
  fx_say_as(&D, "say-gus", "gus", "+4915112340007", "Hello Gus, shall we call?");
  assert_true(fx_history_says(&D, "gus", "woken by sms.delivered", 5000));
  assert_int_equal(inbound("+4915112340007", "Yes, call me \\\"today\\\"", "in-gus-1"), 200);
  assert_true(fx_history_says(&D, "gus", "woken by sms.replied", 5000));
  assert_true(fx_history_says(&D, "gus", "Yes, call me \\\"today\\\"", 100)); /* the journey kept data.text */
  assert_int_equal(inbound("+4915112340007", "Yes, call me \\\"today\\\"", "in-gus-1"), 200); /* sent twice */
  h_sleep_ms(500);
  assert_int_equal(history_count("gus", "event sms.replied"), 1);
}

static void test_stop_start_and_help(void **state)
{
  const char *hal = "+4915112340008";
  fx_say_as(&D, "say-hal-1", "hal", hal, "Hello Hal");
  assert_true(fx_history_says(&D, "hal", "woken by sms.delivered", 5000));
  assert_int_equal(inbound(hal, " stop! ", "in-hal-1"), 200);
  assert_true(fx_history_says(&D, "hal", "event sms.unsubscribed", 5000));
  assert_false(fx_history_says(&D, "hal", "event sms.replied", 0)); /* a keyword is no reply */
  cJSON *p = profile_of("hal");
  const cJSON *sup = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "suppressed"), "sms");
  assert_string_equal(str(sup, "address"), hal);
  assert_string_equal(str(sup, "reason"), "unsubscribed");
  cJSON_Delete(p);
  cJSON *got = provider_wait(hal, 2, 5000); /* the journey's text, then one confirmation */
  assert_int_equal(cJSON_GetArraySize(got), 2);
  assert_non_null(strstr(str(cJSON_GetArrayItem(got, 1), "text"), "You are unsubscribed"));
  cJSON_Delete(got);
  /* the journey speaks again: the core refuses it */
  fx_say_as(&D, "say-hal-2", "hal", hal, "Hello again Hal");
  assert_true(fx_history_says(&D, "hal", "refused sms/say", 5000));
  got = provider_wait(hal, 3, 500);
  assert_int_equal(cJSON_GetArraySize(got), 2);
  cJSON_Delete(got);
  /* START lifts it, confirmed once; HELP is answered */
  assert_int_equal(inbound(hal, "Start", "in-hal-2"), 200);
  assert_true(fx_history_says(&D, "hal", "event sms.resubscribed", 5000));
  p = profile_of("hal");
  assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "suppressed"), "sms"));
  cJSON_Delete(p);
  assert_int_equal(inbound(hal, "HELP", "in-hal-3"), 200);
  got = provider_wait(hal, 4, 5000);
  assert_int_equal(cJSON_GetArraySize(got), 4);
  assert_non_null(strstr(str(cJSON_GetArrayItem(got, 2), "text"), "subscribed again"));
  assert_string_equal(str(cJSON_GetArrayItem(got, 3), "text"), "Reply STOP to unsubscribe, START to subscribe again.");
  cJSON_Delete(got);
  fx_say_as(&D, "say-hal-3", "hal", hal, "Welcome back Hal");
  got = provider_wait(hal, 5, 5000);
  assert_int_equal(cJSON_GetArraySize(got), 5);
  assert_string_equal(str(cJSON_GetArrayItem(got, 4), "text"), "Welcome back Hal");
  cJSON_Delete(got);
}

static void test_unknown_numbers(void **state)
{
  assert_int_equal(inbound("+4915199999999", "who is this?", "in-x-1"), 200);
  cJSON *got = provider_wait("+4915199999999", 1, 500);
  assert_int_equal(cJSON_GetArraySize(got), 0);
  cJSON_Delete(got);
  long status;
  cJSON_Delete(h_get_contact(&D, "+4915199999999", &status));
  assert_int_equal(status, 404);
  /* a STOP from a number no contact has is still confirmed */
  assert_int_equal(inbound("+4915199999998", "STOP", "in-x-2"), 200);
  got = provider_wait("+4915199999998", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(got), 1);
  assert_non_null(strstr(str(cJSON_GetArrayItem(got, 0), "text"), "You are unsubscribed"));
  cJSON_Delete(got);
}

/* The journey's memory in the contact's first conversation. */
static cJSON *memory_of(const char *contact)
{
  cJSON *cv = h_first_conv(&D, contact);
  cJSON *m = cJSON_DetachItemFromObject(cv, "memory");
  cJSON_Delete(cv);
  return m;
}

static void say_max(const char *id, const char *contact, const char *phone, const char *text, int max)
{
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"say\",\"contact\":\"%s\",\"profile\":{\"phone\":\"%s\"},"
           "\"data\":{\"text\":\"%s\",\"max_segments\":%d}}",
           id, contact, phone, text, max);
  cJSON_Delete(h_post(&D, json, 200));
}

static void test_speak_measures_and_refuses_long_texts(void **state)
{
  char text[400];
  memset(text, 'a', 300);
  text[300] = '\0';
  fx_say(&D, "ivy", "+4915112340009", "Hello Ivy ð"); /* UCS-2, one segment */
  assert_true(fx_history_says(&D, "ivy", "delivered sms/say", 5000));
  cJSON *m = memory_of("ivy");
  assert_int_equal((int)cJSON_GetObjectItem(m, "segments")->valuedouble, 1);
  assert_string_equal(str(m, "encoding"), "UCS-2");
  cJSON_Delete(m);
  /* 300 septets are two segments: more than the journey allows */
  say_max("say-jon", "jon", "+4915112340010", text, 1);
  assert_true(
      fx_history_says(&D, "jon", "the text needs 2 segments (300 characters in GSM-7), more than the 1 allowed", 5000));
  m = memory_of("jon");
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(m, "spoke")));
  assert_non_null(strstr(str(m, "refusal"), "more than the 1 allowed"));
  cJSON_Delete(m);
  cJSON *got = provider_wait("+4915112340010", 1, 500);
  assert_int_equal(cJSON_GetArraySize(got), 0); /* nothing was sent, not even a part */
  cJSON_Delete(got);
  /* within the journey's own limit it goes, whole */
  say_max("say-kim", "kim", "+4915112340011", text, 2);
  got = provider_wait("+4915112340011", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(got), 1);
  assert_string_equal(str(cJSON_GetArrayItem(got, 0), "text"), text);
  cJSON_Delete(got);
  m = memory_of("kim");
  assert_int_equal((int)cJSON_GetObjectItem(m, "segments")->valuedouble, 2);
  assert_string_equal(str(m, "encoding"), "GSM-7");
  cJSON_Delete(m);
}

/* Numbers and texts stay out of the daemon's log (the plugin logs neither; a WARN says
 * what happened without them). */
static void test_no_number_or_text_in_the_log(void **state)
{
  FILE *f = fopen(D.log, "r");
  assert_non_null(f);
  static char line[1 << 16];
  int lines = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    if (strstr(line, "+49151123400") || strstr(line, "4915112340") || strstr(line, "call me") ||
        strstr(line, "Hello Ann") || strstr(line, INBOUND_SECRET) || strstr(line, API_KEY))
      fail_msg("the log shows a number, a text or a secret: %s", line);
  }
  fclose(f);
  assert_true(lines > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_reaches_the_provider_and_its_receipt_comes_back),
      cmocka_unit_test(test_undelivered_receipt_is_sms_failed),
      cmocka_unit_test(test_garbage_and_busy_answers_are_retried_into_one_text),
      cmocka_unit_test(test_refused_text_is_dead_lettered_with_the_providers_words),
      cmocka_unit_test(test_forged_receipts_are_refused),
      cmocka_unit_test(test_forged_inbound_webhooks_are_refused),
      cmocka_unit_test(test_a_reply_wakes_the_journey_once),
      cmocka_unit_test(test_stop_start_and_help),
      cmocka_unit_test(test_unknown_numbers),
      cmocka_unit_test(test_speak_measures_and_refuses_long_texts),
      cmocka_unit_test(test_no_number_or_text_in_the_log),
  };
  return cmocka_run_group_tests(tests, start_all, stop_all);
}

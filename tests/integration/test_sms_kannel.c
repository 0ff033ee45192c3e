/* The shipped sms channel (plugins/sms), Kannel dialect, in the real daemon against a real
 * Kannel (bearerbox and smsbox on loopback, the test as the SMS centre: kannel.h). A
 * journey speaks; what reached the SMS centre is checked (number, sender, text, coding:
 * GSM-7 with extension characters, UCS-2, a long text in parts); Kannel's delivery
 * reports come back through the signed dlr-url and wake the journey (sms.delivered); a
 * number Kannel cannot route is dead-lettered as blocked; Kannel stopped mid-run, the
 * text is retried and delivered once it is back, once. Forged reports and replies are
 * refused, malformed ones answered 400, authentic ones about a number the contact no
 * longer has or a contact that is no more answered 200 and not recorded (reports signed
 * here with the plugin's own token code under the test's secret). Replies from phones
 * through Kannel's sms-service: sms.replied (GSM and UCS-2); STOP suppresses the number
 * and is confirmed by exactly one text, the journey's next text refused; START and HELP
 * answered; a reply from an unknown number creates nothing, a STOP from one is still
 * confirmed. One Kannel and one daemon for the whole file. */
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

#include <sodium.h>

#include "fixture.h"
#include "harness.h"
#include "kannel.h"
#include "sms.h"

#define SHOP "+4930123456"
#define SECRET "an-inbound-secret-for-kannel"
#define PASSWORD "kannel-test-password"

static struct daemon D;
static struct kannel K;

static int start_all(void **state)
{
  char extra[2048], secret[200], password[200], mo[512], public_url[64], sendsms[256];
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0)
    return -1;
  h_init(&D);
  snprintf(D.journeys, sizeof D.journeys, "%s", PARLEY_SRCDIR "/tests/integration/sms_journeys");
  snprintf(public_url, sizeof public_url, "http://127.0.0.1:%d", D.port);
  kannel_mo_url(mo, sizeof mo, public_url, "sms", SECRET);
  struct kannel_opts o = {.mo_url = mo, .password = PASSWORD};
  if (kannel_start(&K, &o) < 0)
    return -1;
  snprintf(secret, sizeof secret, "%s/inbound.secret", D.dir);
  snprintf(password, sizeof password, "%s/kannel.password", D.dir);
  if (fx_write_file(secret, SECRET) < 0 || fx_write_file(password, PASSWORD) < 0)
    return -1;
  snprintf(extra, sizeof extra,
           "  delivery = { max_attempts = 30, retry_base = '200ms', retry_max = '500ms' },\n"
           "  channels = { sms = { plugin = 'sms', dialect = 'kannel', url = '%s',\n"
           "                       username = '%s', password = { file = '%s' }, from = '%s',\n"
           "                       public_url = '%s/', inbound_secret = { file = '%s' },\n"
           "                       timeout = '2s', max_segments = 4 } },",
           kannel_sendsms_url(&K, sendsms, sizeof sendsms), K.username, password, SHOP, public_url, secret);
  h_write_config(&D, extra);
  return h_start(&D);
}

static int stop_all(void **state)
{
  int rc = h_teardown(&D);
  kannel_free(&K);
  return rc;
}

static void test_gsm_text_reaches_the_smsc_and_its_report_comes_back(void **state)
{
  struct kannel_mt mt;
  fx_say(&D, "ann", "+4915100000101", "Hello Ann, 10 {EUR} = 10 €, see [you] ~soon~");
  assert_int_equal(kannel_wait_mt(&K, 5000, &mt), 0);
  assert_string_equal(mt.to, "+4915100000101");
  assert_string_equal(mt.from, SHOP);
  assert_int_equal(mt.coding, 0);
  assert_string_equal(mt.text, "Hello Ann, 10 {EUR} = 10 €, see [you] ~soon~");
  assert_int_equal(mt.nparts, 1);
  assert_true(fx_history_says(&D, "ann", "delivered sms/say", 5000));
  assert_true(fx_history_says(&D, "ann", "woken by sms.delivered", 5000)); /* Kannel's DLR 1 */
  assert_true(fx_history_says(&D, "ann", ":delivered", 100));
}

static void test_unicode_goes_as_ucs2(void **state)
{
  struct kannel_mt mt;
  fx_say(&D, "bob", "+4915100000102", "Привет, Bob 😀 ça va?");
  assert_int_equal(kannel_wait_mt(&K, 5000, &mt), 0);
  assert_string_equal(mt.to, "+4915100000102");
  assert_int_equal(mt.coding, 2);
  assert_string_equal(mt.text, "Привет, Bob 😀 ça va?");
  assert_true(fx_history_says(&D, "bob", "woken by sms.delivered", 5000));
}

static void test_long_text_goes_in_parts(void **state)
{
  struct kannel_mt mt;
  char text[400];
  memset(text, 'a', 300);
  memcpy(text, "Long one: ", 10);
  text[300] = '\0';
  fx_say(&D, "cem", "+4915100000103", text);
  assert_int_equal(kannel_wait_mt(&K, 5000, &mt), 0);
  assert_int_equal(mt.coding, 0);
  assert_int_equal(mt.nparts, 2); /* 300 septets: 153 + 147 */
  assert_string_equal(mt.text, text);
  assert_true(fx_history_says(&D, "cem", "woken by sms.delivered", 5000));
}

static void test_unroutable_number_is_dead_lettered_as_blocked(void **state)
{
  fx_say(&D, "dan", KANNEL_REFUSED_PREFIX "15100000104", "Hello Dan");
  assert_true(fx_history_says(&D, "dan", ": blocked", 5000));
  assert_true(fx_history_says(&D, "dan", "woken by sms.failed", 5000));
  assert_true(kannel_quiet(&K, 300));
}

static void test_kannel_down_then_back_delivers_once(void **state)
{
  struct kannel_mt mt;
  assert_int_equal(kannel_stop(&K), 0);
  fx_say(&D, "eve", "+4915100000105", "Hello Eve, sent while Kannel was down");
  h_sleep_ms(1500); /* a few attempts refused */
  assert_false(fx_history_says(&D, "eve", "delivered sms/say", 0));
  assert_int_equal(kannel_resume(&K), 0);
  assert_int_equal(kannel_wait_mt(&K, 10000, &mt), 0);
  assert_string_equal(mt.to, "+4915100000105");
  assert_string_equal(mt.text, "Hello Eve, sent while Kannel was down");
  assert_true(fx_history_says(&D, "eve", "delivered sms/say", 5000));
  assert_true(kannel_quiet(&K, 1500)); /* once */
}

static void test_forged_reports_and_replies_are_refused(void **state)
{
  char path[256];
  assert_int_equal(h_http(&D, "GET", "/v1/channels/sms/kannel/dlr?r=bm9wZQ&t=abc&status=1", NULL, NULL, NULL), 401);
  assert_int_equal(h_http(&D, "GET", "/v1/channels/sms/kannel/dlr?status=2", NULL, NULL, NULL), 401);
  snprintf(path, sizeof path, "/v1/channels/sms/kannel/mo?secret=wrong&from=%%2B4915100000101&text=STOP");
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 401);
  assert_int_equal(h_http(&D, "GET", "/v1/channels/sms/kannel/mo?from=%2B4915100000101&text=STOP", NULL, NULL, NULL),
                   401);
  snprintf(path, sizeof path, "/v1/channels/sms/kannel/mo?secret=%s&text=hi", SECRET);
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 400); /* no sender */
  h_sleep_ms(300);
  assert_false(fx_history_says(&D, "ann", "event sms.unsubscribed", 0));
  assert_true(kannel_quiet(&K, 300)); /* no confirmation for a forged STOP */
}

/* A report URL as the channel writes it, for `m`, `c`, `n`, then `tail`. */
static void signed_dlr(char *out, size_t cap, const char *m, const char *c, const char *n, const char *tail)
{
  unsigned char key[32];
  char raw[256], b64[400], tok[SMS_TOKEN_SIZE];
  int len = snprintf(raw, sizeof raw, "%s\n%s\n%s", m, c, n);
  sms_token_key(SECRET, key);
  assert_int_equal(sms_token_make(key, m, c, n, tok), 0);
  sodium_bin2base64(b64, sizeof b64, (const unsigned char *)raw, (size_t)len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  snprintf(out, cap, "/v1/channels/sms/kannel/dlr?r=%s&t=%s%s", b64, tok, tail);
}

static void test_malformed_reports(void **state)
{
  char path[512];
  signed_dlr(path, sizeof path, "no-such-message", "ann", "+4915100000101", "&status=abc&answer=x");
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 400);
  signed_dlr(path, sizeof path, "no-such-message", "ann", "+4915100000101", "");
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 400);
  signed_dlr(path, sizeof path, "no-such-message", "ann", "+4915100000101", "&status=8&answer=ACK%2F");
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 200); /* intermediate: noted only */
  signed_dlr(path, sizeof path, "no-such-message", "ann", "+4915100000101", "&status=1");
  path[strlen(path) - 12] ^= 1; /* one bit of the token */
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 401);
  /* authentic, but about a number the contact no longer has, or a contact that is no
   * more: logged and answered 200 (the gateway stops), nothing recorded or created */
  signed_dlr(path, sizeof path, "old-message", "ann", "+4915100000999", "&status=1");
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 200);
  signed_dlr(path, sizeof path, "old-message", "ghost", "+4915100000998", "&status=2");
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, NULL), 200);
  h_sleep_ms(300);
  assert_false(fx_history_says(&D, "ann", "no-such-message", 0));
  assert_false(fx_history_says(&D, "ann", "old-message", 0));
  long status;
  cJSON_Delete(h_get_contact(&D, "ghost", &status));
  assert_int_equal(status, 404);
}

/* The next text that reached the SMS centre is `text` to `to`. */
static void next_mt_is(const char *to, const char *text)
{
  struct kannel_mt mt;
  assert_int_equal(kannel_wait_mt(&K, 5000, &mt), 0);
  assert_string_equal(mt.to, to);
  assert_string_equal(mt.from, SHOP);
  assert_string_equal(mt.text, text);
}

static void test_replies_and_keywords_through_kannel(void **state)
{
  const char *fay = "+4915100000106";
  fx_say(&D, "fay", fay, "Hello Fay, shall we call?");
  next_mt_is(fay, "Hello Fay, shall we call?");
  assert_true(fx_history_says(&D, "fay", "woken by sms.delivered", 5000));
  /* a reply, GSM and UCS-2 */
  assert_int_equal(kannel_send_mo(&K, fay, SHOP, "Sounds good"), 0);
  assert_true(fx_history_says(&D, "fay", "woken by sms.replied", 5000));
  assert_true(fx_history_says(&D, "fay", "Sounds good", 100));
  assert_int_equal(kannel_send_mo(&K, fay, SHOP, "Да, спасибо 😀"), 0);
  assert_true(fx_history_says(&D, "fay", "Да, спасибо 😀", 5000));
  assert_true(kannel_quiet(&K, 300)); /* a reply is not answered */
  /* STOP: suppressed at once, one confirmation; the journey's next text refused */
  assert_int_equal(kannel_send_mo(&K, fay, SHOP, "Stop."), 0);
  next_mt_is(fay, "You are unsubscribed and will get no more texts from us. Reply START to subscribe again.");
  assert_true(fx_history_says(&D, "fay", "event sms.unsubscribed", 5000));
  fx_say_as(&D, "say-fay-2", "fay", fay, "Hello again Fay");
  assert_true(fx_history_says(&D, "fay", "refused sms/say", 5000));
  assert_true(kannel_quiet(&K, 1000));
  /* START and HELP */
  assert_int_equal(kannel_send_mo(&K, fay, SHOP, "start"), 0);
  next_mt_is(fay, "You are subscribed again. Reply STOP to unsubscribe.");
  assert_true(fx_history_says(&D, "fay", "event sms.resubscribed", 5000));
  assert_int_equal(kannel_send_mo(&K, fay, SHOP, " HELP "), 0);
  next_mt_is(fay, "Reply STOP to unsubscribe, START to subscribe again.");
  fx_say_as(&D, "say-fay-3", "fay", fay, "Welcome back Fay");
  next_mt_is(fay, "Welcome back Fay");
  assert_true(kannel_quiet(&K, 300));
}

static void test_replies_from_unknown_numbers_through_kannel(void **state)
{
  long status;
  assert_int_equal(kannel_send_mo(&K, "+4915100000199", SHOP, "who is this?"), 0);
  assert_true(kannel_quiet(&K, 1000)); /* nothing answered, nothing created */
  cJSON_Delete(h_get_contact(&D, "+4915100000199", &status));
  assert_int_equal(status, 404);
  assert_int_equal(kannel_send_mo(&K, "+4915100000198", SHOP, "STOP"), 0);
  next_mt_is("+4915100000198", "You are unsubscribed and will get no more texts from us. Reply START to subscribe again.");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gsm_text_reaches_the_smsc_and_its_report_comes_back),
      cmocka_unit_test(test_unicode_goes_as_ucs2),
      cmocka_unit_test(test_long_text_goes_in_parts),
      cmocka_unit_test(test_unroutable_number_is_dead_lettered_as_blocked),
      cmocka_unit_test(test_kannel_down_then_back_delivers_once),
      cmocka_unit_test(test_forged_reports_and_replies_are_refused),
      cmocka_unit_test(test_malformed_reports),
      cmocka_unit_test(test_replies_and_keywords_through_kannel),
      cmocka_unit_test(test_replies_from_unknown_numbers_through_kannel),
  };
  return cmocka_run_group_tests(tests, start_all, stop_all);
}

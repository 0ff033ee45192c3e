/* The shipped cart_abandonment journey end to end, through real servers on loopback: the
 * email channel against an SMTP server (tests/smtp_sink.py), the sms channel (dialect
 * kannel) against Kannel's bearerbox and smsbox with the test as the SMS centre
 * (kannel.h). A cart left behind gets its reminder email; with no click (nudge_after is
 * two seconds here) one text reaches the SMS centre; the phone answers STOP: the contact's
 * history shows sms.unsubscribed, the conversation is done, and exactly one confirmation
 * text goes back. A number Kannel cannot route makes the text fail, and the journey falls
 * back to its last email. Kannel stopped when the text is due: the channel retries, and the
 * text arrives once when Kannel is back. One SMTP server, one Kannel and one daemon for the
 * file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"
#include "kannel.h"

#define SHOP "+4915100000001"
#define INBOUND_SECRET "an-inbound-secret-for-the-cart-test"
#define STOP_REPLY "You are unsubscribed and will get no more texts from us. Reply START to subscribe again."

static struct daemon D;
static struct kannel K;
static struct fx_server S; /* tests/smtp_sink.py */

static int message_to(const cJSON *o, const void *arg)
{
  const cJSON *ev = cJSON_GetObjectItem(o, "event"), *tos = cJSON_GetObjectItem(o, "rcpt_tos");
  const cJSON *subject = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "headers"), "Subject");
  const cJSON *to = cJSON_GetArrayItem(tos, 0);
  return cJSON_IsString(ev) && strcmp(ev->valuestring, "message") == 0 && cJSON_IsString(to) &&
         strcmp(to->valuestring, arg) == 0 && cJSON_IsString(subject);
}

/* The subjects of the messages the sink took for `rcpt`, waiting up to `ms` for `n`. */
static cJSON *subjects_for(const char *rcpt, int n, long ms)
{
  cJSON *lines = fx_lines_wait(S.log, message_to, rcpt, n, ms), *out = cJSON_CreateArray(), *o;
  cJSON_ArrayForEach(o, lines)
  {
    const cJSON *subject = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "headers"), "Subject");
    cJSON_AddItemToArray(out, cJSON_CreateString(subject->valuestring));
  }
  cJSON_Delete(lines);
  return out;
}

/* The channels of both servers; the nudge comes two seconds after the reminder. */
static void write_config(const char *key_file, const char *secret_file, const char *password_file)
{
  char extra[3072], sendsms[128];
  snprintf(extra, sizeof extra,
           "  delivery = { max_attempts = 40, retry_base = '100ms', retry_max = '500ms' },\n"
           "  channels = {\n"
           "    email = { plugin = 'email', url = 'smtp://127.0.0.1:%d', from = 'Shop <hello@shop.example>',\n"
           "              bounce_domain = 'bounces.shop.example', public_url = 'http://127.0.0.1:%d/',\n"
           "              signing_key = { file = '%s' }, bounce_secret = { file = '%s.bounce' }, timeout = '2s' },\n"
           "    sms = { plugin = 'sms', dialect = 'kannel', url = '%s', username = 'parley',\n"
           "            password = { file = '%s' }, from = '%s', public_url = 'http://127.0.0.1:%d',\n"
           "            inbound_secret = { file = '%s' }, timeout = '2s' } },\n"
           "  journey_params = { cart_abandonment = { nudge_after = '2s', reply_within = '1h' } },",
           S.port, D.port, key_file, key_file, kannel_sendsms_url(&K, sendsms, sizeof sendsms), password_file, SHOP,
           D.port, secret_file);
  h_write_config(&D, extra);
}

static int start_all(void **state)
{
  char key[200], bounce[220], secret[200], password[200], mo[512], public_url[64];
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  h_init(&D);
  snprintf(S.log, sizeof S.log, "%s/smtp.jsonl", D.dir);
  snprintf(key, sizeof key, "%s/email.key", D.dir);
  snprintf(bounce, sizeof bounce, "%s.bounce", key);
  snprintf(secret, sizeof secret, "%s/sms.secret", D.dir);
  snprintf(password, sizeof password, "%s/kannel.password", D.dir);
  if (fx_server_start(&S, "smtp_sink.py", "0") < 0 ||
      fx_write_file(key, "an-email-signing-key-of-forty-or-more-bytes-0123") < 0 ||
      fx_write_file(bounce, "a-bounce-secret-for-tests") < 0 || fx_write_file(secret, INBOUND_SECRET) < 0 ||
      fx_write_file(password, "kannel-test-password") < 0)
    return -1;
  snprintf(public_url, sizeof public_url, "http://127.0.0.1:%d", D.port);
  kannel_mo_url(mo, sizeof mo, public_url, "sms", INBOUND_SECRET);
  struct kannel_opts o = {.mo_url = mo, .username = "parley", .password = "kannel-test-password"};
  if (kannel_start(&K, &o) < 0)
    return -1;
  write_config(key, secret, password);
  return h_start(&D);
}

static int stop_all(void **state)
{
  int rc = h_teardown(&D);
  kannel_free(&K);
  if (S.pid > 0) {
    kill(S.pid, SIGTERM);
    waitpid(S.pid, NULL, 0);
  }
  return rc;
}

static void cart_for(const char *contact, const char *phone)
{
  char ev[512];
  snprintf(ev, sizeof ev,
           "{\"id\":\"cart-%s\",\"type\":\"cart.updated\",\"contact\":\"%s\",\"profile\":{\"email\":"
           "\"%s@example.com\",\"phone\":\"%s\"},\"data\":{\"items\":[{\"name\":\"Teapot\",\"price\":30},"
           "{\"name\":\"Cups\",\"price\":12}]}}",
           contact, contact, contact, phone);
  cJSON_Delete(h_post(&D, ev, 200));
}

static void reminder_email_arrives(const char *rcpt)
{
  cJSON *subjects = subjects_for(rcpt, 1, 8000);
  assert_int_equal(cJSON_GetArraySize(subjects), 1);
  assert_string_equal(cJSON_GetArrayItem(subjects, 0)->valuestring, "You left 2 items in your cart");
  cJSON_Delete(subjects);
}

static void email_then_sms_then_stop(void **state)
{
  const char *phone = "+4915100000002";
  struct kannel_mt mt;
  cart_for("cy", phone);
  reminder_email_arrives("cy@example.com");
  /* no click: the text after nudge_after, one GSM segment */
  assert_int_equal(kannel_wait_mt(&K, 10000, &mt), 0);
  assert_string_equal(mt.from, SHOP);
  assert_string_equal(mt.to, phone);
  assert_int_equal(mt.coding, 0);
  assert_int_equal(mt.nparts, 1);
  assert_true(strncmp(mt.text, "Your cart (2 item(s)) is still waiting for you at the shop. Reply STOP to opt out",
                      strlen("Your cart (2 item(s)) is still waiting for you at the shop. Reply STOP to opt out")) ==
              0);
  assert_true(fx_history_says(&D, "cy", "event sms.delivered", 8000)); /* the fake SMSC's report, through the dlr-url */
  /* the phone answers STOP */
  assert_int_equal(kannel_send_mo(&K, phone, SHOP, "STOP"), 0);
  assert_true(fx_history_says(&D, "cy", "event sms.unsubscribed", 8000));
  cJSON *cv = h_first_conv(&D, "cy");
  assert_string_equal(cJSON_GetObjectItem(cv, "journey")->valuestring, "cart_abandonment");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "done");
  cJSON_Delete(cv);
  /* exactly one confirmation, sent by the channel itself */
  assert_int_equal(kannel_wait_mt(&K, 8000, &mt), 0);
  assert_string_equal(mt.to, phone);
  assert_string_equal(mt.text, STOP_REPLY);
  assert_true(kannel_quiet(&K, 1500));
  /* and the journey says nothing more, on either channel */
  cJSON *subjects = subjects_for("cy@example.com", 2, 500);
  assert_int_equal(cJSON_GetArraySize(subjects), 1);
  cJSON_Delete(subjects);
}

static void unroutable_number_falls_back_to_email(void **state)
{
  cart_for("di", KANNEL_REFUSED_PREFIX "1234567");
  reminder_email_arrives("di@example.com");
  /* Kannel refuses the text (403 Not routable): sms.failed, then the last email */
  assert_true(fx_history_says(&D, "di", "event sms.failed", 10000));
  cJSON *subjects = subjects_for("di@example.com", 2, 8000);
  assert_int_equal(cJSON_GetArraySize(subjects), 2);
  assert_string_equal(cJSON_GetArrayItem(subjects, 1)->valuestring, "Last chance: your cart is about to expire");
  cJSON_Delete(subjects);
  cJSON *cv = h_first_conv(&D, "di");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "done");
  cJSON_Delete(cv);
  assert_true(kannel_quiet(&K, 300)); /* nothing reached the SMS centre */
}

static void text_waits_for_kannel_to_come_back(void **state)
{
  const char *phone = "+4915100000005";
  struct kannel_mt mt;
  cart_for("ed", phone);
  reminder_email_arrives("ed@example.com");
  assert_int_equal(kannel_stop(&K), 0);
  assert_true(fx_history_says(&D, "ed", "spoke sms/cart_sms", 8000)); /* due while Kannel is down */
  h_sleep_ms(1000);                                             /* refused a few times */
  assert_false(fx_history_says(&D, "ed", "delivered sms/cart_sms", 0));
  assert_int_equal(kannel_resume(&K), 0);
  assert_int_equal(kannel_wait_mt(&K, 10000, &mt), 0);
  assert_string_equal(mt.to, phone);
  assert_true(strstr(mt.text, "Reply STOP to opt out") != NULL);
  assert_true(fx_history_says(&D, "ed", "delivered sms/cart_sms", 8000));
  assert_true(kannel_quiet(&K, 1500)); /* once */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(email_then_sms_then_stop),
    cmocka_unit_test(unroutable_number_falls_back_to_email),
    cmocka_unit_test(text_waits_for_kannel_to_come_back),
  };
  return cmocka_run_group_tests(tests, start_all, stop_all);
}

/* The sms plugin's parts that need no gateway, built into this test from the plugin's own
 * sources: GSM-7 (the extension table counted as two septets) against UCS-2 (surrogate
 * pairs as two units), the segment boundaries 160/153 and 70/67 with no escape or
 * surrogate pair split across parts, E.164 and sender ids, the STOP/START/HELP keywords,
 * the signed callback tokens and stable event ids, the JSON template and paths, Kannel's
 * sendsms URL and answers, the generic dialect's answers, and Kannel's charsets; and the
 * plugin's check (what c:speak returns) through its descriptor, with a host table of the
 * test's own giving the message's text and the journey's option. The plugin as a whole
 * runs in the daemon in integration/test_sms.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "sms.h"

/* `n` copies of `s`, then `tail`: malloc'd. */
static char *rep(const char *s, size_t n, const char *tail)
{
  size_t l = strlen(s), t = strlen(tail);
  char *out = malloc(l * n + t + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(out + i * l, s, l);
  memcpy(out + l * n, tail, t + 1);
  return out;
}

static struct sms_measure measured(const char *text)
{
  struct sms_measure m;
  assert_int_equal(sms_measure(text, &m), 0);
  return m;
}

static void expect(const char *unit, size_t n, const char *tail, enum sms_encoding enc, size_t units, size_t segs)
{
  char *t = rep(unit, n, tail);
  struct sms_measure m = measured(t);
  assert_int_equal(m.encoding, enc);
  assert_int_equal(m.units, units);
  assert_int_equal(m.segments, segs);
  free(t);
}

static void test_gsm7_boundaries(void **state)
{
  expect("a", 160, "", SMS_GSM7, 160, 1);
  expect("a", 161, "", SMS_GSM7, 161, 2);
  expect("a", 306, "", SMS_GSM7, 306, 2);
  expect("a", 307, "", SMS_GSM7, 307, 3);
  expect("a", 0, "", SMS_GSM7, 0, 0);
  struct sms_measure m = measured("Grüße, Ægir! ¿Qué? Δ@£$¥ èéùìò §");
  assert_int_equal(m.encoding, SMS_GSM7);
  assert_int_equal(m.characters, 32);
}

static void test_gsm7_extension_counts_two(void **state)
{
  expect("€", 80, "", SMS_GSM7, 160, 1);  /* 80 x ESC+e */
  expect("€", 81, "", SMS_GSM7, 162, 2);
  expect("a", 3, "{}[]~\\|^", SMS_GSM7, 3 + 16, 1);
  /* naively 306 septets are two parts; but the euro at 153 would straddle them */
  char *t = rep("a", 152, "€");
  char *u = rep("a", 152, "");
  char *both = malloc(strlen(t) + strlen(u) + 1);
  strcpy(both, t);
  strcat(both, u);
  struct sms_measure m = measured(both);
  assert_int_equal(m.units, 306);
  assert_int_equal(m.segments, 3);
  assert_int_equal(m.characters, 305);
  free(t);
  free(u);
  free(both);
}

static void test_ucs2_boundaries_and_surrogates(void **state)
{
  expect("ж", 70, "", SMS_UCS2, 70, 1);
  expect("ж", 71, "", SMS_UCS2, 71, 2);
  expect("ж", 134, "", SMS_UCS2, 134, 2);
  expect("ж", 135, "", SMS_UCS2, 135, 3);
  expect("a", 159, "ç", SMS_UCS2, 160, 3); /* one character outside GSM-7 makes it all UCS-2 */
  expect("😀", 35, "", SMS_UCS2, 70, 1);   /* beyond the BMP: two units each */
  expect("😀", 36, "", SMS_UCS2, 72, 2);   /* 33 a part: a pair is never split */
  struct sms_measure m = measured("😀");
  assert_int_equal(m.characters, 1);
  assert_int_equal(m.units, 2);
  /* 134 units, two parts naively: the pair at 67 would straddle them */
  char *t = rep("ж", 66, "😀");
  char *u = rep("ж", 66, "");
  char *both = malloc(strlen(t) + strlen(u) + 1);
  strcpy(both, t);
  strcat(both, u);
  m = measured(both);
  assert_int_equal(m.units, 134);
  assert_int_equal(m.segments, 3);
  free(t);
  free(u);
  free(both);
}

static void test_invalid_utf8_refused(void **state)
{
  struct sms_measure m;
  assert_int_equal(sms_measure("caf\xc3", &m), -1);
  assert_int_equal(sms_measure("\xc0\xaf", &m), -1);       /* overlong */
  assert_int_equal(sms_measure("\xed\xa0\x80", &m), -1);   /* a surrogate */
  assert_int_equal(sms_measure("\xf4\x90\x80\x80", &m), -1); /* past U+10FFFF */
  assert_string_equal(sms_encoding_name(SMS_GSM7), "GSM-7");
  assert_string_equal(sms_encoding_name(SMS_UCS2), "UCS-2");
}

static void test_numbers_and_senders(void **state)
{
  assert_true(sms_is_e164("+4915112345678"));
  assert_true(sms_is_e164("+12345678"));
  assert_true(sms_is_e164("+123456789012345"));
  assert_false(sms_is_e164("+1234567"));
  assert_false(sms_is_e164("+1234567890123456"));
  assert_false(sms_is_e164("4915112345678"));
  assert_false(sms_is_e164("+04915112345678"));
  assert_false(sms_is_e164("+49 151 1234567"));
  assert_false(sms_is_e164(NULL));
  assert_true(sms_sender_ok("Shop"));
  assert_true(sms_sender_ok("Shop 24"));
  assert_true(sms_sender_ok("+4915112345678"));
  assert_false(sms_sender_ok("123456"));
  assert_false(sms_sender_ok("TwelveChars1"));
  assert_false(sms_sender_ok("Shop-1"));
  assert_false(sms_sender_ok(""));
}

static void test_keywords(void **state)
{
  const char *stop[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", NULL};
  const char *start[] = {"START", "UNSTOP", NULL};
  const char *help[] = {"HELP", NULL};
  assert_int_equal(sms_keyword_of("STOP", stop, start, help), SMS_KW_STOP);
  assert_int_equal(sms_keyword_of("  stop!  ", stop, start, help), SMS_KW_STOP);
  assert_int_equal(sms_keyword_of("Stop.", stop, start, help), SMS_KW_STOP);
  assert_int_equal(sms_keyword_of("\tQuit\n", stop, start, help), SMS_KW_STOP);
  assert_int_equal(sms_keyword_of("\"StopAll\"", stop, start, help), SMS_KW_STOP);
  assert_int_equal(sms_keyword_of("unsubscribe", stop, start, help), SMS_KW_STOP);
  assert_int_equal(sms_keyword_of("start", stop, start, help), SMS_KW_START);
  assert_int_equal(sms_keyword_of("UnStop", stop, start, help), SMS_KW_START);
  assert_int_equal(sms_keyword_of("help?", stop, start, help), SMS_KW_HELP);
  assert_int_equal(sms_keyword_of("stop please", stop, start, help), SMS_KW_NONE);
  assert_int_equal(sms_keyword_of("stopp", stop, start, help), SMS_KW_NONE);
  assert_int_equal(sms_keyword_of("s top", stop, start, help), SMS_KW_NONE);
  assert_int_equal(sms_keyword_of("!!!", stop, start, help), SMS_KW_NONE);
  assert_int_equal(sms_keyword_of("", stop, start, help), SMS_KW_NONE);
  assert_int_equal(sms_keyword_of("STOP", NULL, start, help), SMS_KW_NONE); /* an emptied list */
}

static void test_callback_tokens(void **state)
{
  unsigned char key[32], other[32];
  char tok[SMS_TOKEN_SIZE];
  sms_token_key("an inbound secret of enough bytes", key);
  sms_token_key("another inbound secret, not ours", other);
  assert_int_equal(sms_token_make(key, "m1", "ann", "+4915112345678", tok), 0);
  assert_int_equal(strlen(tok), 43);
  assert_true(sms_token_ok(key, "m1", "ann", "+4915112345678", tok));
  assert_false(sms_token_ok(key, "m1", "bob", "+4915112345678", tok));
  assert_false(sms_token_ok(key, "m2", "ann", "+4915112345678", tok));
  assert_false(sms_token_ok(key, "m1", "ann", "+4915112345679", tok));
  assert_false(sms_token_ok(other, "m1", "ann", "+4915112345678", tok));
  assert_false(sms_token_ok(key, "m1", "ann", "+4915112345678", "AAAA"));
  assert_false(sms_token_ok(key, "m1", "ann", "+4915112345678", NULL));
  tok[0] = tok[0] == 'A' ? 'B' : 'A';
  assert_false(sms_token_ok(key, "m1", "ann", "+4915112345678", tok));
  assert_true(sms_secret_equal("s3cret-s3cret-s3cret", "s3cret-s3cret-s3cret"));
  assert_false(sms_secret_equal("s3cret-s3cret-s3cret", "s3cret-s3cret-s3creT"));
  assert_false(sms_secret_equal("s3cret-s3cret-s3cret", ""));
}

static void test_event_ids(void **state)
{
  char a[SMS_EVENT_ID_SIZE], b[SMS_EVENT_ID_SIZE], c[SMS_EVENT_ID_SIZE];
  sms_event_id("sms-mo", "id1", "ann", "+49", a);
  sms_event_id("sms-mo", "id1", "ann", "+49", b);
  assert_string_equal(a, b);
  assert_int_equal(strncmp(a, "sms-mo:", 7), 0);
  assert_int_equal(strlen(a), 7 + 32);
  sms_event_id("sms-mo", "id1", "bob", "+49", c);
  assert_string_not_equal(a, c);
  sms_event_id("sms-mo", "a", "bc", NULL, b);
  sms_event_id("sms-mo", "ab", "c", NULL, c);
  assert_string_not_equal(b, c);
}

static void test_json_template_and_paths(void **state)
{
  char why[128], buf[64];
  const char *vars[] = {"to", "+4915112345678", "text", "say \"hi\"\nnow \\ {{to}}", NULL};
  char *out = sms_json_render("{\"to\":\"{{to}}\",\"text\":\"{{text}}\"}", vars, why, sizeof why);
  assert_non_null(out);
  cJSON *doc = cJSON_Parse(out);
  assert_non_null(doc); /* the text's quotes and newline could not break the JSON */
  assert_string_equal(cJSON_GetObjectItem(doc, "text")->valuestring, "say \"hi\"\nnow \\ {{to}}");
  assert_string_equal(sms_json_path(doc, "to", buf, sizeof buf), "+4915112345678");
  cJSON_Delete(doc);
  free(out);
  assert_null(sms_json_render("{\"x\":\"{{nope}}\"}", vars, why, sizeof why));
  assert_non_null(strstr(why, "{{nope}}"));
  assert_null(sms_json_render("{\"x\":\"{{to\"}", vars, why, sizeof why));
  assert_non_null(strstr(why, "unclosed"));
  doc = cJSON_Parse("{\"messages\":[{\"message-id\":\"abc\",\"n\":42}],\"e\":null}");
  assert_string_equal(sms_json_path(doc, "messages.0.message-id", buf, sizeof buf), "abc");
  assert_string_equal(sms_json_path(doc, "messages.0.n", buf, sizeof buf), "42");
  assert_null(sms_json_path(doc, "messages.1.message-id", buf, sizeof buf));
  assert_null(sms_json_path(doc, "messages.x", buf, sizeof buf));
  assert_null(sms_json_path(doc, "e", buf, sizeof buf));
  assert_null(sms_json_path(doc, "", buf, sizeof buf));
  cJSON_Delete(doc);
}

static void test_kannel_answers(void **state)
{
  enum parley_fail_reason r;
  assert_int_equal(sms_kannel_outcome(202, "0: Accepted for delivery", &r), SMS_ACCEPTED);
  assert_int_equal(sms_kannel_outcome(202, "3: Queued for later delivery", &r), SMS_ACCEPTED);
  assert_int_equal(sms_kannel_outcome(200, "<html>gateway</html>", &r), SMS_RETRY); /* not Kannel's words */
  assert_int_equal(sms_kannel_outcome(202, "", &r), SMS_RETRY);
  assert_int_equal(sms_kannel_outcome(403, "Authorization failed for sendsms", &r), SMS_CONFIG);
  assert_int_equal(sms_kannel_outcome(503, "Sending failed.", &r), SMS_RETRY);
  assert_int_equal(sms_kannel_outcome(500, "", &r), SMS_RETRY);
  assert_int_equal(sms_kannel_outcome(400, "Missing receiver number", &r), SMS_FAILED);
  assert_int_equal(r, PARLEY_FAIL_INVALID_ADDRESS);
  assert_int_equal(sms_kannel_outcome(403, "Number(s) has/have been denied by white- and/or black-lists.", &r),
                   SMS_FAILED);
  assert_int_equal(r, PARLEY_FAIL_BLOCKED);
  assert_int_equal(sms_kannel_outcome(400, "Charset or body misformed, rejected", &r), SMS_FAILED);
  assert_int_equal(r, PARLEY_FAIL_REJECTED);
}

static void test_kannel_url(void **state)
{
  struct sms s = {.url = "http://127.0.0.1:13013/cgi-bin/sendsms", .username = "shop", .password = "p&ss word",
                  .from = "+4930123456", .dlr_mask = 31};
  char *u = sms_kannel_url(&s, "+4915112345678", "Grüße & mehr", SMS_GSM7,
                           "http://127.0.0.1:8080/v1/channels/sms/kannel/dlr?r=abc&t=def&status=%d");
  assert_non_null(u);
  assert_non_null(strstr(u, "/cgi-bin/sendsms?username=shop&password=p%26ss%20word&from=%2B4930123456"));
  assert_non_null(strstr(u, "&to=%2B4915112345678&text=Gr%C3%BC%C3%9Fe%20%26%20mehr&charset=UTF-8&coding=0"));
  assert_non_null(strstr(u, "&dlr-mask=31&dlr-url=http%3A%2F%2F127.0.0.1%3A8080%2Fv1%2Fchannels%2Fsms%2Fkannel"
                            "%2Fdlr%3Fr%3Dabc%26t%3Ddef%26status%3D%25d"));
  free(u);
  u = sms_kannel_url(&s, "+4915112345678", "привет", SMS_UCS2, NULL);
  assert_non_null(strstr(u, "&coding=2"));
  assert_null(strstr(u, "dlr-url")); /* a confirmation asks for no receipt */
  free(u);
}

static void test_generic_answers(void **state)
{
  struct sms s = {.id_path = "messages.0.id", .error_path = "error.message"};
  enum parley_fail_reason r;
  char id[64], detail[128];
  const char *ok = "{\"messages\":[{\"id\":\"prov-1\"}]}";
  assert_int_equal(sms_generic_outcome(&s, 201, ok, strlen(ok), id, sizeof id, detail, sizeof detail, &r),
                   SMS_ACCEPTED);
  assert_string_equal(id, "prov-1");
  assert_int_equal(sms_generic_outcome(&s, 200, "<html>", 6, id, sizeof id, detail, sizeof detail, &r), SMS_RETRY);
  assert_string_equal(detail, "HTTP 200 (not JSON)");
  const char *bad = "{\"error\":{\"message\":\"unknown number\"}}";
  assert_int_equal(sms_generic_outcome(&s, 400, bad, strlen(bad), id, sizeof id, detail, sizeof detail, &r),
                   SMS_FAILED);
  assert_string_equal(detail, "HTTP 400: unknown number");
  assert_int_equal(r, PARLEY_FAIL_REJECTED);
  assert_int_equal(sms_generic_outcome(&s, 200, bad, strlen(bad), id, sizeof id, detail, sizeof detail, &r),
                   SMS_FAILED); /* a refusal in a 200 */
  assert_int_equal(sms_generic_outcome(&s, 404, "{}", 2, id, sizeof id, detail, sizeof detail, &r), SMS_FAILED);
  assert_int_equal(r, PARLEY_FAIL_INVALID_ADDRESS);
  assert_int_equal(sms_generic_outcome(&s, 429, "{}", 2, id, sizeof id, detail, sizeof detail, &r), SMS_RETRY);
  assert_int_equal(sms_generic_outcome(&s, 502, "", 0, id, sizeof id, detail, sizeof detail, &r), SMS_RETRY);
  assert_int_equal(sms_generic_outcome(&s, 401, "{}", 2, id, sizeof id, detail, sizeof detail, &r), SMS_CONFIG);
}

static void test_generic_body_and_headers(void **state)
{
  const char *hs[] = {"Authorization: Bearer {{api_key}}", "X-Tenant: shop", NULL};
  struct sms s = {.from = "Shop", .api_key = "k3y", .headers = hs,
                  .body = "{\"to\":\"{{to}}\",\"body\":\"{{text}}\",\"ref\":\"{{message_id}}\",\"cb\":\"{{callback_url}}\"}"};
  char why[128], buf[512];
  struct parley_http_header h[4];
  char *body = sms_generic_body(&s, "+4915112345678", "hi", "m-1", "https://x/cb?r=1&t=2", why, sizeof why);
  assert_string_equal(body, "{\"to\":\"+4915112345678\",\"body\":\"hi\",\"ref\":\"m-1\",\"cb\":\"https://x/cb?r=1&t=2\"}");
  free(body);
  assert_int_equal(sms_generic_headers(&s, h, 4, buf, sizeof buf, why, sizeof why), 2);
  assert_string_equal(h[0].name, "Authorization");
  assert_string_equal(h[0].value, "Bearer k3y");
  assert_string_equal(h[1].name, "X-Tenant");
  assert_string_equal(h[1].value, "shop");
  const char *badh[] = {"no colon here", NULL};
  s.headers = badh;
  assert_int_equal(sms_generic_headers(&s, h, 4, buf, sizeof buf, why, sizeof why), -1);
  assert_non_null(strstr(why, "no colon here"));
}

static void test_query_as_a_form_sends_it(void **state)
{
  char out[64];
  const char *q = "secret=a%2Bb&text=Sounds+good%21&from=%2B4915112345678&nul=a%00b&empty=";
  assert_int_equal(sms_query_param(q, "text", out, sizeof out), 0);
  assert_string_equal(out, "Sounds good!");
  assert_int_equal(sms_query_param(q, "from", out, sizeof out), 0);
  assert_string_equal(out, "+4915112345678");
  assert_int_equal(sms_query_param(q, "secret", out, sizeof out), 0);
  assert_string_equal(out, "a+b");
  assert_int_equal(sms_query_param(q, "empty", out, sizeof out), 0);
  assert_string_equal(out, "");
  assert_int_equal(sms_query_param(q, "nul", out, sizeof out), -1); /* a NUL inside */
  assert_int_equal(sms_query_param(q, "missing", out, sizeof out), -1);
  assert_int_equal(sms_query_param(q, "text", out, 5), -1); /* too long */
  assert_int_equal(sms_query_param(q, "ext", out, sizeof out), -1); /* names match whole */
}

static void test_kannel_charsets(void **state)
{
  char out[64];
  const char utf16[] = {0x04, 0x3f, 0x04, 0x40, 0x00, 0x21}; /* "пр!" in UTF-16BE */
  assert_int_equal(sms_charset_utf8(utf16, sizeof utf16, "UTF-16BE", out, sizeof out), 0);
  assert_string_equal(out, "пр!");
  assert_int_equal(sms_charset_utf8(utf16, sizeof utf16, "UCS-2", out, sizeof out), 0);
  assert_string_equal(out, "пр!");
  assert_int_equal(sms_charset_utf8("caf\xe9", 4, "ISO-8859-1", out, sizeof out), 0);
  assert_string_equal(out, "café");
  assert_int_equal(sms_charset_utf8("plain", 5, "", out, sizeof out), 0);
  assert_string_equal(out, "plain");
  assert_int_equal(sms_charset_utf8("x", 1, "NO-SUCH-CHARSET", out, sizeof out), -1);
  assert_int_equal(sms_charset_utf8(utf16, 5, "UTF-16BE", out, sizeof out), -1); /* half a unit */
}

/* A message as the test's host gives it: its text and the journey's max_segments. */
struct fake_msg {
  const char *text, *max_segments;
};

static const char *fake_part(const parley_msg *msg, const char *part)
{
  return strcmp(part, "text") == 0 ? ((const struct fake_msg *)(const void *)msg)->text : NULL;
}

static const char *fake_option(const parley_msg *msg, const char *key)
{
  return strcmp(key, "max_segments") == 0 ? ((const struct fake_msg *)(const void *)msg)->max_segments : NULL;
}

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);

/* The descriptor's check on `text` with the option `opt` (NULL: none), the channel's
 * limit 3; its status, and what it wrote into info. */
static enum parley_status checked(const char *text, const char *opt, char *info, size_t cap)
{
  static struct parley_host host = {.abi_major = PARLEY_ABI_MAJOR, .abi_minor = PARLEY_ABI_MINOR,
                                    .size = sizeof(struct parley_host), .msg_part = fake_part,
                                    .msg_option = fake_option};
  const struct parley_plugin *p = parley_plugin_entry(&host);
  struct sms s = {.max_segments = 3};
  struct fake_msg m = {text, opt};
  assert_true(PARLEY_PLUGIN_HAS(p, check));
  assert_non_null(p->check);
  info[0] = '\0';
  return p->check(NULL, &s, (const parley_msg *)(const void *)&m, info, cap);
}

static void test_check_measures_or_refuses(void **state)
{
  char info[256];
  assert_int_equal(checked("Hello Ann", NULL, info, sizeof info), PARLEY_OK);
  assert_string_equal(info, "{\"segments\":1,\"encoding\":\"GSM-7\",\"characters\":9}");
  char *t = rep("ж", 134, "");
  assert_int_equal(checked(t, NULL, info, sizeof info), PARLEY_OK);
  assert_string_equal(info, "{\"segments\":2,\"encoding\":\"UCS-2\",\"characters\":134}");
  assert_int_equal(checked(t, "1", info, sizeof info), PARLEY_ERROR); /* the journey's limit wins */
  assert_string_equal(info, "the text needs 2 segments (134 characters in UCS-2), more than the 1 allowed");
  free(t);
  t = rep("a", 459, "");
  assert_int_equal(checked(t, NULL, info, sizeof info), PARLEY_OK); /* 3 x 153 */
  free(t);
  t = rep("a", 460, "");
  assert_int_equal(checked(t, NULL, info, sizeof info), PARLEY_ERROR);
  assert_string_equal(info, "the text needs 4 segments (460 characters in GSM-7), more than the 3 allowed");
  assert_int_equal(checked(t, "4", info, sizeof info), PARLEY_OK);
  assert_string_equal(info, "{\"segments\":4,\"encoding\":\"GSM-7\",\"characters\":460}");
  free(t);
  assert_int_equal(checked("", NULL, info, sizeof info), PARLEY_ERROR);
  assert_string_equal(info, "the text is empty");
  assert_int_equal(checked(NULL, NULL, info, sizeof info), PARLEY_ERROR);
  assert_string_equal(info, "the text is empty");
  assert_int_equal(checked("caf\xc3", NULL, info, sizeof info), PARLEY_ERROR);
  assert_string_equal(info, "the text is not valid UTF-8");
  assert_int_equal(checked("hi", "two", info, sizeof info), PARLEY_ERROR);
  assert_non_null(strstr(info, "max_segments option must be a whole number from 1 to 255, not 'two'"));
  assert_int_equal(checked("hi", "0", info, sizeof info), PARLEY_ERROR);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gsm7_boundaries),
      cmocka_unit_test(test_gsm7_extension_counts_two),
      cmocka_unit_test(test_ucs2_boundaries_and_surrogates),
      cmocka_unit_test(test_invalid_utf8_refused),
      cmocka_unit_test(test_numbers_and_senders),
      cmocka_unit_test(test_keywords),
      cmocka_unit_test(test_callback_tokens),
      cmocka_unit_test(test_event_ids),
      cmocka_unit_test(test_json_template_and_paths),
      cmocka_unit_test(test_kannel_answers),
      cmocka_unit_test(test_kannel_url),
      cmocka_unit_test(test_generic_answers),
      cmocka_unit_test(test_generic_body_and_headers),
      cmocka_unit_test(test_kannel_charsets),
      cmocka_unit_test(test_query_as_a_form_sends_it),
      cmocka_unit_test(test_check_measures_or_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

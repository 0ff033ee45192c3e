/* The email plugin's own parts, built into the test from plugins/email (the plugin links
 * nothing of the core): the message GMime builds (headers encoded, lines under 998
 * octets, both parts, the text taken from the HTML), what refuses a message (no subject,
 * no body) and a From, the signed tokens (round trip; forged, altered, expired, cut
 * short), the bounce address's length, which server URLs are accepted, and how each SMTP
 * answer is classified. */
#define _GNU_SOURCE /* strcasestr */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "email_token.h"

#define KEY ((const unsigned char *)"a-signing-key-for-the-unit-tests-0123456789")
#define KEY_LEN (sizeof "a-signing-key-for-the-unit-tests-0123456789" - 1)
#define NOW_MS INT64_C(1700000000000)

static char *build(const char *subject, const char *text, const char *html, char *why)
{
  struct email_letter l = {.from = "Café Shop <hello@shop.example>", .reply_to = "help@shop.example",
                           .to = "zoe@example.com", .subject = subject, .text = text, .html = html,
                           .message_id = "0123abcd.parley@shop.example",
                           .return_path = "bounces+0123abcd-x@bounces.shop.example",
                           .unsubscribe = "https://p.example/v1/channels/email/u/TOKEN", .date_ms = NOW_MS};
  size_t len = 0;
  char *m = email_mime_build(&l, &len, why, 256);
  if (m)
    assert_int_equal(len, strlen(m));
  return m;
}

static size_t longest_line(const char *m)
{
  size_t best = 0;
  for (const char *p = m; *p;) {
    const char *e = strstr(p, "\r\n");
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n > best)
      best = n;
    p += n + (e ? 2 : 0);
  }
  return best;
}

static void test_message_headers_and_lines(void **state)
{
  char why[256], long_text[5000];
  memset(long_text, 'x', sizeof long_text - 1);
  long_text[sizeof long_text - 1] = '\0';
  memcpy(long_text, "Zoë ", 5);
  char *m = build("Réduction pour vous ✓", long_text, "<p>Hi Zoë</p>", why);
  assert_non_null(m);
  assert_true(longest_line(m) < 998);
  for (const char *p = m; *p; p++) /* every byte 7-bit: encoded words and quoted-printable */
    assert_true((unsigned char)*p < 0x80);
  assert_non_null(strcasestr(m, "Subject: =?utf-8?"));
  assert_non_null(strcasestr(m, "From: =?utf-8?"));
  assert_non_null(strstr(m, "Message-Id: <0123abcd.parley@shop.example>\r\n"));
  assert_non_null(strstr(m, "Return-Path: <bounces+0123abcd-x@bounces.shop.example>\r\n"));
  assert_non_null(strstr(m, "List-Unsubscribe: <https://p.example/v1/channels/email/u/TOKEN>\r\n"));
  assert_non_null(strstr(m, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
  assert_non_null(strstr(m, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
  assert_non_null(strstr(m, "multipart/alternative"));
  assert_non_null(strstr(m, "Content-Transfer-Encoding: quoted-printable"));
  assert_non_null(strstr(m, "Zo=C3=AB")); /* UTF-8 bytes, quoted-printable */
  assert_true(strstr(m, "text/plain") < strstr(m, "text/html")); /* the preferred last */
  free(m);
}

static void test_text_part_from_html(void **state)
{
  char why[256];
  char *m = build("Hi", NULL, "<html><head><style>p{}</style></head><body><p>Hello   <b>Zoë</b></p>"
                              "<ul><li>one</li><li>two</li></ul><a href=\"https://x.example/p\">Pricing</a>"
                              "<script>alert(1)</script></body></html>", why);
  assert_non_null(m);
  free(m);
  char *t = email_text_of_html("<p>Hello   <b>Zoë</b></p><ul><li>one</li><li>two</li></ul>"
                               "<a href=\"https://x.example/p\">Pricing</a><script>alert(1)</script><br>end");
  assert_non_null(t);
  assert_string_equal(t, "Hello Zoë\n\n- one\n- two\n\nPricing (https://x.example/p)\nend\n");
  free(t);
}

static void test_refusals(void **state)
{
  char why[256] = "", *dom = NULL;
  assert_null(build(NULL, "text", NULL, why));
  assert_string_equal(why, "the template has no subject");
  assert_null(build("", "text", NULL, why));
  assert_null(build("Hi", NULL, NULL, why));
  assert_string_equal(why, "the template has neither text nor html");
  char *m = build("Hi", "only text", NULL, why); /* no HTML: one text part */
  assert_non_null(m);
  assert_null(strstr(m, "multipart"));
  free(m);
  assert_int_equal(email_mime_check_mailbox("Shop <hello@shop.example>", &dom, why, sizeof why), 0);
  assert_string_equal(dom, "shop.example");
  free(dom);
  static const char *const bad[] = {"", "hello", "Shop <hello>", "a@b.example, c@d.example", "@shop.example"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (email_mime_check_mailbox(bad[i], &dom, why, sizeof why) == 0)
      fail_msg("'%s' taken as a mailbox", bad[i]);
    assert_null(dom);
    assert_non_null(strstr(why, "is not one mailbox"));
  }
}

static int make(char kind, int64_t expires_ms, char *out)
{
  struct email_token t = {.kind = kind, .message_id = "0123456789abcdef0123456789abcdef", .contact = "zoë-1",
                          .name = kind == 'c' ? "pricing" : NULL,
                          .target = kind == 'c' ? "https://shop.example/p?a=1&b=2" : NULL,
                          .expires_ms = expires_ms};
  return email_token_make(KEY, KEY_LEN, &t, out, EMAIL_TOKEN_MAX);
}

static void test_token_round_trip(void **state)
{
  char tok[EMAIL_TOKEN_MAX];
  struct email_token t;
  int n = make('c', NOW_MS + 60000, tok);
  assert_true(n > 0 && (size_t)n == strlen(tok));
  assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), n);
  assert_int_equal(email_token_read(KEY, KEY_LEN, tok, (size_t)n, NOW_MS, &t), EMAIL_TOKEN_OK);
  assert_int_equal(t.kind, 'c');
  assert_string_equal(t.message_id, "0123456789abcdef0123456789abcdef");
  assert_string_equal(t.contact, "zoë-1");
  assert_string_equal(t.name, "pricing");
  assert_string_equal(t.target, "https://shop.example/p?a=1&b=2");
  assert_int_equal(t.expires_ms, NOW_MS + 60000);
  n = make('u', NOW_MS + 60000, tok);
  assert_true(n > 0 && n < 200); /* an unsubscribe token fits a route's "*" segment easily */
  assert_int_equal(email_token_read(KEY, KEY_LEN, tok, (size_t)n, NOW_MS, &t), EMAIL_TOKEN_OK);
  assert_string_equal(t.name, "");
}

static void test_token_forged_altered_expired(void **state)
{
  char tok[EMAIL_TOKEN_MAX];
  struct email_token t;
  int n = make('u', NOW_MS + 60000, tok);
  /* another key: forged */
  assert_int_equal(email_token_read((const unsigned char *)"another-key", 11, tok, (size_t)n, NOW_MS, &t),
                   EMAIL_TOKEN_FORGED);
  assert_null(t.contact);
  /* every single character altered: never accepted */
  for (int i = 0; i < n; i++) {
    char alt[EMAIL_TOKEN_MAX];
    memcpy(alt, tok, (size_t)n + 1);
    alt[i] = alt[i] == 'A' ? 'B' : 'A';
    enum email_token_rc rc = email_token_read(KEY, KEY_LEN, alt, (size_t)n, NOW_MS, &t);
    if (rc == EMAIL_TOKEN_OK)
      fail_msg("token altered at %d accepted", i);
  }
  /* cut short, empty, not base64url */
  assert_int_equal(email_token_read(KEY, KEY_LEN, tok, (size_t)n - 4, NOW_MS, &t) == EMAIL_TOKEN_OK, 0);
  assert_int_equal(email_token_read(KEY, KEY_LEN, "", 0, NOW_MS, &t), EMAIL_TOKEN_MALFORMED);
  assert_int_equal(email_token_read(KEY, KEY_LEN, "a+b/c=", 6, NOW_MS, &t), EMAIL_TOKEN_MALFORMED);
  /* expired: a second past its time */
  n = make('u', NOW_MS, tok);
  assert_int_equal(email_token_read(KEY, KEY_LEN, tok, (size_t)n, NOW_MS + 999, &t), EMAIL_TOKEN_OK);
  assert_int_equal(email_token_read(KEY, KEY_LEN, tok, (size_t)n, NOW_MS + 1000, &t), EMAIL_TOKEN_EXPIRED);
  assert_null(t.contact);
  /* what cannot be made */
  struct email_token bad = {.kind = 'u', .message_id = "m", .contact = "a\nb", .expires_ms = NOW_MS};
  assert_int_equal(email_token_make(KEY, KEY_LEN, &bad, tok, sizeof tok), -1);
  bad.contact = NULL;
  assert_int_equal(email_token_make(KEY, KEY_LEN, &bad, tok, sizeof tok), -1);
  bad.contact = "c";
  assert_int_equal(email_token_make(KEY, KEY_LEN, &bad, tok, 8), -1); /* no room */
}

static void test_verp_fits_a_local_part(void **state)
{
  char local[96], again[96];
  int n = email_token_verp(KEY, KEY_LEN, "0123456789abcdef0123456789abcdef", local, sizeof local);
  assert_true(n > 8 && n <= 64);
  assert_true(strncmp(local, "bounces+0123456789abcdef0123456789abcdef-", 41) == 0);
  assert_int_equal(email_token_verp(KEY, KEY_LEN, "0123456789abcdef0123456789abcdef", again, sizeof again), n);
  assert_string_equal(local, again); /* the same message, the same address */
  assert_int_equal(email_token_verp(KEY, KEY_LEN, "not hex!", local, sizeof local), -1);
}

/* The recipient sealed into a Message-ID: opens for its message only, with the key only,
 * unaltered only; the same on every attempt; shows neither contact nor address. */
static void test_seal(void **state)
{
  const char *id = "0123456789abcdef0123456789abcdef";
  char sealed[EMAIL_SEAL_MAX], again[EMAIL_SEAL_MAX], buf[EMAIL_SEAL_MAX];
  const char *contact = NULL, *address = NULL;
  int n = email_token_seal(KEY, KEY_LEN, id, "ann", "ann@example.com", sealed, sizeof sealed);
  assert_true(n > 40);
  assert_int_equal((int)strspn(sealed, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), n);
  assert_null(strstr(sealed, "ann"));
  assert_int_equal(email_token_seal(KEY, KEY_LEN, id, "ann", "ann@example.com", again, sizeof again), n);
  assert_string_equal(sealed, again);
  assert_int_equal(email_token_unseal(KEY, KEY_LEN, id, sealed, buf, sizeof buf, &contact, &address), 0);
  assert_string_equal(contact, "ann");
  assert_string_equal(address, "ann@example.com");
  assert_int_equal(email_token_unseal(KEY, KEY_LEN, "0123456789abcdef0123456789abcdee", sealed, buf, sizeof buf,
                                      &contact, &address),
                   -1); /* another message's id */
  assert_int_equal(email_token_unseal(KEY, KEY_LEN - 1, id, sealed, buf, sizeof buf, &contact, &address), -1);
  for (int i = 0; i < n; i++) {
    snprintf(again, sizeof again, "%s", sealed);
    again[i] = again[i] == 'A' ? 'B' : 'A';
    assert_int_equal(email_token_unseal(KEY, KEY_LEN, id, again, buf, sizeof buf, &contact, &address), -1);
  }
  assert_int_equal(email_token_unseal(KEY, KEY_LEN, id, "", buf, sizeof buf, &contact, &address), -1);
  assert_int_equal(email_token_seal(KEY, KEY_LEN, id, "a\nb", "ann@example.com", sealed, sizeof sealed), -1);
  assert_int_equal(email_token_seal(KEY, KEY_LEN, id, "ann", "", sealed, sizeof sealed), -1);
  assert_int_equal(email_token_seal(KEY, KEY_LEN, id, "ann", "ann@example.com", sealed, 16), -1);
}

static void test_urls(void **state)
{
  char why[256];
  int lo;
  assert_int_equal(email_url_check("smtps://mail.example:465", &lo, why, sizeof why), 0);
  assert_false(lo);
  assert_int_equal(email_url_check("smtp://mail.example:587", &lo, why, sizeof why), 0);
  assert_false(lo); /* STARTTLS will be required */
  assert_int_equal(email_url_check("smtp://127.0.0.1:2525", &lo, why, sizeof why), 0);
  assert_true(lo);
  assert_int_equal(email_url_check("smtp://[::1]:2525", &lo, why, sizeof why), 0);
  assert_true(lo);
  assert_int_equal(email_url_check("smtp://localhost.evil.example", &lo, why, sizeof why), 0);
  assert_false(lo);
  assert_int_equal(email_url_check("https://mail.example", &lo, why, sizeof why), -1);
  assert_int_equal(email_url_check("smtp://user:pw@mail.example", &lo, why, sizeof why), -1);
  assert_non_null(strstr(why, "credentials"));
  assert_int_equal(email_url_check("smtp://", &lo, why, sizeof why), -1);
}

static void test_outcomes(void **state)
{
  static const struct {
    int completed;
    long code;
    const char *reply;
    enum email_outcome outcome;
    enum parley_fail_reason reason;
  } cases[] = {
      {1, 250, "250 2.0.0 Ok: queued as 4Xyz", EMAIL_DELIVERED, PARLEY_FAIL_OTHER},
      {0, 550, "550 5.1.1 <a@b>: Recipient address rejected: User unknown", EMAIL_FAILED, PARLEY_FAIL_INVALID_ADDRESS},
      {0, 551, "551 User not local", EMAIL_FAILED, PARLEY_FAIL_INVALID_ADDRESS},
      {0, 553, "553 mailbox name not allowed", EMAIL_FAILED, PARLEY_FAIL_INVALID_ADDRESS},
      {0, 550, "550 No such user here", EMAIL_FAILED, PARLEY_FAIL_INVALID_ADDRESS},
      {0, 554, "554 5.7.1 Message rejected as spam", EMAIL_FAILED, PARLEY_FAIL_REJECTED},
      {0, 550, "550 5.7.1 Service unavailable; client host blocked using zen.spamhaus", EMAIL_FAILED,
       PARLEY_FAIL_REJECTED}, /* "spam" in the list's name: content or sender, refused either way */
      {0, 550, "550 5.7.1 Blocked by policy", EMAIL_FAILED, PARLEY_FAIL_BLOCKED},
      {0, 554, "554 Transaction failed", EMAIL_FAILED, PARLEY_FAIL_REJECTED},
      {0, 552, "552 Message size exceeds fixed limit", EMAIL_FAILED, PARLEY_FAIL_REJECTED},
      {0, 500, "500 Syntax error", EMAIL_FAILED, PARLEY_FAIL_OTHER},
      {0, 451, "451 4.3.0 Try again later", EMAIL_RETRY, PARLEY_FAIL_OTHER},
      {0, 421, "421 Service not available", EMAIL_RETRY, PARLEY_FAIL_OTHER},
      {0, 0, "", EMAIL_RETRY, PARLEY_FAIL_OTHER},       /* refused, timed out, TLS failed */
      {0, 250, "250 OK", EMAIL_RETRY, PARLEY_FAIL_OTHER}, /* cut after RCPT */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    enum parley_fail_reason reason;
    enum email_outcome o = email_smtp_outcome(cases[i].completed, cases[i].code, cases[i].reply, &reason);
    if (o != cases[i].outcome || (o == EMAIL_FAILED && reason != cases[i].reason))
      fail_msg("'%s': outcome %d reason %d, wanted %d %d", cases[i].reply, o, reason, cases[i].outcome,
               cases[i].reason);
  }
  char id[64];
  assert_int_equal(email_smtp_queue_id("250 2.0.0 Ok: queued as 4Xyz12", id, sizeof id), 0);
  assert_string_equal(id, "4Xyz12");
  assert_int_equal(email_smtp_queue_id("250 OK", id, sizeof id), -1);
}

int main(void)
{
  if (sodium_init() < 0)
    return 1;
  g_mime_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_message_headers_and_lines),
      cmocka_unit_test(test_text_part_from_html),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_token_round_trip),
      cmocka_unit_test(test_token_forged_altered_expired),
      cmocka_unit_test(test_verp_fits_a_local_part),
      cmocka_unit_test(test_seal),
      cmocka_unit_test(test_urls),
      cmocka_unit_test(test_outcomes),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  g_mime_shutdown();
  return rc;
}

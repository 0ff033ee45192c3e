/* The email channel's bounce and complaint reader (plugins/email/email_dsn.c), built
 * into this test from the plugin's own source, on the fixtures in unit/dsn/: a Postfix
 * hard bounce with two recipients, an Exim delay warning, a Gmail bounce (CRLF, folded
 * diagnostic), RFC 3464's multi-recipient example extended, ARF complaints as Yahoo and
 * Microsoft send them, a truncated bounce and an auto-reply. Then what a hostile or
 * broken sender can do: every prefix of every fixture, bytes that are not UTF-8, huge
 * lines, too many recipients, deep nesting, the size cap. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "email_dsn.h"

static char *fixture(const char *name, size_t *len)
{
  char path[512];
  snprintf(path, sizeof path, "%s/tests/unit/dsn/%s", PARLEY_SRCDIR, name);
  gchar *text = NULL;
  gsize n = 0;
  if (!g_file_get_contents(path, &text, &n, NULL))
    fail_msg("cannot read %s", path);
  *len = n;
  return text;
}

static enum email_dsn_kind parse_fixture(const char *name, const char *envelope_to, struct email_dsn *d)
{
  size_t len;
  char *raw = fixture(name, &len);
  enum email_dsn_kind k = email_dsn_parse(raw, len, envelope_to, d);
  g_free(raw);
  return k;
}

/* What email_dsn.h promises of every string it hands out. */
static void check_value(const char *what, const char *v)
{
  if (v == NULL)
    return;
  if (!g_utf8_validate(v, -1, NULL))
    fail_msg("%s is not UTF-8", what);
  if (strlen(v) == 0 || strlen(v) > EMAIL_DSN_VALUE_MAX)
    fail_msg("%s is %zu bytes", what, strlen(v));
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      fail_msg("%s holds control character %u", what, *p);
}

/* The invariants of any answer, whatever the input. */
static void check_answer(const struct email_dsn *d, enum email_dsn_kind k)
{
  assert_int_equal(k, d->kind);
  if (k == EMAIL_DSN_NONE)
    assert_true(d->why[0] != '\0');
  else
    assert_string_equal(d->why, "");
  assert_true(memchr(d->why, '\0', sizeof d->why) != NULL);
  const char *strings[] = {d->envelope_to, d->message_id, d->original_mail_from, d->envelope_id,
                           d->reporting_mta, d->feedback_type, d->complainant, d->user_agent};
  for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
    check_value("a key", strings[i]);
  assert_true((d->envelope_to == NULL) == (d->envelope_to_header == NULL));
  assert_true(d->n_rcpt <= EMAIL_DSN_MAX_RECIPIENTS);
  if (k == EMAIL_DSN_DELIVERY)
    assert_true(d->n_rcpt + d->n_ignored > 0);
  for (size_t i = 0; i < d->n_rcpt; i++) {
    const struct email_dsn_rcpt *r = &d->rcpt[i];
    assert_true(r->final_recipient != NULL || r->original_recipient != NULL);
    assert_true(strcmp(r->action, "failed") == 0 || strcmp(r->action, "delayed") == 0);
    if (r->severity == EMAIL_DSN_HARD)
      assert_true(strcmp(r->action, "failed") == 0 && r->status != NULL && r->status[0] == '5');
    check_value("final_recipient", r->final_recipient);
    check_value("original_recipient", r->original_recipient);
    check_value("status", r->status);
    check_value("diagnostic", r->diagnostic);
  }
}

static void assert_why(const struct email_dsn *d, const char *needle)
{
  assert_int_equal(d->kind, EMAIL_DSN_NONE);
  if (strstr(d->why, needle) == NULL)
    fail_msg("why is '%s', not '%s'", d->why, needle);
}

static void test_postfix_hard_bounce(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("postfix_hard.eml", NULL, &d), EMAIL_DSN_DELIVERY);
  check_answer(&d, d.kind);
  assert_string_equal(d.envelope_to, "bounces+m1Yx7QbG0Lw@mail.shop.example");
  assert_string_equal(d.envelope_to_header, "X-Original-To");
  assert_string_equal(d.message_id, "0000018c2a7f.welcome@shop.example");
  assert_string_equal(d.original_mail_from, "bounces+m1Yx7QbG0Lw@mail.shop.example");
  assert_string_equal(d.envelope_id, "msg-0000018c2a7f");
  assert_string_equal(d.reporting_mta, "dns; mail.shop.example");
  assert_int_equal(d.n_rcpt, 2);
  assert_int_equal(d.n_ignored, 0);
  assert_int_equal(d.n_unread, 0);
  assert_string_equal(d.rcpt[0].final_recipient, "ann.lee@example.org");
  assert_string_equal(d.rcpt[0].original_recipient, "Ann.Lee@example.org");
  assert_string_equal(d.rcpt[0].action, "failed");
  assert_string_equal(d.rcpt[0].status, "5.1.1");
  assert_string_equal(d.rcpt[0].diagnostic, "smtp; 550 5.1.1 <ann.lee@example.org>: Recipient address "
                                            "rejected: User unknown in virtual mailbox table");
  assert_int_equal(d.rcpt[0].severity, EMAIL_DSN_HARD);
  assert_string_equal(d.rcpt[1].final_recipient, "bob@example.net");
  assert_string_equal(d.rcpt[1].status, "5.2.2");
  assert_int_equal(d.rcpt[1].severity, EMAIL_DSN_HARD);
  email_dsn_free(&d);
  assert_null(d.rcpt);
  email_dsn_free(&d); /* a zeroed struct is fine */

  /* The envelope recipient the MTA gives wins over the headers. */
  assert_int_equal(parse_fixture("postfix_hard.eml", "<bounces+Given1@mail.shop.example>", &d),
                   EMAIL_DSN_DELIVERY);
  assert_string_equal(d.envelope_to, "bounces+Given1@mail.shop.example");
  assert_string_equal(d.envelope_to_header, "argument");
  email_dsn_free(&d);
}

static void test_exim_delay_is_soft(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("exim_delay.eml", NULL, &d), EMAIL_DSN_DELIVERY);
  check_answer(&d, d.kind);
  assert_string_equal(d.envelope_to, "bounces+Q2t9sLm3@mail.shop.example");
  assert_string_equal(d.envelope_to_header, "Envelope-to");
  assert_string_equal(d.message_id, "0000018c2b11.nudge@shop.example");
  assert_string_equal(d.original_mail_from, "bounces+Q2t9sLm3@mail.shop.example");
  assert_null(d.envelope_id);
  assert_int_equal(d.n_rcpt, 1);
  assert_string_equal(d.rcpt[0].final_recipient, "carol@slow.example");
  assert_null(d.rcpt[0].original_recipient);
  assert_string_equal(d.rcpt[0].action, "delayed");
  assert_string_equal(d.rcpt[0].status, "4.0.0");
  assert_string_equal(d.rcpt[0].diagnostic, "smtp; 451 4.7.1 Greylisted, please try again later");
  assert_int_equal(d.rcpt[0].severity, EMAIL_DSN_SOFT);
  email_dsn_free(&d);
}

static void test_gmail_bounce(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("gmail_bounce.eml", NULL, &d), EMAIL_DSN_DELIVERY);
  check_answer(&d, d.kind);
  assert_string_equal(d.envelope_to, "bounces+Zk4rT8wq@mail.shop.example");
  assert_string_equal(d.envelope_to_header, "Delivered-To");
  assert_string_equal(d.message_id, "0000018c2a80.receipt@shop.example");
  assert_string_equal(d.reporting_mta, "dns; googlemail.com");
  assert_int_equal(d.n_rcpt, 1);
  assert_string_equal(d.rcpt[0].final_recipient, "dan.nobody@gmail.example");
  assert_string_equal(d.rcpt[0].status, "5.1.1");
  assert_int_equal(d.rcpt[0].severity, EMAIL_DSN_HARD);
  /* Four folded lines, one value. */
  assert_non_null(strstr(d.rcpt[0].diagnostic, "does not exist. Please try 550-5.1.1 double-checking"));
  assert_non_null(strstr(d.rcpt[0].diagnostic, "NoSuchUser a640c23a62f3a-7a1b2c3d4e5f.12 - gsmtp"));
  email_dsn_free(&d);
}

/* RFC 3464's example, with a delivered and a refused recipient added: a failure after a
 * temporary error is soft, a delivered recipient is counted, not listed. */
static void test_several_recipients(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("rfc3464_multi.eml", NULL, &d), EMAIL_DSN_DELIVERY);
  check_answer(&d, d.kind);
  assert_string_equal(d.envelope_to, "owner-ups-mib@CS.UTK.EDU");
  assert_string_equal(d.envelope_to_header, "To");
  assert_null(d.message_id); /* the returned message holds no headers */
  assert_int_equal(d.n_rcpt, 3);
  assert_int_equal(d.n_ignored, 1);
  assert_string_equal(d.rcpt[0].final_recipient, "louisl@larry.slip.umd.edu");
  assert_string_equal(d.rcpt[0].status, "4.0.0");
  assert_int_equal(d.rcpt[0].severity, EMAIL_DSN_SOFT);
  assert_string_equal(d.rcpt[1].final_recipient, "pongo@zoo.bronx.ny.us");
  assert_string_equal(d.rcpt[1].status, "4.4.1");
  assert_string_equal(d.rcpt[1].action, "delayed");
  assert_int_equal(d.rcpt[1].severity, EMAIL_DSN_SOFT);
  assert_null(d.rcpt[1].diagnostic);
  assert_string_equal(d.rcpt[2].final_recipient, "hedgehog@garden.example");
  assert_string_equal(d.rcpt[2].status, "5.7.1");
  assert_int_equal(d.rcpt[2].severity, EMAIL_DSN_HARD);
  email_dsn_free(&d);
}

static void test_yahoo_complaint(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("arf_yahoo.eml", NULL, &d), EMAIL_DSN_COMPLAINT);
  check_answer(&d, d.kind);
  assert_string_equal(d.feedback_type, "abuse");
  assert_string_equal(d.user_agent, "Yahoo!-Mail-Feedback/2.0");
  assert_string_equal(d.complainant, "ann.lee@yahoo.example");
  assert_string_equal(d.original_mail_from, "bounces+m1Yx7QbG0Lw@mail.shop.example");
  assert_string_equal(d.message_id, "0000018c2a7f.welcome@shop.example");
  assert_string_equal(d.envelope_to, "fbl@shop.example");
  assert_int_equal(d.n_rcpt, 0);
  email_dsn_free(&d);
}

/* JMRP: no Original-Mail-From, the recipient redacted; the VERP address is read from the
 * returned message's Return-Path. */
static void test_microsoft_complaint(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("arf_microsoft.eml", NULL, &d), EMAIL_DSN_COMPLAINT);
  check_answer(&d, d.kind);
  assert_string_equal(d.feedback_type, "abuse");
  assert_string_equal(d.user_agent, "Hotmail FBL");
  assert_null(d.complainant);
  assert_string_equal(d.original_mail_from, "bounces+Hh2kW9pX@mail.shop.example");
  assert_string_equal(d.message_id, "0000018c2a91.welcome@shop.example");
  assert_string_equal(d.envelope_to_header, "X-Original-To");
  email_dsn_free(&d);
}

/* Cut before the recipient's Action: no report, but what could be read is there. */
static void test_truncated_bounce(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("truncated.eml", NULL, &d), EMAIL_DSN_NONE);
  check_answer(&d, d.kind);
  assert_why(&d, "names no recipient with an Action");
  assert_string_equal(d.envelope_to, "bounces+m1Yx7QbG0Lw@mail.shop.example");
  assert_string_equal(d.reporting_mta, "dns; mail.shop.example");
  assert_null(d.message_id);
  assert_int_equal(d.n_unread, 1);
  email_dsn_free(&d);
}

static void test_auto_reply_is_not_a_report(void **state)
{
  struct email_dsn d;
  assert_int_equal(parse_fixture("not_report.eml", NULL, &d), EMAIL_DSN_NONE);
  check_answer(&d, d.kind);
  assert_why(&d, "Content-Type text/plain, not multipart/report");
  assert_string_equal(d.envelope_to, "bounces+m1Yx7QbG0Lw@mail.shop.example");
  email_dsn_free(&d);
}

/* Every prefix of every fixture: an answer that keeps the promises, never a crash. */
static void test_every_prefix(void **state)
{
  const char *names[] = {"postfix_hard.eml", "exim_delay.eml", "gmail_bounce.eml", "rfc3464_multi.eml",
                         "arf_yahoo.eml", "arf_microsoft.eml", "truncated.eml", "not_report.eml"};
  for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
    size_t len;
    char *raw = fixture(names[f], &len);
    for (size_t n = 0; n <= len; n += 5) {
      struct email_dsn d;
      /* A copy of exactly n bytes, so ASan sees any read past the end. */
      char *cut = g_memdup2(raw, n);
      check_answer(&d, email_dsn_parse(cut, n, NULL, &d));
      email_dsn_free(&d);
      g_free(cut);
    }
    g_free(raw);
  }
}

/* A DSN around one recipient group, with the given extra header and group text. */
static char *dsn_with(const char *headers, const char *groups)
{
  return g_strdup_printf("From: MAILER-DAEMON@mx.example\nTo: bounces+t1@shop.example\n%s"
                         "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
                         "boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nfailed\n\n--b\n"
                         "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n%s\n"
                         "--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <m1@shop.example>\n\n--b--\n",
                         headers, groups);
}

static enum email_dsn_kind parse_text(const char *text, struct email_dsn *d)
{
  enum email_dsn_kind k = email_dsn_parse(text, strlen(text), NULL, d);
  check_answer(d, k);
  return k;
}

static void test_bytes_that_are_not_utf8(void **state)
{
  char *raw = dsn_with("Subject: \xff\xfe r\xe9sum\xe9\n",
                       "Final-Recipient: rfc822; j\xfcrgen@example.de\nAction: failed\nStatus: 5.1.1\n"
                       "Diagnostic-Code: smtp; 550 caf\xe9 \x01\x7f\xc3\x28 gone\n");
  struct email_dsn d;
  assert_int_equal(parse_text(raw, &d), EMAIL_DSN_DELIVERY);
  assert_int_equal(d.n_rcpt, 1);
  assert_non_null(strstr(d.rcpt[0].final_recipient, "rgen@example.de"));
  assert_non_null(strstr(d.rcpt[0].diagnostic, "gone"));
  assert_string_equal(d.message_id, "m1@shop.example");
  email_dsn_free(&d);
  g_free(raw);
}

static void test_huge_lines(void **state)
{
  size_t big = 3u << 20;
  char *x = g_malloc(big + 1);
  memset(x, 'x', big);
  x[big] = '\0';
  char *subject = g_strdup_printf("Subject: %s\n", x);
  char *group = g_strdup_printf("Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.0.0\n"
                                "Diagnostic-Code: smtp; 550 %s\n", x);
  char *raw = dsn_with(subject, group);
  struct email_dsn d;
  assert_int_equal(parse_text(raw, &d), EMAIL_DSN_DELIVERY);
  assert_int_equal(strlen(d.rcpt[0].diagnostic), EMAIL_DSN_VALUE_MAX);
  assert_int_equal(d.rcpt[0].severity, EMAIL_DSN_HARD);
  email_dsn_free(&d);
  g_free(raw);
  g_free(group);
  g_free(subject);
  g_free(x);
}

static void test_size_cap(void **state)
{
  size_t len = EMAIL_DSN_MAX_BYTES + 1;
  char *raw = g_malloc0(len);
  struct email_dsn d;
  assert_int_equal(email_dsn_parse(raw, len, "bounces+t@shop.example", &d), EMAIL_DSN_NONE);
  check_answer(&d, d.kind);
  assert_why(&d, "over the limit of 10485760");
  email_dsn_free(&d);
  g_free(raw);
  assert_int_equal(email_dsn_parse(NULL, 0, NULL, &d), EMAIL_DSN_NONE);
  assert_why(&d, "empty message");
  email_dsn_free(&d);
}

/* A per-recipient group without its fields, one with an Action no RFC knows, and more
 * recipients than are listed. */
static void test_recipient_fields(void **state)
{
  struct email_dsn d;
  char *raw = dsn_with("", "");
  assert_int_equal(parse_text(raw, &d), EMAIL_DSN_NONE);
  assert_why(&d, "names no recipient");
  assert_string_equal(d.reporting_mta, "dns; mx.example");
  assert_string_equal(d.message_id, "m1@shop.example");
  email_dsn_free(&d);
  g_free(raw);

  raw = dsn_with("", "Status: 5.1.1\nDiagnostic-Code: smtp; 550 no\n\nFinal-Recipient: rfc822; a@b.example\n"
                     "Action: bounced\nStatus: 5.1.1\n\nFinal-Recipient: rfc822; c@d.example\nAction: FAILED\n"
                     "Status: 5.1\n");
  assert_int_equal(parse_text(raw, &d), EMAIL_DSN_DELIVERY);
  assert_int_equal(d.n_unread, 2);
  assert_int_equal(d.n_rcpt, 1);
  assert_string_equal(d.rcpt[0].action, "failed");
  assert_null(d.rcpt[0].status); /* not class.subject.detail */
  assert_int_equal(d.rcpt[0].severity, EMAIL_DSN_SOFT);
  email_dsn_free(&d);
  g_free(raw);

  GString *many = g_string_new("");
  for (int i = 0; i < 150; i++)
    g_string_append_printf(many, "Final-Recipient: rfc822; r%d@example.org\nAction: failed\nStatus: 5.1.1\n\n", i);
  raw = dsn_with("", many->str);
  assert_int_equal(parse_text(raw, &d), EMAIL_DSN_DELIVERY);
  assert_int_equal(d.n_rcpt, EMAIL_DSN_MAX_RECIPIENTS);
  assert_int_equal(d.n_unread, 150 - EMAIL_DSN_MAX_RECIPIENTS);
  assert_string_equal(d.rcpt[99].final_recipient, "r99@example.org");
  email_dsn_free(&d);
  g_free(raw);
  g_string_free(many, TRUE);
}

/* A report whose delivery-status part is base64: read decoded. */
static void test_encoded_report_part(void **state)
{
  const char *group = "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; e@example.org\n"
                      "Action: failed\nStatus: 5.1.2\n";
  gchar *b64 = g_base64_encode((const guchar *)group, strlen(group));
  char *raw = g_strdup_printf("To: bounces+t2@shop.example\nContent-Type: multipart/report; "
                              "report-type=delivery-status; boundary=b\n\n--b\nContent-Type: "
                              "message/delivery-status\nContent-Transfer-Encoding: base64\n\n%s\n--b--\n", b64);
  struct email_dsn d;
  assert_int_equal(parse_text(raw, &d), EMAIL_DSN_DELIVERY);
  assert_string_equal(d.rcpt[0].final_recipient, "e@example.org");
  assert_string_equal(d.rcpt[0].status, "5.1.2");
  assert_null(d.message_id);
  email_dsn_free(&d);
  g_free(raw);
  g_free(b64);
}

static void none_for(const char *text, const char *needle)
{
  struct email_dsn d;
  assert_int_equal(parse_text(text, &d), EMAIL_DSN_NONE);
  assert_why(&d, needle);
  email_dsn_free(&d);
}

static void test_what_is_not_a_report(void **state)
{
  none_for("To: a@b.example\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b\n\n"
           "--b\nContent-Type: message/disposition-notification\n\nDisposition: manual-action/MDN-sent-manually; "
           "displayed\n--b--\n",
           "report-type disposition-notification, not delivery-status or feedback-report");
  none_for("To: a@b.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
           "--b\nContent-Type: message/feedback-report\n\nFeedback-Type: auth-failure\nAuth-Failure: dkim\n--b--\n",
           "type auth-failure, not a complaint");
  none_for("To: a@b.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
           "--b\nContent-Type: message/feedback-report\n\nUser-Agent: x\n--b--\n",
           "without a Feedback-Type");
  none_for("To: a@b.example\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
           "--b\nContent-Type: text/plain\n\nspam\n--b--\n",
           "without a message/feedback-report part");
  none_for("To: a@b.example\nContent-Type: multipart/report; report-type=delivery-status\n\nbody\n",
           "without parts");
  none_for("To: a@b.example\nContent-Type: multipart/report; boundary=b\n\n--b\n\nx\n--b--\n",
           "without a report-type");
  none_for("To: a@b.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
           "--b\nContent-Type: text/plain\n\nfailed\n--b--\n",
           "without a message/delivery-status part");
  none_for("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an RFC 5322 message");
  none_for("Content-Type: multipart/report; report-type=\"\x1b[31mred\"; boundary=b\n\n--b\n\nx\n--b--\n",
           "report-type ?[31mred, not");
}

/* 20000 nested multiparts: parsed and freed without recursion trouble; not a report. */
static void test_deep_nesting(void **state)
{
  GString *s = g_string_new("To: bounces+t3@shop.example\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n");
  for (int i = 1; i < 20000; i++)
    g_string_append_printf(s, "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n", i - 1, i);
  struct email_dsn d;
  assert_int_equal(parse_text(s->str, &d), EMAIL_DSN_NONE);
  assert_why(&d, "multipart/mixed, not multipart/report");
  assert_string_equal(d.envelope_to, "bounces+t3@shop.example");
  email_dsn_free(&d);
  g_string_free(s, TRUE);
}

static int setup(void **state)
{
  email_dsn_init();
  return 0;
}

static int teardown(void **state)
{
  email_dsn_shutdown();
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_postfix_hard_bounce),
      cmocka_unit_test(test_exim_delay_is_soft),
      cmocka_unit_test(test_gmail_bounce),
      cmocka_unit_test(test_several_recipients),
      cmocka_unit_test(test_yahoo_complaint),
      cmocka_unit_test(test_microsoft_complaint),
      cmocka_unit_test(test_truncated_bounce),
      cmocka_unit_test(test_auto_reply_is_not_a_report),
      cmocka_unit_test(test_every_prefix),
      cmocka_unit_test(test_bytes_that_are_not_utf8),
      cmocka_unit_test(test_huge_lines),
      cmocka_unit_test(test_size_cap),
      cmocka_unit_test(test_recipient_fields),
      cmocka_unit_test(test_encoded_report_part),
      cmocka_unit_test(test_what_is_not_a_report),
      cmocka_unit_test(test_deep_nesting),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* Bounces and complaints, read (email_dsn.c): what the email channel gets back at its
 * bounce address, as the raw RFC 5322 message an MTA pipes or a provider posts, turned
 * into what it says. Three answers:
 *
 *   - EMAIL_DSN_DELIVERY: a delivery status notification (RFC 3464: multipart/report;
 *     report-type=delivery-status, or RFC 6533's global-delivery-status). One entry per
 *     recipient that failed or is delayed, each hard or soft; recipients reported
 *     delivered, relayed or expanded are counted, not listed.
 *   - EMAIL_DSN_COMPLAINT: a feedback-loop complaint (RFC 5965 ARF: multipart/report;
 *     report-type=feedback-report), as Yahoo, Microsoft (JMRP), AOL ... send them.
 *   - EMAIL_DSN_NONE: anything else (an auto-reply, a plain-text bounce, a read receipt, a
 *     report too broken to say who it is about), with the reason in `why`.
 *
 * MIME is parsed by GMime 3; only the report's own fields are read here. Nothing is
 * verified: the VERP token in `envelope_to` is the plugin's to check. */
#ifndef PARLEY_EMAIL_DSN_H
#define PARLEY_EMAIL_DSN_H
#include <stddef.h>

/* A message longer than this is not parsed at all (answer EMAIL_DSN_NONE). Bounces carry
 * at most the original message; providers cap those well below. */
#define EMAIL_DSN_MAX_BYTES (10u * 1024 * 1024)
/* Recipients listed from one report; the groups past it are counted in n_unread. */
#define EMAIL_DSN_MAX_RECIPIENTS 100
/* Bytes kept of one field's value (RFC 5322's line limit); longer ones are cut at a
 * character boundary. */
#define EMAIL_DSN_VALUE_MAX 998

enum email_dsn_kind { EMAIL_DSN_NONE, EMAIL_DSN_DELIVERY, EMAIL_DSN_COMPLAINT };

/* Hard: the address will not work (suppress it). Soft: it may later (retry, count). */
enum email_dsn_severity { EMAIL_DSN_SOFT, EMAIL_DSN_HARD };

/* One failed or delayed recipient of a delivery status notification. Strings are valid
 * UTF-8 without control characters (folding undone), NULL when the field is absent. */
struct email_dsn_rcpt {
  char *final_recipient;    /* Final-Recipient's address: "rfc822;" and <> taken off */
  char *original_recipient; /* Original-Recipient's address, likewise */
  char *action;             /* "failed" or "delayed", lower case */
  char *status;             /* "5.1.1": NULL when absent or not class.subject.detail */
  char *diagnostic;         /* Diagnostic-Code as written: "smtp; 550 5.1.1 ..." */
  /* HARD only for Action failed with a 5.x.x Status; everything else is SOFT (delayed,
   * 4.x.x, a failure given up on after a temporary error, no readable Status): an
   * address is suppressed on evidence only. */
  enum email_dsn_severity severity;
};

/* What one message is. Every string is owned by the struct (email_dsn_free), valid
 * UTF-8 without control characters, at most EMAIL_DSN_VALUE_MAX bytes, NULL when absent.
 * The correlation keys are read whatever the kind, as far as the message gives them. */
struct email_dsn {
  enum email_dsn_kind kind;
  char why[256]; /* EMAIL_DSN_NONE: why it is not a report we read; "" otherwise */

  /* The address the report was delivered to: the VERP address bounces+<token>@domain.
   * Taken, in this order, from the `envelope_to` argument, the report's X-Original-To
   * (Postfix: the recipient before aliases), its last Delivered-To (the first one
   * added, nearest to the envelope), its Envelope-to (Exim), its To. A value that is no
   * address is passed over. envelope_to_header names which one ("argument",
   * "X-Original-To", "Delivered-To", "Envelope-to", "To"; a static string). */
  char *envelope_to;
  const char *envelope_to_header;
  /* The original message's Message-ID, without <>, from the report's
   * text/rfc822-headers or message/rfc822 part. */
  char *message_id;
  /* The original message's envelope sender (its VERP address when complaints go to a
   * fixed feedback address): ARF's Original-Mail-From, else the Return-Path of the
   * original's headers. */
  char *original_mail_from;
  char *envelope_id;   /* DSN: Original-Envelope-Id (the ENVID given at sending) */
  char *reporting_mta; /* Reporting-MTA, "dns; mx.example.org" */

  /* EMAIL_DSN_DELIVERY: rcpt[0..n_rcpt), in report order. */
  struct email_dsn_rcpt *rcpt;
  size_t n_rcpt;
  size_t n_ignored; /* recipients delivered, relayed or expanded */
  size_t n_unread;  /* groups without a recipient or Action, or past the cap */

  /* EMAIL_DSN_COMPLAINT. */
  char *feedback_type; /* "abuse", "fraud", "virus", "other", lower case */
  char *complainant;   /* Original-Rcpt-To, else the original's To (often redacted) */
  char *user_agent;    /* the feedback loop's User-Agent: "Yahoo!-Mail-Feedback/2.0" */
};

/* Call once before the first parse (the plugin's init), and email_dsn_shutdown once
 * when done (its exit): they start and stop GMime, which counts the calls, so other
 * users of GMime in the process are not disturbed. */
void email_dsn_init(void);
void email_dsn_shutdown(void);

/* Reads raw[0..len): the whole message, headers and body, as received. envelope_to: the
 * envelope recipient when the caller knows it (an MTA's pipe gives it, e.g. Postfix's
 * ${original_recipient}), or NULL to take it from the headers. Fills *out (which the
 * caller frees with email_dsn_free, whatever the answer) and returns out->kind. Never
 * fails otherwise: bad, truncated or hostile input is EMAIL_DSN_NONE with a reason, or
 * a report with what could be read. Any thread, one call per struct at a time; nothing
 * is kept between calls. */
enum email_dsn_kind email_dsn_parse(const char *raw, size_t len, const char *envelope_to,
                                    struct email_dsn *out);
/* Frees what *d holds and zeroes it; NULL or a zeroed struct is fine. */
void email_dsn_free(struct email_dsn *d);

#endif

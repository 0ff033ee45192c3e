/* libFuzzer target: the email channel's bounce and complaint reader
 * (plugins/email/email_dsn.c) on whatever arrives at the bounce address. Every answer
 * keeps email_dsn.h's promises: a reason when it is no report, every value valid UTF-8
 * without control characters and within EMAIL_DSN_VALUE_MAX, at most
 * EMAIL_DSN_MAX_RECIPIENTS recipients each failed or delayed, hard only on a 5.x.x. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "email_dsn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  email_dsn_init();
  return 0;
}

static void check(const char *v)
{
  if (v == NULL)
    return;
  size_t n = strlen(v);
  if (n == 0 || n > EMAIL_DSN_VALUE_MAX || !g_utf8_validate(v, -1, NULL))
    abort();
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct email_dsn d;
  enum email_dsn_kind k = email_dsn_parse((const char *)data, size, NULL, &d);
  if (k != d.kind || (k == EMAIL_DSN_NONE) != (d.why[0] != '\0'))
    abort();
  if (d.n_rcpt > EMAIL_DSN_MAX_RECIPIENTS || (k == EMAIL_DSN_DELIVERY && d.n_rcpt + d.n_ignored == 0))
    abort();
  const char *keys[] = {d.envelope_to, d.message_id, d.original_mail_from, d.envelope_id,
                        d.reporting_mta, d.feedback_type, d.complainant, d.user_agent};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    check(keys[i]);
  for (size_t i = 0; i < d.n_rcpt; i++) {
    const struct email_dsn_rcpt *r = &d.rcpt[i];
    int failed = strcmp(r->action, "failed") == 0;
    if (!failed && strcmp(r->action, "delayed") != 0)
      abort();
    if (r->final_recipient == NULL && r->original_recipient == NULL)
      abort();
    if (r->severity == EMAIL_DSN_HARD && !(failed && r->status && r->status[0] == '5'))
      abort();
    check(r->final_recipient);
    check(r->original_recipient);
    check(r->status);
    check(r->diagnostic);
  }
  email_dsn_free(&d);
  return 0;
}

/* Bounces and complaints, read (see email_dsn.h). GMime parses the message and every
 * block of fields; this file only finds the report's parts, reads the fields RFC 3464
 * and RFC 5965 define, and makes each value safe to log and store (valid UTF-8, no
 * control characters, bounded). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>

#include "email_dsn.h"

void email_dsn_init(void)
{
  g_mime_init();
}

void email_dsn_shutdown(void)
{
  g_mime_shutdown();
}

static enum email_dsn_kind not_report(struct email_dsn *d, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static enum email_dsn_kind not_report(struct email_dsn *d, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->why, sizeof d->why, fmt, ap);
  va_end(ap);
  d->kind = EMAIL_DSN_NONE;
  return d->kind;
}

/* A value as the struct keeps it, or NULL when nothing is left: invalid UTF-8 replaced,
 * control characters and runs of white space (what folding leaves) made one space, cut
 * at a character boundary within EMAIL_DSN_VALUE_MAX. Newly allocated (g_free). */
static char *clean(const char *v)
{
  if (v == NULL)
    return NULL;
  char *u = g_utf8_make_valid(v, -1);
  GString *out = g_string_sized_new(64);
  int space = 0;
  for (const char *p = u; *p != '\0'; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || g_unichar_isspace(c)) {
      space = out->len > 0;
      continue;
    }
    size_t n = (size_t)(g_utf8_next_char(p) - p);
    if (out->len + (size_t)space + n > EMAIL_DSN_VALUE_MAX)
      break;
    if (space)
      g_string_append_c(out, ' ');
    space = 0;
    g_string_append_len(out, p, (gssize)n);
  }
  g_free(u);
  if (out->len == 0) {
    g_string_free(out, TRUE);
    return NULL;
  }
  return g_string_free(out, FALSE);
}

/* "<a@b>" as "a@b"; an empty result ("<>", the null sender) as NULL. Takes a. */
static char *strip_angles(char *a)
{
  size_t n = a ? strlen(a) : 0;
  if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
    memmove(a, a + 1, n - 2);
    a[n - 2] = '\0';
    n -= 2;
  }
  if (a != NULL && n == 0) {
    g_free(a);
    return NULL;
  }
  return a;
}

/* The first mailbox of an address header (To, Delivered-To, Return-Path ...), or the
 * value itself, cleaned, when GMime finds none but it has an @; NULL for what is no
 * address ("<>", "[recipient address removed]", "undisclosed-recipients:;"). Only the
 * value's start is parsed: a To of a million addresses costs no more than one. */
static char *mailbox(const char *value)
{
  if (value == NULL)
    return NULL;
  char *v = g_strndup(value, 2 * EMAIL_DSN_VALUE_MAX), *r = NULL;
  InternetAddressList *l = internet_address_list_parse(NULL, v);
  for (int i = 0; l != NULL && r == NULL && i < internet_address_list_length(l); i++) {
    InternetAddress *ia = internet_address_list_get_address(l, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia))
      r = clean(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
  }
  if (l != NULL)
    g_object_unref(l);
  if (r == NULL && (r = strip_angles(clean(v))) != NULL && strchr(r, '@') == NULL) {
    g_free(r);
    r = NULL;
  }
  g_free(v);
  return r;
}

/* A DSN address field, "rfc822; a@b" (RFC 3464 2.3.2): the address without its type. */
static char *typed_address(const char *v)
{
  const char *semi = v ? strchr(v, ';') : NULL;
  return strip_angles(clean(semi ? semi + 1 : v));
}

/* The first word of a value, lower case: "Failed (bad)" as "failed". */
static char *keyword(const char *v)
{
  char *c = clean(v);
  if (c == NULL)
    return NULL;
  c[strcspn(c, " (;")] = '\0';
  char *lower = c[0] != '\0' ? g_ascii_strdown(c, -1) : NULL;
  g_free(c);
  return lower;
}

/* 1 when s is digits only, 1 to 3 of them. */
static int status_part(const char *s, size_t n)
{
  if (n < 1 || n > 3)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isdigit(s[i]))
      return 0;
  return 1;
}

/* A Status field's code (RFC 3463: class.subject.detail, class 2, 4 or 5), or NULL;
 * a comment after the code ("5.1.1 (bad mailbox)") is dropped. */
static char *status_code(const char *v)
{
  char *c = keyword(v);
  const char *dot1 = c ? strchr(c, '.') : NULL;
  const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  if (dot2 != NULL && (c[0] == '2' || c[0] == '4' || c[0] == '5') && dot1 == c + 1 &&
      status_part(dot1 + 1, (size_t)(dot2 - dot1 - 1)) && status_part(dot2 + 1, strlen(dot2 + 1)))
    return c;
  g_free(c);
  return NULL;
}

/* Up to 64 printable ASCII characters of v, for a reason: enough to recognise it,
 * nothing a log could be fooled by. */
static const char *shown(const char *v, char buf[65])
{
  size_t n = 0;
  for (; v != NULL && *v != '\0' && n < 64; v++)
    buf[n++] = (*v >= 0x20 && *v < 0x7f) ? *v : '?';
  buf[n] = '\0';
  return buf;
}

/* The decoded content of a leaf part (base64 or quoted-printable undone), or NULL. */
static GByteArray *part_bytes(GMimeObject *o)
{
  GMimeDataWrapper *w = GMIME_IS_PART(o) ? g_mime_part_get_content(GMIME_PART(o)) : NULL;
  if (w == NULL)
    return NULL;
  GByteArray *b = g_byte_array_new();
  GMimeStream *m = g_mime_stream_mem_new_with_byte_array(b);
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(m), FALSE);
  g_mime_data_wrapper_write_to_stream(w, m);
  g_object_unref(m);
  return b;
}

/* A block of "Name: value" fields parsed by GMime (unfolded, encoded words decoded),
 * read with g_mime_object_get_header. Never NULL. */
static GMimeObject *fields_parse(const guint8 *p, size_t n)
{
  GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)p, n);
  GMimeParser *ps = g_mime_parser_new_with_stream(s);
  GMimeObject *o = g_mime_parser_construct_part(ps, NULL);
  g_object_unref(ps);
  g_object_unref(s);
  return o ? o : GMIME_OBJECT(g_mime_part_new());
}

static const char *field(GMimeObject *o, const char *name)
{
  return g_mime_object_get_header(o, name);
}

/* The first child of the report whose type is one of types[] ("message/rfc822"), or
 * NULL. Only the report's own parts are looked at, never deeper. */
static GMimeObject *report_part(GMimeMultipart *mp, const char *const *types)
{
  int n = g_mime_multipart_get_count(mp);
  for (int i = 0; i < n; i++) {
    GMimeObject *c = g_mime_multipart_get_part(mp, i);
    GMimeContentType *ct = g_mime_object_get_content_type(c);
    for (const char *const *t = types; ct != NULL && *t != NULL; t++) {
      const char *slash = strchr(*t, '/');
      char *type = g_strndup(*t, (gsize)(slash - *t));
      int is = g_mime_content_type_is_type(ct, type, slash + 1);
      g_free(type);
      if (is)
        return c;
    }
  }
  return NULL;
}

/* The original message's headers as the report carries them (a whole message/rfc822,
 * or text/rfc822-headers), with a reference the caller drops; NULL when absent. */
static GMimeObject *original_headers(GMimeMultipart *mp)
{
  static const char *const types[] = {"message/rfc822", "message/global", "text/rfc822-headers",
                                      "message/global-headers", NULL};
  GMimeObject *o = report_part(mp, types);
  if (o != NULL && GMIME_IS_MESSAGE_PART(o)) {
    GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
    return m ? g_object_ref(GMIME_OBJECT(m)) : NULL;
  }
  GByteArray *b = o ? part_bytes(o) : NULL;
  if (b == NULL)
    return NULL;
  GMimeObject *h = fields_parse(b->data, b->len);
  g_byte_array_unref(b);
  return h;
}

/* Message-ID and Return-Path of the original. */
static void original_keys(GMimeObject *h, struct email_dsn *d)
{
  const char *mid = field(h, "Message-ID");
  if (mid != NULL) {
    char *id = g_mime_utils_decode_message_id(mid);
    d->message_id = id ? clean(id) : strip_angles(clean(mid));
    g_free(id);
  }
  d->original_mail_from = mailbox(field(h, "Return-Path"));
}

/* Where the report came to: the argument, else X-Original-To, the last Delivered-To,
 * Envelope-to, To (email_dsn.h says why in that order). */
static void envelope(GMimeObject *msg, const char *given, struct email_dsn *d)
{
  if ((d->envelope_to = mailbox(given)) != NULL) {
    d->envelope_to_header = "argument";
    return;
  }
  if ((d->envelope_to = mailbox(field(msg, "X-Original-To"))) != NULL) {
    d->envelope_to_header = "X-Original-To";
    return;
  }
  GMimeHeaderList *hl = g_mime_object_get_header_list(msg);
  const char *delivered = NULL;
  for (int i = 0; hl != NULL && i < g_mime_header_list_get_count(hl); i++) {
    GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
    if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Delivered-To") == 0)
      delivered = g_mime_header_get_value(h);
  }
  if ((d->envelope_to = mailbox(delivered)) != NULL) {
    d->envelope_to_header = "Delivered-To";
    return;
  }
  static const char *const later[] = {"Envelope-to", "To", NULL};
  for (const char *const *h = later; *h != NULL; h++)
    if ((d->envelope_to = mailbox(field(msg, *h))) != NULL) {
      d->envelope_to_header = *h;
      return;
    }
}

/* One per-recipient group of a delivery-status part (RFC 3464 2.3). */
static void recipient_group(GMimeObject *g, struct email_dsn *d)
{
  char *final = typed_address(field(g, "Final-Recipient"));
  char *original = typed_address(field(g, "Original-Recipient"));
  char *action = keyword(field(g, "Action"));
  int failed = action && strcmp(action, "failed") == 0;
  if (action && (strcmp(action, "delivered") == 0 || strcmp(action, "relayed") == 0 ||
                 strcmp(action, "expanded") == 0) && (final || original)) {
    d->n_ignored++;
  } else if (!failed && !(action && strcmp(action, "delayed") == 0)) {
    d->n_unread++; /* no Action, or none RFC 3464 knows */
  } else if ((final == NULL && original == NULL) || d->n_rcpt == EMAIL_DSN_MAX_RECIPIENTS) {
    d->n_unread++;
  } else {
    struct email_dsn_rcpt *r = &d->rcpt[d->n_rcpt++];
    r->final_recipient = final;
    r->original_recipient = original;
    r->action = action;
    r->status = status_code(field(g, "Status"));
    r->diagnostic = clean(field(g, "Diagnostic-Code"));
    r->severity = failed && r->status && r->status[0] == '5' ? EMAIL_DSN_HARD : EMAIL_DSN_SOFT;
    return;
  }
  g_free(final);
  g_free(original);
  g_free(action);
}

/* Length of the group of fields at p[0..n), up to its blank line (RFC 3464 2.1: groups
 * are separated by blank lines); *skip is where the next one starts. */
static size_t group_len(const guint8 *p, size_t n, size_t *skip)
{
  size_t line = 0;
  while (line < n) {
    const guint8 *nl = memchr(p + line, '\n', n - line);
    size_t end = nl ? (size_t)(nl - p) : n, k = line;
    while (k < end && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
      k++;
    if (k == end) {
      *skip = end < n ? end + 1 : n;
      return line;
    }
    line = end < n ? end + 1 : n;
  }
  *skip = n;
  return n;
}

/* The groups of a delivery-status part: the per-message one first (Reporting-MTA,
 * Original-Envelope-Id), then one per recipient. A first group that names a recipient
 * is read as one (some MTAs leave the per-message group out). At most 1 +
 * EMAIL_DSN_MAX_RECIPIENTS groups are parsed; the rest are only counted. */
static void delivery_groups(const guint8 *p, size_t n, struct email_dsn *d)
{
  size_t parsed = 0, skip;
  while (n > 0) {
    size_t len = group_len(p, n, &skip);
    if (len > 0 && parsed > EMAIL_DSN_MAX_RECIPIENTS) {
      d->n_unread++;
    } else if (len > 0) {
      GMimeObject *g = fields_parse(p, len);
      int names_rcpt = field(g, "Final-Recipient") || field(g, "Original-Recipient") || field(g, "Action");
      if (parsed++ == 0) {
        d->envelope_id = clean(field(g, "Original-Envelope-Id"));
        d->reporting_mta = clean(field(g, "Reporting-MTA"));
      }
      if (parsed > 1 || names_rcpt)
        recipient_group(g, d);
      g_object_unref(g);
    }
    p += skip;
    n -= skip;
  }
}

static enum email_dsn_kind delivery(GMimeMultipart *mp, struct email_dsn *d)
{
  static const char *const types[] = {"message/delivery-status", "message/global-delivery-status",
                                      NULL};
  GMimeObject *o = report_part(mp, types);
  GByteArray *b = o ? part_bytes(o) : NULL;
  if (b == NULL)
    return not_report(d, "multipart/report (delivery-status) without a message/delivery-status part");
  d->rcpt = g_new0(struct email_dsn_rcpt, EMAIL_DSN_MAX_RECIPIENTS);
  delivery_groups(b->data, b->len, d);
  g_byte_array_unref(b);
  if (d->n_rcpt == 0 && d->n_ignored == 0)
    return not_report(d, "delivery-status part names no recipient with an Action "
                         "(Final-Recipient or Original-Recipient, and Action)");
  d->kind = EMAIL_DSN_DELIVERY;
  return d->kind;
}

/* An ARF report (RFC 5965 3.1): a complaint unless its type says it is none. */
static enum email_dsn_kind feedback(GMimeMultipart *mp, GMimeObject *orig, struct email_dsn *d)
{
  static const char *const types[] = {"message/feedback-report", NULL};
  GMimeObject *o = report_part(mp, types);
  GByteArray *b = o ? part_bytes(o) : NULL;
  if (b == NULL)
    return not_report(d, "multipart/report (feedback-report) without a message/feedback-report part");
  GMimeObject *f = fields_parse(b->data, b->len);
  g_byte_array_unref(b);
  char *from = mailbox(field(f, "Original-Mail-From"));
  if (from != NULL) {
    g_free(d->original_mail_from);
    d->original_mail_from = from;
  }
  d->feedback_type = keyword(field(f, "Feedback-Type"));
  d->user_agent = clean(field(f, "User-Agent"));
  d->reporting_mta = clean(field(f, "Reporting-MTA"));
  d->complainant = mailbox(field(f, "Original-Rcpt-To"));
  if (d->complainant == NULL && orig != NULL)
    d->complainant = mailbox(field(orig, "To"));
  g_object_unref(f);
  char buf[65];
  if (d->feedback_type == NULL)
    return not_report(d, "feedback report without a Feedback-Type");
  if (strcmp(d->feedback_type, "auth-failure") == 0 || strcmp(d->feedback_type, "not-spam") == 0)
    return not_report(d, "feedback report of type %s, not a complaint", shown(d->feedback_type, buf));
  d->kind = EMAIL_DSN_COMPLAINT;
  return d->kind;
}

/* The top-level part must be the report (RFC 3464 and RFC 5965 say so); its
 * report-type says which. */
static enum email_dsn_kind report(GMimeMessage *m, struct email_dsn *d)
{
  char buf[65];
  GMimeObject *top = g_mime_message_get_mime_part(m);
  GMimeContentType *ct = top ? g_mime_object_get_content_type(top) : NULL;
  if (ct == NULL)
    return not_report(d, "message without a body");
  if (!g_mime_content_type_is_type(ct, "multipart", "report")) {
    char *t = g_mime_content_type_get_mime_type(ct);
    not_report(d, "Content-Type %s, not multipart/report", shown(t, buf));
    g_free(t);
    return d->kind;
  }
  const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
  if (rt == NULL)
    return not_report(d, "multipart/report without a report-type");
  if (!GMIME_IS_MULTIPART(top) || g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 0)
    return not_report(d, "multipart/report without parts (no boundary, or a wrong one)");
  GMimeMultipart *mp = GMIME_MULTIPART(top);
  GMimeObject *orig = original_headers(mp);
  if (orig != NULL)
    original_keys(orig, d);
  if (g_ascii_strcasecmp(rt, "delivery-status") == 0 || g_ascii_strcasecmp(rt, "global-delivery-status") == 0)
    delivery(mp, d);
  else if (g_ascii_strcasecmp(rt, "feedback-report") == 0)
    feedback(mp, orig, d);
  else
    not_report(d, "multipart/report of report-type %s, not delivery-status or feedback-report",
               shown(rt, buf));
  if (orig != NULL)
    g_object_unref(orig);
  return d->kind;
}

enum email_dsn_kind email_dsn_parse(const char *raw, size_t len, const char *envelope_to,
                                    struct email_dsn *out)
{
  memset(out, 0, sizeof *out);
  if (raw == NULL || len == 0)
    return not_report(out, "empty message");
  if (len > EMAIL_DSN_MAX_BYTES)
    return not_report(out, "message of %zu bytes, over the limit of %u", len, EMAIL_DSN_MAX_BYTES);
  GMimeStream *s = g_mime_stream_mem_new_with_buffer(raw, len);
  GMimeParser *ps = g_mime_parser_new_with_stream(s);
  GMimeMessage *m = g_mime_parser_construct_message(ps, NULL);
  g_object_unref(ps);
  g_object_unref(s);
  if (m == NULL) {
    out->envelope_to = mailbox(envelope_to);
    out->envelope_to_header = out->envelope_to ? "argument" : NULL;
    return not_report(out, "not an RFC 5322 message (no header block)");
  }
  envelope(GMIME_OBJECT(m), envelope_to, out);
  report(m, out);
  g_object_unref(m);
  return out->kind;
}

void email_dsn_free(struct email_dsn *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n_rcpt; i++) {
    struct email_dsn_rcpt *r = &d->rcpt[i];
    g_free(r->final_recipient);
    g_free(r->original_recipient);
    g_free(r->action);
    g_free(r->status);
    g_free(r->diagnostic);
  }
  g_free(d->rcpt);
  g_free(d->envelope_to);
  g_free(d->message_id);
  g_free(d->original_mail_from);
  g_free(d->envelope_id);
  g_free(d->reporting_mta);
  g_free(d->feedback_type);
  g_free(d->complainant);
  g_free(d->user_agent);
  memset(d, 0, sizeof *d);
}

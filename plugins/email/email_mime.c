/* The message, built with GMime 3 rather than by hand: multipart/alternative with a
 * text and an HTML part (the text taken from the HTML when the template has none), UTF-8
 * bodies in quoted-printable (so no line passes 76 octets, far under SMTP's 998), RFC
 * 2047 encoded words in the Subject and display names, and the headers a receiving
 * system expects: Date, Message-ID, From, To, Reply-To, Return-Path, and RFC 8058's
 * List-Unsubscribe and List-Unsubscribe-Post. Lines end in CRLF, as on the wire. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "email.h"

int email_mime_check_mailbox(const char *text, char **domain, char *why, size_t len)
{
  *domain = NULL;
  InternetAddressList *list = text ? internet_address_list_parse(NULL, text) : NULL;
  InternetAddress *a = list && internet_address_list_length(list) == 1 ? internet_address_list_get_address(list, 0)
                                                                        : NULL;
  const char *addr = a && INTERNET_ADDRESS_IS_MAILBOX(a) ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))
                                                         : NULL;
  const char *at = addr ? strrchr(addr, '@') : NULL;
  int ok = at && at != addr && at[1] != '\0' && strchr(at + 1, '.') != NULL;
  if (ok)
    *domain = strdup(at + 1);
  else
    snprintf(why, len, "'%s' is not one mailbox such as \"Shop <hello@shop.example>\"", text ? text : "");
  if (list)
    g_object_unref(list);
  return ok && *domain ? 0 : -1;
}

/* The body's UTF-8 bytes as they are (g_mime_text_part_set_text would pick a charset of
 * its own, latin-1 for "Zoë"), labelled utf-8, in quoted-printable. */
static GMimeTextPart *text_part(const char *subtype, const char *body)
{
  GMimeTextPart *p = g_mime_text_part_new_with_subtype(subtype);
  GMimeStream *st = g_mime_stream_mem_new_with_buffer(body, strlen(body));
  GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content(GMIME_PART(p), w);
  g_object_unref(w);
  g_object_unref(st);
  g_mime_text_part_set_charset(p, "utf-8");
  g_mime_part_set_content_encoding(GMIME_PART(p), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return p;
}

/* The body: both parts when there is HTML, the text alone when there is not. */
static GMimeObject *body_of(const struct email_letter *l, char *why, size_t why_len)
{
  char *derived = NULL;
  const char *text = l->text;
  if (text == NULL && l->html && (text = derived = email_text_of_html(l->html)) == NULL) {
    snprintf(why, why_len, "out of memory");
    return NULL;
  }
  GMimeTextPart *plain = text_part("plain", text ? text : "");
  free(derived);
  if (l->html == NULL)
    return GMIME_OBJECT(plain);
  GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
  GMimeTextPart *html = text_part("html", l->html);
  g_mime_multipart_add(alt, GMIME_OBJECT(plain)); /* the least preferred first */
  g_mime_multipart_add(alt, GMIME_OBJECT(html));
  g_object_unref(plain);
  g_object_unref(html);
  return GMIME_OBJECT(alt);
}

/* The mailboxes of `text` added to `to`, their names to be encoded in UTF-8 (GMime
 * would pick latin-1 for "Café" by itself). */
static void add_mailboxes(InternetAddressList *to, const char *text)
{
  InternetAddressList *list = text ? internet_address_list_parse(NULL, text) : NULL;
  if (list == NULL)
    return;
  for (int i = 0; i < internet_address_list_length(list); i++)
    internet_address_set_charset(internet_address_list_get_address(list, i), "utf-8");
  internet_address_list_append(to, list);
  g_object_unref(list);
}

static void headers_of(GMimeMessage *m, const struct email_letter *l)
{
  add_mailboxes(g_mime_message_get_from(m), l->from);
  add_mailboxes(g_mime_message_get_reply_to(m), l->reply_to);
  g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, NULL, l->to);
  g_mime_message_set_subject(m, l->subject, "utf-8");
  GDateTime *date = g_date_time_new_from_unix_utc(l->date_ms / 1000);
  g_mime_message_set_date(m, date);
  g_date_time_unref(date);
  g_mime_message_set_message_id(m, l->message_id);
  char rp[320];
  snprintf(rp, sizeof rp, "<%s>", l->return_path);
  g_mime_object_set_header(GMIME_OBJECT(m), "Return-Path", rp, NULL);
  if (l->unsubscribe) {
    char lu[2300];
    snprintf(lu, sizeof lu, "<%s>", l->unsubscribe);
    g_mime_object_set_header(GMIME_OBJECT(m), "List-Unsubscribe", lu, NULL);
    g_mime_object_set_header(GMIME_OBJECT(m), "List-Unsubscribe-Post", "List-Unsubscribe=One-Click", NULL);
  }
}

char *email_mime_build(const struct email_letter *l, size_t *len, char *why, size_t why_len)
{
  if (l->subject == NULL || *l->subject == '\0') {
    snprintf(why, why_len, "the template has no subject");
    return NULL;
  }
  if (l->text == NULL && l->html == NULL) {
    snprintf(why, why_len, "the template has neither text nor html");
    return NULL;
  }
  GMimeObject *body = body_of(l, why, why_len);
  if (body == NULL)
    return NULL;
  GMimeMessage *m = g_mime_message_new(TRUE);
  headers_of(m, l);
  g_mime_message_set_mime_part(m, body);
  g_object_unref(body);
  GMimeFormatOptions *fmt = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
  char *wire = g_mime_object_to_string(GMIME_OBJECT(m), fmt);
  g_mime_format_options_free(fmt);
  g_object_unref(m);
  char *out = wire ? strdup(wire) : NULL;
  g_free(wire);
  if (out == NULL)
    snprintf(why, why_len, "out of memory");
  else
    *len = strlen(out);
  return out;
}

/* Kannel (https://www.kannel.org), spoken through smsbox's HTTP interface:
 *
 *  - MT: GET <url>?username&password&from&to&text&charset=UTF-8&coding=0|2&dlr-mask&
 *    dlr-url. smsbox answers "0: Accepted for delivery" or "3: Queued for later
 *    delivery" (202: Kannel has the message and will deliver it), "Authorization failed
 *    for sendsms" (403), a refusal of the request (400), or a failure of its own (5xx).
 *  - DLR: Kannel calls the dlr-url the plugin gave it, with %d (1 delivered to the
 *    phone, 2 not delivered to the phone, 4 queued on the SMSC, 8 delivered to the SMSC,
 *    16 not delivered to the SMSC) and %A (the SMSC's words). The URL is signed
 *    (sms_token.c).
 *  - MO: an sms-service's get-url points at GET /kannel/mo?secret=...&from=%p&to=%P&
 *    text=%a&coding=%c&charset=%C&id=%I&time=%t; the secret is compared in constant
 *    time.
 * This file is the wire: the URL and what an answer means; the callbacks are
 * sms_kannel_routes.c's. */
#define _GNU_SOURCE /* strcasestr */
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sms.h"

/* 202 with "0:" or "3:" is Kannel's yes; a 2xx saying anything else is not Kannel's
 * answer (a proxy's page), so the message is tried again rather than taken as sent. */
enum sms_outcome sms_kannel_outcome(int status, const char *body, enum parley_fail_reason *reason)
{
  *reason = PARLEY_FAIL_REJECTED;
  while (body && (*body == ' ' || *body == '\n' || *body == '\r'))
    body++;
  if (status >= 200 && status < 300)
    return body && (strncmp(body, "0:", 2) == 0 || strncmp(body, "3:", 2) == 0) ? SMS_ACCEPTED : SMS_RETRY;
  if (status == 401 || (status == 403 && body && strncasecmp(body, "Authorization failed", 20) == 0))
    return SMS_CONFIG;
  if (status == 408 || status == 429 || status >= 500)
    return SMS_RETRY;
  if (body && (strcasestr(body, "receiver") || strcasestr(body, "denied") || strcasestr(body, "routable"))) {
    *reason = strcasestr(body, "receiver") ? PARLEY_FAIL_INVALID_ADDRESS : PARLEY_FAIL_BLOCKED;
    return SMS_FAILED;
  }
  return status >= 400 ? SMS_FAILED : SMS_RETRY;
}

/* "&name=<escaped value>" appended; -1 when out of memory. */
static int param(char **url, size_t *len, const char *name, const char *value)
{
  char *v = curl_easy_escape(NULL, value, 0);
  if (v == NULL)
    return -1;
  size_t add = strlen(name) + strlen(v) + 2;
  char *p = realloc(*url, *len + add + 1);
  if (p == NULL) {
    curl_free(v);
    return -1;
  }
  *url = p;
  *len += (size_t)snprintf(p + *len, add + 1, "%c%s=%s", strchr(p, '?') ? '&' : '?', name, v);
  curl_free(v);
  return 0;
}

char *sms_kannel_url(const struct sms *s, const char *to, const char *text, enum sms_encoding enc,
                     const char *dlr_url)
{
  char mask[24];
  size_t len = strlen(s->url);
  char *url = malloc(len + 1);
  if (url == NULL)
    return NULL;
  memcpy(url, s->url, len + 1);
  snprintf(mask, sizeof mask, "%lld", (long long)s->dlr_mask);
  int bad = (s->username && param(&url, &len, "username", s->username) < 0) ||
            (s->password && param(&url, &len, "password", s->password) < 0) ||
            param(&url, &len, "from", s->from) < 0 || param(&url, &len, "to", to) < 0 ||
            param(&url, &len, "text", text) < 0 || param(&url, &len, "charset", "UTF-8") < 0 ||
            param(&url, &len, "coding", enc == SMS_GSM7 ? "0" : "2") < 0 ||
            (dlr_url && s->dlr_mask > 0 &&
             (param(&url, &len, "dlr-mask", mask) < 0 || param(&url, &len, "dlr-url", dlr_url) < 0));
  if (bad) {
    free(url);
    return NULL;
  }
  return url;
}

/* The MO's text as UTF-8: Kannel passes it in the charset %C names (UTF-16BE for a
 * UCS-2 message, unless the service converts). 0, or -1 when it does not convert. */
int sms_charset_utf8(const char *raw, size_t n, const char *charset, char *out, size_t cap)
{
  if (charset == NULL || *charset == '\0' || strcasecmp(charset, "UTF-8") == 0) {
    if (n >= cap)
      return -1;
    memcpy(out, raw, n);
    out[n] = '\0';
    return 0;
  }
  iconv_t cd = iconv_open("UTF-8", strcasecmp(charset, "UCS-2") == 0 ? "UTF-16BE" : charset);
  if (cd == (iconv_t)-1)
    return -1;
  char *in = (char *)raw, *o = out;
  size_t left = n, room = cap - 1;
  size_t rc = iconv(cd, &in, &left, &o, &room);
  iconv_close(cd);
  if (rc == (size_t)-1 || left != 0)
    return -1;
  *o = '\0';
  return 0;
}


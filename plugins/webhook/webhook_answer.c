/* What the channel will talk to and what an answer means: https everywhere but on this
 * machine, a receiver's Retry-After (seconds or an HTTP date), and an HTTP status as a
 * delivery outcome (docs/webhook.md lists them). */
#define _GNU_SOURCE /* strptime, timegm */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "webhook.h"

/* 127.0.0.0/8, ::1 or localhost: a receiver no one else can sit between. */
static int host_is_loopback(const char *host, size_t n)
{
  char h[64];
  struct in_addr a4;
  struct in6_addr a6;
  if (n == 0 || n >= sizeof h)
    return 0;
  memcpy(h, host, n);
  h[n] = '\0';
  if (strcasecmp(h, "localhost") == 0)
    return 1;
  if (inet_pton(AF_INET, h, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
    h[n - 1] = '\0';
    return inet_pton(AF_INET6, h + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  return 0;
}

/* Plain http would let anyone on the path read every message, so only a receiver on this
 * machine may be spoken to without TLS. */
int webhook_url_allowed(const char *url, char *why, size_t len)
{
  if (url == NULL || url[0] == '\0') {
    snprintf(why, len, "url is empty");
    return -1;
  }
  if (strncasecmp(url, "https://", 8) == 0 && url[8] != '\0' && url[8] != '/')
    return 0;
  if (strncasecmp(url, "http://", 7) != 0) {
    snprintf(why, len, "url must start with https:// (or http:// to a loopback address)");
    return -1;
  }
  const char *host = url + 7;
  size_t n = strcspn(host, "/?#");
  if (memchr(host, '@', n)) {
    snprintf(why, len, "url must not carry a user name or password");
    return -1;
  }
  const char *colon = host[0] == '[' ? memchr(host, ']', n) : memchr(host, ':', n);
  size_t hn = colon == NULL ? n : (size_t)(colon - host) + (host[0] == '[');
  if (!host_is_loopback(host, hn)) {
    snprintf(why, len, "url: http:// is only allowed to a loopback address (127.0.0.1, [::1], "
                       "localhost); use https://");
    return -1;
  }
  return 0;
}

/* RFC 9110: Retry-After is delay-seconds or an HTTP-date (IMF-fixdate). */
uint64_t webhook_retry_after_ms(const char *value, int64_t now_ms)
{
  if (value == NULL)
    return 0;
  while (*value == ' ' || *value == '\t')
    value++;
  if (isdigit((unsigned char)*value)) {
    char *end;
    unsigned long long s = strtoull(value, &end, 10);
    while (*end == ' ' || *end == '\t')
      end++;
    if (*end != '\0' || s > 86400ULL * 365)
      return 0;
    return (uint64_t)s * 1000;
  }
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == NULL || *end != '\0')
    return 0;
  int64_t at_ms = (int64_t)timegm(&tm) * 1000;
  return at_ms > now_ms ? (uint64_t)(at_ms - now_ms) : 0;
}

/* 2xx delivered. 408, 429 and 5xx: the receiver is busy or down, try again. 404: no such
 * recipient (invalid_address); 410: the receiver wants no more (unsubscribed); any other
 * status, redirects included (they are not followed): rejected for good. */
enum webhook_outcome webhook_outcome_of(int status, enum parley_fail_reason *reason)
{
  *reason = PARLEY_FAIL_REJECTED;
  if (status >= 200 && status < 300)
    return WEBHOOK_DELIVERED;
  if (status == 408 || status == 429 || status >= 500)
    return WEBHOOK_RETRY;
  if (status == 404)
    *reason = PARLEY_FAIL_INVALID_ADDRESS;
  else if (status == 410)
    *reason = PARLEY_FAIL_UNSUBSCRIBED;
  return WEBHOOK_FAILED;
}

#define _GNU_SOURCE /* strcasestr */
/* The SMTP rules of the channel: which server URLs it accepts (TLS unless the server is
 * on loopback) and what the server's last answer means for the message. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "email.h"

/* The host of "scheme://host[:port][/path]" into out; 0, or -1. */
static int url_host(const char *rest, char *out, size_t cap)
{
  size_t n;
  if (rest[0] == '[') {
    const char *end = strchr(rest, ']');
    if (end == NULL)
      return -1;
    rest++;
    n = (size_t)(end - rest);
  } else {
    n = strcspn(rest, ":/?#");
  }
  if (n == 0 || n >= cap || memchr(rest, '@', n))
    return -1;
  memcpy(out, rest, n);
  out[n] = '\0';
  return 0;
}

static int is_loopback(const char *host)
{
  return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcasecmp(host, "localhost") == 0;
}

int email_url_check(const char *url, int *loopback, char *why, size_t len)
{
  char host[256];
  int smtps = url && strncasecmp(url, "smtps://", 8) == 0;
  *loopback = 0;
  if (url == NULL || (!smtps && strncasecmp(url, "smtp://", 7) != 0)) {
    snprintf(why, len, "url must be smtps://host:465 (TLS) or smtp://host:587 (STARTTLS)");
    return -1;
  }
  const char *rest = url + (smtps ? 8 : 7);
  if (strchr(rest, '@')) {
    snprintf(why, len, "url must not hold credentials: use username and password");
    return -1;
  }
  if (url_host(rest, host, sizeof host) < 0) {
    snprintf(why, len, "url names no host");
    return -1;
  }
  *loopback = is_loopback(host);
  return 0;
}

static int has(const char *text, const char *word)
{
  return text && strcasestr(text, word) != NULL;
}

/* The enhanced status code's class and subject ("5.1.1" -> 1), or -1. */
static int enhanced_subject(const char *reply)
{
  const char *p = reply;
  while (p && *p && isdigit((unsigned char)*p))
    p++; /* the basic code */
  while (p && (*p == ' ' || *p == '-'))
    p++;
  if (p && p[0] == '5' && p[1] == '.' && isdigit((unsigned char)p[2]) && p[3] == '.')
    return p[2] - '0';
  return -1;
}

/* A permanent refusal, read as a deliverability engineer would: what the content
 * caused first, then the sender's standing, then the address itself. */
static enum parley_fail_reason permanent_reason(long code, const char *reply)
{
  int subject = enhanced_subject(reply);
  if (has(reply, "spam") || has(reply, "virus") || has(reply, "content"))
    return PARLEY_FAIL_REJECTED;
  if (has(reply, "block") || has(reply, "blacklist") || has(reply, "denylist") || has(reply, "reputation") ||
      has(reply, "policy") || subject == 7)
    return PARLEY_FAIL_BLOCKED;
  if (code == 550 || code == 551 || code == 553 || subject == 1 || has(reply, "no such user") ||
      has(reply, "user unknown") || has(reply, "unknown user") || has(reply, "does not exist"))
    return PARLEY_FAIL_INVALID_ADDRESS;
  if (code == 552 || code == 554)
    return PARLEY_FAIL_REJECTED;
  return PARLEY_FAIL_OTHER;
}

enum email_outcome email_smtp_outcome(int completed, long code, const char *reply, enum parley_fail_reason *reason)
{
  *reason = PARLEY_FAIL_OTHER;
  if (completed)
    return EMAIL_DELIVERED;
  if (code >= 500 && code <= 599) {
    *reason = permanent_reason(code, reply);
    return EMAIL_FAILED;
  }
  return EMAIL_RETRY; /* 4xx, or no answer: the connection, TLS or a timeout failed */
}

int email_smtp_queue_id(const char *reply, char *out, size_t cap)
{
  const char *p = reply ? strcasestr(reply, "queued as ") : NULL;
  if (p == NULL)
    return -1;
  p += 10;
  size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._@<>");
  if (n == 0 || n >= cap)
    return -1;
  memcpy(out, p, n);
  out[n] = '\0';
  return 0;
}

/* The channel's `headers` setting: static headers sent with every POST besides the
 * signature's (an Authorization a receiver's gateway asks for, a tenant name). One
 * "Name: value" per line. Checked once, at init, so a typo refuses the channel with its
 * line rather than every request being refused by the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webhook.h"

/* RFC 9110's token characters. */
static int is_token(const char *s)
{
  if (*s == '\0')
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          strchr("!#$%&'*+-.^_`|~", *s)))
      return 0;
  return 1;
}

/* The headers the plugin writes itself: a static one would contradict or forge them. */
static int is_reserved(const char *name)
{
  static const char *const reserved[] = {"content-type", "content-length", "host",
                                         "webhook-id", "webhook-timestamp", "webhook-signature",
                                         "transfer-encoding", "expect"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcasecmp(name, reserved[i]) == 0)
      return 1;
  return 0;
}

/* One line, cut in place into name and value. 0, or -1 and why. */
static int parse_line(char *line, struct parley_http_header *h, char *why, size_t len)
{
  char *colon = strchr(line, ':');
  if (colon == NULL) {
    snprintf(why, len, "headers: '%s' is not 'Name: value'", line);
    return -1;
  }
  *colon = '\0';
  char *value = colon + 1;
  while (*value == ' ' || *value == '\t')
    value++;
  if (!is_token(line) || is_reserved(line)) {
    snprintf(why, len, "headers: '%s' is not a header name the channel may set", line);
    return -1;
  }
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
      snprintf(why, len, "headers: the value of '%s' holds a control character", line);
      return -1;
    }
  h->name = line;
  h->value = value;
  return 0;
}

int webhook_headers_parse(const char *setting, struct webhook_headers *hs, char *why, size_t len)
{
  memset(hs, 0, sizeof *hs);
  if (setting == NULL)
    return 0;
  if ((hs->text = strdup(setting)) == NULL) {
    snprintf(why, len, "out of memory");
    return -1;
  }
  char *save = NULL;
  for (char *line = strtok_r(hs->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r') /* a CRLF line end; any other CR is refused below */
      line[n - 1] = '\0';
    if (line[0] == '\0')
      continue;
    if (hs->n == WEBHOOK_EXTRA_HEADERS) {
      snprintf(why, len, "headers: at most %d", WEBHOOK_EXTRA_HEADERS);
      goto fail;
    }
    if (parse_line(line, &hs->h[hs->n], why, len) < 0)
      goto fail;
    hs->n++;
  }
  return 0;
fail:
  webhook_headers_free(hs);
  return -1;
}

void webhook_headers_free(struct webhook_headers *hs)
{
  free(hs->text);
  memset(hs, 0, sizeof *hs);
}

/* libFuzzer target: the email channel's click tracking (plugins/email/email_links.c) on
 * any HTML a template could produce. Byte 0 says whether the open pixel is asked; the
 * rest is the HTML. Whatever comes: valid UTF-8 within the cap is always rewritten; the
 * link callback only sees http(s) targets within the URL limit, a name, and at most
 * EMAIL_LINKS_MAX_LINKS calls; every URL it returns is in the output exactly once, as is
 * the pixel at most once; and the output is itself accepted again. Aborts otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlstring.h>

#include "email_links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARK "t.invalid/c/"
#define PIXEL "t.invalid/o/pixel"

struct seen {
  size_t calls, returned;
};

static char *link_url(void *ud, const char *name, const char *target)
{
  struct seen *s = ud;
  if (name == NULL || name[0] == '\0' || strlen(target) > EMAIL_LINKS_MAX_URL ||
      (strncasecmp(target, "http://", 7) != 0 && strncasecmp(target, "https://", 8) != 0))
    abort();
  if (++s->calls > EMAIL_LINKS_MAX_LINKS)
    abort();
  if (s->calls % 3 == 0) /* keep this one */
    return NULL;
  s->returned++;
  char *url = malloc(64);
  snprintf(url, 64, "https://" MARK "%zu", s->calls);
  return url;
}

static char *pixel_url(void *ud)
{
  return strdup("https://" PIXEL);
}

static size_t count(const char *hay, const char *needle)
{
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  char *html = malloc(size);
  memcpy(html, data + 1, size - 1);
  html[size - 1] = '\0';
  struct seen s = {0};
  struct email_links_opts opts = {.link_url = link_url, .ud = &s};
  if (data[0] & 1)
    opts.pixel_url = pixel_url;
  char why[256];
  char *out = email_links_rewrite(html, &opts, why, sizeof why);
  int acceptable = html[0] != '\0' && xmlCheckUTF8((const unsigned char *)html);
  if ((out != NULL) != acceptable)
    abort();
  /* The markers are counted against the document written without callbacks: libxml2
   * may make one of the input's own (it drops some control characters, for one). */
  char *plain = out ? email_links_rewrite(html, NULL, why, sizeof why) : NULL;
  if (out && plain == NULL)
    abort();
  if (plain && count(plain, MARK) == 0 && count(plain, PIXEL) == 0) {
    if (count(out, MARK) != s.returned || count(out, PIXEL) > 1)
      abort();
    char *again = email_links_rewrite(out, NULL, why, sizeof why);
    if (again == NULL && out[0] != '\0')
      abort();
    free(again);
  }
  free(plain);
  free(out);
  free(html);
  return 0;
}

/* The email channel's click tracking (plugins/email/email_links.c), built into this test
 * from the plugin's own source: which links are tracked and how they are named, what is
 * left alone, entities and UTF-8 through libxml2, malformed HTML, the limits, and the open
 * pixel. Run under ASan, which fails the test on a leak. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email_links.h"

#define MAX_CALLS 256

/* What the link callback was asked, and the rewritten URL it gives:
 * "https://t.example/c/<name>", or NULL for a target holding "keep". */
struct calls {
  size_t n;
  char *name[MAX_CALLS];
  char *target[MAX_CALLS];
  int pixels;
};

static char *link_url(void *ud, const char *name, const char *target)
{
  struct calls *c = ud;
  if (c->n < MAX_CALLS) {
    c->name[c->n] = strdup(name);
    c->target[c->n] = strdup(target);
  }
  c->n++;
  if (strstr(target, "keep"))
    return NULL;
  char *url = malloc(strlen(name) + 32);
  sprintf(url, "https://t.example/c/%s", name);
  return url;
}

static char *pixel_url(void *ud)
{
  struct calls *c = ud;
  c->pixels++;
  return strdup("https://t.example/o/m1");
}

static char *no_pixel(void *ud)
{
  ((struct calls *)ud)->pixels++;
  return NULL;
}

static void calls_free(struct calls *c)
{
  for (size_t i = 0; i < c->n && i < MAX_CALLS; i++) {
    free(c->name[i]);
    free(c->target[i]);
  }
  memset(c, 0, sizeof *c);
}

/* The HTML rewritten with link_url (and pixel when set); fails the test on an error. */
static char *rewrite(const char *html, struct calls *c, email_pixel_url_fn pixel)
{
  struct email_links_opts opts = {.link_url = link_url, .pixel_url = pixel, .ud = c};
  char why[256] = "";
  char *out = email_links_rewrite(html, &opts, why, sizeof why);
  if (out == NULL)
    fail_msg("refused: %s", why);
  return out;
}

static void has(const char *out, const char *needle)
{
  if (strstr(out, needle) == NULL)
    fail_msg("'%s' not in:\n%s", needle, out);
}

static void lacks(const char *out, const char *needle)
{
  if (strstr(out, needle) != NULL)
    fail_msg("'%s' in:\n%s", needle, out);
}

static void test_names_given_and_derived(void **state)
{
  struct calls c = {0};
  char *out = rewrite("<html><body>"
                      "<a href=\"https://shop.example/cart\" data-parley-link=\"cta\">Cart</a>"
                      "<a href=\"http://shop.example/a\">A</a>"
                      "<a href=\"https://shop.example/b\" data-parley-link=\"\">B</a>"
                      "<a href=\"https://shop.example/c\" data-parley-link=\"r\xc3\xa9" "duc\">C</a>"
                      "</body></html>",
                      &c, NULL);
  assert_int_equal(c.n, 4);
  assert_string_equal(c.name[0], "cta");
  assert_string_equal(c.target[0], "https://shop.example/cart");
  assert_string_equal(c.name[1], "link-2"); /* the named link before it counts */
  assert_string_equal(c.target[1], "http://shop.example/a");
  assert_string_equal(c.name[2], "link-3"); /* empty: derived */
  assert_string_equal(c.name[3], "r\xc3\xa9" "duc");
  has(out, "<a href=\"https://t.example/c/cta\">Cart</a>");
  has(out, "<a href=\"https://t.example/c/link-2\">A</a>");
  has(out, "<a href=\"https://t.example/c/link-3\">B</a>");
  lacks(out, "shop.example");
  lacks(out, "data-parley-link"); /* Parley's own markup never reaches the recipient */
  free(out);
  calls_free(&c);
}

static void test_other_links_untouched(void **state)
{
  struct calls c = {0};
  const char *kept[] = {"mailto:ann@example.com?subject=Hi", "tel:+33123456789", "#top",
                        "/account", "page.html", "javascript:alert(1)", "ftp://files.example/x",
                        "//cdn.example/x", "http:/one-slash"};
  char html[1024] = "<p>";
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
    snprintf(html + strlen(html), sizeof html - strlen(html), "<a href=\"%s\">%zu</a> ", kept[i], i);
  strcat(html, "<a>no href</a> <A HREF=\" HTTPS://Shop.Example/x \">trimmed</A></p>");
  char *out = rewrite(html, &c, NULL);
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
    char want[128];
    snprintf(want, sizeof want, "href=\"%s\"", kept[i]);
    has(out, want);
  }
  has(out, "<a>no href</a>");
  assert_int_equal(c.n, 1); /* only the http(s) one, found in any case, trimmed */
  assert_string_equal(c.target[0], "HTTPS://Shop.Example/x");
  assert_string_equal(c.name[0], "link-1");
  free(out);
  calls_free(&c);
}

static void test_tracking_off(void **state)
{
  struct calls c = {0};
  char *out = rewrite("<p><a href=\"https://a.example/\" data-parley-track=\"off\">a</a>"
                      "<a href=\"https://b.example/\" data-parley-track=\" OFF \">b</a>"
                      "<a href=\"https://c.example/\" data-parley-track=\"on\">c</a></p>",
                      &c, NULL);
  assert_int_equal(c.n, 1);
  assert_string_equal(c.target[0], "https://c.example/");
  assert_string_equal(c.name[0], "link-1"); /* links turned off are not numbered */
  has(out, "<a href=\"https://a.example/\">a</a>");
  has(out, "<a href=\"https://b.example/\">b</a>");
  has(out, "<a href=\"https://t.example/c/link-1\">c</a>");
  lacks(out, "data-parley-track");
  free(out);
  calls_free(&c);
}

/* A callback's NULL keeps the original href. */
static void test_null_keeps_the_link(void **state)
{
  struct calls c = {0};
  char *out = rewrite("<p><a href=\"https://a.example/keep?x=1&amp;y=2\">a</a>"
                      "<a href=\"https://b.example/\">b</a></p>", &c, NULL);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.target[0], "https://a.example/keep?x=1&y=2"); /* entities decoded */
  has(out, "<a href=\"https://a.example/keep?x=1&amp;y=2\">a</a>");
  has(out, "<a href=\"https://t.example/c/link-2\">b</a>");
  free(out);
  calls_free(&c);
}

static void test_entities_and_utf8_preserved(void **state)
{
  struct calls c = {0};
  const char *body = "<p>Caf\xc3\xa9 &amp; cr\xc3\xa8me, &lt;b&gt; not bold, 5 &gt; 3, "
                     "\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac</p>";
  char html[1024];
  snprintf(html, sizeof html,
           "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Promo \xc3\xa9t\xc3\xa9"
           "</title></head><body>%s<p>&eacute;&nbsp;&#128512;&#x1F600;</p>"
           "<a href=\"https://shop.example/?q=caf\xc3\xa9&amp;s=1\" title=\"&quot;x&quot; &amp; y\">"
           "Voir \xf0\x9f\x9b\x92</a></body></html>",
           body);
  char *out = rewrite(html, &c, NULL);
  has(out, "<!DOCTYPE html>\n");
  has(out, "<meta charset=\"utf-8\">");
  has(out, "<title>Promo \xc3\xa9t\xc3\xa9</title>");
  has(out, body);
  /* Named and numeric references come out as the characters they stand for, in UTF-8. */
  has(out, "<p>\xc3\xa9\xc2\xa0\xf0\x9f\x98\x80\xf0\x9f\x98\x80</p>");
  has(out, "title='\"x\" &amp; y'>Voir \xf0\x9f\x9b\x92</a>");
  assert_int_equal(c.n, 1);
  assert_string_equal(c.target[0], "https://shop.example/?q=caf\xc3\xa9&s=1");
  free(out);
  calls_free(&c);
}

/* The document's bytes are UTF-8 whatever its meta says, and that meta is kept. */
static void test_other_meta_charset_kept(void **state)
{
  struct calls c = {0};
  const char *html = "<html><head><meta http-equiv=\"Content-Type\" "
                     "content=\"text/html; charset=iso-8859-1\"></head>"
                     "<body>\xc3\xa9t\xc3\xa9</body></html>";
  char *out = rewrite(html, &c, NULL);
  assert_string_equal(out, "<html><head><meta http-equiv=\"Content-Type\" "
                           "content=\"text/html; charset=iso-8859-1\"></head>"
                           "<body>\xc3\xa9t\xc3\xa9</body></html>\n");
  free(out);
  calls_free(&c);
}

static void test_malformed_html(void **state)
{
  struct calls c = {0};
  char *out = rewrite("<div><p>Hello <b>ann <a href=\"https://a.example/\">one<td>cell"
                      "</span></a> <a href=https://b.example/x?y=1>two</i>"
                      "<a href=\"https://c.example/\" <p>",
                      &c, NULL);
  assert_true(c.n >= 2);
  assert_string_equal(c.target[0], "https://a.example/");
  assert_string_equal(c.target[1], "https://b.example/x?y=1");
  has(out, "href=\"https://t.example/c/link-1\"");
  has(out, "href=\"https://t.example/c/link-2\"");
  has(out, "<html><body><div><p>Hello <b>ann ");
  has(out, "</body></html>\n");
  free(out);
  calls_free(&c);

  /* A fragment gets <html> and <body>, its leading text a <p>; no DOCTYPE is added. */
  out = rewrite("Hi <a href=\"https://a.example/\">there</a>", &c, NULL);
  assert_string_equal(out, "<html><body><p>Hi <a href=\"https://t.example/c/link-1\">there</a>"
                           "</p></body></html>\n");
  free(out);
  calls_free(&c);
}

/* Nesting far deeper than libxml2's default limit (256), where it would drop the rest. */
static void test_deep_nesting(void **state)
{
  struct calls c = {0};
  size_t depth = 100000;
  char *html = malloc(depth * 5 + 128);
  char *p = html;
  for (size_t i = 0; i < depth; i++)
    p += sprintf(p, "<div>");
  sprintf(p, "<a href=\"https://deep.example/\">deep</a>");
  char *out = rewrite(html, &c, pixel_url);
  assert_int_equal(c.n, 1);
  has(out, "<a href=\"https://t.example/c/link-1\">deep</a></div>");
  has(out, "</div><img src=\"https://t.example/o/m1\"");
  free(out);
  free(html);
  calls_free(&c);
}

static void test_link_limits(void **state)
{
  struct calls c = {0};
  size_t links = EMAIL_LINKS_MAX_LINKS + 5;
  char *html = malloc(links * 64 + 4096);
  char *p = html;
  p += sprintf(p, "<p><a href=\"https://long.example/");
  for (int i = 0; i < EMAIL_LINKS_MAX_URL; i++)
    *p++ = 'x';
  p += sprintf(p, "\">long</a>");
  for (size_t i = 0; i < links; i++)
    p += sprintf(p, "<a href=\"https://shop.example/%zu\">%zu</a>", i, i);
  sprintf(p, "</p>");
  char *out = rewrite(html, &c, NULL);
  assert_int_equal(c.n, EMAIL_LINKS_MAX_LINKS); /* the long URL is not offered */
  assert_string_equal(c.name[0], "link-2");     /* but numbered */
  assert_string_equal(c.target[0], "https://shop.example/0");
  assert_string_equal(c.target[EMAIL_LINKS_MAX_LINKS - 1], "https://shop.example/199");
  has(out, "href=\"https://t.example/c/link-201\">199</a>");
  has(out, "<a href=\"https://shop.example/200\">200</a>"); /* past the cap: kept */
  has(out, "<a href=\"https://shop.example/204\">204</a>");
  has(out, "xxxxxxxx\">long</a>");
  free(out);
  free(html);
  calls_free(&c);
}

static void refused(const char *html, const char *needle)
{
  struct calls c = {0};
  struct email_links_opts opts = {.link_url = link_url, .ud = &c};
  char why[256] = "";
  char *out = email_links_rewrite(html, &opts, why, sizeof why);
  if (out != NULL || strstr(why, needle) == NULL)
    fail_msg("%s, why '%s', not '%s'", out ? "accepted" : "refused", why, needle);
  assert_int_equal(c.n, 0);
}

static void test_refused_input(void **state)
{
  refused(NULL, "empty");
  refused("", "empty");
  refused("<p>caf\xe9</p>", "not valid UTF-8"); /* Latin-1 */
  refused("<p>\xc3</p>", "not valid UTF-8");

  size_t cap = EMAIL_LINKS_MAX_HTML;
  char *html = malloc(cap + 2);
  const char *head = "<p><a href=\"https://a.example/\">a</a>";
  memset(html, 'x', cap + 1);
  memcpy(html, head, strlen(head));
  html[cap + 1] = '\0';
  refused(html, "longer than 1048576 bytes");

  html[cap] = '\0'; /* exactly at the cap: accepted */
  struct calls c = {0};
  char *out = rewrite(html, &c, NULL);
  assert_int_equal(c.n, 1);
  free(out);
  free(html);
  calls_free(&c);
}

static void test_pixel(void **state)
{
  struct calls c = {0};
  const char *html = "<html><body><p>Hi</p>\n</body></html>";
  char *out = rewrite(html, &c, NULL); /* off unless asked */
  assert_string_equal(out, "<html><body><p>Hi</p>\n</body></html>\n");
  free(out);

  out = rewrite(html, &c, pixel_url);
  assert_int_equal(c.pixels, 1);
  assert_string_equal(out, "<html><body><p>Hi</p>\n<img src=\"https://t.example/o/m1\" "
                           "width=\"1\" height=\"1\" alt=\"\" "
                           "style=\"display:block;width:1px;height:1px;border:0\">"
                           "</body></html>\n");
  free(out);

  out = rewrite(html, &c, no_pixel); /* the callback's NULL: no pixel */
  assert_int_equal(c.pixels, 2);
  lacks(out, "<img");
  free(out);

  out = rewrite("Hello", &c, pixel_url); /* no <body> written: libxml2's has it */
  has(out, "<body><p>Hello</p><img src=\"https://t.example/o/m1\"");
  free(out);
  calls_free(&c);
}

/* No callbacks at all: the document goes through libxml2 and nothing else changes. */
static void test_no_callbacks(void **state)
{
  char why[64];
  char *out = email_links_rewrite("<p><a href=\"https://a.example/\" data-parley-link=\"x\">a</a>",
                                  NULL, why, sizeof why);
  assert_non_null(out);
  assert_string_equal(out, "<html><body><p><a href=\"https://a.example/\">a</a></p></body></html>\n");
  free(out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_given_and_derived),
      cmocka_unit_test(test_other_links_untouched),
      cmocka_unit_test(test_tracking_off),
      cmocka_unit_test(test_null_keeps_the_link),
      cmocka_unit_test(test_entities_and_utf8_preserved),
      cmocka_unit_test(test_other_meta_charset_kept),
      cmocka_unit_test(test_malformed_html),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_link_limits),
      cmocka_unit_test(test_refused_input),
      cmocka_unit_test(test_pixel),
      cmocka_unit_test(test_no_callbacks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Templates: Mustache values, sections, loops and comments, the fallback, formatters in a
 * contact's locale and time zone, HTML escaping (inside loops too), one-line (header)
 * rendering, limits, and errors that name the template, the line and the value. The data
 * is JSON, read through the same source the daemon uses for a contact's profile. */
#include <cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lua/tmpl.h"
#include "zones.h"

static const char DATA[] =
    "{\"name\":\"Ada\",\"contact\":{\"city\":\"Paris\",\"address\":{\"city\":\"Lyon\"}},"
    "\"html\":\"<b>&\\\"'\",\"empty\":\"\",\"evil\":\"Ann\\r\\nBcc: eve@example.com\","
    "\"nel\":\"a\\u0085b\\u2028c\",\"first\":{\"name\":\"Teapot\"},"
    "\"items\":[{\"name\":\"Tea <pot>\",\"price\":1234.5,\"qty\":1},{\"name\":\"Cups\",\"price\":12,\"qty\":3}],"
    "\"tags\":[\"red\",\"<blue>\"],\"none\":[],\"yes\":true,\"no\":false,\"zero\":0,\"nul\":null,"
    "\"total\":1246.5,\"neg\":-3.456,\"count\":3,\"one\":1,\"big\":1234567,\"half\":2.5,"
    "\"when\":1798124700,\"iso\":\"2026-12-24T15:05:00+01:00\",\"numtext\":\"19.9\","
    "\"word\":\"soon\",\"hex\":\"0x10\",\"blank\":\" 12\",\"nested\":{\"rows\":[{\"cells\":[1,2]},{\"cells\":[3]}]}}";

static cJSON *root;
static struct tmpl_env env;

static int setup(void **state)
{
  (void)state;
  root = cJSON_Parse(DATA);
  return root ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  cJSON_Delete(root);
  return 0;
}

/* Renders src; returns the output, or NULL with the error in err. */
static char *try_render(const char *src, enum tmpl_mode mode, char *err, size_t errlen)
{
  struct tmpl *t = NULL;
  struct tmpl_source s;
  char *out = NULL;
  tmpl_json_source(&s, root);
  assert_int_equal(tmpl_compile(src, strlen(src), "t.txt", &t, err, errlen), 0);
  int rc = tmpl_render(t, &s, &env, mode, &out, err, errlen);
  assert_true(rc == 0 ? out != NULL : out == NULL);
  tmpl_free(t);
  return out;
}

static void expect(const char *src, enum tmpl_mode mode, const char *want)
{
  char err[256] = "";
  char *got = try_render(src, mode, err, sizeof err);
  if (got == NULL)
    fail_msg("%s: %s", src, err);
  assert_string_equal(got, want);
  free(got);
}

/* The render fails and its error holds `want`. */
static void expect_error(const char *src, const char *want)
{
  char err[256] = "";
  char *got = try_render(src, TMPL_TEXT, err, sizeof err);
  if (got != NULL)
    fail_msg("%s rendered '%s'", src, got);
  if (strstr(err, want) == NULL)
    fail_msg("error '%s' lacks '%s'", err, want);
}

static void expect_compile_error(const char *src, const char *want)
{
  struct tmpl *t = (struct tmpl *)&t;
  char err[256] = "";
  assert_int_equal(tmpl_compile(src, strlen(src), "x.html", &t, err, sizeof err), -1);
  assert_null(t);
  if (strstr(err, want) == NULL)
    fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_values(void **state)
{
  (void)state;
  expect("Hi {{name}}!", TMPL_TEXT, "Hi Ada!");
  expect("Hi {{ name }}!", TMPL_TEXT, "Hi Ada!");
  expect("{{contact.city}} {{contact.address.city}} {{first.name}}", TMPL_TEXT, "Paris Lyon Teapot");
  expect("Hi {{missing|there}}", TMPL_TEXT, "Hi there");
  expect("Hi {{ missing | dear friend }}", TMPL_TEXT, "Hi dear friend");
  expect("Hi {{empty|there}} {{nul|nobody}}", TMPL_TEXT, "Hi there nobody");
  expect("[{{empty}}] {{yes}} {{zero}} {{half}} {{big}}", TMPL_TEXT, "[] true 0 2.5 1234567");
  expect("{{items.2.name}} {{tags.1}}", TMPL_TEXT, "Cups red"); /* from 1, as in Lua */
  expect("{{items.3.name|none}} {{items.0.name|none}}", TMPL_TEXT, "none none");
  expect("no vars at all", TMPL_TEXT, "no vars at all");
  expect("", TMPL_TEXT, "");
  expect("a }} b {{! a comment\nover two lines }}c", TMPL_TEXT, "a }} b c");
}

static void test_html_escape(void **state)
{
  (void)state;
  expect("<p>{{html}}</p>", TMPL_HTML, "<p>&lt;b&gt;&amp;&quot;&#39;</p>");
  expect("<p>{{html}}</p>", TMPL_TEXT, "<p><b>&\"'</p>");
  expect("{{{html}}}|{{& html}}", TMPL_HTML, "<b>&\"'|<b>&\"'");
  expect("{{#items}}<li>{{name}}</li>{{/items}}", TMPL_HTML,
         "<li>Tea &lt;pot&gt;</li><li>Cups</li>");
  expect("{{#tags}}[{{.}}]{{/tags}}", TMPL_HTML, "[red][&lt;blue&gt;]");
  expect("{{missing|<b>hi</b>}}", TMPL_HTML, "<b>hi</b>"); /* a fallback is template text */
}

static void test_sections(void **state)
{
  (void)state;
  expect("{{#items}}{{name}} x{{qty}}, {{/items}}", TMPL_TEXT, "Tea <pot> x1, Cups x3, ");
  expect("{{#items}}{{name}} for {{contact.city}}; {{/items}}", TMPL_TEXT,
         "Tea <pot> for Paris; Cups for Paris; "); /* outer names stay in reach */
  expect("{{#first}}{{name}}{{/first}}", TMPL_TEXT, "Teapot"); /* a map: once, in its scope */
  expect("{{#word}}<{{.}}>{{/word}}", TMPL_TEXT, "<soon>");
  expect("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#zero}}Z{{/zero}}{{#empty}}E{{/empty}}"
         "{{#none}}L{{/none}}{{#missing}}M{{/missing}}{{#nul}}U{{/nul}}",
         TMPL_TEXT, "Y");
  expect("{{^no}}n{{/no}}{{^zero}}z{{/zero}}{{^none}}l{{/none}}{{^missing}}m{{/missing}}"
         "{{^yes}}Y{{/yes}}{{^items}}I{{/items}}",
         TMPL_TEXT, "nzlm");
  expect("{{#nested.rows}}({{#cells}}{{.}}{{/cells}}){{/nested.rows}}", TMPL_TEXT, "(12)(3)");
  expect("{{#missing}}{{nothing_here}}{{/missing}}ok", TMPL_TEXT, "ok"); /* a guard */
}

/* Mustache's standalone lines: a section, closing or comment tag alone on its line takes
 * the line with it, so a loop written one tag a line leaves no blank lines. */
static void test_standalone(void **state)
{
  (void)state;
  expect("Your cart:\n{{#items}}\n- {{name}}\n{{/items}}\nBye", TMPL_TEXT,
         "Your cart:\n- Tea <pot>\n- Cups\nBye");
  expect("a\n  {{#yes}}  \r\nb\n  {{/yes}}\nc\n", TMPL_TEXT, "a\nb\nc\n");
  expect("a\n{{! note }}\nb", TMPL_TEXT, "a\nb");
  expect("a {{#yes}}b{{/yes}} c\n", TMPL_TEXT, "a b c\n"); /* not alone: stays */
  expect("{{#yes}}\nx\n{{/yes}}", TMPL_TEXT, "x\n");
}

static void test_formatters(void **state)
{
  (void)state;
  env.locale = NULL; /* en-US */
  expect("{{total|currency:EUR}} {{total|currency:USD}} {{big|currency:JPY}} {{neg|currency:USD}}",
         TMPL_TEXT, "\xe2\x82\xac" "1,246.50 $1,246.50 \xc2\xa5" "1,234,567 -$3.46");
  expect("{{total|currency:CHF}} {{total|currency:XYZ}}", TMPL_TEXT, "CHF 1,246.50 XYZ 1,246.50");
  expect("{{big|number}} {{half|number}} {{neg|number:1}} {{numtext|number:2}}", TMPL_TEXT,
         "1,234,567 2.5 -3.5 19.90");
  expect("{{count|plural:item:items}}, {{one|plural:item:items}}, {{zero|plural:item:items}}",
         TMPL_TEXT, "3 items, 1 item, 0 items");
  expect("{{missing|currency:EUR|soon}}", TMPL_TEXT, "soon");
  env.locale = "de-DE";
  expect("{{total|currency:EUR}} {{big|number}} {{half|number:2}}", TMPL_TEXT,
         "1.246,50 \xe2\x82\xac 1.234.567 2,50");
  env.locale = "fr_FR";
  expect("{{total|currency:EUR}} {{zero|plural:article:articles}}", TMPL_TEXT,
         "1 246,50 \xe2\x82\xac 0 article");
  env.locale = "nl";
  expect("{{total|currency:EUR}}", TMPL_TEXT, "\xe2\x82\xac 1.246,50");
  env.locale = "xx-YY"; /* unknown: en-US */
  expect("{{total|currency:USD}}", TMPL_TEXT, "$1,246.50");
  env.locale = NULL;
  expect("{{#items}}{{qty|plural:cup:cups}} at {{price|currency:EUR}}; {{/items}}", TMPL_HTML,
         "1 cup at \xe2\x82\xac" "1,234.50; 3 cups at \xe2\x82\xac" "12.00; ");
}

/* 1798124700 is 2026-12-24 15:05 UTC; "iso" is 14:05 UTC. */
static void test_dates(void **state)
{
  (void)state;
  env.locale = NULL, env.timezone = NULL;
  expect("{{when|date}} {{when|time}}", TMPL_TEXT, "12/24/2026 3:05 PM");
  env.timezone = "Europe/Paris";
  expect("{{when|datetime}} | {{iso|datetime}}", TMPL_TEXT, "12/24/2026 4:05 PM | 12/24/2026 3:05 PM");
  env.locale = "de-DE";
  expect("{{when|datetime}}", TMPL_TEXT, "24.12.2026 16:05");
  env.timezone = "America/New_York";
  expect("{{when|date}} {{when|time}}", TMPL_TEXT, "24.12.2026 10:05");
  env.timezone = "Asia/Tokyo", env.locale = "ja-JP";
  expect("{{iso|datetime}}", TMPL_TEXT, "2026/12/24 23:05");
  env.timezone = "Mars/Olympus";
  expect_error("{{when|date}}", "time zone 'Mars/Olympus'");
  env.timezone = NULL, env.locale = NULL;
}

/* Zones kept between renderings: more zones than are kept, each asked twice, still give
 * each its own time (Etc/GMT-3 is UTC+3: POSIX's sign). */
static void test_zones_kept(void **state)
{
  (void)state;
  char zone[32], want[8];
  env.locale = "de-DE";
  env.zones = zones_new();
  assert_non_null(env.zones);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 14; i++) {
      snprintf(zone, sizeof zone, "Etc/GMT-%d", i);
      snprintf(want, sizeof want, "%02d:05", (15 + i) % 24);
      env.timezone = zone;
      expect("{{when|time}}", TMPL_TEXT, want);
      env.timezone = i % 2 ? "Asia/Tokyo" : "America/New_York";
      expect("{{when|time}}", TMPL_TEXT, i % 2 ? "00:05" : "10:05");
    }
  env.timezone = "Mars/Olympus";
  expect_error("{{when|date}}", "time zone 'Mars/Olympus'");
  zones_free(env.zones);
  env.zones = NULL, env.timezone = NULL, env.locale = NULL;
}

static void test_one_line(void **state)
{
  (void)state;
  expect("Welcome, {{name}}!\n", TMPL_LINE, "Welcome, Ada!");
  expect("Welcome, {{name}}!\r\n\n  ", TMPL_LINE, "Welcome, Ada!");
  expect("Hi {{evil}}!", TMPL_LINE, "Hi Ann Bcc: eve@example.com!");
  expect("Hi {{{evil}}}!", TMPL_LINE, "Hi Ann Bcc: eve@example.com!");
  expect("Hi {{evil}}!", TMPL_TEXT, "Hi Ann\r\nBcc: eve@example.com!");
  expect("{{nel}}", TMPL_LINE, "a b c");
  expect("\n\t two\nlines \x7f", TMPL_LINE, "two lines");
  expect("{{html}}", TMPL_LINE, "<b>&\"'");
  expect("\n{{empty}}\n", TMPL_LINE, "");
  expect("{{count|plural:item:items}} in your cart\n", TMPL_LINE, "3 items in your cart");
}

static void test_compile_errors(void **state)
{
  (void)state;
  expect_compile_error("line one\nline two {{name\n", "x.html line 2: unclosed {{");
  expect_compile_error("a\n\n{{ bad name }}", "x.html line 3: bad name in '{{bad name}}'");
  expect_compile_error("{{}}", "line 1: bad name");
  expect_compile_error("{{a..b}}", "bad name");
  expect_compile_error("a\n{{#items}}\nb", "x.html line 2: {{#items}} is never closed (write {{/items}})");
  expect_compile_error("{{#items}}\n{{^first}}\n{{/items}}\n{{/first}}",
                       "x.html line 3: {{/items}} does not close {{^first}} (line 2)");
  expect_compile_error("x\n{{/items}}", "x.html line 2: {{/items}} closes no section");
  expect_compile_error("{{> footer}}", "a partial");
  expect_compile_error("{{=<% %>=}}", "new delimiters");
  expect_compile_error("{{.}}", "outside a section");
  expect_compile_error("{{{name}}", "unclosed {{{");
  expect_compile_error("{{total|currency}}", "currency needs an ISO 4217 code, such as currency:EUR");
  expect_compile_error("{{total|currency:eur}}", "ISO 4217");
  expect_compile_error("{{n|plural:item}}", "plural needs two words");
  expect_compile_error("{{n|number:9}}", "number takes a count of decimals");
  expect_compile_error("{{n|date:long}}", "take no argument");
  char deep[400] = "", *p = deep;
  for (int i = 0; i < 17; i++)
    p += sprintf(p, "{{#s%d}}", i);
  expect_compile_error(deep, "nested more than 16 deep");
}

static void test_render_errors(void **state)
{
  (void)state;
  expect_error("Hi\n{{first_name}}", "t.txt line 2: no value for 'first_name'");
  expect_error("{{#items}}\n{{name}} {{colour}}\n{{/items}}", "t.txt line 2: no value for 'colour'");
  expect_error("\n{{word|currency:EUR}}", "t.txt line 2: 'word' is not a number");
  expect_error("{{word|date}}", "'word' is not a time");
  expect_error("{{hex|number}}", "'hex' is not a number");
  expect_error("{{blank|number}}", "'blank' is not a number");
  expect_error("{{half|plural:a:b}}", "'half' is not a whole number");
  expect_error("{{items}}", "'items' is a list, not a value a message can show (loop over it "
                            "with {{#items}}...{{/items}})");
  expect_error("{{first}}", "'first' is a table, not a value a message can show (use one of its "
                            "fields, such as {{first.name}})");
  expect_error("{{#items}}{{qty}}{{.}}{{/items}}", "'.' is a table");
  expect_error("{{contact.address.city.zip}}", "no value for 'contact.address.city.zip'");
}

static void test_limits(void **state)
{
  (void)state;
  env.max_items = 1;
  expect_error("{{#items}}x{{/items}}", "'items' is a list of 2 elements, more than the 1");
  env.max_items = 0, env.max_bytes = 20, env.max_bytes_name = "lua.message_bytes";
  expect_error("{{#items}}\n{{name}} {{name}} {{name}}\n{{/items}}",
               "t.txt line 2: the message grows to more than the 20 allowed (lua.message_bytes)");
  env.max_bytes = 0, env.max_bytes_name = NULL;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),        cmocka_unit_test(test_html_escape),
      cmocka_unit_test(test_sections),      cmocka_unit_test(test_standalone),
      cmocka_unit_test(test_formatters),    cmocka_unit_test(test_dates),
      cmocka_unit_test(test_zones_kept),
      cmocka_unit_test(test_one_line),      cmocka_unit_test(test_compile_errors),
      cmocka_unit_test(test_render_errors), cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

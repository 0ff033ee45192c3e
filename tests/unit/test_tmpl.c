/* Templates: placeholders, defaults, HTML escaping, one-line (header) rendering, and errors
 * that name line and var. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lua/tmpl.h"

static const char *vars_lookup(void *ud, const char *key)
{
  const char *const *kv = ud;
  for (; kv[0]; kv += 2)
    if (strcmp(kv[0], key) == 0)
      return kv[1];
  return NULL;
}

static const char *const VARS[] = {"name", "Ada", "contact.city", "Paris", "html", "<b>&\"'",
                                   "empty", "", "evil", "Ann\r\nBcc: eve@example.com", "nel", "a\xc2\x85" "b\xe2\x80\xa8" "c",
                                   NULL};

static char *render(const char *src, enum tmpl_mode mode)
{
  struct tmpl *t = NULL;
  char err[256] = "", *out = NULL;
  assert_int_equal(tmpl_compile(src, strlen(src), "t.txt", &t, err, sizeof err), 0);
  assert_int_equal(tmpl_render(t, vars_lookup, (void *)VARS, mode, &out, err, sizeof err), 0);
  tmpl_free(t);
  return out;
}

static void expect(const char *src, enum tmpl_mode mode, const char *want)
{
  char *got = render(src, mode);
  assert_string_equal(got, want);
  free(got);
}

static void test_render(void **state)
{
  (void)state;
  expect("Hi {{name}}!", TMPL_TEXT, "Hi Ada!");
  expect("Hi {{ name }}!", TMPL_TEXT, "Hi Ada!");
  expect("{{contact.city}}", TMPL_TEXT, "Paris");
  expect("Hi {{missing|there}}", TMPL_TEXT, "Hi there");
  expect("Hi {{ missing | dear friend }}", TMPL_TEXT, "Hi dear friend");
  expect("Hi {{empty|there}}", TMPL_TEXT, "Hi there");
  expect("[{{empty}}]", TMPL_TEXT, "[]");
  expect("no vars at all", TMPL_TEXT, "no vars at all");
  expect("", TMPL_TEXT, "");
  expect("a }} b", TMPL_TEXT, "a }} b");
}

static void test_html_escape(void **state)
{
  (void)state;
  expect("<p>{{html}}</p>", TMPL_HTML, "<p>&lt;b&gt;&amp;&quot;&#39;</p>");
  expect("<p>{{html}}</p>", TMPL_TEXT, "<p><b>&\"'</p>");
}

/* A header line: the template's own line breaks and trailing newline, and any control
 * character a value brings in (CR/LF injection, tab, DEL, NEL, U+2028), become one space
 * per run; blanks at either end go. Values are not HTML-escaped. */
static void test_one_line(void **state)
{
  (void)state;
  expect("Welcome, {{name}}!\n", TMPL_LINE, "Welcome, Ada!");
  expect("Welcome, {{name}}!\r\n\n  ", TMPL_LINE, "Welcome, Ada!");
  expect("Hi {{evil}}!", TMPL_LINE, "Hi Ann Bcc: eve@example.com!");
  expect("Hi {{evil}}!", TMPL_TEXT, "Hi Ann\r\nBcc: eve@example.com!");
  expect("{{nel}}", TMPL_LINE, "a b c");
  expect("\n\t two\nlines \x7f", TMPL_LINE, "two lines");
  expect("{{html}}", TMPL_LINE, "<b>&\"'");
  expect("\n{{empty}}\n", TMPL_LINE, "");
}

static void test_compile_errors(void **state)
{
  (void)state;
  struct tmpl *t = NULL;
  char err[256] = "";
  const char *src = "line one\nline two {{name\n";
  assert_int_equal(tmpl_compile(src, strlen(src), "welcome.html", &t, err, sizeof err), -1);
  assert_null(t);
  assert_string_equal(err, "welcome.html line 2: unclosed {{");
  src = "a\n\n{{ bad name }}";
  assert_int_equal(tmpl_compile(src, strlen(src), "x.txt", &t, err, sizeof err), -1);
  assert_non_null(strstr(err, "x.txt line 3: bad variable name"));
  src = "{{}}";
  assert_int_equal(tmpl_compile(src, strlen(src), "x.txt", &t, err, sizeof err), -1);
}

static void test_missing_value(void **state)
{
  (void)state;
  struct tmpl *t = NULL;
  char err[256] = "", *out = NULL;
  const char *src = "Hi\n{{first_name}}";
  assert_int_equal(tmpl_compile(src, strlen(src), "welcome.txt", &t, err, sizeof err), 0);
  assert_int_equal(tmpl_render(t, vars_lookup, (void *)VARS, 0, &out, err, sizeof err), -1);
  assert_null(out);
  assert_non_null(strstr(err, "welcome.txt line 2"));
  assert_non_null(strstr(err, "'first_name'"));
  tmpl_free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render),
      cmocka_unit_test(test_html_escape),
      cmocka_unit_test(test_one_line),
      cmocka_unit_test(test_compile_errors),
      cmocka_unit_test(test_missing_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

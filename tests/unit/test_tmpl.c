/* Templates: placeholders, defaults, HTML escaping, and errors that name line and var. */
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
                                   "empty", "", NULL};

static char *render(const char *src, int html)
{
  struct tmpl *t = NULL;
  char err[256] = "", *out = NULL;
  assert_int_equal(tmpl_compile(src, strlen(src), "t.txt", &t, err, sizeof err), 0);
  assert_int_equal(tmpl_render(t, vars_lookup, (void *)VARS, html, &out, err, sizeof err), 0);
  tmpl_free(t);
  return out;
}

static void expect(const char *src, int html, const char *want)
{
  char *got = render(src, html);
  assert_string_equal(got, want);
  free(got);
}

static void test_render(void **state)
{
  (void)state;
  expect("Hi {{name}}!", 0, "Hi Ada!");
  expect("Hi {{ name }}!", 0, "Hi Ada!");
  expect("{{contact.city}}", 0, "Paris");
  expect("Hi {{missing|there}}", 0, "Hi there");
  expect("Hi {{ missing | dear friend }}", 0, "Hi dear friend");
  expect("Hi {{empty|there}}", 0, "Hi there");
  expect("[{{empty}}]", 0, "[]");
  expect("no vars at all", 0, "no vars at all");
  expect("", 0, "");
  expect("a }} b", 0, "a }} b");
}

static void test_html_escape(void **state)
{
  (void)state;
  expect("<p>{{html}}</p>", 1, "<p>&lt;b&gt;&amp;&quot;&#39;</p>");
  expect("<p>{{html}}</p>", 0, "<p><b>&\"'</p>");
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
      cmocka_unit_test(test_compile_errors),
      cmocka_unit_test(test_missing_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

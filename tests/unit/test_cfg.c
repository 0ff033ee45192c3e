/* The configuration file: whatever it does, loading it ends with a table or a clear error,
 * never a hang (it runs under an instruction and memory budget, with no metatables, no
 * string.rep and no patterns, which could loop inside C where the budget cannot see). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cfg.h"

static void refused(const char *src, const char *needle)
{
  struct cfg *cfg = NULL;
  char err[1024];
  if (cfg_load_string(src, strlen(src), "test.conf.lua", &cfg, err, sizeof err) == 0) {
    cfg_free(cfg);
    fail_msg("accepted: %s", src);
  }
  if (!strstr(err, needle))
    fail_msg("%s: expected '%s' in: %s", src, needle, err);
}

static void test_a_loop_is_stopped(void **state)
{
  refused("while true do end", "ran more than 50000000 instructions");
  refused("local function f() while true do end end while true do pcall(f) end",
          "ran more than");
}

static void test_memory_is_capped(void **state)
{
  refused("local t = {} for i = 1, 1e9 do t[i] = i end return t", "not enough memory");
}

static void test_what_could_loop_in_c_is_absent(void **state)
{
  refused("setmetatable({}, { __gc = function() while true do end end }) return {}",
          "global 'setmetatable'");
  refused("return { x = string.rep('', math.maxinteger, '') }", "field 'rep'");
  refused("return { x = ('aaaaaaaaaaaaaaaaaaaa'):find('a*a*a*a*a*a*a*a*a*a*a*a*a*a*b') }", "method 'find'");
  refused("error(setmetatable and {} or {})", "non-string error");
}

static void test_a_plain_configuration_loads(void **state)
{
  const char *src = "local base = 'x' .. tostring(1) return { data_dir = base, log_level = 'warn',"
                    " lua = { step_ms = math.max(10, 20), step_speaks = 5 } }";
  struct cfg *cfg = NULL;
  char err[1024];
  assert_int_equal(cfg_load_string(src, strlen(src), "ok.conf.lua", &cfg, err, sizeof err), 0);
  assert_string_equal(cfg->data_dir, "x1");
  assert_int_equal(cfg->lua.step_ms, 20);
  assert_int_equal(cfg->lua.step_speaks, 5);
  cfg_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_loop_is_stopped),
      cmocka_unit_test(test_memory_is_capped),
      cmocka_unit_test(test_what_could_loop_in_c_is_absent),
      cmocka_unit_test(test_a_plain_configuration_loads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

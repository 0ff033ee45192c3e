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

/* No authentication is for this machine only; the http and retention sections are
 * checked key by key like the rest. */
static void test_http_and_retention(void **state)
{
  refused("return { listen = { address = '0.0.0.0' }, http = { auth = 'none' } }",
          "only allowed on a loopback address");
  refused("return { listen = { address = '::' }, http = { auth = 'none' } }", "only allowed on a loopback");
  refused("return { http = { auth = 'maybe' } }", "auth 'maybe' is not one of tokens, none");
  refused("return { http = { idle_timeout = '0s' } }", "must be longer than 0");
  refused("return { http = { public_metrics = 'yes' } }", "'public_metrics' must be true or false");
  refused("return { http = { max_connections = 0 } }", "'max_connections' must be a positive integer");
  refused("return { http = { backlog = 5 } }", "backlog");
  refused("return { retention = { history = '0s' } }", "must be longer than 0, or false");
  const char *src = "return { listen = { address = '::1' }, http = { auth = 'none', header_timeout = '2s' },"
                    " retention = { conversations = false, history = '30d' } }";
  struct cfg *cfg = NULL;
  char err[1024];
  assert_int_equal(cfg_load_string(src, strlen(src), "ok.conf.lua", &cfg, err, sizeof err), 0);
  assert_true(cfg->http.auth_none);
  assert_int_equal(cfg->http.header_timeout_ms, 2000);
  assert_int_equal(cfg->retention.conversations_ms, 0);
  assert_int_equal(cfg->retention.history_ms, (int64_t)30 * 86400 * 1000);
  cfg_free(cfg);
  /* without the key, tokens are asked for */
  src = "return { listen = { address = '0.0.0.0' } }";
  assert_int_equal(cfg_load_string(src, strlen(src), "ok.conf.lua", &cfg, err, sizeof err), 0);
  assert_false(cfg->http.auth_none);
  cfg_free(cfg);
  assert_true(cfg_is_loopback("127.0.0.2") && cfg_is_loopback("::1") && !cfg_is_loopback("10.0.0.1") &&
              !cfg_is_loopback("::"));
}

static struct cfg *loaded(const char *src)
{
  struct cfg *cfg = NULL;
  char err[1024];
  if (cfg_load_string(src, strlen(src), "ok.conf.lua", &cfg, err, sizeof err) != 0)
    fail_msg("refused: %s: %s", src, err);
  return cfg;
}

/* store.sync: "commit" by default (answers after the flush), "interval" with its pace;
 * anything else is refused, named. */
static void test_store_sync(void **state)
{
  struct cfg *cfg = loaded("return {}");
  assert_int_equal(cfg->store_sync_interval, 0);
  assert_int_equal(cfg->store_sync_ms, 10);
  cfg_free(cfg);
  cfg = loaded("return { store = { sync = 'interval', sync_interval = '250ms' } }");
  assert_int_equal(cfg->store_sync_interval, 1);
  assert_int_equal(cfg->store_sync_ms, 250);
  cfg_free(cfg);
  cfg = loaded("return { store = { sync = 'commit' } }");
  assert_int_equal(cfg->store_sync_interval, 0);
  cfg_free(cfg);
  refused("return { store = { sync = 'always' } }", "store: sync 'always' is not one of commit, interval");
  refused("return { store = { sync = true } }", "store: 'sync' must be a string");
  refused("return { store = { sync_interval = '0s' } }", "store: sync_interval must be between 1ms and 10s");
  refused("return { store = { sync_interval = '1m' } }", "store: sync_interval must be between 1ms and 10s");
  refused("return { store = { sync_interval = 'soon' } }", "store:");
}

/* plugin_path: a list of folders, searched before plugin_dir; anything else is refused,
 * naming the key or the entry. */
static void test_plugin_path(void **state)
{
  refused("return { plugin_path = '/opt/p' }",
          "config: 'plugin_path' must be a list of folders such as { \"/opt/parley/plugins\" }, not a string");
  refused("return { plugin_path = true }", "'plugin_path' must be a list of folders");
  refused("return { plugin_path = { '/a', 42 } }", "plugin_path[2]: must be a folder name (a string), not a number");
  refused("return { plugin_path = { '/a', { '/b' } } }", "plugin_path[2]: must be a folder name (a string), not a table");
  refused("return { plugin_path = { '' } }", "plugin_path[1]: the folder name is empty");
  refused("return { plugin_path = { dir = '/a' } }", "with no names and no holes");
  refused("return { plugin_path = { '/a', nil, '/c' } }", "with no names and no holes");
  refused("return { plugin_paths = { '/a' } }", "unknown key 'plugin_paths'");

  struct cfg *cfg = loaded("return { plugin_path = { '/opt/acme', 'rel/plugins' }, plugin_dir = '/d' }");
  assert_int_equal(cfg->n_plugin_path, 2);
  assert_string_equal(cfg->plugin_path[0], "/opt/acme");
  assert_string_equal(cfg->plugin_path[1], "rel/plugins");
  assert_string_equal(cfg->plugin_dir, "/d");
  cfg_free(cfg);
  cfg = loaded("return { plugin_path = {} }");
  assert_int_equal(cfg->n_plugin_path, 0);
  cfg_free(cfg);
  cfg = loaded("return {}");
  assert_int_equal(cfg->n_plugin_path, 0);
  cfg_free(cfg);
}

/* Left out, Parley's own folders are found from where the program runs: this test program
 * is in the build tree, so that tree's (an installed binary: tests/sdk_install.sh). The
 * embedded default names none of them. */
/* http_client.ca_file: a file that can be read is kept; another refuses the start, named. */
static void test_http_client_ca_file(void **state)
{
  struct cfg *cfg;
  char err[512];
  const char *src = "return { http_client = { ca_file = srcdir .. '/README.md' } }";
  assert_int_equal(cfg_load_string(src, strlen(src), "ok.conf.lua", &cfg, err, sizeof err), 0);
  assert_string_equal(cfg->http_client.ca_file, PARLEY_SRCDIR "/README.md");
  cfg_free(cfg);
  src = "return {}";
  assert_int_equal(cfg_load_string(src, strlen(src), "ok.conf.lua", &cfg, err, sizeof err), 0);
  assert_null(cfg->http_client.ca_file);
  cfg_free(cfg);
  refused("return { http_client = { ca_file = '/nonexistent/ca.pem' } }",
          "http_client: ca_file '/nonexistent/ca.pem' cannot be read");
  refused("return { http_client = { cafile = 'x' } }", "cafile");
}

static void test_default_dirs_in_the_build_tree(void **state)
{
  struct cfg *cfg = loaded("return {}");
  assert_string_equal(cfg->plugin_dir, PARLEY_BUILDDIR "/plugins");
  assert_string_equal(cfg->journeys_dir, PARLEY_SRCDIR "/scripts/journeys");
  assert_string_equal(cfg->sdk_dir, PARLEY_SRCDIR "/sdk/lua");
  cfg_free(cfg);
  char err[1024];
  cfg = cfg_load(NULL, err, sizeof err);
  assert_non_null(cfg);
  assert_string_equal(cfg->plugin_dir, PARLEY_BUILDDIR "/plugins");
  assert_string_equal(cfg->journeys_dir, PARLEY_SRCDIR "/scripts/journeys");
  assert_string_equal(cfg->sdk_dir, PARLEY_SRCDIR "/sdk/lua");
  assert_int_equal(cfg->n_plugin_path, 0);
  cfg_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_loop_is_stopped),
      cmocka_unit_test(test_store_sync),
      cmocka_unit_test(test_memory_is_capped),
      cmocka_unit_test(test_what_could_loop_in_c_is_absent),
      cmocka_unit_test(test_a_plain_configuration_loads),
      cmocka_unit_test(test_http_and_retention),
      cmocka_unit_test(test_plugin_path),
      cmocka_unit_test(test_http_client_ca_file),
      cmocka_unit_test(test_default_dirs_in_the_build_tree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

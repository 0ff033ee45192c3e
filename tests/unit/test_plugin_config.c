/* Plugin settings of ABI 1.1, through the loader with real plugins: the DURATION, LIST and
 * SECRET types (good values, defaults, and every refusal naming the channel and the key),
 * secrets from a file and from the environment that never reach a log line nor the output
 * of `parley check`, config_get, and a plugin whose config spec element is larger than
 * this host's (a later minor's), read with its config_spec_size. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "plugin/plugin_int.h"
#include "plugin/plugin_load.h"
#include "plugin/plugin_metrics.h"
#include "../plugins/services.h"

#define TEST_PLUGIN(name) PARLEY_BUILDDIR "/tests/plugins/.libs/" name ".so"
#define FILE_SECRET "s3cret-from-a-file-7f3a"
#define ENV_SECRET "s3cret-from-env-91c2"

struct fixture {
  struct log log;
  struct clock clock;
  struct ev_loop *loop;
  struct plugin_env env;
  struct plugin_metrics *metrics;
  char *logged; /* every record, one per line */
  size_t logged_len;
  FILE *logf;
  char dir[64];
  char err[1024];
};

/* Keeps every record, whatever its level: the secret must be in none of them. */
static void sink(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields)
{
  struct fixture *f = ud;
  fprintf(f->logf, "%s %s %s", log_level_name(lvl), subsys, msg);
  for (const char *k; (k = va_arg(fields, const char *)) != NULL;)
    fprintf(f->logf, " %s=%s", k, va_arg(fields, const char *));
  fputc('\n', f->logf);
  fflush(f->logf);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  f->logf = open_memstream(&f->logged, &f->logged_len);
  f->log = (struct log){.min = LOG_DEBUG, .sink = sink, .sink_ud = f};
  f->loop = ev_loop_new(EVFLAG_AUTO);
  clock_init_loop(&f->clock, f->loop);
  f->metrics = plugin_metrics_open();
  f->env = (struct plugin_env){.log = &f->log, .clock = &f->clock, .loop = f->loop, .metrics = f->metrics};
  snprintf(f->dir, sizeof f->dir, "/tmp/parley-pcfg-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0)
    return -1;
  plugin_metrics_close(f->metrics);
  ev_loop_destroy(f->loop);
  fclose(f->logf);
  free(f->logged);
  free(f);
  return 0;
}

static struct plugin_inst *open_ok(struct fixture *f, const char *path, const char *json)
{
  cJSON *s = json ? cJSON_Parse(json) : NULL;
  assert_true(json == NULL || s != NULL);
  struct plugin_inst *pi = NULL;
  int rc = plugin_instance_open(&f->env, "test", path, s, &pi, f->err, sizeof f->err);
  cJSON_Delete(s);
  if (rc != 0)
    fail_msg("open %s with %s: %s", path, json ? json : "{}", f->err);
  return pi;
}

/* The refusal names the file, the channel, the key, and `want`. */
static void expect_refused(struct fixture *f, const char *json, const char *key, const char *want)
{
  cJSON *s = cJSON_Parse(json);
  struct plugin_inst *pi = NULL;
  int rc = plugin_instance_open(&f->env, "test", TEST_PLUGIN("services"), s, &pi, f->err, sizeof f->err);
  cJSON_Delete(s);
  if (rc == 0)
    plugin_instance_close(pi);
  assert_int_equal(rc, -1);
  char named[128];
  snprintf(named, sizeof named, "setting '%s' of plugin 'services' (channel 'test')", key);
  if (!strstr(f->err, named) || !strstr(f->err, want) || !strstr(f->err, "services.so"))
    fail_msg("refusal of %s: got \"%s\", wanted \"%s\" and \"%s\"", json, f->err, named, want);
}

static void write_file(const char *path, const char *text)
{
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void test_defaults(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi = open_ok(f, TEST_PLUGIN("services"), NULL);
  struct svc *s = pi->self;
  assert_string_equal(s->label, "none");
  assert_int_equal(s->timeout_ms, 30000);
  assert_non_null(s->hosts);
  assert_string_equal(s->hosts[0], "a.example");
  assert_string_equal(s->hosts[1], "b.example");
  assert_null(s->hosts[2]);
  assert_null(s->token); /* a secret neither given nor defaulted */
  plugin_instance_close(pi);
}

static void test_given(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi = open_ok(f, TEST_PLUGIN("services"),
                                   "{\"label\":\"x\",\"count\":5,\"flag\":true,\"timeout\":\"1.5s\","
                                   "\"hosts\":[\"h1\",\"h2\",\"h3\"]}");
  struct svc *s = pi->self;
  assert_string_equal(s->label, "x");
  assert_int_equal(s->count, 5);
  assert_int_equal(s->flag, 1);
  assert_int_equal(s->timeout_ms, 1500);
  assert_string_equal(s->hosts[2], "h3");
  assert_null(s->hosts[3]);
  plugin_instance_close(pi);
  /* {} in Lua cannot be told from an empty list: it is one */
  pi = open_ok(f, TEST_PLUGIN("services"), "{\"hosts\":{},\"timeout\":\"250ms\"}");
  s = pi->self;
  assert_non_null(s->hosts);
  assert_null(s->hosts[0]);
  assert_int_equal(s->timeout_ms, 250);
  plugin_instance_close(pi);
}

static void test_refused(void **state)
{
  struct fixture *f = *state;
  expect_refused(f, "{\"timeout\":30}", "timeout", "write it with a unit");
  expect_refused(f, "{\"timeout\":\"30\"}", "timeout", "'30' is not a duration with a unit");
  expect_refused(f, "{\"timeout\":\"5 parsecs\"}", "timeout", "5 parsecs");
  expect_refused(f, "{\"timeout\":\"-5s\"}", "timeout", "negative");
  expect_refused(f, "{\"hosts\":\"a.example\"}", "hosts", "must be a list of strings");
  expect_refused(f, "{\"hosts\":[\"a\",2]}", "hosts", "element 2 is a number");
  expect_refused(f, "{\"hosts\":{\"a\":\"b\"}}", "hosts", "must be a list of strings such as");
  expect_refused(f, "{\"token\":\"literal-token-value\"}", "token",
                 "cannot be written in the configuration: give { file = ");
  assert_null(strstr(f->err, "literal-token-value"));
  expect_refused(f, "{\"token\":{\"file\":\"/a\",\"env\":\"B\"}}", "token", "must be { file =");
  expect_refused(f, "{\"token\":{\"path\":\"/a\"}}", "token", "must be { file =");
  expect_refused(f, "{\"token\":{\"file\":7}}", "token", "'file' must be a non-empty string");
  expect_refused(f, "{\"token\":true}", "token", "must be { file =");
}

static void test_secret_from_file(void **state)
{
  struct fixture *f = *state;
  char path[128], json[256];
  snprintf(path, sizeof path, "%s/token", f->dir);
  write_file(path, FILE_SECRET "\n");
  snprintf(json, sizeof json, "{\"token\":{\"file\":\"%s\"}}", path);
  struct plugin_inst *pi = open_ok(f, TEST_PLUGIN("services"), json);
  struct svc *s = pi->self;
  assert_string_equal(s->token, FILE_SECRET); /* the newline dropped */
  const char *got = NULL;
  assert_int_equal(plugin_host_table()->config_get(plugin_ctx(pi), "token", PARLEY_CONFIG_SECRET, &got),
                   PARLEY_OK);
  assert_ptr_equal(got, s->token);
  plugin_instance_close(pi);
  write_file(path, FILE_SECRET "\r\n"); /* written on Windows */
  pi = open_ok(f, TEST_PLUGIN("services"), json);
  assert_string_equal(((struct svc *)pi->self)->token, FILE_SECRET);
  plugin_instance_close(pi);
  assert_null(strstr(f->logged, FILE_SECRET)); /* loaded, logged, closed: never in a line */
  assert_non_null(strstr(f->logged, "plugin loaded"));

  write_file(path, "\n");
  expect_refused(f, json, "token", "which is empty");
  assert_non_null(strstr(f->err, path));
  snprintf(json, sizeof json, "{\"token\":{\"file\":\"%s/none\"}}", f->dir);
  expect_refused(f, json, "token", "which cannot be read: No such file or directory");
  snprintf(json, sizeof json, "{\"token\":{\"file\":\"%s\"}}", f->dir);
  expect_refused(f, json, "token", "not a regular file");
}

static void test_secret_from_env(void **state)
{
  struct fixture *f = *state;
  setenv("PARLEY_TEST_SVC_TOKEN", ENV_SECRET, 1);
  struct plugin_inst *pi = open_ok(f, TEST_PLUGIN("services"), "{\"token\":{\"env\":\"PARLEY_TEST_SVC_TOKEN\"}}");
  assert_string_equal(((struct svc *)pi->self)->token, ENV_SECRET);
  plugin_instance_close(pi);
  assert_null(strstr(f->logged, ENV_SECRET));
  unsetenv("PARLEY_TEST_SVC_TOKEN");
  expect_refused(f, "{\"token\":{\"env\":\"PARLEY_TEST_SVC_TOKEN\"}}", "token",
                 "the environment variable PARLEY_TEST_SVC_TOKEN, which is not set");
  setenv("PARLEY_TEST_SVC_TOKEN", "", 1);
  expect_refused(f, "{\"token\":{\"env\":\"PARLEY_TEST_SVC_TOKEN\"}}", "token", "which is empty");
  unsetenv("PARLEY_TEST_SVC_TOKEN");
}

static void test_config_get(void **state)
{
  struct fixture *f = *state;
  const struct parley_host *h = plugin_host_table();
  struct plugin_inst *pi = open_ok(f, TEST_PLUGIN("services"),
                                   "{\"count\":5,\"timeout\":\"2m\",\"hosts\":[\"p\",\"q\"],\"flag\":true}");
  parley_ctx *ctx = plugin_ctx(pi);
  struct svc *s = pi->self;
  s->count = 99; /* the plugin's own business: config_get reads the host's copy */
  int64_t n = 0;
  int b = 0;
  const char *str = NULL;
  const char *const *list = NULL;
  assert_int_equal(h->config_get(ctx, "count", PARLEY_CONFIG_INT, &n), PARLEY_OK);
  assert_int_equal(n, 5);
  assert_int_equal(h->config_get(ctx, "timeout", PARLEY_CONFIG_DURATION, &n), PARLEY_OK);
  assert_int_equal(n, 120000);
  assert_int_equal(h->config_get(ctx, "flag", PARLEY_CONFIG_BOOL, &b), PARLEY_OK);
  assert_int_equal(b, 1);
  assert_int_equal(h->config_get(ctx, "label", PARLEY_CONFIG_STRING, &str), PARLEY_OK);
  assert_string_equal(str, "none");
  assert_int_equal(h->config_get(ctx, "hosts", PARLEY_CONFIG_LIST, &list), PARLEY_OK);
  assert_string_equal(list[1], "q");
  assert_null(list[2]);
  str = "untouched";
  assert_int_equal(h->config_get(ctx, "token", PARLEY_CONFIG_SECRET, &str), PARLEY_OK);
  assert_null(str); /* not given: NULL */

  n = 7;
  assert_int_equal(h->config_get(ctx, "nope", PARLEY_CONFIG_INT, &n), PARLEY_ERROR);
  assert_int_equal(n, 7);
  assert_non_null(strstr(f->logged, "config_get refused plugin=services channel=test key=nope"));
  assert_int_equal(h->config_get(ctx, "timeout", PARLEY_CONFIG_INT, &n), PARLEY_ERROR);
  assert_int_equal(n, 7);
  assert_non_null(strstr(f->logged, "key=timeout reason=the setting is a duration, asked as an integer"));
  assert_int_equal(h->config_get(ctx, "count", (enum parley_config_type)42, &n), PARLEY_ERROR);
  assert_int_equal(h->config_get(ctx, "count", PARLEY_CONFIG_INT, NULL), PARLEY_ERROR);
  assert_int_equal(h->config_get(ctx, NULL, PARLEY_CONFIG_INT, &n), PARLEY_ERROR);
  plugin_instance_close(pi);
}

static void test_larger_spec_element(void **state)
{
  struct fixture *f = *state;
  struct future {
    const char *greeting;
    int64_t retries, wait_ms;
    const char *const *tags;
  };
  struct plugin_inst *pi = open_ok(f, TEST_PLUGIN("future_spec"), "{\"retries\":7,\"wait\":\"250ms\"}");
  struct future *s = pi->self;
  assert_string_equal(s->greeting, "hi");
  assert_int_equal(s->retries, 7);
  assert_int_equal(s->wait_ms, 250);
  assert_string_equal(s->tags[0], "x");
  assert_string_equal(s->tags[1], "y");
  assert_int_equal(pi->nsettings, 4);
  plugin_instance_close(pi);
  /* the fields this host does not know are not settings */
  cJSON *bad = cJSON_Parse("{\"unit\":\"ms\"}");
  assert_int_equal(plugin_instance_open(&f->env, "test", TEST_PLUGIN("future_spec"), bad, &pi, f->err, sizeof f->err), -1);
  cJSON_Delete(bad);
  assert_non_null(strstr(f->err, "unknown setting 'unit'"));
  assert_non_null(strstr(f->err, "known settings: greeting, retries, wait, tags"));
  assert_int_equal(plugin_instance_open(&f->env, "test", TEST_PLUGIN("future_spec_small"), NULL, &pi, f->err,
                                        sizeof f->err), -1);
  assert_non_null(strstr(f->err, "config_spec_size 8 is smaller than a 1.0 config spec element"));
}

/* `parley check` loads the plugin, secret and all, and prints nothing of the secret; a
 * literal secret is refused with the way to do it, and is not echoed either. */
static char *run_check(struct fixture *f, const char *token_setting, int *rc)
{
  char conf[128], cmd[512];
  snprintf(conf, sizeof conf, "%s/parley.conf.lua", f->dir);
  FILE *fp = fopen(conf, "w");
  assert_non_null(fp);
  fprintf(fp, "return {\n  log_level = 'debug',\n  plugin_dir = builddir .. '/plugins',\n"
              "  plugin_path = { builddir .. '/tests/plugins' },\n"
              "  journeys_dir = srcdir .. '/tests/check/journeys', sdk_dir = srcdir .. '/sdk/lua',\n"
              "  store = { backend = 'memory' },\n"
              "  channels = { email = { plugin = 'console' }, sms = { plugin = 'services', token = %s } },\n}\n",
          token_setting);
  fclose(fp);
  snprintf(cmd, sizeof cmd, "%s/core/parley check -c %s 2>&1", PARLEY_BUILDDIR, conf);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char *out = NULL;
  size_t len = 0;
  FILE *o = open_memstream(&out, &len);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    fwrite(buf, 1, n, o);
  fclose(o);
  *rc = pclose(p);
  return out;
}

static void test_secret_not_in_check(void **state)
{
  struct fixture *f = *state;
  char path[128], setting[256];
  int rc;
  snprintf(path, sizeof path, "%s/token", f->dir);
  write_file(path, FILE_SECRET "\n");
  snprintf(setting, sizeof setting, "{ file = '%s' }", path);
  char *out = run_check(f, setting, &rc);
  if (rc != 0 || !strstr(out, "check ok"))
    fail_msg("parley check failed (%d):\n%s", rc, out);
  assert_null(strstr(out, FILE_SECRET));
  free(out);
  out = run_check(f, "'literal-token-value'", &rc);
  assert_int_not_equal(rc, 0);
  if (!strstr(out, "setting 'token' of plugin 'services' (channel 'sms'): is a secret and cannot be written"))
    fail_msg("parley check said:\n%s", out);
  assert_null(strstr(out, "literal-token-value"));
  free(out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_given, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_from_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_from_env, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_larger_spec_element, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_not_in_check, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

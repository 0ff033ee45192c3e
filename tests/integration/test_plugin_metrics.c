/* Plugin metrics in the real daemon's GET /metrics: two channels served by one plugin
 * (the `services` test plugin, with a secret from a file) share each family and differ by
 * their channel label, next to the core's own metrics; and the daemon's log never holds
 * the secret. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SECRET "metrics-test-s3cret-5d1e"

static struct daemon D;

static int start(void **state)
{
  (void)state;
  h_init(&D);
  char path[160], extra[1024];
  snprintf(path, sizeof path, "%s/token", D.dir);
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fputs(SECRET "\n", f);
  fclose(f);
  snprintf(extra, sizeof extra,
           "  plugin_path = { builddir .. '/tests/plugins' },\n"
           "  channels = {\n"
           "    email = { plugin = 'file', path = spoken },\n"
           "    sms = { plugin = 'services', count = 3, token = { file = '%s' } },\n"
           "    push = { plugin = 'services', count = 5, hosts = { 'fcm.example' }, timeout = '10s' },\n"
           "  },",
           path);
  h_write_config(&D, extra);
  return h_start(&D);
}

static int stop(void **state)
{
  (void)state;
  return h_teardown(&D);
}

static void test_two_instances_one_family(void **state)
{
  (void)state;
  char *body = NULL;
  assert_int_equal(h_http(&D, "GET", "/metrics", NULL, NULL, &body), 200);
  static const char *const want[] = {
      "parley_events_total", /* the core's own are still there */
      "# HELP parley_plugin_services_sends_total Messages sent.\n"
      "# TYPE parley_plugin_services_sends_total counter\n",
      "parley_plugin_services_sends_total{channel=\"sms\"} 3\n",
      "parley_plugin_services_sends_total{channel=\"push\"} 5\n",
      "parley_plugin_services_queue_depth{channel=\"push\"} 9\n",
      "# TYPE parley_plugin_services_latency_seconds histogram\n",
      "parley_plugin_services_latency_seconds_bucket{channel=\"sms\",le=\"+Inf\"} 3\n",
      "parley_plugin_services_latency_seconds_count{channel=\"push\"} 3\n",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (strstr(body, want[i]) == NULL)
      fail_msg("/metrics lacks \"%s\":\n%s", want[i], body);
  const char *first = strstr(body, "# TYPE parley_plugin_services_sends_total");
  assert_null(strstr(first + 1, "# TYPE parley_plugin_services_sends_total")); /* one family */
  assert_null(strstr(body, SECRET));
  free(body);
}

static void test_secret_not_logged(void **state)
{
  (void)state;
  FILE *f = fopen(D.log, "r");
  assert_non_null(f);
  char line[4096];
  int loaded = 0;
  while (fgets(line, sizeof line, f)) {
    assert_null(strstr(line, SECRET));
    loaded += strstr(line, "\"plugin loaded\" plugin=services") != NULL;
  }
  fclose(f);
  if (loaded != 2) {
    h_dump_log(&D);
    fail_msg("%d plugin loaded lines for services, 2 expected", loaded);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_instances_one_family),
      cmocka_unit_test(test_secret_not_logged),
  };
  return cmocka_run_group_tests(tests, start, stop);
}

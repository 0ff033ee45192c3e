/* Journey stats through the real daemon: GET /v1/journeys/{name}/stats over HTTP (the
 * shipped newsletter welcome series and its A/B test), counted as events and receipts
 * come in, kept across a restart, read for a range; unknown journeys and bad times are
 * JSON errors; `parley stats` reads the same store beside the running daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static struct daemon D;
#define STATS "/v1/journeys/newsletter_welcome/stats"
#define SUBSCRIBERS 20

static int start(void **state)
{
  return h_setup(&D, "  channels = { email = { plugin = 'file', path = spoken, receipts = true } },");
}

static int stop(void **state)
{
  return h_teardown(&D);
}

static cJSON *get(const char *path, long status)
{
  char *out = NULL;
  long got = h_http(&D, "GET", path, NULL, NULL, &out);
  if (got != status)
    fail_msg("GET %s: %ld, want %ld: %s", path, got, status, out ? out : "");
  cJSON *doc = out ? cJSON_Parse(out) : NULL;
  free(out);
  assert_non_null(doc);
  return doc;
}

/* A number at a path of names; -1 when absent. */
static double at(const cJSON *doc, ...)
{
  va_list ap;
  va_start(ap, doc);
  const cJSON *v = doc;
  for (const char *name; v && (name = va_arg(ap, const char *));)
    v = cJSON_GetObjectItemCaseSensitive(v, name);
  va_end(ap);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The stats once `channel_row` of email reaches `n` (deliveries and receipts come in on
 * the loop, after the answer to the events), or fails after 5 s. */
static cJSON *stats_when(const char *channel_row, double n)
{
  long until = h_now_ms() + 5000;
  for (;;) {
    cJSON *doc = get(STATS, 200);
    if (at(doc, "channels", "email", channel_row, NULL) >= n)
      return doc;
    if (h_now_ms() > until)
      fail_msg("email %s never reached %.0f", channel_row, n);
    cJSON_Delete(doc);
    h_sleep_ms(20);
  }
}

static void expect_error(const char *path, long status, const char *code)
{
  cJSON *doc = get(path, status);
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "error"), "code");
  if (!cJSON_IsString(c) || strcmp(c->valuestring, code) != 0)
    fail_msg("GET %s: want error %s", path, code);
  cJSON_Delete(doc);
}

/* `parley stats ARGS -c <config>`: the exit code, and what it printed in *out. */
static int parley_stats(const char *args, char **out)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/core/parley stats %s -c %s 2>&1", PARLEY_BUILDDIR, args, D.conf);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t len = 0;
  FILE *m = open_memstream(out, &len);
  for (int c; (c = fgetc(p)) != EOF;)
    fputc(c, m);
  fclose(m);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_stats_over_http_across_a_restart_and_from_the_cli(void **state)
{
  char body[4096] = "", line[160];
  for (int i = 0; i < SUBSCRIBERS; i++) {
    snprintf(line, sizeof line,
             "{\"id\":\"s%d\",\"type\":\"newsletter.subscribed\",\"contact\":\"s%d\",\"profile\":{\"email\":\"s%d@x.org\"}}\n",
             i, i, i);
    strcat(body, line);
  }
  cJSON_Delete(h_post(&D, body, 200));
  cJSON *doc = get(STATS, 200);
  double held = at(doc, "experiments", "newsletter_subject", "holdout", "assigned", NULL);
  double a = at(doc, "experiments", "newsletter_subject", "a", "assigned", NULL);
  double b = at(doc, "experiments", "newsletter_subject", "b", "assigned", NULL);
  assert_true(at(doc, "entered", NULL) == SUBSCRIBERS && at(doc, "steps", "start", "entered", NULL) == SUBSCRIBERS);
  assert_true((held > 0 ? held : 0) + a + b == SUBSCRIBERS);
  double welcomed = at(doc, "steps", "start", "spoken", NULL);
  assert_true(welcomed == a + b);
  cJSON_Delete(doc);
  cJSON_Delete(stats_when("delivered", welcomed));

  /* a click on one welcome (the message's id, as a provider's event carries it), an order */
  const char *who = NULL;
  cJSON *spoken = NULL;
  for (int i = 0; i < SUBSCRIBERS && !who; i++) {
    snprintf(line, sizeof line, "s%d", i);
    cJSON_Delete(spoken);
    spoken = h_spoken_to(&D, line);
    if (cJSON_GetArraySize(spoken) > 0)
      who = line;
  }
  assert_non_null(who);
  snprintf(body, sizeof body, "{\"id\":\"c1\",\"type\":\"email.clicked\",\"contact\":\"%s\",\"data\":{\"message_id\":\"%s\"}}",
           who, h_str(spoken, 0, "id"));
  cJSON_Delete(h_post(&D, body, 200));
  snprintf(body, sizeof body, "{\"id\":\"o1\",\"type\":\"order.placed\",\"contact\":\"%s\"}", who);
  cJSON_Delete(h_post(&D, body, 200));
  cJSON_Delete(spoken);
  doc = stats_when("clicked", 1);
  assert_true(at(doc, "converted", NULL) == 1 && at(doc, "attribution", "last_touch", "email/nl_welcome", NULL) == 1);
  assert_true(at(doc, "channels", "email", "sent", NULL) == welcomed);
  cJSON_Delete(doc);

  /* errors, and a range with nothing in it */
  expect_error("/v1/journeys/nope/stats", 404, "not_found");
  expect_error(STATS "?from=yesterday", 400, "bad_query");
  expect_error(STATS "?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", 400, "bad_query");
  doc = get(STATS "?from=2100-01-01T00:00:00Z", 200);
  assert_true(at(doc, "entered", NULL) == 0);
  cJSON_Delete(doc);

  /* the CLI, beside the running daemon */
  char *out = NULL;
  assert_int_equal(parley_stats("newsletter_welcome", &out), 0);
  if (!strstr(out, "experiment newsletter_subject") || !strstr(out, "entered 20, converted 1"))
    fail_msg("parley stats said:\n%s", out);
  free(out);
  assert_int_equal(parley_stats("newsletter_welcome --json", &out), 0);
  cJSON *json = cJSON_Parse(out);
  assert_true(at(json, "entered", NULL) == SUBSCRIBERS);
  cJSON_Delete(json);
  free(out);
  assert_int_equal(parley_stats("nope", &out), 1);
  assert_non_null(strstr(out, "no stats for journey 'nope'"));
  free(out);
  assert_int_equal(parley_stats("", &out), 0);
  assert_non_null(strstr(out, "newsletter_welcome"));
  free(out);

  /* a restart keeps every counter */
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  assert_int_equal(h_start(&D), 0);
  doc = get(STATS, 200);
  assert_true(at(doc, "entered", NULL) == SUBSCRIBERS && at(doc, "converted", NULL) == 1);
  assert_true(at(doc, "channels", "email", "clicked", NULL) == 1);
  cJSON_Delete(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stats_over_http_across_a_restart_and_from_the_cli, start, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

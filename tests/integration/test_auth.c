/* Tokens through the real daemon: every route with no token, a token that is not one, a
 * token without the route's scope and one with it; a revoked token; health and metrics
 * open or closed by configuration. Tokens are made with `parley token create`, as an
 * operator would, while the daemon runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct daemon D;

static int start(void **state)
{
  return h_setup(&D, "  http = { auth = 'tokens', public_healthz = true, public_metrics = false },\n"
                     "  channels = { email = { plugin = 'file', path = spoken } },");
}

static int stop(void **state)
{
  return h_teardown(&D);
}

/* `parley token create`; the token it printed (malloc'd). */
static char *make_token(const char *name, const char *scopes)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/core/parley token create --name %s --scope %s -c %s 2>/dev/null", PARLEY_BUILDDIR,
           name, scopes, D.conf);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[256] = "";
  assert_non_null(fgets(line, sizeof line, p));
  assert_int_equal(pclose(p), 0);
  line[strcspn(line, "\n")] = '\0';
  assert_int_equal(strncmp(line, "prl_", 4), 0);
  return strdup(line);
}

static void expect_status(const char *token, const char *method, const char *path, const char *body, long want,
                          const char *code)
{
  char *out = NULL;
  long st = h_http_as(&D, token, method, path, body, NULL, &out);
  if (st != want || (code && (!out || !strstr(out, code))))
    fail_msg("%s %s with %s: %ld %s, want %ld %s", method, path, token ? "a token" : "no token", st, out, want,
             code ? code : "");
  free(out);
}

struct route {
  const char *method, *path, *body, *scope;
};

static const struct route routes[] = {
    {"POST", "/v1/events", "{\"type\":\"signup\",\"contact\":\"au1\"}", "events:write"},
    {"GET", "/v1/contacts/au1", NULL, "contacts:read"},
    {"DELETE", "/v1/contacts/nobody", NULL, "contacts:write"},
    {"PUT", "/v1/contacts/au2", "{\"first_name\":\"Au\"}", "contacts:write"},
    {"PATCH", "/v1/contacts/au1", "{\"first_name\":\"Au\"}", "contacts:write"},
    {"POST", "/v1/contacts/au1/devices", "{\"platform\":\"ios\",\"token\":\"au-tok\"}", "contacts:write"},
    {"DELETE", "/v1/contacts/au1/devices/no-such-token", NULL, "contacts:write"},
    {"GET", "/v1/journeys", NULL, "metrics:read"},
    {"POST", "/v1/admin/reload", "", "admin"},
    {"POST", "/v1/outbox/nosuchmessage/replay", "", "admin"},
    {"PUT", "/v1/suppressions/email/au9%40example.com", "", "admin"},
    {"DELETE", "/v1/suppressions/email/nobody%40example.com", NULL, "admin"},
    {"GET", "/v1/suppressions/email", NULL, "admin"},
    {"GET", "/metrics", NULL, "metrics:read"},
};

static void test_every_route_asks_for_its_scope(void **state)
{
  char *tokens[5];
  const char *scopes[] = {"events:write", "contacts:read", "admin", "metrics:read", "contacts:write"};
  for (int i = 0; i < 5; i++) {
    char name[32];
    snprintf(name, sizeof name, "t%d", i);
    tokens[i] = make_token(name, scopes[i]);
  }
  char forged[128];
  snprintf(forged, sizeof forged, "%.17sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tokens[0]); /* right id, wrong secret */
  for (size_t r = 0; r < sizeof routes / sizeof routes[0]; r++) {
    const struct route *rt = &routes[r];
    expect_status(NULL, rt->method, rt->path, rt->body, 401, "unauthorized");
    expect_status("not-a-token", rt->method, rt->path, rt->body, 401, "unauthorized");
    expect_status(forged, rt->method, rt->path, rt->body, 401, "unauthorized");
    for (int i = 0; i < 5; i++) {
      char *out = NULL;
      long st = h_http_as(&D, tokens[i], rt->method, rt->path, rt->body, NULL, &out);
      int may = strcmp(scopes[i], rt->scope) == 0;
      if (may ? (st == 401 || st == 403) : (st != 403 || !strstr(out, "forbidden")))
        fail_msg("%s %s with a %s token: %ld %s", rt->method, rt->path, scopes[i], st, out);
      free(out);
    }
  }
  /* what the right tokens did */
  long st;
  cJSON_Delete(h_get_contact(&D, "au1", &st));
  assert_int_equal(st, 401);
  expect_status(tokens[1], "GET", "/v1/contacts/au1", NULL, 200, "\"au1\"");
  expect_status(tokens[2], "POST", "/v1/outbox/nosuchmessage/replay", "", 404, "not_found");
  expect_status(tokens[2], "GET", "/v1/suppressions/email", NULL, 200, "\"au9@example.com\"");
  /* /healthz is public here, /metrics is not */
  expect_status(NULL, "GET", "/healthz", NULL, 200, "ok");
  for (int i = 0; i < 5; i++)
    free(tokens[i]);
}

static void test_a_revoked_token_stops_at_once(void **state)
{
  char *tok = make_token("short-lived", "contacts:read");
  expect_status(tok, "GET", "/v1/contacts/nobody", NULL, 404, "not_found");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s/core/parley token revoke short-lived -c %s >/dev/null 2>&1", PARLEY_BUILDDIR, D.conf);
  assert_int_equal(system(cmd), 0);
  expect_status(tok, "GET", "/v1/contacts/nobody", NULL, 401, "unauthorized");
  free(tok);
}

/* The daemon's log never holds a token, whatever was sent. */
static void test_tokens_never_reach_the_log(void **state)
{
  char *tok = make_token("logged", "events:write");
  expect_status(tok, "POST", "/v1/events", "{\"type\":\"x\",\"contact\":\"lg\",\"data\":{\"note\":\"hello\"}}", 200, NULL);
  char path[256], line[4096];
  snprintf(path, sizeof path, "%s", D.log);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  while (fgets(line, sizeof line, f))
    if (strstr(line, tok + 17) || strstr(line, "prl_"))
      fail_msg("a token in the log: %s", line);
  fclose(f);
  free(tok);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_route_asks_for_its_scope),
      cmocka_unit_test(test_a_revoked_token_stops_at_once),
      cmocka_unit_test(test_tokens_never_reach_the_log),
  };
  return cmocka_run_group_tests(tests, start, stop);
}

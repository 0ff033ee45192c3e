/* The escape suite: hostile and careless journey code run by the real daemon over HTTP
 * (tests/integration/escape_journeys/escapes.lua, one case per event). For each case: the
 * conversation fails with the expected reason, within its time budget and a small slack;
 * meanwhile a control conversation of another contact, in another journey, speaks within
 * a second; the daemon answers /healthz; its resident memory stays under the figure the
 * README documents. Last, a SIGTERM sent while a bad step runs stops the daemon cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define RSS_LIMIT_KB (256 * 1024) /* the README figure for two journeys of 64 MiB each */

static struct daemon D;

static int start(void **state)
{
  h_init(&D);
  snprintf(D.journeys, sizeof D.journeys, "%s/tests/integration/escape_journeys", PARLEY_SRCDIR);
  h_write_config(&D, "  lua = { step_instructions = 0, step_ms = 250, message_bytes = 65536,\n"
                     "          conversation_memory_bytes = 65536 },\n"
                     "  channels = { email = { plugin = 'file', path = spoken } },");
  return h_start(&D);
}

static int stop(void **state)
{
  if (D.pid > 0)
    return h_teardown(&D);
  h_cleanup(&D);
  return 0;
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long rss_kb(pid_t pid)
{
  char path[64], line[256];
  long kb = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  if (f)
    fclose(f);
  return kb;
}

struct bad_post {
  const char *tag;  /* names the event and the contact: bad-<tag> */
  const char *kase; /* the case the journey runs */
  long status;
  int64_t ms;
};

static void *post_bad(void *arg)
{
  struct bad_post *b = arg;
  char body[256];
  snprintf(body, sizeof body,
           "{\"id\":\"esc-%s\",\"type\":\"escape.try\",\"contact\":\"bad-%s\","
           "\"profile\":{\"email\":\"bad@example.com\"},\"data\":{\"case\":\"%s\"}}",
           b->tag, b->tag, b->kase);
  int64_t t0 = now_ms();
  b->status = h_http(&D, "POST", "/v1/events", body, "application/json", NULL);
  b->ms = now_ms() - t0;
  return NULL;
}

static void expect_failed(const char *contact, const char *reason)
{
  cJSON *cv = h_first_conv(&D, contact);
  cJSON *status = cJSON_GetObjectItem(cv, "status");
  const char *st = cJSON_IsString(status) ? status->valuestring : NULL;
  cJSON *err = cJSON_GetObjectItem(cv, "error");
  if (!st || strcmp(st, "failed") != 0 || !cJSON_IsString(err) || !strstr(err->valuestring, reason))
    fail_msg("%s: want failed with '%s', got %s: %s", contact, reason, st ? st : "?",
             cJSON_IsString(err) ? err->valuestring : "(no error)");
  cJSON_Delete(cv);
}

/* One case: the bad step runs while the control contact pings. */
static void run_case(const char *name, const char *reason)
{
  struct bad_post b = {name, name, 0, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, post_bad, &b), 0);
  h_sleep_ms(10);
  char ctl[64], body[256];
  snprintf(ctl, sizeof ctl, "ctl-%s", name);
  snprintf(body, sizeof body,
           "{\"id\":\"ctl-%s\",\"type\":\"control.ping\",\"contact\":\"%s\","
           "\"profile\":{\"email\":\"ctl@example.com\"}}", name, ctl);
  int64_t t0 = now_ms();
  cJSON_Delete(h_post(&D, body, 200));
  cJSON *sp = h_wait_spoken(&D, ctl, 1, 1000);
  int64_t waited = now_ms() - t0;
  assert_int_equal(cJSON_GetArraySize(sp), 1);
  cJSON_Delete(sp);
  pthread_join(th, NULL);
  assert_int_equal(b.status, 200);
  snprintf(body, sizeof body, "bad-%s", name);
  expect_failed(body, reason);
  assert_int_equal(h_http(&D, "GET", "/healthz", NULL, NULL, NULL), 200);
  long kb = rss_kb(D.pid);
  printf("# %-16s bad step answered in %3lld ms; control spoke within %3lld ms; RSS %ld MiB\n", name,
         (long long)b.ms, (long long)waited, kb / 1024);
  assert_true(waited < 1000);
  assert_true(kb > 0 && kb < RSS_LIMIT_KB);
}

static void test_loops(void **state)
{
  run_case("loop", "exceeded its 250 ms time budget");
  run_case("pcall_loop", "exceeded its 250 ms time budget");
  run_case("close_loop", "exceeded its 250 ms time budget");
}

static void test_hooks_off_and_long_c_calls(void **state)
{
  run_case("finalizer", "finalizers (__gc) are not allowed in journeys");
  run_case("tostring_error", "(error object is a table value)");
  run_case("rep_nothing", "rep returned 0 bytes at once");
  run_case("concat_c_index", "exceeded");
  run_case("move_c_newindex", "exceeded its 250 ms time budget");
  run_case("sort_fake_len", "exceeded");
  run_case("unpack_many", "more than 10000 values");
  run_case("pattern_find", "exceeded its 250 ms time budget");
  run_case("pattern_gsub", "exceeded its 250 ms time budget");
}

static void test_output_and_memory(void **state)
{
  run_case("big_messages", "(lua.message_bytes)");
  run_case("many_messages", "more than 20 messages in one step (lua.step_speaks)");
  run_case("big_memory", "(lua.conversation_memory_bytes)");
  run_case("memory_bomb", "exceeded"); /* its memory, or its time first under the sanitizers */
  run_case("file_level", "changed the file-level local 'count'");
}

/* SIGTERM while a bad step runs: the step ends at its budget, then the daemon stops
 * cleanly (exit status 0; under the sanitizers, no leak or error report either). */
static void test_sigterm_during_a_bad_step(void **state)
{
  struct bad_post b = {"term", "loop", 0, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, post_bad, &b), 0);
  h_sleep_ms(30);
  int64_t t0 = now_ms();
  int rc = h_stop(&D, SIGTERM);
  int64_t took = now_ms() - t0;
  pthread_join(th, NULL);
  printf("# SIGTERM during a bad step: exit status %d after %lld ms\n", rc, (long long)took);
  D.pid = 0;
  assert_int_equal(rc, 0);
  assert_true(took < 5000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loops),
      cmocka_unit_test(test_hooks_off_and_long_c_calls),
      cmocka_unit_test(test_output_and_memory),
      cmocka_unit_test(test_sigterm_during_a_bad_step),
  };
  return cmocka_run_group_tests(tests, start, stop);
}

/* The crash test: the daemon, under a steady load of events, is killed with SIGKILL at
 * random moments several times and started again each time. The client re-posts every
 * request that was not acknowledged (same event ids). In the end:
 *   - every accepted event was applied exactly once (one conversation per contact, one
 *     entry for the event in its history);
 *   - every due deadline fired (each welcome conversation ran to its end: welcome, nudge,
 *     last offer, done);
 *   - every message was delivered at least once, and a message seen twice is the same
 *     message (same id) handed over again, never a second decision.
 * Twice: with store.sync = "commit" (the default: an answer waits for its flush, which a
 * thread does while the loop goes on), and with store.sync = "interval" (answers at
 * commit, flushed every 50ms). A flush only matters to a crash of the machine: a killed
 * daemon's commits are in the file already, so in both modes every acknowledged event
 * must be there after the kill (interval mode's loss window, the last interval, is about
 * power loss, which this test cannot cause).
 * The seed is printed; PARLEY_CRASH_SEED=N replays a run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define KILLS 5
#define BATCH 20
#define MAX_BATCHES 400
static const char *const TEMPLATES[] = {"welcome", "welcome_nudge", "welcome_offer"};

static struct daemon D;
static int acked[MAX_BATCHES];
static int n_batches;

static void post_batch(int b)
{
  char *body = malloc(BATCH * 160), *p = body;
  for (int i = 0; i < BATCH; i++) {
    int n = b * BATCH + i;
    p += sprintf(p, "{\"id\":\"e%d\",\"type\":\"user.signed_up\",\"contact\":\"c%d\",\"profile\":{\"email\":\"c%d@x.org\"}}\n",
                 n, n, n);
  }
  acked[b] = h_http(&D, "POST", "/v1/events", body, "application/x-ndjson", NULL) == 200;
  free(body);
}

/* A child that kills the daemon after a random moment, while the parent posts. */
static pid_t kill_later(pid_t daemon, long ms)
{
  pid_t k = fork();
  if (k == 0) {
    h_sleep_ms(ms);
    kill(daemon, SIGKILL);
    _exit(0);
  }
  return k;
}

static void load_until_killed(long ms)
{
  pid_t killer = kill_later(D.pid, ms);
  int status;
  while (waitpid(killer, &status, WNOHANG) == 0 && n_batches < MAX_BATCHES) {
    post_batch(n_batches++);
    h_sleep_ms(5);
  }
  waitpid(killer, &status, 0);
  waitpid(D.pid, &status, 0);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void repost_unacknowledged(void)
{
  for (int b = 0; b < n_batches; b++)
    if (!acked[b])
      post_batch(b);
  for (int b = 0; b < n_batches; b++)
    assert_true(acked[b]);
}

/* Per contact: how many lines each template got, and whether they share one id. */
struct seen {
  int lines[3];
  char id[3][40];
  int id_mismatch;
};

static void read_spoken(struct seen *seen, int n_contacts)
{
  FILE *f = fopen(D.spoken, "r");
  assert_non_null(f);
  char line[16384];
  while (fgets(line, sizeof line, f)) {
    cJSON *o = cJSON_Parse(line);
    assert_non_null(o);
    int c = atoi(cJSON_GetObjectItem(o, "contact")->valuestring + 1);
    const char *tmpl = cJSON_GetObjectItem(o, "template")->valuestring;
    const char *id = cJSON_GetObjectItem(o, "id")->valuestring;
    assert_true(c >= 0 && c < n_contacts);
    for (int t = 0; t < 3; t++) {
      if (strcmp(tmpl, TEMPLATES[t]) != 0)
        continue;
      if (seen[c].lines[t]++ == 0)
        snprintf(seen[c].id[t], sizeof seen[c].id[t], "%s", id);
      else if (strcmp(seen[c].id[t], id) != 0)
        seen[c].id_mismatch = 1;
    }
    cJSON_Delete(o);
  }
  fclose(f);
}

static int conversation_done(int c, int *events_in_history)
{
  char id[32];
  long st;
  snprintf(id, sizeof id, "c%d", c);
  cJSON *doc = h_get_contact(&D, id, &st);
  assert_int_equal(st, 200);
  cJSON *convs = cJSON_GetObjectItem(doc, "conversations");
  assert_int_equal(cJSON_GetArraySize(convs), 1); /* applied once: entered once */
  cJSON *status = cJSON_GetObjectItem(cJSON_GetArrayItem(convs, 0), "status");
  int done = strcmp(status->valuestring, "done") == 0;
  *events_in_history = 0;
  cJSON *h;
  cJSON_ArrayForEach(h, cJSON_GetObjectItem(doc, "history"))
  {
    if (strncmp(cJSON_GetObjectItem(h, "what")->valuestring, "event user.signed_up", 20) == 0)
      (*events_in_history)++;
  }
  cJSON_Delete(doc);
  return done;
}

static void kill_nine_loses_nothing(void)
{
  const char *env = getenv("PARLEY_CRASH_SEED");
  unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
  fprintf(stderr, "# crash test seed %u (PARLEY_CRASH_SEED=%u replays it)\n", seed, seed);
  srand(seed);
  for (int k = 0; k < KILLS; k++) {
    load_until_killed(150 + rand() % 600);
    assert_int_equal(h_start(&D), 0);
    repost_unacknowledged();
  }
  size_t n_contacts = (size_t)n_batches * BATCH;
  fprintf(stderr, "# %d kills, %zu events\n", KILLS, n_contacts);
  /* every conversation runs to its end: welcome, 1 s, nudge, 1 s, offer, done */
  for (int c = 0; c < (int)n_contacts; c++) {
    int events = 0, tries = 0;
    while (!conversation_done(c, &events) && tries++ < 100)
      h_sleep_ms(50);
    if (events != 1)
      fail_msg("contact c%d: the event was applied %d times", c, events);
    assert_true(tries <= 100);
  }
  struct seen *seen = calloc(n_contacts, sizeof *seen);
  read_spoken(seen, (int)n_contacts);
  int redelivered = 0;
  for (int c = 0; c < (int)n_contacts; c++) {
    for (int t = 0; t < 3; t++) {
      if (seen[c].lines[t] < 1)
        fail_msg("contact c%d never got %s", c, TEMPLATES[t]);
      /* a kill can hand a message over again once, at most */
      if (seen[c].lines[t] > 1 + KILLS)
        fail_msg("contact c%d got %s %d times", c, TEMPLATES[t], seen[c].lines[t]);
      redelivered += seen[c].lines[t] - 1;
    }
    if (seen[c].id_mismatch)
      fail_msg("contact c%d: a message was decided twice (two ids for one template)", c);
  }
  free(seen);
  fprintf(stderr, "# %d messages handed over again after a kill\n", redelivered);
}

/* Does the daemon's log (all its runs) hold `what`? */
static int log_has(const char *what)
{
  FILE *f = fopen(D.log, "r");
  assert_non_null(f);
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f))
    found = strstr(line, what) != NULL;
  fclose(f);
  return found;
}

static void test_kill_nine_loses_nothing(void **state)
{
  kill_nine_loses_nothing();
}

/* The same with store.sync = "interval"; the flushes did happen meanwhile (the log says
 * nothing of a failed one). */
static void test_kill_nine_interval(void **state)
{
  kill_nine_loses_nothing();
  assert_false(log_has("flushing to disk failed"));
  assert_true(log_has("sync=interval"));
}

#define CRASH_CONFIG(store)                                                                          \
  "  store = { " store " },\n"                                                                     \
  "  channels = { email = { plugin = 'file', path = spoken },\n"                                   \
  "               sms = { plugin = 'file', path = spoken } },\n"                                   \
  "  journey_params = { welcome = { follow_up_after = '1s', last_call_after = '1s' } },"

static int setup(void **state)
{
  n_batches = 0;
  memset(acked, 0, sizeof acked);
  return h_setup(&D, CRASH_CONFIG("map_size_mb = 256"));
}

static int setup_interval(void **state)
{
  n_batches = 0;
  memset(acked, 0, sizeof acked);
  return h_setup(&D, CRASH_CONFIG("map_size_mb = 256, sync = 'interval', sync_interval = '50ms'"));
}

static int teardown(void **state)
{
  return h_teardown(&D);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_kill_nine_loses_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kill_nine_interval, setup_interval, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

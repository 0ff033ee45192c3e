/* The operator's tools, run as a user would: `parley inspect`, `parley replay` and
 * `parley backup` as subprocesses beside the real daemon, which keeps serving. */
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
#include "timestamp.h"

static struct daemon D;

static const char *const FILE_CHANNELS =
    "  channels = { email = { plugin = 'file', path = spoken },\n"
    "               sms = { plugin = 'file', path = spoken } },\n"
    "  journey_params = { welcome = { follow_up_after = '1h', last_call_after = '1h' } },";

/* Every delivery of the email channel fails (PARLEY_RETRY); two attempts, then dead. */
static const char *const FAILING_EMAIL =
    "  plugin_dir = builddir .. '/tests/plugins',\n"
    "  delivery = { max_attempts = 2, retry_base = '50ms', retry_max = '100ms' },\n"
    "  channels = { email = { plugin = 'pending_send', fail = true, delay_ms = 1 } },\n"
    "  journey_params = { welcome = { follow_up_after = '1h', last_call_after = '1h' } },";

struct run {
  int status; /* exit code; 128 + signal when killed */
  char *out, *err;
};

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  assert_non_null(m);
  for (int c; f && (c = fgetc(f)) != EOF;)
    fputc(c, m);
  fclose(m);
  if (f)
    fclose(f);
  return text;
}

/* Runs `parley ARGS... -c <d's config>`, its output captured in files of d's folder. */
static struct run cli(const struct daemon *d, const char *const *args)
{
  char out[160], err[160];
  const char *argv[16] = {"parley"};
  size_t n = 1;
  for (; args[n - 1] && n < 12; n++)
    argv[n] = args[n - 1];
  argv[n++] = "-c";
  argv[n++] = d->conf;
  argv[n] = NULL;
  snprintf(out, sizeof out, "%s/cli.out", d->dir);
  snprintf(err, sizeof err, "%s/cli.err", d->dir);
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
      _exit(127);
    execv(PARLEY_BUILDDIR "/core/parley", (char *const *)argv);
    _exit(127);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  struct run r = {WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status), slurp(out), slurp(err)};
  return r;
}

static void run_free(struct run *r)
{
  free(r->out);
  free(r->err);
}

/* Fails the test, showing what the tool said, unless `text` holds `what`. */
static void assert_says(const struct run *r, const char *text, const char *what)
{
  if (!strstr(text, what))
    fail_msg("expected \"%s\" in the output of parley (exit %d)\nstdout:\n%s\nstderr:\n%s", what, r->status,
             r->out, r->err);
}

static int setup(void **state)
{
  return h_setup(&D, FILE_CHANNELS);
}

static int teardown(void **state)
{
  return h_teardown(&D);
}

static void signup(const struct daemon *d, const char *contact)
{
  char body[256];
  snprintf(body, sizeof body,
           "{\"id\":\"%s-signup\",\"type\":\"user.signed_up\",\"contact\":\"%s\","
           "\"profile\":{\"email\":\"%s@example.com\"}}",
           contact, contact, contact);
  cJSON_Delete(h_post(d, body, 200));
}

static void test_inspect_shows_a_waiting_contact(void **state)
{
  signup(&D, "w1");
  cJSON *cv = h_first_conv(&D, "w1");
  char deadline[32]; /* the API's time to the millisecond; inspect shows it to the second */
  timestamp_format(h_time(cv, "deadline"), deadline, sizeof deadline);
  cJSON_Delete(cv);

  struct run r = cli(&D, (const char *[]){"inspect", "w1", NULL});
  assert_int_equal(r.status, 0);
  assert_says(&r, r.out, "welcome v1");
  assert_says(&r, r.out, "[listening]");
  assert_says(&r, r.out, "follow_up");
  assert_says(&r, r.out, "email.clicked, email.replied");
  assert_says(&r, r.out, deadline);
  assert_says(&r, r.out, "(in 59m"); /* the journey waits 1h */
  assert_says(&r, r.out, "spoke email/welcome");
  run_free(&r);

  /* --json is the document GET /v1/contacts/{id} answers, plus the contact's outbox */
  r = cli(&D, (const char *[]){"inspect", "w1", "--json", NULL});
  assert_int_equal(r.status, 0);
  cJSON *doc = cJSON_Parse(r.out);
  assert_non_null(doc);
  cJSON *outbox = cJSON_DetachItemFromObject(doc, "outbox");
  assert_true(cJSON_IsArray(outbox));
  long st;
  cJSON *api = h_get_contact(&D, "w1", &st);
  assert_int_equal(st, 200);
  assert_true(cJSON_Compare(doc, api, 1));
  cJSON_Delete(outbox);
  cJSON_Delete(doc);
  cJSON_Delete(api);
  run_free(&r);

  r = cli(&D, (const char *[]){"inspect", "ghost", NULL});
  assert_int_equal(r.status, 1);
  assert_says(&r, r.err, "no contact 'ghost'");
  assert_string_equal(r.out, "");
  run_free(&r);
}

/* The dead letters as `inspect --dead --json` lists them. */
static cJSON *dead_letters(void)
{
  struct run r = cli(&D, (const char *[]){"inspect", "--dead", "--json", NULL});
  assert_int_equal(r.status, 0);
  cJSON *doc = cJSON_Parse(r.out);
  run_free(&r);
  assert_non_null(doc);
  cJSON *arr = cJSON_DetachItemFromObject(doc, "dead_letters");
  cJSON_Delete(doc);
  assert_true(cJSON_IsArray(arr));
  return arr;
}

/* Waits up to `ms` for the number of dead letters to become `n`. */
static cJSON *wait_dead_letters(int n, long ms)
{
  for (long waited = 0;; waited += 100) {
    cJSON *arr = dead_letters();
    if (cJSON_GetArraySize(arr) == n || waited >= ms)
      return arr;
    cJSON_Delete(arr);
    h_sleep_ms(100);
  }
}

static void test_dead_letter_is_shown_and_replayed(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, FAILING_EMAIL);
  assert_int_equal(h_start(&D), 0);
  signup(&D, "d1");
  cJSON *dead = wait_dead_letters(1, 5000);
  assert_int_equal(cJSON_GetArraySize(dead), 1);
  char id[64];
  snprintf(id, sizeof id, "%s", h_str(dead, 0, "id"));
  assert_string_equal(h_str(dead, 0, "contact"), "d1");
  assert_string_equal(h_str(dead, 0, "state"), "dead");
  assert_string_equal(h_str(dead, 0, "last_error"), "provider unavailable");
  assert_int_equal(h_num(cJSON_GetArrayItem(dead, 0), "attempts"), 2);
  h_time(cJSON_GetArrayItem(dead, 0), "due"); /* RFC 3339 text, as every time the API shows */
  cJSON_Delete(dead);

  struct run r = cli(&D, (const char *[]){"inspect", "--dead", NULL});
  assert_int_equal(r.status, 0);
  assert_says(&r, r.out, id);
  assert_says(&r, r.out, "email/welcome");
  assert_says(&r, r.out, "provider unavailable");
  assert_says(&r, r.out, "parley replay ID");
  run_free(&r);
  r = cli(&D, (const char *[]){"inspect", "d1", NULL});
  assert_int_equal(r.status, 0);
  assert_says(&r, r.out, "DEAD LETTER after 2 attempts: provider unavailable");
  char hint[128];
  snprintf(hint, sizeof hint, "parley replay %s", id);
  assert_says(&r, r.out, hint);
  run_free(&r);

  /* a dead letter stays dead across a restart, and replay needs the daemon */
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, FILE_CHANNELS);
  r = cli(&D, (const char *[]){"replay", id, NULL});
  assert_int_equal(r.status, 1);
  assert_says(&r, r.err, "no daemon answers");
  run_free(&r);
  assert_int_equal(h_start(&D), 0);
  h_sleep_ms(200);
  cJSON *none = h_spoken_to(&D, "d1");
  assert_int_equal(cJSON_GetArraySize(none), 0);
  cJSON_Delete(none);

  r = cli(&D, (const char *[]){"replay", id, NULL});
  assert_int_equal(r.status, 0);
  assert_says(&r, r.out, "replayed");
  run_free(&r);
  cJSON *out = h_wait_spoken(&D, "d1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(h_str(out, 0, "id"), id);
  assert_string_equal(h_str(out, 0, "template"), "welcome");
  cJSON_Delete(out);
  dead = wait_dead_letters(0, 3000);
  assert_int_equal(cJSON_GetArraySize(dead), 0);
  cJSON_Delete(dead);

  /* delivered: nothing left to replay */
  r = cli(&D, (const char *[]){"replay", id, NULL});
  assert_int_equal(r.status, 1);
  assert_says(&r, r.err, "no such message");
  run_free(&r);
}

/* `parley inspect CONTACT` until its output says `what`, or `ms` pass. */
static struct run inspect_until(const char *contact, const char *what, long ms)
{
  for (long waited = 0;; waited += 100) {
    struct run r = cli(&D, (const char *[]){"inspect", contact, NULL});
    if ((r.out && strstr(r.out, what)) || waited >= ms)
      return r;
    run_free(&r);
    h_sleep_ms(100);
  }
}

/* How deliveries ended, as ABI 1.1 plugins report it: the provider's id in the
 * conversation's history (pending_send's 1.0 send_done carries "provider-id-<id>"), and a
 * permanent failure dead-lettered at its first attempt with its reason
 * (tests/plugins/outcome.c, told by the contact's profile). */
static void test_inspect_shows_delivery_outcomes(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, "  plugin_dir = builddir .. '/tests/plugins',\n"
                     "  channels = { email = { plugin = 'pending_send', delay_ms = 1 } },\n"
                     "  journey_params = { welcome = { follow_up_after = '1h', last_call_after = '1h' } },");
  assert_int_equal(h_start(&D), 0);
  signup(&D, "p1");
  struct run r = inspect_until("p1", "delivered email/welcome", 5000);
  assert_int_equal(r.status, 0);
  const char *spoke = strstr(r.out, "spoke email/welcome id=");
  assert_non_null(spoke);
  char id[64], want[256];
  sscanf(spoke, "spoke email/welcome id=%63s", id);
  snprintf(want, sizeof want, "delivered email/welcome id=%s provider=provider-id-%s", id, id);
  assert_says(&r, r.out, want);
  run_free(&r);

  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, "  plugin_dir = builddir .. '/tests/plugins',\n"
                     "  channels = { email = { plugin = 'outcome' } },\n"
                     "  journey_params = { welcome = { follow_up_after = '1h', last_call_after = '1h' } },");
  assert_int_equal(h_start(&D), 0);
  cJSON_Delete(h_post(&D, "{\"id\":\"p2-signup\",\"type\":\"user.signed_up\",\"contact\":\"p2\","
                          "\"profile\":{\"email\":\"p2@example.com\",\"email_outcome\":\"failed:1:no such box\"}}",
                      200));
  cJSON *dead = wait_dead_letters(1, 5000);
  assert_int_equal(cJSON_GetArraySize(dead), 1);
  assert_string_equal(h_str(dead, 0, "last_error"), "invalid_address: no such box");
  assert_int_equal(h_num(cJSON_GetArrayItem(dead, 0), "attempts"), 1);
  snprintf(want, sizeof want, "failed email/welcome id=%s: invalid_address", h_str(dead, 0, "id"));
  cJSON_Delete(dead);
  r = inspect_until("p2", want, 5000);
  assert_says(&r, r.out, want);
  assert_says(&r, r.out, "DEAD LETTER after 1 attempt: invalid_address: no such box");
  run_free(&r);
}

/* A queued (not dead) message is refused with 409: replaying it would deliver it twice. */
static void test_replay_refuses_a_message_that_is_not_dead(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, "  plugin_dir = builddir .. '/tests/plugins', delivery = { shutdown_grace = '0s' },\n"
                     "  channels = { email = { plugin = 'pending_send', delay_ms = 600000 } },");
  assert_int_equal(h_start(&D), 0);
  signup(&D, "q1");
  struct run r = cli(&D, (const char *[]){"inspect", "q1", "--json", NULL});
  assert_int_equal(r.status, 0);
  cJSON *doc = cJSON_Parse(r.out);
  run_free(&r);
  cJSON *outbox = cJSON_GetObjectItem(doc, "outbox");
  assert_int_equal(cJSON_GetArraySize(outbox), 1);
  assert_string_equal(h_str(outbox, 0, "state"), "queued");
  char path[128], *body;
  snprintf(path, sizeof path, "/v1/outbox/%s/replay", h_str(outbox, 0, "id"));
  cJSON_Delete(doc);
  assert_int_equal(h_http(&D, "POST", path, "", NULL, &body), 409);
  assert_non_null(strstr(body, "\"not_dead\""));
  free(body);
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, &body), 405);
  free(body);
}

/* Two daemons' views of a contact's conversations must be the same. */
static void assert_same_conversations(const struct daemon *a, const struct daemon *b, const char *id)
{
  long sa, sb;
  cJSON *ca = h_get_contact(a, id, &sa), *cb = h_get_contact(b, id, &sb);
  assert_int_equal(sa, 200);
  assert_int_equal(sb, 200);
  cJSON *va = cJSON_GetObjectItem(ca, "conversations"), *vb = cJSON_GetObjectItem(cb, "conversations");
  assert_true(cJSON_GetArraySize(va) >= 1);
  assert_true(cJSON_Compare(va, vb, 1));
  assert_true(cJSON_Compare(cJSON_GetObjectItem(ca, "profile"), cJSON_GetObjectItem(cb, "profile"), 1));
  cJSON_Delete(ca);
  cJSON_Delete(cb);
}

static void test_backup_while_serving_starts_a_daemon(void **state)
{
  signup(&D, "b1");
  signup(&D, "b2");
  cJSON_Delete(h_post(&D, "{\"id\":\"b1-click\",\"type\":\"email.clicked\",\"contact\":\"b1\"}", 200));
  char dir[160];
  snprintf(dir, sizeof dir, "%s/backup", D.dir);
  struct run r = cli(&D, (const char *[]){"backup", dir, NULL});
  assert_int_equal(r.status, 0);
  assert_says(&r, r.out, "written to");
  assert_says(&r, r.out, "<data_dir>/store");
  run_free(&r);

  struct daemon E;
  h_init(&E);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "mkdir -p %s/var && cp -r %s %s/var/store", E.dir, dir, E.dir);
  assert_int_equal(system(cmd), 0);
  h_write_config(&E, FILE_CHANNELS);
  assert_int_equal(h_start(&E), 0);
  assert_same_conversations(&D, &E, "b1");
  assert_same_conversations(&D, &E, "b2");
  /* the copy is a working store: the dedupe window came along too */
  cJSON *dup = h_post(&E, "{\"id\":\"b2-signup\",\"type\":\"user.signed_up\",\"contact\":\"b2\"}", 200);
  assert_int_equal(h_num(dup, "duplicates"), 1);
  cJSON_Delete(dup);
  assert_int_equal(h_stop(&E, SIGTERM), 0);
  h_cleanup(&E);

  r = cli(&D, (const char *[]){"backup", dir, NULL});
  assert_int_equal(r.status, 1);
  assert_says(&r, r.err, "not empty");
  run_free(&r);
}

/* parley send: a file of events goes in all or nothing, and the answer is printed. */
static void test_send_posts_a_file_of_events(void **state)
{
  char path[160];
  snprintf(path, sizeof path, "%s/events.ndjson", D.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"id\":\"s-1\",\"type\":\"user.signed_up\",\"contact\":\"s1\",\"profile\":{\"email\":\"s1@x.org\"}}\n"
        "{\"id\":\"s-2\",\"type\":\"user.signed_up\",\"contact\":\"s2\",\"profile\":{\"email\":\"s2@x.org\"}}\n",
        f);
  fclose(f);
  const char *args[] = {"send", path, NULL};
  struct run r = cli(&D, args);
  assert_int_equal(r.status, 0);
  assert_says(&r, r.out, "accepted 2, applied 2, duplicates 0");
  run_free(&r);
  cJSON *cv = h_first_conv(&D, "s2");
  cJSON_Delete(cv);
  /* a bad line: refused whole, the line named, exit 1 */
  f = fopen(path, "w");
  fputs("{\"id\":\"s-3\",\"type\":\"user.signed_up\",\"contact\":\"s3\"}\n{\"type\":\"x\"}\n", f);
  fclose(f);
  r = cli(&D, args);
  assert_int_equal(r.status, 1);
  assert_says(&r, r.err, "line 2: field 'contact' is required");
  run_free(&r);
  long st;
  cJSON_Delete(h_get_contact(&D, "s3", &st));
  assert_int_equal(st, 404);
  const char *missing[] = {"send", "/nonexistent/events.ndjson", NULL};
  r = cli(&D, missing);
  assert_int_equal(r.status, 1);
  assert_says(&r, r.err, "/nonexistent/events.ndjson: No such file or directory");
  run_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_inspect_shows_a_waiting_contact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter_is_shown_and_replayed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replay_refuses_a_message_that_is_not_dead, setup, teardown),
      cmocka_unit_test_setup_teardown(test_inspect_shows_delivery_outcomes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_backup_while_serving_starts_a_daemon, setup, teardown),
      cmocka_unit_test_setup_teardown(test_send_posts_a_file_of_events, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

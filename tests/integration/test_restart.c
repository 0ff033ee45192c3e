/* Durability over real restarts: the daemon is stopped (SIGTERM) or killed (SIGKILL) and
 * started again on the same LMDB store. Waiting conversations, their deadlines, the dedupe
 * window and undelivered messages must all come back. */
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

#include "harness.h"

static struct daemon D;

static const char *const FILE_CHANNELS =
    "  channels = { email = { plugin = 'file', path = spoken },\n"
    "               sms = { plugin = 'file', path = spoken } },\n"
    "  journey_params = { welcome = { follow_up_after = '3s', last_call_after = '1h' } },";

static int setup(void **state)
{
  return h_setup(&D, FILE_CHANNELS);
}

static int teardown(void **state)
{
  return h_teardown(&D);
}

static void restart(int sig)
{
  int rc = h_stop(&D, sig);
  assert_int_equal(rc, sig == SIGKILL ? 128 + SIGKILL : 0);
  assert_int_equal(h_start(&D), 0);
}

static const char *conv_str(cJSON *cv, const char *name)
{
  cJSON *v = cJSON_GetObjectItem(cv, name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static void signup(const char *contact)
{
  char body[256];
  snprintf(body, sizeof body,
           "{\"id\":\"%s-signup\",\"type\":\"user.signed_up\",\"contact\":\"%s\","
           "\"profile\":{\"email\":\"%s@example.com\"}}",
           contact, contact, contact);
  cJSON_Delete(h_post(&D, body, 200));
}

static void test_waiting_conversation_survives_a_clean_restart(void **state)
{
  signup("r1");
  cJSON *before = h_first_conv(&D, "r1");
  assert_string_equal(conv_str(before, "status"), "listening");
  restart(SIGTERM);
  cJSON *after = h_first_conv(&D, "r1");
  assert_string_equal(conv_str(after, "status"), "listening");
  assert_string_equal(conv_str(after, "step"), conv_str(before, "step"));
  assert_true(cJSON_Compare(cJSON_GetObjectItem(after, "deadline"), cJSON_GetObjectItem(before, "deadline"), 1));
  assert_true(cJSON_Compare(cJSON_GetObjectItem(after, "memory"), cJSON_GetObjectItem(before, "memory"), 1));
  assert_true(cJSON_Compare(cJSON_GetObjectItem(after, "listening_for"),
                            cJSON_GetObjectItem(before, "listening_for"), 1));
  cJSON_Delete(before);
  cJSON_Delete(after);
  /* the event id is still remembered: a re-post is acknowledged, not applied */
  cJSON *r = h_post(&D, "{\"id\":\"r1-signup\",\"type\":\"user.signed_up\",\"contact\":\"r1\"}", 200);
  assert_int_equal(h_num(r, "duplicates"), 1);
  cJSON_Delete(r);
  /* and the deadline set before the restart fires after it */
  cJSON *out = h_wait_spoken(&D, "r1", 2, 8000);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(h_str(out, 1, "template"), "welcome_nudge");
  cJSON_Delete(out);
}

static void test_overdue_deadlines_fire_at_start_in_order(void **state)
{
  signup("o1");
  h_sleep_ms(20);
  signup("o2");
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_sleep_ms(3500); /* both deadlines pass while the daemon is down */
  assert_int_equal(h_start(&D), 0);
  cJSON *a = h_wait_spoken(&D, "o1", 2, 2000);
  cJSON *b = h_wait_spoken(&D, "o2", 2, 2000);
  assert_int_equal(cJSON_GetArraySize(a), 2);
  assert_int_equal(cJSON_GetArraySize(b), 2);
  cJSON_Delete(a);
  cJSON_Delete(b);
  /* in order: o1's nudge was written before o2's */
  FILE *f = fopen(D.spoken, "r");
  char line[16384];
  int seen_o1 = 0, order_ok = 0;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, "\"welcome_nudge\"") && strstr(line, "\"contact\":\"o1\""))
      seen_o1 = 1;
    if (strstr(line, "\"welcome_nudge\"") && strstr(line, "\"contact\":\"o2\""))
      order_ok = seen_o1;
  }
  fclose(f);
  assert_true(order_ok);
}

static void test_acknowledged_events_survive_sigkill(void **state)
{
  const char *batch = "{\"id\":\"k-1\",\"type\":\"user.signed_up\",\"contact\":\"k1\",\"profile\":{\"email\":\"k1@x.org\"}}\n"
                      "{\"id\":\"k-2\",\"type\":\"user.signed_up\",\"contact\":\"k2\",\"profile\":{\"email\":\"k2@x.org\"}}\n";
  char *out;
  assert_int_equal(h_http(&D, "POST", "/v1/events", batch, "application/x-ndjson", &out), 200);
  free(out);
  restart(SIGKILL); /* no chance to shut down: only what was committed is there */
  const char *who[] = {"k1", "k2"};
  for (int i = 0; i < 2; i++) {
    cJSON *cv = h_first_conv(&D, who[i]);
    assert_string_equal(conv_str(cv, "status"), "listening");
    cJSON_Delete(cv);
  }
  cJSON *r = h_post(&D, "{\"id\":\"k-2\",\"type\":\"user.signed_up\",\"contact\":\"k2\"}", 200);
  assert_int_equal(h_num(r, "duplicates"), 1);
  cJSON_Delete(r);
}

/* The text after `key` in the first entry of the contact's history that starts with
 * `prefix`, into out; 0 when there is none. */
static int history_find(const char *contact, const char *prefix, const char *key, char *out, size_t cap)
{
  long st;
  cJSON *doc = h_get_contact(&D, contact, &st), *entry;
  const char *at = NULL;
  cJSON_ArrayForEach(entry, cJSON_GetObjectItem(doc, "history"))
  {
    const char *what = conv_str(entry, "what");
    if (!at && strncmp(what, prefix, strlen(prefix)) == 0)
      at = strstr(what, key);
  }
  if (at)
    snprintf(out, cap, "%s", at + strlen(key));
  cJSON_Delete(doc);
  return at != NULL;
}

/* A stop waits for the sends plugins hold: the one that ends within
 * delivery.shutdown_grace is recorded as delivered, and not handed over again. */
static void test_stop_waits_for_sends_in_flight(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, "  plugin_dir = builddir .. '/tests/plugins',\n"
                     "  delivery = { shutdown_grace = '20s' },\n"
                     "  channels = { email = { plugin = 'pending_send', delay_ms = 1500 } },");
  assert_int_equal(h_start(&D), 0);
  signup("w1");
  char msg_id[64], provider[128];
  assert_true(history_find("w1", "spoke email/welcome", "id=", msg_id, sizeof msg_id));
  long t0 = h_now_ms();
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  long took = h_now_ms() - t0;
  if (took < 1000 || took > 15000)
    fail_msg("the stop took %ld ms: it should wait for the 1.5 s send, and only for it", took);
  h_write_config(&D, FILE_CHANNELS);
  assert_int_equal(h_start(&D), 0);
  cJSON *cv = h_first_conv(&D, "w1"), *entry;
  const char *delivered = NULL;
  cJSON_ArrayForEach(entry, cJSON_GetObjectItem(cv, "history"))
  {
    if (strncmp(conv_str(entry, "what"), "delivered email/welcome", 23) == 0)
      delivered = strstr(conv_str(entry, "what"), "provider=");
  }
  assert_non_null(delivered);
  snprintf(provider, sizeof provider, "%s", delivered + 9);
  cJSON_Delete(cv);
  char want[128];
  snprintf(want, sizeof want, "provider-id-%s", msg_id);
  assert_string_equal(provider, want);
  h_sleep_ms(500);
  cJSON *out = h_spoken_to(&D, "w1");
  assert_int_equal(cJSON_GetArraySize(out), 0); /* not handed over again */
  cJSON_Delete(out);
}

/* A send that outlasts the grace is abandoned at the stop, said in the log, and handed
 * over again at the next start with its id. */
static void test_stop_gives_up_after_the_grace(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, "  plugin_dir = builddir .. '/tests/plugins',\n"
                     "  delivery = { shutdown_grace = '300ms' },\n"
                     "  channels = { email = { plugin = 'pending_send', delay_ms = 600000 } },");
  assert_int_equal(h_start(&D), 0);
  signup("w2");
  char msg_id[64];
  assert_true(history_find("w2", "spoke email/welcome", "id=", msg_id, sizeof msg_id));
  long t0 = h_now_ms();
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  long took = h_now_ms() - t0;
  if (took < 250 || took > 5000)
    fail_msg("the stop took %ld ms with a grace of 300 ms", took);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "grep -q 'stopping with sends still with plugins.*in_flight=1' %s", D.log);
  assert_int_equal(system(cmd), 0);
  h_write_config(&D, FILE_CHANNELS);
  assert_int_equal(h_start(&D), 0);
  cJSON *out = h_wait_spoken(&D, "w2", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(h_str(out, 0, "id"), msg_id);
  cJSON_Delete(out);
}

/* A message handed to a plugin that never confirmed it is handed over again after a
 * crash, with the same id: the email channel first goes to a plugin that holds every
 * message (pending), then, after SIGKILL, to the file plugin. */
static void test_unconfirmed_message_is_delivered_again_with_its_id(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, "  plugin_dir = builddir .. '/tests/plugins',\n"
                     "  channels = { email = { plugin = 'pending_send', delay_ms = 600000 } },");
  assert_int_equal(h_start(&D), 0);
  signup("u1");
  char msg_id[64];
  assert_true(history_find("u1", "spoke email/welcome", "id=", msg_id, sizeof msg_id));
  h_stop(&D, SIGKILL);
  h_write_config(&D, FILE_CHANNELS);
  assert_int_equal(h_start(&D), 0);
  cJSON *out = h_wait_spoken(&D, "u1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(h_str(out, 0, "id"), msg_id);
  assert_string_equal(h_str(out, 0, "template"), "welcome");
  cJSON_Delete(out);
}

/* The attempts the pending_send plugin saw for message `id` (its `seen` file: one
 * "<id> <attempt>" line per send), waiting up to `ms` for `n` of them. Returns how many. */
static int attempts_seen(const char *path, const char *id, unsigned *attempts, int n, long ms)
{
  int got = 0;
  for (long waited = 0; waited <= ms; waited += 50) {
    FILE *f = fopen(path, "r");
    char mid[64];
    unsigned a;
    got = 0;
    while (f && got < 8 && fscanf(f, "%63s %u", mid, &a) == 2)
      if (strcmp(mid, id) == 0)
        attempts[got++] = a;
    if (f)
      fclose(f);
    if (got >= n)
      break;
    h_sleep_ms(50);
  }
  return got;
}

/* The message id of the welcome e-mail spoken to `contact`. */
static void welcome_id(const char *contact, char *out, size_t cap)
{
  long st;
  cJSON *doc = h_get_contact(&D, contact, &st);
  assert_int_equal(st, 200);
  const char *id = NULL;
  cJSON *entry;
  cJSON_ArrayForEach(entry, cJSON_GetObjectItem(doc, "history"))
  {
    const char *what = conv_str(entry, "what");
    if (strncmp(what, "spoke email/welcome", 19) == 0)
      id = strstr(what, "id=");
  }
  assert_non_null(id);
  snprintf(out, cap, "%s", id + 3);
  cJSON_Delete(doc);
}

/* The attempt number is stored before each hand-over: a message a plugin held when the
 * daemon was killed is handed over again as attempt 2, not as attempt 1 once more. */
static void test_the_attempt_is_counted_through_a_kill(void **state)
{
  char extra[512], seen[160], id[64];
  unsigned attempts[8];
  snprintf(seen, sizeof seen, "%s/seen.txt", D.dir);
  snprintf(extra, sizeof extra,
           "  plugin_dir = builddir .. '/tests/plugins',\n"
           "  channels = { email = { plugin = 'pending_send', delay_ms = 600000, seen = '%s' } },",
           seen);
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, extra);
  assert_int_equal(h_start(&D), 0);
  signup("n1");
  welcome_id("n1", id, sizeof id);
  assert_int_equal(attempts_seen(seen, id, attempts, 1, 5000), 1);
  assert_int_equal(attempts[0], 1);
  h_stop(&D, SIGKILL);
  assert_int_equal(h_start(&D), 0);
  assert_int_equal(attempts_seen(seen, id, attempts, 2, 5000), 2);
  assert_int_equal(attempts[0], 1);
  assert_int_equal(attempts[1], 2);
}

static int conv_version(const char *contact)
{
  cJSON *cv = h_first_conv(&D, contact);
  int v = (int)h_num(cv, "journey_version");
  cJSON_Delete(cv);
  return v;
}

static int log_has(const char *needle)
{
  char cmd[512];
  snprintf(cmd, sizeof cmd, "grep -q '%s' %s", needle, D.log);
  return system(cmd) == 0;
}

/* SIGHUP reloads journeys: a broken file is refused while its running version serves; a
 * changed one becomes version 2 for new conversations only. */
static void test_sighup_reloads_journeys(void **state)
{
  char cmd[512], extra[512];
  snprintf(cmd, sizeof cmd, "cp -r %s/scripts/journeys %s/journeys", PARLEY_SRCDIR, D.dir);
  assert_int_equal(system(cmd), 0);
  snprintf(extra, sizeof extra, "%s\n  journeys_dir = '%s/journeys',", FILE_CHANNELS, D.dir);
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  h_write_config(&D, extra);
  assert_int_equal(h_start(&D), 0);
  signup("s1");
  assert_int_equal(conv_version("s1"), 1);

  snprintf(cmd, sizeof cmd, "cp %s/journeys/welcome.lua %s/welcome.good && echo 'return {' >> %s/journeys/welcome.lua",
           D.dir, D.dir, D.dir);
  assert_int_equal(system(cmd), 0);
  kill(D.pid, SIGHUP);
  h_sleep_ms(300);
  assert_int_equal(h_http(&D, "GET", "/healthz", NULL, NULL, NULL), 200);
  assert_true(log_has("reload refused, the running version keeps serving"));
  assert_true(log_has("reloading journeys.*by=SIGHUP")); /* core_reload, as POST /v1/admin/reload */
  signup("s2");
  assert_int_equal(conv_version("s2"), 1);

  snprintf(cmd, sizeof cmd, "cp %s/welcome.good %s/journeys/welcome.lua && echo '-- v2' >> %s/journeys/welcome.lua",
           D.dir, D.dir, D.dir);
  assert_int_equal(system(cmd), 0);
  kill(D.pid, SIGHUP);
  h_sleep_ms(300);
  signup("s3");
  assert_int_equal(conv_version("s3"), 2);
  assert_int_equal(conv_version("s1"), 1);
}

/* A store that cannot take more (LMDB's map is full): the batch that does not fit is
 * refused whole with 503, nothing of it is applied, and the daemon goes on serving. */
static void test_full_store_refuses_whole_batches(void **state)
{
  assert_int_equal(h_stop(&D, SIGTERM), 0);
  char extra[512];
  snprintf(extra, sizeof extra, "%s\n  store = { map_size_mb = 1 },", FILE_CHANNELS);
  h_write_config(&D, extra);
  assert_int_equal(h_start(&D), 0);
  char body[40 * 160], *p;
  int batch, full = 0;
  for (batch = 0; batch < 200 && !full; batch++) {
    p = body;
    for (int i = 0; i < 40; i++)
      p += sprintf(p, "{\"id\":\"f%d-%d\",\"type\":\"user.signed_up\",\"contact\":\"f%d-%d\",\"profile\":{\"email\":\"f@x.org\"}}\n",
                   batch, i, batch, i);
    char *out;
    long st = h_http(&D, "POST", "/v1/events", body, "application/x-ndjson", &out);
    if (st == 503) {
      full = 1;
      assert_non_null(strstr(out, "store_unavailable"));
    } else {
      assert_int_equal(st, 200);
    }
    free(out);
  }
  assert_true(full); /* 1 MiB cannot hold 8,000 conversations */
  batch--;           /* the refused one */
  char id[32];
  long st;
  for (int i = 0; i < 40; i += 13) {
    snprintf(id, sizeof id, "f%d-%d", batch, i);
    cJSON_Delete(h_get_contact(&D, id, &st));
    assert_int_equal(st, 404); /* nothing of the refused batch */
  }
  cJSON *cv = h_first_conv(&D, "f0-0"); /* what was acknowledged is there */
  assert_string_equal(conv_str(cv, "status"), "listening");
  cJSON_Delete(cv);
  assert_int_equal(h_http(&D, "GET", "/healthz", NULL, NULL, NULL), 200);
}

/* DELETE /v1/contacts/{id}: answered once durable; after a kill and a restart the contact
 * is still gone, its follow-up never spoken, another contact untouched, and a later
 * event for the id starts from nothing. */
static void test_erasure_survives_a_kill(void **state)
{
  signup("er1");
  signup("er2");
  cJSON_Delete(h_wait_spoken(&D, "er1", 1, 5000));
  cJSON *before = h_spoken_to(&D, "er1");
  int spoken_before = cJSON_GetArraySize(before);
  cJSON_Delete(before);
  char *out;
  assert_int_equal(h_http(&D, "DELETE", "/v1/contacts/er1", NULL, NULL, &out), 200);
  assert_non_null(strstr(out, "\"erased\""));
  free(out);
  assert_int_equal(h_http(&D, "DELETE", "/v1/contacts/er1", NULL, NULL, NULL), 404);
  restart(SIGKILL);
  long st;
  cJSON_Delete(h_get_contact(&D, "er1", &st));
  assert_int_equal(st, 404);
  cJSON_Delete(h_wait_spoken(&D, "er2", 2, 8000)); /* er2's follow-up, 3 s after sign-up */
  cJSON *after = h_spoken_to(&D, "er1");
  assert_int_equal(cJSON_GetArraySize(after), spoken_before); /* er1's never came */
  cJSON_Delete(after);
  cJSON_Delete(h_post(&D, "{\"id\":\"er1-again\",\"type\":\"user.signed_up\",\"contact\":\"er1\"}", 200));
  cJSON *ct = h_get_contact(&D, "er1", &st);
  assert_int_equal(st, 200);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ct, "conversations")), 1);
  assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(ct, "profile"), "email")); /* nothing kept */
  cJSON_Delete(ct);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_waiting_conversation_survives_a_clean_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_overdue_deadlines_fire_at_start_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_acknowledged_events_survive_sigkill, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unconfirmed_message_is_delivered_again_with_its_id, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stop_waits_for_sends_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop_gives_up_after_the_grace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_the_attempt_is_counted_through_a_kill, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sighup_reloads_journeys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_store_refuses_whole_batches, setup, teardown),
      cmocka_unit_test_setup_teardown(test_erasure_survives_a_kill, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

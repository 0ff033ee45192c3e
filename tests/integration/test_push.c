/* The shipped push channel (plugins/push) in the real daemon, against Google's token
 * endpoint and FCM's HTTP v1 API as tests/fcm_provider.py plays them on loopback, with a
 * service account key the test makes (openssl): the app registers two Android devices
 * through the API, a journey pushes to the contact, FCM answers UNREGISTERED for one token,
 * which is removed from the contact (and the history says so) while the other device gets
 * the message, delivered with FCM's id; the next push goes to the device left, with the
 * access token cached (one token request, its RS256 assertion verified by the fake). A
 * contact whose every token is dead: the message fails "invalid_address", the devices are
 * gone, the next speak is refused "no devices". What FCM gets wrong: QUOTA_EXCEEDED with
 * Retry-After, UNAVAILABLE, an HTML page, no answer at all: retried into one delivery. A
 * payload over FCM's 4 KiB refused at speak time. iOS devices through APNs, as
 * tests/apns_provider.py plays it over HTTP/2 and TLS (a certificate the test makes and the
 * daemon trusts): an iPhone and an Android phone, the Android token dead and removed, the
 * iPhone's open receipt waking the conversation; APNs busy or down retried, 410 and
 * BadDeviceToken removing the token, one ES256 provider token for every request, on
 * connections kept. A channel whose key the token endpoint refuses: a clear log line, the
 * message retried by the core's policy, then dead-lettered, nothing stuck. The app's open receipt, with the token the
 * message carried, wakes the conversation (push.opened); a forged one is refused. No credential in the daemon's log. One
 * fake and one daemon for the file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "harness.h"

#define CLIENT_EMAIL "parley-test@shop-test.iam.gserviceaccount.com" /* as fcm_provider.py wants */

static struct daemon D;
static struct fx_server F; /* tests/fcm_provider.py */
static struct fx_server A; /* tests/apns_provider.py */

/* openssl, as an operator would: an RSA key and its public half. 0, or -1. */
static int make_keys(const char *dir, char *pem, size_t cap)
{
  char cmd[1200];
  snprintf(pem, cap, "%s/sa.pem", dir);
  snprintf(cmd, sizeof cmd,
           "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s/sa.pem 2>/dev/null && "
           "openssl pkey -in %s/sa.pem -pubout -out %s/sa.pub 2>/dev/null",
           dir, dir, dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* openssl again: the team's APNs key (.p8: EC P-256, PKCS#8) and its public half, and the
 * certificate the APNs double serves for 127.0.0.1, which the daemon is told to trust. */
static int make_apns_files(const char *dir)
{
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "cd %s && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out apns.p8 2>/dev/null && "
           "openssl pkey -in apns.p8 -pubout -out apns.pub 2>/dev/null && "
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.pem "
           "-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null",
           dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Google's key file, with the test's key and the fake's token endpoint. */
static int write_key_file(const char *path, const char *pem_path, int port)
{
  FILE *f = fopen(pem_path, "r");
  char pem[8192], uri[64];
  size_t n = f ? fread(pem, 1, sizeof pem - 1, f) : 0;
  if (f)
    fclose(f);
  if (n == 0)
    return -1;
  pem[n] = '\0';
  snprintf(uri, sizeof uri, "http://127.0.0.1:%d/token", port);
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "type", "service_account");
  cJSON_AddStringToObject(doc, "project_id", "shop-test");
  cJSON_AddStringToObject(doc, "private_key_id", "test-key-1");
  cJSON_AddStringToObject(doc, "private_key", pem);
  cJSON_AddStringToObject(doc, "client_email", CLIENT_EMAIL);
  cJSON_AddStringToObject(doc, "token_uri", uri);
  char *json = cJSON_Print(doc);
  int rc = fx_write_file(path, json);
  free(json);
  cJSON_Delete(doc);
  return rc;
}

static int start_all(void **state)
{
  char extra[3072], pem[200], pub[200], key[200], secret[200], other[100], other_key[200];
  (void)state;
  signal(SIGPIPE, SIG_IGN);
  h_init(&D);
  snprintf(F.log, sizeof F.log, "%s/fcm.jsonl", D.dir);
  snprintf(D.journeys, sizeof D.journeys, "%s", PARLEY_SRCDIR "/tests/integration/push_journeys");
  snprintf(pub, sizeof pub, "%s/sa.pub", D.dir);
  snprintf(key, sizeof key, "%s/fcm-key.json", D.dir);
  snprintf(secret, sizeof secret, "%s/receipt.secret", D.dir);
  snprintf(A.log, sizeof A.log, "%s/apns.jsonl", D.dir);
  snprintf(other, sizeof other, "%s/other", D.dir);
  snprintf(other_key, sizeof other_key, "%s/other/fcm-key.json", D.dir);
  if (make_keys(D.dir, pem, sizeof pem) < 0 || make_apns_files(D.dir) < 0 ||
      fx_server_start(&F, "fcm_provider.py", pub) < 0 || fx_server_start(&A, "apns_provider.py", D.dir) < 0 ||
      write_key_file(key, pem, F.port) < 0 || fx_write_file(secret, "a-receipt-secret-for-the-tests") < 0 ||
      mkdir(other, 0700) < 0 || make_keys(other, pem, sizeof pem) < 0 || write_key_file(other_key, pem, F.port) < 0)
    return -1;
  snprintf(extra, sizeof extra,
           "  delivery = { max_attempts = 5, retry_base = '100ms', retry_max = '300ms' },\n"
           "  channels = { push = { plugin = 'push', service_account = { file = '%s' },\n"
           "                        fcm_url = 'http://127.0.0.1:%d', timeout = '1s',\n"
           "                        receipt_secret = { file = '%s' },\n"
           "                        apns_key = { file = '%s/apns.p8' }, apns_key_id = 'ABC123DEFG',\n"
           "                        apns_team_id = 'TEAM123456', apns_topic = 'com.example.shop',\n"
           "                        apns_url = 'https://127.0.0.1:%d' },\n"
           /* a key Google does not know (another than the fake's): every token request refused */
           "              app = { plugin = 'push', address = 'devices', service_account = { file = '%s' },\n"
           "                      fcm_url = 'http://127.0.0.1:%d', timeout = '1s' } },\n"
           "  http_client = { ca_file = '%s/server.pem' },",
           key, F.port, secret, D.dir, A.port, other_key, F.port, D.dir);
  h_write_config(&D, extra);
  return h_start(&D);
}

static int stop_all(void **state)
{
  (void)state;
  fx_server_stop(&F); /* first: their logs are in the daemon's folder, which the teardown removes */
  fx_server_stop(&A);
  return h_teardown(&D);
}

static int send_to(const cJSON *o, const void *arg)
{
  const cJSON *k = cJSON_GetObjectItem(o, "kind"), *t = cJSON_GetObjectItem(o, "token");
  if (arg == NULL)
    return cJSON_IsString(k) && strcmp(k->valuestring, "token") == 0;
  return cJSON_IsString(t) && strcmp(t->valuestring, arg) == 0;
}

/* The fake's lines for device `token` (NULL: its token requests), waiting up to `ms` for `n`. */
static cJSON *fcm_wait(const char *token, int n, long ms)
{
  return fx_lines_wait(F.log, send_to, token, n, ms);
}

static int any_line(const cJSON *o, const void *arg)
{
  (void)o;
  (void)arg;
  return 1;
}

/* The APNs double's lines for `token` (NULL: all), waiting up to `ms` for `n`. */
static cJSON *apns_wait(const char *token, int n, long ms)
{
  return fx_lines_wait(A.log, token ? send_to : any_line, token, n, ms);
}

static const char *str(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItem(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void register_device(const char *contact, const char *platform, const char *token)
{
  char path[200], body[300];
  snprintf(path, sizeof path, "/v1/contacts/%s/devices", contact);
  snprintf(body, sizeof body, "{\"platform\":\"%s\",\"token\":\"%s\",\"app_id\":\"com.example.shop\"}", platform, token);
  assert_int_equal(h_http(&D, "POST", path, body, "application/json", NULL), 201);
}

static void notify(const char *id, const char *contact, const char *text, const char *options)
{
  char ev[1200];
  snprintf(ev, sizeof ev,
           "{\"id\":\"%s\",\"type\":\"notify\",\"contact\":\"%s\",\"profile\":{\"first_name\":\"Ann\"},"
           "\"data\":{\"text\":\"%s\"%s%s}}",
           id, contact, text, options ? ",\"options\":" : "", options ? options : "");
  cJSON_Delete(h_post(&D, ev, 200));
}

/* The contact's profile.devices, as GET /v1/contacts/{id} shows it (NULL: none); caller frees. */
static cJSON *devices_of(const char *contact)
{
  long status;
  cJSON *ct = h_get_contact(&D, contact, &status);
  cJSON *d = cJSON_DetachItemFromObject(cJSON_GetObjectItem(ct, "profile"), "devices");
  cJSON_Delete(ct);
  return d;
}

static void test_dead_token_removed_the_other_device_delivered(void **state)
{
  (void)state;
  register_device("ann", "android", "dead-ann-1");
  register_device("ann", "android", "live-ann-1");
  notify("n-ann-1", "ann", "Your cart misses you", NULL);
  cJSON *dead = fcm_wait("dead-ann-1", 1, 5000), *live = fcm_wait("live-ann-1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(dead), 1);
  assert_int_equal(cJSON_GetArraySize(live), 1);
  cJSON *m = cJSON_GetObjectItem(cJSON_GetArrayItem(live, 0), "message");
  cJSON *n = cJSON_GetObjectItem(m, "notification"), *data = cJSON_GetObjectItem(m, "data");
  assert_string_equal(str(n, "title"), "Hello Ann");
  assert_string_equal(str(n, "body"), "Your cart misses you");
  assert_string_equal(str(cJSON_GetObjectItem(m, "android"), "priority"), "HIGH");
  const char *id = str(data, "parley_message_id");
  assert_non_null(id);
  assert_true(fx_history_says(&D, "ann", "event push.token_removed", 5000));
  assert_true(fx_history_says(&D, "ann", "provider=projects/shop-test/messages/", 5000));
  char want[120];
  snprintf(want, sizeof want, "delivered push/hello id=%s", id);
  assert_true(fx_history_says(&D, "ann", want, 100));
  cJSON *devs = devices_of("ann");
  assert_null(cJSON_GetObjectItem(devs, "dead-ann-1"));
  assert_non_null(cJSON_GetObjectItem(devs, "live-ann-1"));
  cJSON_Delete(devs);
  assert_true(fx_history_says(&D, "ann", "woken by push.token_removed", 100)); /* the journey heard it */
  cJSON_Delete(dead);
  cJSON_Delete(live);

  /* the next push goes to the device left, with the same access token */
  notify("n-ann-2", "ann", "Still there?", NULL);
  live = fcm_wait("live-ann-1", 2, 5000);
  assert_int_equal(cJSON_GetArraySize(live), 2);
  h_sleep_ms(300);
  dead = fcm_wait("dead-ann-1", 2, 0);
  assert_int_equal(cJSON_GetArraySize(dead), 1);
  cJSON *tokens = fcm_wait(NULL, 1, 0);
  assert_int_equal(cJSON_GetArraySize(tokens), 1); /* cached, not asked per message */
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(tokens, 0), "ok"))); /* RS256 verified */
  cJSON_Delete(tokens);
  cJSON_Delete(dead);
  cJSON_Delete(live);
}

static void test_every_token_dead_fails_and_then_refuses(void **state)
{
  (void)state;
  register_device("ben", "android", "dead-ben-1");
  register_device("ben", "web", "bad-ben-2");
  notify("n-ben-1", "ben", "Hello", NULL);
  assert_true(fx_history_says(&D, "ben", "woken by push.failed", 5000));
  assert_true(fx_history_says(&D, "ben", "invalid_address", 100));
  cJSON *devs = devices_of("ben");
  assert_null(devs); /* both removed */
  notify("n-ben-2", "ben", "Hello again", NULL);
  assert_true(fx_history_says(&D, "ben", "the contact has no devices for push", 5000));
  cJSON *again = fcm_wait("dead-ben-1", 2, 300);
  assert_int_equal(cJSON_GetArraySize(again), 1); /* nothing more was sent */
  cJSON_Delete(again);
}

static void test_busy_down_garbage_and_silence_are_retried(void **state)
{
  (void)state;
  static const char *const tokens[] = {"busy-cem-1", "down-dan-1", "garbage-eve-1", "hang-fay-1"};
  static const char *const who[] = {"cem", "dan", "eve", "fay"};
  for (size_t i = 0; i < 4; i++) {
    char id[32];
    register_device(who[i], "android", tokens[i]);
    snprintf(id, sizeof id, "n-%s", who[i]);
    notify(id, who[i], "Retry me", "{\"ttl\":\"2h\",\"collapse_key\":\"cart\"}");
  }
  for (size_t i = 0; i < 4; i++) {
    cJSON *got = fcm_wait(tokens[i], 2, 10000);
    assert_int_equal(cJSON_GetArraySize(got), 2);
    cJSON *a0 = cJSON_GetObjectItem(cJSON_GetArrayItem(got, 0), "message");
    cJSON *a1 = cJSON_GetObjectItem(cJSON_GetArrayItem(got, 1), "message");
    assert_string_equal(str(cJSON_GetObjectItem(a0, "data"), "parley_message_id"),
                        str(cJSON_GetObjectItem(a1, "data"), "parley_message_id")); /* one message */
    assert_string_equal(str(cJSON_GetObjectItem(a1, "android"), "ttl"), "7200s");
    assert_string_equal(str(cJSON_GetObjectItem(a1, "android"), "collapse_key"), "cart");
    assert_true(fx_history_says(&D, who[i], "provider=projects/shop-test/messages/", 8000));
    cJSON_Delete(got);
  }
  cJSON *busy = fcm_wait("busy-cem-1", 2, 0);
  assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(busy, 0), "status")), 429);
  cJSON_Delete(busy);
}

static void test_payload_over_fcms_limit_is_refused_at_speak_time(void **state)
{
  (void)state;
  register_device("gus", "android", "live-gus-1");
  notify("n-gus", "gus", "0123456789", NULL);
  cJSON *ok = fcm_wait("live-gus-1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(ok), 1);
  cJSON_Delete(ok);
  /* the journey's text, ten bytes 420 times over */
  cJSON_Delete(h_post(&D, "{\"id\":\"n-gus-2\",\"type\":\"notify\",\"contact\":\"gus\","
                          "\"data\":{\"text\":\"0123456789\",\"times\":420}}", 200));
  assert_true(fx_history_says(&D, "gus", "more than FCM's 4096", 5000));
  assert_true(fx_history_says(&D, "gus", "refused push/hello", 100));
  cJSON *got = fcm_wait("live-gus-1", 2, 300);
  assert_int_equal(cJSON_GetArraySize(got), 1); /* nothing more was sent */
  cJSON_Delete(got);
}

static long post_receipt(const char *receipt, const char *action)
{
  char body[1200];
  snprintf(body, sizeof body, "{\"receipt\":\"%s\",\"action\":\"%s\"}", receipt, action);
  return h_http(&D, "POST", "/v1/channels/push/receipts", body, "application/json", NULL);
}

/* The app reports the open with the receipt token the message carried: push.opened wakes
 * the conversation, once however often it comes; a forged or malformed one is refused. */
static void test_open_receipt_wakes_the_conversation(void **state)
{
  (void)state;
  register_device("hal", "android", "live-hal-1");
  notify("n-hal", "hal", "Open me", NULL);
  cJSON *got = fcm_wait("live-hal-1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(got), 1);
  cJSON *data = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(got, 0), "message"), "data");
  char receipt[600], forged[600], about[120];
  snprintf(receipt, sizeof receipt, "%s", str(data, "parley_receipt"));
  snprintf(about, sizeof about, "\"about\":\"%s\"", str(data, "parley_message_id"));
  assert_true(fx_history_says(&D, "hal", "delivered push/hello", 5000));
  snprintf(forged, sizeof forged, "%s", receipt);
  forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
  assert_int_equal(post_receipt(forged, "opened"), 401);
  assert_int_equal(post_receipt("bm90LWEtdG9rZW4", "opened"), 401);
  assert_int_equal(post_receipt(receipt, "clicked"), 400);
  assert_int_equal(h_http(&D, "POST", "/v1/channels/push/receipts", "[]", "application/json", NULL), 400);
  assert_false(fx_history_says(&D, "hal", "event push.opened", 0));
  assert_int_equal(post_receipt(receipt, "opened"), 200);
  assert_int_equal(post_receipt(receipt, "opened"), 200); /* the app retried: counted once */
  assert_true(fx_history_says(&D, "hal", "woken by push.opened", 5000));
  assert_int_equal(post_receipt(receipt, "dismissed"), 200); /* a second action is its own event */
  assert_true(fx_history_says(&D, "hal", "woken by push.dismissed", 5000));
  cJSON *conv = h_first_conv(&D, "hal");
  char *text = cJSON_PrintUnformatted(conv);
  assert_non_null(strstr(text, "\"last\":\"push.dismissed\""));
  assert_non_null(strstr(text, about)); /* data.message_id: the message opened */
  free(text);
  cJSON_Delete(conv);
  long status;
  cJSON *ct = h_get_contact(&D, "hal", &status);
  text = cJSON_PrintUnformatted(ct);
  char *first = strstr(text, "event push.opened");
  assert_non_null(first);
  assert_null(strstr(first + 1, "event push.opened"));
  free(text);
  cJSON_Delete(ct);
  cJSON_Delete(got);
}

/* The story: an iPhone (APNs) and an Android phone (FCM); the Android token comes
 * back UNREGISTERED and is removed, the iPhone gets the message, and its open receipt wakes
 * the conversation. */
static void test_ios_and_android_then_the_open(void **state)
{
  (void)state;
  register_device("ivy", "ios", "live-ivy-ios");
  register_device("ivy", "android", "dead-ivy-and");
  notify("n-ivy", "ivy", "Your order shipped", "{\"collapse_key\":\"order\",\"ttl\":\"1h\"}");
  cJSON *ios = apns_wait("live-ivy-ios", 1, 5000), *and = fcm_wait("dead-ivy-and", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(ios), 1);
  assert_int_equal(cJSON_GetArraySize(and), 1);
  cJSON *line = cJSON_GetArrayItem(ios, 0), *h = cJSON_GetObjectItem(line, "headers");
  cJSON *body = cJSON_GetObjectItem(line, "body"), *alert = cJSON_GetObjectItem(cJSON_GetObjectItem(body, "aps"), "alert");
  assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(line, "status")), 200);
  assert_string_equal(str(alert, "title"), "Hello Ann");
  assert_string_equal(str(alert, "body"), "Your order shipped");
  assert_string_equal(str(h, "apns-topic"), "com.example.shop");
  assert_string_equal(str(h, "apns-push-type"), "alert");
  assert_string_equal(str(h, "apns-priority"), "10");
  assert_string_equal(str(h, "apns-collapse-id"), "order");
  assert_true(atoll(str(h, "apns-expiration")) > (long long)time(NULL) + 3000);
  assert_int_equal(strlen(str(h, "apns-id")), 36);
  assert_true(fx_history_says(&D, "ivy", "event push.token_removed", 5000));
  assert_true(fx_history_says(&D, "ivy", "delivered push/hello", 5000));
  char want[80];
  snprintf(want, sizeof want, "provider=%s", str(h, "apns-id")); /* APNs's id: the apns-id echoed */
  assert_true(fx_history_says(&D, "ivy", want, 100));
  cJSON *devs = devices_of("ivy");
  assert_non_null(cJSON_GetObjectItem(devs, "live-ivy-ios"));
  assert_null(cJSON_GetObjectItem(devs, "dead-ivy-and"));
  cJSON_Delete(devs);
  assert_int_equal(post_receipt(str(body, "parley_receipt"), "opened"), 200);
  assert_true(fx_history_says(&D, "ivy", "woken by push.opened", 5000));
  cJSON_Delete(ios);
  cJSON_Delete(and);
}

/* APNs busy or down: retried into one delivery; a dead or bad token removed; one provider
 * token for every request (not one per request), on connections reused (HTTP/2). */
static void test_apns_retries_removals_and_reuse(void **state)
{
  (void)state;
  static const char *const tokens[] = {"busy-jo-ios", "down-kim-ios", "dead-lu-ios", "bad-max-ios"};
  static const char *const who[] = {"jo", "kim", "lu", "max"};
  for (size_t i = 0; i < 4; i++) {
    char id[32];
    register_device(who[i], "ios", tokens[i]);
    snprintf(id, sizeof id, "n-%s", who[i]);
    notify(id, who[i], "Hello", NULL);
  }
  for (size_t i = 0; i < 2; i++) {
    cJSON *got = apns_wait(tokens[i], 2, 8000);
    assert_int_equal(cJSON_GetArraySize(got), 2);
    assert_string_equal(str(cJSON_GetObjectItem(cJSON_GetArrayItem(got, 0), "headers"), "apns-id"),
                        str(cJSON_GetObjectItem(cJSON_GetArrayItem(got, 1), "headers"), "apns-id"));
    assert_true(fx_history_says(&D, who[i], "delivered push/hello", 8000));
    cJSON_Delete(got);
  }
  for (size_t i = 2; i < 4; i++) {
    assert_true(fx_history_says(&D, who[i], "woken by push.failed", 8000));
    assert_true(fx_history_says(&D, who[i], "event push.token_removed", 100));
    cJSON *devs = devices_of(who[i]);
    assert_null(devs);
  }
  cJSON *all = apns_wait(NULL, 1, 0), *l;
  int n = 0, conns = 0;
  double iat = 0;
  cJSON_ArrayForEach(l, all)
  {
    double c = cJSON_GetNumberValue(cJSON_GetObjectItem(l, "conn")), t = cJSON_GetNumberValue(cJSON_GetObjectItem(l, "iat"));
    conns = (int)c > conns ? (int)c : conns;
    if (n++ == 0)
      iat = t;
    assert_true(t == iat); /* one provider token */
  }
  assert_int_equal(n, 7); /* ivy 1, busy 2, down 2, dead 1, bad 1 */
  assert_true(conns <= 2); /* connections kept and shared, not one per request */
  cJSON_Delete(all);
}

/* The token endpoint refuses the channel's assertion (a key it does not know): a clear log
 * line, the message retried by the core's policy, then dead-lettered and told to the
 * journey; nothing reaches FCM, nothing is stuck. */
static void test_refused_token_retried_then_dead(void **state)
{
  (void)state;
  register_device("zed", "android", "live-zed-1");
  cJSON_Delete(h_post(&D, "{\"id\":\"n-zed\",\"type\":\"notify\",\"contact\":\"zed\","
                          "\"profile\":{\"first_name\":\"Zed\"},\"data\":{\"text\":\"hi\",\"channel\":\"app\"}}", 200));
  assert_true(fx_history_says(&D, "zed", "woken by app.failed", 10000));
  assert_true(fx_history_says(&D, "zed", "retries_exhausted", 100));
  cJSON *got = fcm_wait("live-zed-1", 1, 0);
  assert_int_equal(cJSON_GetArraySize(got), 0);
  cJSON_Delete(got);
  cJSON *tokens = fcm_wait(NULL, 1, 0), *t;
  int refused = 0;
  cJSON_ArrayForEach(t, tokens) refused += cJSON_IsFalse(cJSON_GetObjectItem(t, "ok")) &&
                                           strcmp(str(t, "why"), "signature does not verify") == 0;
  assert_int_equal(refused, 5); /* one per attempt: delivery.max_attempts */
  cJSON_Delete(tokens);
  FILE *f = fopen(D.log, "r");
  static char log[1 << 20];
  size_t n = fread(log, 1, sizeof log - 1, f);
  fclose(f);
  log[n] = '\0';
  assert_non_null(strstr(log, "no FCM access token"));
  assert_non_null(strstr(log, "the token endpoint answered HTTP 400: invalid_grant"));
}

/* The plugin's counters in /metrics, beside the core's. */
static void test_metrics(void **state)
{
  (void)state;
  char *text = NULL;
  assert_int_equal(h_http(&D, "GET", "/metrics", NULL, NULL, &text), 200);
  assert_non_null(strstr(text, "parley_plugin_push_device_messages_total{channel=\"push\"}"));
  /* ann 1, ben 2, ivy 1, lu 1, max 1; ben, lu and max failed */
  assert_non_null(strstr(text, "parley_plugin_push_tokens_removed_total{channel=\"push\"} 6"));
  assert_non_null(strstr(text, "parley_plugin_push_failed_total{channel=\"push\"} 3"));
  free(text);
}

/* Nothing of the key, the assertion or the access token is in the daemon's log. */
static void test_no_credential_in_the_log(void **state)
{
  (void)state;
  FILE *f = fopen(D.log, "r");
  assert_non_null(f);
  static char log[1 << 20];
  size_t n = fread(log, 1, sizeof log - 1, f);
  fclose(f);
  log[n] = '\0';
  assert_non_null(strstr(log, "FCM access token obtained"));
  assert_null(strstr(log, "PRIVATE KEY"));
  assert_null(strstr(log, "MII"));       /* PEM's base64 of an RSA key */
  assert_null(strstr(log, "MIG"));       /* and of the .p8 (EC) */
  assert_null(strstr(log, "ya29."));     /* the fake's access tokens */
  assert_null(strstr(log, "eyJ"));       /* a JWT's base64url header */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dead_token_removed_the_other_device_delivered),
      cmocka_unit_test(test_every_token_dead_fails_and_then_refuses),
      cmocka_unit_test(test_busy_down_garbage_and_silence_are_retried),
      cmocka_unit_test(test_payload_over_fcms_limit_is_refused_at_speak_time),
      cmocka_unit_test(test_open_receipt_wakes_the_conversation),
      cmocka_unit_test(test_ios_and_android_then_the_open),
      cmocka_unit_test(test_apns_retries_removals_and_reuse),
      cmocka_unit_test(test_refused_token_retried_then_dead),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_no_credential_in_the_log),
  };
  return cmocka_run_group_tests(tests, start_all, stop_all);
}

/* The real daemon over real HTTP: `parley serve` is started on a free loopback port with
 * the shipped journeys (their waits shortened through journey_params) and the `file`
 * plugin on every channel; the test posts events with libcurl and reads what was spoken. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct daemon {
  char dir[64];
  char conf[128], spoken[128], log[128];
  int port;
  pid_t pid;
};

static struct daemon D;

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

struct buf {
  char *data;
  size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
  struct buf *b = ud;
  b->data = realloc(b->data, b->len + sz * n + 1);
  memcpy(b->data + b->len, p, sz * n);
  b->len += sz * n;
  b->data[b->len] = '\0';
  return sz * n;
}

/* One request; returns the status (0 when the connection failed), body in *out. */
static long http(const char *method, const char *path, const char *body, const char *ctype, char **out)
{
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", D.port, path);
  struct buf b = {calloc(1, 1), 0};
  struct curl_slist *hdr = NULL;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    char h[128];
    snprintf(h, sizeof h, "Content-Type: %s", ctype ? ctype : "application/json");
    hdr = curl_slist_append(hdr, h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
  }
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(c);
  if (out)
    *out = b.data;
  else
    free(b.data);
  return status;
}

static cJSON *post_json(const char *body, long want_status)
{
  char *out;
  long st = http("POST", "/v1/events", body, NULL, &out);
  if (st != want_status)
    fail_msg("POST %s: status %ld, want %ld: %s", body, st, want_status, out);
  cJSON *doc = cJSON_Parse(out);
  free(out);
  assert_non_null(doc);
  return doc;
}

static double num(cJSON *doc, const char *name)
{
  cJSON *v = cJSON_GetObjectItem(doc, name);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

/* Messages spoken to `contact` so far, as a JSON array of the file plugin's lines. */
static cJSON *spoken_to(const char *contact)
{
  cJSON *arr = cJSON_CreateArray();
  FILE *f = fopen(D.spoken, "r");
  char line[16384];
  while (f && fgets(line, sizeof line, f)) {
    cJSON *o = cJSON_Parse(line);
    assert_non_null(o);
    cJSON *ct = cJSON_GetObjectItem(o, "contact");
    if (cJSON_IsString(ct) && strcmp(ct->valuestring, contact) == 0)
      cJSON_AddItemToArray(arr, o);
    else
      cJSON_Delete(o);
  }
  if (f)
    fclose(f);
  return arr;
}

/* Waits up to `ms` for at least `n` messages to `contact`. */
static cJSON *wait_spoken(const char *contact, int n, long ms)
{
  for (long waited = 0;; waited += 50) {
    cJSON *arr = spoken_to(contact);
    if (cJSON_GetArraySize(arr) >= n || waited >= ms)
      return arr;
    cJSON_Delete(arr);
    sleep_ms(50);
  }
}

static const char *str(cJSON *arr, int i, const char *name)
{
  cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static cJSON *get_contact(const char *id, long *status)
{
  char path[128], *out;
  snprintf(path, sizeof path, "/v1/contacts/%s", id);
  *status = http("GET", path, NULL, NULL, &out);
  cJSON *doc = cJSON_Parse(out);
  free(out);
  return doc;
}

static cJSON *first_conv(const char *id)
{
  long st;
  cJSON *doc = get_contact(id, &st);
  assert_int_equal(st, 200);
  cJSON *cv = cJSON_DetachItemFromArray(cJSON_GetObjectItem(doc, "conversations"), 0);
  cJSON_Delete(doc);
  assert_non_null(cv);
  return cv;
}

static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  bind(fd, (struct sockaddr *)&a, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static void write_config(void)
{
  FILE *f = fopen(D.conf, "w");
  assert_non_null(f);
  fprintf(f,
          "return {\n"
          "  listen = { address = '127.0.0.1', port = %d },\n"
          "  data_dir = '%s/var', log_level = 'info',\n"
          "  plugin_dir = builddir .. '/plugins', journeys_dir = srcdir .. '/scripts/journeys',\n"
          "  sdk_dir = srcdir .. '/sdk/lua',\n"
          "  limits = { body_bytes = 65536, event_bytes = 4096, batch_events = 100 },\n"
          "  channels = { email = { plugin = 'file', path = '%s' }, sms = { plugin = 'file', path = '%s' } },\n"
          "  journey_params = {\n"
          "    welcome = { follow_up_after = '1s', last_call_after = '1s' },\n"
          "    cart_abandonment = { nudge_after = '1s', reply_within = '1s' },\n"
          "  },\n"
          "}\n",
          D.port, D.dir, D.spoken, D.spoken);
  fclose(f);
}

static int start_daemon(void **state)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  strcpy(D.dir, "/tmp/parley-it-XXXXXX");
  if (!mkdtemp(D.dir))
    return -1;
  snprintf(D.conf, sizeof D.conf, "%s/parley.conf.lua", D.dir);
  snprintf(D.spoken, sizeof D.spoken, "%s/spoken.ndjson", D.dir);
  snprintf(D.log, sizeof D.log, "%s/daemon.log", D.dir);
  D.port = free_port();
  write_config();
  D.pid = fork();
  if (D.pid == 0) {
    if (!freopen(D.log, "w", stderr))
      _exit(127);
    execl(PARLEY_BUILDDIR "/core/parley", "parley", "serve", "-c", D.conf, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    if (http("GET", "/healthz", NULL, NULL, NULL) == 200)
      return 0;
    sleep_ms(50);
  }
  fprintf(stderr, "# daemon did not come up; its log is %s\n", D.log);
  return -1;
}

static void dump_log(void)
{
  char cmd[256];
  snprintf(cmd, sizeof cmd, "sed 's/^/# /' %s >&2", D.log);
  if (system(cmd) != 0)
    fprintf(stderr, "# (no daemon log)\n");
}

/* SIGTERM must stop the daemon cleanly: exit status 0, which under the sanitizers also
 * means no leak and no error report. */
static int stop_daemon(void **state)
{
  int status = 0;
  kill(D.pid, SIGTERM);
  waitpid(D.pid, &status, 0);
  curl_global_cleanup();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "# daemon exit status %d\n", status);
    dump_log();
    return -1;
  }
  return 0;
}

static void test_welcome_then_follow_up_after_silence(void **state)
{
  cJSON *r = post_json("{\"id\":\"w1-signup\",\"type\":\"user.signed_up\",\"contact\":\"w1\","
                       "\"profile\":{\"email\":\"ann@example.com\",\"first_name\":\"Ann\"}}",
                       200);
  assert_int_equal(num(r, "accepted"), 1);
  assert_int_equal(num(r, "applied"), 1);
  cJSON_Delete(r);
  cJSON *out = wait_spoken("w1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(str(out, 0, "template"), "welcome");
  assert_string_equal(str(out, 0, "channel"), "email");
  assert_string_equal(str(out, 0, "address"), "ann@example.com");
  assert_non_null(strstr(str(out, 0, "text"), "Ann"));
  cJSON_Delete(out);
  /* one configured second of silence later, the follow-up */
  out = wait_spoken("w1", 2, 8000);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(str(out, 1, "template"), "welcome_nudge");
  assert_string_equal(str(out, 1, "journey"), "welcome");
  cJSON_Delete(out);
}

static void test_answer_takes_the_other_branch(void **state)
{
  cJSON_Delete(post_json("{\"id\":\"w2-signup\",\"type\":\"user.signed_up\",\"contact\":\"w2\","
                         "\"profile\":{\"email\":\"bo@example.com\"}}",
                         200));
  cJSON_Delete(wait_spoken("w2", 1, 5000));
  cJSON_Delete(post_json("{\"id\":\"w2-click\",\"type\":\"email.clicked\",\"contact\":\"w2\"}", 200));
  cJSON *out = wait_spoken("w2", 2, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(str(out, 1, "template"), "welcome_tips");
  cJSON_Delete(out);
  cJSON *cv = first_conv("w2");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "done");
  cJSON_Delete(cv);
}

static void test_goal_event_ends_the_conversation(void **state)
{
  cJSON_Delete(post_json("{\"id\":\"c1-cart\",\"type\":\"cart.updated\",\"contact\":\"c1\","
                         "\"profile\":{\"email\":\"cy@example.com\",\"phone\":\"+15550100\"},"
                         "\"data\":{\"items\":[{\"name\":\"Teapot\",\"price\":30}]}}",
                         200));
  cJSON *out = wait_spoken("c1", 1, 5000);
  assert_int_equal(cJSON_GetArraySize(out), 1);
  assert_string_equal(str(out, 0, "journey"), "cart_abandonment");
  cJSON_Delete(out);
  cJSON *cv = first_conv("c1");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "listening");
  assert_true(cJSON_IsNumber(cJSON_GetObjectItem(cv, "deadline")));
  cJSON_Delete(cv);
  cJSON_Delete(post_json("{\"id\":\"c1-order\",\"type\":\"order.placed\",\"contact\":\"c1\"}", 200));
  cv = first_conv("c1");
  assert_string_equal(cJSON_GetObjectItem(cv, "status")->valuestring, "done");
  assert_string_equal(cJSON_GetObjectItem(cv, "outcome")->valuestring, "goal:order.placed");
  cJSON_Delete(cv);
  sleep_ms(1600); /* past the nudge deadline: nothing more is said */
  out = spoken_to("c1");
  assert_int_equal(cJSON_GetArraySize(out), 1);
  cJSON_Delete(out);
}

static void test_batch_is_applied_once(void **state)
{
  const char *batch = "{\"id\":\"b-1\",\"type\":\"user.signed_up\",\"contact\":\"n1\",\"profile\":{\"email\":\"n1@x.org\"}}\n"
                      "\n"
                      "{\"id\":\"b-2\",\"type\":\"user.signed_up\",\"contact\":\"n2\",\"profile\":{\"email\":\"n2@x.org\"}}\n"
                      "{\"id\":\"b-3\",\"type\":\"user.signed_up\",\"contact\":\"n3\",\"profile\":{\"email\":\"n3@x.org\"}}\n";
  char *out;
  assert_int_equal(http("POST", "/v1/events", batch, "application/x-ndjson", &out), 200);
  cJSON *r = cJSON_Parse(out);
  free(out);
  assert_int_equal(num(r, "accepted"), 3);
  assert_int_equal(num(r, "applied"), 3);
  cJSON_Delete(r);
  assert_int_equal(http("POST", "/v1/events", batch, "application/x-ndjson", &out), 200);
  r = cJSON_Parse(out);
  free(out);
  assert_int_equal(num(r, "applied"), 0);
  assert_int_equal(num(r, "duplicates"), 3);
  cJSON_Delete(r);
  const char *who[] = {"n1", "n2", "n3"};
  for (int i = 0; i < 3; i++) {
    cJSON *sp = spoken_to(who[i]);
    assert_int_equal(cJSON_GetArraySize(sp), 1); /* one welcome each, not two */
    cJSON_Delete(sp);
  }
}

static void expect_error(const char *body, long status, const char *code, const char *needle)
{
  char *out;
  long st = http("POST", "/v1/events", body, "application/x-ndjson", &out);
  cJSON *doc = cJSON_Parse(out);
  cJSON *e = cJSON_GetObjectItem(doc, "error");
  cJSON *msg = cJSON_GetObjectItem(e, "message");
  if (st != status || !cJSON_IsString(msg) || !strstr(msg->valuestring, needle) ||
      strcmp(cJSON_GetObjectItem(e, "code")->valuestring, code) != 0)
    fail_msg("body %.60s: got %ld %s, want %ld %s '%s'", body, st, out, status, code, needle);
  cJSON_Delete(doc);
  free(out);
}

static void test_bad_requests_get_clear_errors(void **state)
{
  expect_error("{\"type\":\"x\",", 400, "bad_event", "malformed JSON");
  expect_error("{\"type\":\"x\",\"contact\":\"q\",\"colour\":\"red\"}", 400, "bad_event", "unknown field 'colour'");
  expect_error("{\"type\":5,\"contact\":\"q\"}", 400, "bad_event", "field 'type' must be a string");
  expect_error("{\"contact\":\"q\"}", 400, "bad_event", "field 'type' is required");
  expect_error("{\"type\":\"x\",\"contact\":\"q\",\"data\":[1]}", 400, "bad_event", "field 'data' must be an object");
  expect_error("", 400, "bad_event", "no event");
  /* line 3 of a batch is bad: 400 naming it, and lines 1-2 are not applied */
  expect_error("{\"id\":\"h1\",\"type\":\"user.signed_up\",\"contact\":\"half1\"}\n"
               "{\"id\":\"h2\",\"type\":\"user.signed_up\",\"contact\":\"half2\"}\n"
               "{\"id\":\"h3\",\"type\":\"user.signed_up\"}\n",
               400, "bad_event", "line 3: field 'contact' is required");
  long st;
  cJSON_Delete(get_contact("half1", &st));
  assert_int_equal(st, 404);
  cJSON_Delete(get_contact("half2", &st));
  assert_int_equal(st, 404);
  /* over-size: one event, and the whole body */
  char *big = malloc(70000);
  memset(big, 'a', 69999);
  big[69999] = '\0';
  const char *head = "{\"type\":\"x\",\"contact\":\"q\",\"data\":{\"pad\":\"";
  memcpy(big, head, strlen(head));
  expect_error(big, 413, "body_too_large", "larger than 65536 bytes");
  big[5000] = '\0';
  expect_error(big, 400, "bad_event", "event larger than 4096 bytes");
  free(big);
  assert_int_equal(http("GET", "/v1/nothing", NULL, NULL, NULL), 404);
  assert_int_equal(http("GET", "/v1/events", NULL, NULL, NULL), 405);
  /* and the daemon still serves */
  assert_int_equal(http("GET", "/healthz", NULL, NULL, NULL), 200);
}

static void test_metrics_count_what_happened(void **state)
{
  char *out;
  assert_int_equal(http("GET", "/metrics", NULL, NULL, &out), 200);
  assert_non_null(strstr(out, "# TYPE parley_events_total counter"));
  assert_non_null(strstr(out, "parley_goals_total 1\n"));
  free(out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_welcome_then_follow_up_after_silence),
      cmocka_unit_test(test_answer_takes_the_other_branch),
      cmocka_unit_test(test_goal_event_ends_the_conversation),
      cmocka_unit_test(test_batch_is_applied_once),
      cmocka_unit_test(test_bad_requests_get_clear_errors),
      cmocka_unit_test(test_metrics_count_what_happened),
  };
  return cmocka_run_group_tests(tests, start_daemon, stop_daemon);
}

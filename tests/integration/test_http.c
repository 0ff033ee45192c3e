/* The malformed-input suite, through the real daemon: requests no well-behaved client
 * sends (bad framing, lying lengths, oversize parts, protocol versions we do not speak),
 * slow and idle clients, and many connections from one address. For each: the status,
 * one status line, the API's JSON error, nothing applied from a refused request, and the
 * daemon answering another client throughout. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct daemon D;

static int start(void **state)
{
  return h_setup(&D, "  http = { auth = 'none', header_timeout = '1s', body_timeout = '1s', idle_timeout = '2s',\n"
                     "           max_connections_per_address = 32 },\n"
                     "  limits = { body_bytes = 1048576, event_bytes = 4096, batch_events = 1000 },\n"
                     "  channels = { email = { plugin = 'file', path = spoken } },");
}

static int stop(void **state)
{
  return h_teardown(&D);
}

static size_t count(const char *hay, const char *needle)
{
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

/* One answer, with `status`, one status line, and {"error": {"code": code}}. */
static void expect_json_error(const char *what, const char *answer, int status, const char *code)
{
  cJSON *doc = h_raw_json(answer);
  cJSON *got = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "code");
  size_t lines = count(answer, "\nHTTP/1.1 ") + (strncmp(answer, "HTTP/1.1 ", 9) == 0);
  if (h_raw_status(answer) != status || lines != 1 || !cJSON_IsString(got) ||
      strcmp(got->valuestring, code) != 0 || !strstr(answer, "Content-Type: application/json\r\n"))
    fail_msg("%s: want %d %s, got: %s", what, status, code, answer);
  cJSON_Delete(doc);
}

static void expect_alive(void)
{
  assert_int_equal(h_http(&D, "GET", "/healthz", NULL, NULL, NULL), 200);
}

static double events_applied(void)
{
  char *text;
  assert_int_equal(h_http(&D, "GET", "/metrics", NULL, NULL, &text), 200);
  const char *p = strstr(text, "\nparley_events_total ");
  double v = p ? atof(p + 21) : -1;
  free(text);
  return v;
}

static const char event[] = "{\"type\":\"signup\",\"contact\":\"mal\",\"id\":\"m1\"}";

static void test_protocol_errors_are_json(void **state)
{
  char big_url[9100], big_hdr[17200];
  snprintf(big_url, sizeof big_url, "GET /%08990d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  snprintf(big_hdr, sizeof big_hdr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: %017000d\r\n\r\n", 0);
  struct {
    const char *what, *req, *code;
    int status;
  } cases[] = {
      {"URI too long", big_url, "uri_too_long", 414},
      {"headers too large", big_hdr, "headers_too_large", 431},
      {"HTTP/2.0 on HTTP/1", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", "http_version_not_supported", 505},
      {"HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\n\r\n", "bad_request", 400},
      {"two Host headers", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "bad_request", 400},
      {"chunked garbage", "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n",
       "bad_request", 400},
      {"two Content-Lengths",
       "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nContent-Length: 45\r\n\r\n", "bad_request", 400},
      {"Content-Length and chunked",
       "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n",
       "bad_request", 400},
      {"Content-Length not a number", "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 4x\r\n\r\n",
       "bad_request", 400},
      {"an unknown method", "BREW /v1/events HTTP/1.1\r\nHost: x\r\n\r\n", "not_implemented", 501},
      {"an unknown Expect", "POST /v1/events HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}",
       "expectation_failed", 417},
      {"a body over the limit announced",
       "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", "body_too_large", 413},
      {"a target that is not a path", "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", "bad_request", 400},
      {"a method on a path that lacks it", "DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
       "method_not_allowed", 405},
      {"no such endpoint", "GET /v2/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "not_found", 404},
      {"a header line without a colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n", "bad_request", 400},
      {"a NUL in the target", "GET /heal\0thz HTTP/1.1\r\nHost: x\r\n\r\n", "bad_request", 400},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len = strlen(cases[i].req);
    if (strcmp(cases[i].what, "a NUL in the target") == 0)
      len = sizeof "GET /heal\0thz HTTP/1.1\r\nHost: x\r\n\r\n" - 1;
    char *answer = h_raw(&D, cases[i].req, len, 3000);
    expect_json_error(cases[i].what, answer, cases[i].status, cases[i].code);
    free(answer);
    expect_alive();
  }
}

/* The body of a refused request is never applied, even when it is a good event. */
static void test_refused_requests_apply_nothing(void **state)
{
  double before = events_applied();
  char req[512];
  snprintf(req, sizeof req,
           "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\nContent-Length: %zu\r\n\r\n%s",
           strlen(event), strlen(event), event);
  free(h_raw(&D, req, strlen(req), 3000));
  snprintf(req, sizeof req, "POST /v1/events HTTP/2.0\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s", strlen(event),
           event);
  free(h_raw(&D, req, strlen(req), 3000));
  /* a body that stops short of its length: the request is never whole */
  snprintf(req, sizeof req, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%.20s",
           strlen(event), event);
  char *answer = h_raw(&D, req, strlen(req), 3000);
  expect_json_error("a body shorter than its Content-Length", answer, 408, "request_timeout");
  free(answer);
  assert_true(events_applied() == before);
  long st;
  cJSON_Delete(h_get_contact(&D, "mal", &st));
  assert_int_equal(st, 404);
}

static void test_deep_and_huge_bodies(void **state)
{
  size_t depth = 20000;
  char *deep = malloc(2 * depth + 64);
  strcpy(deep, "{\"type\":\"x\",\"contact\":\"d\",\"data\":{\"a\":");
  size_t n = strlen(deep);
  memset(deep + n, '[', depth);
  memset(deep + n + depth, ']', depth);
  strcpy(deep + n + 2 * depth, "}}");
  char *out;
  /* deeper than the body limit allows as a whole: refused as too large, or as malformed */
  long st = h_http(&D, "POST", "/v1/events", deep, NULL, &out);
  assert_true(st == 400 || st == 413);
  assert_non_null(strstr(out, "\"error\""));
  free(out);
  deep[n + 2000] = '\0'; /* 2,000 deep: under the body limit, over the nesting any event needs */
  memset(deep + n + 1000, ']', 1000);
  strcpy(deep + n + 2000, "}}");
  st = h_http(&D, "POST", "/v1/events", deep, NULL, &out);
  if (st != 400 || !strstr(out, "bad_event"))
    fail_msg("a 1000-deep event: %ld %s", st, out);
  free(out);
  free(deep);
  expect_alive();
}

/* A client that sends its headers a byte at a time still gets header_timeout (1 s) in
 * all, not per byte: the connection ends within it, with 408. */
static void test_drip_fed_headers_time_out(void **state)
{
  int fd = h_connect(&D, NULL);
  assert_true(fd >= 0);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  long t0 = h_now_ms();
  char *answer = NULL;
  for (size_t i = 0; req[i] && h_now_ms() - t0 < 4000; i++) {
    if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
      break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) > 0)
      break;
  }
  answer = h_raw_read(fd, 3000);
  long took = h_now_ms() - t0;
  close(fd);
  expect_json_error("drip-fed headers", answer, 408, "request_timeout");
  free(answer);
  if (took > 2000)
    fail_msg("a drip-fed request held its connection %ld ms (header_timeout is 1 s)", took);
}

static void test_idle_connections_close(void **state)
{
  int fd = h_connect(&D, NULL);
  assert_true(fd >= 0);
  long t0 = h_now_ms();
  char *answer = h_raw_read(fd, 5000); /* returns when the server closes */
  long took = h_now_ms() - t0;
  close(fd);
  assert_string_equal(answer, ""); /* an idle connection is closed without a word */
  free(answer);
  assert_true(took >= 1500 && took < 4000);
}

/* Many idle and drip-feeding connections from one address take only that address's
 * share (32 here); another client keeps being answered, events included. */
static void test_one_address_cannot_starve_others(void **state)
{
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  enum { N = 2000 };
  static int fds[N];
  int refused = 0, open = 0;
  for (int i = 0; i < N; i++) {
    fds[i] = h_connect(&D, "127.0.0.1");
    if (fds[i] < 0)
      continue;
    open++;
    if (i % 2)
      send(fds[i], "GET /healthz HTTP/1.1\r\n", 23, MSG_NOSIGNAL); /* drip: never finished */
  }
  assert_int_equal(open, N);
  long t0 = h_now_ms();
  int other = h_connect(&D, "127.0.0.2");
  assert_true(other >= 0);
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  assert_int_equal(send(other, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
  char *answer = h_raw_read(other, 3000);
  close(other);
  assert_int_equal(h_raw_status(answer), 200);
  free(answer);
  assert_true(h_now_ms() - t0 < 1000);
  /* events from the other address too */
  int ev = h_connect(&D, "127.0.0.2");
  char post[512];
  snprintf(post, sizeof post,
           "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
           strlen(event), event);
  send(ev, post, strlen(post), MSG_NOSIGNAL);
  answer = h_raw_read(ev, 3000);
  close(ev);
  assert_int_equal(h_raw_status(answer), 200);
  free(answer);
  /* most of the first address's connections were refused, each with a 429 */
  for (int i = 0; i < N; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    if (poll(&p, 1, 0) > 0) {
      char buf[512] = "";
      if (recv(fds[i], buf, sizeof buf - 1, MSG_DONTWAIT) > 0 && h_raw_status(buf) == 429)
        refused++;
    }
    close(fds[i]);
  }
  if (refused < N - 64)
    fail_msg("only %d of %d connections over the per-address limit were refused with 429", refused, N);
  expect_alive();
}

/* The same event id posted on several connections in one go is applied once. */
static void test_concurrent_duplicates_apply_once(void **state)
{
  enum { N = 6 };
  int fds[N];
  char post[512];
  const char *dup = "{\"type\":\"signup\",\"contact\":\"dup\",\"id\":\"same-id\"}";
  snprintf(post, sizeof post,
           "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s", strlen(dup),
           dup);
  for (int i = 0; i < N; i++) {
    fds[i] = h_connect(&D, NULL);
    assert_true(fds[i] >= 0);
  }
  for (int i = 0; i < N; i++)
    send(fds[i], post, strlen(post), MSG_NOSIGNAL);
  double applied = 0, dups = 0;
  for (int i = 0; i < N; i++) {
    char *answer = h_raw_read(fds[i], 3000);
    close(fds[i]);
    assert_int_equal(h_raw_status(answer), 200);
    cJSON *doc = h_raw_json(answer);
    applied += h_num(doc, "applied");
    dups += h_num(doc, "duplicates");
    cJSON_Delete(doc);
    free(answer);
  }
  assert_true(applied == 1 && dups == N - 1);
}

/* Two requests in one write: two answers, in order; HEAD has no body. */
static void test_pipelined_requests_and_head(void **state)
{
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                            "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                            "GET /v1/contacts/nobody HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  char *answer = h_raw(&D, req, sizeof req - 1, 3000);
  assert_int_equal(count(answer, "HTTP/1.1 200 OK"), 2);
  assert_int_equal(count(answer, "{\"status\":\"ok\"}"), 1); /* HEAD: no body */
  const char *third = strstr(answer, "HTTP/1.1 404");
  assert_non_null(third);
  assert_true(third > strstr(answer, "HTTP/1.1 200"));
  free(answer);
}

/* `n` sign-ups for contacts big-<tag>-<i>, as one NDJSON POST (malloc'd request). */
static char *big_batch(const char *tag, int n, size_t *len)
{
  size_t cap = (size_t)n * 96 + 256;
  char *body = malloc(cap), *req = malloc(cap + 256);
  size_t off = 0;
  for (int i = 0; i < n; i++)
    off += (size_t)snprintf(body + off, cap - off, "{\"type\":\"signup\",\"contact\":\"big-%s-%d\"}\n", tag, i);
  *len = (size_t)snprintf(req, cap + 256, "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                          "Content-Length: %zu\r\n\r\n%s", off, body);
  free(body);
  return req;
}

/* The largest request (1,000 events) is applied in parts: /healthz, asked just after it,
 * is answered before it is. */
static void test_a_large_request_lets_others_in(void **state)
{
  size_t len;
  char *req = big_batch("a", 1000, &len);
  int big = h_connect(&D, NULL), probe = h_connect(&D, "127.0.0.2");
  assert_true(big >= 0 && probe >= 0);
  assert_int_equal(send(big, req, len, MSG_NOSIGNAL), (ssize_t)len);
  static const char hz[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send(probe, hz, sizeof hz - 1, MSG_NOSIGNAL);
  struct pollfd p[2] = {{.fd = big, .events = POLLIN}, {.fd = probe, .events = POLLIN}};
  assert_true(poll(p, 2, 10000) > 0);
  if (!(p[1].revents & POLLIN) || (p[0].revents & POLLIN))
    fail_msg("the large request was answered before /healthz, asked while it was applied");
  char *a = h_raw_read(probe, 3000), *b = h_raw_read(big, 10000);
  assert_int_equal(h_raw_status(a), 200);
  cJSON *doc = h_raw_json(b);
  assert_true(h_num(doc, "applied") == 1000);
  cJSON_Delete(doc);
  free(a);
  free(b);
  close(big);
  close(probe);
  free(req);
  long st;
  cJSON_Delete(h_get_contact(&D, "big-a-999", &st));
  assert_int_equal(st, 200);
}

/* Killed while a large request is applied in parts, the daemon comes back with all of it
 * or none of it (its client never had an answer, and resends). */
static void test_a_large_request_is_committed_whole(void **state)
{
  size_t len;
  char *req = big_batch("k", 1000, &len);
  int fd = h_connect(&D, NULL);
  assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
  h_sleep_ms(30); /* into its parts */
  assert_int_equal(h_stop(&D, SIGKILL), 128 + SIGKILL);
  close(fd);
  free(req);
  assert_int_equal(h_start(&D), 0);
  long first, last;
  cJSON_Delete(h_get_contact(&D, "big-k-0", &first));
  cJSON_Delete(h_get_contact(&D, "big-k-999", &last));
  if (first != last)
    fail_msg("after a kill, contact 0 answers %ld and contact 999 %ld: half a request was kept", first, last);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_protocol_errors_are_json),
      cmocka_unit_test(test_refused_requests_apply_nothing),
      cmocka_unit_test(test_deep_and_huge_bodies),
      cmocka_unit_test(test_drip_fed_headers_time_out),
      cmocka_unit_test(test_idle_connections_close),
      cmocka_unit_test(test_concurrent_duplicates_apply_once),
      cmocka_unit_test(test_pipelined_requests_and_head),
      cmocka_unit_test(test_one_address_cannot_starve_others),
      cmocka_unit_test(test_a_large_request_lets_others_in),
      cmocka_unit_test(test_a_large_request_is_committed_whole),
  };
  return cmocka_run_group_tests(tests, start, stop);
}

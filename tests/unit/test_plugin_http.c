/* The HTTP client of ABI 1.1 (http_request, http_cancel, http_header), used as a plugin
 * uses it: through the host table, with the parley_ctx of a real plugin instance, on a
 * real libev loop, against a real server on loopback (httpd.c, started once for the
 * suite): a body and headers both ways, a 500, a timeout, a refused connection, many
 * requests on few connections, cancels, an instance closed with requests pending, the
 * body cap, refusals of bad requests, and a certificate that does not verify (openssl
 * s_server, when openssl is installed). Errors the client logs are counted: every test
 * ends with none. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "httpd.h"
#include "log.h"
#include "plugin/plugin_http.h"
#include "plugin/plugin_int.h"
#include "plugin/plugin_load.h"

#define PENDING_PLUGIN PARLEY_BUILDDIR "/tests/plugins/.libs/pending_send.so"
#define MAX_GOT 100

static struct httpd *server;

struct fixture;

/* What one callback received, copied out of the response. */
struct got {
  struct fixture *f;
  int calls;
  enum parley_http_error error;
  int status;
  char *body;
  size_t body_len;
  char conn[16], method[16], echo_test[64], retry_after[16], error_text[256];
  parley_http *handle;
  int cancel_self;    /* the callback cancels its own request (a no-op) */
  int chain;          /* the callback starts another request into the next slot */
};

struct fixture {
  struct log log;
  struct clock clock;
  struct ev_loop *loop;
  struct plugin_http *http;
  struct plugin_env env;
  struct plugin_inst *pi;
  const struct parley_host *host;
  int errors, warnings; /* records logged at those levels */
  int answered;         /* callbacks, every slot */
  struct got got[MAX_GOT];
};

static void count_log(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list ap)
{
  struct fixture *f = ud;
  f->errors += lvl >= LOG_ERROR;
  f->warnings += lvl == LOG_WARN;
  if (getenv("PARLEY_TEST_VERBOSE"))
    fprintf(stderr, "# log %d %s: %s\n", (int)lvl, subsys, msg);
}

static int suite_setup(void **state)
{
  signal(SIGPIPE, SIG_IGN);
  server = httpd_start();
  return server ? 0 : -1;
}

static int suite_teardown(void **state)
{
  httpd_stop(server);
  return 0;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  char err[512];
  f->log = (struct log){LOG_DEBUG, count_log, f};
  f->loop = ev_loop_new(EVFLAG_AUTO);
  clock_init_loop(&f->clock, f->loop);
  f->http = plugin_http_open(f->loop, &f->log, NULL);
  assert_non_null(f->http);
  f->env = (struct plugin_env){.log = &f->log, .clock = &f->clock, .loop = f->loop, .http = f->http};
  if (plugin_instance_open(&f->env, "hook", PENDING_PLUGIN, NULL, &f->pi, err, sizeof err) < 0)
    fail_msg("%s", err);
  f->host = plugin_host_table();
  for (int i = 0; i < MAX_GOT; i++)
    f->got[i].f = f;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  if (f->pi)
    plugin_instance_close(f->pi);
  plugin_http_close(f->http);
  ev_loop_destroy(f->loop);
  for (int i = 0; i < MAX_GOT; i++)
    free(f->got[i].body);
  int errors = f->errors;
  free(f);
  assert_int_equal(errors, 0);
  return 0;
}

static void copy_header(const struct parley_http_resp *r, const char *name, char *out, size_t cap)
{
  const char *v = plugin_host_table()->http_header(r, name);
  snprintf(out, cap, "%s", v ? v : "");
}

static parley_http *request(struct fixture *f, const char *method, const char *path,
                            const char *body, uint32_t timeout_ms, size_t max_body, struct got *g);

/* The callback: `arg` is the slot the answer goes to. */
static void on_answer(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct got *g = arg;
  g->calls++;
  g->f->answered++;
  g->error = r->error;
  g->status = r->status;
  g->body = malloc(r->body_len + 1);
  memcpy(g->body, r->body, r->body_len + 1); /* with the NUL the host puts after it */
  g->body_len = r->body_len;
  snprintf(g->error_text, sizeof g->error_text, "%s", r->error_text ? r->error_text : "");
  copy_header(r, "x-conn", g->conn, sizeof g->conn); /* any case */
  copy_header(r, "X-METHOD", g->method, sizeof g->method);
  copy_header(r, "X-Echo-Test", g->echo_test, sizeof g->echo_test);
  copy_header(r, "Retry-After", g->retry_after, sizeof g->retry_after);
  if (g->cancel_self)
    plugin_host_table()->http_cancel(ctx, g->handle);
  if (g->chain)
    assert_non_null(request(g->f, "GET", "/echo", NULL, 0, 0, g + 1));
}

static parley_http *request(struct fixture *f, const char *method, const char *path,
                            const char *body, uint32_t timeout_ms, size_t max_body, struct got *g)
{
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", httpd_port(server), path);
  struct parley_http_header h[] = {{"X-Test", "hello there"}, {"Content-Type", "text/plain"}};
  struct parley_http_req req = {.size = sizeof req, .method = method, .url = url,
                                .headers = h, .n_headers = 2,
                                .body = body, .body_len = body ? strlen(body) : 0,
                                .timeout_ms = timeout_ms, .max_body_bytes = max_body};
  g->handle = f->host->http_request((parley_ctx *)f->pi, &req, on_answer, g);
  memset(url, 'z', sizeof url - 1); /* the request keeps no pointer into what it was given */
  return g->handle;
}

/* Wakes EVRUN_ONCE now and then, so run_until sees the time pass with nothing to do. */
static void on_tick(struct ev_loop *loop, ev_timer *w, int revents) {}

/* Runs the loop until `n` answers in all came, or `seconds` passed. */
static void run_until(struct fixture *f, int n, double seconds)
{
  ev_tstamp end = ev_time() + seconds;
  ev_timer tick;
  ev_timer_init(&tick, on_tick, 0.05, 0.05);
  while (f->answered < n && ev_time() < end) {
    ev_timer_start(f->loop, &tick);
    ev_run(f->loop, EVRUN_ONCE);
    ev_timer_stop(f->loop, &tick);
  }
}

/* A free loopback port: bound, then closed, so nothing listens there. */
static int closed_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* --- answers --- */

static void test_body_and_headers(void **state)
{
  struct fixture *f = *state;
  struct got *g = f->got;
  assert_true(PARLEY_HOST_HAS(f->host, http_request));
  assert_true(PARLEY_HOST_HAS(f->host, http_header));
  assert_non_null(request(f, "POST", "/echo", "ping \"pong\"", 0, 0, &g[0]));
  assert_non_null(request(f, NULL, "/echo", NULL, 0, 0, &g[1])); /* NULL: GET */
  assert_non_null(request(f, "PUT", "/echo", "put body", 0, 0, &g[2]));
  assert_non_null(request(f, "DELETE", "/echo", NULL, 0, 0, &g[3]));
  assert_int_equal(f->answered, 0); /* never from inside http_request */
  run_until(f, 4, 5);
  assert_int_equal(f->answered, 4);
  assert_int_equal(g[0].error, PARLEY_HTTP_OK);
  assert_int_equal(g[0].status, 200);
  assert_string_equal(g[0].body, "ping \"pong\"");
  assert_int_equal(g[0].body_len, strlen("ping \"pong\""));
  assert_string_equal(g[0].method, "POST");
  assert_string_equal(g[0].echo_test, "hello there");
  assert_string_equal(g[0].error_text, "");
  assert_string_equal(g[0].retry_after, ""); /* an absent header reads as NULL */
  assert_true(atoi(g[0].conn) >= 1);
  assert_string_equal(g[1].method, "GET");
  assert_string_equal(g[1].body, "");
  assert_string_equal(g[2].method, "PUT");
  assert_string_equal(g[2].body, "put body");
  assert_string_equal(g[3].method, "DELETE");
  for (int i = 0; i < 4; i++)
    assert_int_equal(g[i].calls, 1);
}

/* A 5xx is a response like any other; what it means is the plugin's to say. */
static void test_server_error(void **state)
{
  struct fixture *f = *state;
  assert_non_null(request(f, "POST", "/status/500", "x", 0, 0, &f->got[0]));
  assert_non_null(request(f, "GET", "/status/429?retry_after=7", NULL, 0, 0, &f->got[1]));
  run_until(f, 2, 5);
  assert_int_equal(f->got[0].error, PARLEY_HTTP_OK);
  assert_int_equal(f->got[0].status, 500);
  assert_string_equal(f->got[0].body, "status 500");
  assert_int_equal(f->got[1].status, 429);
  assert_string_equal(f->got[1].retry_after, "7");
}

static void test_timeout(void **state)
{
  struct fixture *f = *state;
  ev_tstamp t0 = ev_time();
  assert_non_null(request(f, "GET", "/slow/3000", NULL, 200, 0, &f->got[0]));
  run_until(f, 1, 5);
  ev_tstamp took = ev_time() - t0;
  assert_int_equal(f->got[0].calls, 1);
  assert_int_equal(f->got[0].error, PARLEY_HTTP_TIMEOUT);
  assert_int_equal(f->got[0].status, 0);
  assert_string_equal(f->got[0].body, "");
  assert_true(f->got[0].error_text[0] != '\0');
  if (took < 0.15 || took > 2.0)
    fail_msg("a 200 ms timeout took %.3f s", took);
}

static void test_connection_refused(void **state)
{
  struct fixture *f = *state;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", closed_port());
  struct parley_http_req req = {.size = sizeof req, .url = url, .timeout_ms = 5000};
  assert_non_null(f->host->http_request((parley_ctx *)f->pi, &req, on_answer, &f->got[0]));
  assert_int_equal(f->answered, 0);
  run_until(f, 1, 5);
  assert_int_equal(f->got[0].calls, 1);
  assert_int_equal(f->got[0].error, PARLEY_HTTP_CONNECT);
  assert_int_equal(f->got[0].status, 0);
  assert_non_null(strstr(f->got[0].error_text, "onnect"));
}

static int distinct_conns(const struct got *g, int n)
{
  int seen = 0;
  for (int i = 0; i < n; i++) {
    int dup = 0;
    for (int j = 0; j < i && !dup; j++)
      dup = strcmp(g[i].conn, g[j].conn) == 0;
    seen += !dup;
  }
  return seen;
}

/* Forty requests at once share at most 8 connections; forty more reuse those and open
 * none. */
static void test_many_on_few_connections(void **state)
{
  struct fixture *f = *state;
  unsigned before = httpd_accepted(server);
  for (int i = 0; i < 40; i++)
    assert_non_null(request(f, "POST", "/echo", "same", 0, 0, &f->got[i]));
  run_until(f, 40, 10);
  assert_int_equal(f->answered, 40);
  for (int i = 0; i < 40; i++) {
    assert_int_equal(f->got[i].status, 200);
    assert_string_equal(f->got[i].body, "same");
  }
  int used = distinct_conns(f->got, 40);
  unsigned opened = httpd_accepted(server) - before;
  if (used > 8 || opened > 8)
    fail_msg("40 requests used %d connections, %u opened", used, opened);
  for (int i = 40; i < 80; i++)
    assert_non_null(request(f, "GET", "/echo", NULL, 0, 0, &f->got[i]));
  run_until(f, 80, 10);
  assert_int_equal(f->answered, 80);
  assert_int_equal(httpd_accepted(server) - before, opened); /* all reused */
}

/* --- ends without an answer --- */

static void test_cancel(void **state)
{
  struct fixture *f = *state;
  struct got *g = f->got;
  parley_http *slow = request(f, "GET", "/slow/300", NULL, 0, 0, &g[0]);
  assert_non_null(slow);
  f->host->http_cancel((parley_ctx *)f->pi, slow);
  f->host->http_cancel((parley_ctx *)f->pi, NULL); /* ignored */
  /* Cancelling itself from its callback does nothing; starting another one works. */
  g[1].cancel_self = 1;
  g[1].chain = 1;
  assert_non_null(request(f, "GET", "/echo", NULL, 0, 0, &g[1]));
  run_until(f, 2, 5);
  run_until(f, 3, 0.5); /* time for the cancelled one's answer, were it still coming */
  assert_int_equal(g[0].calls, 0);
  assert_int_equal(g[1].calls, 1);
  assert_int_equal(g[1].status, 200);
  assert_int_equal(g[2].calls, 1);
  assert_int_equal(g[2].status, 200);
  assert_int_equal(f->answered, 2);
}

/* Closing the instance cancels what it has pending, without a callback; LeakSanitizer
 * checks that nothing of them is left, and the teardown that the client has none. */
static void test_close_with_pending(void **state)
{
  struct fixture *f = *state;
  for (int i = 0; i < 5; i++)
    assert_non_null(request(f, "GET", "/slow/300", NULL, 0, 0, &f->got[i]));
  plugin_instance_close(f->pi);
  f->pi = NULL;
  run_until(f, 1, 0.6);
  assert_int_equal(f->answered, 0);
}

static void test_body_cap(void **state)
{
  struct fixture *f = *state;
  assert_non_null(request(f, "GET", "/big/5000", NULL, 0, 1000, &f->got[0]));
  assert_non_null(request(f, "GET", "/big/1000", NULL, 0, 1000, &f->got[1]));
  assert_non_null(request(f, "GET", "/big/300000", NULL, 0, 0, &f->got[2])); /* under 1 MiB */
  run_until(f, 3, 5);
  assert_int_equal(f->got[0].error, PARLEY_HTTP_TOO_LARGE);
  assert_int_equal(f->got[0].status, 0);
  assert_non_null(strstr(f->got[0].error_text, "max_body_bytes"));
  assert_int_equal(f->got[1].error, PARLEY_HTTP_OK);
  assert_int_equal(f->got[1].body_len, 1000);
  assert_int_equal(f->got[2].body_len, 300000);
}

/* A request the client cannot send is refused at once, logged, and never called back. */
static void test_refusals(void **state)
{
  struct fixture *f = *state;
  parley_ctx *ctx = (parley_ctx *)f->pi;
  struct parley_http_header crlf[] = {{"X-Test", "a\r\nX-Injected: 1"}};
  struct parley_http_header spacey[] = {{"X Test", "a"}};
  const struct parley_http_req bad[] = {
      {.size = sizeof bad[0], .url = "ftp://127.0.0.1/x"},
      {.size = sizeof bad[0], .url = "file:///etc/passwd"},
      {.size = sizeof bad[0], .url = "http://127.0.0.1/a b"},
      {.size = sizeof bad[0], .url = NULL},
      {.size = 4, .url = "http://127.0.0.1/"},
      {.size = sizeof bad[0], .url = "http://127.0.0.1/", .method = "GET /x"},
      {.size = sizeof bad[0], .url = "http://127.0.0.1/", .headers = crlf, .n_headers = 1},
      {.size = sizeof bad[0], .url = "http://127.0.0.1/", .headers = spacey, .n_headers = 1},
      {.size = sizeof bad[0], .url = "http://127.0.0.1/", .n_headers = 1},
      {.size = sizeof bad[0], .url = "http://127.0.0.1/", .body_len = 3},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (f->host->http_request(ctx, &bad[i], on_answer, &f->got[0]) != NULL)
      fail_msg("request %zu was not refused", i);
  const struct parley_http_req ok = {.size = sizeof ok, .url = "http://127.0.0.1:1/"};
  assert_null(f->host->http_request(ctx, NULL, on_answer, &f->got[0]));
  assert_null(f->host->http_request(ctx, &ok, NULL, NULL));
  assert_null(f->host->http_request(NULL, &ok, on_answer, &f->got[0]));
  assert_int_equal(f->warnings, sizeof bad / sizeof bad[0] + 2); /* each said why */
  /* An instance of a host without a client. */
  struct plugin_env none = f->env;
  struct plugin_inst *pi;
  char err[512];
  none.http = NULL;
  assert_int_equal(plugin_instance_open(&none, "bare", PENDING_PLUGIN, NULL, &pi, err, sizeof err), 0);
  assert_null(f->host->http_request((parley_ctx *)pi, &ok, on_answer, &f->got[0]));
  plugin_instance_close(pi);
  run_until(f, 1, 0.2);
  assert_int_equal(f->answered, 0);
}

/* --- TLS: verification is on, always --- */

static int sh(const char *cmd) { return system(cmd); }

/* A server with a certificate no one signed: the handshake must fail on verification. */
static void test_tls_unverified_refused(void **state)
{
  struct fixture *f = *state;
  if (sh("command -v openssl >/dev/null 2>&1") != 0)
    skip();
  char dir[] = "/tmp/parley-tls-XXXXXX", cmd[1024], cert[128], key[128], url[64];
  assert_non_null(mkdtemp(dir));
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
           "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
           key, cert);
  assert_int_equal(sh(cmd), 0);
  int port = closed_port();
  pid_t pid = fork();
  if (pid == 0) {
    char accept[32];
    snprintf(accept, sizeof accept, "127.0.0.1:%d", port);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept, "-cert", cert,
           "-key", key, (char *)NULL);
    _exit(127);
  }
  /* Wait until it listens. */
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int up = 0;
  for (int i = 0; i < 200 && !up; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    up = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (!up)
      usleep(20000);
  }
  assert_true(up);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  struct parley_http_req req = {.size = sizeof req, .url = url, .timeout_ms = 5000};
  assert_non_null(f->host->http_request((parley_ctx *)f->pi, &req, on_answer, &f->got[0]));
  run_until(f, 1, 6);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
  assert_int_equal(f->got[0].calls, 1);
  if (f->got[0].error != PARLEY_HTTP_TLS)
    fail_msg("expected a TLS error, got %d: %s", (int)f->got[0].error, f->got[0].error_text);
  assert_int_equal(f->got[0].status, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_body_and_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_server_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_on_few_connections, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_with_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tls_unverified_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}

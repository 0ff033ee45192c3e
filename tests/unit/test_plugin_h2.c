/* The plugins' HTTP client over TLS against a real HTTP/2 server: nghttpd (Debian's
 * nghttp2-server), started once for the file on loopback with a certificate from a CA the
 * test makes with openssl. Trusted through the client's ca_file (http_client.ca_file in
 * the configuration), a request is answered over HTTP/2: nghttpd speaks nothing else, its
 * log shows the request's HEADERS frame, and the response's header names come lower
 * case, as HTTP/2 writes them. Without the CA, or trusting another CA, verification
 * refuses the same server. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
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
#include "log.h"
#include "plugin/plugin_http.h"
#include "plugin/plugin_int.h"
#include "plugin/plugin_load.h"

#define PENDING_PLUGIN PARLEY_BUILDDIR "/tests/plugins/.libs/pending_send.so"
#define PAGE "hello over h2\n"

static char dir[64];
static int port;
static pid_t nghttpd;

struct answer {
  int done;
  enum parley_http_error error;
  int status;
  char body[256], server[128], error_text[256];
  int lower_case_names; /* every header name is lower case */
  size_t n_headers;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd);
}

/* A CA (ca.crt), a server certificate it signed for 127.0.0.1 (server.crt/.key), and
 * another CA that signed nothing here (rogue.crt). */
static int make_certificates(void)
{
  const char *ca = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                   "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign";
  return sh("cd %s && %s -keyout ca.key -out ca.crt -subj '/CN=Parley Test CA' 2>/dev/null && "
            "%s -keyout rogue.key -out rogue.crt -subj '/CN=Parley Test CA' 2>/dev/null && "
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key "
            "-out server.csr -subj /CN=127.0.0.1 2>/dev/null && "
            "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf && "
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "-extfile ext.cnf -out server.crt 2>/dev/null",
            dir, ca, ca);
}

static int free_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0)
    return -1;
  close(fd);
  return ntohs(a.sin_port);
}

static int listening(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static int suite_setup(void **state)
{
  char path[128];
  signal(SIGPIPE, SIG_IGN);
  snprintf(dir, sizeof dir, "/tmp/parley-h2-XXXXXX");
  if (mkdtemp(dir) == NULL || make_certificates() != 0 || (port = free_port()) < 0)
    return -1;
  snprintf(path, sizeof path, "%s/index.html", dir);
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fputs(PAGE, f);
  fclose(f);
  nghttpd = fork();
  if (nghttpd == 0) {
    char portstr[16], key[96], crt[96], log[96];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(log, sizeof log, "%s/nghttpd.log", dir);
    if (!freopen(log, "w", stdout) || !freopen("/dev/null", "w", stderr))
      _exit(127);
    execlp("nghttpd", "nghttpd", "-v", "-a", "127.0.0.1", "-d", dir, portstr, key, crt, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 200 && !listening(); i++)
    usleep(25000);
  return listening() ? 0 : -1;
}

static int suite_teardown(void **state)
{
  if (nghttpd > 0) {
    kill(nghttpd, SIGTERM);
    waitpid(nghttpd, NULL, 0);
  }
  sh("rm -rf %s", dir);
  return 0;
}

static void on_answer(parley_ctx *ctx, const struct parley_http_resp *r, void *arg)
{
  struct answer *a = arg;
  a->done = 1;
  a->error = r->error;
  a->status = r->status;
  a->n_headers = r->n_headers;
  snprintf(a->body, sizeof a->body, "%s", r->body);
  snprintf(a->error_text, sizeof a->error_text, "%s", r->error_text ? r->error_text : "");
  const char *server = plugin_host_table()->http_header(r, "Server");
  snprintf(a->server, sizeof a->server, "%s", server ? server : "");
  a->lower_case_names = 1;
  for (size_t i = 0; i < r->n_headers; i++)
    for (const char *c = r->headers[i].name; *c; c++)
      if (isupper((unsigned char)*c))
        a->lower_case_names = 0;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents) {}

/* One GET of the page through a client trusting `ca` (a file of dir, or NULL), as a
 * plugin instance makes it. */
static struct answer get_page(const char *ca)
{
  struct answer a = {0};
  char ca_path[96], url[64], err[512];
  struct log log = {LOG_WARN, NULL, NULL};
  struct clock clock;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  clock_init_loop(&clock, loop);
  snprintf(ca_path, sizeof ca_path, "%s/%s", dir, ca ? ca : "");
  struct plugin_http *http = plugin_http_open(loop, &log, ca ? ca_path : NULL);
  assert_non_null(http);
  struct plugin_env env = {.log = &log, .clock = &clock, .loop = loop, .http = http};
  struct plugin_inst *pi;
  if (plugin_instance_open(&env, "h2", PENDING_PLUGIN, NULL, &pi, err, sizeof err) < 0)
    fail_msg("%s", err);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/index.html", port);
  struct parley_http_req req = {.size = sizeof req, .url = url, .timeout_ms = 5000};
  assert_non_null(plugin_host_table()->http_request((parley_ctx *)pi, &req, on_answer, &a));
  ev_timer tick;
  ev_timer_init(&tick, on_tick, 0.05, 0.05);
  ev_tstamp end = ev_time() + 10;
  while (!a.done && ev_time() < end) {
    ev_timer_start(loop, &tick);
    ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &tick);
  }
  plugin_instance_close(pi);
  plugin_http_close(http);
  ev_loop_destroy(loop);
  assert_true(a.done);
  return a;
}

static void test_http2_with_the_private_ca_trusted(void **state)
{
  struct answer a = get_page("ca.crt");
  if (a.error != PARLEY_HTTP_OK)
    fail_msg("no answer: %s", a.error_text);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, PAGE);
  assert_true(strncmp(a.server, "nghttpd", 7) == 0);
  assert_true(a.n_headers > 0);
  assert_true(a.lower_case_names); /* HTTP/1.1 from nghttpd would never come: it speaks h2 only */
  char log[128];
  snprintf(log, sizeof log, "grep -q 'recv HEADERS frame' %s/nghttpd.log", dir);
  assert_int_equal(system(log), 0);
}

static void test_unknown_ca_refused(void **state)
{
  struct answer a = get_page(NULL); /* the system's store alone */
  assert_int_equal(a.error, PARLEY_HTTP_TLS);
  assert_int_equal(a.status, 0);
  a = get_page("rogue.crt"); /* another CA, of the same name */
  assert_int_equal(a.error, PARLEY_HTTP_TLS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http2_with_the_private_ca_trusted),
      cmocka_unit_test(test_unknown_ca_refused),
  };
  return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}

/* `parley erase CONTACT` against a stand-in daemon (a socket in this process that reads
 * one request and gives a canned answer): the request it sends (DELETE, the id
 * percent-encoded as one path segment, the bearer token when PARLEY_TOKEN is set), what it
 * prints and its exit status. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct run {
  char dir[64];
  char request[4096]; /* what the stand-in daemon read */
  char out[4096], err[4096];
  int status;         /* the exit status */
};

static int listen_loopback(int *port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 1), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static void slurp(const char *path, char *buf, size_t cap)
{
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  buf[n] = '\0';
  if (f)
    fclose(f);
}

/* The child: parley erase -c CONF -- ID, its output in the run's folder. */
static void exec_erase(struct run *r, const char *conf, const char *id, const char *token)
{
  char path[128];
  snprintf(path, sizeof path, "%s/out", r->dir);
  int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  snprintf(path, sizeof path, "%s/err", r->dir);
  int err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(out, 1);
  dup2(err, 2);
  if (token)
    setenv("PARLEY_TOKEN", token, 1);
  else
    unsetenv("PARLEY_TOKEN");
  execl(PARLEY_BUILDDIR "/core/parley", "parley", "erase", "-c", conf, "--", id, (char *)NULL);
  _exit(127);
}

/* Reads one request (up to its blank line) and answers `status` with `body`. */
static void answer(int ls, struct run *r, int status, const char *body)
{
  struct pollfd p = {ls, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 20000), 1);
  int c = accept(ls, NULL, NULL);
  size_t n = 0;
  while (n < sizeof r->request - 1 && !strstr(r->request, "\r\n\r\n")) {
    ssize_t got = read(c, r->request + n, sizeof r->request - 1 - n);
    if (got <= 0)
      break;
    n += (size_t)got;
    r->request[n] = '\0';
  }
  char head[256];
  int len = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
  assert_true(write(c, head, (size_t)len) == len);
  assert_true(write(c, body, strlen(body)) == (ssize_t)strlen(body));
  close(c);
}

/* `parley erase ID` against a daemon answering `status` and `body` (status 0: no daemon
 * listens on the configured port). */
static struct run *run_erase(const char *id, const char *token, int status, const char *body)
{
  struct run *r = calloc(1, sizeof *r);
  strcpy(r->dir, "/tmp/parley-erase-cli-XXXXXX");
  assert_non_null(mkdtemp(r->dir));
  int port, ls = listen_loopback(&port);
  if (!status)
    close(ls);
  char conf[128], path[128];
  snprintf(conf, sizeof conf, "%s/parley.conf.lua", r->dir);
  FILE *f = fopen(conf, "w");
  fprintf(f, "return { listen = { address = '127.0.0.1', port = %d } }\n", port);
  fclose(f);
  pid_t pid = fork();
  if (pid == 0)
    exec_erase(r, conf, id, token);
  if (status) {
    answer(ls, r, status, body);
    close(ls);
  }
  int ws;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  snprintf(path, sizeof path, "%s/out", r->dir);
  slurp(path, r->out, sizeof r->out);
  snprintf(path, sizeof path, "%s/err", r->dir);
  slurp(path, r->err, sizeof r->err);
  return r;
}

static void run_free(struct run *r)
{
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
  assert_int_equal(system(cmd), 0);
  free(r);
}

static void test_erased(void **state)
{
  struct run *r = run_erase("a/b c%\xc3\xbc", "s3cret", 200, "{\"erased\":\"a/b c%\xc3\xbc\"}");
  assert_int_equal(r->status, 0);
  assert_non_null(strstr(r->request, "DELETE /v1/contacts/a%2Fb%20c%25%C3%BC HTTP/1.1\r\n"));
  assert_non_null(strstr(r->request, "\r\nAuthorization: Bearer s3cret\r\n"));
  assert_non_null(strstr(r->out, "erased a/b c%\xc3\xbc"));
  assert_string_equal(r->err, "");
  run_free(r);
}

static void test_unknown_contact(void **state)
{
  struct run *r =
      run_erase("-ann", NULL, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such contact\"}}");
  assert_int_equal(r->status, 1);
  assert_non_null(strstr(r->request, "DELETE /v1/contacts/-ann HTTP/1.1\r\n"));
  assert_null(strstr(r->request, "Authorization"));
  assert_non_null(strstr(r->err, "parley erase: -ann: no such contact (HTTP 404"));
  assert_string_equal(r->out, "");
  run_free(r);
}

static void test_daemon_failure(void **state)
{
  struct run *r = run_erase("ann", "", 503,
                            "{\"error\":{\"code\":\"store_unavailable\",\"message\":\"the erasure could "
                            "not be stored; nothing was erased, retry later\"}}");
  assert_int_equal(r->status, 1);
  assert_null(strstr(r->request, "Authorization")); /* an empty token is no token */
  assert_non_null(strstr(r->err, "could not be stored; nothing was erased, retry later (HTTP 503"));
  run_free(r);
  r = run_erase("ann", NULL, 0, NULL);
  assert_int_equal(r->status, 1);
  assert_non_null(strstr(r->err, "parley erase: no daemon answers at http://127.0.0.1:"));
  run_free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_erased),
      cmocka_unit_test(test_unknown_contact),
      cmocka_unit_test(test_daemon_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

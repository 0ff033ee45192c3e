/* `parley send` and `parley replay` carry PARLEY_TOKEN as a bearer token, and never print
 * it: each runs in a child process against a listener that plays the daemon, records the
 * request and answers as told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

#include "cli/admin.h"
#include "util.h"

#define TOKEN "prl_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

struct fix {
  char dir[64], conf[128], events[128], out[128];
  int lsock;
  char request[8192]; /* what the child sent */
};

static int setup(void **state)
{
  struct fix *f = calloc(1, sizeof *f);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  snprintf(f->dir, sizeof f->dir, "/tmp/parley-admauth-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->lsock = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(f->lsock >= 0);
  assert_int_equal(bind(f->lsock, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(f->lsock, 4), 0);
  assert_int_equal(getsockname(f->lsock, (struct sockaddr *)&a, &alen), 0);
  snprintf(f->conf, sizeof f->conf, "%s/parley.conf.lua", f->dir);
  snprintf(f->events, sizeof f->events, "%s/events.json", f->dir);
  snprintf(f->out, sizeof f->out, "%s/out.txt", f->dir);
  FILE *fp = fopen(f->conf, "w");
  fprintf(fp, "return { listen = { address = '127.0.0.1', port = %d }, data_dir = '%s/var' }\n",
          ntohs(a.sin_port), f->dir);
  fclose(fp);
  fp = fopen(f->events, "w");
  fprintf(fp, "{\"id\":\"e1\",\"type\":\"user.signed_up\",\"contact\":\"ann\"}\n");
  fclose(fp);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fix *f = *state;
  char cmd[128];
  close(f->lsock);
  unsetenv("PARLEY_TOKEN");
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* Serves one request: reads its head and body, answers `status` with `body`. Returns 0,
 * or -1 when no request came within two seconds. */
static int serve_one(struct fix *f, int status, const char *body)
{
  struct pollfd p = {.fd = f->lsock, .events = POLLIN};
  if (poll(&p, 1, 2000) != 1)
    return -1;
  int c = accept(f->lsock, NULL, NULL);
  assert_true(c >= 0);
  size_t n = 0;
  for (;;) {
    ssize_t r = read(c, f->request + n, sizeof f->request - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
    f->request[n] = '\0';
    char *end = strstr(f->request, "\r\n\r\n");
    const char *cl = strstr(f->request, "Content-Length:");
    if (end && (!cl || n >= (size_t)(end + 4 - f->request) + strtoul(cl + 15, NULL, 10)))
      break;
  }
  char head[256];
  snprintf(head, sizeof head,
           "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
           status, strlen(body));
  assert_true(write(c, head, strlen(head)) > 0);
  assert_true(write(c, body, strlen(body)) > 0);
  close(c);
  return 0;
}

/* Runs `parley send` (or replay) in a child, its stdout and stderr into f->out; serves
 * it one answer unless `no_request`. Returns the exit status and the output in *out. */
static int run(struct fix *f, int replay, int status, const char *body, int no_request, char **out)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = replay ? admin_replay(f->conf, "msg-1") : admin_send(f->conf, f->events);
    fflush(NULL);
    _exit(rc);
  }
  f->request[0] = '\0';
  int served = serve_one(f, status, body);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_int_equal(served, no_request ? -1 : 0);
  char err[256];
  size_t len;
  *out = util_read_file(f->out, 1 << 20, &len, err, sizeof err);
  assert_non_null(*out);
  assert_null(strstr(*out, TOKEN));
  assert_null(strstr(*out, TOKEN + 17)); /* nor the secret alone */
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void test_send_carries_the_token(void **state)
{
  struct fix *f = *state;
  char *out;
  setenv("PARLEY_TOKEN", TOKEN, 1);
  assert_int_equal(run(f, 0, 200, "{\"accepted\":1,\"applied\":1,\"duplicates\":0}", 0, &out), 0);
  assert_non_null(strstr(f->request, "POST /v1/events "));
  assert_non_null(strstr(f->request, "\r\nAuthorization: Bearer " TOKEN "\r\n"));
  assert_non_null(strstr(out, "accepted 1"));
  free(out);
}

static void test_replay_carries_the_token(void **state)
{
  struct fix *f = *state;
  char *out;
  setenv("PARLEY_TOKEN", TOKEN, 1);
  assert_int_equal(run(f, 1, 200, "{\"channel\":\"email\"}", 0, &out), 0);
  assert_non_null(strstr(f->request, "POST /v1/outbox/msg-1/replay "));
  assert_non_null(strstr(f->request, "\r\nAuthorization: Bearer " TOKEN "\r\n"));
  free(out);
}

static void test_no_token_no_header(void **state)
{
  struct fix *f = *state;
  char *out;
  unsetenv("PARLEY_TOKEN");
  assert_int_equal(run(f, 0, 401, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"no bearer token\"}}", 0, &out),
                   1);
  assert_null(strstr(f->request, "Authorization"));
  assert_non_null(strstr(f->request, "POST /v1/events "));
  assert_non_null(strstr(out, "no bearer token"));
  assert_non_null(strstr(out, "set PARLEY_TOKEN"));
  free(out);
}

static void test_refused_token_is_not_printed(void **state)
{
  struct fix *f = *state;
  char *out;
  setenv("PARLEY_TOKEN", TOKEN, 1);
  assert_int_equal(
      run(f, 1, 401, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"the bearer token is not valid\"}}", 0, &out),
      1);
  assert_non_null(strstr(out, "the bearer token is not valid"));
  assert_non_null(strstr(out, "PARLEY_TOKEN holds a token"));
  free(out);
  assert_int_equal(run(f, 0, 403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"lacks the scope\"}}", 0, &out), 1);
  assert_non_null(strstr(out, "lacks the scope"));
  free(out);
}

/* A token that would break the request's head apart is refused before anything is sent. */
static void test_a_token_with_a_line_break_is_refused(void **state)
{
  struct fix *f = *state;
  char *out;
  setenv("PARLEY_TOKEN", TOKEN "\r\nX-Evil: 1", 1);
  assert_int_equal(run(f, 0, 200, "{}", 1, &out), 1);
  assert_non_null(strstr(out, "PARLEY_TOKEN is not a token"));
  free(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_send_carries_the_token),
      T(test_replay_carries_the_token),
      T(test_no_token_no_header),
      T(test_refused_token_is_not_printed),
      T(test_a_token_with_a_line_break_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

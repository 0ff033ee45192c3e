/* Kannel's processes for the tests (see kannel.h): the generated kannel.conf, bearerbox and
 * smsbox started and stopped by PID, and the wait until Kannel says both are online. The
 * SMS centre's line protocol is in kannel_smsc.c. */
#include "kannel.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "kannel_int.h"

#define ADMIN_PASSWORD "kannel-admin-password"

static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0)
    return -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

/* Every listener on 127.0.0.1 (admin, box, fake SMSC, sendsms), the store in the folder
 * so kannel_resume finds what bearerbox had queued, and an access log whose "Sent SMS"
 * lines tell the coding of each message (the fake SMSC's lines lose it for long ones).
 * smsbox retries a failed MO or DLR call, as a production set-up would. */
static int write_conf(const struct kannel *k, const char *mo_url)
{
  FILE *f = fopen(k->conf, "w");
  if (f == NULL)
    return -1;
  fprintf(f,
          "group = core\n"
          "admin-port = %d\nadmin-interface = 127.0.0.1\nadmin-password = \"%s\"\n"
          "admin-allow-ip = \"127.0.0.1\"\n"
          "smsbox-port = %d\nsmsbox-interface = 127.0.0.1\nbox-allow-ip = \"127.0.0.1\"\n"
          "log-file = \"%s/bearerbox.log\"\nlog-level = 0\n"
          "access-log = \"%s\"\naccess-log-clean = true\n"
          "access-log-format = \"%%l [coding:%%c] [from:%%p] [to:%%P]\"\n"
          "dlr-storage = internal\nstore-type = spool\nstore-location = \"%s/spool\"\n"
          "sms-resend-freq = 1\n\n"
          "group = smsc\nsmsc = fake\nsmsc-id = FAKE\nport = %d\nour-host = 127.0.0.1\n"
          "connect-allow-ip = \"127.0.0.1\"\ndenied-prefix = \"%s\"\n\n"
          "group = smsbox\nbearerbox-host = 127.0.0.1\nbearerbox-port = %d\n"
          "sendsms-port = %d\nsendsms-interface = 127.0.0.1\nmo-recode = true\n"
          "http-request-retry = 5\nhttp-queue-delay = 1\n"
          "log-file = \"%s/smsbox.log\"\nlog-level = 0\n\n"
          "group = sendsms-user\nusername = \"%s\"\npassword = \"%s\"\n"
          "concatenation = true\nmax-messages = 10\n\n"
          "group = sms-service\nkeyword = default\ncatch-all = true\nget-url = \"%s\"\n"
          "max-messages = 0\nomit-empty = true\naccept-x-kannel-headers = false\n",
          k->admin_port, ADMIN_PASSWORD, k->box_port, k->dir, k->access_log, k->dir, k->smsc_port,
          KANNEL_REFUSED_PREFIX, k->box_port, k->sendsms_port, k->dir, k->username, k->password, mo_url);
  return fclose(f) == 0 ? 0 : -1;
}

/* Starts `prog` on the configuration, its output appended to <dir>/<name>.out. */
static pid_t spawn(const struct kannel *k, const char *prog, const char *name)
{
  char out[160];
  snprintf(out, sizeof out, "%s/%s.out", k->dir, name);
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out, "a", stdout) || !freopen(out, "a", stderr))
      _exit(127);
    execl(prog, name, "-v", "1", k->conf, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
  char *buf = ud;
  size_t have = strlen(buf), add = size * n;
  if (have + add >= 4096)
    add = 4095 - have;
  memcpy(buf + have, p, add);
  buf[have + add] = '\0';
  return size * n;
}

/* Whether bearerbox's status page shows smsbox connected and the fake SMSC online (the
 * latter only once the harness holds the connection). */
static int kannel_online(const struct kannel *k)
{
  char url[160], page[4096] = "";
  snprintf(url, sizeof url, "http://127.0.0.1:%d/status.txt?password=%s", k->admin_port, ADMIN_PASSWORD);
  CURL *c = curl_easy_init();
  if (c == NULL)
    return 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, page);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status == 200 && strstr(page, "smsbox:") != NULL && strstr(page, "(online ") != NULL;
}

/* Whether `pid` has exited (reaped here). */
static int gone(pid_t *pid)
{
  int status;
  if (*pid > 0 && waitpid(*pid, &status, WNOHANG) == *pid) {
    *pid = 0;
    return 1;
  }
  return *pid <= 0;
}

/* bearerbox, the SMS centre's connection (bearerbox takes a moment to listen), smsbox,
 * then the status page; up to ten seconds in all. */
static int boot(struct kannel *k)
{
  k->bearerbox = spawn(k, KANNEL_BEARERBOX, "bearerbox");
  for (int i = 0; i < 200 && k->smsc_fd < 0; i++) {
    if (gone(&k->bearerbox))
      break;
    if (ksmsc_connect(k) < 0)
      h_sleep_ms(25);
  }
  if (k->smsc_fd < 0) {
    fprintf(stderr, "# kannel: bearerbox's fake SMSC port %d never answered\n", k->smsc_port);
    return -1;
  }
  k->smsbox = spawn(k, KANNEL_SMSBOX, "smsbox");
  for (int i = 0; i < 400; i++) {
    if (gone(&k->bearerbox) || gone(&k->smsbox))
      break;
    if (kannel_online(k))
      return 0;
    h_sleep_ms(25);
  }
  fprintf(stderr, "# kannel: bearerbox and smsbox did not come online\n");
  return -1;
}

int kannel_start(struct kannel *k, const struct kannel_opts *o)
{
  char spool[128];
  memset(k, 0, sizeof *k);
  k->smsc_fd = -1;
  strcpy(k->dir, "/tmp/parley-kannel-XXXXXX");
  if (o == NULL || o->mo_url == NULL || mkdtemp(k->dir) == NULL)
    return -1;
  snprintf(k->conf, sizeof k->conf, "%s/kannel.conf", k->dir);
  snprintf(k->access_log, sizeof k->access_log, "%s/access.log", k->dir);
  snprintf(spool, sizeof spool, "%s/spool", k->dir);
  snprintf(k->username, sizeof k->username, "%s", o->username ? o->username : "parley");
  snprintf(k->password, sizeof k->password, "%s", o->password ? o->password : "kannel-test-password");
  k->admin_port = free_port();
  k->box_port = free_port();
  k->smsc_port = free_port();
  k->sendsms_port = free_port();
  if (k->admin_port < 0 || k->box_port < 0 || k->smsc_port < 0 || k->sendsms_port < 0 ||
      mkdir(spool, 0700) < 0 || write_conf(k, o->mo_url) < 0)
    return -1;
  if (boot(k) < 0) {
    kannel_dump_logs(k);
    return -1;
  }
  return 0;
}

const char *kannel_sendsms_url(const struct kannel *k, char *out, size_t cap)
{
  snprintf(out, cap, "http://127.0.0.1:%d/cgi-bin/sendsms", k->sendsms_port);
  return out;
}

void kannel_mo_url(char *out, size_t cap, const char *public_url, const char *channel, const char *secret)
{
  snprintf(out, cap,
           "%s/v1/channels/%s/kannel/mo?secret=%s&from=%%p&to=%%P&text=%%b&coding=%%c"
           "&charset=%%C&id=%%I&time=%%T",
           public_url, channel, secret);
}

static void end(pid_t *pid, int sig)
{
  if (*pid > 0) {
    kill(*pid, sig);
    waitpid(*pid, NULL, 0);
  }
  *pid = 0;
}

int kannel_stop(struct kannel *k)
{
  end(&k->smsbox, SIGTERM);
  ksmsc_drain(k); /* what bearerbox wrote before it goes is kept for kannel_wait_mt */
  end(&k->bearerbox, SIGTERM);
  ksmsc_drain(k);
  ksmsc_close(k);
  return 0;
}

int kannel_resume(struct kannel *k)
{
  if (k->bearerbox > 0 || k->smsbox > 0)
    return -1;
  if (boot(k) < 0) {
    kannel_dump_logs(k);
    return -1;
  }
  return 0;
}

void kannel_dump_logs(const struct kannel *k)
{
  static const char *const names[] = {"bearerbox.out", "smsbox.out"};
  char cmd[256];
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(cmd, sizeof cmd, "tail -n 40 %s/%s 2>/dev/null | sed 's/^/# %s: /' >&2", k->dir, names[i], names[i]);
    if (system(cmd) != 0)
      fprintf(stderr, "# kannel: no %s\n", names[i]);
  }
}

void kannel_free(struct kannel *k)
{
  char cmd[128];
  end(&k->smsbox, SIGKILL);
  end(&k->bearerbox, SIGKILL);
  ksmsc_close(k);
  free(k->in);
  k->in = NULL;
  if (k->dir[0]) {
    snprintf(cmd, sizeof cmd, "rm -rf %s", k->dir);
    if (system(cmd) != 0)
      fprintf(stderr, "# kannel: could not remove %s\n", k->dir);
  }
  k->dir[0] = '\0';
}

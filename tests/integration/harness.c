/* Integration test harness (see harness.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "timestamp.h"

void h_sleep_ms(long ms)
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
long h_http(const struct daemon *d, const char *method, const char *path, const char *body,
            const char *ctype, char **out)
{
  return h_http_as(d, NULL, method, path, body, ctype, out);
}

long h_http_as(const struct daemon *d, const char *token, const char *method, const char *path,
               const char *body, const char *ctype, char **out)
{
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d->port, path);
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
  }
  if (token) {
    char h[256];
    snprintf(h, sizeof h, "Authorization: Bearer %s", token);
    hdr = curl_slist_append(hdr, h);
  }
  if (hdr)
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
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

cJSON *h_post(const struct daemon *d, const char *body, long want_status)
{
  char *out;
  long st = h_http(d, "POST", "/v1/events", body, NULL, &out);
  if (st != want_status)
    fail_msg("POST %s: status %ld, want %ld: %s", body, st, want_status, out);
  cJSON *doc = cJSON_Parse(out);
  free(out);
  assert_non_null(doc);
  return doc;
}

double h_num(cJSON *doc, const char *name)
{
  cJSON *v = cJSON_GetObjectItem(doc, name);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

int64_t h_time(cJSON *doc, const char *name)
{
  cJSON *v = cJSON_GetObjectItem(doc, name);
  int64_t ms;
  if (!cJSON_IsString(v))
    fail_msg("'%s' is not RFC 3339 text", name);
  /* "2027-01-15T08:00:00.250Z": UTC, always three digits of milliseconds */
  if (strlen(v->valuestring) != 24 || v->valuestring[19] != '.' || v->valuestring[23] != 'Z' ||
      timestamp_parse(v->valuestring, &ms) < 0)
    fail_msg("'%s' is \"%s\", not RFC 3339 UTC text to the millisecond", name, v->valuestring);
  return ms;
}

/* Messages spoken to `contact` so far, as a JSON array of the file plugin's lines. */
cJSON *h_spoken_to(const struct daemon *d, const char *contact)
{
  cJSON *arr = cJSON_CreateArray();
  FILE *f = fopen(d->spoken, "r");
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
cJSON *h_wait_spoken(const struct daemon *d, const char *contact, int n, long ms)
{
  for (long waited = 0;; waited += 50) {
    cJSON *arr = h_spoken_to(d, contact);
    if (cJSON_GetArraySize(arr) >= n || waited >= ms)
      return arr;
    cJSON_Delete(arr);
    h_sleep_ms(50);
  }
}

const char *h_str(cJSON *arr, int i, const char *name)
{
  cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

cJSON *h_get_contact(const struct daemon *d, const char *id, long *status)
{
  char path[128], *out;
  snprintf(path, sizeof path, "/v1/contacts/%s", id);
  *status = h_http(d, "GET", path, NULL, NULL, &out);
  cJSON *doc = cJSON_Parse(out);
  free(out);
  return doc;
}

cJSON *h_first_conv(const struct daemon *d, const char *id)
{
  long st;
  cJSON *doc = h_get_contact(d, id, &st);
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

void h_init(struct daemon *d)
{
  memset(d, 0, sizeof *d);
  strcpy(d->dir, "/tmp/parley-it-XXXXXX");
  assert_non_null(mkdtemp(d->dir));
  snprintf(d->conf, sizeof d->conf, "%s/parley.conf.lua", d->dir);
  snprintf(d->spoken, sizeof d->spoken, "%s/spoken.ndjson", d->dir);
  snprintf(d->log, sizeof d->log, "%s/daemon.log", d->dir);
  d->port = free_port();
}

void h_write_config(struct daemon *d, const char *extra)
{
  char journeys[300];
  if (d->journeys[0])
    snprintf(journeys, sizeof journeys, "'%s'", d->journeys);
  else
    snprintf(journeys, sizeof journeys, "srcdir .. '/scripts/journeys'");
  FILE *f = fopen(d->conf, "w");
  assert_non_null(f);
  fprintf(f,
          "local spoken = '%s' -- where the file plugin writes, for `extra`\n"
          "return {\n"
          "  listen = { address = '127.0.0.1', port = %d },\n"
          "  data_dir = '%s/var', log_level = 'info',\n"
          "  plugin_dir = builddir .. '/plugins', journeys_dir = %s,\n"
          "  sdk_dir = srcdir .. '/sdk/lua',\n"
          "  store = { map_size_mb = 256 },\n"
          "  limits = { body_bytes = 65536, event_bytes = 4096, batch_events = 100 },\n"
          "  http = { auth = 'none' }, -- tests of tokens say otherwise in `extra`\n"
          "%s\n"
          "}\n",
          d->spoken, d->port, d->dir, journeys, extra);
  fclose(f);
}

int h_start(struct daemon *d)
{
  d->pid = fork();
  if (d->pid == 0) {
    if (!freopen(d->log, "a", stderr))
      _exit(127);
    execl(PARLEY_BUILDDIR "/core/parley", "parley", "serve", "-c", d->conf, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 400; i++) {
    if (h_http(d, "GET", "/healthz", NULL, NULL, NULL) == 200)
      return 0;
    int status;
    if (waitpid(d->pid, &status, WNOHANG) == d->pid)
      break;
    h_sleep_ms(25);
  }
  fprintf(stderr, "# the daemon did not come up\n");
  h_dump_log(d);
  return -1;
}

void h_dump_log(const struct daemon *d)
{
  char cmd[256];
  snprintf(cmd, sizeof cmd, "sed 's/^/# /' %s >&2", d->log);
  if (system(cmd) != 0)
    fprintf(stderr, "# (no daemon log)\n");
}

int h_stop(struct daemon *d, int sig)
{
  int status = 0;
  kill(d->pid, sig);
  waitpid(d->pid, &status, 0);
  d->pid = 0;
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

void h_cleanup(struct daemon *d)
{
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", d->dir);
  if (system(cmd) != 0)
    fprintf(stderr, "# could not remove %s\n", d->dir);
}

int h_setup(struct daemon *d, const char *extra)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  h_init(d);
  h_write_config(d, extra);
  return h_start(d);
}

int h_teardown(struct daemon *d)
{
  int rc = d->pid ? h_stop(d, SIGTERM) : 0;
  curl_global_cleanup();
  if (rc != 0) {
    fprintf(stderr, "# daemon exit status %d\n", rc);
    h_dump_log(d);
    return -1;
  }
  /* no address reaches the log, whatever the tests sent */
  char *log = NULL;
  size_t cap = 0;
  FILE *lf = fopen(d->log, "r");
  if (lf) {
    ssize_t n = getdelim(&log, &cap, '\0', lf); /* the whole file: it holds no NUL */
    fclose(lf);
    if (n < 0) {
      free(log);
      log = NULL;
    }
  }
  const char *leak = log ? strstr(log, "@example.com") : NULL;
  if (!leak && log)
    leak = strstr(log, "@x.org");
  if (leak) {
    fprintf(stderr, "# the daemon's log holds an address: %.80s\n", leak > log + 40 ? leak - 40 : log);
    free(log);
    return -1;
  }
  free(log);
  h_cleanup(d);
  return 0;
}

int h_connect(const struct daemon *d, const char *from)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd < 0)
    return -1;
  if (from) {
    struct sockaddr_in src = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &src.sin_addr);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
      close(fd);
      return -1;
    }
  }
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

long h_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

char *h_raw_read(int fd, long ms)
{
  size_t len = 0, cap = 4096;
  char *out = malloc(cap);
  long end = h_now_ms() + ms;
  for (long left; (left = end - h_now_ms()) > 0;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0)
      break;
    if (len + 4096 + 1 > cap)
      out = realloc(out, cap *= 2);
    ssize_t n = recv(fd, out + len, 4096, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  out[len] = '\0';
  return out;
}

char *h_raw(const struct daemon *d, const char *req, size_t len, long ms)
{
  int fd = h_connect(d, NULL);
  assert_true(fd >= 0);
  assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
  char *out = h_raw_read(fd, ms);
  close(fd);
  return out;
}

int h_raw_status(const char *answer)
{
  int status = 0;
  return sscanf(answer, "HTTP/1.1 %d ", &status) == 1 ? status : 0;
}

cJSON *h_raw_json(const char *answer)
{
  const char *body = strstr(answer, "\r\n\r\n");
  return body ? cJSON_Parse(body + 4) : NULL;
}

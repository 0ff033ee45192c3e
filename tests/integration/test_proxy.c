/* Behind a reverse proxy, as the README says to run Parley where others can reach it:
 * nginx terminates TLS on loopback and forwards to the daemon, which asks for tokens.
 * Through the proxy: health, an event with a token, a refusal without one (the API's
 * JSON, passed through), a contact read back, and a malformed request refused by the
 * proxy or the daemon without harm to either. nginx is started and stopped here, on a
 * loopback port, with a certificate made for the run. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NGINX "/usr/sbin/nginx"

static struct daemon D;
static int proxy_port;
static pid_t nginx_pid;
static char token[128];

static void write_nginx_conf(void)
{
  char path[256];
  snprintf(path, sizeof path, "%s/nginx.conf", D.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/nginx-error.log;\n"
          "events { worker_connections 64; }\n"
          "http {\n  access_log off;\n"
          "  client_body_temp_path %s/ntmp; proxy_temp_path %s/ntmp; fastcgi_temp_path %s/ntmp;\n"
          "  uwsgi_temp_path %s/ntmp; scgi_temp_path %s/ntmp;\n"
          "  server {\n    listen 127.0.0.1:%d ssl;\n"
          "    ssl_certificate %s/cert.pem; ssl_certificate_key %s/key.pem;\n"
          "    location / {\n      proxy_pass http://127.0.0.1:%d;\n      proxy_http_version 1.1;\n"
          "      proxy_set_header Connection \"\";\n      proxy_set_header Host $host;\n    }\n  }\n}\n",
          D.dir, D.dir, D.dir, D.dir, D.dir, D.dir, D.dir, proxy_port, D.dir, D.dir, D.port);
  fclose(f);
}

/* GET or POST through the proxy over TLS, the run's certificate trusted. */
static long via_proxy(const char *method, const char *path, const char *body, const char *tok, char **out)
{
  CURL *c = curl_easy_init();
  char url[256], auth[256];
  snprintf(url, sizeof url, "https://127.0.0.1:%d%s", proxy_port, path);
  char cafile[256];
  snprintf(cafile, sizeof cafile, "%s/cert.pem", D.dir);
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
  if (tok) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    hdr = curl_slist_append(hdr, auth);
  }
  FILE *mem;
  size_t len = 0;
  char *buf = NULL;
  mem = open_memstream(&buf, &len);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  long status = 0;
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  fclose(mem);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(c);
  if (out)
    *out = buf;
  else
    free(buf);
  return status;
}

static int start(void **state)
{
  if (h_setup(&D, "  http = { auth = 'tokens' },\n  channels = { email = { plugin = 'file', path = spoken } },") < 0)
    return -1;
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 "
           "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1 && mkdir -p %s/ntmp",
           D.dir, D.dir, D.dir);
  if (system(cmd) != 0)
    return -1;
  snprintf(cmd, sizeof cmd, "%s/core/parley token create --name proxy-test --scope events:write,contacts:read -c %s 2>/dev/null",
           PARLEY_BUILDDIR, D.conf);
  FILE *p = popen(cmd, "r");
  if (!p || !fgets(token, sizeof token, p) || pclose(p) != 0)
    return -1;
  token[strcspn(token, "\n")] = '\0';
  struct daemon probe;
  h_init(&probe); /* only for a free port */
  proxy_port = probe.port;
  h_cleanup(&probe);
  write_nginx_conf();
  char conf[256], prefix[128];
  snprintf(conf, sizeof conf, "%s/nginx.conf", D.dir);
  snprintf(prefix, sizeof prefix, "%s/", D.dir);
  nginx_pid = fork();
  if (nginx_pid == 0) {
    execl(NGINX, "nginx", "-p", prefix, "-c", conf, "-e", "stderr", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100; i++) {
    if (via_proxy("GET", "/healthz", NULL, NULL, NULL) == 200)
      return 0;
    h_sleep_ms(50);
  }
  fprintf(stderr, "# nginx did not answer on port %d; see %s/nginx-error.log\n", proxy_port, D.dir);
  return -1;
}

static int stop(void **state)
{
  if (nginx_pid > 0) {
    kill(nginx_pid, SIGQUIT); /* nginx's graceful stop */
    waitpid(nginx_pid, NULL, 0);
  }
  return h_teardown(&D);
}

static void test_through_the_proxy(void **state)
{
  char *out = NULL;
  const char *ev = "{\"type\":\"user.signed_up\",\"contact\":\"px1\",\"profile\":{\"email\":\"px1@example.com\"}}";
  assert_int_equal(via_proxy("POST", "/v1/events", ev, NULL, &out), 401);
  assert_non_null(strstr(out, "\"unauthorized\""));
  free(out);
  assert_int_equal(via_proxy("POST", "/v1/events", ev, token, &out), 200);
  assert_non_null(strstr(out, "\"applied\":1"));
  free(out);
  assert_int_equal(via_proxy("GET", "/v1/contacts/px1", NULL, token, &out), 200);
  assert_non_null(strstr(out, "\"px1\""));
  free(out);
  /* a bad event is the daemon's JSON 400, passed through */
  assert_int_equal(via_proxy("POST", "/v1/events", "{\"type\":\"x\"}", token, &out), 400);
  assert_non_null(strstr(out, "\"bad_event\""));
  free(out);
  /* plain HTTP to the TLS port is refused by the proxy; the daemon keeps answering */
  char *raw;
  struct daemon at_proxy = D;
  at_proxy.port = proxy_port;
  raw = h_raw(&at_proxy, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 34, 2000);
  assert_null(strstr(raw, "{\"status\":\"ok\"}"));
  free(raw);
  assert_int_equal(via_proxy("GET", "/healthz", NULL, NULL, NULL), 200);
}

int main(void)
{
  if (access(NGINX, X_OK) != 0) {
    fprintf(stderr, "%s is missing: scripts/bootstrap.sh installs nginx-light\n", NGINX);
    return 1; /* a failure, not a skip: the test is part of the suite */
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_through_the_proxy),
  };
  return cmocka_run_group_tests(tests, start, stop);
}

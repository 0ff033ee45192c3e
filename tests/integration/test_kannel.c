/* The Kannel harness (kannel.h) proved with plain HTTP, before any plugin uses it: sendsms
 * requests reach the fake SMS centre with their numbers, text and coding (GSM-7, UCS-2,
 * long ones in parts); replies from phones reach a loopback HTTP receiver through the
 * sms-service with the escapes of the plugin's contract, and nothing is answered to the
 * phone; delivery reports come back through the dlr-url (delivered and accepted; refused
 * for a number Kannel cannot route); Kannel stopped refuses, resumed works again. One
 * Kannel and one receiver for the whole file. */
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
#include <unistd.h>

#include "harness.h"
#include "kannel.h"

#define SHOP "+4915100000001"
#define PHONE "+4915100000002"
#define SECRET "mo-secret-for-tests"

static struct kannel K;
static int R_fd = -1, R_port;

/* The receiver: a loopback listener that takes one request when asked (recv_next). */
static int recv_listen(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  R_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (R_fd < 0 || bind(R_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(R_fd, 16) < 0 ||
      getsockname(R_fd, (struct sockaddr *)&a, &len) < 0)
    return -1;
  R_port = ntohs(a.sin_port);
  return 0;
}

/* The target (path and query) of the next GET within `ms`, answered 200 with no body
 * (malloc'd); NULL: none came. */
static char *recv_next(long ms)
{
  struct pollfd p = {.fd = R_fd, .events = POLLIN};
  char req[8192];
  size_t len = 0;
  if (poll(&p, 1, (int)ms) <= 0)
    return NULL;
  int c = accept(R_fd, NULL, NULL);
  if (c < 0)
    return NULL;
  while (len < sizeof req - 1 && (len < 4 || strstr(req, "\r\n\r\n") == NULL)) {
    struct pollfd q = {.fd = c, .events = POLLIN};
    ssize_t n = poll(&q, 1, 2000) > 0 ? read(c, req + len, sizeof req - 1 - len) : 0;
    if (n <= 0)
      break;
    len += (size_t)n;
    req[len] = '\0';
  }
  req[len] = '\0';
  static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  if (send(c, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
    fprintf(stderr, "# receiver: could not answer\n");
  close(c);
  char *sp = strchr(req, ' '), *end = sp ? strchr(sp + 1, ' ') : NULL;
  if (strncmp(req, "GET ", 4) != 0 || end == NULL)
    return NULL;
  return strndup(sp + 1, (size_t)(end - sp - 1));
}

/* The URL-decoded value of `name` in `target`'s query ("" when absent). */
static const char *param(const char *target, const char *name)
{
  static char out[4][1024];
  static int slot;
  char *o = out[slot++ % 4];
  size_t nlen = strlen(name), len = 0;
  const char *q = strchr(target, '?');
  o[0] = '\0';
  for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
    if (strncmp(p + 1, name, nlen) != 0 || p[1 + nlen] != '=')
      continue;
    for (const char *v = p + 2 + nlen; *v && *v != '&' && len < sizeof out[0] - 1; v++) {
      unsigned hex;
      if (*v == '%' && sscanf(v + 1, "%2x", &hex) == 1)
        o[len++] = (char)hex, v += 2;
      else
        o[len++] = *v == '+' ? ' ' : *v;
    }
    o[len] = '\0';
    break;
  }
  return o;
}

static size_t keep(char *p, size_t size, size_t n, void *ud)
{
  char *body = ud;
  size_t have = strlen(body), add = size * n;
  if (have + add > 1023)
    add = 1023 - have;
  memcpy(body + have, p, add);
  body[have + add] = '\0';
  return size * n;
}

/* A sendsms GET with these fields (values escaped here; NULL ends the list); the status
 * (0: no connection), the answer in `body` (1 KiB). */
static long sendsms(char *body, ...)
{
  char url[8192], base[128];
  CURL *c = curl_easy_init();
  va_list ap;
  snprintf(url, sizeof url, "%s?username=parley&password=kannel-test-password",
           kannel_sendsms_url(&K, base, sizeof base));
  va_start(ap, body);
  for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
    char *v = curl_easy_escape(c, va_arg(ap, const char *), 0);
    size_t len = strlen(url);
    snprintf(url + len, sizeof url - len, "&%s=%s", name, v);
    curl_free(v);
  }
  va_end(ap);
  body[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status;
}

static int start_all(void **state)
{
  char mo[512], public_url[64];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (recv_listen() < 0)
    return -1;
  snprintf(public_url, sizeof public_url, "http://127.0.0.1:%d", R_port);
  kannel_mo_url(mo, sizeof mo, public_url, "sms", SECRET);
  struct kannel_opts o = {.mo_url = mo};
  return kannel_start(&K, &o);
}

static int stop_all(void **state)
{
  kannel_free(&K);
  close(R_fd);
  curl_global_cleanup();
  return 0;
}

/* Sends `text` with `coding` and returns what reached the SMS centre. */
static void send_and_receive(const char *text, const char *coding, struct kannel_mt *mt)
{
  char body[1024];
  long status = sendsms(body, "from", SHOP, "to", PHONE, "text", text, "charset", "UTF-8", "coding", coding,
                        (char *)NULL);
  assert_int_equal(status, 202);
  assert_non_null(strstr(body, "Accepted for delivery"));
  assert_int_equal(kannel_wait_mt(&K, 5000, mt), 0);
  assert_string_equal(mt->from, SHOP);
  assert_string_equal(mt->to, PHONE);
  assert_string_equal(mt->text, text);
}

static void gsm_text_reaches_the_smsc(void **state)
{
  struct kannel_mt mt;
  send_and_receive("Your cart is waiting @ 10 £ off. Reply STOP to opt out", "0", &mt);
  assert_int_equal(mt.coding, 0);
  assert_int_equal(mt.nparts, 1);
  assert_int_equal(mt.parts[0].udh_len, 0);
  assert_true(kannel_quiet(&K, 300));
}

static void ucs2_text_reaches_the_smsc(void **state)
{
  struct kannel_mt mt;
  send_and_receive("Grüße 😀 привет", "2", &mt);
  assert_int_equal(mt.coding, 2);
  assert_int_equal(mt.nparts, 1);
  /* 14 characters, the emoji two UTF-16 units: 15 units */
  assert_int_equal(mt.parts[0].len, 30);
}

/* Parts of one message: same reference, numbered 1..n of n. */
static void assert_parts(const struct kannel_mt *mt, int n)
{
  assert_int_equal(mt->nparts, n);
  for (int i = 0; i < n; i++) {
    assert_true(mt->parts[i].udh_len > 0);
    assert_int_equal(mt->parts[i].ref, mt->parts[0].ref);
    assert_int_equal(mt->parts[i].total, n);
    assert_int_equal(mt->parts[i].seq, i + 1);
  }
}

static void long_gsm_text_goes_in_parts(void **state)
{
  char text[401];
  struct kannel_mt mt;
  for (int i = 0; i < 400; i++)
    text[i] = (char)('a' + i % 26);
  text[200] = '\0';
  send_and_receive(text, "0", &mt);
  assert_int_equal(mt.coding, 0);
  assert_parts(&mt, 2);
  assert_int_equal(mt.parts[0].len, 153); /* 160 septets less the UDH's 7 */
}

static void long_ucs2_text_goes_in_parts(void **state)
{
  char text[512] = "";
  struct kannel_mt mt;
  for (int i = 0; i < 100; i++)
    strcat(text, "ä");
  strcat(text, " end");
  send_and_receive(text, "2", &mt);
  assert_int_equal(mt.coding, 2);
  assert_parts(&mt, 2);
  assert_int_equal(mt.parts[0].len, 134); /* 140 bytes less the UDH's 6: 67 characters */
}

/* The next request to the receiver, which must be an MO of the contract. */
static char *next_mo(void)
{
  char *t = recv_next(5000);
  assert_non_null(t);
  assert_true(strncmp(t, "/v1/channels/sms/kannel/mo?", 27) == 0);
  assert_string_equal(param(t, "secret"), SECRET);
  assert_string_equal(param(t, "from"), PHONE);
  assert_string_equal(param(t, "to"), SHOP);
  assert_string_equal(param(t, "charset"), "UTF-8");
  assert_string_equal(param(t, "coding"), "0");
  assert_int_equal(strlen(param(t, "id")), 36); /* a UUID */
  assert_true(atol(param(t, "time")) > 1700000000L);
  return t;
}

static void gsm_mo_reaches_the_service(void **state)
{
  assert_int_equal(kannel_send_mo(&K, PHONE, SHOP, "STOP"), 0);
  char *t = next_mo();
  assert_string_equal(param(t, "text"), "STOP");
  free(t);
  /* the sms-service answers nothing to the phone */
  assert_true(kannel_quiet(&K, 500));
}

static void ucs2_mo_reaches_the_service_as_utf8(void **state)
{
  const char *text = "Grüße  😀\nbis bald";
  assert_int_equal(kannel_send_mo(&K, PHONE, SHOP, text), 0);
  char *t = next_mo();
  assert_string_equal(param(t, "text"), text); /* white space kept: %b, not %a */
  free(t);
  assert_true(kannel_quiet(&K, 500));
}

/* The dlr-url of the contract, pointing at the receiver. */
static const char *dlr_url(char *out, size_t cap, const char *id)
{
  snprintf(out, cap, "http://127.0.0.1:%d/v1/channels/sms/kannel/dlr?m=%s&t=tok-%s&status=%%d&answer=%%A", R_port,
           id, id);
  return out;
}

static void delivery_reports_come_back(void **state)
{
  char body[1024], url[256];
  struct kannel_mt mt;
  long status = sendsms(body, "from", SHOP, "to", PHONE, "text", "with a report", "charset", "UTF-8", "coding",
                        "0", "dlr-mask", "31", "dlr-url", dlr_url(url, sizeof url, "m-1"), (char *)NULL);
  assert_int_equal(status, 202);
  assert_int_equal(kannel_wait_mt(&K, 5000, &mt), 0);
  assert_string_equal(mt.text, "with a report");
  int seen = 0; /* 8: accepted by the SMSC ("ACK/"), 1: delivered; in either order */
  for (int i = 0; i < 2; i++) {
    char *t = recv_next(5000);
    assert_non_null(t);
    assert_true(strncmp(t, "/v1/channels/sms/kannel/dlr?", 28) == 0);
    assert_string_equal(param(t, "m"), "m-1");
    assert_string_equal(param(t, "t"), "tok-m-1");
    int s = atoi(param(t, "status"));
    if (s == 8)
      assert_string_equal(param(t, "answer"), "ACK/");
    else
      assert_int_equal(s, 1);
    seen |= s;
    free(t);
  }
  assert_int_equal(seen, 9);
  assert_null(recv_next(300));
}

static void unroutable_number_is_refused_with_a_report(void **state)
{
  char body[1024], url[256];
  long status = sendsms(body, "from", SHOP, "to", KANNEL_REFUSED_PREFIX "1234567", "text", "nobody", "charset",
                        "UTF-8", "coding", "0", "dlr-mask", "31", "dlr-url", dlr_url(url, sizeof url, "m-2"),
                        (char *)NULL);
  assert_int_equal(status, 403);
  assert_non_null(strstr(body, "Not routable"));
  char *t = recv_next(5000);
  assert_non_null(t);
  assert_string_equal(param(t, "m"), "m-2");
  assert_string_equal(param(t, "status"), "16");
  assert_true(strncmp(param(t, "answer"), "NACK", 4) == 0);
  free(t);
  assert_true(kannel_quiet(&K, 300));
}

static void wrong_password_is_refused(void **state)
{
  char body[1024], base[128], url[512];
  snprintf(url, sizeof url, "%s?username=parley&password=wrong&from=1&to=2&text=x",
           kannel_sendsms_url(&K, base, sizeof base));
  CURL *c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
  body[0] = '\0';
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  long status = 0;
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  assert_int_equal(status, 403);
  assert_non_null(strstr(body, "Authorization failed"));
  assert_true(kannel_quiet(&K, 300));
}

static void stopped_kannel_refuses_then_resumes(void **state)
{
  char body[1024];
  struct kannel_mt mt;
  assert_int_equal(kannel_stop(&K), 0);
  assert_int_equal(sendsms(body, "from", SHOP, "to", PHONE, "text", "too early", (char *)NULL), 0);
  assert_int_equal(kannel_send_mo(&K, PHONE, SHOP, "nobody hears"), -1);
  assert_int_equal(kannel_resume(&K), 0);
  send_and_receive("after the pause", "0", &mt);
  assert_int_equal(kannel_send_mo(&K, PHONE, SHOP, "back again"), 0);
  char *t = next_mo();
  assert_string_equal(param(t, "text"), "back again");
  free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(gsm_text_reaches_the_smsc),
    cmocka_unit_test(ucs2_text_reaches_the_smsc),
    cmocka_unit_test(long_gsm_text_goes_in_parts),
    cmocka_unit_test(long_ucs2_text_goes_in_parts),
    cmocka_unit_test(gsm_mo_reaches_the_service),
    cmocka_unit_test(ucs2_mo_reaches_the_service_as_utf8),
    cmocka_unit_test(delivery_reports_come_back),
    cmocka_unit_test(unroutable_number_is_refused_with_a_report),
    cmocka_unit_test(wrong_password_is_refused),
    cmocka_unit_test(stopped_kannel_refuses_then_resumes),
  };
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, start_all, stop_all);
}

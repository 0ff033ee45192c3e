/* The shipped email channel (plugins/email) in the real daemon, against a real SMTP
 * server on loopback (tests/smtp_sink.py, aiosmtpd): the shipped welcome journey speaks
 * on email, the plugin sends over SMTP, and the message is checked as the server got it,
 * parsed by Python's `email` package: envelope, headers, both MIME parts, the RFC 8058
 * headers. Then what a user does: the one-click unsubscribe through the daemon (a later
 * speak on email refused), a GET that only shows a page, forged tokens refused; what a
 * server says: 550 (dead letter, address suppressed), 451 (retried, delivered); and the
 * server gone for a while, the message delivered once it is back. Click tracking: the
 * received HTML's links point to the daemon, which records email.clicked and redirects
 * (the welcome journey then sends its tips), forged links are refused. Bounces and
 * complaints: reports built from the received message and POSTed with the secret (a hard
 * bounce or a complaint suppresses the address, a soft one does not), forged ones
 * refused. One server and one daemon for the whole file. */
#define _GNU_SOURCE /* strcasestr */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "email_token.h"
#include "fixture.h"
#include "harness.h"

static struct daemon D;
#define SIGNING_KEY "an-email-signing-key-of-forty-or-more-bytes-0123"
static struct fx_server S; /* tests/smtp_sink.py */

/* Starts tests/smtp_sink.py on `port` (0: any) and reads the port it took. */
static int sink_start(int port)
{
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%d", port);
  return fx_server_start(&S, "smtp_sink.py", port_arg);
}

struct sink_want {
  const char *event, *rcpt;
};

static int event_for(const cJSON *o, const void *arg)
{
  const struct sink_want *w = arg;
  const cJSON *ev = cJSON_GetObjectItem(o, "event");
  const cJSON *r = cJSON_GetObjectItem(o, "rcpt");
  const cJSON *tos = cJSON_GetObjectItem(o, "rcpt_tos");
  const char *who = cJSON_IsString(r) ? r->valuestring
                    : cJSON_GetArraySize(tos) > 0 ? cJSON_GetArrayItem(tos, 0)->valuestring
                                                  : "";
  return cJSON_IsString(ev) && strcmp(ev->valuestring, w->event) == 0 && strcmp(who, w->rcpt) == 0;
}

/* The sink's lines of `event` for `rcpt`, waiting up to `ms` for at least `n`. */
static cJSON *sink_wait(const char *event, const char *rcpt, int n, long ms)
{
  struct sink_want w = {event, rcpt};
  return fx_lines_wait(S.log, event_for, &w, n, ms);
}

static int start_all(void **state)
{
  char extra[1536], key_file[200];
  signal(SIGPIPE, SIG_IGN);
  h_init(&D);
  snprintf(S.log, sizeof S.log, "%s/smtp.jsonl", D.dir);
  if (sink_start(0) < 0)
    return -1;
  snprintf(key_file, sizeof key_file, "%s/email.key", D.dir);
  FILE *kf = fopen(key_file, "w");
  if (kf == NULL || fprintf(kf, "%s\n", SIGNING_KEY) < 0 || fclose(kf) != 0)
    return -1;
  snprintf(extra, sizeof extra, "%s.bounce", key_file);
  if ((kf = fopen(extra, "w")) == NULL || fprintf(kf, "a-bounce-secret-for-tests\n") < 0 || fclose(kf) != 0)
    return -1;
  snprintf(extra, sizeof extra,
           "  delivery = { max_attempts = 10, retry_base = '100ms', retry_max = '500ms' },\n"
           "  channels = { email = { plugin = 'email', url = 'smtp://127.0.0.1:%d',\n"
           "                         from = 'Café Shop <hello@shop.example>',\n"
           "                         reply_to = 'Support <help@shop.example>',\n"
           "                         bounce_domain = 'bounces.shop.example',\n"
           "                         public_url = 'http://127.0.0.1:%d/',\n"
           "                         signing_key = { file = '%s' }, timeout = '2s',\n"
           "                         bounce_secret = { file = '%s.bounce' } } },\n"
           "  journey_params = { welcome = { follow_up_after = '3s', last_call_after = '1h' } },",
           S.port, D.port, key_file, key_file);
  h_write_config(&D, extra);
  return h_start(&D);
}

static int stop_all(void **state)
{
  int rc = h_teardown(&D);
  fx_server_stop(&S);
  return rc;
}

static void signup(const char *contact)
{
  char ev[320];
  snprintf(ev, sizeof ev,
           "{\"id\":\"su-%s\",\"type\":\"user.signed_up\",\"contact\":\"%s\","
           "\"profile\":{\"email\":\"%s@example.com\",\"first_name\":\"Zoë\"}}",
           contact, contact, contact);
  cJSON_Delete(h_post(&D, ev, 200));
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
  const cJSON *v = cJSON_GetObjectItem(o, a);
  if (b)
    v = cJSON_GetObjectItem(v, b);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The one message the sink took for `rcpt` (the n-th, waiting). */
static cJSON *message_for(const char *rcpt, int n, long ms)
{
  cJSON *all = sink_wait("message", rcpt, n, ms);
  if (cJSON_GetArraySize(all) < n)
    fail_msg("%d message(s) for %s, wanted %d", cJSON_GetArraySize(all), rcpt, n);
  cJSON *m = cJSON_DetachItemFromArray(all, n - 1);
  cJSON_Delete(all);
  return m;
}

/* The path of the List-Unsubscribe URL below the daemon's address. */
static void unsubscribe_path(const cJSON *m, char *out, size_t cap)
{
  const char *lu = str_at(m, "headers", "List-Unsubscribe");
  assert_non_null(lu);
  char want[64];
  snprintf(want, sizeof want, "<http://127.0.0.1:%d/v1/channels/email/u/", D.port);
  assert_true(strncmp(lu, want, strlen(want)) == 0);
  snprintf(out, cap, "%s", lu + strlen(want) - strlen("/v1/channels/email/u/"));
  out[strcspn(out, ">")] = '\0';
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
  (void)p;
  (void)ud;
  return size * n;
}

/* The HTML part of a message the sink took. */
static const char *html_part(const cJSON *m)
{
  const char *html = str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "parts"), 1), "body", NULL);
  assert_non_null(html);
  return html;
}

/* The path of the first tracked link ("/v1/channels/email/c/<token>") of `html`. */
static void click_path(const char *html, char *out, size_t cap)
{
  char want[80];
  snprintf(want, sizeof want, "href=\"http://127.0.0.1:%d/v1/channels/email/c/", D.port);
  const char *at = strstr(html, want);
  assert_non_null(at);
  at += strlen(want) - strlen("/v1/channels/email/c/");
  snprintf(out, cap, "%.*s", (int)strcspn(at, "\""), at);
}

/* GET `path` with an HTTP client that does not follow redirects: the status, and the
 * Location into loc ("" when none). */
static long get_location(const char *path, char *loc, size_t cap)
{
  char url[2300];
  char *redirect = NULL;
  long status = 0;
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", D.port, path);
  CURL *c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  if (curl_easy_perform(c) == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redirect);
  }
  snprintf(loc, cap, "%s", redirect ? redirect : "");
  curl_easy_cleanup(c);
  return status;
}

static void test_message_as_received(void **state)
{
  signup("ok-1");
  cJSON *m = message_for("ok-1@example.com", 1, 5000);
  /* the envelope: the VERP bounce address names the message */
  const char *from = str_at(m, "mail_from", NULL);
  assert_true(strncmp(from, "bounces+", 8) == 0);
  assert_non_null(strstr(from, "@bounces.shop.example"));
  assert_string_equal(str_at(m, "ehlo", NULL), "shop.example");
  /* headers, decoded */
  assert_string_equal(str_at(m, "headers", "Subject"), "Welcome, Zoë!");
  /* on the wire: RFC 2047 encoded words, no byte past ASCII in the header */
  const char *head = str_at(m, "raw_head", NULL);
  assert_non_null(strcasestr(strstr(head, "Subject: "), "=?utf-8?"));
  assert_null(strstr(head, "\xEF\xBF\xBD")); /* the sink's replacement for a non-ASCII byte */
  assert_string_equal(str_at(m, "headers", "From"), "Café Shop <hello@shop.example>");
  assert_string_equal(str_at(m, "headers", "Reply-To"), "Support <help@shop.example>");
  assert_string_equal(str_at(m, "headers", "To"), "ok-1@example.com");
  assert_non_null(str_at(m, "headers", "Date"));
  char rp[200];
  snprintf(rp, sizeof rp, "<%s>", from);
  assert_string_equal(str_at(m, "headers", "Return-Path"), rp);
  const char *mid = str_at(m, "headers", "Message-ID");
  char msgid[64];
  assert_true(strlen(from) > 8 + 32);
  snprintf(msgid, sizeof msgid, "<%.32s.", from + 8); /* the same message id, then the sealed recipient */
  assert_true(strncmp(mid, msgid, strlen(msgid)) == 0);
  assert_true(strlen(mid) > strlen(msgid) + 40);
  assert_string_equal(mid + strlen(mid) - strlen(".parley@shop.example>"), ".parley@shop.example>");
  assert_null(strstr(mid, "ok-1")); /* neither the contact nor the address shows */
  snprintf(msgid, sizeof msgid, "id=%.32s", from + 8); /* Parley's own */
  assert_true(fx_history_says(&D, "ok-1", msgid, 5000));
  assert_string_equal(str_at(m, "headers", "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
  char path[1024];
  unsubscribe_path(m, path, sizeof path);
  /* the body: multipart/alternative, text then HTML, quoted-printable UTF-8 */
  assert_string_equal(str_at(m, "content_type", NULL), "multipart/alternative");
  cJSON *parts = cJSON_GetObjectItem(m, "parts");
  assert_int_equal(cJSON_GetArraySize(parts), 2);
  cJSON *text = cJSON_GetArrayItem(parts, 0), *html = cJSON_GetArrayItem(parts, 1);
  assert_string_equal(str_at(text, "type", NULL), "text/plain");
  assert_string_equal(str_at(html, "type", NULL), "text/html");
  assert_string_equal(str_at(text, "charset", NULL), "utf-8");
  assert_string_equal(str_at(text, "encoding", NULL), "quoted-printable");
  assert_non_null(strstr(str_at(text, "body", NULL), "Hi Zoë,"));
  assert_non_null(strstr(str_at(html, "body", NULL), "<p>Hi Zoë,</p>"));
  assert_true(cJSON_GetObjectItem(m, "longest_line")->valueint < 998);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "crlf_only")));
  /* delivered, the server's queue id kept */
  char want[64];
  snprintf(want, sizeof want, "provider=%s", str_at(m, "queue_id", NULL));
  assert_true(fx_history_says(&D, "ok-1", want, 5000));
  cJSON_Delete(m);
}

/* Messages one after the other go over one SMTP connection (libcurl's connection cache in
 * the plugin's multi handle): the sink sees the same client port for both. */
static void test_connection_reused(void **state)
{
  signup("reuse-a");
  cJSON *a = message_for("reuse-a@example.com", 1, 5000);
  signup("reuse-b");
  cJSON *b = message_for("reuse-b@example.com", 1, 5000);
  const cJSON *pa = cJSON_GetObjectItem(a, "peer_port"), *pb = cJSON_GetObjectItem(b, "peer_port");
  assert_true(cJSON_IsNumber(pa) && cJSON_IsNumber(pb));
  assert_int_equal(pa->valueint, pb->valueint);
  cJSON_Delete(a);
  cJSON_Delete(b);
}

static void test_unsubscribe_one_click(void **state)
{
  signup("unsub-1");
  cJSON *m = message_for("unsub-1@example.com", 1, 5000);
  char path[1024];
  unsubscribe_path(m, path, sizeof path);
  char *body = NULL;
  assert_int_equal(h_http(&D, "POST", path, "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded",
                          &body),
                   200);
  free(body);
  /* a second click is the same event */
  assert_int_equal(h_http(&D, "POST", path, "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded",
                          NULL),
                   200);
  /* the welcome series hears it and ends; another journey's e-mail is refused by the gate */
  cJSON_Delete(h_post(&D, "{\"id\":\"unsub-1-cart\",\"type\":\"cart.updated\",\"contact\":\"unsub-1\","
                          "\"data\":{\"items\":[{\"name\":\"tea\"}]}}",
                      200));
  assert_true(fx_history_says(&D, "unsub-1", "refused email/cart_reminder", 8000));
  assert_true(fx_history_says(&D, "unsub-1", "no consent for email", 100));
  cJSON *again = sink_wait("message", "unsub-1@example.com", 2, 0);
  assert_int_equal(cJSON_GetArraySize(again), 1);
  cJSON_Delete(again);
  cJSON_Delete(m);
}

/* A GET shows a page with a button and unsubscribes no one; forged and altered tokens
 * are 400 and unsubscribe no one: the nudge is sent. */
static void test_get_and_forged_do_nothing(void **state)
{
  signup("look-1");
  cJSON *m = message_for("look-1@example.com", 1, 5000);
  char path[1024], *body = NULL;
  unsubscribe_path(m, path, sizeof path);
  assert_int_equal(h_http(&D, "GET", path, NULL, NULL, &body), 200);
  assert_non_null(strstr(body, "<form method=\"post\""));
  assert_non_null(strstr(body, "List-Unsubscribe"));
  free(body);
  char altered[1024];
  snprintf(altered, sizeof altered, "%s", path);
  size_t at = strlen(altered) - 20; /* inside the signed text */
  altered[at] = altered[at] == 'A' ? 'B' : 'A';
  assert_int_equal(h_http(&D, "POST", altered, "List-Unsubscribe=One-Click", "application/x-www-form-urlencoded",
                          NULL),
                   400);
  assert_int_equal(h_http(&D, "POST", "/v1/channels/email/u/bWFkZS11cAo", "List-Unsubscribe=One-Click",
                          "application/x-www-form-urlencoded", NULL),
                   400);
  assert_int_equal(h_http(&D, "GET", "/v1/channels/email/u/bWFkZS11cAo", NULL, NULL, NULL), 400);
  cJSON_Delete(message_for("look-1@example.com", 2, 8000)); /* the nudge went out */
  cJSON_Delete(m);
}

/* The received HTML's http link points to the daemon, its mailto link is untouched;
 * following the tracked link redirects to the target and records email.clicked, which
 * the welcome journey answers with its tips. */
static void test_click_tracked(void **state)
{
  signup("click-1");
  cJSON *m = message_for("click-1@example.com", 1, 5000);
  const char *html = html_part(m);
  assert_non_null(strstr(html, "href=\"mailto:help@shop.example\""));
  assert_null(strstr(html, "https://shop.example/start")); /* only inside the token */
  assert_null(strstr(html, "data-parley-link"));
  assert_null(strstr(html, "/v1/channels/email/o/")); /* track_opens is off by default */
  /* the text part keeps the link readable */
  assert_non_null(strstr(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "parts"), 0), "body", NULL),
                         "Thanks for joining us."));
  char path[2300], loc[2300];
  click_path(html, path, sizeof path);
  assert_int_equal(get_location(path, loc, sizeof loc), 302);
  assert_string_equal(loc, "https://shop.example/start");
  assert_int_equal(get_location(path, loc, sizeof loc), 302); /* a second click: the same event */
  assert_true(fx_history_says(&D, "click-1", "woken by email.clicked", 5000));
  cJSON *tips = message_for("click-1@example.com", 2, 8000);
  assert_string_equal(str_at(tips, "headers", "Subject"), "Three tips to get started, Zoë");
  h_sleep_ms(500);
  cJSON *all = sink_wait("message", "click-1@example.com", 3, 0);
  assert_int_equal(cJSON_GetArraySize(all), 2); /* one click, one tips e-mail */
  cJSON_Delete(all);
  cJSON_Delete(tips);
  cJSON_Delete(m);
}

/* An altered, a made-up and an unsubscribe token at /c/: 400, no redirect, nothing
 * recorded (the journey hears silence and nudges instead of sending tips). */
static void test_click_forged(void **state)
{
  signup("forge-1");
  cJSON *m = message_for("forge-1@example.com", 1, 5000);
  char path[2300], loc[2300], unsub[1024];
  click_path(html_part(m), path, sizeof path);
  size_t at = strlen(path) - 20; /* inside the signed text */
  path[at] = path[at] == 'A' ? 'B' : 'A';
  assert_int_equal(get_location(path, loc, sizeof loc), 400);
  assert_string_equal(loc, "");
  assert_int_equal(get_location("/v1/channels/email/c/bWFkZS11cAo", loc, sizeof loc), 400);
  unsubscribe_path(m, unsub, sizeof unsub);
  snprintf(path, sizeof path, "/v1/channels/email/c/%s", unsub + strlen("/v1/channels/email/u/"));
  assert_int_equal(get_location(path, loc, sizeof loc), 400);
  assert_string_equal(loc, "");
  cJSON *next = message_for("forge-1@example.com", 2, 8000);
  assert_string_equal(str_at(next, "headers", "Subject"), "Anything we can help with, Zoë?");
  assert_false(fx_history_says(&D, "forge-1", "woken by email.clicked", 0));
  cJSON_Delete(next);
  cJSON_Delete(m);
}

/* GET `path`: the status, the Content-Type into ctype, the body's size into *size. */
static long get_body(const char *path, char *ctype, size_t cap, curl_off_t *size)
{
  char url[2300];
  char *type = NULL;
  long status = 0;
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", D.port, path);
  CURL *c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  *size = 0;
  if (curl_easy_perform(c) == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, size);
  }
  snprintf(ctype, cap, "%s", type ? type : "");
  curl_easy_cleanup(c);
  return status;
}

static int64_t wall_ms(void)
{
  return (int64_t)time(NULL) * 1000;
}

/* "/v1/channels/email/<kind>/<token>" for a token made under the test's signing key. */
static void minted(char kind, const char *message_id, const char *contact, const char *target, int64_t expires_ms,
                   char *out, size_t cap)
{
  char tok[EMAIL_TOKEN_MAX];
  struct email_token t = {.kind = kind, .message_id = message_id, .contact = contact, .name = "start",
                          .target = target, .expires_ms = expires_ms};
  assert_true(email_token_make((const unsigned char *)SIGNING_KEY, strlen(SIGNING_KEY), &t, tok, sizeof tok) > 0);
  snprintf(out, cap, "/v1/channels/email/%c/%s", kind, tok);
}

/* The open pixel's route (the daemon does not add the pixel: track_opens is off, but
 * links in inboxes keep working): a 1x1 GIF and email.opened. An expired click token, a
 * signed non-http target and an open token at /c/ are refused with no redirect. */
static void test_open_pixel_and_expired_link(void **state)
{
  char path[2300], loc[2300], ctype[64], id[40];
  curl_off_t size;
  signup("open-1");
  cJSON *m = message_for("open-1@example.com", 1, 5000);
  snprintf(id, sizeof id, "%.32s", str_at(m, "mail_from", NULL) + 8);
  minted('o', id, "open-1", NULL, wall_ms() + 3600000, path, sizeof path);
  assert_int_equal(get_body(path, ctype, sizeof ctype, &size), 200);
  assert_string_equal(ctype, "image/gif");
  assert_int_equal((int)size, 43);
  assert_true(fx_history_says(&D, "open-1", "event email.opened", 5000));
  minted('c', id, "open-1", "https://shop.example/start", wall_ms() - 2000, path, sizeof path);
  assert_int_equal(get_location(path, loc, sizeof loc), 400); /* expired */
  assert_string_equal(loc, "");
  minted('c', id, "open-1", "javascript:alert(1)", wall_ms() + 3600000, path, sizeof path);
  assert_int_equal(get_location(path, loc, sizeof loc), 400);
  minted('o', id, "open-1", NULL, wall_ms() + 3600000, path, sizeof path);
  path[strlen("/v1/channels/email/")] = 'c';
  assert_int_equal(get_location(path, loc, sizeof loc), 400);
  assert_string_equal(loc, "");
  assert_false(fx_history_says(&D, "open-1", "woken by email.clicked", 0));
  cJSON_Delete(m);
}

#define BOUNCE_SECRET "a-bounce-secret-for-tests"
#define BOUNCE_PATH "/v1/channels/email/bounces"

/* The head of a report about `m`, sent to its VERP address, then its first part. */
static int report_head(char *out, size_t cap, const cJSON *m, const char *report_type)
{
  return snprintf(out, cap,
                  "From: MAILER-DAEMON@mx.example.com\r\nTo: %s\r\nSubject: Returned mail\r\n"
                  "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=%s; boundary=\"B\"\r\n\r\n"
                  "--B\r\nContent-Type: text/plain\r\n\r\nAbout a message you sent.\r\n\r\n",
                  str_at(m, "mail_from", NULL), report_type);
}

/* A delivery status notification (RFC 3464) for the message `m` the sink took, as an MTA
 * writes it: the recipient's Action and Status, and the message's headers as received. */
static char *dsn_for(const cJSON *m, const char *action, const char *status)
{
  size_t cap = 16384;
  char *out = malloc(cap);
  int n = report_head(out, cap, m, "delivery-status");
  snprintf(out + n, cap - (size_t)n,
           "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
           "Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n"
           "Diagnostic-Code: smtp; %s %s mailbox says no\r\n\r\n"
           "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n\r\n--B--\r\n",
           str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "rcpt_tos"), 0), NULL, NULL), action, status,
           status[0] == '5' ? "550" : "452", status, str_at(m, "raw_head", NULL));
  return out;
}

/* A feedback-loop complaint (RFC 5965 ARF) about `m`. */
static char *arf_for(const cJSON *m)
{
  size_t cap = 16384;
  char *out = malloc(cap);
  int n = report_head(out, cap, m, "feedback-report");
  snprintf(out + n, cap - (size_t)n,
           "--B\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
           "User-Agent: Test-Feedback/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <%s>\r\n\r\n"
           "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n\r\n--B--\r\n",
           str_at(m, "mail_from", NULL), str_at(m, "raw_head", NULL));
  return out;
}

/* POSTs `report` to the bounce route with `secret` (NULL: none), the VERP address of
 * `m` in ?to= when m is given; frees the report; returns the status. */
static long post_report(char *report, const char *secret, const cJSON *m)
{
  char path[256] = BOUNCE_PATH;
  if (m) { /* ?to=<the VERP address>, its '@' and '+' %-escaped */
    size_t n = strlen(strcat(path, "?to="));
    for (const char *c = str_at(m, "mail_from", NULL); *c && n + 4 < sizeof path; c++)
      n += (size_t)snprintf(path + n, sizeof path - n, *c == '@' ? "%%40" : *c == '+' ? "%%2B" : "%c", *c);
  }
  long status = h_http_as(&D, secret, "POST", path, report, "message/rfc822", NULL);
  free(report);
  return status;
}

/* The contact's suppression on email, as a JSON text ("" when none), into out. */
static void suppression_of(const char *contact, char *out, size_t cap)
{
  long status;
  cJSON *ct = h_get_contact(&D, contact, &status);
  cJSON *sup = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ct, "profile"), "suppressed"), "email");
  char *text = sup ? cJSON_PrintUnformatted(sup) : NULL;
  snprintf(out, cap, "%s", text ? text : "");
  free(text);
  cJSON_Delete(ct);
}

/* A hard bounce suppresses the address the message went to; the welcome journey hears
 * it and ends (no sms channel here), and another journey's e-mail is refused. */
static void test_bounce_hard(void **state)
{
  char sup[512];
  signup("hard-1");
  cJSON *m = message_for("hard-1@example.com", 1, 5000);
  assert_int_equal(post_report(dsn_for(m, "failed", "5.1.1"), BOUNCE_SECRET, m), 200);
  assert_int_equal(post_report(dsn_for(m, "failed", "5.1.1"), BOUNCE_SECRET, m), 200); /* the same event */
  assert_true(fx_history_says(&D, "hard-1", "woken by email.bounced", 5000));
  suppression_of("hard-1", sup, sizeof sup);
  assert_non_null(strstr(sup, "\"address\":\"hard-1@example.com\""));
  assert_non_null(strstr(sup, "\"reason\":\"bounced\""));
  assert_non_null(strstr(sup, "\"at\":\"20"));
  cJSON_Delete(h_post(&D, "{\"id\":\"hard-1-cart\",\"type\":\"cart.updated\",\"contact\":\"hard-1\","
                          "\"data\":{\"items\":[{\"name\":\"tea\"}]}}",
                      200));
  assert_true(fx_history_says(&D, "hard-1", "refused email/cart_reminder", 8000));
  assert_true(fx_history_says(&D, "hard-1", "suppressed for email: bounced", 100));
  cJSON *all = sink_wait("message", "hard-1@example.com", 2, 0);
  assert_int_equal(cJSON_GetArraySize(all), 1);
  cJSON_Delete(all);
  cJSON_Delete(m);
}

/* A soft bounce (a full mailbox) suppresses nothing: the welcome journey keeps
 * listening and its nudge goes out. The envelope recipient is read from the report. */
static void test_bounce_soft(void **state)
{
  char sup[512];
  signup("soft-1");
  cJSON *m = message_for("soft-1@example.com", 1, 5000);
  assert_int_equal(post_report(dsn_for(m, "delayed", "4.2.2"), BOUNCE_SECRET, NULL), 200);
  assert_true(fx_history_says(&D, "soft-1", "woken by email.bounced", 5000));
  cJSON *next = message_for("soft-1@example.com", 2, 8000);
  assert_string_equal(str_at(next, "headers", "Subject"), "Anything we can help with, Zoë?");
  suppression_of("soft-1", sup, sizeof sup);
  assert_string_equal(sup, "");
  cJSON_Delete(next);
  cJSON_Delete(m);
}

static void test_complaint_suppresses(void **state)
{
  char sup[512];
  signup("spam-1");
  cJSON *m = message_for("spam-1@example.com", 1, 5000);
  assert_int_equal(post_report(arf_for(m), BOUNCE_SECRET, NULL), 200);
  assert_true(fx_history_says(&D, "spam-1", "event email.complained", 5000));
  suppression_of("spam-1", sup, sizeof sup);
  assert_non_null(strstr(sup, "\"address\":\"spam-1@example.com\""));
  assert_non_null(strstr(sup, "\"reason\":\"complaint\""));
  cJSON_Delete(m);
}

/* A wrong or missing secret is 401; a forged Message-ID, another message's bounce
 * address and a message that is no report are refused with a 4xx; none records
 * anything: the journey hears silence and nudges. */
static void test_bounce_refused(void **state)
{
  char sup[512];
  signup("fake-1");
  signup("fake-2");
  cJSON *m = message_for("fake-1@example.com", 1, 5000);
  cJSON *other = message_for("fake-2@example.com", 1, 5000);
  assert_int_equal(post_report(dsn_for(m, "failed", "5.1.1"), "a-wrong-secret-of-some-length", m), 401);
  assert_int_equal(post_report(dsn_for(m, "failed", "5.1.1"), NULL, m), 401);
  assert_int_equal(post_report(dsn_for(m, "failed", "5.1.1"), BOUNCE_SECRET, other), 422);
  char *forged = dsn_for(m, "failed", "5.1.1");
  char *mid = strstr(forged, "\r\nMessage-I");
  assert_non_null(mid);
  char *sealed = strchr(strchr(mid, '<'), '.') + 5; /* inside the sealed recipient */
  *sealed = *sealed == 'A' ? 'B' : 'A';
  assert_int_equal(post_report(forged, BOUNCE_SECRET, m), 422);
  assert_int_equal(post_report(strdup("From: someone@example.org\r\nSubject: I am away\r\n"
                                      "Content-Type: text/plain\r\n\r\nBack on Monday.\r\n"),
                               BOUNCE_SECRET, m),
                   400);
  char *cut = dsn_for(m, "failed", "5.1.1");
  strstr(cut, "Final-Recipient")[0] = '\0'; /* truncated in the middle of the report */
  long status = post_report(cut, BOUNCE_SECRET, m);
  assert_true(status == 400 || status == 422);
  cJSON *next = message_for("fake-1@example.com", 2, 8000);
  assert_string_equal(str_at(next, "headers", "Subject"), "Anything we can help with, Zoë?");
  assert_false(fx_history_says(&D, "fake-1", "woken by email.bounced", 0));
  suppression_of("fake-1", sup, sizeof sup);
  assert_string_equal(sup, "");
  cJSON_Delete(next);
  cJSON_Delete(other);
  cJSON_Delete(m);
}

static void test_550_dead_letter_and_suppressed(void **state)
{
  signup("bad-1");
  assert_true(fx_history_says(&D, "bad-1", "invalid_address", 5000));
  cJSON *rcpts = sink_wait("rcpt", "bad-1@example.com", 1, 0);
  assert_int_equal(cJSON_GetArraySize(rcpts), 1); /* one attempt, no retry */
  cJSON_Delete(rcpts);
  long status;
  cJSON *ct = h_get_contact(&D, "bad-1", &status);
  const cJSON *sup = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(ct, "profile"), "suppressed"),
                                         "email");
  assert_string_equal(str_at(sup, "address", NULL), "bad-1@example.com");
  assert_string_equal(str_at(sup, "reason", NULL), "invalid_address");
  cJSON_Delete(ct);
}

static void test_451_retried_then_delivered(void **state)
{
  signup("busy-1");
  cJSON *m = message_for("busy-1@example.com", 1, 8000);
  cJSON *rcpts = sink_wait("rcpt", "busy-1@example.com", 2, 0);
  assert_int_equal(cJSON_GetArraySize(rcpts), 2);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rcpts, 0), "code")->valueint, 451);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rcpts, 1), "code")->valueint, 250);
  assert_true(fx_history_says(&D, "busy-1", "provider=Q", 5000));
  cJSON_Delete(rcpts);
  cJSON_Delete(m);
}

/* The server goes away: the message waits in retries and goes out once it is back. */
static void test_server_away_then_back(void **state)
{
  int port = S.port;
  fx_server_stop(&S);
  signup("away-1");
  h_sleep_ms(1500);
  cJSON *none = sink_wait("message", "away-1@example.com", 1, 0);
  assert_int_equal(cJSON_GetArraySize(none), 0);
  cJSON_Delete(none);
  assert_int_equal(sink_start(port), 0);
  cJSON *m = message_for("away-1@example.com", 1, 10000);
  assert_true(fx_history_says(&D, "away-1", "provider=Q", 5000));
  cJSON_Delete(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_message_as_received),
      cmocka_unit_test(test_connection_reused),
      cmocka_unit_test(test_unsubscribe_one_click),
      cmocka_unit_test(test_get_and_forged_do_nothing),
      cmocka_unit_test(test_click_tracked),
      cmocka_unit_test(test_click_forged),
      cmocka_unit_test(test_open_pixel_and_expired_link),
      cmocka_unit_test(test_bounce_hard),
      cmocka_unit_test(test_bounce_soft),
      cmocka_unit_test(test_complaint_suppresses),
      cmocka_unit_test(test_bounce_refused),
      cmocka_unit_test(test_550_dead_letter_and_suppressed),
      cmocka_unit_test(test_451_retried_then_delivered),
      cmocka_unit_test(test_server_away_then_back),
  };
  return cmocka_run_group_tests(tests, start_all, stop_all);
}

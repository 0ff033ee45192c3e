/* email: sends each message over SMTP with libcurl, never blocking the loop: one curl
 * multi handle per instance, driven by the host's fd watchers and timer (email_multi.c),
 * whose connection cache reuses a connection across messages. The message is GMime's
 * (email_mime.c), the answer's meaning email_smtp.c's, the unsubscribe routes
 * email_unsub.c's; this file is the plugin: its settings, init, send, the end of a
 * transfer and shutdown. docs/email.md is the operator's guide.
 *
 * How many messages are sent at once and how fast is the core's flow control (the
 * channel's rate, burst and max_in_flight), not this plugin's. Every send's state
 * (struct email_send) is listed in the instance, so shutdown frees what is in flight. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <sodium.h>

#include "email.h"
#include "email_dsn.h"
#include "email_token.h"

#define EMAIL_TIMEOUT_MAX 600000 /* ms */
#define EMAIL_KEY_MIN 32         /* bytes of signing key */
#define EMAIL_SECRET_MIN 16      /* bytes of bounce secret */
#define EMAIL_REPLY_MAX 256

static const struct parley_host *host;

struct email_send {
  struct email *self;
  parley_msg *msg;
  CURL *easy;
  struct curl_slist *rcpt;
  char *data; /* the message on the wire */
  size_t len, off;
  char message_id[EMAIL_SEAL_MAX + 160]; /* <id>.<sealed recipient>.parley@<domain> */
  char reply[EMAIL_REPLY_MAX]; /* the server's last reply line */
  struct email_send *prev, *next;
};

static const struct parley_config_spec email_config[] = {
    {"url", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct email, url),
     "the SMTP server: smtps://host:465 (TLS), or smtp://host:587 (STARTTLS required but on loopback)"},
    {"username", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct email, username), "the AUTH user, if any"},
    {"password", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct email, password),
     "the AUTH password: { env = \"NAME\" } or { file = \"PATH\" }"},
    {"from", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct email, from),
     "the sender, one mailbox: \"Shop <hello@shop.example>\""},
    {"reply_to", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct email, reply_to), "where replies go, one mailbox"},
    {"bounce_domain", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct email, bounce_domain),
     "the domain of the bounce address bounces+<message>@domain; default the From's"},
    {"public_url", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct email, public_url),
     "the daemon's external base URL, for unsubscribe links: https://parley.shop.example"},
    {"signing_key", PARLEY_CONFIG_SECRET, NULL, 1, offsetof(struct email, signing_key),
     "signs unsubscribe and link tokens, at least 32 bytes: { file = \"PATH\" }"},
    {"timeout", PARLEY_CONFIG_DURATION, "30s", 0, offsetof(struct email, timeout_ms),
     "one message, connection to the server's last answer; a timeout is retried"},
    {"unsubscribe_ttl", PARLEY_CONFIG_DURATION, "365d", 0, offsetof(struct email, unsubscribe_ttl_ms),
     "how long an unsubscribe link keeps working"},
    {"track_clicks", PARLEY_CONFIG_BOOL, "true", 0, offsetof(struct email, track_clicks),
     "the HTML part's http(s) links go through Parley, which records email.clicked and redirects"},
    {"track_opens", PARLEY_CONFIG_BOOL, "false", 0, offsetof(struct email, track_opens),
     "an open pixel in the HTML part, recorded as email.opened (unreliable: image proxies)"},
    {"click_ttl", PARLEY_CONFIG_DURATION, "90d", 0, offsetof(struct email, click_ttl_ms),
     "how long a tracked link keeps redirecting"},
    {"bounce_secret", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct email, bounce_secret),
     "enables POST /bounces for bounce and complaint reports, sent with Authorization: Bearer <secret>"},
    {"ca_file", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct email, ca_file),
     "CA certificates trusted besides the system's, PEM"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Init refuses with one line for the operator (set_error), never naming a secret. */
static enum parley_status refuse(parley_ctx *ctx, const char *why)
{
  if (PARLEY_HOST_HAS(host, set_error))
    host->set_error(ctx, why);
  host->log(ctx, PARLEY_LOG_ERROR, "email channel refused", "reason", why, NULL);
  return PARLEY_ERROR;
}

static void on_done(void *ud, CURL *easy, CURLcode rc);

/* The settings, checked; 0, or -1 and why. */
static int settings_check(struct email *e, char *why, size_t len)
{
  char *domain = NULL;
  if (email_url_check(e->url, &e->loopback, why, len) < 0)
    return -1;
  if (e->click_ttl_ms < 1000) {
    snprintf(why, len, "click_ttl must be at least 1s");
    return -1;
  }
  if (e->bounce_secret && strlen(e->bounce_secret) < EMAIL_SECRET_MIN) {
    snprintf(why, len, "bounce_secret must be at least %d bytes (e.g. openssl rand -hex 32)", EMAIL_SECRET_MIN);
    return -1;
  }
  if (e->timeout_ms < 1 || e->timeout_ms > EMAIL_TIMEOUT_MAX) {
    snprintf(why, len, "timeout must be between 1ms and 10m");
    return -1;
  }
  if (strlen(e->signing_key) < EMAIL_KEY_MIN) {
    snprintf(why, len, "signing_key must be at least %d bytes (e.g. openssl rand -base64 48)", EMAIL_KEY_MIN);
    return -1;
  }
  if (strncmp(e->public_url, "https://", 8) != 0 && strncmp(e->public_url, "http://", 7) != 0) {
    snprintf(why, len, "public_url must be an http:// or https:// URL");
    return -1;
  }
  if ((e->username == NULL) != (e->password == NULL)) {
    snprintf(why, len, "username and password go together");
    return -1;
  }
  if (e->reply_to && email_mime_check_mailbox(e->reply_to, &domain, why, len) < 0)
    return -1;
  free(domain);
  return email_mime_check_mailbox(e->from, &e->from_domain, why, len);
}

/* curl takes the URL's path as its EHLO name: the From's domain, unless one is given. */
static char *smtp_url_of(const char *url, const char *domain)
{
  const char *rest = strstr(url, "://") + 3;
  size_t n = strlen(url) + strlen(domain) + 2;
  char *out = malloc(n);
  if (out)
    snprintf(out, n, strchr(rest, '/') ? "%s" : "%s/%s", url, domain);
  return out;
}

static enum parley_status email_init(parley_ctx *ctx, void *self)
{
  struct email *e = self;
  char why[256] = "";
  if (!PARLEY_HOST_HAS(host, io_start) || !PARLEY_HOST_HAS(host, route_add) || !PARLEY_HOST_HAS(host, send_failed))
    return refuse(ctx, "this Parley lacks fd watchers or routes for plugins (plugin ABI 1.1 is needed)");
  if (sodium_init() < 0)
    return refuse(ctx, "libsodium failed to initialise");
  g_mime_init();
  email_dsn_init();
  e->host = host;
  e->ctx = ctx;
  if (settings_check(e, why, sizeof why) < 0)
    goto fail;
  if ((e->smtp_url = smtp_url_of(e->url, e->from_domain)) == NULL ||
      (e->multi = email_multi_open(host, ctx, on_done, e)) == NULL) {
    snprintf(why, sizeof why, "out of memory");
    goto fail;
  }
  if (email_unsub_routes(host, ctx, e) != PARLEY_OK || email_click_routes(host, ctx, e) != PARLEY_OK ||
      email_bounce_routes(host, ctx, e) != PARLEY_OK) {
    snprintf(why, sizeof why, "the unsubscribe, tracking or bounce routes could not be added (see the log)");
    goto fail;
  }
  return PARLEY_OK;
fail:
  email_multi_close(e->multi);
  e->multi = NULL;
  free(e->from_domain);
  free(e->smtp_url);
  email_dsn_shutdown();
  g_mime_shutdown();
  return refuse(ctx, why);
}

static void unlist(struct email_send *s)
{
  if (s->prev)
    s->prev->next = s->next;
  else
    s->self->list = s->next;
  if (s->next)
    s->next->prev = s->prev;
}

static void send_free(struct email_send *s)
{
  if (s->easy)
    curl_easy_cleanup(s->easy);
  curl_slist_free_all(s->rcpt);
  free(s->data);
  free(s);
}

/* The end of one transfer: what the server's last answer means for the message. */
static void on_done(void *ud, CURL *easy, CURLcode rc)
{
  struct email *e = ud;
  struct email_send *s = NULL;
  long code = 0;
  char detail[EMAIL_REPLY_MAX + 64], queue_id[128];
  enum parley_fail_reason reason;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  unlist(s);
  if (rc == CURLE_LOGIN_DENIED) { /* our credentials, not the recipient: every message waits */
    host->log(e->ctx, PARLEY_LOG_ERROR, "the SMTP server refused the login: check username and password", NULL);
    snprintf(detail, sizeof detail, "login refused: SMTP %s", s->reply[0] ? s->reply : curl_easy_strerror(rc));
    host->send_retry(e->ctx, s->msg, 0, detail);
    send_free(s);
    return;
  }
  switch (email_smtp_outcome(rc == CURLE_OK, code, s->reply, &reason)) {
  case EMAIL_DELIVERED:
    host->send_delivered(e->ctx, s->msg,
                         email_smtp_queue_id(s->reply, queue_id, sizeof queue_id) == 0 ? queue_id : s->message_id);
    break;
  case EMAIL_RETRY:
    if (code >= 400 && code < 500)
      snprintf(detail, sizeof detail, "SMTP %s", s->reply);
    else
      snprintf(detail, sizeof detail, "%s", curl_easy_strerror(rc));
    host->send_retry(e->ctx, s->msg, 0, detail);
    break;
  case EMAIL_FAILED:
    snprintf(detail, sizeof detail, "SMTP %s", s->reply[0] ? s->reply : curl_easy_strerror(rc));
    host->send_failed(e->ctx, s->msg, reason, detail);
    break;
  }
  send_free(s);
}

/* CURLOPT_READFUNCTION: the message, from memory (curl dot-stuffs it). */
static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
  struct email_send *s = arg;
  size_t take = s->len - s->off < size * n ? s->len - s->off : size * n;
  memcpy(buf, s->data + s->off, take);
  s->off += take;
  return take;
}

/* CURLOPT_DEBUGFUNCTION: keeps the server's last reply line (or its last refusal),
 * printable, for the outcome and the dead letter's detail. Nothing else is looked at or
 * logged. */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *arg)
{
  struct email_send *s = arg;
  if (type != CURLINFO_HEADER_IN)
    return 0;
  while (size && (data[size - 1] == '\n' || data[size - 1] == '\r'))
    size--;
  size_t start = size;
  while (start && data[start - 1] != '\n')
    start--;
  size_t n = size - start < sizeof s->reply - 1 ? size - start : sizeof s->reply - 1;
  if (n == 0 || ((s->reply[0] == '4' || s->reply[0] == '5') && data[start] != '4' && data[start] != '5'))
    return 0; /* a refusal stays: the "221 Bye" of the QUIT after it says nothing */
  for (size_t i = 0; i < n; i++)
    s->reply[i] = (unsigned char)data[start + i] < 0x20 || data[start + i] == 0x7f ? ' ' : data[start + i];
  s->reply[n] = '\0';
  return 0;
}

/* ca_file takes the bundle's place while the system's CA folder is still searched, so
 * it adds to the system's store (as the host's own HTTP client does). */
static void set_trust(CURL *c, const char *ca_file)
{
  const char *capath = curl_version_info(CURLVERSION_NOW)->capath;
  if (ca_file == NULL)
    return;
  curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
  if (capath)
    curl_easy_setopt(c, CURLOPT_CAPATH, capath);
}

/* The transfer: envelope (MAIL FROM is the VERP address), TLS, AUTH, timeout. */
static CURL *easy_of(struct email *e, struct email_send *s, const char *return_path, const char *to)
{
  char addr[400];
  CURL *c = curl_easy_init();
  if (c == NULL)
    return NULL;
  snprintf(addr, sizeof addr, "<%s>", to);
  if ((s->rcpt = curl_slist_append(NULL, addr)) == NULL) {
    curl_easy_cleanup(c);
    return NULL;
  }
  snprintf(addr, sizeof addr, "<%s>", return_path);
  curl_easy_setopt(c, CURLOPT_URL, e->smtp_url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, s->rcpt);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(c, CURLOPT_READDATA, s);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->len);
  curl_easy_setopt(c, CURLOPT_USE_SSL, (long)(e->loopback ? CURLUSESSL_TRY : CURLUSESSL_ALL));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PRIVATE, s);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, s);
  if (e->username) {
    curl_easy_setopt(c, CURLOPT_USERNAME, e->username);
    curl_easy_setopt(c, CURLOPT_PASSWORD, e->password);
  }
  set_trust(c, e->ca_file);
  return c;
}

/* An address curl can put in an envelope: one '@', no brackets, spaces or controls. */
static int address_ok(const char *a)
{
  const char *at = a ? strchr(a, '@') : NULL;
  if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') || strlen(a) > 254)
    return 0;
  for (; *a; a++)
    if ((unsigned char)*a <= 0x20 || *a == 0x7f || strchr("<>()[],;:\\\"", *a))
      return 0;
  return 1;
}

/* The Message-ID: Parley's message id, then the recipient sealed (email_token_seal) so
 * that a bounce or complaint quoting it names the contact and the address, then
 * ".parley". A recipient too long to seal leaves the middle out: the message goes, and a
 * report about it is answered as one about no message of ours. */
static void message_id_of(struct email *e, parley_msg *msg, char *out, size_t cap)
{
  const char *key = e->signing_key, *id = host->msg_id(msg);
  char sealed[EMAIL_SEAL_MAX];
  if (email_token_seal((const unsigned char *)key, strlen(key), id, host->msg_contact(msg), host->msg_address(msg),
                       sealed, sizeof sealed) < 0)
    snprintf(out, cap, "%s.parley@%s", id, e->from_domain);
  else
    snprintf(out, cap, "%s.%s.parley@%s", id, sealed, e->from_domain);
}

/* The letter's parts that depend on the message: Message-ID, bounce address, the
 * one-click URL. 0, or -1 and why. */
static int letter_of(struct email *e, parley_ctx *ctx, parley_msg *msg, struct email_send *s, char *return_path,
                     size_t rp_cap, char *unsub, size_t unsub_cap)
{
  const unsigned char *key = (const unsigned char *)e->signing_key;
  size_t key_len = strlen(e->signing_key);
  const char *id = host->msg_id(msg), *channel = host->msg_channel(msg);
  char local[96], tok[EMAIL_TOKEN_MAX];
  struct email_token t = {.kind = EMAIL_TOKEN_UNSUBSCRIBE, .message_id = id, .contact = host->msg_contact(msg),
                          .expires_ms = host->now_ms(ctx) + e->unsubscribe_ttl_ms};
  message_id_of(e, msg, s->message_id, sizeof s->message_id);
  if (email_token_verp(key, key_len, id, local, sizeof local) < 0)
    snprintf(local, sizeof local, "bounces");
  snprintf(return_path, rp_cap, "%s@%s", local, e->bounce_domain ? e->bounce_domain : e->from_domain);
  size_t base = strlen(e->public_url);
  while (base && e->public_url[base - 1] == '/')
    base--;
  if (email_token_make(key, key_len, &t, tok, sizeof tok) < 0)
    return -1;
  int n = snprintf(unsub, unsub_cap, "%.*s/v1/channels/%s/u/%s", (int)base, e->public_url, channel, tok);
  return n < 0 || (size_t)n >= unsub_cap ? -1 : 0;
}

/* The HTML part as sent: its links tracked when the settings ask for it. The text part,
 * when the template has none, is taken from the HTML as written (its links readable, not
 * tracked), into *text. A document the tracker cannot read goes as it is, with a WARN. */
static const char *html_of(struct email *e, parley_ctx *ctx, parley_msg *msg, char **tracked, char **text)
{
  const char *html = host->msg_part(msg, "html");
  char why[256];
  *tracked = *text = NULL;
  if (html == NULL || (!e->track_clicks && !e->track_opens))
    return html;
  if (host->msg_part(msg, "text") == NULL)
    *text = email_text_of_html(html);
  *tracked = email_click_html(e, host->msg_channel(msg), host->msg_id(msg), host->msg_contact(msg), html,
                              host->now_ms(ctx), why, sizeof why);
  if (*tracked == NULL)
    host->log(ctx, PARLEY_LOG_WARN, "links not tracked", "template", host->msg_template(msg), "reason", why, NULL);
  return *tracked ? *tracked : html;
}

/* Builds the message and starts its transfer; 0, or -1 and why when the message can
 * never be built (no subject...), or -2 when out of memory (worth a retry). */
static int start(struct email *e, parley_ctx *ctx, parley_msg *msg, struct email_send *s, char *why, size_t len)
{
  char return_path[160], unsub[EMAIL_TOKEN_MAX + 256], *tracked, *text;
  const char *to = host->msg_address(msg);
  if (letter_of(e, ctx, msg, s, return_path, sizeof return_path, unsub, sizeof unsub) < 0) {
    snprintf(why, len, "the unsubscribe link could not be made");
    return -1;
  }
  const char *html = html_of(e, ctx, msg, &tracked, &text);
  struct email_letter l = {.from = e->from, .reply_to = e->reply_to, .to = to,
                           .subject = host->msg_part(msg, "subject"),
                           .text = text ? text : host->msg_part(msg, "text"), .html = html,
                           .message_id = s->message_id, .return_path = return_path, .unsubscribe = unsub,
                           .date_ms = host->now_ms(ctx)};
  s->data = email_mime_build(&l, &s->len, why, len);
  free(tracked);
  free(text);
  if (s->data == NULL)
    return -1;
  if ((s->easy = easy_of(e, s, return_path, to)) == NULL || email_multi_add(e->multi, s->easy) < 0) {
    snprintf(why, len, "out of memory");
    return -2;
  }
  return 0;
}

static enum parley_status email_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct email *e = self;
  char why[256];
  if (!address_ok(host->msg_address(msg))) {
    host->send_failed(ctx, msg, PARLEY_FAIL_INVALID_ADDRESS, "not an email address");
    return PARLEY_PENDING;
  }
  struct email_send *s = calloc(1, sizeof *s);
  if (s == NULL)
    return PARLEY_RETRY;
  s->self = e;
  s->msg = msg;
  int rc = start(e, ctx, msg, s, why, sizeof why);
  if (rc < 0) {
    host->log(ctx, PARLEY_LOG_ERROR, "message not sent", "template", host->msg_template(msg), "reason", why, NULL);
    send_free(s);
    if (rc == -2)
      return PARLEY_RETRY;
    host->send_failed(ctx, msg, PARLEY_FAIL_OTHER, why);
    return PARLEY_PENDING;
  }
  s->next = e->list;
  if (e->list)
    e->list->prev = s;
  e->list = s;
  return PARLEY_PENDING;
}

/* The host stopped the watchers and the timer without calling back: the transfers
 * still in flight are dropped (the core hands their messages over again). */
static void email_shutdown(parley_ctx *ctx, void *self)
{
  struct email *e = self;
  while (e->list) {
    struct email_send *s = e->list;
    e->list = s->next;
    email_multi_remove(e->multi, s->easy);
    send_free(s);
  }
  email_multi_close(e->multi);
  free(e->from_domain);
  free(e->smtp_url);
  email_dsn_shutdown();
  g_mime_shutdown();
}

static const struct parley_plugin email_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "email",
    .version = "1.0",
    .description = "sends email over SMTP (TLS), MIME by GMime, with one-click unsubscribe, click tracking and bounce reports",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct email),
    .config = email_config,
    .init = email_init,
    .send = email_send,
    .shutdown = email_shutdown,
    .config_spec_size = sizeof(struct parley_config_spec),
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &email_plugin;
}

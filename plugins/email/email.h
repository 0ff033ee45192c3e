/* The email channel's parts, shared by its files: the curl multi handle on the host's
 * watchers and timers (email_multi.c), the SMTP rules -- which URLs, what an answer
 * means (email_smtp.c), the message itself (email_mime.c, with email_text.c for a text
 * part taken from the HTML), the unsubscribe routes (email_unsub.c), click tracking
 * (email_click.c) and the bounce route (email_bounce.c, reading reports with email_dsn.h). Signed tokens
 * are email_token.h's. The plugin, its settings and its life cycle, is email.c. */
#ifndef PARLEY_EMAIL_H
#define PARLEY_EMAIL_H
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <parley/plugin.h>

struct email_send;
struct email_multi;

/* The instance: its settings (filled by the host from the config spec), what init made
 * of them, and the sends in flight. */
struct email {
  const struct parley_host *host;
  const char *url;           /* setting, required: smtps://host:465 or smtp://host:587 */
  const char *username;      /* setting: AUTH user */
  const char *password;      /* setting, SECRET: AUTH password */
  const char *from;          /* setting, required: "Shop <hello@shop.example>" */
  const char *reply_to;      /* setting */
  const char *bounce_domain; /* setting: Return-Path's domain; default the From's */
  const char *public_url;    /* setting, required: the daemon's external base URL */
  const char *signing_key;   /* setting, SECRET, required: signs unsubscribe tokens */
  int64_t timeout_ms;        /* setting, DURATION */
  int64_t unsubscribe_ttl_ms; /* setting, DURATION: how long an unsubscribe link works */
  const char *ca_file;       /* setting: trusted besides the system's store */
  int track_clicks;          /* setting, BOOL: links of the HTML part go through Parley */
  int track_opens;           /* setting, BOOL: an open pixel in the HTML part */
  int64_t click_ttl_ms;      /* setting, DURATION: how long a tracked link redirects */
  const char *bounce_secret; /* setting, SECRET: authenticates POST /bounces */
  char *from_domain;         /* the From's domain: Message-ID's right side */
  char *smtp_url;            /* url, with the EHLO name as its path */
  parley_ctx *ctx;           /* the instance's handle, for the transfers' ends */
  int loopback;              /* the server is on loopback: plain SMTP allowed */
  struct email_multi *multi;
  struct email_send *list;   /* sends in flight */
};

/* --- email_multi.c: libcurl's multi-socket API on the host's fd watchers and timer --- */

/* Called once per transfer that ended, after it left the multi handle. */
typedef void (*email_multi_done)(void *ud, CURL *easy, CURLcode rc);

struct email_multi *email_multi_open(const struct parley_host *host, parley_ctx *ctx, email_multi_done done,
                                     void *ud);
/* 0, or -1 when curl refuses the handle. */
int email_multi_add(struct email_multi *m, CURL *easy);
/* Takes `easy` out without calling back; shutdown only (the host has stopped the
 * watchers and the timer). */
void email_multi_remove(struct email_multi *m, CURL *easy);
/* At shutdown: the host has stopped the watchers and the timer already. */
void email_multi_close(struct email_multi *m);

/* --- email_smtp.c: the SMTP rules --- */

/* 0 when the channel may send through `url`: smtps://, or smtp:// (STARTTLS is then
 * required, except to a loopback host, where *loopback is set). Else -1 and why. */
int email_url_check(const char *url, int *loopback, char *why, size_t len);

enum email_outcome { EMAIL_DELIVERED, EMAIL_RETRY, EMAIL_FAILED };
/* What a finished transfer means: `completed` when curl says the server took the
 * message; else the last reply's code (0: none, the connection failed) and text. For
 * EMAIL_FAILED, *reason says why. */
enum email_outcome email_smtp_outcome(int completed, long code, const char *reply, enum parley_fail_reason *reason);
/* The server's queue id from a final "250 ... queued as ABC123" reply into out; 0, or
 * -1 when the reply names none. */
int email_smtp_queue_id(const char *reply, char *out, size_t cap);

/* --- email_text.c --- */

/* The readable text of an HTML document, for the text part when the template has
 * none: paragraphs and line breaks kept, links as "text (url)", scripts and styles
 * dropped. malloc'd, or NULL when out of memory. */
char *email_text_of_html(const char *html);

/* --- email_mime.c --- */

/* Everything one message needs besides the host's message. */
struct email_letter {
  const char *from;        /* "Name <addr>", checked at init */
  const char *reply_to;    /* or NULL */
  const char *to;          /* the contact's address */
  const char *subject;     /* UTF-8 */
  const char *text;        /* or NULL: taken from html */
  const char *html;        /* or NULL */
  const char *message_id;  /* "<id>@<domain>", without the angle brackets */
  const char *return_path; /* "bounces+...@domain" */
  const char *unsubscribe; /* the one-click URL, or NULL */
  int64_t date_ms;
};

/* The message as sent on the wire (CRLF lines), malloc'd with its length; NULL and why
 * when it cannot be built. */
char *email_mime_build(const struct email_letter *l, size_t *len, char *why, size_t why_len);
/* 0 when `text` is one mailbox ("Name <addr@domain>" or "addr@domain"); its domain is
 * then copied into domain (malloc'd). Else -1 and why. */
int email_mime_check_mailbox(const char *text, char **domain, char *why, size_t len);

/* --- email_unsub.c --- */

/* Registers GET and POST /u/<token> for the instance. PARLEY_OK, or PARLEY_ERROR. */
enum parley_status email_unsub_routes(const struct parley_host *host, parley_ctx *ctx, struct email *e);

/* --- email_click.c --- */

/* The HTML part with its links tracked (and the open pixel, with track_opens), as
 * email_links_rewrite writes it: malloc'd, or NULL and why. */
char *email_click_html(struct email *e, const char *channel, const char *message_id, const char *contact,
                       const char *html, int64_t now_ms, char *why, size_t len);
/* Registers GET /c/<token> and GET /o/<token> for the instance. PARLEY_OK, or
 * PARLEY_ERROR. */
enum parley_status email_click_routes(const struct parley_host *host, parley_ctx *ctx, struct email *e);

/* --- email_bounce.c --- */

/* Registers POST /bounces when bounce_secret is set. PARLEY_OK, or PARLEY_ERROR. */
enum parley_status email_bounce_routes(const struct parley_host *host, parley_ctx *ctx, struct email *e);

#endif

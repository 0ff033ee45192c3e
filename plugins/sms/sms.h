/* The sms channel's parts, shared by its files: what a text costs (sms_text.c: GSM-7 or
 * UCS-2, segments, E.164), the opt-out keywords (sms_keyword.c), the signed callback URLs
 * and event ids (sms_token.c), the two dialects (sms_kannel.c: Kannel's sendsms and its
 * get-url MO and DLR callbacks; sms_generic.c: a JSON-over-HTTP provider and its
 * webhooks; each with its callbacks' routes in *_routes.c), what an inbound reply or
 * receipt becomes (sms_inbound.c), the requests to the gateway and their answers
 * (sms_out.c), and the JSON reading both dialects share (sms_json.c). The plugin itself,
 * its settings and its life cycle, is sms.c, the top layer: no file calls back into it.
 * docs/sms.md is the operator's guide. */
#ifndef PARLEY_SMS_H
#define PARLEY_SMS_H
#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

struct sms_send;

/* The instance: its settings (filled by the host from the config spec), what init made
 * of them, and the sends in flight. */
struct sms {
  const struct parley_host *host;
  parley_ctx *ctx;
  const char *dialect;        /* setting: "kannel" or "generic" */
  const char *url;            /* setting, required: sendsms, or the provider's endpoint */
  const char *username;       /* setting, kannel */
  const char *password;       /* setting, SECRET, kannel */
  const char *from;           /* setting, required: E.164 or an alphanumeric sender */
  const char *public_url;     /* setting, required: the daemon's external base URL */
  const char *inbound_secret; /* setting, SECRET, required: callbacks' secret */
  int64_t timeout_ms;         /* setting, DURATION */
  int64_t max_segments;       /* setting: the default limit of a text */
  int64_t dlr_mask;           /* setting, kannel */
  const char *const *stop_words, *const *start_words, *const *help_words; /* settings */
  const char *stop_reply, *start_reply, *help_reply;                     /* settings */
  /* generic dialect */
  const char *api_key;          /* setting, SECRET: {{api_key}} in headers and body */
  const char *const *headers;   /* setting: "Name: value" */
  const char *body;             /* setting: the JSON template */
  const char *id_path, *error_path;                     /* settings: in the answer */
  const char *signature_header, *signature_encoding;    /* settings: inbound */
  const char *timestamp_header;                         /* setting: inbound */
  const char *mo_from_path, *mo_to_path, *mo_text_path, *mo_id_path; /* settings */
  const char *status_path;                              /* setting: in a receipt */
  const char *const *delivered_statuses, *const *failed_statuses; /* settings */
  /* made by init */
  int kannel;                   /* dialect == "kannel" */
  unsigned char dlr_key[32];    /* signs callback URLs, derived from inbound_secret */
  char *base;                   /* public_url without its trailing '/' */
  struct sms_send *list;        /* sends in flight */
  parley_metric *m_sent, *m_segments, *m_refused, *m_inbound, *m_optout;
};

/* --- sms_text.c --- */

enum sms_encoding { SMS_GSM7, SMS_UCS2 };

/* What a text costs on the air. */
struct sms_measure {
  enum sms_encoding encoding;
  size_t characters; /* Unicode code points */
  size_t units;      /* septets (GSM-7, an extension character is 2) or UTF-16 units */
  size_t segments;   /* 0 for an empty text */
};

/* Measures the UTF-8 `text`: GSM-7 when every character is in GSM 03.38's default
 * alphabet or its extension table, else UCS-2; one segment up to 160 septets or 70
 * units, else parts of 153 or 67, never splitting an escape pair or a surrogate pair.
 * 0, or -1 when the text is not valid UTF-8. */
int sms_measure(const char *text, struct sms_measure *m);
const char *sms_encoding_name(enum sms_encoding e); /* "GSM-7", "UCS-2" */
/* 1 when `number` is E.164 as profiles keep it: '+', a non-zero digit, 8 to 15 digits. */
int sms_is_e164(const char *number);
/* 1 when `from` may be a sender: E.164, or 1 to 11 letters, digits and spaces with a
 * letter among them (an alphanumeric sender id). */
int sms_sender_ok(const char *from);

/* --- sms_keyword.c --- */

enum sms_keyword { SMS_KW_NONE, SMS_KW_STOP, SMS_KW_START, SMS_KW_HELP };

/* Which list `text` is a keyword of: the whole text, its surrounding white space and
 * punctuation ignored, compared without regard to case. */
enum sms_keyword sms_keyword_of(const char *text, const char *const *stop, const char *const *start,
                                const char *const *help);

/* --- sms_token.c --- */

#define SMS_TOKEN_SIZE 44 /* base64url of 32 bytes, unpadded, and a NUL */
#define SMS_EVENT_ID_SIZE 64

/* The key that signs callback URLs, from the inbound secret. */
void sms_token_key(const char *secret, unsigned char key[32]);
/* base64url(HMAC-SHA256(key, message "\n" contact "\n" number)) into out. 0, or -1. */
int sms_token_make(const unsigned char key[32], const char *message, const char *contact, const char *number,
                   char out[SMS_TOKEN_SIZE]);
/* 1 when `token` is the token of those three, compared in constant time. */
int sms_token_ok(const unsigned char key[32], const char *message, const char *contact, const char *number,
                 const char *token);
/* "<prefix>:<hex of a hash of the parts>", the same for the same parts: an event id a
 * repeated callback dedupes on. */
void sms_event_id(const char *prefix, const char *a, const char *b, const char *c, char out[SMS_EVENT_ID_SIZE]);
/* 1 when the two strings are equal, compared in constant time (both hashed first). */
int sms_secret_equal(const char *want, const char *got);

/* --- sms_json.c --- */

struct cJSON;
/* The string (or number, as text) at dotted `path` in `doc` ("messages.0.id"); NULL. */
const char *sms_json_path(const struct cJSON *doc, const char *path, char *buf, size_t cap);
/* `tmpl` with {{name}} replaced by the JSON-escaped value of `vars` (names, values,
 * NULL-terminated pairs); an unknown name is refused. malloc'd, or NULL and why. */
char *sms_json_render(const char *tmpl, const char *const *vars, char *why, size_t len);

/* --- sms_kannel.c --- */

/* How one answer of a gateway ends the delivery. */
enum sms_outcome { SMS_ACCEPTED, SMS_RETRY, SMS_CONFIG, SMS_FAILED };

/* What Kannel's sendsms answer (an HTTP status and its body, "0: Accepted for
 * delivery") means; for SMS_FAILED, *reason. */
enum sms_outcome sms_kannel_outcome(int status, const char *body, enum parley_fail_reason *reason);
/* The sendsms URL for one text (dlr_url NULL: no receipt). malloc'd, or NULL. */
char *sms_kannel_url(const struct sms *s, const char *to, const char *text, enum sms_encoding enc,
                     const char *dlr_url);
/* A text in `charset` (Kannel's %C: UTF-8, UTF-16BE for UCS-2, ISO-8859-1...) as UTF-8
 * into out. 0, or -1 when it does not convert or fit. */
int sms_charset_utf8(const char *raw, size_t n, const char *charset, char *out, size_t cap);
/* sms_kannel_routes.c: registers GET /kannel/mo and GET /kannel/dlr. */
enum parley_status sms_kannel_routes(struct sms *s);

/* --- sms_generic.c --- */

/* What a JSON provider's answer means: the provider's id into id (may be empty), the
 * error into detail; for SMS_FAILED, *reason. */
enum sms_outcome sms_generic_outcome(const struct sms *s, int status, const char *body, size_t body_len,
                                     char *id, size_t id_cap, char *detail, size_t detail_cap,
                                     enum parley_fail_reason *reason);
/* The request body for one text: the body template rendered. malloc'd, or NULL and why. */
char *sms_generic_body(const struct sms *s, const char *to, const char *text, const char *message_id,
                       const char *callback_url, char *why, size_t len);
#define SMS_HEADERS_MAX 8 /* the most headers setting lines a request carries */
/* The request's headers ({{api_key}} replaced) into h (room for n), the strings into
 * buf. The count, or -1 and why. */
int sms_generic_headers(const struct sms *s, struct parley_http_header *h, size_t n, char *buf, size_t cap,
                        char *why, size_t len);
/* sms_generic_routes.c: registers POST /inbound and POST /status. */
enum parley_status sms_generic_routes(struct sms *s);

/* --- sms_inbound.c: what both dialects' callbacks become --- */

/* An inbound text, as a dialect read it (strings NUL-terminated, NULL when absent). */
struct sms_mo {
  const char *id, *from, *to, *text;
};
/* A delivery receipt, authenticated: the message, its contact and number, and whether
 * it is final. */
struct sms_dlr {
  const char *message, *contact, *number;
  int delivered, failed; /* neither: an intermediate state, not recorded */
  const char *status, *detail;
};

/* Feeds one MO into Parley (keywords first, then sms.replied for each contact with the
 * number). The HTTP status the gateway should get. */
int sms_inbound_mo(struct sms *s, const char *channel, const struct sms_mo *mo);
/* Feeds one receipt; the HTTP status. */
int sms_inbound_dlr(struct sms *s, const char *channel, const struct sms_dlr *d);
/* Answers a route with a small JSON object {key: value}. */
void sms_answer(struct sms *s, const struct parley_route_req *req, int status, const char *key, const char *value);
/* The callback URL for one message: <public_url>/v1/channels/<channel><path>?r=<the
 * message, contact and number, base64url>&t=<their MAC> then `tail` as it is (only
 * unreserved characters before the tail, so Kannel's %-escapes never meet ours).
 * malloc'd, or NULL. */
char *sms_callback_url(const struct sms *s, const char *channel, const char *path, const char *message,
                       const char *contact, const char *number, const char *tail);
/* The message, contact and number of a callback's query, authenticated, into buf
 * (strings pointing into it). 0, or -1 when absent, malformed or not signed by us. */
int sms_callback_read(const struct sms *s, const char *query, char *buf, size_t cap, const char **message,
                      const char **contact, const char **number);
/* A query parameter's value as a form sends it ('+' a space, %-escapes decoded), malloc'd
 * (curl_free) with its length: it may hold any byte. NULL when absent. */
char *sms_query_raw(const char *query, const char *name, int *len);
/* A query parameter, decoded, into out (cap bytes). 0, or -1 when absent, too long or
 * holding a NUL. */
int sms_query_param(const char *query, const char *name, char *out, size_t cap);

/* --- sms_out.c: the requests to the gateway and their answers --- */

/* Sends a message's text to `to` (dlr: its receipt URL, NULL for none); the answer ends
 * the delivery (send_delivered, send_failed or send_retry). 0, or -1 and why when no
 * request could be made (nothing is left listed then). */
int sms_out_message(struct sms *s, parley_msg *msg, const char *to, const char *text, enum sms_encoding enc,
                    const char *dlr, char *why, size_t len);
/* Sends a text the plugin writes itself (a STOP confirmation, the help text) straight
 * to the gateway, outside any journey and past any suppression: once, logged. */
void sms_direct_send(struct sms *s, const char *channel, const char *to, const char *text, const char *ref);
/* Frees the state of the requests still listed (the host cancelled them at shutdown). */
void sms_out_forget(struct sms *s);

#endif

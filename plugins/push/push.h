/* The push channel's parts, shared by its files: the service account's key and the
 * signed assertion it makes (push_key.c: the key file read and checked, the RS256 JWT of
 * RFC 7523), the OAuth 2.0 access token, cached and refreshed before it expires
 * (push_oauth.c), one FCM HTTP v1 message and what FCM's answer means (push_fcm.c), and
 * one Parley message fanned out to the contact's devices, its outcome gathered and the
 * tokens FCM refused removed (push_fanout.c), and the app's receipts of opens and
 * dismissals (push_receipt.c). The plugin itself, its settings and its life
 * cycle, is push.c, the top layer: no file calls back into it. docs/push.md is the
 * operator's guide.
 *
 * Layers, each calling only those below it: push.c; push_fanout.c; push_oauth.c and
 * push_fcm.c; push_key.c and push_receipt.c. */
#ifndef PARLEY_PUSH_H
#define PARLEY_PUSH_H
#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

struct push_key;
struct push_send;
struct push_waiter;
struct cJSON;

#define PUSH_PAYLOAD_MAX 4096 /* FCM: a message's notification and data, as JSON; APNs: its body */
#define PUSH_SCOPE "https://www.googleapis.com/auth/firebase.messaging"

/* The access token and its request. */
struct push_oauth {
  char *token;              /* the bearer token; NULL: none yet, or dropped */
  int64_t refresh_at_ms;    /* ask for a new one from then on (5 minutes before it expires) */
  int64_t expires_at_ms;    /* past this it is not used */
  parley_http *asking;      /* the token request in flight, or NULL */
  struct push_waiter *waiting, *waiting_tail; /* sends waiting for a token, in order */
  int64_t failed_at_ms;     /* the last refusal of the token endpoint (0: none) */
};

/* The instance: its settings (filled by the host from the config spec), what init made
 * of them, and the sends in flight. */
struct push {
  const struct parley_host *host;
  parley_ctx *ctx;
  const char *service_account; /* setting, SECRET, required: the key file's JSON */
  const char *fcm_url;         /* setting: FCM's base URL */
  int64_t timeout_ms;          /* setting, DURATION: one request */
  const char *priority;        /* setting: android priority, "high" or "normal" */
  int64_t ttl_ms;              /* setting, DURATION: how long FCM keeps an undelivered message */
  const char *receipt_secret;  /* setting, SECRET: signs the receipt tokens (none: no receipts) */
  const char *apns_key;        /* setting, SECRET: the APNs key's .p8 (none: iOS through FCM) */
  const char *apns_key_id, *apns_team_id; /* settings: Apple's ids of the key and the team */
  const char *apns_topic;      /* setting: the app's bundle id, unless the device names its app_id */
  const char *apns_url;        /* setting: APNs's base URL */
  /* made by init */
  struct push_key *key;        /* NULL: no FCM (APNs only) */
  struct push_apns_key *apns;  /* NULL: no APNs */
  char *send_url;              /* <fcm_url>/v1/projects/<project>/messages:send */
  struct push_oauth oauth;
  struct push_send *list;      /* messages in flight */
  parley_metric *m_sent, *m_removed, *m_failed, *m_tokens;
};

/* --- push_key.c --- */

/* Reads the service account key JSON (Google's key file: type "service_account",
 * project_id, client_email, private_key as PKCS#8 PEM, token_uri, private_key_id). 0, or -1
 * and why, which names the field and never holds key material. */
int push_key_read(const char *json, struct push_key **out, char *why, size_t len);
void push_key_free(struct push_key *k);
const char *push_key_project(const struct push_key *k);
const char *push_key_token_uri(const struct push_key *k);
/* The signed JWT assertion (RFC 7523) for `scope`, issued at `now_s`, valid an hour:
 * base64url(header).base64url(claims).base64url(RS256 signature). malloc'd, or NULL. */
char *push_key_assertion(const struct push_key *k, const char *scope, int64_t now_s);
/* base64url without padding of n bytes into a malloc'd string, or NULL. */
char *push_b64url(const void *data, size_t n);
/* A signed JWT: base64url(head_json).base64url(claims_json).`signer`(key, the two joined by
 * a dot), signer returning its signature in base64url (RS256 for Google, ES256 for Apple).
 * malloc'd, or NULL. */
struct evp_pkey_st;
char *push_jwt(const char *head_json, const char *claims_json,
               char *(*signer)(struct evp_pkey_st *key, const char *data), struct evp_pkey_st *key);

/* --- push_receipt.c --- */

/* The receipt token of a message (data.parley_receipt), signed with receipt_secret:
 * malloc'd, or NULL. */
char *push_receipt_token(const struct push *p, const char *msg_id, const char *contact);
/* Adds POST /receipts, where the app reports an open or a dismissal. */
enum parley_status push_receipt_routes(struct push *p);

/* --- push_apns_key.c --- */

struct push_apns_key;
/* The team's .p8 key (EC P-256, PEM) and Apple's key and team ids, checked. 0, or -1 and
 * why (never quoting the key). */
int push_apns_key_read(const char *pem, const char *key_id, const char *team_id, struct push_apns_key **out,
                       char *why, size_t len);
void push_apns_key_free(struct push_apns_key *a);
/* The provider token (an ES256 JWT) for a request at `now_s`: the one in use, or a new one
 * when it is 40 minutes old. Owned by `a`; NULL when none could be made. */
const char *push_apns_jwt(struct push_apns_key *a, int64_t now_s);
/* APNs refused the token (ExpiredProviderToken, InvalidProviderToken): the next request
 * makes a new one, unless this one is under 20 minutes old (Apple refuses renewals more
 * frequent than that). */
void push_apns_jwt_refused(struct push_apns_key *a, int64_t now_s);

/* --- push_oauth.c --- */

typedef void (*push_token_cb)(struct push *p, const char *bearer, const char *error, void *arg);
/* Calls `cb` with "Bearer <token>", at once when one is cached and fresh, else once a token
 * request answers (several waiting sends share one request); with error set instead when
 * it failed. -1 when out of memory (cb never called). */
int push_oauth_get(struct push *p, push_token_cb cb, void *arg);
/* FCM refused the token (401): forget it, so the next send asks for a new one. */
void push_oauth_drop(struct push *p);
/* Forgets every waiter (at shutdown: the host cancelled the request; their args are the
 * caller's to free) and the token, wiped. */
void push_oauth_free(struct push *p);
/* Forgets the waiter whose arg is `arg` (its send is gone). */
void push_oauth_forget(struct push *p, void *arg);

/* --- push_fcm.c --- */

/* What FCM's answer to one device's message means. */
enum push_outcome {
  PUSH_SENT,          /* accepted: id holds FCM's message name */
  PUSH_RETRY,         /* busy or failing now: retry_after_ms from Retry-After (0: none) */
  PUSH_BAD_TOKEN,     /* UNREGISTERED, or INVALID_ARGUMENT on the token, SENDER_ID_MISMATCH:
                         the token is dead, remove it */
  PUSH_REJECTED,      /* the message itself was refused (INVALID_ARGUMENT on the payload) */
  PUSH_AUTH           /* our access token was refused (401): drop it and retry */
};

struct push_answer {
  enum push_outcome outcome;
  uint64_t retry_after_ms;
  char code[48];    /* FCM's errorCode (or status): "UNREGISTERED" */
  char id[129];     /* FCM's message name, when sent */
  char detail[256]; /* for a log line or a dead letter */
};

/* The message's notification, data and android parts as FCM's "message" object, without
 * its token (push_fcm_body adds it): the rendered subject as title, text as body, the
 * journey's options image, link, data (a JSON object of strings), priority, ttl,
 * collapse_key, sound, badge; data.parley_message_id always, and data.parley_receipt with a
 * receipt_secret. NULL and why when an option is wrong or
 * there is nothing to show. */
struct cJSON *push_fcm_message(const struct push *p, const parley_msg *msg, char *why, size_t len);
/* The bytes FCM counts against its 4 KiB: the notification and data parts as JSON. */
size_t push_fcm_payload_size(const struct cJSON *message);
/* {"message": message + token}: the request body, malloc'd, or NULL. */
char *push_fcm_body(const struct cJSON *message, const char *token, const char *platform);
/* What FCM's answer means (status, body, Retry-After header value or NULL). */
void push_fcm_answer(int status, const char *body, size_t body_len, const char *retry_after,
                     struct push_answer *a);

/* --- push_apns.c --- */

/* One message as APNs gets it: the body and the apns-* headers' values. */
struct push_apns_req {
  char *body;             /* {"aps": ..., data...}: malloc'd */
  const char *push_type;  /* "alert", or "background" for a message of data only */
  const char *priority;   /* "10" (high) or "5" */
  char expiration[24];    /* epoch seconds, or "0": now or never */
  char collapse[65];      /* apns-collapse-id, or "" */
  char id[37];            /* apns-id: the message id as a UUID, or "" */
};

/* Says the FCM message `fcm` (push_fcm_message's) as APNs wants it. 0, or -1 and why. */
int push_apns_prepare(const struct cJSON *fcm, const char *msg_id, int64_t now_s, struct push_apns_req *out,
                      char *why, size_t len);
void push_apns_req_free(struct push_apns_req *r);
/* What APNs's answer means (status, body {"reason"}, the apns-id and Retry-After headers). */
void push_apns_answer(int status, const char *body, size_t body_len, const char *apns_id, const char *retry_after,
                      struct push_answer *a);

/* --- push_fanout.c --- */

/* Sends `msg` to every device of its contact (profile.devices): PARLEY_PENDING, or a
 * final status when it ended at once (completed already). */
enum parley_status push_fanout_send(struct push *p, parley_msg *msg);
/* How many of the message's contact's devices the channel reaches (iOS: with an APNs key
 * or FCM; others: with FCM). */
size_t push_fanout_reachable(const struct push *p, const parley_msg *msg);
/* Frees the sends still in flight (at shutdown: the host cancelled their requests). */
void push_fanout_forget(struct push *p);

#endif

/* API tokens with scopes. A token, as its holder sends it:
 *   Authorization: Bearer prl_<id>_<secret>
 * <id> is 12 lowercase hex digits (random, public: it names the token for the lookup);
 * <secret> 32 random bytes in base64url without padding (43 characters). The token is
 * shown once, when made, and never kept: DATA_DIR/auth/tokens (mode 0600, in a folder of
 * mode 0700) holds each token's name, id, scopes, creation time and a BLAKE2b hash of its
 * secret keyed with DATA_DIR/auth/key (32 random bytes, 0600, made at first use).
 *
 * The daemon opens a struct auth and asks auth_check on each request; the tokens file is
 * read again whenever it changed (one stat per check), so a token made or revoked by
 * `parley token` counts from the next request on. The CLI makes, lists and revokes tokens
 * with auth_create, auth_list and auth_revoke: each rewrites the file whole (a temporary
 * file, fsync, rename) under a lock, so two at once cannot lose a token. */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define AUTH_NAME_MAX 64   /* a token's name: 1..64 of [A-Za-z0-9._-] */
#define AUTH_ID_LEN 12     /* hex digits */
#define AUTH_TOKEN_LEN 60  /* "prl_" + id + "_" + 43 base64url characters */
#define AUTH_HEADER_MAX 1024 /* a longer Authorization header is not read */

/* What a token may do: a set of these bits. admin implies none of the others. */
enum auth_scope {
  AUTH_EVENTS_WRITE = 1 << 0,   /* "events:write": POST /v1/events */
  AUTH_CONTACTS_READ = 1 << 1,  /* "contacts:read": GET /v1/contacts/{id} */
  AUTH_CONTACTS_WRITE = 1 << 2, /* "contacts:write" */
  AUTH_METRICS_READ = 1 << 3,   /* "metrics:read": /metrics and /healthz when not public */
  AUTH_ADMIN = 1 << 4,          /* "admin": operator actions (replaying a dead letter) */
  AUTH_AGENT = 1 << 5,          /* "agent": a call-center agent's desk (the token's name is the agent) */
};
#define AUTH_SCOPES_ALL (AUTH_AGENT * 2u - 1)

enum auth_result {
  AUTH_OK,
  AUTH_MISSING,   /* no Authorization header, or not "Bearer <credentials>": 401 */
  AUTH_INVALID,   /* not a token of this daemon (shape, unknown id, wrong secret): 401 */
  AUTH_FORBIDDEN, /* a valid token without the scope asked: 403 */
};

/* What one token is, as listed (the hash stays inside). */
struct auth_entry {
  char name[AUTH_NAME_MAX + 1];
  char id[AUTH_ID_LEN + 1];
  unsigned scopes;   /* enum auth_scope bits */
  char created[32];  /* RFC 3339, UTC */
};

/* ---- names and scopes (auth_token.c) ---- */

/* 1 when `name` may name a token. */
int auth_name_valid(const char *name);
/* Adds the scopes of a comma-separated list ("events:write,contacts:read") to *mask.
 * Returns 0, or -1 with err naming the scope that is not one and listing those that are. */
int auth_scopes_parse(const char *list, unsigned *mask, char *err, size_t errlen);
/* The bit of one scope's name; 0 when it names none. */
unsigned auth_scope_bit(const char *name);
/* The scopes of `mask` as "events:write,admin" in buf ("" for none). */
void auth_scopes_format(unsigned mask, char *buf, size_t cap);
/* Every scope's name, comma-separated, for messages. */
const char *auth_scopes_known(void);

/* ---- the daemon's side (auth.c) ---- */

struct auth;

/* Makes DATA_DIR/auth and its key when they are missing. The tokens file is read at the
 * first check. Returns NULL with err when the folder or the key cannot be made or read. */
struct auth *auth_open(const char *data_dir, char *err, size_t errlen);
/* Where the tokens file's troubles are told (once each; default: stderr at INFO). The
 * log is copied. */
void auth_set_log(struct auth *a, const struct log *log);
void auth_close(struct auth *a);
/* Checks a request's Authorization header (NULL when absent) for `scope` ("events:write",
 * ...; a name that is no scope is refused to every token). *name_out (may be NULL) is the
 * token's name for AUTH_OK and AUTH_FORBIDDEN, NULL otherwise; it stays valid until the
 * next auth_check or auth_close. While the tokens file cannot be read or parsed, every
 * token is AUTH_INVALID. */
enum auth_result auth_check(struct auth *a, const char *authorization, const char *scope,
                            const char **name_out);
/* A message for the client, fixed per result, fit for an error's JSON. */
const char *auth_message(enum auth_result r);
/* The HTTP status (200, 401, 403) and error code ("unauthorized", "forbidden"). */
unsigned auth_http_status(enum auth_result r);
const char *auth_error_code(enum auth_result r);

/* ---- the CLI's side (auth_admin.c) ---- */

/* Makes a token: its text (AUTH_TOKEN_LEN characters and a NUL) in token_out, its hash
 * in the file. `now_ms` is the creation time. -1 with err: a name already taken, a bad
 * name, no scope, the file unreadable or unwritable. */
int auth_create(const char *data_dir, const char *name, unsigned scopes, int64_t now_ms,
                char token_out[AUTH_TOKEN_LEN + 1], char *err, size_t errlen);
/* Every token, oldest first, in *out (free() it; NULL when none). */
int auth_list(const char *data_dir, struct auth_entry **out, size_t *n, char *err, size_t errlen);
/* Removes the token named `name`; its id in id_out (may be NULL). -1 with err when there
 * is none of that name or the file cannot be rewritten. */
int auth_revoke(const char *data_dir, const char *name, char id_out[AUTH_ID_LEN + 1], char *err,
                size_t errlen);

#endif

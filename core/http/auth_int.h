/* Inside the tokens module (auth*.c): a token as kept, the tokens file's text, and the
 * files under DATA_DIR/auth. */
#ifndef PARLEY_AUTH_INT_H
#define PARLEY_AUTH_INT_H
#include <stddef.h>
#include <sys/stat.h>

#include "auth.h"

#define AUTH_KEY_BYTES 32
#define AUTH_SECRET_BYTES 32
#define AUTH_HASH_BYTES 32
#define AUTH_FILE_MAX (4u << 20) /* a larger tokens file is refused */

struct auth_token {
  struct auth_entry e;
  unsigned char hash[AUTH_HASH_BYTES];
};

struct auth_tokens {
  struct auth_token *v;
  size_t n;
};

/* DATA_DIR/auth and the files in it. */
struct auth_paths {
  char dir[4096], key[4200], tokens[4200], lock[4200];
};

/* ---- auth_token.c: a token's text and hash ---- */

/* A new id and secret, from the system's randomness. */
void auth_token_new(char id[AUTH_ID_LEN + 1], unsigned char secret[AUTH_SECRET_BYTES]);
void auth_token_text(const char *id, const unsigned char secret[AUTH_SECRET_BYTES],
                     char out[AUTH_TOKEN_LEN + 1]);
/* Reads "prl_<id>_<secret>" (exactly, nothing around it). 0, or -1 when it is not one. */
int auth_token_parse(const char *text, size_t len, char id[AUTH_ID_LEN + 1],
                     unsigned char secret[AUTH_SECRET_BYTES]);
void auth_token_hash(const unsigned char key[AUTH_KEY_BYTES], const unsigned char secret[AUTH_SECRET_BYTES],
                     unsigned char out[AUTH_HASH_BYTES]);
/* The name of one scope bit ("events:write"); NULL for no scope. */
const char *auth_scope_name(unsigned bit);
/* 1 when id is AUTH_ID_LEN lowercase hex digits. */
int auth_id_valid(const char *id);

/* ---- auth_file.c: the tokens file's text ---- */

/* Parses the whole document, every field checked. -1 with err (without the path). */
int auth_tokens_parse(const char *text, struct auth_tokens *out, char *err, size_t errlen);
/* The document for `t`; NULL out of memory. free() it. */
char *auth_tokens_print(const struct auth_tokens *t);
/* Reads and parses the file at `path`, filling *sig with the fstat of what was read.
 * 1 when read, 0 when there is no file (no tokens), -1 with err naming the path. */
int auth_tokens_read(const char *path, struct auth_tokens *out, struct stat *sig, char *err,
                     size_t errlen);
struct auth_token *auth_tokens_find(const struct auth_tokens *t, const char *name);
void auth_tokens_free(struct auth_tokens *t);

/* ---- auth_disk.c: the folder, the key, the lock, atomic writes ---- */

int auth_paths_make(const char *data_dir, struct auth_paths *p, char *err, size_t errlen);
/* Makes data_dir (0750) and its auth folder (0700) when missing. */
int auth_dir_make(const char *data_dir, const struct auth_paths *p, char *err, size_t errlen);
/* Takes the folder's lock (blocking): an fd to give auth_unlock, or -1 with err. */
int auth_lock(const struct auth_paths *p, char *err, size_t errlen);
void auth_unlock(int fd);
/* Reads the key, making it first when there is none. Call it holding the lock, so two
 * first uses cannot each make one. */
int auth_key_make(const struct auth_paths *p, unsigned char key[AUTH_KEY_BYTES], char *err, size_t errlen);
/* Reads the key; -1 with err when it is missing or not 32 bytes. */
int auth_key_read(const struct auth_paths *p, unsigned char key[AUTH_KEY_BYTES], char *err, size_t errlen);
/* Replaces `path` by `len` bytes of `data`, mode 0600: a temporary file beside it,
 * fsync, rename, fsync of the folder. Whoever reads the path sees the old or the new
 * file whole. */
int auth_write_atomic(const char *dir, const char *path, const char *data, size_t len, char *err,
                      size_t errlen);

#endif

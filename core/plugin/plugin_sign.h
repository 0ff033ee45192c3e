/* Plugin signatures (Ed25519, libsodium). A signature is a detached signature of the
 * plugin file's bytes, kept beside it as FILE.so.sig (hex). When the configuration names
 * trusted keys (`plugin_keys`), the loader refuses a plugin without a valid signature by
 * one of them, before dlopen runs any of its code. */
#ifndef PARLEY_PLUGIN_SIGN_H
#define PARLEY_PLUGIN_SIGN_H
#include <sodium.h>
#include <stddef.h>

typedef unsigned char plugin_pubkey[crypto_sign_PUBLICKEYBYTES];

/* Writes DIR/parley-plugin.key (secret, mode 0600) and DIR/parley-plugin.pub. */
int plugin_keygen(const char *dir, char *err, size_t errlen);
/* Signs `path` with the secret key in `keyfile`: writes `path`.sig. */
int plugin_sign_file(const char *path, const char *keyfile, char *err, size_t errlen);
/* 0 when `path`.sig is a valid signature of `path` by one of `keys`; else -1 and why. */
int plugin_verify_file(const char *path, const plugin_pubkey *keys, size_t n_keys, char *err,
                       size_t errlen);
/* The same for the file open at `fd` (the loader then dlopens that very file, so nothing
 * can be swapped in between the check and the load). */
int plugin_verify_fd(int fd, const char *path, const plugin_pubkey *keys, size_t n_keys, char *err,
                     size_t errlen);
/* A public key from its 64 hex digits. */
int plugin_pubkey_parse(const char *hex, plugin_pubkey out);

#endif

/* Plugin signatures: keygen, sign, verify (see plugin_sign.h). */
#include "plugin_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define PLUGIN_MAX_FILE (256u << 20) /* a plugin larger than this is refused */

/* Writes `text` to a new file of mode `mode` (an existing one is refused: keys are not
 * overwritten by accident). */
static int write_new(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  size_t n = strlen(text);
  int ok = write(fd, text, n) == (ssize_t)n;
  close(fd);
  if (!ok)
    snprintf(err, errlen, "%s: short write", path);
  return ok ? 0 : -1;
}

int plugin_pubkey_parse(const char *hex, plugin_pubkey out)
{
  size_t n;
  return strlen(hex) == 2 * crypto_sign_PUBLICKEYBYTES &&
                 sodium_hex2bin(out, crypto_sign_PUBLICKEYBYTES, hex, strlen(hex), NULL, &n, NULL) == 0 &&
                 n == crypto_sign_PUBLICKEYBYTES
             ? 0
             : -1;
}

int plugin_keygen(const char *dir, char *err, size_t errlen)
{
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  char skhex[2 * crypto_sign_SECRETKEYBYTES + 2], pkhex[2 * crypto_sign_PUBLICKEYBYTES + 2], path[4096];
  if (sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0) {
    snprintf(err, errlen, "libsodium cannot make a key pair");
    return -1;
  }
  sodium_bin2hex(skhex, sizeof skhex - 1, sk, sizeof sk);
  sodium_bin2hex(pkhex, sizeof pkhex - 1, pk, sizeof pk);
  sodium_memzero(sk, sizeof sk);
  strcat(skhex, "\n");
  strcat(pkhex, "\n");
  snprintf(path, sizeof path, "%s/parley-plugin.key", dir);
  int rc = write_new(path, skhex, 0600, err, errlen);
  sodium_memzero(skhex, sizeof skhex);
  if (rc == 0) {
    snprintf(path, sizeof path, "%s/parley-plugin.pub", dir);
    rc = write_new(path, pkhex, 0644, err, errlen);
  }
  return rc;
}

int plugin_sign_file(const char *path, const char *keyfile, char *err, size_t errlen)
{
  size_t klen = 0, flen = 0, n = 0;
  unsigned char sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
  char sighex[2 * crypto_sign_BYTES + 2], sigpath[4096];
  unsigned char *key = (unsigned char *)util_read_file(keyfile, 1024, &klen, err, errlen);
  if (!key)
    return -1;
  int ok = sodium_hex2bin(sk, sizeof sk, (const char *)key, klen, "\n", &n, NULL) == 0 && n == sizeof sk;
  sodium_memzero(key, klen);
  free(key);
  if (!ok) {
    snprintf(err, errlen, "%s: not a Parley plugin signing key (parley keygen makes one)", keyfile);
    return -1;
  }
  unsigned char *file = (unsigned char *)util_read_file(path, PLUGIN_MAX_FILE, &flen, err, errlen);
  if (!file) {
    sodium_memzero(sk, sizeof sk);
    return -1;
  }
  crypto_sign_detached(sig, NULL, file, flen, sk);
  sodium_memzero(sk, sizeof sk);
  free(file);
  sodium_bin2hex(sighex, sizeof sighex - 1, sig, sizeof sig);
  strcat(sighex, "\n");
  snprintf(sigpath, sizeof sigpath, "%s.sig", path);
  unlink(sigpath); /* re-signing replaces the old signature */
  return write_new(sigpath, sighex, 0644, err, errlen);
}

/* The whole of an open file, from its start, bounded; NULL with err. */
static unsigned char *read_fd(int fd, const char *path, size_t *len, char *err, size_t errlen)
{
  struct stat st;
  if (fstat(fd, &st) < 0 || (size_t)st.st_size > PLUGIN_MAX_FILE) {
    snprintf(err, errlen, "%s: too large, or cannot be read", path);
    return NULL;
  }
  unsigned char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  if (!buf || got != (size_t)st.st_size) {
    snprintf(err, errlen, "%s: cannot be read", path);
    free(buf);
    return NULL;
  }
  *len = got;
  return buf;
}

int plugin_verify_file(const char *path, const plugin_pubkey *keys, size_t n_keys, char *err,
                       size_t errlen)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  int rc = plugin_verify_fd(fd, path, keys, n_keys, err, errlen);
  close(fd);
  return rc;
}

int plugin_verify_fd(int fd, const char *path, const plugin_pubkey *keys, size_t n_keys, char *err,
                     size_t errlen)
{
  char sigpath[4096];
  size_t slen = 0, flen = 0, n = 0;
  unsigned char sig[crypto_sign_BYTES];
  snprintf(sigpath, sizeof sigpath, "%s.sig", path);
  unsigned char *hex = (unsigned char *)util_read_file(sigpath, 1024, &slen, err, errlen);
  if (!hex) {
    snprintf(err, errlen, "no signature (%s.sig): plugin_keys requires signed plugins", path);
    return -1;
  }
  int ok = sodium_hex2bin(sig, sizeof sig, (const char *)hex, slen, "\n", &n, NULL) == 0 && n == sizeof sig;
  free(hex);
  if (!ok) {
    snprintf(err, errlen, "%s.sig is not a signature", path);
    return -1;
  }
  unsigned char *file = read_fd(fd, path, &flen, err, errlen);
  if (!file)
    return -1;
  int good = 0;
  for (size_t i = 0; i < n_keys && !good; i++) /* libsodium compares in constant time */
    good = crypto_sign_verify_detached(sig, file, flen, keys[i]) == 0;
  free(file);
  if (!good)
    snprintf(err, errlen, "bad signature: not signed by a trusted key, or changed since it was signed");
  return good ? 0 : -1;
}

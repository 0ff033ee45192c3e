/* SECRET settings (PARLEY_CONFIG_SECRET in parley/plugin.h): the value is read from the
 * file or the environment variable the configuration names, never from the configuration
 * itself, so a config file can be shown, diffed and committed without leaking anything.
 * Every buffer that held the value is wiped before it is freed. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_int.h"

#define SECRET_MAX_BYTES (64 * 1024)

/* An exact-size copy of buf[0..n) with one trailing newline dropped; NULL with a reason. */
static char *finish(const char *buf, size_t n, const char *from, char *why, size_t whylen)
{
  if (n > 0 && buf[n - 1] == '\n')
    n--;
  if (n > 0 && buf[n - 1] == '\r')
    n--;
  if (n == 0) {
    snprintf(why, whylen, "%s, which is empty", from);
    return NULL;
  }
  if (memchr(buf, '\0', n)) {
    snprintf(why, whylen, "%s, which holds a NUL byte", from);
    return NULL;
  }
  char *v = malloc(n + 1);
  if (v == NULL) {
    snprintf(why, whylen, "out of memory");
    return NULL;
  }
  memcpy(v, buf, n);
  v[n] = '\0';
  return v;
}

/* Reads at most SECRET_MAX_BYTES + 1 bytes, so a file too large is told apart. */
static char *read_file(const char *path, char *why, size_t whylen)
{
  char from[300];
  snprintf(from, sizeof from, "is read from the file %s", path);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(why, whylen, "is read from the file %s, which cannot be read: %s", path,
             fd < 0 ? strerror(errno) : "not a regular file");
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  char *buf = malloc(SECRET_MAX_BYTES + 1);
  size_t n = 0;
  ssize_t got = 1;
  while (buf && n <= SECRET_MAX_BYTES && got > 0) {
    got = read(fd, buf + n, SECRET_MAX_BYTES + 1 - n);
    if (got < 0 && errno == EINTR)
      got = 1;
    else if (got > 0)
      n += (size_t)got;
  }
  int err = errno;
  close(fd);
  char *v = NULL;
  if (buf == NULL)
    snprintf(why, whylen, "out of memory");
  else if (got < 0)
    snprintf(why, whylen, "is read from the file %s, which cannot be read: %s", path, strerror(err));
  else if (n > SECRET_MAX_BYTES)
    snprintf(why, whylen, "is read from the file %s, which is larger than %d bytes", path, SECRET_MAX_BYTES);
  else
    v = finish(buf, n, from, why, whylen);
  if (buf)
    sodium_memzero(buf, SECRET_MAX_BYTES + 1);
  free(buf);
  return v;
}

static char *read_env(const char *name, char *why, size_t whylen)
{
  const char *v = getenv(name);
  char from[300];
  snprintf(from, sizeof from, "is read from the environment variable %s", name);
  if (v == NULL) {
    snprintf(why, whylen, "is read from the environment variable %s, which is not set", name);
    return NULL;
  }
  return finish(v, strlen(v), from, why, whylen);
}

/* `v` is the setting as configured: { file = "..." } or { env = "..." }, nothing else. */
char *plugin_secret_read(const cJSON *v, char *why, size_t whylen)
{
  if (cJSON_IsString(v)) {
    snprintf(why, whylen, "is a secret and cannot be written in the configuration: give "
             "{ file = \"/path/to/file\" } or { env = \"VARIABLE\" } instead");
    return NULL;
  }
  const cJSON *file = cJSON_GetObjectItemCaseSensitive(v, "file");
  const cJSON *env = cJSON_GetObjectItemCaseSensitive(v, "env");
  if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) != 1 || (file == NULL) == (env == NULL)) {
    snprintf(why, whylen, "is a secret: it must be { file = \"/path/to/file\" } or { env = \"VARIABLE\" }");
    return NULL;
  }
  const cJSON *src = file ? file : env;
  if (!cJSON_IsString(src) || src->valuestring[0] == '\0') {
    snprintf(why, whylen, "is a secret whose '%s' must be a non-empty string", file ? "file" : "env");
    return NULL;
  }
  return file ? read_file(src->valuestring, why, whylen) : read_env(src->valuestring, why, whylen);
}

void plugin_secret_free(char *secret)
{
  if (secret) {
    sodium_memzero(secret, strlen(secret));
    free(secret);
  }
}

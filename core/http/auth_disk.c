/* The files under DATA_DIR/auth: the folder (0700), the key (0600, made once), the lock
 * that orders writers, and the atomic rewrite every change goes through. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_int.h"

int auth_paths_make(const char *data_dir, struct auth_paths *p, char *err, size_t errlen)
{
  int n = snprintf(p->dir, sizeof p->dir, "%s/auth", data_dir);
  if (!*data_dir || n < 0 || (size_t)n >= sizeof p->dir) {
    snprintf(err, errlen, "data_dir '%.200s' is empty or too long", data_dir);
    return -1;
  }
  snprintf(p->key, sizeof p->key, "%s/key", p->dir);
  snprintf(p->tokens, sizeof p->tokens, "%s/tokens", p->dir);
  snprintf(p->lock, sizeof p->lock, "%s/lock", p->dir);
  return 0;
}

/* data_dir may not exist yet: a token can be made before the daemon first starts. */
static int make_parents(const char *path, char *err, size_t errlen)
{
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    if (mkdir(buf, 0750) < 0 && errno != EEXIST) {
      snprintf(err, errlen, "%s: %s", buf, strerror(errno));
      return -1;
    }
    if (!(*p = c))
      return 0;
  }
}

/* The folder holds the key: whoever could list or read it could forge nothing, but
 * should learn nothing either, so it is 0700 even when it was made otherwise. */
int auth_dir_make(const char *data_dir, const struct auth_paths *p, char *err, size_t errlen)
{
  struct stat sb;
  if (make_parents(data_dir, err, errlen) < 0)
    return -1;
  if (mkdir(p->dir, 0700) < 0 && errno != EEXIST) {
    snprintf(err, errlen, "%s: %s", p->dir, strerror(errno));
    return -1;
  }
  if (stat(p->dir, &sb) < 0) {
    snprintf(err, errlen, "%s: %s", p->dir, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(sb.st_mode)) {
    snprintf(err, errlen, "%s: not a folder", p->dir);
    return -1;
  }
  if ((sb.st_mode & 077) && chmod(p->dir, 0700) < 0) {
    snprintf(err, errlen, "%s: chmod 0700: %s", p->dir, strerror(errno));
    return -1;
  }
  return 0;
}

int auth_lock(const struct auth_paths *p, char *err, size_t errlen)
{
  int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", p->lock, strerror(errno));
    return -1;
  }
  while (flock(fd, LOCK_EX) < 0) {
    if (errno != EINTR) {
      snprintf(err, errlen, "%s: flock: %s", p->lock, strerror(errno));
      close(fd);
      return -1;
    }
  }
  return fd;
}

void auth_unlock(int fd)
{
  if (fd >= 0)
    close(fd); /* releases the flock */
}

/* 0 read, 1 no key yet, -1 with err. */
static int read_key(const char *path, unsigned char key[AUTH_KEY_BYTES], char *err, size_t errlen)
{
  unsigned char buf[AUTH_KEY_BYTES + 1];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 1;
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  ssize_t n = read(fd, buf, sizeof buf);
  int e = errno;
  close(fd);
  if (n != AUTH_KEY_BYTES) {
    snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(e) : "not a key (32 bytes)");
    sodium_memzero(buf, sizeof buf);
    return -1;
  }
  memcpy(key, buf, AUTH_KEY_BYTES);
  sodium_memzero(buf, sizeof buf);
  return 0;
}

int auth_key_read(const struct auth_paths *p, unsigned char key[AUTH_KEY_BYTES], char *err, size_t errlen)
{
  int rc = read_key(p->key, key, err, errlen);
  if (rc == 1)
    snprintf(err, errlen, "%s: missing (the tokens' hashes cannot be checked without it)", p->key);
  return rc == 0 ? 0 : -1;
}

int auth_key_make(const struct auth_paths *p, unsigned char key[AUTH_KEY_BYTES], char *err, size_t errlen)
{
  int rc = read_key(p->key, key, err, errlen);
  if (rc == 1) {
    randombytes_buf(key, AUTH_KEY_BYTES);
    rc = auth_write_atomic(p->dir, p->key, (const char *)key, AUTH_KEY_BYTES, err, errlen);
  }
  return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The rename is durable only once the folder's entry is on disk too. */
static int sync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

int auth_write_atomic(const char *dir, const char *path, const char *data, size_t len, char *err,
                      size_t errlen)
{
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  unlink(tmp); /* left by a writer that died; writers hold the lock */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    return -1;
  }
  int bad = fchmod(fd, 0600) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0;
  int e = errno;
  if (close(fd) < 0 && !bad) {
    bad = 1;
    e = errno;
  }
  if (bad || rename(tmp, path) < 0) {
    snprintf(err, errlen, "%s: %s", bad ? tmp : path, strerror(bad ? e : errno));
    unlink(tmp);
    return -1;
  }
  if (sync_dir(dir) < 0) {
    snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
    return -1;
  }
  return 0;
}

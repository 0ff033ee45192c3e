/* See util.h. */
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads up to max + 1 bytes in growing chunks, so an over-size file is known without
 * trusting a size that may change under us (or that a pipe does not have). */
char *util_read_stream(FILE *f, const char *name, size_t max, size_t *len, char *err,
                       size_t errlen)
{
  struct buf b = {0};
  char chunk[16384];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + n > max) {
      snprintf(err, errlen, "%s: too large (limit %zu bytes)", name, max);
      buf_free(&b);
      return NULL;
    }
    if (buf_add(&b, chunk, n) < 0) {
      snprintf(err, errlen, "%s: out of memory", name);
      buf_free(&b);
      return NULL;
    }
  }
  if (ferror(f)) {
    snprintf(err, errlen, "%s: %s", name, strerror(errno));
    buf_free(&b);
    return NULL;
  }
  if (b.p == NULL && buf_add(&b, "", 0) < 0) { /* an empty file is an empty string */
    snprintf(err, errlen, "%s: out of memory", name);
    return NULL;
  }
  return buf_take(&b, len);
}

char *util_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *s = util_read_stream(f, path, max, len, err, errlen);
  fclose(f);
  return s;
}

int buf_add(struct buf *b, const void *data, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
      return -1;
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

char *buf_take(struct buf *b, size_t *len)
{
  char *p = b->p;
  if (len)
    *len = b->len;
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

void buf_free(struct buf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

int util_cmp_strp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int util_cmp_name_key(const void *key, const void *elem)
{
  return strcmp(key, *(const char *const *)elem);
}

int util_cmp_name(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Small helpers written once for the whole daemon: bounded whole-file reads, a growable
 * byte buffer, and comparators for sorting and searching by name. No state. */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H
#include <stddef.h>
#include <stdio.h>

/* The whole file at `path`, NUL-terminated (the NUL is not counted in *len). A file
 * larger than `max` bytes is refused rather than truncated. NULL with err naming the path
 * and the reason ("too large (limit N bytes)", strerror, out of memory). */
char *util_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen);
/* The same from an open stream (stdin, say), read to its end; `name` is for messages. */
char *util_read_stream(FILE *f, const char *name, size_t max, size_t *len, char *err,
                       size_t errlen);

/* A growable byte buffer, always NUL-terminated once anything is added. Zero it to start;
 * buf_free to end. */
struct buf {
  char *p;
  size_t len, cap;
};
/* Appends n bytes. Returns 0, or -1 out of memory (the buffer is unchanged). */
int buf_add(struct buf *b, const void *data, size_t n);
/* Hands the bytes over (the caller frees them) and empties the buffer. */
char *buf_take(struct buf *b, size_t *len);
void buf_free(struct buf *b);

/* qsort comparator for an array of C strings (char *). */
int util_cmp_strp(const void *a, const void *b);
/* bsearch comparator: the key is a C string, each element a struct whose FIRST member is
 * its name (a char * or const char *). */
int util_cmp_name_key(const void *key, const void *elem);
/* qsort comparator for such structs. */
int util_cmp_name(const void *a, const void *b);

#endif

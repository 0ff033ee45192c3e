/* A journey version's files as one value, so the store can pin all of them: the journey
 * file, every module it required from the journeys folder and every template. Loading from
 * disk gathers them (lhost_files_add) and packs the bundle; loading a stored version
 * unpacks one, and then nothing of the version is read from disk. SDK modules (parley.*)
 * are Parley's own and are never part of it.
 *
 * The bundle is a MessagePack map, written in one order so that the same files always
 * make the same bytes (the registry compares bytes to tell a new version):
 *   { "parley.bundle": 1, "journey": <bin>,
 *     "modules": { "lib/util.lua": <bin>, ... }, "templates": { "welcome.html": <bin>, ... } }
 * A text file never starts with a MessagePack map: that tells a bundle from the bare
 * journey text that stores written before bundles hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_int.h"
#include "mpcheck.h"
#include "util.h"

#define BUNDLE_MAGIC "parley.bundle"
#define BUNDLE_FORMAT 1

/* Adds a file, taking `data` (malloc'd) over. Returns 0, or -1 out of memory (data freed). */
int lhost_files_add(struct lhost_files *fs, const char *name, char *data, size_t len)
{
  struct lhost_file *v = realloc(fs->v, (fs->n + 1) * sizeof *v);
  char *copy = v ? strdup(name) : NULL;
  if (v)
    fs->v = v;
  if (copy == NULL) {
    free(data);
    return -1;
  }
  fs->v[fs->n++] = (struct lhost_file){copy, data, len};
  return 0;
}

const struct lhost_file *lhost_files_find(const struct lhost_files *fs, const char *name)
{
  for (size_t i = 0; i < fs->n; i++)
    if (strcmp(fs->v[i].name, name) == 0)
      return &fs->v[i];
  return NULL;
}

void lhost_files_free(struct lhost_files *fs)
{
  for (size_t i = 0; i < fs->n; i++) {
    free(fs->v[i].name);
    free(fs->v[i].data);
  }
  free(fs->v);
  fs->v = NULL;
  fs->n = 0;
}

static int pack_str(msgpack_packer *pk, const char *s)
{
  size_t n = strlen(s);
  return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_bin(msgpack_packer *pk, const char *data, size_t len)
{
  return msgpack_pack_bin(pk, len) || msgpack_pack_bin_body(pk, data, len);
}

/* Sorted by name first: the order they were read in is no part of the version. */
static int pack_files(msgpack_packer *pk, const char *key, struct lhost_files *fs)
{
  if (fs->n > 1)
    qsort(fs->v, fs->n, sizeof *fs->v, util_cmp_name);
  if (pack_str(pk, key) || msgpack_pack_map(pk, fs->n))
    return -1;
  for (size_t i = 0; i < fs->n; i++)
    if (pack_str(pk, fs->v[i].name) || pack_bin(pk, fs->v[i].data, fs->v[i].len))
      return -1;
  return 0;
}

/* j->bundle from what the load read: the journey's text, its modules, its templates. */
int lhost_bundle_pack(struct journey *j, char *err, size_t errlen)
{
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (msgpack_pack_map(&pk, 4) || pack_str(&pk, BUNDLE_MAGIC) ||
      msgpack_pack_int(&pk, BUNDLE_FORMAT) || pack_str(&pk, "journey") ||
      pack_bin(&pk, j->source, j->source_len) || pack_files(&pk, "modules", &j->modules) ||
      pack_files(&pk, "templates", &j->templates)) {
    msgpack_sbuffer_destroy(&sb);
    snprintf(err, errlen, "%s: out of memory", j->file);
    return -1;
  }
  j->bundle_len = sb.size;
  j->bundle = msgpack_sbuffer_release(&sb);
  return 0;
}

static int key_is(const msgpack_object_kv *kv, const char *key)
{
  size_t n = strlen(key);
  return kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == n &&
         memcmp(kv->key.via.str.ptr, key, n) == 0;
}

/* A string or bin value, copied NUL-terminated. NULL when it is neither, or out of memory. */
static char *bytes_of(const msgpack_object *o, size_t *len)
{
  const char *p;
  if (o->type == MSGPACK_OBJECT_BIN)
    p = o->via.bin.ptr, *len = o->via.bin.size;
  else if (o->type == MSGPACK_OBJECT_STR)
    p = o->via.str.ptr, *len = o->via.str.size;
  else
    return NULL;
  char *d = malloc(*len + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, p, *len);
  d[*len] = '\0';
  return d;
}

static int unpack_files(const msgpack_object *map, struct lhost_files *fs)
{
  if (map->type != MSGPACK_OBJECT_MAP)
    return -1;
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object_kv *kv = &map->via.map.ptr[i];
    char name[1024];
    size_t len;
    if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size >= sizeof name)
      return -1;
    snprintf(name, sizeof name, "%.*s", (int)kv->key.via.str.size, kv->key.via.str.ptr);
    char *data = bytes_of(&kv->val, &len);
    if (data == NULL || lhost_files_add(fs, name, data, len) < 0)
      return -1;
  }
  return 0;
}

/* The root map, its four keys in the order lhost_bundle_pack writes them. */
static int unpack_fields(struct journey *j, const msgpack_object *root)
{
  if (root->type != MSGPACK_OBJECT_MAP || root->via.map.size != 4)
    return -1;
  const msgpack_object_kv *kv = root->via.map.ptr;
  if (!key_is(&kv[0], BUNDLE_MAGIC) || kv[0].val.type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
      kv[0].val.via.u64 != BUNDLE_FORMAT || !key_is(&kv[1], "journey") ||
      !key_is(&kv[2], "modules") || !key_is(&kv[3], "templates"))
    return -1;
  if ((j->source = bytes_of(&kv[1].val, &j->source_len)) == NULL)
    return -1;
  return unpack_files(&kv[2].val, &j->modules) < 0 || unpack_files(&kv[3].val, &j->templates) < 0
             ? -1 : 0;
}

/* Text never starts with a MessagePack map header (bytes that begin no UTF-8 character, or
 * begin a letter Lua does not take at the start of a file): a stored value that does is a
 * bundle. */
int lhost_is_bundle(const char *bytes, size_t len)
{
  unsigned char c = len ? (unsigned char)bytes[0] : 0;
  return (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf;
}

/* Fills j->source, j->modules and j->templates from a stored bundle. Returns 1 (j->pinned
 * is set), 0 when the value is not a bundle (bare journey text, as stores written before
 * bundles hold: nothing is filled), or -1 with err for a damaged bundle. */
int lhost_bundle_unpack(struct journey *j, const char *bytes, size_t len, char *err,
                        size_t errlen)
{
  msgpack_unpacked u;
  size_t off = 0;
  if (!lhost_is_bundle(bytes, len))
    return 0;
  msgpack_unpacked_init(&u);
  int ok = mpcheck_plausible(bytes, len) &&
           msgpack_unpack_next(&u, bytes, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len &&
           unpack_fields(j, &u.data) == 0;
  msgpack_unpacked_destroy(&u);
  if (!ok) {
    snprintf(err, errlen, "%s: the stored version is damaged (its bundle of files cannot be "
                          "read)", j->file);
    return -1;
  }
  j->pinned = 1;
  return 1;
}

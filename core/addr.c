/* See addr.h. A key is "attribute \x1f value \x1f contact id": a prefix scan of
 * "attribute \x1f value \x1f" lists the contacts holding that value. E-mail addresses are
 * keyed in lower case (mailbox case is the domain's business, and no one types it right);
 * other values as stored. */
#include "addr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"

#define SEP '\x1f'
#define KEY_MAX 500 /* within LMDB's 511-byte keys */
#define REINDEX_BATCH 1000
#define FIND_MAX 1000 /* contacts one address answers for; more are not told */

/* The distinct address attributes of the configured channels, in configuration order. */
static size_t indexed_attrs(const struct core *core, const char *out[ADDR_ATTRS_MAX])
{
  size_t n = 0;
  for (size_t i = 0; i < core->cfg->n_channels; i++) {
    const char *a = core->cfg->channels[i].address_attr;
    size_t k = 0;
    while (k < n && strcmp(out[k], a) != 0)
      k++;
    if (k == n && n < ADDR_ATTRS_MAX)
      out[n++] = a;
  }
  return n;
}

/* The key's prefix for `attr` = `value` into buf; its length, or 0 when it does not fit
 * (such a value, hundreds of bytes long, is not an address anyone sends from). */
static size_t key_prefix(const char *attr, const char *value, char *buf, size_t len)
{
  int n = snprintf(buf, len, "%s%c%s%c", attr, SEP, value, SEP);
  if (n < 0 || (size_t)n >= len || (size_t)n > KEY_MAX - 64 || strchr(value, SEP))
    return 0;
  if (strcmp(attr, "email") == 0)
    for (char *p = buf + strlen(attr) + 1; *p != SEP; p++)
      *p = (char)tolower((unsigned char)*p);
  return (size_t)n;
}

static void key_op(struct core *core, const char *attr, const char *value, const char *id, int put)
{
  char key[KEY_MAX + 16];
  size_t n = key_prefix(attr, value, key, sizeof key);
  size_t idlen = strlen(id);
  if (n == 0 || n + idlen > KEY_MAX)
    return;
  memcpy(key + n, id, idlen);
  struct store *st = core->store;
  if (put)
    st->ops->index_put(st, key, n + idlen);
  else
    st->ops->index_del(st, key, n + idlen);
}

static const char *text_of(const cJSON *profile, const char *attr)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(profile, attr);
  return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

void addr_snap_take(const struct core *core, const cJSON *profile, const cJSON *changes,
                    struct addr_snap *snap)
{
  const char *attrs[ADDR_ATTRS_MAX];
  size_t n = indexed_attrs(core, attrs);
  snap->n = 0;
  for (size_t i = 0; i < n; i++) {
    if (changes && !cJSON_GetObjectItemCaseSensitive(changes, attrs[i]))
      continue;
    const char *v = text_of(profile, attrs[i]);
    snap->attr[snap->n] = attrs[i];
    snap->value[snap->n++] = v ? strdup(v) : NULL;
  }
}

void addr_snap_apply(struct core *core, const char *id, struct addr_snap *snap, const cJSON *profile)
{
  for (size_t i = 0; i < snap->n; i++) {
    const char *now = text_of(profile, snap->attr[i]), *was = snap->value[i];
    if (!(now && was && strcmp(now, was) == 0)) {
      if (was)
        key_op(core, snap->attr[i], was, id, 0);
      if (now)
        key_op(core, snap->attr[i], now, id, 1);
    }
    free(snap->value[i]);
  }
  snap->n = 0;
}

void addr_forget(struct core *core, const char *id, const cJSON *profile)
{
  struct addr_snap snap;
  addr_snap_take(core, profile, NULL, &snap);
  addr_snap_apply(core, id, &snap, NULL);
}

/* Keys gathered by a scan, in batches: the store's cursor is closed before anything is
 * done with them (a callback, a delete). */
struct keys {
  size_t skip; /* the prefix, left out of what is kept */
  int contacts_only; /* pass over keys that are not the contact index's */
  size_t n;
  char *v[FIND_MAX];
};

static int gather(void *ud, const void *key, size_t len)
{
  struct keys *k = ud;
  if (k->n == FIND_MAX)
    return 1;
  if (k->contacts_only && len > 0 && *(const char *)key == ADDR_OTHER_PREFIX)
    return 0;
  k->v[k->n] = strndup((const char *)key + k->skip, len - k->skip);
  return k->v[k->n] ? (k->n++, 0) : 1;
}

static void keys_free(struct keys *k)
{
  for (size_t i = 0; i < k->n; i++)
    free(k->v[i]);
  k->n = 0;
}

int addr_find(struct core *core, const char *attr, const char *value,
              void (*each)(void *arg, const char *id), void *arg, char *err, size_t errlen)
{
  const char *attrs[ADDR_ATTRS_MAX];
  size_t n = indexed_attrs(core, attrs), i = 0;
  while (i < n && strcmp(attrs[i], attr) != 0)
    i++;
  if (i == n) {
    snprintf(err, errlen, "'%s' is not the address attribute of a configured channel", attr);
    return -1;
  }
  char prefix[KEY_MAX + 16];
  struct keys *k = calloc(1, sizeof *k);
  if (!k) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  k->skip = key_prefix(attr, value, prefix, sizeof prefix);
  int r = k->skip ? core->store->ops->index_scan(core->store, prefix, k->skip, gather, k) : 0;
  if (r < 0)
    snprintf(err, errlen, "the store could not read the contact index");
  for (size_t j = 0; r >= 0 && j < k->n; j++)
    each(arg, k->v[j]);
  r = r < 0 ? r : (int)k->n;
  keys_free(k);
  free(k);
  return r;
}

/* Removes every key of the contact index, a batch at a time; the other keys stay. */
static int index_clear(struct core *core)
{
  struct store *st = core->store;
  struct keys *k = calloc(1, sizeof *k);
  int r = k ? 0 : -1;
  if (k)
    k->contacts_only = 1;
  while (r == 0 && st->ops->index_scan(st, "", 0, gather, k) > 0 && k->n > 0) {
    for (size_t i = 0; i < k->n && r == 0; i++)
      r = st->ops->index_del(st, k->v[i], strlen(k->v[i]));
    keys_free(k);
  }
  free(k);
  return r;
}

/* Every contact's keys, from the retention walk: the rest of the pass it is in, then a
 * whole one (a contact seen twice is indexed twice, which changes nothing). */
static int index_all(struct core *core, char *err, size_t errlen)
{
  struct store *st = core->store;
  struct contact *ct;
  size_t done = 0;
  for (int pass = 0; pass < 2; pass++) {
    int r;
    while ((r = st->ops->contact_walk(st, &ct)) == 1) {
      struct addr_snap snap;
      addr_snap_take(core, NULL, NULL, &snap);
      addr_snap_apply(core, ct->id, &snap, ct->profile);
      if (++done % REINDEX_BATCH == 0 && st->ops->commit(st, err, errlen) < 0)
        return -1;
    }
    if (r < 0) {
      snprintf(err, errlen, "a contact cannot be read");
      return -1;
    }
  }
  return 0;
}

int addr_reindex(struct core *core, char *err, size_t errlen)
{
  const char *attrs[ADDR_ATTRS_MAX];
  size_t n = indexed_attrs(core, attrs);
  char want[256] = "1", have[256] = "";
  for (size_t i = 0; i < n; i++)
    snprintf(want + strlen(want), sizeof want - strlen(want), " %s", attrs[i]);
  struct store *st = core->store;
  if (st->ops->meta_get(st, "index_attrs", have, sizeof have) < 0)
    return snprintf(err, errlen, "the store cannot be read"), -1;
  if (strcmp(have, want) == 0)
    return 0;
  if (index_clear(core) < 0 || index_all(core, err, errlen) < 0 ||
      st->ops->meta_put(st, "index_attrs", want) < 0 || st->ops->commit(st, err, errlen) < 0) {
    if (!err[0])
      snprintf(err, errlen, "the contact index cannot be written");
    return -1;
  }
  return 1;
}

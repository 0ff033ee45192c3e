/* See supdb.h. Entries are whole keys of the store's index (which holds keys only): the
 * reason and the time travel in the key, after the address. */
#include "supdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "context.h"
#include "suppress.h"

#define SEP '\x1f'
#define KEY_MAX 500 /* within LMDB's 511-byte keys */

/* "\x1e channel \x1f" and, with an address, "address \x1f": its length, or 0 when it does
 * not fit. */
static size_t prefix_of(const char *channel, const char *address, char *buf, size_t len)
{
  int n = address ? snprintf(buf, len, "%c%s%c%s%c", ADDR_OTHER_PREFIX, channel, SEP, address, SEP)
                  : snprintf(buf, len, "%c%s%c", ADDR_OTHER_PREFIX, channel, SEP);
  return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* Reads "address \x1f at \x1f reason" (what follows the channel's prefix) into e. */
static int parse(const char *rest, size_t len, struct supdb_entry *e)
{
  const char *a = memchr(rest, SEP, len), *b = a ? memchr(a + 1, SEP, len - (size_t)(a + 1 - rest)) : NULL;
  if (!b || (size_t)(a - rest) >= sizeof e->address || (size_t)(rest + len - b - 1) >= sizeof e->reason)
    return -1;
  memcpy(e->address, rest, (size_t)(a - rest));
  e->address[a - rest] = '\0';
  e->at_ms = strtoll(a + 1, NULL, 10);
  memcpy(e->reason, b + 1, (size_t)(rest + len - b - 1));
  e->reason[rest + len - b - 1] = '\0';
  return 0;
}

/* The entry of one address: the first key under its prefix (there is at most one). */
struct found {
  size_t skip;
  int n;
  struct supdb_entry *e;
  char key[KEY_MAX + 1];
  size_t key_len;
};

static int take_first(void *ud, const void *key, size_t len)
{
  struct found *f = ud;
  if (len > KEY_MAX)
    return 1;
  memcpy(f->key, key, len);
  f->key_len = len;
  f->n = 1;
  return 1;
}

/* Finds the entry's whole key into f; 1, 0 or -1. */
static int find(struct core *core, const char *channel, const char *address, struct found *f)
{
  char prefix[KEY_MAX + 1];
  size_t n = prefix_of(channel, address, prefix, sizeof prefix);
  f->n = 0;
  if (n == 0)
    return 0;
  int r = core->store->ops->index_scan(core->store, prefix, n, take_first, f);
  f->skip = prefix_of(channel, NULL, prefix, sizeof prefix);
  return r < 0 ? -1 : f->n;
}

int supdb_get(struct core *core, const char *channel, const char *address, struct supdb_entry *out)
{
  struct found f;
  int r = find(core, channel, address, &f);
  if (r == 1 && parse(f.key + f.skip, f.key_len - f.skip, out) < 0)
    return -1;
  return r;
}

int supdb_del(struct core *core, const char *channel, const char *address)
{
  struct found f;
  int r = find(core, channel, address, &f);
  if (r == 1 && core->store->ops->index_del(core->store, f.key, f.key_len) < 0)
    return -1;
  return r;
}

int supdb_put(struct core *core, const char *channel, const char *address, const char *reason, int64_t at_ms)
{
  char key[KEY_MAX + 64];
  int n = snprintf(key, sizeof key, "%c%s%c%s%c%" PRId64 "%c%s", ADDR_OTHER_PREFIX, channel, SEP, address, SEP,
                   at_ms, SEP, reason);
  if (n < 0 || n > KEY_MAX || strchr(reason, SEP) || supdb_del(core, channel, address) < 0)
    return -1;
  core->supdb_any = 1;
  return core->store->ops->index_put(core->store, key, (size_t)n);
}

/* A listing: the `max` smallest addresses after `after`, kept sorted as they come (the
 * store scans in key order, or in none). */
struct listing {
  size_t skip, max, n;
  const char *after;
  struct supdb_entry *out;
};

static int keep(void *ud, const void *key, size_t len)
{
  struct listing *l = ud;
  struct supdb_entry e;
  if (parse((const char *)key + l->skip, len - l->skip, &e) < 0 || strcmp(e.address, l->after) <= 0)
    return 0;
  size_t i = l->n;
  while (i > 0 && strcmp(l->out[i - 1].address, e.address) > 0)
    i--;
  if (i >= l->max)
    return 0; /* past the page */
  size_t move = l->n - i - (l->n == l->max);
  memmove(&l->out[i + 1], &l->out[i], move * sizeof e);
  l->out[i] = e;
  l->n += l->n < l->max;
  return 0;
}

int supdb_list(struct core *core, const char *channel, const char *after, struct supdb_entry *out, size_t max)
{
  char prefix[KEY_MAX + 1];
  struct listing l = {prefix_of(channel, NULL, prefix, sizeof prefix), max, 0, after, out};
  if (l.skip == 0 || max == 0 || max > SUPDB_LIST_MAX + 1)
    return -1;
  int r = core->store->ops->index_scan(core->store, prefix, l.skip, keep, &l);
  return r < 0 ? -1 : (int)l.n;
}

static int any_key(void *ud, const void *key, size_t len)
{
  (void)key, (void)len;
  *(int *)ud = 1;
  return 1;
}

/* Whether the list may hold an entry: one scan for any key, the first time; then every
 * put says so (a delete does not clear it: the batch that deletes may still be dropped). */
static int any_entry(struct core *core)
{
  if (!core->supdb_known) {
    char prefix[1] = {ADDR_OTHER_PREFIX};
    int any = 0;
    if (core->store->ops->index_scan(core->store, prefix, 1, any_key, &any) < 0)
      return 1; /* not known: ask the list */
    core->supdb_any |= any;
    core->supdb_known = 1;
  }
  return core->supdb_any;
}

int supdb_gate(void *ud, const char *channel, const char *address_attr, const char *address, char *why, size_t len)
{
  char norm[SUPPRESS_ADDRESS_MAX + 1], err[160];
  struct supdb_entry e;
  if (!any_entry(ud))
    return 0;
  if (suppress_norm(suppress_kind_of(address_attr), address, norm, err, sizeof err) < 0 ||
      supdb_get(ud, channel, norm, &e) != 1)
    return 0;
  snprintf(why, len, "the contact's %s is on the global suppression list for %s%s%s", address_attr, channel,
           e.reason[0] ? ": " : "", e.reason);
  return 1;
}

/* The in-memory store backend: hash maps for contacts and the dedupe window, an array for
 * conversations (ids are dense; a deleted one leaves a NULL), and a binary min-heap of
 * deadlines. Nothing survives a restart; the LMDB backend implements the same interface
 * durably. */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smap.h"
#include "store.h"

struct deadline {
  int64_t due_ms;
  uint64_t conv_id;
};

struct store_mem {
  struct store base;
  struct smap contacts;
  struct conv **convs; /* convs[id - 1] */
  size_t n_convs, cap_convs;
  /* Dedupe window: a set plus a FIFO ring of the same ids, oldest evicted first. */
  struct smap seen;
  char **seen_ring;
  size_t seen_cap, seen_head, seen_n;
  /* Deadline heap with lazy deletion: an entry is live only while its conversation still
   * listens with that very deadline, so re-arming never has to search the heap. */
  struct deadline *heap;
  size_t heap_n, heap_cap;
  uint64_t counters[STORE_COUNTERS];
  struct smap journeys; /* "name#version" -> struct mem_blob* */
  struct smap index;    /* the core's index keys (text, addr.h) -> a copy of the key */
  struct smap meta;     /* meta_get/meta_put: name -> text */
  struct smap active;   /* "name#version" -> (intptr_t) count */
  struct smap tallies;  /* journey stats: key -> struct mem_tally* */
  size_t walk_slot;     /* the contact walk: the next slot of `contacts` to look at */
  uint64_t walk_conv;   /* the conversation walk: the next is convs[walk_conv] */
};

struct mem_blob {
  size_t len;
  char data[];
};

static void version_key(char *key, size_t n, const char *name, uint32_t version)
{
  snprintf(key, n, "%s#%u", name, version);
}

#define MEM(s) ((struct store_mem *)(s))

static struct contact *mem_contact_get(struct store *s, const char *id)
{
  return smap_get(&MEM(s)->contacts, id);
}

static struct contact *mem_contact_create(struct store *s, const char *id, int64_t now_ms)
{
  struct contact *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->id = strdup(id);
  c->profile = cJSON_CreateObject();
  c->created_ms = now_ms;
  if (smap_put(&MEM(s)->contacts, id, c) < 0) {
    contact_record_free(c);
    return NULL;
  }
  return c;
}

static int mem_contact_put(struct store *s, struct contact *c)
{
  return 0; /* records live in memory already */
}

static int mem_event_seen(struct store *s, const char *event_id)
{
  struct store_mem *m = MEM(s);
  if (smap_get(&m->seen, event_id))
    return 1;
  if (m->seen_n == m->seen_cap) { /* window full: forget the oldest id */
    char *old = m->seen_ring[m->seen_head];
    smap_del(&m->seen, old);
    free(old);
    m->seen_head = (m->seen_head + 1) % m->seen_cap;
    m->seen_n--;
  }
  m->seen_ring[(m->seen_head + m->seen_n++) % m->seen_cap] = strdup(event_id);
  smap_put(&m->seen, event_id, (void *)1);
  return 0;
}

static struct conv *mem_conv_create(struct store *s, struct contact *c, const char *journey,
                                    uint32_t version, int64_t now_ms)
{
  struct store_mem *m = MEM(s);
  if (m->n_convs == m->cap_convs) {
    size_t ncap = m->cap_convs ? m->cap_convs * 2 : 64;
    struct conv **n = realloc(m->convs, ncap * sizeof *n);
    if (!n)
      return NULL;
    m->convs = n;
    m->cap_convs = ncap;
  }
  struct conv *cv = conv_record_new(c, m->n_convs + 1, journey, version, now_ms);
  if (!cv)
    return NULL;
  m->convs[m->n_convs++] = cv;
  return cv;
}

static struct conv *mem_conv_get(struct store *s, uint64_t id)
{
  struct store_mem *m = MEM(s);
  return id >= 1 && id <= m->n_convs ? m->convs[id - 1] : NULL;
}

/* A deleted conversation leaves a NULL in the array; a deadline of it still in the heap
 * is no longer live, and goes when it reaches the top. */
static int mem_conv_del(struct store *s, uint64_t id)
{
  struct store_mem *m = MEM(s);
  if (id >= 1 && id <= m->n_convs) {
    conv_record_free(m->convs[id - 1]);
    m->convs[id - 1] = NULL;
  }
  return 0;
}

/* The memory store keeps no outbox (see mem_msg_put): the contact and its conversations
 * are all there is. */
static int mem_contact_erase(struct store *s, const char *id)
{
  struct contact *c = smap_del(&MEM(s)->contacts, id);
  if (!c)
    return 0;
  for (size_t i = 0; i < c->n_convs; i++)
    mem_conv_del(s, c->convs[i]);
  contact_record_free(c);
  return 1;
}

/* Slot by slot through the hash map (smap_next): a map that grows during a pass may show
 * a contact twice or miss one in that pass, never in the next. */
static int mem_contact_walk(struct store *s, struct contact **out)
{
  struct store_mem *m = MEM(s);
  if ((*out = smap_next(&m->contacts, &m->walk_slot)))
    return 1;
  m->walk_slot = 0;
  return 0;
}

static int mem_conv_walk(struct store *s, struct conv **out)
{
  struct store_mem *m = MEM(s);
  while (m->walk_conv < m->n_convs) {
    struct conv *cv = m->convs[m->walk_conv++];
    if (cv) {
      *out = cv;
      return 1;
    }
  }
  m->walk_conv = 0;
  return 0;
}

static int before(const struct deadline *a, const struct deadline *b)
{
  return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->conv_id < b->conv_id);
}

static void heap_swap(struct deadline *h, size_t i, size_t j)
{
  struct deadline t = h[i];
  h[i] = h[j];
  h[j] = t;
}

static int heap_push(struct store_mem *m, struct deadline d)
{
  if (m->heap_n == m->heap_cap) {
    size_t ncap = m->heap_cap ? m->heap_cap * 2 : 64;
    struct deadline *n = realloc(m->heap, ncap * sizeof *n);
    if (!n)
      return -1;
    m->heap = n;
    m->heap_cap = ncap;
  }
  size_t i = m->heap_n++;
  m->heap[i] = d;
  while (i > 0 && before(&m->heap[i], &m->heap[(i - 1) / 2])) {
    heap_swap(m->heap, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  return 0;
}

static void heap_pop(struct store_mem *m)
{
  m->heap[0] = m->heap[--m->heap_n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, min = i;
    if (l < m->heap_n && before(&m->heap[l], &m->heap[min]))
      min = l;
    if (r < m->heap_n && before(&m->heap[r], &m->heap[min]))
      min = r;
    if (min == i)
      break;
    heap_swap(m->heap, i, min);
    i = min;
  }
}

static int live(struct store_mem *m, const struct deadline *d)
{
  struct conv *cv = mem_conv_get(&m->base, d->conv_id);
  return cv && cv->status == CONV_LISTENING && cv->deadline_ms == d->due_ms;
}

static int mem_conv_put(struct store *s, struct conv *cv)
{
  struct store_mem *m = MEM(s);
  if (cv->status == CONV_LISTENING && cv->deadline_ms > 0)
    return heap_push(m, (struct deadline){cv->deadline_ms, cv->id});
  return 0;
}

static int mem_conv_note(struct store *s, uint64_t id, int64_t at_ms, const char *line, size_t limit)
{
  struct conv *cv = mem_conv_get(s, id);
  if (cv)
    history_add(&cv->history, limit, at_ms, "%s", line);
  return 0;
}

static int mem_deadline_next(struct store *s, int64_t *due_ms, uint64_t *conv_id)
{
  struct store_mem *m = MEM(s);
  while (m->heap_n > 0 && !live(m, &m->heap[0]))
    heap_pop(m);
  if (m->heap_n == 0)
    return 0;
  *due_ms = m->heap[0].due_ms;
  *conv_id = m->heap[0].conv_id;
  return 1;
}

/* The memory store keeps no outbox: messages live in the core's queue until delivered. */
static int mem_msg_put(struct store *s, const struct parley_msg *m)
{
  return 0;
}

static int mem_msg_del(struct store *s, const char *id)
{
  return 0;
}

static int mem_msg_each(struct store *s, void (*cb)(void *ud, struct parley_msg *m), void *ud)
{
  return 0;
}

static int mem_msg_get(struct store *s, const char *id, struct parley_msg **out)
{
  return 0;
}

static int mem_journey_put(struct store *s, const char *name, uint32_t version, const char *src, size_t len)
{
  char key[300];
  struct mem_blob *b = malloc(sizeof *b + len);
  if (!b)
    return -1;
  b->len = len;
  memcpy(b->data, src, len);
  version_key(key, sizeof key, name, version);
  free(smap_get(&MEM(s)->journeys, key));
  return smap_put(&MEM(s)->journeys, key, b);
}

static int mem_journey_get(struct store *s, const char *name, uint32_t version, char **src, size_t *len)
{
  char key[300];
  version_key(key, sizeof key, name, version);
  struct mem_blob *b = smap_get(&MEM(s)->journeys, key);
  if (!b)
    return 0;
  *src = malloc(b->len + 1);
  memcpy(*src, b->data, b->len);
  (*src)[b->len] = '\0';
  *len = b->len;
  return 1;
}

static int mem_journey_del(struct store *s, const char *name, uint32_t version)
{
  char key[300];
  version_key(key, sizeof key, name, version);
  free(smap_del(&MEM(s)->journeys, key));
  return 0;
}

static uint32_t mem_journey_latest(struct store *s, const char *name)
{
  char key[300];
  uint32_t v = 0;
  for (;; v++) { /* versions are dense: 1, 2, 3 ... */
    version_key(key, sizeof key, name, v + 1);
    if (!smap_get(&MEM(s)->journeys, key))
      return v;
  }
}

static int64_t mem_active_add(struct store *s, const char *name, uint32_t version, int64_t delta)
{
  char key[300];
  version_key(key, sizeof key, name, version);
  intptr_t n = (intptr_t)smap_get(&MEM(s)->active, key) + (intptr_t)delta;
  if (delta) /* 0 only reads, as in LMDB: a look at every version adds no key */
    smap_put(&MEM(s)->active, key, (void *)n);
  return n;
}

static int mem_counters_get(struct store *s, uint64_t *vals, size_t n)
{
  memcpy(vals, MEM(s)->counters, (n < STORE_COUNTERS ? n : STORE_COUNTERS) * sizeof *vals);
  return 0;
}

static int mem_counters_put(struct store *s, const uint64_t *vals, size_t n)
{
  memcpy(MEM(s)->counters, vals, (n < STORE_COUNTERS ? n : STORE_COUNTERS) * sizeof *vals);
  return 0;
}

/* Changes are applied in place, so a batch is always "committed" and cannot be dropped. */
static int mem_commit(struct store *s, char *err, size_t errlen)
{
  return 0;
}

static void mem_abort(struct store *s)
{
}

static int mem_dirty(const struct store *s)
{
  return 0;
}

static void free_contact_val(void *v)
{
  contact_record_free(v);
}

/* ---- the core's index: a set of keys, scanned whole (the memory store is for tests and
 * tools, where a scan of every key is cheap enough) ---- */

static int mem_index_put(struct store *s, const void *key, size_t len)
{
  char *k = strndup(key, len);
  if (!k || memchr(key, '\0', len))
    return free(k), -1;
  free(smap_del(&MEM(s)->index, k));
  int rc = smap_put(&MEM(s)->index, k, k);
  if (rc < 0)
    free(k);
  return rc;
}

static int mem_index_del(struct store *s, const void *key, size_t len)
{
  char *k = strndup(key, len);
  if (!k)
    return -1;
  free(smap_del(&MEM(s)->index, k));
  free(k);
  return 0;
}

static int mem_index_scan(struct store *s, const void *prefix, size_t len,
                          int (*each)(void *ud, const void *key, size_t len), void *ud)
{
  size_t pos = 0;
  int n = 0;
  const char *k;
  while ((k = smap_next(&MEM(s)->index, &pos)) != NULL)
    if (strncmp(k, prefix, len) == 0 && strlen(k) >= len) {
      n++;
      if (each(ud, k, strlen(k)) != 0)
        break;
    }
  return n;
}

static int mem_meta_get(struct store *s, const char *name, char *out, size_t outlen)
{
  const char *v = smap_get(&MEM(s)->meta, name);
  if (!v)
    return 0;
  snprintf(out, outlen, "%s", v);
  return 1;
}

static int mem_meta_put(struct store *s, const char *name, const char *text)
{
  char *v = strdup(text);
  if (!v)
    return -1;
  free(smap_del(&MEM(s)->meta, name));
  if (smap_put(&MEM(s)->meta, name, v) < 0)
    return free(v), -1;
  return 0;
}

/* ---- journey stats: counters in a map, scanned whole (few keys per journey) ---- */

struct mem_tally {
  int64_t n;
  char key[];
};

static int mem_tally_add(struct store *s, const char *key, int64_t delta)
{
  struct smap *t = &MEM(s)->tallies;
  struct mem_tally *v = smap_get(t, key);
  if (!v) {
    size_t len = strlen(key) + 1;
    if (!(v = calloc(1, sizeof *v + len)))
      return -1;
    memcpy(v->key, key, len);
    if (smap_put(t, key, v) < 0)
      return free(v), -1;
  }
  v->n += delta;
  return 0;
}

static int mem_tally_scan(struct store *s, const char *lo, const char *hi,
                          int (*each)(void *ud, const char *key, int64_t val), void *ud)
{
  size_t pos = 0;
  int n = 0;
  const struct mem_tally *v;
  while ((v = smap_next(&MEM(s)->tallies, &pos)) != NULL) {
    if (strcmp(v->key, lo) < 0 || (hi && strcmp(v->key, hi) >= 0))
      continue;
    n++;
    if (each(ud, v->key, v->n) != 0)
      break;
  }
  return n;
}

static void mem_close(struct store *s)
{
  struct store_mem *m = MEM(s);
  smap_free(&m->tallies, free);
  smap_free(&m->index, free);
  smap_free(&m->meta, free);
  smap_free(&m->contacts, free_contact_val);
  for (size_t i = 0; i < m->n_convs; i++)
    conv_record_free(m->convs[i]);
  free(m->convs);
  smap_free(&m->seen, NULL);
  smap_free(&m->journeys, free);
  smap_free(&m->active, NULL);
  for (size_t i = 0; i < m->seen_n; i++)
    free(m->seen_ring[(m->seen_head + i) % m->seen_cap]);
  free(m->seen_ring);
  free(m->heap);
  free(m);
}

static const struct store_ops mem_ops = {
    .contact_get = mem_contact_get,
    .contact_create = mem_contact_create,
    .contact_put = mem_contact_put,
    .event_seen = mem_event_seen,
    .conv_create = mem_conv_create,
    .conv_get = mem_conv_get,
    .conv_put = mem_conv_put,
    .conv_note = mem_conv_note,
    .conv_del = mem_conv_del,
    .contact_erase = mem_contact_erase,
    .contact_walk = mem_contact_walk,
    .conv_walk = mem_conv_walk,
    .deadline_next = mem_deadline_next,
    .msg_put = mem_msg_put,
    .msg_del = mem_msg_del,
    .msg_each = mem_msg_each,
    .msg_get = mem_msg_get,
    .journey_put = mem_journey_put,
    .journey_get = mem_journey_get,
    .journey_del = mem_journey_del,
    .journey_latest = mem_journey_latest,
    .active_add = mem_active_add,
    .counters_get = mem_counters_get,
    .counters_put = mem_counters_put,
    .index_put = mem_index_put,
    .index_del = mem_index_del,
    .index_scan = mem_index_scan,
    .meta_get = mem_meta_get,
    .meta_put = mem_meta_put,
    .tally_add = mem_tally_add,
    .tally_scan = mem_tally_scan,
    .commit = mem_commit,
    .abort = mem_abort,
    .dirty = mem_dirty,
    .close = mem_close,
};

struct store *store_mem_open(size_t dedupe_window)
{
  struct store_mem *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->base.ops = &mem_ops;
  m->seen_cap = dedupe_window ? dedupe_window : 1;
  m->seen_ring = calloc(m->seen_cap, sizeof *m->seen_ring);
  if (!m->seen_ring) {
    free(m);
    return NULL;
  }
  return &m->base;
}

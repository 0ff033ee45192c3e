/* The string-keyed hash map of the store backends' caches (see smap.h). */
#include "smap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char smap_tomb_key;
#define SMAP_TOMB (&smap_tomb_key)

/* FNV-1a: short keys (ids), no adversarial flooding concern beyond what the size limits
 * on ids already bound. */
static size_t hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

static struct smap_slot *find(const struct smap *m, const char *key)
{
  if (!m->cap)
    return NULL;
  for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    struct smap_slot *s = &m->slots[i];
    if (!s->key)
      return NULL;
    if (s->key != SMAP_TOMB && strcmp(s->key, key) == 0)
      return s;
  }
}

static int grow(struct smap *m)
{
  size_t ncap = m->cap ? m->cap * 2 : 64;
  if (m->n * 4 < m->cap) /* mostly tombstones: rehash at the same size */
    ncap = m->cap;
  struct smap_slot *ns = calloc(ncap, sizeof *ns);
  if (!ns)
    return -1;
  for (size_t i = 0; i < m->cap; i++) {
    struct smap_slot *s = &m->slots[i];
    if (!s->key || s->key == SMAP_TOMB)
      continue;
    size_t j = hash(s->key) & (ncap - 1);
    while (ns[j].key)
      j = (j + 1) & (ncap - 1);
    ns[j] = *s;
  }
  free(m->slots);
  m->slots = ns;
  m->cap = ncap;
  m->used = m->n;
  return 0;
}

void *smap_get(const struct smap *m, const char *key)
{
  struct smap_slot *s = find(m, key);
  return s ? s->val : NULL;
}

int smap_put(struct smap *m, const char *key, void *val)
{
  struct smap_slot *s = find(m, key);
  if (s) {
    s->val = val;
    return 0;
  }
  if ((m->used + 1) * 4 >= m->cap * 3 && grow(m) < 0)
    return -1;
  size_t i = hash(key) & (m->cap - 1);
  while (m->slots[i].key && m->slots[i].key != SMAP_TOMB)
    i = (i + 1) & (m->cap - 1);
  if (!m->slots[i].key)
    m->used++;
  m->slots[i].key = strdup(key);
  m->slots[i].val = val;
  m->n++;
  return m->slots[i].key ? 0 : -1;
}

void *smap_del(struct smap *m, const char *key)
{
  struct smap_slot *s = find(m, key);
  if (!s)
    return NULL;
  void *v = s->val;
  free(s->key);
  s->key = SMAP_TOMB;
  s->val = NULL;
  m->n--;
  return v;
}

void *smap_next(const struct smap *m, size_t *pos)
{
  for (; *pos < m->cap; (*pos)++) {
    const struct smap_slot *s = &m->slots[*pos];
    if (s->key && s->key != SMAP_TOMB)
      return m->slots[(*pos)++].val;
  }
  return NULL;
}

void smap_clear(struct smap *m, void (*free_val)(void *))
{
  if (m->cap > 65536) { /* after a very large batch, give the memory back */
    smap_free(m, free_val);
    return;
  }
  for (size_t i = 0; i < m->cap; i++) {
    struct smap_slot *s = &m->slots[i];
    if (s->key && s->key != SMAP_TOMB) {
      if (free_val)
        free_val(s->val);
      free(s->key);
    }
    s->key = NULL;
    s->val = NULL;
  }
  m->n = m->used = 0;
}

void smap_free(struct smap *m, void (*free_val)(void *))
{
  for (size_t i = 0; i < m->cap; i++) {
    struct smap_slot *s = &m->slots[i];
    if (!s->key || s->key == SMAP_TOMB)
      continue;
    if (free_val)
      free_val(s->val);
    free(s->key);
  }
  free(m->slots);
  memset(m, 0, sizeof *m);
}

/* A string-keyed hash map (open addressing, linear probing, tombstones on delete). Keys are
 * copied and owned by the map; values are the caller's. */
#ifndef PARLEY_SMAP_H
#define PARLEY_SMAP_H
#include <stddef.h>

struct smap_slot {
  char *key; /* NULL: empty; SMAP_TOMB: deleted */
  void *val;
};
struct smap {
  struct smap_slot *slots;
  size_t cap, n, used; /* used counts tombstones too */
};

void *smap_get(const struct smap *m, const char *key);
int smap_put(struct smap *m, const char *key, void *val); /* replaces; -1 on OOM */
void *smap_del(struct smap *m, const char *key);           /* returns the old value */
void smap_free(struct smap *m, void (*free_val)(void *));
/* Walks the map slot by slot: the value of the first entry at slot *pos or after, with
 * *pos moved past it; NULL (and *pos = cap) at the end. An entry put while a walk goes on
 * may or may not be seen by it, and a growing map may show one twice. */
void *smap_next(const struct smap *m, size_t *pos);
/* Empties the map but keeps its slots, for maps refilled over and over (caches). */
void smap_clear(struct smap *m, void (*free_val)(void *));

#endif

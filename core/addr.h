/* The contact index: which contacts hold an address (an e-mail address, a phone number),
 * so that a message from that address (an SMS reply, a STOP) finds its contacts without a
 * scan. Indexed: the `address` attribute of every configured channel. The keys live in the
 * store's index, in the same batch as the profile change that made them, so the index is
 * exactly as durable as the profiles. */
#ifndef PARLEY_ADDR_H
#define PARLEY_ADDR_H
#include <cJSON.h>
#include <stddef.h>

struct core;

#define ADDR_ATTRS_MAX 8 /* distinct address attributes indexed */
/* Index keys starting with this byte are not the contact index's (an attribute name never
 * starts with it): the API's suppression list (supdb.h) lives there, and a reindex leaves
 * it alone. */
#define ADDR_OTHER_PREFIX '\x1e'

/* The indexed values of a profile before a change, to compare with after it. */
struct addr_snap {
  size_t n;
  const char *attr[ADDR_ATTRS_MAX];
  char *value[ADDR_ATTRS_MAX]; /* copied; NULL: the profile had none */
};

/* Takes the values of the indexed attributes that `changes` names (all of them when
 * `changes` is NULL), before the change is applied. Empty (n = 0) when it names none. */
void addr_snap_take(const struct core *core, const cJSON *profile, const cJSON *changes,
                    struct addr_snap *snap);
/* After the change: moves the index entries of contact `id` for each value that changed,
 * and frees the snapshot. Failures latch the batch (store.h). */
void addr_snap_apply(struct core *core, const char *id, struct addr_snap *snap, const cJSON *profile);
/* Removes every index entry of contact `id` (before an erasure). */
void addr_forget(struct core *core, const char *id, const cJSON *profile);

/* contacts_find: `each(arg, id)` for every contact whose `attr` is `value`; the count, or
 * -1 with a reason in err (an attribute no channel addresses, a store failure). */
int addr_find(struct core *core, const char *attr, const char *value,
              void (*each)(void *arg, const char *id), void *arg, char *err, size_t errlen);

/* At start: when the indexed attributes differ from those the store was indexed for (a
 * store from before the index, or a channel with a new address attribute), index every
 * contact again, committing as it goes. -1 with err when the store fails. */
int addr_reindex(struct core *core, char *err, size_t errlen);

#endif

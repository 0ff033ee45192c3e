/* Journey versions (README, "Journey versions"). Every journey file loaded gets a version;
 * its files -- the journey, the modules it requires from the journeys folder, its templates
 * (lhost_journey_bundle) -- are pinned in the store, so a change to any of them makes a new
 * version. New conversations start on the current version; each conversation stays on the
 * version it started on until it ends, so an old version drains: its Lua state is closed
 * (and its stored files dropped) when its last conversation ends. After a restart an old
 * version is loaded again from its stored files, never from disk, when one of its
 * conversations wakes. A journey with `migrate = true` moves a conversation of an older
 * version to the same-named step of the current one when it next wakes (lazily: a reload
 * never walks millions of conversations); a step that no longer exists fails it. */
#ifndef PARLEY_REGISTRY_H
#define PARLEY_REGISTRY_H
#include <stddef.h>
#include <stdint.h>

#include "lua/lhost.h"
#include "store/store.h"

struct jslot {
  char *name;
  char *path;        /* the file it came from */
  uint32_t version;
  struct journey *j; /* NULL: an old version not loaded since the restart */
  int current;       /* new conversations start here */
};

/* The journeys a core runs: every version still in use, and what it needs to load one. */
struct registry {
  struct store *store;       /* where versions are pinned and active counts kept */
  struct lhost_config lhost; /* how journeys are loaded (its `source` fields unused) */
  struct jslot *slots;       /* current versions and those still draining */
  size_t n_slots;
};

/* Loads every *.lua of lhost->journeys_dir (name order) as the current versions. Returns
 * 0, or -1 with err (the file, and why); on -1 call registry_close. */
int registry_open(struct registry *reg, struct store *store, const struct lhost_config *lhost,
                  char *err, size_t errlen);
/* SIGHUP: loads the folder again. A changed file (or module, or template) becomes a new
 * current version; a file that fails to load is refused (logged) and its running version
 * keeps serving; a removed file stops taking new conversations. Returns how many journeys were refused. */
int registry_reload(struct registry *reg);
void registry_close(struct registry *reg);

/* The current version of `name`, or NULL. */
struct journey *registry_current(struct registry *reg, const char *name);
/* Version `version` of `name`, loaded from the store if need be; NULL with err. */
struct journey *registry_get(struct registry *reg, const char *name, uint32_t version, char *err,
                             size_t errlen);
uint32_t registry_current_version(struct registry *reg, const char *name);
/* A conversation of (name, version) started (+1) or ended (-1); the last one to end closes
 * an old version. */
void registry_active(struct registry *reg, const char *name, uint32_t version, int delta);

#endif

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

/* What the last load (registry_open) or reload made of one journey file. */
enum registry_outcome_kind {
  REGISTRY_LOADED,    /* loaded: `version` is current (after a reload, a new version) */
  REGISTRY_UNCHANGED, /* a reload found its files unchanged: `version` stays current */
  REGISTRY_REFUSED,   /* it failed to load (`error`): `version` keeps serving (0: none) */
  REGISTRY_REMOVED,   /* the file is gone: `version` takes no new conversations, drains */
};

struct registry_outcome {
  char *file;     /* its name in the journeys folder ("welcome.lua") */
  char *name;     /* the journey's; NULL when the file has never loaded */
  uint32_t version;
  enum registry_outcome_kind kind;
  char *error;    /* REGISTRY_REFUSED: why, naming files as the journey's author knows them */
};

/* The journeys a core runs: every version still in use, and what it needs to load one. */
struct registry {
  struct store *store;       /* where versions are pinned and active counts kept */
  struct lhost_config lhost; /* how journeys are loaded (its `source` fields unused) */
  struct jslot *slots;       /* current versions and those still draining */
  size_t n_slots;
  /* The last load or reload that could read the folder, one outcome per file in name
   * order, then the removed ones. */
  struct registry_outcome *outcomes;
  size_t n_outcomes;
  char *folder_error; /* the last reload could not read the folder: why (no path); else NULL */
};

/* The longest window of any loaded journey's caps (0: none): how long a contact's
 * counted messages must be kept for every journey to count them. */
int64_t registry_caps_window(const struct registry *reg);

/* Loads every *.lua of lhost->journeys_dir (name order) as the current versions. Returns
 * 0, or -1 with err (the file, and why); on -1 call registry_close. */
int registry_open(struct registry *reg, struct store *store, const struct lhost_config *lhost,
                  char *err, size_t errlen);
/* SIGHUP: loads the folder again. A changed file (or module, or template) becomes a new
 * current version; a file that fails to load is refused (logged) and its running version
 * keeps serving; a removed file stops taking new conversations. Each file's outcome is
 * kept in reg->outcomes; a folder that cannot be read changes nothing (reg->folder_error).
 * Returns how many journeys were refused (1 for an unreadable folder). */
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

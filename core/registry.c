#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "lua/lhost.h"

static struct lhost_config lhost_cfg(const struct core *core)
{
  const struct cfg *cfg = core->cfg;
  return (struct lhost_config){cfg->lua, cfg->sdk_dir, cfg->journeys_dir, cfg->journey_params, &core->log,
                               NULL, 0};
}

static struct jslot *find(struct core *core, const char *name, uint32_t version)
{
  for (size_t i = 0; i < core->n_slots; i++)
    if (core->slots[i].version == version && strcmp(core->slots[i].name, name) == 0)
      return &core->slots[i];
  return NULL;
}

static struct jslot *find_current(struct core *core, const char *name)
{
  for (size_t i = 0; i < core->n_slots; i++)
    if (core->slots[i].current && strcmp(core->slots[i].name, name) == 0)
      return &core->slots[i];
  return NULL;
}

static struct jslot *add_slot(struct core *core, const char *name, const char *path, uint32_t version,
                              struct journey *j, int current)
{
  struct jslot *n = realloc(core->slots, (core->n_slots + 1) * sizeof *n);
  if (!n)
    return NULL;
  core->slots = n;
  struct jslot *s = &core->slots[core->n_slots++];
  *s = (struct jslot){strdup(name), strdup(path), version, j, current};
  return s;
}

static void free_slot(struct jslot *s)
{
  lhost_journey_free(s->j);
  free(s->name);
  free(s->path);
}

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.lua directly in the journeys folder is a journey, taken in name order so that
 * journeys entered by the same event start in a predictable order. A *_test.lua is a
 * journey test (`parley test`), which may sit among the journeys it tests. */
static char **list_files(const char *dir, size_t *n, char *err, size_t errlen)
{
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, errlen, "journeys folder %s: %s", dir, strerror(errno));
    return NULL;
  }
  char **paths = calloc(1, sizeof *paths);
  *n = 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (de->d_name[0] == '.' || !ends_with(de->d_name, ".lua") || ends_with(de->d_name, "_test.lua"))
      continue;
    paths = realloc(paths, (*n + 2) * sizeof *paths);
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    paths[*n] = malloc(len);
    snprintf(paths[(*n)++], len, "%s/%s", dir, de->d_name);
  }
  closedir(d);
  qsort(paths, *n, sizeof *paths, name_cmp);
  return paths;
}

static void free_list(char **paths, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
}

static int same_source(const struct journey *a, const char *src, size_t len)
{
  size_t alen;
  const char *asrc = lhost_journey_source(a, &alen);
  return alen == len && memcmp(asrc, src, len) == 0;
}

/* The version a freshly loaded journey runs as: the newest stored one when the text is
 * the same (a restart), else a new version whose source is pinned in the store. */
static uint32_t pin_version(struct core *core, const struct journey *j)
{
  struct store *st = core->store;
  const char *name = lhost_journey_info(j)->name;
  uint32_t latest = st->ops->journey_latest(st, name);
  char *old = NULL;
  size_t olen = 0;
  if (latest && st->ops->journey_get(st, name, latest, &old, &olen) == 1 && same_source(j, old, olen)) {
    free(old);
    return latest;
  }
  free(old);
  size_t len;
  const char *src = lhost_journey_source(j, &len);
  st->ops->journey_put(st, name, latest + 1, src, len);
  return latest + 1;
}

static void log_version(struct core *core, const char *msg, const struct jslot *s)
{
  char v[16];
  snprintf(v, sizeof v, "%u", s->version);
  log_kv(&core->log, LOG_INFO, "journey", msg, "name", s->name, "version", v, "path", s->path, (char *)NULL);
}

int registry_open(struct core *core, char *err, size_t errlen)
{
  size_t n;
  char **paths = list_files(core->cfg->journeys_dir, &n, err, errlen);
  if (!paths)
    return -1;
  struct lhost_config lc = lhost_cfg(core);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct journey *j;
    if (lhost_journey_load(&lc, paths[i], &j, err, errlen) < 0) {
      rc = -1;
      break;
    }
    const char *name = lhost_journey_info(j)->name;
    if (find_current(core, name)) {
      snprintf(err, errlen, "%s: a journey named '%s' is already loaded", paths[i], name);
      lhost_journey_free(j);
      rc = -1;
      break;
    }
    log_version(core, "loaded", add_slot(core, name, paths[i], pin_version(core, j), j, 1));
  }
  free_list(paths, n);
  return rc;
}

/* An old version with no conversation left is closed and forgotten. */
static void retire_if_idle(struct core *core, struct jslot *s)
{
  if (s->current || core->store->ops->active_add(core->store, s->name, s->version, 0) > 0)
    return;
  log_version(core, "drained: version closed", s);
  core->store->ops->journey_del(core->store, s->name, s->version);
  free_slot(s);
  *s = core->slots[--core->n_slots];
}

static int path_in(const char *path, char **paths, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (paths[i] && strcmp(paths[i], path) == 0)
      return 1;
  return 0;
}

/* Takes one freshly loaded file during a reload. Returns 0, or -1 when refused. */
static int reload_one(struct core *core, struct journey *j, const char *path, char **taken, size_t n_taken)
{
  const char *name = lhost_journey_info(j)->name;
  struct jslot *cur = find_current(core, name);
  size_t len;
  const char *src = lhost_journey_source(j, &len);
  if (cur && path_in(cur->path, taken, n_taken) && strcmp(cur->path, path) != 0) {
    log_kv(&core->log, LOG_ERROR, "journey", "reload refused: two files name the same journey", "name", name,
           "path", path, (char *)NULL);
    lhost_journey_free(j);
    return -1;
  }
  if (cur && cur->j && same_source(cur->j, src, len)) {
    lhost_journey_free(j); /* unchanged */
    return 0;
  }
  uint32_t version = pin_version(core, j);
  if (cur) {
    cur->current = 0;
    retire_if_idle(core, cur);
  }
  log_version(core, "reloaded: new conversations start on this version",
              add_slot(core, name, path, version, j, 1));
  return 0;
}

int registry_reload(struct core *core)
{
  char err[1024];
  size_t n;
  char **paths = list_files(core->cfg->journeys_dir, &n, err, sizeof err);
  if (!paths) {
    log_kv(&core->log, LOG_ERROR, "journey", "reload refused", "error", err, (char *)NULL);
    return 1;
  }
  struct lhost_config lc = lhost_cfg(core);
  int refused = 0;
  for (size_t i = 0; i < n; i++) {
    struct journey *j;
    if (lhost_journey_load(&lc, paths[i], &j, err, sizeof err) < 0) {
      log_kv(&core->log, LOG_ERROR, "journey", "reload refused, the running version keeps serving", "path",
             paths[i], "error", err, (char *)NULL);
      refused++;
      continue; /* its path stays in `paths`: its current slot is kept below */
    }
    refused += reload_one(core, j, paths[i], paths, i) < 0;
  }
  /* journeys whose file is gone take no new conversations and drain */
  for (size_t i = core->n_slots; i-- > 0;) {
    struct jslot *s = &core->slots[i];
    if (s->current && !path_in(s->path, paths, n)) {
      s->current = 0;
      log_version(core, "removed: drains", s);
      retire_if_idle(core, s);
    }
  }
  free_list(paths, n);
  return refused;
}

struct journey *registry_current(struct core *core, const char *name)
{
  struct jslot *s = find_current(core, name);
  return s ? s->j : NULL;
}

uint32_t registry_current_version(struct core *core, const char *name)
{
  struct jslot *s = find_current(core, name);
  return s ? s->version : 0;
}

/* Where an old version's templates are: beside the file of its current version, or where
 * a file of that name would be. */
static void old_version_path(struct core *core, const char *name, char *path, size_t n)
{
  struct jslot *cur = find_current(core, name);
  if (cur)
    snprintf(path, n, "%s", cur->path);
  else
    snprintf(path, n, "%s/%s.lua", core->cfg->journeys_dir, name);
}

struct journey *registry_get(struct core *core, const char *name, uint32_t version, char *err,
                             size_t errlen)
{
  struct jslot *s = find(core, name, version);
  if (s && s->j)
    return s->j;
  char *src = NULL, path[4096];
  size_t len;
  if (core->store->ops->journey_get(core->store, name, version, &src, &len) != 1) {
    snprintf(err, errlen, "version %u of journey '%s' is not stored", version, name);
    return NULL;
  }
  old_version_path(core, name, path, sizeof path);
  struct lhost_config lc = lhost_cfg(core);
  lc.source = src;
  lc.source_len = len;
  struct journey *j;
  int rc = lhost_journey_load(&lc, path, &j, err, errlen);
  free(src);
  if (rc < 0)
    return NULL;
  if (s)
    s->j = j;
  else
    s = add_slot(core, name, path, version, j, 0);
  log_version(core, "loaded an older version from the store", s);
  return j;
}

void registry_active(struct core *core, const char *name, uint32_t version, int delta)
{
  int64_t n = core->store->ops->active_add(core->store, name, version, delta);
  struct jslot *s;
  if (delta < 0 && n <= 0 && (s = find(core, name, version)))
    retire_if_idle(core, s);
}

void registry_close(struct core *core)
{
  for (size_t i = 0; i < core->n_slots; i++)
    free_slot(&core->slots[i]);
  free(core->slots);
  core->slots = NULL;
  core->n_slots = 0;
}

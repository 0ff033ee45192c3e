/* Journey versions: loading the folder, pinning each version's files (its bundle), draining
 * old versions (see registry.h). */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static struct jslot *find(struct registry *reg, const char *name, uint32_t version)
{
  for (size_t i = 0; i < reg->n_slots; i++)
    if (reg->slots[i].version == version && strcmp(reg->slots[i].name, name) == 0)
      return &reg->slots[i];
  return NULL;
}

static struct jslot *find_current(struct registry *reg, const char *name)
{
  for (size_t i = 0; i < reg->n_slots; i++)
    if (reg->slots[i].current && strcmp(reg->slots[i].name, name) == 0)
      return &reg->slots[i];
  return NULL;
}

static struct jslot *add_slot(struct registry *reg, const char *name, const char *path, uint32_t version,
                              struct journey *j, int current)
{
  struct jslot *n = realloc(reg->slots, (reg->n_slots + 1) * sizeof *n);
  if (!n)
    return NULL;
  reg->slots = n;
  struct jslot *s = &reg->slots[reg->n_slots++];
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

/* Every *.lua directly in the journeys folder is a journey, taken in name order so that
 * journeys entered by the same event start in a predictable order. A *_test.lua is a
 * journey test (`parley test`), which may sit among the journeys it tests. */
static void free_list(char **paths, size_t n);

static char **list_files(const char *dir, size_t *n, char *err, size_t errlen)
{
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, errlen, "journeys folder %s: %s", dir, strerror(errno));
    return NULL;
  }
  char **paths = calloc(1, sizeof *paths);
  *n = 0;
  for (struct dirent *de; paths && (de = readdir(d));) {
    if (de->d_name[0] == '.' || !ends_with(de->d_name, ".lua") || ends_with(de->d_name, "_test.lua"))
      continue;
    char **grown = realloc(paths, (*n + 2) * sizeof *paths);
    size_t len = strlen(dir) + strlen(de->d_name) + 2;
    char *path = grown ? malloc(len) : NULL;
    if (!path) {
      free_list(grown ? grown : paths, *n);
      paths = NULL;
      break;
    }
    paths = grown;
    snprintf(path, len, "%s/%s", dir, de->d_name);
    paths[(*n)++] = path;
  }
  closedir(d);
  if (!paths) {
    snprintf(err, errlen, "journeys folder %s: out of memory", dir);
    return NULL;
  }
  qsort(paths, *n, sizeof *paths, util_cmp_strp);
  return paths;
}

static void free_list(char **paths, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
}

/* Whether a stored value pins exactly the files this journey runs. */
static int same_bundle(const struct journey *a, const char *stored, size_t len)
{
  size_t alen;
  const char *abundle = lhost_journey_bundle(a, &alen);
  return alen == len && memcmp(abundle, stored, len) == 0;
}

/* A store written before bundles holds the journey's bare text. When that text is the
 * file's, the version has not changed: its modules and templates were read from disk,
 * which is what the bundle now pins. */
static int same_bare_source(const struct journey *j, const char *stored, size_t len)
{
  size_t slen;
  const char *src = lhost_journey_source(j, &slen);
  return !lhost_is_bundle(stored, len) && slen == len && memcmp(src, stored, len) == 0;
}

/* The version a freshly loaded journey runs as: the newest stored one when its files are
 * the same (a restart; a bare text from before bundles is replaced by the bundle), else a
 * new version whose files are pinned in the store. */
static uint32_t pin_version(struct registry *reg, const struct journey *j)
{
  struct store *st = reg->store;
  const char *name = lhost_journey_info(j)->name;
  uint32_t version = st->ops->journey_latest(st, name);
  char *old = NULL;
  size_t olen = 0, len;
  const char *bundle = lhost_journey_bundle(j, &len);
  int same = 0;
  if (version && st->ops->journey_get(st, name, version, &old, &olen) == 1) {
    same = same_bundle(j, old, olen);
    if (!same && same_bare_source(j, old, olen)) {
      st->ops->journey_put(st, name, version, bundle, len);
      same = 1;
    }
  }
  free(old);
  if (same)
    return version;
  st->ops->journey_put(st, name, version + 1, bundle, len);
  return version + 1;
}

static void log_version(struct registry *reg, const char *msg, const struct jslot *s)
{
  char v[16];
  snprintf(v, sizeof v, "%u", s->version);
  log_kv(reg->lhost.log, LOG_INFO, "journey", msg, "name", s->name, "version", v, "path", s->path, (char *)NULL);
}

int registry_open(struct registry *reg, struct store *store, const struct lhost_config *lhost,
                  char *err, size_t errlen)
{
  memset(reg, 0, sizeof *reg);
  reg->store = store;
  reg->lhost = *lhost;
  reg->lhost.source = NULL;
  reg->lhost.source_len = 0;
  size_t n;
  char **paths = list_files(reg->lhost.journeys_dir, &n, err, errlen);
  if (!paths)
    return -1;
  struct lhost_config lc = reg->lhost;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct journey *j;
    if (lhost_journey_load(&lc, paths[i], &j, err, errlen) < 0) {
      rc = -1;
      break;
    }
    const char *name = lhost_journey_info(j)->name;
    if (find_current(reg, name)) {
      snprintf(err, errlen, "%s: a journey named '%s' is already loaded", paths[i], name);
      lhost_journey_free(j);
      rc = -1;
      break;
    }
    log_version(reg, "loaded", add_slot(reg, name, paths[i], pin_version(reg, j), j, 1));
  }
  free_list(paths, n);
  return rc;
}

/* An old version with no conversation left is closed and forgotten. */
static void retire_if_idle(struct registry *reg, struct jslot *s)
{
  if (s->current || reg->store->ops->active_add(reg->store, s->name, s->version, 0) > 0)
    return;
  log_version(reg, "drained: version closed", s);
  reg->store->ops->journey_del(reg->store, s->name, s->version);
  free_slot(s);
  *s = reg->slots[--reg->n_slots];
}

static int path_in(const char *path, char **paths, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (paths[i] && strcmp(paths[i], path) == 0)
      return 1;
  return 0;
}

/* Takes one freshly loaded file during a reload. Returns 0, or -1 when refused. */
static int reload_one(struct registry *reg, struct journey *j, const char *path, char **taken, size_t n_taken)
{
  const char *name = lhost_journey_info(j)->name;
  struct jslot *cur = find_current(reg, name);
  size_t len;
  const char *bundle = lhost_journey_bundle(j, &len);
  if (cur && path_in(cur->path, taken, n_taken) && strcmp(cur->path, path) != 0) {
    log_kv(reg->lhost.log, LOG_ERROR, "journey", "reload refused: two files name the same journey", "name", name,
           "path", path, (char *)NULL);
    lhost_journey_free(j);
    return -1;
  }
  if (cur && cur->j && same_bundle(cur->j, bundle, len)) {
    lhost_journey_free(j); /* unchanged */
    return 0;
  }
  uint32_t version = pin_version(reg, j);
  if (cur) {
    cur->current = 0;
    retire_if_idle(reg, cur);
  }
  log_version(reg, "reloaded: new conversations start on this version",
              add_slot(reg, name, path, version, j, 1));
  return 0;
}

int registry_reload(struct registry *reg)
{
  char err[1024];
  size_t n;
  char **paths = list_files(reg->lhost.journeys_dir, &n, err, sizeof err);
  if (!paths) {
    log_kv(reg->lhost.log, LOG_ERROR, "journey", "reload refused", "error", err, (char *)NULL);
    return 1;
  }
  struct lhost_config lc = reg->lhost;
  int refused = 0;
  for (size_t i = 0; i < n; i++) {
    struct journey *j;
    if (lhost_journey_load(&lc, paths[i], &j, err, sizeof err) < 0) {
      log_kv(reg->lhost.log, LOG_ERROR, "journey", "reload refused, the running version keeps serving", "path",
             paths[i], "error", err, (char *)NULL);
      refused++;
      continue; /* its path stays in `paths`: its current slot is kept below */
    }
    refused += reload_one(reg, j, paths[i], paths, i) < 0;
  }
  /* journeys whose file is gone take no new conversations and drain */
  for (size_t i = reg->n_slots; i-- > 0;) {
    struct jslot *s = &reg->slots[i];
    if (s->current && !path_in(s->path, paths, n)) {
      s->current = 0;
      log_version(reg, "removed: drains", s);
      retire_if_idle(reg, s);
    }
  }
  free_list(paths, n);
  return refused;
}

struct journey *registry_current(struct registry *reg, const char *name)
{
  struct jslot *s = find_current(reg, name);
  return s ? s->j : NULL;
}

uint32_t registry_current_version(struct registry *reg, const char *name)
{
  struct jslot *s = find_current(reg, name);
  return s ? s->version : 0;
}

/* The path an old version loads under: the file of its current version, or where a file
 * of that name would be. Its bundle brings its modules and templates; only a version
 * stored before bundles reads them from beside that path. */
static void old_version_path(struct registry *reg, const char *name, char *path, size_t n)
{
  struct jslot *cur = find_current(reg, name);
  if (cur)
    snprintf(path, n, "%s", cur->path);
  else
    snprintf(path, n, "%s/%s.lua", reg->lhost.journeys_dir, name);
}

struct journey *registry_get(struct registry *reg, const char *name, uint32_t version, char *err,
                             size_t errlen)
{
  struct jslot *s = find(reg, name, version);
  if (s && s->j)
    return s->j;
  char *src = NULL, path[4096];
  size_t len;
  if (reg->store->ops->journey_get(reg->store, name, version, &src, &len) != 1) {
    snprintf(err, errlen, "version %u of journey '%s' is not stored", version, name);
    return NULL;
  }
  old_version_path(reg, name, path, sizeof path);
  struct lhost_config lc = reg->lhost;
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
    s = add_slot(reg, name, path, version, j, 0);
  log_version(reg, "loaded an older version from the store", s);
  return j;
}

void registry_active(struct registry *reg, const char *name, uint32_t version, int delta)
{
  int64_t n = reg->store->ops->active_add(reg->store, name, version, delta);
  struct jslot *s;
  if (delta < 0 && n <= 0 && (s = find(reg, name, version)))
    retire_if_idle(reg, s);
}

void registry_close(struct registry *reg)
{
  for (size_t i = 0; i < reg->n_slots; i++)
    free_slot(&reg->slots[i]);
  free(reg->slots);
  reg->slots = NULL;
  reg->n_slots = 0;
}

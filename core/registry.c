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
 * journey test (`parley test`), which may sit among the journeys it tests. NULL with *why
 * (no path: the caller names the folder where it may) when the folder cannot be read. */
static void free_list(char **paths, size_t n);

static char **list_files(const char *dir, size_t *n, const char **why)
{
  DIR *d = opendir(dir);
  if (!d) {
    *why = strerror(errno);
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
  if (!paths)
    *why = "out of memory";
  else
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

static const char *file_name(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void outcomes_clear(struct registry *reg)
{
  for (size_t i = 0; i < reg->n_outcomes; i++) {
    free(reg->outcomes[i].file);
    free(reg->outcomes[i].name);
    free(reg->outcomes[i].error);
  }
  free(reg->outcomes);
  reg->outcomes = NULL;
  reg->n_outcomes = 0;
}

/* Keeps what this load made of the file at `path`, for the API (GET /v1/journeys). Out of
 * memory, the outcome is missing there; the log line has it. */
static void note(struct registry *reg, const char *path, const char *name, uint32_t version,
                 enum registry_outcome_kind kind, const char *error)
{
  struct registry_outcome *n = realloc(reg->outcomes, (reg->n_outcomes + 1) * sizeof *n);
  if (!n)
    return;
  reg->outcomes = n;
  n[reg->n_outcomes++] = (struct registry_outcome){strdup(file_name(path)), name ? strdup(name) : NULL,
                                                   version, kind, error ? strdup(error) : NULL};
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
  const char *why;
  char **paths = list_files(reg->lhost.journeys_dir, &n, &why);
  if (!paths) {
    snprintf(err, errlen, "journeys folder %s: %s", reg->lhost.journeys_dir, why);
    return -1;
  }
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
    struct jslot *slot = add_slot(reg, name, paths[i], pin_version(reg, j), j, 1);
    log_version(reg, "loaded", slot);
    note(reg, paths[i], name, slot->version, REGISTRY_LOADED, NULL);
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
    char why[300];
    log_kv(reg->lhost.log, LOG_ERROR, "journey", "reload refused: two files name the same journey", "name", name,
           "path", path, (char *)NULL);
    snprintf(why, sizeof why, "the journey '%s' is already loaded from %s", name, file_name(cur->path));
    note(reg, path, name, cur->version, REGISTRY_REFUSED, why);
    lhost_journey_free(j);
    return -1;
  }
  if (cur && cur->j && same_bundle(cur->j, bundle, len)) {
    note(reg, path, name, cur->version, REGISTRY_UNCHANGED, NULL);
    lhost_journey_free(j);
    return 0;
  }
  uint32_t version = pin_version(reg, j);
  if (cur) {
    cur->current = 0;
    retire_if_idle(reg, cur);
  }
  note(reg, path, name, version, REGISTRY_LOADED, NULL);
  log_version(reg, "reloaded: new conversations start on this version",
              add_slot(reg, name, path, version, j, 1));
  return 0;
}

/* The current version loaded from `path`, or NULL. */
static struct jslot *current_from(struct registry *reg, const char *path)
{
  for (size_t i = 0; i < reg->n_slots; i++)
    if (reg->slots[i].current && strcmp(reg->slots[i].path, path) == 0)
      return &reg->slots[i];
  return NULL;
}

/* A file that failed to load: refused, logged, and noted with the version that keeps
 * serving in its place (none for a file that never loaded). */
static void refuse_file(struct registry *reg, const char *path, const char *err)
{
  const struct jslot *s = current_from(reg, path);
  log_kv(reg->lhost.log, LOG_ERROR, "journey", "reload refused, the running version keeps serving", "path", path,
         "error", err, (char *)NULL);
  note(reg, path, s ? s->name : NULL, s ? s->version : 0, REGISTRY_REFUSED, err);
}

/* A folder that cannot be read changes nothing: the last reload's outcomes stand. The log
 * names the folder; the API, which shows folder_error, never a path of the machine. */
static void refuse_folder(struct registry *reg, const char *why)
{
  char msg[300];
  log_kv(reg->lhost.log, LOG_ERROR, "journey", "reload refused: the journeys folder cannot be read", "path",
         reg->lhost.journeys_dir, "error", why, (char *)NULL);
  snprintf(msg, sizeof msg, "the journeys folder cannot be read: %s", why);
  free(reg->folder_error);
  reg->folder_error = strdup(msg);
}

int registry_reload(struct registry *reg)
{
  char err[1024];
  size_t n;
  const char *why;
  char **paths = list_files(reg->lhost.journeys_dir, &n, &why);
  if (!paths) {
    refuse_folder(reg, why);
    return 1;
  }
  free(reg->folder_error);
  reg->folder_error = NULL;
  outcomes_clear(reg);
  struct lhost_config lc = reg->lhost;
  int refused = 0;
  for (size_t i = 0; i < n; i++) {
    struct journey *j;
    if (lhost_journey_load(&lc, paths[i], &j, err, sizeof err) < 0) {
      refuse_file(reg, paths[i], err);
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
      note(reg, s->path, s->name, s->version, REGISTRY_REMOVED, NULL);
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
  outcomes_clear(reg);
  free(reg->folder_error);
  reg->folder_error = NULL;
}

int64_t registry_caps_window(const struct registry *reg)
{
  int64_t w = 0;
  for (size_t i = 0; i < reg->n_slots; i++) {
    const struct journey_info *info = reg->slots[i].j ? lhost_journey_info(reg->slots[i].j) : NULL;
    for (size_t c = 0; info && c < info->n_caps; c++)
      if (info->caps[c].per_ms > w)
        w = info->caps[c].per_ms;
  }
  return w;
}

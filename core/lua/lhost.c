/* Loading a journey: run its file once in a fresh sandbox (under the step budget, so a
 * file that loops forever cannot hang the daemon), read the table `journey { ... }`
 * returned into struct journey_info, keep every step handler and the entry condition
 * (entry.when) by luaL_ref, merge params with the configuration's overrides, compile the
 * templates, pack every file it read into the bundle the store pins, then lock the
 * globals (from then on no module can be loaded). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "lhost_int.h"
#include "srcline.h"
#include "log.h"

struct load_ctx {
  struct journey *j;
  const struct lhost_config *cfg;
};

static char *dup_or_raise(lua_State *L, const char *s)
{
  char *d = strdup(s);
  if (d == NULL)
    luaL_error(L, "out of memory");
  return d;
}

/* A duration field: a string ("7d") or a number of seconds. */
static int64_t read_duration(lua_State *L, int idx, const char *field)
{
  char err[256];
  int64_t ms;
  const char *name = lhost_journey_of(L)->info.name;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number s = lua_tonumber(L, idx);
    if (!(s >= 0 && s < 9.2e15))
      luaL_error(L, "journey '%s': %s must be a duration >= 0", name, field);
    return (int64_t)(s * 1000);
  }
  if (!lua_isstring(L, idx) || duration_parse(lua_tostring(L, idx), &ms, err, sizeof err) < 0)
    luaL_error(L, "journey '%s': %s: %s", name, field,
               lua_isstring(L, idx) ? err : "must be a duration like \"7d\"");
  return ms;
}

/* goal / exit: the SDK normalised them to lists of strings. */
static const char **read_list(lua_State *L, int spec, const char *field, size_t *n)
{
  lua_getfield(L, spec, field);
  size_t len = lua_istable(L, -1) ? lua_rawlen(L, -1) : 0;
  const char **v = calloc(len + 1, sizeof *v);
  if (v == NULL)
    luaL_error(L, "out of memory");
  *n = 0;
  for (size_t i = 0; i < len; i++) {
    if (lua_rawgeti(L, -1, (lua_Integer)i + 1) != LUA_TSTRING) {
      free(v);
      luaL_error(L, "journey: %s[%d] must be an event type string", field, (int)i + 1);
    }
    v[i] = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    *n = i + 1;
    if (v[i] == NULL) {
      for (size_t k = 0; k < i; k++)
        free((char *)v[k]);
      free(v);
      luaL_error(L, "out of memory");
    }
  }
  lua_pop(L, 1);
  return v;
}

/* entry.when is kept by reference, like a step: lhost_entry_allows calls it. The SDK
 * already refused anything but a function; this says so again for a hand-made spec. */
static void read_entry_when(lua_State *L, struct journey *j)
{
  int t = lua_getfield(L, -1, "when");
  if (t == LUA_TFUNCTION) {
    j->entry_when_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the function */
    return;
  }
  if (t != LUA_TNIL)
    luaL_error(L, "journey '%s': entry.when must be a function(contact, ev) that returns true "
                  "or false", j->info.name);
  lua_pop(L, 1);
}

static void read_entry(lua_State *L, struct journey *j, int spec)
{
  j->info.reenter_after_ms = -1;
  if (lua_getfield(L, spec, "entry") == LUA_TTABLE) {
    if (lua_getfield(L, -1, "event") == LUA_TSTRING)
      j->info.entry_event = dup_or_raise(L, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "reenter_after") != LUA_TNIL)
      j->info.reenter_after_ms = read_duration(L, -1, "entry.reenter_after");
    lua_pop(L, 1);
    read_entry_when(L, j);
  }
  lua_pop(L, 1);
}

/* caps, as the SDK checked them (a hand-made spec is checked again: each must read). */
static void read_caps(lua_State *L, struct journey *j, int spec)
{
  if (lua_getfield(L, spec, "caps") == LUA_TTABLE) {
    size_t n = lua_rawlen(L, -1);
    if (n > 16)
      luaL_error(L, "journey '%s': at most 16 caps", j->info.name);
    if (n && !(j->info.caps = calloc(n, sizeof *j->info.caps)))
      luaL_error(L, "out of memory");
    for (size_t i = 0; i < n; i++) {
      struct lhost_cap *cap = &j->info.caps[j->info.n_caps++];
      lua_rawgeti(L, -1, (lua_Integer)i + 1);
      if (!lua_istable(L, -1) || lua_getfield(L, -1, "max") != LUA_TNUMBER || !lua_isinteger(L, -1) ||
          lua_tointeger(L, -1) < 0)
        luaL_error(L, "journey '%s': caps[%d].max must be a whole number of messages", j->info.name, (int)i + 1);
      cap->max = lua_tointeger(L, -1);
      lua_getfield(L, -2, "per");
      cap->per_ms = read_duration(L, -1, "caps.per");
      if (cap->per_ms <= 0)
        luaL_error(L, "journey '%s': caps[%d].per must be longer than 0", j->info.name, (int)i + 1);
      if (lua_getfield(L, -3, "channel") == LUA_TSTRING)
        cap->channel = dup_or_raise(L, lua_tostring(L, -1));
      lua_pop(L, 4);
    }
  }
  lua_pop(L, 1);
}

static cJSON *lua_scalar_json(lua_State *L, int idx)
{
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: return cJSON_CreateString(lua_tostring(L, idx));
  case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
  case LUA_TNUMBER: return cJSON_CreateNumber((double)lua_tonumber(L, idx));
  default: return NULL;
  }
}

/* params: the journey's defaults, overridden key by key by cfg->params[journey][param].
 * An override for a param the journey does not declare is a typo: warned and ignored. */
static void read_params(lua_State *L, struct journey *j, int spec, const cJSON *overrides)
{
  if ((j->params = cJSON_CreateObject()) == NULL)
    luaL_error(L, "out of memory");
  if (lua_getfield(L, spec, "params") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      cJSON *v = lua_type(L, -2) == LUA_TSTRING ? lua_scalar_json(L, -1) : NULL;
      if (v == NULL)
        luaL_error(L, "journey '%s': params values must be strings, numbers or booleans",
                   j->info.name);
      cJSON_AddItemToObject(j->params, lua_tostring(L, -2), v);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  const cJSON *mine = cJSON_GetObjectItemCaseSensitive(overrides, j->info.name);
  for (const cJSON *o = cJSON_IsObject(mine) ? mine->child : NULL; o; o = o->next) {
    if (!cJSON_HasObjectItem(j->params, o->string) || cJSON_IsObject(o) || cJSON_IsArray(o)) {
      log_kv(j->log, LOG_WARN, "journey", "ignoring unknown or non-scalar param override",
             "journey", j->info.name, "param", o->string, NULL);
      continue;
    }
    cJSON *copy = cJSON_Duplicate(o, 0);
    if (copy == NULL)
      luaL_error(L, "out of memory");
    cJSON_ReplaceItemInObjectCaseSensitive(j->params, o->string, copy);
  }
  lhost_push_json(L, j->params, 1, "c.params");
  j->params_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static int cmp_steps(const void *a, const void *b)
{
  return strcmp(((const struct lhost_stepref *)a)->name,
                ((const struct lhost_stepref *)b)->name);
}

/* Keeps each step handler by reference: a step is never looked up by name in Lua. */
static void read_steps(lua_State *L, struct journey *j, int spec)
{
  lua_getfield(L, spec, "steps");
  luaL_checktype(L, -1, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TFUNCTION)
      luaL_error(L, "journey '%s': steps must be named functions", j->info.name);
    struct lhost_stepref *ns = realloc(j->steps, (j->n_steps + 1) * sizeof *ns);
    if (ns == NULL)
      luaL_error(L, "out of memory");
    j->steps = ns;
    ns[j->n_steps].ref = LUA_NOREF;
    ns[j->n_steps].name = dup_or_raise(L, lua_tostring(L, -2));
    ns[j->n_steps++].ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the function */
  }
  lua_pop(L, 1);
  qsort(j->steps, j->n_steps, sizeof *j->steps, cmp_steps);
  if (lhost_step_find(j, "start") == NULL)
    luaL_error(L, "journey '%s' has no 'start' step", j->info.name);
  j->info.first_step = lhost_step_find(j, "start")->name;
}

static int is_journey_spec(lua_State *L, int idx)
{
  if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
    return 0;
  lua_getfield(L, -1, "__name");
  int ok = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "parley.journey") == 0;
  lua_pop(L, 2);
  return ok;
}

static void read_spec(lua_State *L, struct load_ctx *lc, int spec)
{
  struct journey *j = lc->j;
  if (!is_journey_spec(L, spec))
    luaL_error(L, "%s: the file must return a journey: return journey { name = ..., start = "
                  "function(c, ev) ... end }", j->file);
  lua_getfield(L, spec, "name");
  j->info.name = dup_or_raise(L, luaL_checkstring(L, -1));
  lua_pop(L, 1);
  read_entry(L, j, spec);
  j->info.goal_events = read_list(L, spec, "goal", &j->info.n_goal);
  j->info.exit_events = read_list(L, spec, "exit", &j->info.n_exit);
  lua_getfield(L, spec, "migrate");
  j->info.migrate = lua_toboolean(L, -1);
  lua_pop(L, 1);
  read_params(L, j, spec, lc->cfg->params);
  read_caps(L, j, spec);
  read_steps(L, j, spec);
}

/* A mistake parley.journey found in the description ("journey 'x': caps[1].per: bad
 * duration"): `return journey { ... }` is a tail call, so no line of the file is on the
 * stack when it is raised; the line is the one that wrote the key, read from the source. */
static int spec_error(lua_State *L, struct journey *j, const char *msg)
{
  char path[128];
  const char *at = strstr(msg, "': ");
  int line = at && srcline_path(at + 3, path, sizeof path)
                 ? srcline_find(j->source, j->source_len, "journey", path)
                 : 0;
  if (line > 0)
    return luaL_error(L, "%s:%d: %s", j->file, line, msg);
  return luaL_error(L, "%s: %s", j->file, msg);
}

/* Protected: runs the journey file under the budget and reads what it returned. */
static int load_main(lua_State *L)
{
  struct load_ctx *lc = lua_touserdata(L, 1);
  struct journey *j = lc->j;
  char err[1024];
  lua_pushcfunction(L, lhost_msgh); /* 2 */
  if (lhost_load_source(L, j->source, j->source_len, j->file, err, sizeof err) < 0)
    return luaL_error(L, "%s", err);
  lhost_budget_start(j);
  int rc = lua_pcall(L, 0, 1, 2);
  lhost_budget_stop(j);
  if (lhost_budget_failed(j, "loading the journey file", err, sizeof err))
    return luaL_error(L, "%s: %s", j->file, err);
  if (rc != LUA_OK && lua_isstring(L, -1) && strncmp(lua_tostring(L, -1), "journey '", 9) == 0)
    return spec_error(L, j, lua_tostring(L, -1));
  if (rc != LUA_OK)
    return lua_error(L);
  read_spec(L, lc, 3);
  return 0;
}

/* The sandbox, with the journey API installed between its two steps: new (state,
 * allocator, libraries), the API, then seal (read-only libraries, protected globals). NULL
 * when out of memory. */
static lua_State *sandbox_build(struct journey *j)
{
  lua_State *L = lhost_sandbox_new(j);
  if (L == NULL)
    return NULL;
  lua_pushcfunction(L, lhost_api_open);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK || lhost_sandbox_seal(L) < 0) {
    lua_close(L);
    return NULL;
  }
  return L;
}

/* The journey file as errors name it: relative to the journeys folder (its base name when
 * it lies elsewhere). An error is stored on conversations and shown by the API: it names
 * the file the journey's author knows, never a path of the machine. */
static const char *relative_name(const char *path, const char *dir)
{
  size_t n = dir ? strlen(dir) : 0;
  if (n && strncmp(path, dir, n) == 0 && path[n] == '/')
    return path + n + 1;
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static struct journey *journey_new(const struct lhost_config *cfg, const char *path)
{
  struct journey *j = calloc(1, sizeof *j);
  if (j == NULL)
    return NULL;
  j->limits = cfg->limits;
  j->log = cfg->log;
  j->params_ref = j->methods_ref = j->decision_mt_ref = j->entry_when_ref = LUA_NOREF;
  j->fixed_ref = j->randomseed_ref = LUA_NOREF;
  j->random_salt = cfg->random_salt;
  j->run.c_ref = LUA_NOREF;
  j->info.reenter_after_ms = -1;
  j->info.path = strdup(path);
  j->file = strdup(relative_name(path, cfg->journeys_dir));
  j->sdk_dir = cfg->sdk_dir ? strdup(cfg->sdk_dir) : NULL;
  j->journeys_dir = cfg->journeys_dir ? strdup(cfg->journeys_dir) : NULL;
  if (j->info.path == NULL || j->file == NULL || (cfg->sdk_dir && !j->sdk_dir) ||
      (cfg->journeys_dir && !j->journeys_dir)) {
    lhost_journey_free(j);
    return NULL;
  }
  return j;
}

/* The journey's text: from cfg->source (a stored version: a bundle, or bare text from a
 * store written before bundles) or from the file. Returns 0, or -1 with err. */
static int read_source(struct journey *j, const struct lhost_config *cfg, const char *path,
                       char *err, size_t errlen)
{
  if (cfg->source == NULL) {
    j->source = lhost_read_file(path, j->file, LHOST_MAX_SOURCE, &j->source_len, err, errlen);
    return j->source ? 0 : -1;
  }
  int rc = lhost_bundle_unpack(j, cfg->source, cfg->source_len, err, errlen);
  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if ((j->source = malloc(cfg->source_len + 1)) == NULL) {
    snprintf(err, errlen, "%s: out of memory", j->file);
    return -1;
  }
  memcpy(j->source, cfg->source, cfg->source_len);
  j->source[cfg->source_len] = '\0';
  j->source_len = cfg->source_len;
  return 0;
}

/* The bundle to pin: a pinned version keeps the very bytes it came from; otherwise the
 * files the load read are packed. Then they are dropped: the Lua state and the compiled
 * templates hold what runs. */
static int keep_bundle(struct journey *j, const struct lhost_config *cfg, char *err,
                       size_t errlen)
{
  if (j->pinned) {
    j->bundle = malloc(cfg->source_len ? cfg->source_len : 1);
    if (j->bundle == NULL) {
      snprintf(err, errlen, "%s: out of memory", j->file);
      return -1;
    }
    memcpy(j->bundle, cfg->source, cfg->source_len);
    j->bundle_len = cfg->source_len;
  } else if (lhost_bundle_pack(j, err, errlen) < 0) {
    return -1;
  }
  lhost_files_free(&j->modules);
  lhost_files_free(&j->templates);
  return 0;
}

int lhost_journey_load(const struct lhost_config *cfg, const char *path, struct journey **out,
                       char *err, size_t errlen)
{
  struct load_ctx lc = {.cfg = cfg};
  struct journey *j = lc.j = journey_new(cfg, path);
  *out = NULL;
  if (j == NULL) {
    snprintf(err, errlen, "%s: out of memory", relative_name(path, cfg->journeys_dir));
    return -1;
  }
  if (read_source(j, cfg, path, err, errlen) < 0)
    goto fail;
  if ((j->L = sandbox_build(j)) == NULL) {
    snprintf(err, errlen, "%s: cannot create a Lua state (is the memory limit too small?)",
             j->file);
    goto fail;
  }
  lua_pushcfunction(j->L, load_main);
  lua_pushlightuserdata(j->L, &lc);
  if (lua_pcall(j->L, 1, 0, 0) != LUA_OK) {
    const char *m = lua_tostring(j->L, -1);
    snprintf(err, errlen, "%s", m ? m : "cannot load the journey");
    goto fail;
  }
  if (lhost_templates_load(j, path, err, errlen) < 0) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", err);
    snprintf(err, errlen, "%s: %s", j->file, tmp);
    goto fail;
  }
  if (keep_bundle(j, cfg, err, errlen) < 0 || lhost_freeze(j, err, errlen) < 0)
    goto fail;
  lhost_sandbox_lock(j->L);
  lua_settop(j->L, 0);
  lua_gc(j->L, LUA_GCCOLLECT, 0);
  *out = j;
  return 0;
fail:
  lhost_journey_free(j);
  return -1;
}

static void free_list(const char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free((char *)v[i]);
  free(v);
}

void lhost_journey_free(struct journey *j)
{
  if (j == NULL)
    return;
  if (j->L)
    lua_close(j->L);
  for (size_t i = 0; i < j->n_steps; i++)
    free(j->steps[i].name);
  free(j->steps);
  lhost_templates_free(j);
  cJSON_Delete(j->params);
  free((char *)j->info.name);
  free((char *)j->info.path);
  free(j->file);
  free((char *)j->info.entry_event);
  for (size_t i = 0; i < j->info.n_caps; i++)
    free((char *)j->info.caps[i].channel);
  free(j->info.caps);
  free_list(j->info.goal_events, j->info.n_goal);
  free_list(j->info.exit_events, j->info.n_exit);
  free(j->sdk_dir);
  free(j->journeys_dir);
  free(j->source);
  lhost_files_free(&j->modules);
  lhost_files_free(&j->templates);
  free(j->bundle);
  free(j);
}

const char *lhost_journey_bundle(const struct journey *j, size_t *len)
{
  *len = j->bundle_len;
  return j->bundle;
}

const char *lhost_journey_source(const struct journey *j, size_t *len)
{
  *len = j->source_len;
  return j->source;
}

const struct journey_info *lhost_journey_info(const struct journey *j)
{
  return &j->info;
}

int lhost_journey_has_step(const struct journey *j, const char *step)
{
  return step != NULL && lhost_step_find(j, step) != NULL;
}

size_t lhost_journey_memory_used(const struct journey *j)
{
  return j->alloc.used;
}

/* The sandbox every journey runs in: one lua_State per journey version with a limiting
 * allocator, a minimal library set, read-only SDK tables and string metatable, locked
 * globals, a text-only `require` confined to the SDK and journeys folders, and a step
 * budget enforced by a count hook (see docs/architecture.md, "The Lua host").
 * It is built in two steps, lhost_sandbox_new then lhost_sandbox_seal, so that whoever
 * builds it (lhost.c) installs the journey API in between: the sandbox knows nothing of
 * that API, and the API only uses the sandbox (lhost_readonly). */
#include <ctype.h>
#include <errno.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "lhost_int.h"
#include "util.h"
#include "log.h"

/* Counts every byte the state holds and refuses growth past the cap. Lua answers a NULL
 * with an emergency GC, then a "not enough memory" error the step cannot really survive:
 * mem_hit makes the step fail even if the script caught that error. */
static void *limit_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  struct lhost_alloc *a = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    a->used -= old;
    return NULL;
  }
  if (a->limit && nsize > old && a->used - old + nsize > a->limit) {
    a->budget->mem_hit = 1;
    a->refused_ptr = ptr;
    a->refused_osize = osize;
    a->refused_nsize = nsize;
    return NULL;
  }
  void *np = realloc(ptr, nsize);
  if (np == NULL)
    return NULL;
  if (a->budget->mem_hit && ptr == a->refused_ptr && osize == a->refused_osize &&
      nsize == a->refused_nsize) /* the retry after Lua's emergency collection fits */
    a->budget->mem_hit = 0;
  a->used = a->used - old + nsize;
  return np;
}

/* Every entry into Lua is protected, so a panic is a Parley bug: say so loudly. */
static int on_panic(lua_State *L)
{
  const char *msg = lua_tostring(L, -1);
  log_kv(NULL, LOG_ERROR, "lua", "unprotected Lua error (bug)", "error", msg ? msg : "?",
         NULL);
  return 0; /* Lua aborts */
}

static int budget_every(const struct journey *j)
{
  int64_t n = j->limits.step_instructions;
  return n > 0 && n < LHOST_HOOK_EVERY ? (int)n : LHOST_HOOK_EVERY;
}

/* Checks the budget every few instructions. Once over, it re-arms itself for every
 * instruction and keeps raising, so a script's pcall loop cannot swallow the kill. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
  struct journey *j = lhost_journey_of(L);
  struct lhost_budget *b = &j->budget;
  (void)ar;
  if (!b->active)
    return;
  if (b->kill == KILL_NONE) {
    if (lhost_budget_spend(j, budget_every(j)) == KILL_NONE)
      return;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
  }
  lhost_budget_raise(L, b->kill);
}

void lhost_budget_start(struct journey *j)
{
  struct lhost_budget *b = &j->budget;
  b->kill = KILL_NONE;
  b->mem_hit = 0;
  b->instructions = 0;
  b->deadline_ms = j->limits.step_ms > 0 ? clock_monotonic_ms() + j->limits.step_ms : 0;
  b->active = 1;
  if (j->limits.step_instructions > 0 || j->limits.step_ms > 0)
    lua_sethook(j->L, budget_hook, LUA_MASKCOUNT, budget_every(j));
}

/* A C function the hook cannot see into may have run past the deadline: the step still
 * fails, whatever it returned. */
void lhost_budget_stop(struct journey *j)
{
  struct lhost_budget *b = &j->budget;
  b->active = 0;
  lua_sethook(j->L, NULL, 0, 0);
  if (b->kill == KILL_NONE && b->deadline_ms && clock_monotonic_ms() > b->deadline_ms)
    b->kill = KILL_TIME;
}

/* After the step: a limit hit at any point fails it, whatever the script did about it. */
int lhost_budget_failed(struct journey *j, const char *what, char *err, size_t errlen)
{
  const struct lhost_budget *b = &j->budget;
  if (b->kill == KILL_INSTRUCTIONS)
    snprintf(err, errlen, "%s exceeded its instruction budget (%lld instructions)", what,
             (long long)j->limits.step_instructions);
  else if (b->kill == KILL_TIME)
    snprintf(err, errlen, "%s exceeded its %lld ms time budget", what, (long long)j->limits.step_ms);
  else if (b->mem_hit)
    snprintf(err, errlen, "%s exceeded the memory limit (%zu bytes)", what, j->alloc.limit);
  else
    return 0;
  return 1;
}

/* "file.lua:12: ..." -- the message already says where. */
static int has_position(const char *msg)
{
  const char *c = strchr(msg, ':');
  if (c == NULL || c == msg || memchr(msg, ' ', (size_t)(c - msg)))
    return 0;
  size_t d = strspn(c + 1, "0123456789");
  return d > 0 && c[1 + d] == ':';
}

/* Message handler: make sure the message says where (file:line) and, when the error came
 * from deeper down, through which lines of the journey it travelled. */
int lhost_msgh(lua_State *L)
{
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL)
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_Buffer b;
  lua_Debug ar;
  int frames = 0;
  if (strncmp(msg, "journey '", 9) == 0) /* parley.journey's spec checks: said in full */
    return 1;
  luaL_buffinit(L, &b);
  for (int level = 1; lua_getstack(L, level, &ar) && frames < 5; level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
      continue;
    if (frames == 0) {
      if (!has_position(msg))
        lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline), luaL_addvalue(&b);
      luaL_addstring(&b, msg);
    } else {
      lua_pushfstring(L, "%s %s:%d", frames == 1 ? " (called from" : ",", ar.short_src,
                      ar.currentline);
      luaL_addvalue(&b);
    }
    frames++;
  }
  if (frames == 0)
    luaL_addstring(&b, msg);
  else if (frames > 1)
    luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

void lhost_seed_random(lua_State *L, struct journey *j, uint64_t conv_id, int64_t now_ms)
{
  uint64_t a = conv_id * 0x9E3779B97F4A7C15u ^ j->random_salt;
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->randomseed_ref);
  lua_pushinteger(L, (lua_Integer)a);
  lua_pushinteger(L, (lua_Integer)now_ms);
  lua_call(L, 2, 0);
}

/* Reads a whole file of at most `max` bytes. Errors call it `name`, its path relative to
 * its folder: they reach conversations and the API, which have no business with the
 * machine's paths. Returns a malloc'd buffer, or NULL with err. */
char *lhost_read_file(const char *path, const char *name, size_t max, size_t *len, char *err,
                      size_t errlen)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", name, strerror(errno));
    return NULL;
  }
  char *s = util_read_stream(f, name, max, len, err, errlen);
  fclose(f);
  return s;
}

/* Compiles source as text only: a binary chunk is refused, so no one can hand the VM
 * hand-made bytecode. `name` (relative to its folder) is the chunk's name, so every error
 * and traceback says "lib/util.lua:3:". Pushes the function, or returns -1 with err. */
int lhost_load_source(lua_State *L, const char *src, size_t n, const char *name, char *err,
                      size_t errlen)
{
  char chunkname[1024];
  snprintf(chunkname, sizeof chunkname, "@%s", name);
  int rc = luaL_loadbufferx(L, src, n, chunkname, "t");
  if (rc != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", m ? m : "cannot load");
    if (m && strstr(m, "binary chunk"))
      snprintf(err, errlen, "%s: binary (precompiled) chunks are refused; load Lua source",
               name);
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

static int ro_newindex(lua_State *L)
{
  return luaL_error(L, "%s is read-only (cannot set '%s')", lua_tostring(L, lua_upvalueindex(1)),
                    lua_isstring(L, 2) ? lua_tostring(L, 2) : luaL_typename(L, 2));
}

static int ro_next(lua_State *L)
{
  lua_settop(L, 2);
  if (lua_next(L, lua_upvalueindex(1)))
    return 2;
  lua_pushnil(L);
  return 1;
}

/* pairs() over a read-only table walks the hidden original without handing it out. */
static int ro_pairs(lua_State *L)
{
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, ro_next, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int ro_len(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
  return 1;
}

static void readonly_depth(lua_State *L, const char *what, int depth);

/* Wraps nested tables first, so `sdk.sub.x = 1` is refused like `sdk.x = 1`. */
static void readonly_children(lua_State *L, int real, const char *what, int depth)
{
  lua_pushnil(L);
  while (lua_next(L, real)) {
    if (lua_type(L, -1) == LUA_TTABLE && depth < 8 && lua_getmetatable(L, -1) == 0) {
      readonly_depth(L, what, depth + 1);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, real); /* replacing an existing key's value is allowed during next */
    } else {
      lua_pop(L, 1);
    }
  }
}

static void readonly_depth(lua_State *L, const char *what, int depth)
{
  int real = lua_gettop(L);
  readonly_children(L, real, what, depth);
  lua_newtable(L);
  lua_createtable(L, 0, 6);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, what);
  lua_pushcclosure(L, ro_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, ro_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, ro_len, 1);
  lua_setfield(L, -2, "__len");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  if (lua_getmetatable(L, real)) { /* keep a module callable: journey { ... } */
    if (lua_getfield(L, -1, "__call") != LUA_TNIL)
      lua_setfield(L, -3, "__call");
    else
      lua_pop(L, 1);
    lua_pop(L, 1);
  }
  lua_setmetatable(L, -2);
  lua_replace(L, real);
}

/* The host reads tables raw (no metamethod of a script's may run inside it), and a raw
 * read of a view sees an empty table: a file-level list of events would silently listen
 * for nothing. The host's own views are recognised by their __newindex and read
 * through. */
int lhost_readonly_unwrap(lua_State *L, int idx)
{
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
    return 0;
  lua_pushliteral(L, "__newindex");
  lua_rawget(L, -2);
  int view = lua_tocfunction(L, -1) == ro_newindex;
  lua_pop(L, 1);
  if (view) {
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 1);
  return 0;
}

/* Replaces the table on top of the stack with a read-only view of it. */
void lhost_readonly(lua_State *L, const char *what)
{
  readonly_depth(L, what, 0);
}

static int undeclared_global(lua_State *L)
{
  return luaL_error(L, "undeclared global '%s'",
                    lua_isstring(L, 2) ? lua_tostring(L, 2) : luaL_typename(L, 2));
}

static int global_newindex(lua_State *L)
{
  struct journey *j = lhost_journey_of(L);
  const char *k = lua_isstring(L, 2) ? lua_tostring(L, 2) : luaL_typename(L, 2);
  if (!j->locked) {
    lua_settop(L, 3);
    lua_rawset(L, lua_upvalueindex(1));
    return 0;
  }
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return luaL_error(L, "cannot assign global '%s': globals are read-only once the journey "
                         "is loaded (use a local, or c.memory)", k);
  return luaL_error(L, "assignment to undeclared global '%s' (use a local, or c.memory)", k);
}

/* Moves every global into a hidden table and leaves _G empty, so reads go through
 * __index (undeclared names raise) and every write goes through __newindex (refused once
 * locked) -- rawset is gone, and __metatable hides and pins both metatables. */
static void globals_protect(lua_State *L)
{
  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  lua_newtable(L);
  int real = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, g)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, real);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, g);
  }
  lua_pushvalue(L, g);
  lua_setfield(L, real, "_G");
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, undeclared_global);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, real);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, real);
  lua_pushcclosure(L, global_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, g);
  lua_settop(L, g - 1);
}

void lhost_sandbox_lock(lua_State *L)
{
  lhost_journey_of(L)->locked = 1;
}

static int valid_module_name(const char *s)
{
  if (*s == '\0' || *s == '.' || s[strlen(s) - 1] == '.' || strstr(s, ".."))
    return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
      return 0;
  return 1;
}

/* a.b.c -> a/b/c.lua, the module's file relative to its folder. */
static int module_file(const char *name, char *out, size_t outlen)
{
  int n = snprintf(out, outlen, "%s.lua", name);
  if (n < 0 || (size_t)n >= outlen)
    return -1;
  for (char *p = out; *p && strcmp(p, ".lua") != 0; p++)
    if (*p == '.')
      *p = '/';
  return 0;
}

static int join_path(const char *dir, const char *file, char *out, size_t outlen)
{
  int n = snprintf(out, outlen, "%s/%s", dir, file);
  return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* The text of a module of the journeys folder: from the stored bundle when the version is
 * pinned (never the disk), else read from disk and kept among the files the version runs.
 * NULL with err. */
static const struct lhost_file *journey_module(struct journey *j, const char *file, char *err,
                                               size_t errlen)
{
  char path[4096];
  size_t len;
  const struct lhost_file *f = lhost_files_find(&j->modules, file);
  if (f || j->pinned) {
    if (f == NULL)
      snprintf(err, errlen, "not part of this stored version");
    return f;
  }
  if (j->journeys_dir == NULL || join_path(j->journeys_dir, file, path, sizeof path) < 0) {
    snprintf(err, errlen, "no such module (no folder for it)");
    return NULL;
  }
  char *src = lhost_read_file(path, file, LHOST_MAX_SOURCE, &len, err, errlen);
  if (src == NULL)
    return NULL;
  if (lhost_files_add(&j->modules, file, src, len) < 0) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  return &j->modules.v[j->modules.n - 1];
}

/* An SDK module, from the SDK folder: Parley's own, never pinned with a version. */
static int sdk_module(lua_State *L, struct journey *j, const char *file, char *err,
                      size_t errlen)
{
  char path[4096];
  size_t len;
  if (j->sdk_dir == NULL || join_path(j->sdk_dir, file, path, sizeof path) < 0) {
    snprintf(err, errlen, "no such module (no folder for it)");
    return -1;
  }
  char *src = lhost_read_file(path, file, LHOST_MAX_SOURCE, &len, err, errlen);
  if (src == NULL)
    return -1;
  int rc = lhost_load_source(L, src, len, file, err, errlen);
  free(src);
  return rc;
}

/* Pushes the module's chunk, named by its file relative to its folder: parley.* from the
 * SDK, any other name from the journeys folder or the version's bundle. */
static int load_module(lua_State *L, struct journey *j, const char *name, char *err,
                       size_t errlen)
{
  char file[1024];
  if (module_file(name, file, sizeof file) < 0) {
    snprintf(err, errlen, "module name too long");
    return -1;
  }
  if (strncmp(name, "parley.", 7) == 0)
    return sdk_module(L, j, file, err, errlen);
  const struct lhost_file *f = journey_module(j, file, err, errlen);
  return f ? lhost_load_source(L, f->data, f->len, file, err, errlen) : -1;
}

static int call_module(lua_State *L, const char *name, int cache)
{
  lua_pushcfunction(L, lhost_msgh);
  lua_insert(L, -2);
  lua_pushstring(L, name);
  if (lua_pcall(L, 1, 1, -3) != LUA_OK) {
    lua_pushnil(L);
    lua_setfield(L, cache, name);
    return lua_error(L);
  }
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  } else if (lua_type(L, -1) == LUA_TTABLE) {
    char what[256];
    snprintf(what, sizeof what, "module '%s'", name);
    lhost_readonly(L, what);
  }
  return 0;
}

/* The only `require` journeys get: parley.* from the SDK, other names from the journeys
 * folder, source only, each loaded once per state and handed out read-only. A module not
 * loaded yet may only be required while the journey file loads: so the files a version
 * runs are all known once it has loaded, and pinned together (lhost_bundle.c). */
static int sandbox_require(lua_State *L)
{
  struct journey *j = lhost_journey_of(L);
  const char *name = luaL_checkstring(L, 1);
  char err[1024];
  int cache = lua_upvalueindex(1);
  if (!valid_module_name(name))
    return luaL_error(L, "require '%s': a module name is letters, digits, '_' and '.', "
                         "without '/' or '..'", name);
  if (lua_getfield(L, cache, name) == LUA_TLIGHTUSERDATA)
    return luaL_error(L, "require '%s': module requires itself (loop)", name);
  if (!lua_isnil(L, -1))
    return 1;
  lua_pop(L, 1);
  if (j->locked)
    return luaL_error(L, "require '%s': modules are loaded when the journey file loads; move "
                         "the require to the top of the file", name);
  if (load_module(L, j, name, err, sizeof err) < 0)
    return luaL_error(L, "require '%s': %s", name, err);
  lua_pushlightuserdata(L, j);
  lua_setfield(L, cache, name);
  call_module(L, name, cache);
  lua_pushvalue(L, -1);
  lua_setfield(L, cache, name);
  return 1;
}

static const char *const libraries[] = {"string", "table", "math", "utf8", NULL};

static void drop_global(lua_State *L, const char *name)
{
  lua_pushnil(L);
  lua_setglobal(L, name);
}

/* Runs protected: opening libraries allocates, and may fail under a tiny memory cap. */
static int sandbox_open(lua_State *L)
{
  static const char *const unsafe[] = {"load", "loadfile", "dofile", "collectgarbage",
                                       "rawset", "loadstring", "require", NULL};
  static const lua_CFunction openers[] = {luaopen_string, luaopen_table, luaopen_math,
                                          luaopen_utf8};
  luaL_requiref(L, "_G", luaopen_base, 1);
  lua_pop(L, 1);
  for (int i = 0; unsafe[i]; i++)
    drop_global(L, unsafe[i]);
  for (int i = 0; libraries[i]; i++) {
    luaL_requiref(L, libraries[i], openers[i], 1);
    lua_pop(L, 1);
  }
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  lhost_safelib_install(L);
  lua_getglobal(L, "math"); /* the host seeds each step; a journey cannot reseed */
  lua_getfield(L, -1, "randomseed");
  lhost_journey_of(L)->randomseed_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushnil(L);
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);
  lua_newtable(L);
  lhost_time_push(L); /* parley.time is the host's own: required like a module */
  lhost_readonly(L, "module 'parley.time'");
  lua_setfield(L, -2, "parley.time");
  lua_pushcclosure(L, sandbox_require, 1);
  lua_setglobal(L, "require");
  return 0;
}

/* Runs protected: the read-only views allocate. */
static int sandbox_seal(lua_State *L)
{
  for (int i = 0; libraries[i]; i++) {
    lua_getglobal(L, libraries[i]);
    lhost_readonly(L, libraries[i]);
    lua_setglobal(L, libraries[i]);
  }
  lua_pushliteral(L, ""); /* the string metatable: hidden and pinned */
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
  globals_protect(L);
  return 0;
}

/* Step one: the state, its allocator (under the journey's memory cap) and the library
 * set. Globals may still be set, until lhost_sandbox_seal. NULL when out of memory. */
lua_State *lhost_sandbox_new(struct journey *j)
{
  j->alloc.budget = &j->budget;
  j->alloc.limit = j->limits.memory_bytes;
  lua_State *L = lua_newstate(limit_alloc, &j->alloc);
  if (L == NULL)
    return NULL;
  *(struct journey **)lua_getextraspace(L) = j;
  lua_atpanic(L, on_panic);
  lua_pushcfunction(L, sandbox_open);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

/* Step two, once the journey API is in: the libraries become read-only, the string
 * metatable hidden, and every global goes behind __index/__newindex (writes allowed until
 * lhost_sandbox_lock). Returns 0, or -1 when out of memory (the caller closes L). */
int lhost_sandbox_seal(lua_State *L)
{
  lua_pushcfunction(L, sandbox_seal);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

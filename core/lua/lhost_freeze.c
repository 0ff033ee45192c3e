/* File-level state: what a journey's steps share. One Lua state serves every contact of a
 * journey version, so a file-level local is shared by all of them: a step that kept
 * contact A's data there could speak it to contact B. The rule (docs/architecture.md,
 * "The Lua host"): after the file has loaded, its file-level state is fixed.
 *  - Tables a step can reach through file-level locals become read-only (a write raises
 *    "file-level table 'x' is read-only").
 *  - Other file-level locals (numbers, strings, booleans, nil) may not be reassigned by a
 *    step: each is compared with its value at load after every step; a step that changed
 *    one fails, and the value is put back, so the next contact sees none of it.
 * Per-contact data belongs in c.memory. Found by walking the upvalues of the step
 * handlers and entry.when, and of every Lua function reachable from them through upvalues
 * and tables. A table with a metatable of its own is left as it is (the SDK's are
 * read-only already). */
#include <stdio.h>
#include <string.h>

#include "lhost_int.h"

#define FREEZE_MAX_DEPTH 16

struct freeze {
  lua_State *L;
  int seen;  /* functions and tables visited (a set) */
  int snap;  /* the fixed scalars: { {fn, index, name, value}, ... } */
  lua_Integer n;
};

static void walk_value(struct freeze *fz, int idx, int depth);

/* Remembers upvalue `i` of the function at `fidx`, whose value is on top (popped). */
static void snapshot(struct freeze *fz, int fidx, int i, const char *name)
{
  lua_State *L = fz->L;
  lua_createtable(L, 4, 0);
  lua_pushvalue(L, fidx);
  lua_rawseti(L, -2, 1);
  lua_pushinteger(L, i);
  lua_rawseti(L, -2, 2);
  lua_pushstring(L, name);
  lua_rawseti(L, -2, 3);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, 4);
  lua_rawseti(L, fz->snap, ++fz->n);
  lua_pop(L, 1);
}

static int first_visit(struct freeze *fz, int idx)
{
  lua_State *L = fz->L;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, fz->seen) != LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, fz->seen);
  return 1;
}

/* Functions kept in a table can reach file-level locals too. */
static void walk_table(struct freeze *fz, int tidx, int depth)
{
  lua_State *L = fz->L;
  lua_pushnil(L);
  while (lua_next(L, tidx)) {
    walk_value(fz, lua_gettop(L), depth + 1);
    lua_pop(L, 1);
  }
}

static void walk_function(struct freeze *fz, int fidx, int depth)
{
  lua_State *L = fz->L;
  const char *name;
  for (int i = 1; (name = lua_getupvalue(L, fidx, i)) != NULL; i++) {
    int t = lua_type(L, -1), top = lua_gettop(L);
    if (strcmp(name, "_ENV") == 0 || t == LUA_TFUNCTION || t == LUA_TUSERDATA ||
        t == LUA_TLIGHTUSERDATA || t == LUA_TTHREAD) {
      walk_value(fz, top, depth + 1);
      lua_pop(L, 1);
    } else if (t == LUA_TTABLE) {
      walk_value(fz, top, depth + 1);
      if (lua_getmetatable(L, top)) { /* read-only already, or the journey's own design */
        lua_pop(L, 2);
        continue;
      }
      char what[160];
      snprintf(what, sizeof what, "file-level table '%s'", name);
      lhost_readonly(L, what);
      lua_setupvalue(L, fidx, i); /* every closure sharing this local sees the view */
    } else {
      snapshot(fz, fidx, i, name);
    }
  }
}

static void walk_value(struct freeze *fz, int idx, int depth)
{
  lua_State *L = fz->L;
  int t = lua_type(L, idx);
  if (depth > FREEZE_MAX_DEPTH || (t != LUA_TFUNCTION && t != LUA_TTABLE) ||
      lua_iscfunction(L, idx) || !first_visit(fz, idx))
    return;
  if (t == LUA_TFUNCTION)
    walk_function(fz, idx, depth);
  else if (!lua_getmetatable(L, idx)) /* a plain table; a read-only view hides its own */
    walk_table(fz, idx, depth);
  else
    lua_pop(L, 1);
}

static int freeze_main(lua_State *L)
{
  struct journey *j = lhost_journey_of(L);
  struct freeze fz = {.L = L};
  lua_newtable(L);
  fz.seen = lua_gettop(L);
  lua_newtable(L);
  fz.snap = lua_gettop(L);
  for (size_t i = 0; i < j->n_steps; i++) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, j->steps[i].ref);
    walk_value(&fz, lua_gettop(L), 0);
    lua_pop(L, 1);
  }
  if (j->entry_when_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, j->entry_when_ref);
    walk_value(&fz, lua_gettop(L), 0);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, fz.snap);
  j->fixed_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

int lhost_freeze(struct journey *j, char *err, size_t errlen)
{
  lua_State *L = j->L;
  lua_pushcfunction(L, freeze_main);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    snprintf(err, errlen, "fixing the file-level state: %s", m ? m : "out of memory");
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

/* Runs unprotected but allocates nothing: rawgeti and getupvalue only read. */
int lhost_fixed_changed(struct journey *j, char *name, size_t namelen)
{
  lua_State *L = j->L;
  int changed = 0, top = lua_gettop(L);
  if (j->fixed_ref == LUA_NOREF)
    return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->fixed_ref);
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  for (lua_Integer k = 1; k <= n; k++) {
    lua_rawgeti(L, top + 1, k);   /* entry */
    lua_rawgeti(L, -1, 1);        /* fn */
    lua_rawgeti(L, -2, 2);        /* index */
    int i = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_getupvalue(L, -1, i);     /* now */
    lua_rawgeti(L, -3, 4);        /* then */
    if (!lua_rawequal(L, -1, -2)) {
      if (!changed++) {
        lua_rawgeti(L, -4, 3);
        snprintf(name, namelen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
      }
      lua_setupvalue(L, -3, i);   /* put it back */
      lua_pop(L, 1);
    } else {
      lua_pop(L, 2);
    }
    lua_pop(L, 2);
  }
  lua_settop(L, top);
  return changed;
}

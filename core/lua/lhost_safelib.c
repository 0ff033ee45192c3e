/* The library functions a journey gets in place of those that could run long inside C.
 *
 * The step budget is a count hook: it fires between VM instructions, never inside a C
 * function. So every library function that can loop must either be bounded by the size of
 * what it makes (and so by the memory cap) or do its looping in Lua, where the hook sees
 * each turn. The originals that fail this test are replaced here, once per Lua state,
 * before the libraries are sealed:
 *  - setmetatable refuses a metatable with __gc: Lua runs finalizers with hooks disabled,
 *    so one endless finalizer would stall the daemon. With no finalizer anywhere, a full
 *    collection (after a failed step, or when an old version's state is closed) is bounded
 *    by the state's memory cap.
 *  - string.rep with nothing to repeat returns "" at once (the original loops n times
 *    without allocating: 2^63 turns of nothing).
 *  - table.concat, insert, remove, move and sort loop over lengths and indexes that
 *    __len and __index may invent (and a C __index costs no instruction): they are written
 *    in Lua below. concat still joins with the original, over a plain table it built.
 *  - table.unpack hands out at most LHOST_MAX_UNPACK values.
 *  - string.find, match, gmatch and gsub backtrack in C: they are replaced by a matcher of
 *    our own that counts its steps against the budget (lhost_pattern.c). */
#include <string.h>

#include "lhost_int.h"

#define LHOST_MAX_UNPACK 10000

static int safe_setmetatable(lua_State *L)
{
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc"); /* raw, as Lua itself looks for it */
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "setmetatable: finalizers (__gc) are not allowed in journeys");
  }
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

static int safe_rep(lua_State *L)
{
  size_t ls, lsep = 0;
  luaL_checklstring(L, 1, &ls);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || ls + lsep == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  lua_settop(L, 3);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 3, 1);
  return 1;
}

static int safe_unpack(lua_State *L)
{
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer e = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
  if (i <= e && ((lua_Unsigned)e - (lua_Unsigned)i >= LHOST_MAX_UNPACK))
    return luaL_error(L, "table.unpack: more than %d values", LHOST_MAX_UNPACK);
  lua_settop(L, 1);
  lua_pushinteger(L, i);
  lua_pushinteger(L, e);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 3, LUA_MULTRET);
  return lua_gettop(L);
}

/* The table functions, in Lua: every index they touch costs instructions. Written from the
 * reference manual's description of each; the errors name the function as the originals
 * do. */
static const char table_lua[] =
    "local tbl, orig_concat = ...\n"
    "local type, error, select, mtype = type, error, select, math.type\n"
    "local function int(v, n, f, dflt)\n"
    "  if v == nil and dflt ~= nil then return dflt end\n"
    "  if mtype(v) == 'integer' then return v end\n"
    "  if mtype(v) == 'float' and v == v // 1 then return v // 1 end\n"
    "  error(\"bad argument #\" .. n .. \" to '\" .. f .. \"' (number has no integer representation)\", 3)\n"
    "end\n"
    "local function tab(t, f)\n"
    "  if type(t) ~= 'table' then\n"
    "    error(\"bad argument #1 to '\" .. f .. \"' (table expected, got \" .. type(t) .. ')', 3)\n"
    "  end\n"
    "end\n"
    "tbl.concat = function(t, sep, i, j)\n"
    "  tab(t, 'concat')\n"
    "  sep = sep == nil and '' or sep\n"
    "  i = int(i, 3, 'concat', 1)\n"
    "  j = int(j, 4, 'concat', j == nil and #t or nil)\n"
    "  local parts, n = {}, 0\n"
    "  for k = i, j do\n"
    "    local v = t[k]\n"
    "    local ty = type(v)\n"
    "    if ty ~= 'string' and ty ~= 'number' then\n"
    "      error(\"invalid value (at index \" .. k .. \") in table for 'concat'\", 2)\n"
    "    end\n"
    "    n = n + 1\n"
    "    parts[n] = v\n"
    "  end\n"
    "  return orig_concat(parts, sep)\n"
    "end\n"
    "tbl.insert = function(t, ...)\n"
    "  tab(t, 'insert')\n"
    "  local e = #t + 1\n"
    "  local n = select('#', ...)\n"
    "  if n == 1 then t[e] = ...; return end\n"
    "  if n ~= 2 then error(\"wrong number of arguments to 'insert'\", 2) end\n"
    "  local pos, v = ...\n"
    "  pos = int(pos, 2, 'insert')\n"
    "  if pos < 1 or pos > e then error(\"bad argument #2 to 'insert' (position out of bounds)\", 2) end\n"
    "  for k = e, pos + 1, -1 do t[k] = t[k - 1] end\n"
    "  t[pos] = v\n"
    "end\n"
    "tbl.remove = function(t, pos)\n"
    "  tab(t, 'remove')\n"
    "  local size = #t\n"
    "  pos = int(pos, 2, 'remove', size)\n"
    "  if pos ~= size and (pos < 1 or pos > size + 1) then\n"
    "    error(\"bad argument #2 to 'remove' (position out of bounds)\", 2)\n"
    "  end\n"
    "  local v = t[pos]\n"
    "  for k = pos, size - 1 do t[k] = t[k + 1] end\n"
    "  t[pos < size and size or pos] = nil\n"
    "  return v\n"
    "end\n"
    "tbl.move = function(a1, f, e, t, a2)\n"
    "  tab(a1, 'move')\n"
    "  f, e, t = int(f, 2, 'move'), int(e, 3, 'move'), int(t, 4, 'move')\n"
    "  if a2 == nil then a2 = a1 elseif type(a2) ~= 'table' then\n"
    "    error(\"bad argument #5 to 'move' (table expected, got \" .. type(a2) .. ')', 2)\n"
    "  end\n"
    "  if e >= f then\n"
    "    if t > e or t <= f or a1 ~= a2 then\n"
    "      for k = 0, e - f do a2[t + k] = a1[f + k] end\n"
    "    else\n"
    "      for k = e - f, 0, -1 do a2[t + k] = a1[f + k] end\n"
    "    end\n"
    "  end\n"
    "  return a2\n"
    "end\n"
    /* Heap sort: in place, O(n log n) comparisons whatever the order function does. */
    "tbl.sort = function(t, lt)\n"
    "  tab(t, 'sort')\n"
    "  if lt ~= nil and type(lt) ~= 'function' then\n"
    "    error(\"bad argument #2 to 'sort' (function expected, got \" .. type(lt) .. ')', 2)\n"
    "  end\n"
    "  lt = lt or function(a, b) return a < b end\n"
    "  local n = #t\n"
    "  local function sift(root, last)\n"
    "    while true do\n"
    "      local child = 2 * root\n"
    "      if child > last then return end\n"
    "      if child < last and lt(t[child], t[child + 1]) then child = child + 1 end\n"
    "      if not lt(t[root], t[child]) then return end\n"
    "      t[root], t[child] = t[child], t[root]\n"
    "      root = child\n"
    "    end\n"
    "  end\n"
    "  for k = n // 2, 1, -1 do sift(k, n) end\n"
    "  for last = n, 2, -1 do\n"
    "    t[1], t[last] = t[last], t[1]\n"
    "    sift(1, last - 1)\n"
    "  end\n"
    "end\n";

/* Replaces global `lib`.`name` with `fn`, the original as its upvalue. */
static void wrap(lua_State *L, const char *lib, const char *name, lua_CFunction fn)
{
  if (lib)
    lua_getglobal(L, lib);
  else
    lua_pushglobaltable(L);
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

/* Runs protected, inside the sandbox's opening, before the libraries are sealed. */
void lhost_safelib_install(lua_State *L)
{
  wrap(L, NULL, "setmetatable", safe_setmetatable);
  wrap(L, "string", "rep", safe_rep);
  wrap(L, "table", "unpack", safe_unpack);
  lhost_pattern_install(L);
  if (luaL_loadbufferx(L, table_lua, sizeof table_lua - 1, "=parley.table", "t") != LUA_OK)
    lua_error(L);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "concat");
  lua_call(L, 2, 0);
}

/* libFuzzer target: the journeys' pattern matcher (core/lua/lhost_pattern.c) against Lua's
 * string library. Each input is one call of string.find, match, gmatch or gsub; it runs in
 * a plain Lua state and in one with the journeys' functions installed, and the two must
 * return the same values or raise the same error.
 *
 * Input: byte 0 picks the function (bits 0-1), find's plain flag (bit 2) and the init
 * argument (bits 3-5); byte 1 picks gsub's replacement (bits 0-2) and its n (bits 3-5);
 * then subject, pattern and replacement string, separated by NUL bytes (a 0x01 byte in
 * them stands for NUL). Subject and pattern are cut short so that Lua itself always ends;
 * an input on which our matcher runs out of its (generous) budget is skipped: Lua would
 * take as long. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lhost_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SUBJECT 48
#define MAX_PATTERN 40
#define MAX_REPL 16
#define BUDGET 300000 /* the matcher's steps, counted as instructions */

/* Replacements for gsub, the same in both states. */
static const char replacements[] =
    "R = {\n"
    "  tbl = {a = 'A', b = false, ['1'] = 'one', [1] = 'pos1', [2] = 2.5, x = {}, [''] = 'E'},\n"
    "  cat = function(...)\n"
    "    local t = {}\n"
    "    for i = 1, select('#', ...) do t[i] = tostring((select(i, ...))) end\n"
    "    return '<' .. table.concat(t, ',') .. '>'\n"
    "  end,\n"
    "  alt = function(a)\n"
    "    if a == '' then return nil end\n"
    "    if #tostring(a) % 2 == 0 then return false end\n"
    "    return tostring(a):upper()\n"
    "  end,\n"
    "  bad = function() return {} end,\n"
    "}\n";

struct call {
  int fn;        /* 0 find, 1 match, 2 gmatch, 3 gsub */
  int plain;     /* find's 4th argument */
  int init;      /* which init (find, match, gmatch) */
  int repl;      /* which replacement (gsub) */
  int max;       /* which n (gsub) */
  char s[MAX_SUBJECT], p[MAX_PATTERN], r[MAX_REPL];
  size_t ls, lp, lr;
};

struct out {
  char buf[16384];
  size_t n;
};

static void put(struct out *o, const char *s, size_t n)
{
  if (n > sizeof o->buf - o->n)
    n = sizeof o->buf - o->n;
  memcpy(o->buf + o->n, s, n);
  o->n += n;
}

static void put_value(lua_State *L, int idx, struct out *o)
{
  char num[64];
  size_t n;
  const char *s;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &n);
    snprintf(num, sizeof num, "s%zu:", n);
    put(o, num, strlen(num));
    put(o, s, n);
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx))
      snprintf(num, sizeof num, "i%lld", (long long)lua_tointeger(L, idx));
    else
      snprintf(num, sizeof num, "f%.17g", lua_tonumber(L, idx));
    put(o, num, strlen(num));
    break;
  default:
    put(o, luaL_typename(L, idx), strlen(luaL_typename(L, idx)));
  }
  put(o, ";", 1);
}

static void push_init(lua_State *L, int which)
{
  static const lua_Integer inits[] = {0, 1, 2, 0, -1, -3, 5, 100};
  if (which == 0)
    lua_pushnil(L);
  else
    lua_pushinteger(L, inits[which]);
}

static void push_repl(lua_State *L, const struct call *c)
{
  static const char *const named[] = {NULL, "tbl", "cat", "alt", NULL, NULL, NULL, "bad"};
  switch (c->repl) {
  case 0: lua_pushlstring(L, c->r, c->lr); break;
  case 4: lua_pushinteger(L, 7); break;
  case 5: lua_pushnil(L); break;
  case 6: lua_pushboolean(L, 1); break;
  default:
    lua_getglobal(L, "R");
    lua_getfield(L, -1, named[c->repl]);
    lua_remove(L, -2);
  }
}

static void push_max(lua_State *L, int which)
{
  static const lua_Integer maxes[] = {0, 0, 1, 2, -1, 3};
  if (which == 0)
    lua_pushnil(L);
  else if (which == 6)
    lua_pushnumber(L, 1.5);
  else if (which == 7)
    lua_pushliteral(L, "2");
  else
    lua_pushinteger(L, maxes[which]);
}

/* Protected: makes the call and leaves its results on the stack (gmatch: every round). */
static int call_main(lua_State *L)
{
  static const char *const names[] = {"find", "match", "gmatch", "gsub"};
  const struct call *c = lua_touserdata(L, 1);
  struct out *o = lua_touserdata(L, 2);
  lua_settop(L, 0);
  lua_getglobal(L, "string");
  lua_getfield(L, -1, names[c->fn]);
  lua_remove(L, 1);
  lua_pushlstring(L, c->s, c->ls);
  lua_pushlstring(L, c->p, c->lp);
  if (c->fn == 3) {
    push_repl(L, c);
    push_max(L, c->max);
  } else {
    push_init(L, c->init);
    lua_pushboolean(L, c->plain);
  }
  lua_call(L, 4, LUA_MULTRET);
  if (c->fn == 2) {
    for (int round = 0; round < 200; round++) {
      int base = lua_gettop(L);
      lua_pushvalue(L, base);
      lua_call(L, 0, LUA_MULTRET);
      if (lua_isnil(L, base + 1))
        break;
      for (int i = base + 1; i <= lua_gettop(L); i++)
        put_value(L, i, o);
      put(o, "|", 1);
      lua_settop(L, base);
    }
    lua_settop(L, 0);
  }
  return lua_gettop(L);
}

/* Runs the call in L; what it returned or raised, as text in o. */
static void run(lua_State *L, const struct call *c, struct out *o)
{
  o->n = 0;
  lua_settop(L, 0);
  lua_pushcfunction(L, call_main);
  lua_pushlightuserdata(L, (void *)c);
  lua_pushlightuserdata(L, o);
  if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK) {
    put(o, "error:", 6);
    put_value(L, -1, o);
  } else {
    for (int i = 1; i <= lua_gettop(L); i++)
      put_value(L, i, o);
  }
  lua_settop(L, 0);
}

static size_t field(const uint8_t **data, size_t *size, char *out, size_t cap)
{
  const uint8_t *end = memchr(*data, 0, *size);
  size_t n = end ? (size_t)(end - *data) : *size, take = n < cap ? n : cap;
  for (size_t i = 0; i < take; i++)
    out[i] = (*data)[i] == 1 ? 0 : (char)(*data)[i];
  *data += end ? n + 1 : n;
  *size -= end ? n + 1 : n;
  return take;
}

static struct journey own_journey;

static int install(lua_State *L)
{
  lhost_pattern_install(L);
  return 0;
}

static lua_State *new_state(int own)
{
  lua_State *L = luaL_newstate();
  *(struct journey **)lua_getextraspace(L) = &own_journey;
  luaL_requiref(L, "_G", luaopen_base, 1);
  luaL_requiref(L, "string", luaopen_string, 1);
  luaL_requiref(L, "table", luaopen_table, 1);
  lua_settop(L, 0);
  lua_pushcfunction(L, install);
  if (own && lua_pcall(L, 0, 0, 0) != LUA_OK)
    abort();
  lua_settop(L, 0);
  if (luaL_dostring(L, replacements) != LUA_OK)
    abort();
  return L;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct out want, got;
  struct call c;
  if (size < 2)
    return 0;
  c.fn = data[0] & 3;
  c.plain = (data[0] >> 2) & 1;
  c.init = (data[0] >> 3) & 7;
  c.repl = data[1] & 7;
  c.max = (data[1] >> 3) & 7;
  data += 2;
  size -= 2;
  c.ls = field(&data, &size, c.s, sizeof c.s);
  c.lp = field(&data, &size, c.p, sizeof c.p);
  c.lr = field(&data, &size, c.r, sizeof c.r);

  /* Fresh states for every input: each stands alone, and frees all it took (so the
   * fuzzer's leak check has nothing to scan for). */
  memset(&own_journey.budget, 0, sizeof own_journey.budget);
  own_journey.limits.step_instructions = BUDGET;
  own_journey.budget.active = 1;
  lua_State *own = new_state(1);
  run(own, &c, &got);
  lua_close(own);
  if (own_journey.budget.kill != KILL_NONE)
    return 0; /* as long for Lua: not worth waiting for */
  lua_State *ref = new_state(0);
  run(ref, &c, &want);
  lua_close(ref);
  if (want.n != got.n || memcmp(want.buf, got.buf, want.n) != 0) {
    fprintf(stderr, "pattern matcher differs from Lua\n  Lua:  %.*s\n  ours: %.*s\n",
            (int)want.n, want.buf, (int)got.n, got.buf);
    abort();
  }
  return 0;
}

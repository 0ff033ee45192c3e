/* t:event{...}: the table a test gives, turned into the JSON of an event as the HTTP API
 * would receive it (the core then checks it as any event). Nested tables are named fields,
 * or lists when their keys are exactly 1..n; a value JSON cannot hold (a function, a
 * table keyed by booleans) is refused, naming where it is: "field 'data.cart.items[2]'
 * cannot hold a function". */
#include <stdio.h>
#include <string.h>

#include "jtest_int.h"

#define JT_EVENT_DEPTH 16

/* Turning the event table into JSON: where it is (data.cart.items[2]) and, once something
 * is wrong, what. */
struct jconv {
  lua_State *L;
  char path[256];
  char err[512];
};

static cJSON *to_json(struct jconv *c, int idx, int depth);

static cJSON *jfail(struct jconv *c, const char *what)
{
  if (c->path[0])
    snprintf(c->err, sizeof c->err, "field '%s' %s", c->path, what);
  else
    snprintf(c->err, sizeof c->err, "the event %s", what);
  return NULL;
}

/* Appends .name (name non-NULL) or [i] to the path; returns the old length, to cut it back. */
static size_t jpath_push(struct jconv *c, const char *name, lua_Integer i)
{
  size_t old = strlen(c->path);
  if (name)
    snprintf(c->path + old, sizeof c->path - old, "%s%s", old ? "." : "", name);
  else
    snprintf(c->path + old, sizeof c->path - old, "[%lld]", (long long)i);
  return old;
}

/* Keys exactly 1..n: a list. */
static int is_list(lua_State *L, int idx)
{
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1)) {
      lua_pop(L, 1);
      return 0;
    }
    n++;
  }
  return n > 0 && (lua_Integer)lua_rawlen(L, idx) == n;
}

/* The value at the top of the stack as member `key` (NULL: the next item) of o, popped. */
static int jadd(struct jconv *c, cJSON *o, const char *key, int depth)
{
  cJSON *v = to_json(c, lua_gettop(c->L), depth + 1);
  lua_pop(c->L, 1);
  if (v && (key ? cJSON_AddItemToObject(o, key, v) : cJSON_AddItemToArray(o, v)))
    return 0;
  cJSON_Delete(v);
  if (!c->err[0])
    jfail(c, "cannot be kept: out of memory");
  return -1;
}

static cJSON *list_to_json(struct jconv *c, int idx, int depth)
{
  cJSON *a = cJSON_CreateArray();
  if (!a)
    return jfail(c, "cannot be kept: out of memory");
  for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(c->L, idx); i++) {
    size_t old = jpath_push(c, NULL, i);
    lua_rawgeti(c->L, idx, i);
    if (jadd(c, a, NULL, depth) < 0) {
      cJSON_Delete(a);
      return NULL;
    }
    c->path[old] = '\0';
  }
  return a;
}

static cJSON *fields_to_json(struct jconv *c, int idx, int depth)
{
  lua_State *L = c->L;
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return jfail(c, "cannot be kept: out of memory");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      char what[160];
      snprintf(what, sizeof what, "has a %s key where a name was expected (a table is named fields, or a list 1..n)",
               luaL_typename(L, -2));
      lua_pop(L, 2);
      cJSON_Delete(o);
      return jfail(c, what);
    }
    size_t klen, old = jpath_push(c, lua_tolstring(L, -2, &klen), 0);
    if (memchr(lua_tostring(L, -2), '\0', klen)) { /* a C string would end there */
      lua_pop(L, 2);
      cJSON_Delete(o);
      return jfail(c, "has a NUL character in its name");
    }
    if (jadd(c, o, lua_tostring(L, -2), depth) < 0) {
      lua_pop(L, 1);
      cJSON_Delete(o);
      return NULL;
    }
    c->path[old] = '\0';
  }
  return o;
}

/* The Lua value at idx as JSON, or NULL with c->err. Never raises: a raise would leak what
 * was built so far. The event itself is always named fields. */
static cJSON *to_json(struct jconv *c, int idx, int depth)
{
  lua_State *L = c->L;
  cJSON *v = NULL;
  char what[64];
  if (depth > JT_EVENT_DEPTH || !lua_checkstack(L, 4)) {
    snprintf(what, sizeof what, "is nested more than %d levels deep", JT_EVENT_DEPTH);
    return jfail(c, what);
  }
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (memchr(s, '\0', len)) /* cJSON keeps C strings: it would be cut short there */
      return jfail(c, "holds a NUL character");
    v = cJSON_CreateString(s);
    break;
  }
  case LUA_TBOOLEAN: v = cJSON_CreateBool(lua_toboolean(L, idx)); break;
  case LUA_TNUMBER: v = cJSON_CreateNumber(lua_tonumber(L, idx)); break;
  case LUA_TTABLE: return depth > 0 && is_list(L, idx) ? list_to_json(c, idx, depth) : fields_to_json(c, idx, depth);
  default:
    snprintf(what, sizeof what, "cannot hold a %s", luaL_typename(L, idx));
    return jfail(c, what);
  }
  return v ? v : jfail(c, "cannot be kept: out of memory");
}


/* The table at idx as the JSON of an event, or NULL with err ("field 'x' cannot hold a
 * function"). Never raises. */
cJSON *jt_event_to_json(lua_State *L, int idx, char *err, size_t errlen)
{
  struct jconv c = {.L = L};
  cJSON *obj = to_json(&c, lua_absindex(L, idx), 0);
  if (!obj)
    snprintf(err, errlen, "%s", c.err);
  return obj;
}

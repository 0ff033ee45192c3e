/* Conversation memory: the plain Lua table a journey keeps between steps, stored as
 * MessagePack. Exactly what round-trips: nil, booleans, int64 integers, doubles, byte
 * strings (NUL included), arrays (keys exactly 1..n) and maps keyed by strings or
 * integers, nested up to LHOST_MEMORY_MAX_DEPTH. Anything else is refused with the path
 * to the culprit ("memory.cart.cb: cannot keep a function in memory"). */
#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lhost_int.h"
#include "mpcheck.h"

struct enc {
  lua_State *L;
  msgpack_packer pk;
  const void *open[LHOST_MEMORY_MAX_DEPTH + 1]; /* tables being encoded: finds cycles */
  int depth;
  char path[512];
};

#define PACK(e, call)                                                                    \
  do {                                                                                   \
    if ((call) != 0)                                                                     \
      luaL_error((e)->L, "%s: out of memory", (e)->path);                                \
  } while (0)

static void enc_value(struct enc *e, int idx);

static int is_ident(const char *s, size_t n)
{
  if (n == 0 || isdigit((unsigned char)s[0]))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_')
      return 0;
  return 1;
}

/* Appends the key at idx to e->path (memory.cart.items[2]); returns the old length. */
static size_t path_push(struct enc *e, int idx)
{
  size_t old = strlen(e->path), room = sizeof e->path - old;
  if (lua_type(e->L, idx) == LUA_TSTRING) {
    size_t n;
    const char *k = lua_tolstring(e->L, idx, &n);
    snprintf(e->path + old, room, is_ident(k, n) ? ".%s" : "[\"%s\"]", k);
  } else {
    snprintf(e->path + old, room, "[%lld]", (long long)lua_tointeger(e->L, idx));
  }
  return old;
}

/* Keys 1..n exactly, and nothing else: an array. Also checks every key's type. */
static int table_is_array(struct enc *e, int idx, size_t *count)
{
  lua_State *L = e->L;
  size_t n = 0;
  int all_int = 1;
  lua_Integer max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    n++;
    if (lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k < 1)
        all_int = 0;
      else if (k > max)
        max = k;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      all_int = 0;
    } else {
      luaL_error(L, "%s: a memory key must be a string or an integer (got a %s key)", e->path,
                 luaL_typename(L, -1));
    }
  }
  *count = n;
  return n > 0 && all_int && (size_t)max == n;
}

static void enc_table(struct enc *e, int idx)
{
  lua_State *L = e->L;
  size_t n;
  for (int i = 0; i < e->depth; i++)
    if (e->open[i] == lua_topointer(L, idx))
      luaL_error(L, "%s: cannot keep a table that contains itself (a cycle) in memory", e->path);
  if (e->depth >= LHOST_MEMORY_MAX_DEPTH)
    luaL_error(L, "%s: memory is nested deeper than %d levels", e->path,
               LHOST_MEMORY_MAX_DEPTH);
  if (lua_getmetatable(L, idx))
    luaL_error(L, "%s: cannot keep a table with a metatable (such as c.contact) in memory; "
                  "copy the values you need", e->path);
  luaL_checkstack(L, 6, "memory");
  e->open[e->depth++] = lua_topointer(L, idx);
  if (table_is_array(e, idx, &n)) {
    PACK(e, msgpack_pack_array(&e->pk, n));
    for (size_t i = 1; i <= n; i++) {
      size_t old = strlen(e->path);
      snprintf(e->path + old, sizeof e->path - old, "[%zu]", i);
      lua_rawgeti(L, idx, (lua_Integer)i);
      enc_value(e, lua_gettop(L));
      lua_pop(L, 1);
      e->path[old] = '\0';
    }
  } else {
    PACK(e, msgpack_pack_map(&e->pk, n));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      size_t old = path_push(e, -2);
      enc_value(e, lua_gettop(L) - 1); /* the key */
      enc_value(e, lua_gettop(L));
      lua_pop(L, 1);
      e->path[old] = '\0';
    }
  }
  e->depth--;
}

static void enc_value(struct enc *e, int idx)
{
  lua_State *L = e->L;
  size_t n;
  const char *s;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: PACK(e, msgpack_pack_nil(&e->pk)); break;
  case LUA_TBOOLEAN:
    PACK(e, lua_toboolean(L, idx) ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk));
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx))
      PACK(e, msgpack_pack_int64(&e->pk, (int64_t)lua_tointeger(L, idx)));
    else
      PACK(e, msgpack_pack_double(&e->pk, (double)lua_tonumber(L, idx)));
    break;
  case LUA_TSTRING:
    s = lua_tolstring(L, idx, &n);
    PACK(e, msgpack_pack_str(&e->pk, n));
    PACK(e, msgpack_pack_str_body(&e->pk, s, n));
    break;
  case LUA_TTABLE: enc_table(e, idx); break;
  default:
    luaL_error(L, "%s: cannot keep a %s in memory", e->path, luaL_typename(L, idx));
  }
}

/* Encodes the table (or nil: empty memory) at idx into sb; raises naming the path. */
void lhost_memory_encode(lua_State *L, int idx, msgpack_sbuffer *sb)
{
  struct enc e = {.L = L, .depth = 0, .path = "memory"};
  idx = lua_absindex(L, idx);
  msgpack_packer_init(&e.pk, sb, msgpack_sbuffer_write);
  if (lua_isnil(L, idx)) {
    PACK(&e, msgpack_pack_map(&e.pk, 0));
    return;
  }
  if (!lua_istable(L, idx))
    luaL_error(L, "c.memory must be a table (got %s)", luaL_typename(L, idx));
  enc_table(&e, idx);
}

static int push_obj(lua_State *L, const msgpack_object *o, int depth)
{
  luaL_checkstack(L, 4, "memory");
  if (depth > LHOST_MEMORY_MAX_DEPTH + 1)
    return -1;
  switch (o->type) {
  case MSGPACK_OBJECT_NIL: lua_pushnil(L); return 0;
  case MSGPACK_OBJECT_BOOLEAN: lua_pushboolean(L, o->via.boolean); return 0;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    if (o->via.u64 > INT64_MAX)
      lua_pushnumber(L, (lua_Number)o->via.u64);
    else
      lua_pushinteger(L, (lua_Integer)o->via.u64);
    return 0;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: lua_pushinteger(L, (lua_Integer)o->via.i64); return 0;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: lua_pushnumber(L, (lua_Number)o->via.f64); return 0;
  case MSGPACK_OBJECT_STR: lua_pushlstring(L, o->via.str.ptr, o->via.str.size); return 0;
  case MSGPACK_OBJECT_BIN: lua_pushlstring(L, o->via.bin.ptr, o->via.bin.size); return 0;
  case MSGPACK_OBJECT_ARRAY:
    lua_createtable(L, (int)o->via.array.size, 0);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
      if (push_obj(L, &o->via.array.ptr[i], depth + 1) < 0)
        return -1;
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 0;
  case MSGPACK_OBJECT_MAP:
    lua_createtable(L, 0, (int)o->via.map.size);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      const msgpack_object *k = &o->via.map.ptr[i].key;
      if (k->type != MSGPACK_OBJECT_STR && k->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
          k->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return -1;
      if (push_obj(L, k, depth + 1) < 0 || push_obj(L, &o->via.map.ptr[i].val, depth + 1) < 0)
        return -1;
      lua_rawset(L, -3);
    }
    return 0;
  default: return -1;
  }
}

/* Pushes the memory table decoded from mem (empty when there is none). The zone lives in
 * u, which the caller owns and destroys, so a raise here leaks nothing. */
void lhost_memory_push(lua_State *L, msgpack_unpacked *u, const char *mem, size_t len)
{
  size_t off = 0;
  int top = lua_gettop(L);
  if (mem == NULL || len == 0) {
    lua_newtable(L);
    return;
  }
  /* the top is a map, or an array when every key was 1..n (memory used as a list) */
  if (!mpcheck_plausible(mem, len) || msgpack_unpack_next(u, mem, len, &off) != MSGPACK_UNPACK_SUCCESS ||
      (u->data.type != MSGPACK_OBJECT_MAP && u->data.type != MSGPACK_OBJECT_ARRAY) ||
      push_obj(L, &u->data, 0) < 0) {
    lua_settop(L, top);
    luaL_error(L, "conversation memory is malformed (%I bytes)", (lua_Integer)len);
  }
}

/* What lhost_memory_to_lua hands its protected call: the zone outlives a raise. */
struct to_lua {
  const char *mem;
  size_t len;
  msgpack_unpacked u;
};

static int to_lua_main(lua_State *L)
{
  struct to_lua *a = lua_touserdata(L, 1);
  lhost_memory_push(L, &a->u, a->mem, a->len);
  return 1;
}

int lhost_memory_to_lua(lua_State *L, const char *memory, size_t len, char *err, size_t errlen)
{
  struct to_lua a = {.mem = memory, .len = len};
  if (!lua_checkstack(L, 3)) {
    snprintf(err, errlen, "conversation memory: out of memory");
    return -1;
  }
  msgpack_unpacked_init(&a.u);
  lua_pushcfunction(L, to_lua_main);
  lua_pushlightuserdata(L, &a);
  int rc = lua_pcall(L, 1, 1, 0);
  msgpack_unpacked_destroy(&a.u);
  if (rc != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", m ? m : "conversation memory cannot be read");
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

static cJSON *obj_to_json(const msgpack_object *o, int depth);

static cJSON *map_to_json(const msgpack_object *o, int depth)
{
  cJSON *m = cJSON_CreateObject();
  char key[64];
  for (uint32_t i = 0; m && i < o->via.map.size; i++) {
    const msgpack_object *k = &o->via.map.ptr[i].key;
    cJSON *v = obj_to_json(&o->via.map.ptr[i].val, depth + 1);
    char *ks = NULL;
    if (k->type == MSGPACK_OBJECT_STR)
      ks = k->via.str.size ? strndup(k->via.str.ptr, k->via.str.size) : strdup("");
    else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      snprintf(key, sizeof key, "%llu", (unsigned long long)k->via.u64), ks = strdup(key);
    else if (k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
      snprintf(key, sizeof key, "%lld", (long long)k->via.i64), ks = strdup(key);
    if (v == NULL || ks == NULL || !cJSON_AddItemToObject(m, ks, v)) {
      cJSON_Delete(v);
      cJSON_Delete(m);
      m = NULL;
    }
    free(ks);
  }
  return m;
}

static cJSON *obj_to_json(const msgpack_object *o, int depth)
{
  if (depth > LHOST_MEMORY_MAX_DEPTH + 1)
    return NULL;
  switch (o->type) {
  case MSGPACK_OBJECT_NIL: return cJSON_CreateNull();
  case MSGPACK_OBJECT_BOOLEAN: return cJSON_CreateBool(o->via.boolean);
  case MSGPACK_OBJECT_POSITIVE_INTEGER: return cJSON_CreateNumber((double)o->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER: return cJSON_CreateNumber((double)o->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64: return cJSON_CreateNumber(o->via.f64);
  case MSGPACK_OBJECT_STR:
  case MSGPACK_OBJECT_BIN: {
    const char *p = o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : o->via.bin.ptr;
    uint32_t n = o->type == MSGPACK_OBJECT_STR ? o->via.str.size : o->via.bin.size;
    char *s = n ? strndup(p, n) : strdup(""); /* JSON shows up to a NUL byte */
    cJSON *r = s ? cJSON_CreateString(s) : NULL;
    free(s);
    return r;
  }
  case MSGPACK_OBJECT_ARRAY: {
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; a && i < o->via.array.size; i++) {
      cJSON *v = obj_to_json(&o->via.array.ptr[i], depth + 1);
      if (v == NULL || !cJSON_AddItemToArray(a, v)) {
        cJSON_Delete(v);
        cJSON_Delete(a);
        a = NULL;
      }
    }
    return a;
  }
  case MSGPACK_OBJECT_MAP: return map_to_json(o, depth);
  default: return NULL;
  }
}

cJSON *lhost_memory_to_json(const char *memory, size_t len)
{
  msgpack_unpacked u;
  size_t off = 0;
  cJSON *r = NULL;
  if (memory == NULL || len == 0)
    return cJSON_CreateObject();
  msgpack_unpacked_init(&u);
  if (mpcheck_plausible(memory, len) && msgpack_unpack_next(&u, memory, len, &off) == MSGPACK_UNPACK_SUCCESS &&
      (u.data.type == MSGPACK_OBJECT_MAP || u.data.type == MSGPACK_OBJECT_ARRAY))
    r = obj_to_json(&u.data, 0);
  msgpack_unpacked_destroy(&u);
  return r;
}

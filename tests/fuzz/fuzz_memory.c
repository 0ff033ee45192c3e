/* libFuzzer target: conversation memory (MessagePack) as a step reads it into Lua, as
 * `parley test` reads it (lhost_memory_to_lua, on a plain Lua state) and as inspection
 * turns it into JSON. Malformed memory must be a Lua error (the step fails) or a refusal
 * with a reason, never a crash; memory that loads must encode again to something that
 * loads again; and the Lua and the JSON decoders must take exactly the same memory. */
#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>

#include "lua/lhost_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Everything a raise could skip is owned out here, so an error leaks nothing. */
struct input {
  const char *mem;
  size_t len;
  msgpack_unpacked u;
  msgpack_sbuffer out;
};

static int round_trip(lua_State *L)
{
  struct input *in = lua_touserdata(L, 1);
  lhost_memory_push(L, &in->u, in->mem, in->len);
  lhost_memory_encode(L, -1, &in->out);
  return 0;
}

/* Decodes and encodes again; returns the Lua status. */
static int run(lua_State *L, struct input *in, const char *mem, size_t len)
{
  in->mem = mem;
  in->len = len;
  msgpack_unpacked_init(&in->u);
  msgpack_sbuffer_init(&in->out);
  lua_pushcfunction(L, round_trip);
  lua_pushlightuserdata(L, in);
  int rc = lua_pcall(L, 1, 0, 0);
  msgpack_unpacked_destroy(&in->u);
  lua_settop(L, 0);
  return rc;
}

/* lhost_memory_to_lua keeps its word on an empty stack: 0 with one table pushed, or -1
 * with nothing pushed and a reason. Returns whether it decoded. */
static int to_lua(lua_State *L, const char *mem, size_t len)
{
  char err[256] = "";
  int rc = lhost_memory_to_lua(L, mem, len, err, sizeof err);
  if (rc == 0 && (lua_gettop(L) != 1 || !lua_istable(L, 1)))
    abort();
  if (rc != 0 && (rc != -1 || lua_gettop(L) != 0 || !err[0]))
    abort();
  lua_settop(L, 0);
  return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *mem = (const char *)data;
  cJSON *json = lhost_memory_to_json(mem, size);
  lua_State *L = luaL_newstate();
  if (to_lua(L, mem, size) != (json != NULL))
    abort(); /* what one decoder reads, the other must read too */
  cJSON_Delete(json);
  struct input one, two;
  if (run(L, &one, mem, size) == LUA_OK && one.out.size > 0) {
    if (run(L, &two, one.out.data, one.out.size) != LUA_OK)
      abort(); /* what we wrote, we must read */
    msgpack_sbuffer_destroy(&two.out);
  }
  msgpack_sbuffer_destroy(&one.out);
  lua_close(L);
  return 0;
}

/* libFuzzer target: conversation memory (MessagePack) as a step reads it into Lua and
 * inspection turns it into JSON. Malformed memory must be a Lua error (the step fails),
 * never a crash; memory that loads must encode again to something that loads again. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cJSON_Delete(lhost_memory_to_json((const char *)data, size));
  lua_State *L = luaL_newstate();
  struct input one, two;
  if (run(L, &one, (const char *)data, size) == LUA_OK && one.out.size > 0) {
    if (run(L, &two, one.out.data, one.out.size) != LUA_OK)
      abort(); /* what we wrote, we must read */
    msgpack_sbuffer_destroy(&two.out);
  }
  msgpack_sbuffer_destroy(&one.out);
  lua_close(L);
  return 0;
}

/* c:speak's fifth argument, the journey's options for the channel ({ max_segments = 2 }),
 * and the channel's answer to a spoken message (what its check measured), as Lua sees
 * them. Both are small flat tables: the options travel with the message as JSON text of
 * text values (a plugin reads them with msg_option), the answer comes back as a table. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_int.h"

#define OPTIONS_MAX 16        /* options on one message */
#define OPTION_TEXT_MAX 256   /* one option's key or value */

/* A number as the journey wrote it: 2, not 2.0; 0.5 as 0.5. */
static void number_text(lua_State *L, int idx, char *buf, size_t len)
{
  if (lua_isinteger(L, idx))
    snprintf(buf, len, "%lld", (long long)lua_tointeger(L, idx));
  else
    snprintf(buf, len, "%.17g", (double)lua_tonumber(L, idx));
}

/* One key = value pair into `obj`, or a Lua error naming the option. */
static void add_option(lua_State *L, cJSON *obj)
{
  char num[64];
  const char *text;
  if (lua_type(L, -2) != LUA_TSTRING) {
    cJSON_Delete(obj);
    luaL_error(L, "c:speak: options must be named, such as { max_segments = 2 } (got a %s key)",
               luaL_typename(L, -2));
  }
  const char *key = lua_tostring(L, -2);
  switch (lua_type(L, -1)) {
  case LUA_TSTRING: text = lua_tostring(L, -1); break;
  case LUA_TNUMBER: number_text(L, -1, num, sizeof num); text = num; break;
  case LUA_TBOOLEAN: text = lua_toboolean(L, -1) ? "true" : "false"; break;
  default:
    cJSON_Delete(obj);
    luaL_error(L, "c:speak: option '%s' must be text, a number or true/false (got %s)", key,
               luaL_typename(L, -1));
    return;
  }
  if (strlen(key) > OPTION_TEXT_MAX || strlen(text) > OPTION_TEXT_MAX) {
    cJSON_Delete(obj);
    luaL_error(L, "c:speak: option '%.40s' is longer than %d bytes", key, OPTION_TEXT_MAX);
  }
  if (!cJSON_AddStringToObject(obj, key, text)) {
    cJSON_Delete(obj);
    luaL_error(L, "out of memory");
  }
}

char *lhost_speak_options(lua_State *L, int idx)
{
  if (lua_isnoneornil(L, idx))
    return NULL;
  luaL_checktype(L, idx, LUA_TTABLE);
  cJSON *obj = cJSON_CreateObject();
  if (!obj)
    luaL_error(L, "out of memory");
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (++n > OPTIONS_MAX) {
      cJSON_Delete(obj);
      luaL_error(L, "c:speak: more than %d options", OPTIONS_MAX);
    }
    add_option(L, obj);
    lua_pop(L, 1);
  }
  char *text = n ? cJSON_PrintUnformatted(obj) : NULL;
  cJSON_Delete(obj);
  if (n && !text)
    luaL_error(L, "out of memory");
  return text;
}

void lhost_push_info(lua_State *L, const char *json)
{
  cJSON *obj = json && *json ? cJSON_Parse(json) : NULL;
  lua_newtable(L);
  const cJSON *v;
  cJSON_ArrayForEach(v, obj)
  {
    if (cJSON_IsString(v))
      lua_pushstring(L, v->valuestring);
    else if (cJSON_IsNumber(v) && v->valuedouble == (double)(lua_Integer)v->valuedouble)
      lua_pushinteger(L, (lua_Integer)v->valuedouble);
    else if (cJSON_IsNumber(v))
      lua_pushnumber(L, v->valuedouble);
    else if (cJSON_IsBool(v))
      lua_pushboolean(L, cJSON_IsTrue(v));
    else
      continue; /* a plugin's nested value: not part of the flat answer */
    lua_setfield(L, -2, v->string);
  }
  cJSON_Delete(obj);
}

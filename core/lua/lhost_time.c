/* parley.time: durations and dates read exactly as Parley reads them (duration.h,
 * timestamp.h), for the SDK's modules to check what a journey file declares when it
 * loads ("3x" is refused there, naming the line) rather than when a step runs:
 *   time.duration("30d") -> 2592000        time.duration("3x") -> nil, "why"
 *   time.date("2026-12-01T00:00:00Z") -> 1796083200   time.date("soon") -> nil, "why"
 * Numbers are seconds and pass as they are. */
#include <math.h>
#include <stdio.h>

#include "duration.h"
#include "lhost_int.h"
#include "timestamp.h"

static void push_seconds(lua_State *L, int64_t ms)
{
  if (ms % 1000 == 0)
    lua_pushinteger(L, ms / 1000);
  else
    lua_pushnumber(L, (lua_Number)ms / 1000.0);
}

static int fail(lua_State *L, const char *why)
{
  lua_pushnil(L);
  lua_pushstring(L, why);
  return 2;
}

static int t_duration(lua_State *L)
{
  char err[160];
  int64_t ms;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_Number s = lua_tonumber(L, 1);
    if (!(s >= 0 && s < 9.2e15))
      return fail(L, "a duration is 0 seconds or more");
    lua_settop(L, 1);
    return 1;
  }
  if (lua_type(L, 1) != LUA_TSTRING)
    return fail(L, "a duration is text like \"30d\" or a number of seconds");
  if (duration_parse(lua_tostring(L, 1), &ms, err, sizeof err) < 0)
    return fail(L, err);
  push_seconds(L, ms);
  return 1;
}

static int t_date(lua_State *L)
{
  int64_t ms;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    if (!isfinite(lua_tonumber(L, 1)))
      return fail(L, "a date is seconds since 1970 or RFC 3339 text");
    lua_settop(L, 1);
    return 1;
  }
  if (lua_type(L, 1) != LUA_TSTRING || timestamp_parse(lua_tostring(L, 1), &ms) < 0)
    return fail(L, "a date is RFC 3339 text with its offset, such as \"2026-12-01T00:00:00Z\", or seconds "
                   "since 1970");
  push_seconds(L, ms);
  return 1;
}

void lhost_time_push(lua_State *L)
{
  static const luaL_Reg fns[] = {{"duration", t_duration}, {"date", t_date}, {NULL, NULL}};
  luaL_newlib(L, fns);
}

/* The methods of `t` on measuring journeys: t:force_arm puts a contact in an experiment's
 * arm (the core takes it when the journey draws: arms.h), t:expect_arm asserts the arm a
 * conversation was given, t:stats reads a journey's stats as GET
 * /v1/journeys/{name}/stats answers them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jtest_int.h"
#include "stats.h"
#include "store/smap.h"
#include "timestamp.h"

static struct jt *self(lua_State *L, const char *method)
{
  struct jt **p = luaL_testudata(L, 1, JT_MT);
  if (!p)
    luaL_error(L, "t:%s: call it with a colon, t:%s(...), not t.%s(...)", method, method, method);
  return *p;
}

/* Field `key` of the table at index 2, a string; raises when it is missing. */
static const char *field(lua_State *L, const char *method, const char *key)
{
  int type = lua_getfield(L, 2, key);
  if (type != LUA_TSTRING)
    luaL_error(L, "t:%s: field '%s' is required, a string (got %s)", method, key, lua_typename(L, type));
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1); /* still held by the table */
  return s;
}

/* {experiment =, contact =, arm =}: exactly those fields. */
static void arm_args(lua_State *L, const char *method, const char **experiment, const char **contact,
                     const char **arm)
{
  if (lua_gettop(L) != 2 || lua_type(L, 2) != LUA_TTABLE)
    luaL_error(L, "t:%s: takes one table { experiment = ..., contact = ..., arm = ... }", method);
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    if (strcmp(k, "experiment") && strcmp(k, "contact") && strcmp(k, "arm"))
      luaL_error(L, "t:%s: unknown field '%s' (known: experiment, contact, arm)", method, k);
    lua_pop(L, 1);
  }
  *experiment = field(L, method, "experiment");
  *contact = field(L, method, "contact");
  *arm = field(L, method, "arm");
}

/* t:force_arm{experiment=, contact=, arm=}: from now on, that contact's draws in that
 * experiment give `arm` ("holdout" for the holdout); a conversation given an arm before
 * keeps it. */
static int t_force_arm(lua_State *L)
{
  struct jt *t = self(L, "force_arm");
  const char *experiment, *contact, *arm;
  arm_args(L, "force_arm", &experiment, &contact, &arm);
  struct core *core = t->core;
  char key[600];
  snprintf(key, sizeof key, "%s" STATS_SEP "%s", contact, experiment);
  if (!core->forced_arms && !(core->forced_arms = calloc(1, sizeof *core->forced_arms)))
    return luaL_error(L, "t:force_arm: out of memory");
  char *copy = strdup(arm);
  free(smap_del(core->forced_arms, key));
  if (!copy || smap_put(core->forced_arms, key, copy) < 0) {
    free(copy);
    return luaL_error(L, "t:force_arm: out of memory");
  }
  return 0;
}

/* t:expect_arm{experiment=, contact=, arm=}: the contact's newest conversation given an arm
 * of that experiment was given this one. */
static int t_expect_arm(lua_State *L)
{
  struct jt *t = self(L, "expect_arm");
  const char *experiment, *contact, *arm;
  arm_args(L, "expect_arm", &experiment, &contact, &arm);
  struct store *st = t->core->store;
  struct contact *ct = st->ops->contact_get(st, contact);
  for (size_t i = ct ? ct->n_convs : 0; i-- > 0;) {
    const struct conv *cv = st->ops->conv_get(st, ct->convs[i]);
    for (size_t k = 0; cv && k < cv->n_arms; k++) {
      if (strcmp(cv->arms[k].experiment, experiment) != 0)
        continue;
      if (strcmp(cv->arms[k].arm, arm) != 0)
        return luaL_error(L, "expected %s in arm \"%s\" of experiment %s, it is in \"%s\" (journey %s)", contact,
                          arm, experiment, cv->arms[k].arm, cv->journey);
      return 0;
    }
  }
  return luaL_error(L, "expected %s in arm \"%s\" of experiment %s; no conversation of %s was given an arm of it",
                    contact, arm, experiment, contact);
}

static void push_json(lua_State *L, const cJSON *v)
{
  luaL_checkstack(L, 3, "stats too deep");
  if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
    lua_newtable(L);
    lua_Integer i = 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
      push_json(L, e);
      if (cJSON_IsArray(v))
        lua_rawseti(L, -2, i++);
      else
        lua_setfield(L, -2, e->string);
    }
  } else if (cJSON_IsString(v)) {
    lua_pushstring(L, v->valuestring);
  } else if (cJSON_IsNumber(v)) {
    if (v->valuedouble == (double)(lua_Integer)v->valuedouble)
      lua_pushinteger(L, (lua_Integer)v->valuedouble);
    else
      lua_pushnumber(L, v->valuedouble);
  } else if (cJSON_IsBool(v)) {
    lua_pushboolean(L, cJSON_IsTrue(v));
  } else {
    lua_pushnil(L);
  }
}

/* An optional time of the range: RFC 3339 text, or seconds since 1970 (t:now()). */
static int64_t range_time(lua_State *L, const char *key)
{
  if (lua_type(L, 3) != LUA_TTABLE)
    return 0;
  int type = lua_getfield(L, 3, key);
  int64_t ms = 0;
  if (type == LUA_TNUMBER)
    ms = (int64_t)(lua_tonumber(L, -1) * 1000);
  else if (type == LUA_TSTRING && timestamp_parse(lua_tostring(L, -1), &ms) < 0)
    luaL_error(L, "t:stats: %s must be an RFC 3339 time (\"2026-11-18T09:00:00Z\") or seconds, not \"%s\"", key,
               lua_tostring(L, -1));
  else if (type != LUA_TNIL && type != LUA_TNUMBER && type != LUA_TSTRING)
    luaL_error(L, "t:stats: %s must be an RFC 3339 time or seconds since 1970", key);
  lua_pop(L, 1);
  return ms;
}

/* t:stats(journey [, { from =, to = }]) -> the journey's stats, as the API answers them. */
static int t_stats(lua_State *L)
{
  struct jt *t = self(L, "stats");
  const char *journey = luaL_checkstring(L, 2);
  if (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TTABLE)
    return luaL_error(L, "t:stats: the range is a table { from = ..., to = ... }");
  int64_t from = range_time(L, "from"), to = range_time(L, "to");
  if (!registry_current(&t->core->registry, journey))
    return luaL_error(L, "t:stats: no journey '%s' is loaded", journey);
  cJSON *doc = stats_view(t->core->store, journey, from, to, t->core->cfg->attribution_window_ms);
  if (!doc)
    return luaL_error(L, "t:stats: the stats of %s cannot be read", journey);
  push_json(L, doc);
  cJSON_Delete(doc);
  return 1;
}

const luaL_Reg jt_measure_methods[] = {
    {"force_arm", t_force_arm},
    {"expect_arm", t_expect_arm},
    {"stats", t_stats},
    {NULL, NULL},
};

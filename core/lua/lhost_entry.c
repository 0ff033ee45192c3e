/* The entry condition: a journey's entry.when(contact, ev), asked when its entry event
 * arrives and before any conversation exists, so that a contact it turns away costs
 * nothing -- no conversation, no start on record, nothing counted against reenter_after.
 * It runs in the journey's sandbox under the step budget, like a step, but with no `c`:
 * it can only answer yes or no. */
#include <cJSON.h>
#include <stdio.h>

#include "lhost_int.h"

struct entry_call {
  const char *contact_id;
  const cJSON *profile;
  const struct lhost_event *ev;
  int answer;
};

/* Runs inside lua_pcall: any Lua error below unwinds to lhost_entry_allows. Only a boolean
 * is an answer: a `when` that forgot its return (nil) is a bug to report, not a "no". */
static int entry_main(lua_State *L)
{
  struct entry_call *ec = lua_touserdata(L, 1);
  struct journey *j = lhost_journey_of(L);
  lua_pushcfunction(L, lhost_msgh);                      /* 2 */
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->entry_when_ref); /* 3 */
  lhost_push_json(L, cJSON_IsObject(ec->profile) ? ec->profile : NULL, 1, "contact");
  if (ec->ev)
    lhost_push_event(L, ec->ev, ec->contact_id);
  else
    lua_pushnil(L);
  if (lua_pcall(L, 2, 1, 2) != LUA_OK)
    return lua_error(L);
  if (!lua_isboolean(L, -1))
    return luaL_error(L, "must return true or false (got %s)", luaL_typename(L, -1));
  ec->answer = lua_toboolean(L, -1);
  return 0;
}

int lhost_entry_allows(struct journey *j, const char *contact_id, const cJSON *profile,
                       const struct lhost_event *ev, int64_t now_ms, char *err, size_t errlen)
{
  lua_State *L = j->L;
  struct lhost_event e;
  struct entry_call ec = {contact_id, profile, NULL, 0};
  if (j->entry_when_ref == LUA_NOREF)
    return 1;
  if (j->running) {
    snprintf(err, errlen, "entry.when: a step of journey '%s' is running", j->info.name);
    return -1;
  }
  if (ev) { /* an event without a time happened now, as for a step */
    e = *ev;
    e.time_ms = e.time_ms ? e.time_ms : now_ms;
    ec.ev = &e;
  }
  lua_settop(L, 0);
  lua_pushcfunction(L, entry_main);
  lua_pushlightuserdata(L, &ec);
  lhost_budget_start(j);
  int rc = lua_pcall(L, 1, 0, 0);
  lhost_budget_stop(j);
  char fixed[128];
  int changed = lhost_fixed_changed(j, fixed, sizeof fixed); /* put back, whatever happened */
  if (lhost_budget_failed(j, "entry.when", err, errlen)) {
    rc = -1;
  } else if (changed && rc == LUA_OK) {
    snprintf(err, errlen, "entry.when changed the file-level local '%s' (file-level state is "
                          "shared by every contact)", fixed);
    rc = -1;
  } else if (rc != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "entry.when: %s", msg ? msg : "unknown error");
    rc = -1;
  } else {
    rc = ec.answer;
  }
  lua_settop(L, 0);
  if (rc < 0)
    lua_gc(L, LUA_GCCOLLECT, 0); /* leave the state clean for the next contact */
  return rc;
}

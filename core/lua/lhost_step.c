/* Running one step of one conversation: build `c` and `ev`, call the handler kept by
 * reference under the step budget, take the decision it returned and encode c.memory.
 * Everything the step made lives in j->run until it succeeds, so a failure -- a script
 * error, a broken limit, a value memory cannot keep -- keeps nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_int.h"

/* Runs inside lua_pcall: any Lua error below unwinds to lhost_run_step. */
static int step_main(lua_State *L)
{
  const struct lhost_stepref *s = lua_touserdata(L, 1);
  struct journey *j = lhost_journey_of(L);
  const struct lhost_step_in *in = j->run.in;
  lhost_seed_random(L, j, in->conv_id, in->now_ms);
  lua_pushcfunction(L, lhost_msgh);             /* 2 */
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->ref);    /* 3 */
  lhost_push_c(L, j);                           /* 4 */
  if (in->event)
    lhost_push_event(L, in->event, in->contact_id);
  else
    lua_pushnil(L);                             /* 5 */
  if (lua_pcall(L, 2, 1, 2) != LUA_OK)
    return lua_error(L);
  if (lhost_take_decision(L, j, 3, &j->run.final) < 0) {
    j->run.no_decision = 1;
    return luaL_error(L, "returned no decision (return c:listen(...) or c:finish())");
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->run.c_ref);
  lua_pushliteral(L, "memory");
  lua_rawget(L, -2);
  lhost_memory_encode(L, -1, &j->run.mem);
  size_t cap = j->limits.conversation_memory_bytes;
  if (cap && j->run.mem.size > cap)
    return luaL_error(L, "c.memory takes %I bytes, more than the %I allowed "
                         "(lua.conversation_memory_bytes)", (lua_Integer)j->run.mem.size, (lua_Integer)cap);
  return 0;
}

static void run_begin(struct journey *j, const struct lhost_step_in *in, const char *step)
{
  struct lhost_run *r = &j->run;
  memset(r, 0, sizeof *r);
  r->in = in;
  r->step = step;
  r->serial = ++j->serial;
  r->c_ref = LUA_NOREF;
  msgpack_sbuffer_init(&r->mem);
  msgpack_unpacked_init(&r->unpacked);
  j->running = 1;
}

static void speaks_free(struct lhost_speak *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(s[i].channel);
    free(s[i].template_name);
    free(s[i].subject);
    free(s[i].text);
    free(s[i].html);
    free(s[i].options);
    free(s[i].topic);
    free(s[i].info);
  }
  free(s);
}

static void refused_free(struct lhost_refusal *r, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(r[i].channel);
    free(r[i].template_name);
    free(r[i].reason);
  }
  free(r);
}

static void run_end(struct journey *j)
{
  struct lhost_run *r = &j->run;
  luaL_unref(j->L, LUA_REGISTRYINDEX, r->c_ref);
  speaks_free(r->speaks, r->n_speaks);
  refused_free(r->refused, r->n_refused);
  lhost_offered_free(r->offered, r->n_offered);
  for (size_t i = 0; i < r->n_pending; i++)
    lhost_pending_clear(&r->pending[i]);
  free(r->pending);
  lhost_pending_clear(&r->final);
  msgpack_sbuffer_destroy(&r->mem);
  msgpack_unpacked_destroy(&r->unpacked);
  memset(r, 0, sizeof *r);
  r->c_ref = LUA_NOREF;
  j->running = 0;
}

/* Hands what the step made over to the caller's decision. */
static void decision_take(struct journey *j, struct lhost_decision *out)
{
  struct lhost_run *r = &j->run;
  out->next = r->final.next;
  out->events = r->final.events;
  out->n_events = r->final.n_events;
  out->timeout_ms = r->final.timeout_ms;
  out->next_step = r->final.next_step;
  memset(&r->final, 0, sizeof r->final);
  out->memory_len = r->mem.size;
  out->memory = msgpack_sbuffer_release(&r->mem);
  out->speaks = r->speaks;
  out->n_speaks = r->n_speaks;
  out->refused = r->refused;
  out->n_refused = r->n_refused;
  out->offered = r->offered;
  out->n_offered = r->n_offered;
  r->speaks = NULL;
  r->refused = NULL;
  r->offered = NULL;
  r->n_speaks = r->n_refused = r->n_offered = 0;
}

static void step_error(struct journey *j, const char *step, char *err, size_t errlen)
{
  const char *msg = lua_tostring(j->L, -1);
  if (j->run.no_decision)
    snprintf(err, errlen, "step '%s' %s", step, msg ? msg : "returned no decision");
  else
    snprintf(err, errlen, "step '%s': %s", step, msg ? msg : "unknown error");
}

int lhost_run_step(struct journey *j, const struct lhost_step_in *in, struct lhost_decision *out,
                   char *err, size_t errlen)
{
  char what[256];
  lua_State *L = j->L;
  memset(out, 0, sizeof *out);
  const struct lhost_stepref *s = lhost_step_find(j, in->step ? in->step : "");
  if (s == NULL) {
    snprintf(err, errlen, "journey '%s' has no step '%s'", j->info.name,
             in->step ? in->step : "(null)");
    return -1;
  }
  if (j->running) {
    snprintf(err, errlen, "journey '%s': a step is already running (re-entered)", j->info.name);
    return -1;
  }
  run_begin(j, in, s->name);
  lua_settop(L, 0);
  lua_pushcfunction(L, step_main);
  lua_pushlightuserdata(L, (void *)s);
  lhost_budget_start(j);
  int rc = lua_pcall(L, 1, 0, 0);
  lhost_budget_stop(j);
  snprintf(what, sizeof what, "step '%s'", s->name);
  char fixed[128];
  int changed = lhost_fixed_changed(j, fixed, sizeof fixed); /* put back, whatever happened */
  if (lhost_budget_failed(j, what, err, errlen))
    rc = -1;
  else if (changed && rc == LUA_OK)
    snprintf(err, errlen, "%s changed the file-level local '%s': file-level state is shared by "
                          "every contact of the journey (keep a contact's data in c.memory)",
             what, fixed), rc = -1;
  else if (rc != LUA_OK)
    step_error(j, s->name, err, errlen), rc = -1;
  else
    decision_take(j, out);
  lua_settop(L, 0);
  run_end(j);
  if (rc != 0)
    lua_gc(L, LUA_GCCOLLECT, 0); /* leave the state clean for the next conversation */
  return rc;
}

void lhost_decision_free(struct lhost_decision *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n_events; i++)
    free(d->events[i]);
  free(d->events);
  free(d->next_step);
  free(d->memory);
  speaks_free(d->speaks, d->n_speaks);
  refused_free(d->refused, d->n_refused);
  lhost_offered_free(d->offered, d->n_offered);
  memset(d, 0, sizeof *d);
}

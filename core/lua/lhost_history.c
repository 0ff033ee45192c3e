/* The contact's history as a step reads it: c:history{ kind =, type =, since =, ... } reads
 * the lines the core keeps (histline.h) back as entries, newest first; c:record_offer notes
 * an offer made, which the core writes in the history with the step's decision (so a
 * failed step offered nothing). The offers this step recorded are read as the newest
 * entries, so a second choice in the same step counts the first. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "histline.h"
#include "lhost_int.h"

/* The fields a query may filter on, as the entries name them. */
static const char *const match_keys[] = {"kind", "type", "channel", "template", "journey", "offer", "reason", NULL};

struct hquery {
  int field[7];   /* stack index of the wanted value (a string or a list of them); 0: any */
  int64_t since_ms; /* entries after it; INT64_MIN: all */
  lua_Integer limit; /* at most this many; 0: all */
};

static const char *entry_field(const struct histline *e, size_t k)
{
  const char *v[] = {e->kind, e->type, e->channel, e->template_name, e->journey, e->offer, e->reason};
  return v[k];
}

static void query_since(lua_State *L, int idx, int64_t now_ms, struct hquery *q, const char *method)
{
  char err[160];
  int64_t ms;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number s = lua_tonumber(L, idx);
    if (!(s >= 0 && s < 9.2e15))
      luaL_error(L, "%s: since must be a duration >= 0", method);
    ms = (int64_t)(s * 1000);
  } else if (lua_type(L, idx) == LUA_TSTRING) {
    if (duration_parse(lua_tostring(L, idx), &ms, err, sizeof err) < 0)
      luaL_error(L, "%s: since: %s", method, err);
  } else {
    luaL_error(L, "%s: since must be a duration like \"30d\" or a number of seconds (got %s)", method,
               luaL_typename(L, idx));
    return;
  }
  q->since_ms = now_ms - ms;
}

/* A filter's value: a string, or a list of strings (any of them matches). */
static void query_value(lua_State *L, int idx, const char *key, const char *method)
{
  if (lua_type(L, idx) == LUA_TSTRING)
    return;
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "%s: %s must be a string or a list of strings (got %s)", method, key, luaL_typename(L, idx));
  for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, idx); i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
      luaL_error(L, "%s: %s[%d] must be a string", method, key, (int)i);
    lua_pop(L, 1);
  }
}

/* Reads the query table at idx; each wanted value is left on the stack. A misspelt field
 * would match everything, so an unknown one is refused. */
static void query_read(lua_State *L, int idx, int64_t now_ms, struct hquery *q, const char *method)
{
  memset(q, 0, sizeof *q);
  q->since_ms = INT64_MIN;
  if (lua_isnoneornil(L, idx))
    return;
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "%s: takes a table such as { kind = \"event\", type = \"order.placed\", since = \"30d\" } (got %s)",
               method, luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  if (lhost_readonly_unwrap(L, idx)) /* a file-level query: read what it shows */
    lua_replace(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    size_t i = 0;
    while (match_keys[i] && strcmp(match_keys[i], k) != 0)
      i++;
    if (!match_keys[i] && strcmp(k, "since") != 0 && strcmp(k, "limit") != 0)
      luaL_error(L, "%s: unknown field '%s' (known: kind, type, channel, template, journey, offer, reason, "
                    "since, limit)", method, luaL_tolstring(L, -1, NULL));
  }
  for (size_t i = 0; match_keys[i]; i++) {
    if (lua_getfield(L, idx, match_keys[i]) == LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    if (lhost_readonly_unwrap(L, -1)) /* a file-level list */
      lua_replace(L, -2);
    query_value(L, -1, match_keys[i], method);
    q->field[i] = lua_gettop(L);
  }
  if (lua_getfield(L, idx, "since") != LUA_TNIL)
    query_since(L, -1, now_ms, q, method);
  if (lua_getfield(L, idx, "limit") != LUA_TNIL && (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1))
    luaL_error(L, "%s: limit must be a whole number, 1 or more", method);
  q->limit = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
  lua_pop(L, 2);
}

static int value_matches(lua_State *L, int idx, const char *v)
{
  if (v == NULL)
    return 0;
  if (lua_type(L, idx) == LUA_TSTRING)
    return strcmp(lua_tostring(L, idx), v) == 0;
  int hit = 0;
  for (lua_Integer i = 1; !hit && i <= (lua_Integer)lua_rawlen(L, idx); i++) {
    lua_rawgeti(L, idx, i);
    hit = strcmp(lua_tostring(L, -1), v) == 0;
    lua_pop(L, 1);
  }
  return hit;
}

static int entry_matches(lua_State *L, const struct hquery *q, const struct histline *e)
{
  for (size_t k = 0; match_keys[k]; k++)
    if (q->field[k] && !value_matches(L, q->field[k], entry_field(e, k)))
      return 0;
  return 1;
}

/* Fills the table at -1 from the parsed object (a light userdata at 1). Protected: a
 * push that raises must not leak the object. */
static int fill_data(lua_State *L)
{
  const cJSON *data = lua_touserdata(L, 1), *v;
  lua_settop(L, 2);
  cJSON_ArrayForEach(v, data)
  {
    if (cJSON_IsString(v))
      lua_pushstring(L, v->valuestring);
    else if (cJSON_IsBool(v))
      lua_pushboolean(L, cJSON_IsTrue(v));
    else if (cJSON_IsNumber(v) && v->valuedouble == (double)(lua_Integer)v->valuedouble)
      lua_pushinteger(L, (lua_Integer)v->valuedouble);
    else if (cJSON_IsNumber(v))
      lua_pushnumber(L, v->valuedouble);
    else
      continue;
    lua_setfield(L, 2, v->string);
  }
  return 0;
}

/* What an event line kept of its data: flat (text, numbers, true/false); always a table,
 * as ev.data is. */
static void push_data(lua_State *L, const char *json)
{
  lua_newtable(L);
  lua_pushcfunction(L, fill_data);
  cJSON *data = json ? cJSON_Parse(json) : NULL; /* after the pushes that may raise */
  lua_pushlightuserdata(L, data);
  lua_pushvalue(L, -3);
  int rc = lua_pcall(L, 2, 0, 0);
  cJSON_Delete(data);
  if (rc != LUA_OK)
    lua_error(L);
}

static void push_entry(lua_State *L, const struct histline *e, int64_t at_ms)
{
  lua_createtable(L, 0, 6);
  if (at_ms % 1000 == 0)
    lua_pushinteger(L, at_ms / 1000);
  else
    lua_pushnumber(L, (lua_Number)at_ms / 1000.0);
  lua_setfield(L, -2, "at");
  for (size_t k = 0; match_keys[k]; k++)
    if (entry_field(e, k)) {
      lua_pushstring(L, entry_field(e, k));
      lua_setfield(L, -2, match_keys[k]);
    }
  if (e->id) {
    lua_pushstring(L, e->id);
    lua_setfield(L, -2, "id");
  }
  if (e->kind && strcmp(e->kind, "event") == 0) {
    push_data(L, e->data);
    lua_setfield(L, -2, "data");
  }
}

/* The walk behind c:history and t:history; j, when the query runs in a step, is charged
 * for each line read. The history is in time order, so the walk stops at the first line
 * older than `since`. */
static void history_walk(lua_State *L, struct journey *j, int query_idx, lhost_history_fn at, void *ud,
                         int64_t now_ms, const char *method)
{
  struct hquery q;
  query_read(L, query_idx, now_ms, &q, method);
  lua_newtable(L);
  lua_Integer n = 0;
  char buf[HISTLINE_MAX];
  int64_t at_ms;
  const char *line;
  for (size_t i = 0; at && (q.limit == 0 || n < q.limit) && (line = at(ud, i, &at_ms)); i++) {
    if (j && lhost_budget_spend(j, 20) != KILL_NONE)
      lhost_budget_raise(L, j->budget.kill);
    if (at_ms <= q.since_ms) /* as the caps count: one exactly `since` old is out */
      break;
    struct histline e;
    histline_parse(line, buf, sizeof buf, &e);
    if (!entry_matches(L, &q, &e))
      continue;
    push_entry(L, &e, at_ms);
    lua_rawseti(L, -2, ++n);
  }
}

void lhost_history_push(lua_State *L, int query_idx, lhost_history_fn at, void *ud, int64_t now_ms,
                        const char *method)
{
  int top = lua_gettop(L);
  history_walk(L, NULL, query_idx, at, ud, now_ms, method);
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
}

/* The step's view: the offers it recorded (newest first, at now), then the core's lines. */
struct step_view {
  struct journey *j;
  char line[HISTLINE_MAX];
};

static const char *step_line(void *ud, size_t i, int64_t *at_ms)
{
  struct step_view *v = ud;
  const struct lhost_run *r = &v->j->run;
  if (i < r->n_offered) {
    const struct lhost_offered *o = &r->offered[r->n_offered - 1 - i];
    histline_offered(v->line, sizeof v->line, o->offer, v->j->info.name, o->channel, o->template_name);
    *at_ms = r->in->now_ms;
    return v->line;
  }
  return r->in->history ? r->in->history(r->in->ud, i - r->n_offered, at_ms) : NULL;
}

/* c:history([query]) -> { { at =, kind =, ... }, ... }, newest first */
int lhost_c_history(lua_State *L)
{
  struct journey *j = lhost_self_check(L, "history");
  struct step_view v = {.j = j};
  int top = lua_gettop(L);
  history_walk(L, j, 2, step_line, &v, j->run.in->now_ms, "c:history");
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
  return 1;
}

static char *opt_dup(lua_State *L, int idx, const char *what)
{
  if (lua_isnoneornil(L, idx))
    return NULL;
  if (lua_type(L, idx) != LUA_TSTRING || lua_rawlen(L, idx) == 0)
    luaL_error(L, "c:record_offer: %s must be a non-empty string (got %s)", what, luaL_typename(L, idx));
  return (char *)lua_tostring(L, idx);
}

/* c:record_offer(offer [, channel, template]): the offer is written in the contact's
 * history with the step's decision, where per-offer caps count it. */
int lhost_c_record_offer(lua_State *L)
{
  struct journey *j = lhost_self_check(L, "record_offer");
  const char *offer = opt_dup(L, 2, "the offer's id");
  const char *channel = opt_dup(L, 3, "the channel");
  const char *tmpl = opt_dup(L, 4, "the template");
  if (!offer)
    return luaL_error(L, "c:record_offer: the offer's id is missing");
  if (!channel != !tmpl)
    return luaL_error(L, "c:record_offer: give both a channel and a template, or neither");
  if (strpbrk(offer, " ()/") || (channel && strpbrk(channel, " ()/")))
    return luaL_error(L, "c:record_offer: an offer's id and a channel have no space, '/' or parenthesis");
  struct lhost_run *r = &j->run;
  struct lhost_offered *o = realloc(r->offered, (r->n_offered + 1) * sizeof *o);
  if (!o)
    return luaL_error(L, "out of memory");
  r->offered = o;
  o += r->n_offered;
  *o = (struct lhost_offered){strdup(offer), channel ? strdup(channel) : NULL, tmpl ? strdup(tmpl) : NULL};
  r->n_offered++; /* owned by the run from here, freed whatever happens next */
  if (!o->offer || (channel && (!o->channel || !o->template_name)))
    return luaL_error(L, "out of memory");
  return 0;
}

void lhost_offered_free(struct lhost_offered *o, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(o[i].offer);
    free(o[i].channel);
    free(o[i].template_name);
  }
  free(o);
}

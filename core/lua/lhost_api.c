/* The journey-facing API: the `c` object a step receives (c:speak, c:can_speak,
 * c:listen, c:finish, c:now, c:log, c.memory, c.contact, c.params, c.id, c.journey,
 * c.step; c:history and c:record_offer are lhost_history.c's), the waking event table,
 * and `print`. Every C allocation a method makes is owned
 * by j->run before anything can raise, so an error in the middle leaks nothing. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "lhost_int.h"
#include "util.h"
#include "log.h"

struct decision_token {
  unsigned serial;
  size_t index;
};

const struct lhost_stepref *lhost_step_find(const struct journey *j, const char *name)
{
  if (j->n_steps == 0)
    return NULL;
  return bsearch(name, j->steps, j->n_steps, sizeof *j->steps, util_cmp_name_key);
}

static void journey_log(struct journey *j, const char *msg)
{
  char id[32];
  if (!j->info.name) { /* the file is loading: it names its journey once it has run */
    log_kv(j->log, LOG_INFO, "journey", msg, "file", j->info.path, NULL);
    return;
  }
  if (!j->running) {
    log_kv(j->log, LOG_INFO, "journey", msg, "journey", j->info.name, NULL);
    return;
  }
  snprintf(id, sizeof id, "%llu", (unsigned long long)j->run.in->conv_id);
  log_kv(j->log, LOG_INFO, "journey", msg, "journey", j->info.name, "contact", j->run.in->contact_id, "conv",
         id, "step", j->run.step, NULL);
}

/* print goes to the log, never to stdout: the daemon's stdout is nobody's console. */
static int l_print(lua_State *L)
{
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  journey_log(lhost_journey_of(L), lua_tostring(L, -1));
  return 0;
}

#define self_check lhost_self_check /* lhost_int.h: lhost_history.c's methods check the same */

static void *grow(lua_State *L, void **arr, size_t *n, size_t elem)
{
  char *np = realloc(*arr, (*n + 1) * elem);
  if (np == NULL)
    luaL_error(L, "out of memory");
  *arr = np;
  memset(np + *n * elem, 0, elem);
  return np + (*n)++ * elem;
}

static char *dup_or_raise(lua_State *L, const char *s)
{
  char *d = strdup(s);
  if (d == NULL)
    luaL_error(L, "out of memory");
  return d;
}

/* The core's gate: 0 allowed, else the refusal's code and its reason; a journey's
 * mistake (an undeclared topic) is raised here, as the error of the line that asked. */
static int gate(lua_State *L, struct journey *j, const char *channel, const char *topic, char *reason, size_t len)
{
  const struct lhost_step_in *in = j->run.in;
  reason[0] = '\0';
  if (in->can_speak == NULL)
    return 0;
  int code = in->can_speak(in->ud, channel, topic, reason, len);
  if (code < 0)
    luaL_error(L, "%s", reason);
  if (code > 0 && reason[0] == '\0')
    snprintf(reason, len, "refused");
  return code;
}

/* The topic a speak names: options.topic (NULL: the default), or a Lua error. */
static const char *topic_of(lua_State *L, int idx)
{
  if (!lua_istable(L, idx))
    return NULL;
  int t = lua_getfield(L, idx, "topic");
  const char *topic = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL; /* kept alive by the table */
  lua_pop(L, 1);
  if (t != LUA_TNIL && t != LUA_TSTRING)
    luaL_error(L, "option 'topic' must be the name of a topic, such as \"transactional\"");
  return topic;
}

/* A refused speak keeps its channel and template, drops its rendered parts. */
static void refuse_last(lua_State *L, struct journey *j, const char *reason, int code)
{
  struct lhost_run *r = &j->run;
  struct lhost_refusal *rf = grow(L, (void **)&r->refused, &r->n_refused, sizeof *rf);
  struct lhost_speak *sp = &r->speaks[r->n_speaks - 1];
  rf->code = code;
  rf->reason = dup_or_raise(L, reason);
  rf->channel = sp->channel;
  rf->template_name = sp->template_name;
  free(sp->subject);
  free(sp->text);
  free(sp->html);
  free(sp->options);
  free(sp->topic);
  free(sp->info);
  r->n_speaks--;
}

/* The channel's own word on a message the gate let through (its plugin's check): 1 with
 * what it measured kept on the speak, or 0 with the reason it can never go. */
static int channel_check(struct journey *j, struct lhost_speak *sp, char *reason, size_t len)
{
  const struct lhost_step_in *in = j->run.in;
  char info[512] = "";
  if (in->check == NULL)
    return 0;
  int code = in->check(in->ud, sp, info, sizeof info);
  if (code > 0) {
    snprintf(reason, len, "%s", info[0] ? info : "refused by the channel");
    return code;
  }
  if (info[0] && !(sp->info = strdup(info)))
    luaL_error(j->L, "out of memory");
  return 0;
}

/* c:speak(channel, template, vars, options) -> true [, info] | false, reason. Renders
 * now, so a template error is reported at the line that spoke. */
static int c_speak(lua_State *L)
{
  struct journey *j = self_check(L, "speak");
  const char *channel = luaL_checkstring(L, 2);
  const char *name = luaL_checkstring(L, 3);
  char reason[256];
  if (!lua_isnoneornil(L, 4))
    luaL_checktype(L, 4, LUA_TTABLE);
  if (!lua_isnoneornil(L, 5))
    luaL_checktype(L, 5, LUA_TTABLE);
  lua_settop(L, 5);
  const struct lhost_template *t = lhost_template_find(j, name);
  if (t == NULL)
    return luaL_error(L, "c:speak: no template '%s' in journey '%s'", name, j->info.name);
  struct lhost_run *r = &j->run;
  size_t cap = j->limits.step_speaks;
  if (cap && r->n_speaks + r->n_refused >= cap) /* refusals too: each is kept and recorded */
    return luaL_error(L, "c:speak: more than %d messages in one step (lua.step_speaks)", (int)cap);
  struct lhost_speak *sp = grow(L, (void **)&r->speaks, &r->n_speaks, sizeof *sp);
  sp->channel = dup_or_raise(L, channel);
  sp->template_name = dup_or_raise(L, name);
  lhost_speak_render(L, j, t, 4, sp);
  sp->options = lhost_speak_options(L, 5);
  const char *topic = topic_of(L, 5);
  if (topic)
    sp->topic = dup_or_raise(L, topic);
  int code = gate(L, j, channel, topic, reason, sizeof reason);
  if (code == 0)
    code = channel_check(j, sp, reason, sizeof reason);
  if (code == 0) {
    lua_pushboolean(L, 1);
    if (sp->info == NULL)
      return 1;
    lhost_push_info(L, sp->info);
    return 2;
  }
  refuse_last(L, j, reason, code);
  lua_pushboolean(L, 0);
  lua_pushstring(L, reason);
  return 2;
}

/* c:can_speak(channel [, topic | options]) -> true | false, reason */
static int c_can_speak(lua_State *L)
{
  struct journey *j = self_check(L, "can_speak");
  char reason[256];
  const char *channel = luaL_checkstring(L, 2);
  const char *topic = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : NULL;
  if (!lua_isnoneornil(L, 3) && !topic && !lua_istable(L, 3))
    return luaL_error(L, "c:can_speak: the second argument is a topic or the options of c:speak (got %s)",
                      luaL_typename(L, 3));
  if (lua_istable(L, 3))
    topic = topic_of(L, 3);
  int ok = gate(L, j, channel, topic, reason, sizeof reason) == 0;
  lua_pushboolean(L, ok);
  if (ok)
    return 1;
  lua_pushstring(L, reason);
  return 2;
}

static int64_t check_timeout(lua_State *L, int idx)
{
  char err[256];
  int64_t ms;
  if (lua_isnoneornil(L, idx))
    return -1;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number s = lua_tonumber(L, idx);
    if (!(s >= 0 && s < 9.2e15)) /* also refuses NaN */
      luaL_error(L, "c:listen: timeout must be a duration >= 0 (got %f)", (double)s);
    return (int64_t)(s * 1000);
  }
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "c:listen: timeout must be a duration like \"4h\", a number of seconds, or "
                  "nil (got %s)", luaL_typename(L, idx));
  if (duration_parse(lua_tostring(L, idx), &ms, err, sizeof err) < 0)
    luaL_error(L, "c:listen: %s", err);
  return ms;
}

static int push_decision(lua_State *L, struct journey *j, size_t index)
{
  struct decision_token *tok = lua_newuserdatauv(L, sizeof *tok, 0);
  tok->serial = j->run.serial;
  tok->index = index;
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->decision_mt_ref);
  lua_setmetatable(L, -2);
  return 1;
}

/* c:listen(events, timeout, next_step) -> decision */
static int c_listen(lua_State *L)
{
  struct journey *j = self_check(L, "listen");
  struct lhost_run *r = &j->run;
  luaL_checktype(L, 2, LUA_TTABLE);
  int64_t timeout = check_timeout(L, 3);
  const char *next = luaL_checkstring(L, 4);
  if (lhost_step_find(j, next) == NULL)
    return luaL_error(L, "c:listen: journey '%s' has no step '%s'", j->info.name, next);
  if (lhost_readonly_unwrap(L, 2)) /* a file-level list: read what it shows */
    lua_replace(L, 2);
  size_t n = lua_rawlen(L, 2);
  struct lhost_pending *p = grow(L, (void **)&r->pending, &r->n_pending, sizeof *p);
  p->next = LHOST_LISTEN;
  p->timeout_ms = timeout;
  p->next_step = dup_or_raise(L, next);
  if (n && (p->events = calloc(n, sizeof *p->events)) == NULL)
    return luaL_error(L, "out of memory");
  for (size_t i = 0; i < n; i++, p->n_events++) {
    if (lua_rawgeti(L, 2, (lua_Integer)i + 1) != LUA_TSTRING)
      return luaL_error(L, "c:listen: events[%d] must be an event type string (got %s)",
                        (int)i + 1, luaL_typename(L, -1));
    p->events[i] = dup_or_raise(L, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return push_decision(L, j, r->n_pending - 1);
}

static int c_finish(lua_State *L)
{
  struct journey *j = self_check(L, "finish");
  struct lhost_run *r = &j->run;
  struct lhost_pending *p = grow(L, (void **)&r->pending, &r->n_pending, sizeof *p);
  p->next = LHOST_FINISH;
  p->timeout_ms = -1;
  return push_decision(L, j, r->n_pending - 1);
}

static void push_epoch_seconds(lua_State *L, int64_t ms)
{
  if (ms % 1000 == 0)
    lua_pushinteger(L, ms / 1000);
  else
    lua_pushnumber(L, (lua_Number)ms / 1000.0);
}

/* The conversation's clock (virtual in tests), never the machine's. */
static int c_now(lua_State *L)
{
  struct journey *j = self_check(L, "now");
  push_epoch_seconds(L, j->run.in->now_ms);
  return 1;
}

static int c_log(lua_State *L)
{
  struct journey *j = self_check(L, "log");
  journey_log(j, luaL_tolstring(L, 2, NULL));
  return 0;
}

static int decision_tostring(lua_State *L)
{
  lua_pushliteral(L, "parley decision");
  return 1;
}

/* Installs the journey API in a sandbox not yet sealed: the methods of `c`, the metatable
 * of decisions, and `print`. A lua_CFunction, run protected: it allocates. */
int lhost_api_open(lua_State *L)
{
  static const luaL_Reg methods[] = {{"speak", c_speak},   {"can_speak", c_can_speak},
                                     {"listen", c_listen}, {"finish", c_finish},
                                     {"now", c_now},       {"log", c_log},
                                     {"history", lhost_c_history},
                                     {"record_offer", lhost_c_record_offer},
                                     {NULL, NULL}};
  struct journey *j = lhost_journey_of(L);
  lua_createtable(L, 0, 2); /* metatable of c */
  luaL_newlib(L, methods);
  luaL_setfuncs(L, lhost_experiment_methods, 0);
  lhost_readonly(L, "the conversation's methods");
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  j->methods_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_createtable(L, 0, 3);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pushcfunction(L, decision_tostring);
  lua_setfield(L, -2, "__tostring");
  j->decision_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, l_print);
  lua_setglobal(L, "print");
  return 0;
}

/* Takes the decision the step returned (at idx) out of j->run into *out. */
int lhost_take_decision(lua_State *L, struct journey *j, int idx, struct lhost_pending *out)
{
  struct decision_token *tok = lua_touserdata(L, idx);
  if (tok == NULL || lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
    return -1;
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->decision_mt_ref);
  int ours = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  if (!ours || tok->serial != j->run.serial || tok->index >= j->run.n_pending)
    return -1;
  *out = j->run.pending[tok->index];
  memset(&j->run.pending[tok->index], 0, sizeof *out);
  return 0;
}

void lhost_pending_clear(struct lhost_pending *p)
{
  for (size_t i = 0; i < p->n_events; i++)
    free(p->events[i]);
  free(p->events);
  free(p->next_step);
  memset(p, 0, sizeof *p);
}

static void push_json_number(lua_State *L, double d)
{
  if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18)
    lua_pushinteger(L, (lua_Integer)d);
  else
    lua_pushnumber(L, d);
}

static void push_json_value(lua_State *L, const cJSON *v, int depth)
{
  luaL_checkstack(L, 4, "JSON too deep");
  if (depth > 64)
    luaL_error(L, "JSON value nested too deep");
  if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
    int arr = cJSON_IsArray(v);
    lua_newtable(L);
    lua_Integer i = 1;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
      if (cJSON_IsNull(it) || (!arr && it->string == NULL))
        continue;
      push_json_value(L, it, depth + 1);
      if (arr)
        lua_rawseti(L, -2, i);
      else
        lua_setfield(L, -2, it->string);
    }
  } else if (cJSON_IsString(v)) {
    lua_pushstring(L, v->valuestring);
  } else if (cJSON_IsNumber(v)) {
    push_json_number(L, v->valuedouble);
  } else if (cJSON_IsBool(v)) {
    lua_pushboolean(L, cJSON_IsTrue(v));
  } else {
    lua_pushnil(L);
  }
}

/* JSON -> Lua: objects and arrays become tables (null entries are left out), integral
 * numbers become integers. With readonly, every table is a read-only view named `what`. */
void lhost_push_json(lua_State *L, const cJSON *v, int readonly, const char *what)
{
  if (v == NULL)
    lua_newtable(L);
  else
    push_json_value(L, v, 0);
  if (readonly && lua_type(L, -1) == LUA_TTABLE)
    lhost_readonly(L, what);
}

/* ev = { id, type, contact, time (epoch seconds), data = {...} }; data is always a table
 * so `ev.data.x` never needs a nil check on data itself. */
void lhost_push_event(lua_State *L, const struct lhost_event *ev, const char *contact_id)
{
  lua_createtable(L, 0, 5);
  lua_pushstring(L, ev->id);
  lua_setfield(L, -2, "id");
  lua_pushstring(L, ev->type);
  lua_setfield(L, -2, "type");
  lua_pushstring(L, contact_id);
  lua_setfield(L, -2, "contact");
  push_epoch_seconds(L, ev->time_ms);
  lua_setfield(L, -2, "time");
  if (cJSON_IsObject(ev->data))
    lhost_push_json(L, ev->data, 0, NULL);
  else
    lua_newtable(L);
  lua_setfield(L, -2, "data");
}

/* Builds this step's `c` and keeps it in j->run.c_ref (the methods check against it). */
void lhost_push_c(lua_State *L, struct journey *j)
{
  const struct lhost_step_in *in = j->run.in;
  char id[32];
  lua_createtable(L, 0, 6);
  lhost_memory_push(L, &j->run.unpacked, in->memory, in->memory_len);
  lua_setfield(L, -2, "memory");
  lhost_push_json(L, cJSON_IsObject(in->profile) ? in->profile : NULL, 1, "c.contact");
  lua_setfield(L, -2, "contact");
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->params_ref);
  lua_setfield(L, -2, "params");
  snprintf(id, sizeof id, "%llu", (unsigned long long)in->conv_id);
  lua_pushstring(L, id);
  lua_setfield(L, -2, "id");
  lua_pushstring(L, j->info.name);
  lua_setfield(L, -2, "journey");
  lua_pushstring(L, j->run.step);
  lua_setfield(L, -2, "step");
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->methods_ref);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  j->run.c_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

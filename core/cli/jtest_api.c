/* The globals of a test file: test(name, fn), which declares a test, and print, a TAP
 * comment under it; and the `t` a test receives: posting events (t:event), moving the
 * virtual clock (t:advance, t:now), the messages spoken (t:spoken, t:expect_spoken,
 * t:expect_silence), conversations (t:conversation, t:expect_conversation), failures and
 * refusals (t:expect_failure, t:expect_refused). A method works on the core of the test
 * that runs now (struct jt); what an expectation fails with is a Lua error, which fails
 * that test. */
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "conv.h"
#include "duration.h"
#include "jtest_int.h"
#include "lua/lhost.h"

#define JT_MAX_FIRES 100000 /* deadlines one advance may fire */

/* ---- arguments ----
 * A bad argument to a t: method fails the test with "t:<method>: <what is wrong>": a
 * value of the wrong kind must not crash the runner, nor a misspelt field match
 * everything unnoticed. */

/* The runner behind `t`. t.event{...} (a dot for a colon) is the usual slip; an argument
 * beyond the `most` the method takes would be ignored, so it is refused too. */
static struct jt *self(lua_State *L, const char *method, int most, const char *takes)
{
  struct jt **p = luaL_testudata(L, 1, JT_MT);
  if (!p)
    luaL_error(L, "t:%s: call it with a colon, t:%s(...), not t.%s(...)", method, method, method);
  int given = lua_gettop(L) - 1;
  if (given > most)
    luaL_error(L, "t:%s: takes %s, not %d argument%s", method, takes, given, given == 1 ? "" : "s");
  return *p;
}

/* The string argument at idx (`what` names it); NULL when absent and optional. */
static const char *arg_string(lua_State *L, int idx, const char *method, const char *what, int optional)
{
  if (optional && lua_isnoneornil(L, idx))
    return NULL;
  if (lua_isnone(L, idx))
    luaL_error(L, "t:%s: %s is missing", method, what);
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "t:%s: %s must be a string, not %s", method, what, luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

/* "channel, contact, ..." from a NULL-ended list of names. */
static void join_names(const char *const *keys, char *out, size_t len)
{
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; keys[i] && used < len; i++)
    used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", keys[i]);
}

/* The table of fields at index 2: every key one of `keys` (NULL-ended), every value a
 * string. A misspelt field would match everything, so it is refused. */
static void check_fields(lua_State *L, const char *method, const char *const *keys)
{
  char known[256];
  join_names(keys, known, sizeof known);
  if (lua_type(L, 2) != LUA_TTABLE)
    luaL_error(L, "t:%s: takes a table of fields (%s), not %s", method, known, luaL_typename(L, 2));
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    int known_key = 0;
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "t:%s: the value at [%s] has no field name; write {%s = \"...\"}", method,
                 luaL_tolstring(L, -2, NULL), keys[0]);
    for (size_t i = 0; keys[i] && !known_key; i++)
      known_key = strcmp(keys[i], lua_tostring(L, -2)) == 0;
    if (!known_key)
      luaL_error(L, "t:%s: unknown field '%s' (known: %s)", method, lua_tostring(L, -2), known);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "t:%s: field '%s' must be a string, not %s", method, lua_tostring(L, -2),
                 luaL_typename(L, -1));
    lua_pop(L, 1);
  }
}

/* ---- t:event{...} ---- */

static int t_event(lua_State *L)
{
  struct jt *t = self(L, "event", 1, "one table, {type = ..., contact = ...}");
  if (lua_type(L, 2) != LUA_TTABLE)
    return luaL_error(L, "t:event: takes a table, {type = ..., contact = ...}, not %s", luaL_typename(L, 2));
  char err[512];
  cJSON *obj = jt_event_to_json(L, 2, err, sizeof err);
  if (!obj)
    return luaL_error(L, "t:event: %s", err);
  if (!cJSON_GetObjectItem(obj, "id")) { /* every test event is distinct unless it says so */
    char id[32];
    snprintf(id, sizeof id, "test-event-%u", ++t->events);
    if (!cJSON_AddStringToObject(obj, "id", id)) {
      cJSON_Delete(obj);
      return luaL_error(L, "t:event: out of memory");
    }
  }
  struct event ev;
  int rc = event_from_json(obj, clock_now_ms(&t->core->clock), &ev, err, sizeof err);
  cJSON_Delete(obj);
  if (rc < 0)
    return luaL_error(L, "t:event: %s", err);
  conv_apply_event(t->core, &ev);
  event_clear(&ev);
  core_flush(t->core);
  return 0;
}

/* ---- t:advance(duration), t:now() ---- */

/* Moves the clock deadline by deadline, so each step sees the time it woke at. */
static int t_advance(lua_State *L)
{
  struct jt *t = self(L, "advance", 1, "one duration, like \"4h\"");
  int64_t ms;
  char err[160];
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "t:advance: the duration must be a string like \"90s\", \"4h\" or \"3d\", not %s",
                      luaL_typename(L, 2));
  if (duration_parse(lua_tostring(L, 2), &ms, err, sizeof err) < 0)
    return luaL_error(L, "t:advance: %s", err);
  struct clock *clk = &t->core->clock;
  if (ms > INT64_MAX - clk->virtual_ms)
    return luaL_error(L, "t:advance: duration '%s' is too large", lua_tostring(L, 2));
  int64_t target = clk->virtual_ms + ms, due;
  uint64_t id;
  for (int fired = 0; t->core->store->ops->deadline_next(t->core->store, &due, &id) && due <= target; fired++) {
    if (fired == JT_MAX_FIRES)
      return luaL_error(L, "t:advance: more than %d deadlines fired; is a journey waiting in a loop?",
                        JT_MAX_FIRES);
    if (due > clk->virtual_ms)
      clk->virtual_ms = due;
    core_flush(t->core);
  }
  clk->virtual_ms = target;
  core_flush(t->core);
  return 0;
}

static int t_now(lua_State *L)
{
  lua_pushinteger(L, clock_now_ms(&self(L, "now", 0, "no arguments")->core->clock) / 1000);
  return 1;
}

/* ---- messages ---- */

static void push_msg(lua_State *L, const struct jt_msg *m)
{
  lua_createtable(L, 0, 9);
  const char *keys[] = {"id", "channel", "contact", "journey", "template", "subject", "text", "html"};
  const char *vals[] = {m->id, m->channel, m->contact, m->journey, m->template_name, m->subject, m->text, m->html};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (vals[i]) {
      lua_pushstring(L, vals[i]);
      lua_setfield(L, -2, keys[i]);
    }
  }
  lua_pushinteger(L, m->at_ms / 1000);
  lua_setfield(L, -2, "at");
}

static int t_spoken(lua_State *L)
{
  struct jt *t = self(L, "spoken", 0, "no arguments");
  lua_createtable(L, (int)t->n_msgs, 0);
  for (size_t i = 0; i < t->n_msgs; i++) {
    push_msg(L, &t->msgs[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int t_expect_spoken(lua_State *L)
{
  struct jt *t = self(L, "expect_spoken", 1, "one table of fields");
  check_fields(L, "expect_spoken", jt_msg_keys);
  for (size_t i = 0; i < t->n_msgs; i++) {
    if (!t->msgs[i].expected && jt_msg_matches(L, 2, &t->msgs[i])) {
      t->msgs[i].expected = 1;
      push_msg(L, &t->msgs[i]);
      return 1;
    }
  }
  luaL_Buffer b;
  luaL_where(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "expected a message ");
  jt_pattern_text(L, 2, jt_msg_keys, &b);
  luaL_addstring(&b, "; spoken and not yet expected:");
  jt_describe_msgs(L, 2, &b, t);
  luaL_pushresult(&b);
  lua_concat(L, 2);
  return lua_error(L);
}

static int t_expect_silence(lua_State *L)
{
  struct jt *t = self(L, "expect_silence", 0, "no arguments");
  for (size_t i = 0; i < t->n_msgs; i++) {
    if (!t->msgs[i].expected) {
      luaL_Buffer b;
      luaL_where(L, 1);
      luaL_buffinit(L, &b);
      luaL_addstring(&b, "expected silence; spoken and not yet expected:");
      jt_describe_msgs(L, 0, &b, t);
      luaL_pushresult(&b);
      lua_concat(L, 2);
      return lua_error(L);
    }
  }
  return 0;
}

/* ---- conversations ---- */

static const struct conv *find_conv(struct jt *t, const char *contact, const char *journey)
{
  struct store *st = t->core->store;
  struct contact *ct = st->ops->contact_get(st, contact);
  for (size_t i = ct ? ct->n_convs : 0; i-- > 0;) { /* the newest first */
    const struct conv *cv = st->ops->conv_get(st, ct->convs[i]);
    if (cv && (!journey || strcmp(cv->journey, journey) == 0))
      return cv;
  }
  return NULL;
}

/* The conversation's memory, decoded as a step sees it (not through JSON, which would
 * turn numbered keys into text and 2.0 into 2). */
static void push_memory(lua_State *L, const struct conv *cv)
{
  char err[256];
  if (lhost_memory_to_lua(L, cv->memory, cv->memory_len, err, sizeof err) < 0)
    luaL_error(L, "the memory of %s in journey %s cannot be read: %s", cv->contact, cv->journey, err);
}

/* t[key] = v, for the table on top; nothing when v is NULL. */
static void set_string(lua_State *L, const char *key, const char *v)
{
  if (v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, key);
  }
}

static void push_conv(lua_State *L, const struct conv *cv)
{
  lua_createtable(L, 0, 11);
  set_string(L, "journey", cv->journey);
  lua_pushinteger(L, cv->journey_version);
  lua_setfield(L, -2, "version");
  set_string(L, "step", cv->step ? cv->step : "");
  set_string(L, "status", conv_status_name(cv->status));
  set_string(L, "outcome", cv->outcome);
  set_string(L, "error", cv->error);
  if (cv->deadline_ms) {
    lua_pushinteger(L, cv->deadline_ms / 1000);
    lua_setfield(L, -2, "deadline");
  }
  lua_createtable(L, (int)cv->n_listen, 0);
  for (size_t i = 0; i < cv->n_listen; i++) {
    lua_pushstring(L, cv->listening_for[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "listening_for");
  lua_createtable(L, (int)cv->history.n, 0);
  for (size_t i = 0; i < cv->history.n; i++) {
    lua_pushstring(L, history_at(&cv->history, i)->what);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "history");
  push_memory(L, cv);
  lua_setfield(L, -2, "memory");
}

static int t_conversation(lua_State *L)
{
  struct jt *t = self(L, "conversation", 2, "a contact and a journey");
  const char *contact = arg_string(L, 2, "conversation", "the contact", 0);
  const struct conv *cv = find_conv(t, contact, arg_string(L, 3, "conversation", "the journey", 1));
  if (cv)
    push_conv(L, cv);
  else
    lua_pushnil(L);
  return 1;
}

/* Raises naming the first of status, step, outcome, error that the pattern at index 2
 * gives and the conversation (its table at index `actual`) does not have. */
static void compare_conv(lua_State *L, int actual, const char *contact, const struct conv *cv)
{
  static const char *const keys[] = {"status", "step", "outcome", "error"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (lua_getfield(L, 2, keys[i]) == LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    lua_getfield(L, actual, keys[i]);
    if (!lua_rawequal(L, -1, -2))
      luaL_error(L, "conversation of %s in %s: expected %s \"%s\", it is \"%s\"", contact, cv->journey, keys[i],
                 lua_tostring(L, -2), lua_isnil(L, -1) ? "(none)" : lua_tostring(L, -1));
    lua_pop(L, 2);
  }
}

static int t_expect_conversation(lua_State *L)
{
  static const char *const fields[] = {"contact", "journey", "status", "step", "outcome", "error", NULL};
  struct jt *t = self(L, "expect_conversation", 1, "one table of fields");
  check_fields(L, "expect_conversation", fields);
  if (lua_getfield(L, 2, "contact") == LUA_TNIL)
    return luaL_error(L, "t:expect_conversation: field 'contact' is required");
  const char *contact = lua_tostring(L, -1);
  lua_getfield(L, 2, "journey");
  const char *journey = lua_tostring(L, -1);
  const struct conv *cv = find_conv(t, contact, journey);
  if (!cv)
    return luaL_error(L, "expected a conversation of %s%s%s, found none", contact,
                      journey ? " in journey " : "", journey ? journey : "");
  push_conv(L, cv); /* the actual values, compared field by field */
  int actual = lua_gettop(L);
  compare_conv(L, actual, contact, cv);
  /* Expecting the status "failed" or the error is expecting that failure. */
  int named = lua_getfield(L, 2, "status") != LUA_TNIL || lua_getfield(L, 2, "error") != LUA_TNIL;
  lua_settop(L, actual);
  for (size_t i = 0; named && cv->status == CONV_FAILED && i < t->n_incidents; i++)
    if (t->incidents[i].conv_id == cv->id && !t->incidents[i].channel)
      t->incidents[i].expected = 1;
  return 1;
}

/* ---- failures and refusals ---- */

/* expect_failure / expect_refused: consume the first incident of the kind that matches. */
static int expect_incident(lua_State *L, int refusal)
{
  const char *method = refusal ? "expect_refused" : "expect_failure";
  struct jt *t = self(L, method, 1, "one table of fields");
  const char *const *keys = refusal ? jt_refusal_keys : jt_failure_keys;
  check_fields(L, method, keys);
  for (size_t i = 0; i < t->n_incidents; i++) {
    struct jt_incident *in = &t->incidents[i];
    if (!in->expected && !in->channel == !refusal && jt_incident_matches(L, 2, in)) {
      in->expected = 1;
      jt_push_incident(L, in);
      return 1;
    }
  }
  luaL_Buffer b;
  luaL_where(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, refusal ? "expected a refusal " : "expected a failure ");
  jt_pattern_text(L, 2, keys, &b);
  luaL_addstring(&b, refusal ? "; refused and not yet expected:" : "; failed and not yet expected:");
  jt_describe_incidents(&b, t, refusal);
  luaL_pushresult(&b);
  lua_concat(L, 2);
  return lua_error(L);
}

static int t_expect_failure(lua_State *L)
{
  return expect_incident(L, 0);
}

static int t_expect_refused(lua_State *L)
{
  return expect_incident(L, 1);
}

/* ---- the test file ---- */

static const luaL_Reg t_methods[] = {
    {"event", t_event},
    {"advance", t_advance},
    {"now", t_now},
    {"spoken", t_spoken},
    {"expect_spoken", t_expect_spoken},
    {"expect_silence", t_expect_silence},
    {"conversation", t_conversation},
    {"expect_conversation", t_expect_conversation},
    {"expect_failure", t_expect_failure},
    {"expect_refused", t_expect_refused},
    {NULL, NULL},
};

/* The arguments of test(name, function), refused as a t: method refuses them: saying
 * what is wrong, not in Lua's own words. */
static void check_test_args(lua_State *L)
{
  static const char usage[] = "test(name, function)";
  int given = lua_gettop(L);
  if (given > 2)
    luaL_error(L, "%s: takes a name and a function, not %d arguments", usage, given);
  if (given == 0)
    luaL_error(L, "%s: the name is missing", usage);
  if (lua_type(L, 1) != LUA_TSTRING)
    luaL_error(L, "%s: the name must be a string, not %s", usage, luaL_typename(L, 1));
  if (lua_isnoneornil(L, 2))
    luaL_error(L, "%s: the function is missing: write test(\"%s\", function(t) ... end)", usage,
               lua_tostring(L, 1));
  if (lua_type(L, 2) != LUA_TFUNCTION)
    luaL_error(L, "%s: the second argument must be a function, not %s", usage, luaL_typename(L, 2));
}

/* test(name, fn): collected in order into the registry table "parley.tests". */
/* A test declared while the tests run would join the list being run (one that declared
 * itself would run for ever): tests are declared at the top of the file. */
static int l_test(lua_State *L)
{
  check_test_args(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, "parley.running") != LUA_TNIL)
    return luaL_error(L, "test(name, function): declare tests at the top of the file, not "
                         "inside a test");
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "parley.tests");
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 2);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

/* print in a test file: a TAP comment under the test that runs, naming the file
 * ("# [welcome_test.lua] ..."), as a journey's print shows; at the top of the file, before
 * the file's tests. Never straight to stdout, which is the TAP stream. */
static int l_print(lua_State *L)
{
  struct jt *t = lua_touserdata(L, lua_upvalueindex(1));
  const char *file = strrchr(t->file, '/') ? strrchr(t->file, '/') + 1 : t->file;
  char prefix[512];
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b); /* pushes a placeholder: n is taken before */
  for (int i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  snprintf(prefix, sizeof prefix, "[%s] ", file);
  if (jt_note(t, prefix, lua_tostring(L, -1)) < 0)
    return luaL_error(L, "print: out of memory: the line cannot be kept");
  return 0;
}

/* What a test file sees: base, string, table, math, test() and print. Protected: runs
 * under lua_pcall, given the runner. */
static int open_test_state(lua_State *L)
{
  struct jt *t = lua_touserdata(L, 1);
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 0);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "parley.tests");
  lua_register(L, "test", l_test);
  lua_pushlightuserdata(L, t);
  lua_pushcclosure(L, l_print, 1);
  lua_setglobal(L, "print");
  luaL_newmetatable(L, JT_MT);
  luaL_newlib(L, t_methods);
  jt_history_methods(L);
  luaL_setfuncs(L, jt_measure_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  return 0;
}

/* The Lua state a test file runs in; NULL out of memory. */
lua_State *jt_api_state(struct jt *t)
{
  lua_State *L = luaL_newstate();
  if (!L)
    return NULL;
  lua_pushcfunction(L, open_test_state);
  lua_pushlightuserdata(L, t);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

/* The journey test runner (see jtest.h): a small Lua API over a real core on a virtual
 * clock, with every channel captured. */
#include "jtest.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conv.h"
#include "core.h"
#include "duration.h"
#include "lua/lhost.h"
#include "outbox.h"
#include "util.h"

#define JT_START_MS 1893488400000LL /* 2030-01-01T09:00:00Z: every test starts here */
#define JT_MAX_FIRES 100000         /* deadlines one advance may fire */
#define JT_MAX_FILE (4 << 20)       /* bytes of one test file */
#define JT_MT "parley.test"

struct jt_msg {
  char *id, *channel, *contact, *journey, *template_name, *subject, *text, *html;
  int64_t at_ms;
  int expected; /* consumed by an expect_spoken */
};

/* A conversation that failed, or a speak the core's gate refused (struct core_incident). */
struct jt_incident {
  uint64_t conv_id;
  char *contact, *journey, *step;
  char *channel, *template_name; /* a refusal; NULL for a failure */
  char *why;                     /* the error, or the reason of the refusal */
  int expected;                  /* consumed by an expect_failure, expect_refused or
                                    expect_conversation; else it fails the test */
};

struct jt {
  const char *config_path;
  char journeys[PATH_MAX]; /* the journeys folder of the file being run */
  struct core *core;
  struct ev_loop *loop;
  struct jt_msg *msgs;
  size_t n_msgs, cap_msgs;
  struct jt_incident *incidents;
  size_t n_incidents, cap_incidents;
  struct buf notes; /* TAP comment lines shown under the test: what its journeys logged */
  const char *lost; /* what the test lost for want of memory (it fails saying so); NULL */
  unsigned events;
};

/* Room for one more of n elements of `size` bytes in p (capacity *cap): p itself, or p
 * moved, or NULL out of memory (p and *cap unchanged). */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
  if (n < *cap)
    return p;
  size_t more = *cap ? *cap * 2 : 16;
  if (more > SIZE_MAX / size || !(p = realloc(p, more * size)))
    return NULL;
  *cap = more;
  return p;
}

/* *out[i] = a copy of in[i] (NULL stays NULL), for n strings. Out of memory, frees the
 * copies made, leaves every *out[i] NULL and returns -1. */
static int dup_all(char **const out[], const char *const in[], size_t n)
{
  for (size_t i = 0; i < n; i++) {
    *out[i] = in[i] ? strdup(in[i]) : NULL;
    if (in[i] && !*out[i]) {
      for (size_t k = 0; k < i; k++) {
        free(*out[k]);
        *out[k] = NULL;
      }
      return -1;
    }
  }
  return 0;
}

/* Called back from deep in the core, with no way to answer an error: a message that
 * cannot be kept is noted in t->lost, which fails the test. */
static void capture(void *ud, const struct parley_msg *m)
{
  struct jt *t = ud;
  struct jt_msg *msgs = grow(t->msgs, &t->cap_msgs, t->n_msgs, sizeof *msgs);
  if (!msgs) {
    t->lost = "a message spoken";
    return;
  }
  t->msgs = msgs;
  struct jt_msg *c = &msgs[t->n_msgs];
  *c = (struct jt_msg){.at_ms = clock_now_ms(&t->core->clock)};
  char **const out[] = {&c->id,            &c->channel, &c->contact, &c->journey,
                        &c->template_name, &c->subject, &c->text,    &c->html};
  const char *const in[] = {m->id,            m->channel, m->contact, m->journey,
                            m->template_name, m->subject, m->text,    m->html};
  if (dup_all(out, in, sizeof in / sizeof in[0]) < 0)
    t->lost = "a message spoken";
  else
    t->n_msgs++;
}

static void msgs_free(struct jt *t)
{
  for (size_t i = 0; i < t->n_msgs; i++) {
    struct jt_msg *m = &t->msgs[i];
    char *fields[] = {m->id, m->channel, m->contact, m->journey, m->template_name, m->subject, m->text, m->html};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      free(fields[f]);
  }
  free(t->msgs);
  t->msgs = NULL;
  t->n_msgs = t->cap_msgs = 0;
}

/* Called back like capture: an incident that cannot be kept is noted in t->lost. */
static void on_incident(void *ud, const struct core_incident *in)
{
  struct jt *t = ud;
  struct jt_incident *incidents = grow(t->incidents, &t->cap_incidents, t->n_incidents, sizeof *incidents);
  if (!incidents) {
    t->lost = "a failure or refusal";
    return;
  }
  t->incidents = incidents;
  const struct conv *cv = in->conv;
  struct jt_incident *c = &incidents[t->n_incidents];
  *c = (struct jt_incident){.conv_id = cv->id};
  char **const out[] = {&c->contact, &c->journey, &c->step, &c->channel, &c->template_name, &c->why};
  const char *const from[] = {cv->contact, cv->journey,       cv->step ? cv->step : "",
                              in->channel, in->template_name, in->why};
  if (dup_all(out, from, sizeof from / sizeof from[0]) < 0)
    t->lost = "a failure or refusal";
  else
    t->n_incidents++;
}

static void incidents_free(struct jt *t)
{
  for (size_t i = 0; i < t->n_incidents; i++) {
    struct jt_incident *in = &t->incidents[i];
    char *fields[] = {in->contact, in->journey, in->step, in->channel, in->template_name, in->why};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      free(fields[f]);
  }
  free(t->incidents);
  t->incidents = NULL;
  t->n_incidents = t->cap_incidents = 0;
}

/* "# <prefix><line>" for every line of text. Out of memory, the line is dropped whole and
 * noted in t->lost. */
static void note(struct jt *t, const char *prefix, const char *text)
{
  for (const char *p = text;;) {
    size_t n = strcspn(p, "\n"), start = t->notes.len;
    if (buf_add(&t->notes, "# ", 2) < 0 || buf_add(&t->notes, prefix, strlen(prefix)) < 0 ||
        buf_add(&t->notes, p, n) < 0 || buf_add(&t->notes, "\n", 1) < 0) {
      t->lost = "all that the journeys logged";
      t->notes.len = start; /* the pieces of this line already added go too */
      if (t->notes.p)
        t->notes.p[start] = '\0';
      return;
    }
    if (!p[n])
      break;
    p += n + 1;
  }
}

/* The core's log during a test, from the loading of the journeys on. A journey's print
 * and c:log (subsystem "journey" at INFO, with journey= and contact= fields, or file= while
 * the file loads: lhost_api.c) become "# [journey contact] message", "# [greet.lua]
 * message", under the test; other records at WARN or above "# WARN subsystem: message
 * key=value", but for the conversations that failed, which the runner reports itself
 * (on_incident); the rest is dropped. */
static void on_log(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields)
{
  struct jt *t = ud;
  const char *journey = NULL, *contact = NULL, *file = NULL;
  char text[2048], prefix[512];
  size_t used = (size_t)snprintf(text, sizeof text, "%s", msg);
  for (const char *k; (k = va_arg(fields, const char *));) {
    const char *v = va_arg(fields, const char *);
    journey = strcmp(k, "journey") == 0 ? v : journey;
    contact = strcmp(k, "contact") == 0 ? v : contact;
    file = strcmp(k, "file") == 0 && v ? v : file;
    if (used < sizeof text)
      used += (size_t)snprintf(text + used, sizeof text - used, " %s=%s", k, v ? v : "");
  }
  if (strcmp(subsys, "journey") == 0 && lvl == LOG_INFO && (journey || file)) {
    if (journey)
      snprintf(prefix, sizeof prefix, "[%s%s%s] ", journey, contact ? " " : "", contact ? contact : "");
    else
      snprintf(prefix, sizeof prefix, "[%s] ", strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
    note(t, prefix, msg);
  } else if (lvl >= LOG_WARN && !(strcmp(subsys, "conv") == 0 && lvl < LOG_ERROR)) {
    snprintf(prefix, sizeof prefix, "%s %s: ", log_level_name(lvl), subsys);
    note(t, prefix, text);
  }
}

/* A fresh core for one test: the configuration's journeys and channels, in memory, on a
 * virtual clock, channels captured. */
static int core_up(struct jt *t, char *err, size_t errlen)
{
  struct cfg *cfg = cfg_load(t->config_path, err, errlen);
  if (!cfg)
    return -1;
  free(cfg->store_backend);
  cfg->store_backend = strdup("memory");
  free(cfg->journeys_dir);
  cfg->journeys_dir = strdup(t->journeys);
  cfg->capture = 1;
  cfg->log_level = LOG_INFO; /* on_log picks what to show */
  cfg->log_sink = on_log;
  cfg->log_sink_ud = t;
  /* A test checks the journey as written: its own params, not a deployment's overrides
   * (the demo configuration shortens every wait to seconds). */
  cJSON_Delete(cfg->journey_params);
  cfg->journey_params = cJSON_CreateObject();
  if (!cfg->store_backend || !cfg->journeys_dir || !cfg->journey_params) {
    snprintf(err, errlen, "out of memory");
    cfg_free(cfg);
    return -1;
  }
  if (!(t->loop = ev_loop_new(EVFLAG_AUTO))) {
    snprintf(err, errlen, "cannot create an event loop (out of memory or file descriptors)");
    cfg_free(cfg);
    return -1;
  }
  t->lost = NULL;
  if (core_open(cfg, t->loop, &t->core, err, errlen) < 0) {
    ev_loop_destroy(t->loop);
    return -1;
  }
  clock_init_virtual(&t->core->clock, JT_START_MS);
  t->core->outbox.env.capture = capture;
  t->core->outbox.env.capture_ud = t;
  t->core->incident = on_incident;
  t->core->incident_ud = t;
  t->events = 0;
  return 0;
}

static void core_down(struct jt *t)
{
  core_close(t->core);
  ev_loop_destroy(t->loop);
  t->core = NULL;
  msgs_free(t);
  incidents_free(t);
}

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

#define JT_EVENT_DEPTH 16

/* Turning the event table into JSON: where it is (data.cart.items[2]) and, once something
 * is wrong, what. */
struct jconv {
  lua_State *L;
  char path[256];
  char err[512];
};

static cJSON *to_json(struct jconv *c, int idx, int depth);

static cJSON *jfail(struct jconv *c, const char *what)
{
  if (c->path[0])
    snprintf(c->err, sizeof c->err, "field '%s' %s", c->path, what);
  else
    snprintf(c->err, sizeof c->err, "the event %s", what);
  return NULL;
}

/* Appends .name (name non-NULL) or [i] to the path; returns the old length, to cut it back. */
static size_t jpath_push(struct jconv *c, const char *name, lua_Integer i)
{
  size_t old = strlen(c->path);
  if (name)
    snprintf(c->path + old, sizeof c->path - old, "%s%s", old ? "." : "", name);
  else
    snprintf(c->path + old, sizeof c->path - old, "[%lld]", (long long)i);
  return old;
}

/* Keys exactly 1..n: a list. */
static int is_list(lua_State *L, int idx)
{
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1)) {
      lua_pop(L, 1);
      return 0;
    }
    n++;
  }
  return n > 0 && (lua_Integer)lua_rawlen(L, idx) == n;
}

/* The value at the top of the stack as member `key` (NULL: the next item) of o, popped. */
static int jadd(struct jconv *c, cJSON *o, const char *key, int depth)
{
  cJSON *v = to_json(c, lua_gettop(c->L), depth + 1);
  lua_pop(c->L, 1);
  if (v && (key ? cJSON_AddItemToObject(o, key, v) : cJSON_AddItemToArray(o, v)))
    return 0;
  cJSON_Delete(v);
  if (!c->err[0])
    jfail(c, "cannot be kept: out of memory");
  return -1;
}

static cJSON *list_to_json(struct jconv *c, int idx, int depth)
{
  cJSON *a = cJSON_CreateArray();
  if (!a)
    return jfail(c, "cannot be kept: out of memory");
  for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(c->L, idx); i++) {
    size_t old = jpath_push(c, NULL, i);
    lua_rawgeti(c->L, idx, i);
    if (jadd(c, a, NULL, depth) < 0) {
      cJSON_Delete(a);
      return NULL;
    }
    c->path[old] = '\0';
  }
  return a;
}

static cJSON *fields_to_json(struct jconv *c, int idx, int depth)
{
  lua_State *L = c->L;
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return jfail(c, "cannot be kept: out of memory");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      char what[160];
      snprintf(what, sizeof what, "has a %s key where a name was expected (a table is named fields, or a list 1..n)",
               luaL_typename(L, -2));
      lua_pop(L, 2);
      cJSON_Delete(o);
      return jfail(c, what);
    }
    size_t klen, old = jpath_push(c, lua_tolstring(L, -2, &klen), 0);
    if (memchr(lua_tostring(L, -2), '\0', klen)) { /* a C string would end there */
      lua_pop(L, 2);
      cJSON_Delete(o);
      return jfail(c, "has a NUL character in its name");
    }
    if (jadd(c, o, lua_tostring(L, -2), depth) < 0) {
      lua_pop(L, 1);
      cJSON_Delete(o);
      return NULL;
    }
    c->path[old] = '\0';
  }
  return o;
}

/* The Lua value at idx as JSON, or NULL with c->err. Never raises: a raise would leak what
 * was built so far. The event itself is always named fields. */
static cJSON *to_json(struct jconv *c, int idx, int depth)
{
  lua_State *L = c->L;
  cJSON *v = NULL;
  char what[64];
  if (depth > JT_EVENT_DEPTH || !lua_checkstack(L, 4)) {
    snprintf(what, sizeof what, "is nested more than %d levels deep", JT_EVENT_DEPTH);
    return jfail(c, what);
  }
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (memchr(s, '\0', len)) /* cJSON keeps C strings: it would be cut short there */
      return jfail(c, "holds a NUL character");
    v = cJSON_CreateString(s);
    break;
  }
  case LUA_TBOOLEAN: v = cJSON_CreateBool(lua_toboolean(L, idx)); break;
  case LUA_TNUMBER: v = cJSON_CreateNumber(lua_tonumber(L, idx)); break;
  case LUA_TTABLE: return depth > 0 && is_list(L, idx) ? list_to_json(c, idx, depth) : fields_to_json(c, idx, depth);
  default:
    snprintf(what, sizeof what, "cannot hold a %s", luaL_typename(L, idx));
    return jfail(c, what);
  }
  return v ? v : jfail(c, "cannot be kept: out of memory");
}

static int t_event(lua_State *L)
{
  struct jt *t = self(L, "event", 1, "one table, {type = ..., contact = ...}");
  if (lua_type(L, 2) != LUA_TTABLE)
    return luaL_error(L, "t:event: takes a table, {type = ..., contact = ...}, not %s", luaL_typename(L, 2));
  struct jconv c = {.L = L};
  cJSON *obj = to_json(&c, 2, 0);
  if (!obj)
    return luaL_error(L, "t:event: %s", c.err);
  if (!cJSON_GetObjectItem(obj, "id")) { /* every test event is distinct unless it says so */
    char id[32];
    snprintf(id, sizeof id, "test-event-%u", ++t->events);
    if (!cJSON_AddStringToObject(obj, "id", id)) {
      cJSON_Delete(obj);
      return luaL_error(L, "t:event: out of memory");
    }
  }
  struct event ev;
  char err[512];
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

/* Exact for channel, contact, journey, template; "contains" for subject, text, html. */
static int matches(lua_State *L, int pat, const struct jt_msg *m)
{
  static const char *const exact[] = {"channel", "contact", "journey", "template"};
  static const char *const part[] = {"subject", "text", "html"};
  const char *ex[] = {m->channel, m->contact, m->journey, m->template_name};
  const char *pa[] = {m->subject, m->text, m->html};
  int ok = 1;
  for (int i = 0; i < 4 && ok; i++) {
    if (lua_getfield(L, pat, exact[i]) != LUA_TNIL)
      ok = ex[i] && strcmp(ex[i], lua_tostring(L, -1)) == 0;
    lua_pop(L, 1);
  }
  for (int i = 0; i < 3 && ok; i++) {
    if (lua_getfield(L, pat, part[i]) != LUA_TNIL)
      ok = pa[i] && strstr(pa[i], lua_tostring(L, -1)) != NULL;
    lua_pop(L, 1);
  }
  return ok;
}

#define JT_EXCERPT_CHARS 200 /* of a message part shown in a failure */

static size_t utf8_chars(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* "\n      text: \"Hi Ann,\\nThanks...\"", one line, the part's first JT_EXCERPT_CHARS
 * characters (whole UTF-8 characters), line breaks and tabs shown as \n and \t. */
static void add_excerpt(luaL_Buffer *b, const char *label, const char *s)
{
  size_t total = utf8_chars(s), chars = 0;
  char head[64];
  if (total > JT_EXCERPT_CHARS)
    snprintf(head, sizeof head, "\n      %s (first %d of %zu characters): \"", label, JT_EXCERPT_CHARS, total);
  else
    snprintf(head, sizeof head, "\n      %s: \"", label);
  luaL_addstring(b, head);
  for (const char *p = s; *p; p++) {
    if (((unsigned char)*p & 0xC0) != 0x80 && chars++ == JT_EXCERPT_CHARS)
      break;
    if (*p == '\n' || *p == '\t' || *p == '\r')
      luaL_addchar(b, '\\'), luaL_addchar(b, *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
    else
      luaL_addchar(b, *p);
  }
  luaL_addchar(b, '"');
}

/* Per message not yet expected, for failure messages: "email/welcome to ann (journey
 * welcome)", then its subject and the start of its text, which a marketer compares with
 * what was expected; the html too when the pattern (at index pat, 0: none) names it. */
static void describe_unexpected(lua_State *L, int pat, luaL_Buffer *b, const struct jt *t)
{
  int any = 0, html = pat && lua_getfield(L, pat, "html") != LUA_TNIL;
  if (pat)
    lua_pop(L, 1);
  for (size_t i = 0; i < t->n_msgs; i++) {
    const struct jt_msg *m = &t->msgs[i];
    if (m->expected)
      continue;
    char line[512];
    snprintf(line, sizeof line, "\n    %s/%s to %s (journey %s)", m->channel, m->template_name, m->contact,
             m->journey);
    luaL_addstring(b, line);
    if (m->subject)
      add_excerpt(b, "subject", m->subject);
    if (m->text)
      add_excerpt(b, "text", m->text);
    if (m->html && html)
      add_excerpt(b, "html", m->html);
    any = 1;
  }
  if (!any)
    luaL_addstring(b, " nothing");
}

static const char *const msg_keys[] = {"channel", "contact", "journey", "template", "subject", "text", "html", NULL};

/* The pattern as written, {key = "value", ...}, in the order of `keys` (NULL-ended). */
static void pattern_text(lua_State *L, int pat, const char *const *keys, luaL_Buffer *b)
{
  int first = 1;
  luaL_addchar(b, '{');
  for (size_t i = 0; keys[i]; i++) {
    if (lua_getfield(L, pat, keys[i]) != LUA_TNIL) {
      lua_pushfstring(L, "%s%s = \"%s\"", first ? "" : ", ", keys[i], lua_tostring(L, -1));
      lua_remove(L, -2);
      luaL_addvalue(b);
      first = 0;
    } else {
      lua_pop(L, 1);
    }
  }
  luaL_addchar(b, '}');
}

static int t_expect_spoken(lua_State *L)
{
  struct jt *t = self(L, "expect_spoken", 1, "one table of fields");
  check_fields(L, "expect_spoken", msg_keys);
  for (size_t i = 0; i < t->n_msgs; i++) {
    if (!t->msgs[i].expected && matches(L, 2, &t->msgs[i])) {
      t->msgs[i].expected = 1;
      push_msg(L, &t->msgs[i]);
      return 1;
    }
  }
  luaL_Buffer b;
  luaL_where(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "expected a message ");
  pattern_text(L, 2, msg_keys, &b);
  luaL_addstring(&b, "; spoken and not yet expected:");
  describe_unexpected(L, 2, &b, t);
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
      describe_unexpected(L, 0, &b, t);
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

static void push_conv(lua_State *L, const struct conv *cv)
{
  lua_createtable(L, 0, 11);
  lua_pushstring(L, cv->journey);
  lua_setfield(L, -2, "journey");
  lua_pushinteger(L, cv->journey_version);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, cv->step ? cv->step : "");
  lua_setfield(L, -2, "step");
  lua_pushstring(L, conv_status_name(cv->status));
  lua_setfield(L, -2, "status");
  if (cv->outcome) {
    lua_pushstring(L, cv->outcome);
    lua_setfield(L, -2, "outcome");
  }
  if (cv->error) {
    lua_pushstring(L, cv->error);
    lua_setfield(L, -2, "error");
  }
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
  static const char *const keys[] = {"status", "step", "outcome", "error"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (lua_getfield(L, 2, keys[i]) == LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    lua_getfield(L, actual, keys[i]);
    if (!lua_rawequal(L, -1, -2))
      return luaL_error(L, "conversation of %s in %s: expected %s \"%s\", it is \"%s\"", contact, cv->journey,
                        keys[i], lua_tostring(L, -2), lua_isnil(L, -1) ? "(none)" : lua_tostring(L, -1));
    lua_pop(L, 2);
  }
  /* Expecting the status "failed" or the error is expecting that failure. */
  int named = lua_getfield(L, 2, "status") != LUA_TNIL || lua_getfield(L, 2, "error") != LUA_TNIL;
  lua_settop(L, actual);
  for (size_t i = 0; named && cv->status == CONV_FAILED && i < t->n_incidents; i++)
    if (t->incidents[i].conv_id == cv->id && !t->incidents[i].channel)
      t->incidents[i].expected = 1;
  return 1;
}

/* ---- failures and refusals ---- */

/* What a pattern may name, in the order shown; the last key (the error or the reason) is
 * matched as "contains", the others exactly. */
static const char *const failure_keys[] = {"contact", "journey", "step", "error", NULL};
static const char *const refusal_keys[] = {"contact", "journey", "step", "channel", "template", "reason", NULL};

static const char *const *incident_keys(const struct jt_incident *in)
{
  return in->channel ? refusal_keys : failure_keys;
}

/* The incident's values in the order of incident_keys. */
static void incident_values(const struct jt_incident *in, const char *vals[6])
{
  const char *fv[] = {in->contact, in->journey, in->step, in->why};
  const char *rv[] = {in->contact, in->journey, in->step, in->channel, in->template_name, in->why};
  memcpy(vals, in->channel ? rv : fv, (in->channel ? 6 : 4) * sizeof *vals);
}

static int incident_matches(lua_State *L, int pat, const struct jt_incident *in)
{
  const char *const *keys = incident_keys(in);
  const char *vals[6];
  incident_values(in, vals);
  int ok = 1;
  for (size_t i = 0; keys[i] && ok; i++) {
    if (lua_getfield(L, pat, keys[i]) != LUA_TNIL)
      ok = keys[i + 1] ? strcmp(vals[i], lua_tostring(L, -1)) == 0 : strstr(vals[i], lua_tostring(L, -1)) != NULL;
    lua_pop(L, 1);
  }
  return ok;
}

/* "ann in journey boom, step start: [sms/hi: ]why", one line. */
static void incident_line(const struct jt_incident *in, char *line, size_t len)
{
  if (in->channel)
    snprintf(line, len, "%s in journey %s, step %s: %s/%s: %s", in->contact, in->journey, in->step, in->channel,
             in->template_name, in->why);
  else
    snprintf(line, len, "%s in journey %s, step %s: %s", in->contact, in->journey, in->step, in->why);
}

static void push_incident(lua_State *L, const struct jt_incident *in)
{
  const char *const *keys = incident_keys(in);
  const char *vals[6];
  incident_values(in, vals);
  lua_createtable(L, 0, 6);
  for (size_t i = 0; keys[i]; i++) {
    lua_pushstring(L, vals[i]);
    lua_setfield(L, -2, keys[i]);
  }
}

/* expect_failure / expect_refused: consume the first incident of the kind that matches. */
static int expect_incident(lua_State *L, int refusal)
{
  const char *method = refusal ? "expect_refused" : "expect_failure";
  struct jt *t = self(L, method, 1, "one table of fields");
  const char *const *keys = refusal ? refusal_keys : failure_keys;
  check_fields(L, method, keys);
  for (size_t i = 0; i < t->n_incidents; i++) {
    struct jt_incident *in = &t->incidents[i];
    if (!in->expected && !in->channel == !refusal && incident_matches(L, 2, in)) {
      in->expected = 1;
      push_incident(L, in);
      return 1;
    }
  }
  luaL_Buffer b;
  luaL_where(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, refusal ? "expected a refusal " : "expected a failure ");
  pattern_text(L, 2, keys, &b);
  luaL_addstring(&b, refusal ? "; refused and not yet expected:" : "; failed and not yet expected:");
  int any = 0;
  for (size_t i = 0; i < t->n_incidents; i++) {
    char line[2048];
    if (t->incidents[i].expected || !t->incidents[i].channel != !refusal)
      continue;
    incident_line(&t->incidents[i], line, sizeof line);
    luaL_addstring(&b, "\n    ");
    luaL_addstring(&b, line);
    any = 1;
  }
  if (!any)
    luaL_addstring(&b, " nothing");
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

/* At the end of a test: every failure and refusal no expectation took, one line each after
 * what `why` already says. Returns how many. */
static int unexpected_incidents(const struct jt *t, char *why, size_t len)
{
  int n = 0;
  size_t used = strlen(why);
  for (size_t i = 0; i < t->n_incidents && used + 1 < len; i++) {
    const struct jt_incident *in = &t->incidents[i];
    char line[2048];
    if (in->expected)
      continue;
    incident_line(in, line, sizeof line);
    used += (size_t)snprintf(why + used, len - used, "%sunexpected %s: %s", used ? "\n" : "",
                             in->channel ? "refusal" : "failure", line);
    n++;
  }
  if (n && used + 1 < len)
    snprintf(why + used, len - used, "\n(when the test means it: t:expect_failure{...}, t:expect_refused{...})");
  return n;
}

/* ---- running files ---- */

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

/* test(name, fn): collected in order into the registry table "parley.tests". */
static int l_test(lua_State *L)
{
  luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_getfield(L, LUA_REGISTRYINDEX, "parley.tests");
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 2);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

/* What a test file sees: base, string, table, math, and test(). Protected: runs under
 * lua_pcall. */
static int open_test_state(lua_State *L)
{
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 0);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "parley.tests");
  lua_register(L, "test", l_test);
  luaL_newmetatable(L, JT_MT);
  luaL_newlib(L, t_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  return 0;
}

/* NULL out of memory. */
static lua_State *test_state(void)
{
  lua_State *L = luaL_newstate();
  if (!L)
    return NULL;
  lua_pushcfunction(L, open_test_state);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

/* The error with a traceback. An error value that is not text (error{...}) is shown by
 * its __tostring, or named by its type, as the lua interpreter does. */
static int traceback(lua_State *L)
{
  const char *msg = lua_tostring(L, 1);
  if (!msg && luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
    msg = lua_tostring(L, -1);
  else if (!msg)
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Runs test i of the file's list (at the top of the stack). Returns 1 when it passed. */
static int run_one(lua_State *L, struct jt *t, int i, char *why, size_t whylen)
{
  char err[1024];
  if (core_up(t, err, sizeof err) < 0) {
    snprintf(why, whylen, "cannot start the core: %s", err);
    return 0;
  }
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, -2, i);
  lua_rawgeti(L, -1, 2);
  lua_remove(L, -2);
  *(struct jt **)lua_newuserdatauv(L, sizeof(struct jt *), 0) = t;
  luaL_setmetatable(L, JT_MT);
  int ok = lua_pcall(L, 1, 0, -3) == LUA_OK;
  const char *m = ok ? "" : lua_tostring(L, -1);
  m = m ? m : "the test failed";
  if (t->lost) /* first: what the test checked may be what was lost */
    snprintf(why, whylen, "out of memory: could not keep %s%s%s", t->lost, m[0] ? "\n" : "", m);
  else
    snprintf(why, whylen, "%s", m);
  lua_settop(L, lua_gettop(L) - (ok ? 1 : 2));
  if (unexpected_incidents(t, why, whylen) > 0 || t->lost)
    ok = 0;
  core_down(t);
  return ok;
}

static void print_failure(const char *why)
{
  for (const char *p = why; *p;) { /* every line of the reason as a TAP comment */
    const char *nl = strchr(p, '\n');
    int n = nl ? (int)(nl - p) : (int)strlen(p);
    printf("#   %.*s\n", n, p);
    p += n + (nl != NULL);
  }
}

/* Reads the test file and runs its top level, which declares its tests (test(...)).
 * Returns 0, or -1 with why. */
static int load_tests(lua_State *L, const char *path, char *why, size_t whylen)
{
  size_t len;
  char *src = util_read_file(path, JT_MAX_FILE, &len, why, whylen);
  if (!src)
    return -1;
  char chunk[PATH_MAX + 2];
  snprintf(chunk, sizeof chunk, "@%s", path);
  lua_pushcfunction(L, traceback);
  int rc = luaL_loadbufferx(L, src, len, chunk, "t");
  free(src);
  if (rc == LUA_OK)
    rc = lua_pcall(L, 0, 0, -2);
  if (rc != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    snprintf(why, whylen, "%s", m ? m : "the file cannot be run");
  }
  lua_settop(L, 0);
  return rc == LUA_OK ? 0 : -1;
}

static void run_file(struct jt *t, const char *path, int *passed, int *failed)
{
  char why[8192];
  lua_State *L = test_state();
  if (!L)
    snprintf(why, sizeof why, "cannot create a Lua state: out of memory");
  if (!L || load_tests(L, path, why, sizeof why) < 0) {
    printf("not ok %d - %s\n", *passed + *failed + 1, path);
    print_failure(why);
    ++*failed;
  } else {
    lua_getfield(L, LUA_REGISTRYINDEX, "parley.tests");
    for (int i = 1; i <= (int)lua_rawlen(L, -1); i++) {
      int ok = run_one(L, t, i, why, sizeof why);
      lua_rawgeti(L, -1, i);
      lua_rawgeti(L, -1, 1);
      printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", *passed + *failed + 1, path, lua_tostring(L, -1));
      lua_pop(L, 2);
      if (!ok)
        print_failure(why);
      fwrite(t->notes.p ? t->notes.p : "", 1, t->notes.len, stdout);
      t->notes.len = 0;
      ++*(ok ? passed : failed);
    }
  }
  if (L)
    lua_close(L);
}

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Does dir hold a journey, by the registry's rule: a *.lua file, not hidden, not a
 * *_test.lua? */
static int holds_journeys(const char *dir)
{
  DIR *d = opendir(dir);
  int found = 0;
  for (struct dirent *de; d && !found && (de = readdir(d));) {
    char path[PATH_MAX + 256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    found = de->d_name[0] != '.' && ends_with(de->d_name, ".lua") && !ends_with(de->d_name, "_test.lua") &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode);
  }
  if (d)
    closedir(d);
  return found;
}

/* A test is written beside the journeys it tests: in a `tests` folder next to them, or
 * among them. Returns 1 with that folder (absolute) in out, 0 when neither holds any. */
static int journeys_beside(const char *test_path, char *out)
{
  char real[PATH_MAX];
  if (!realpath(test_path, real))
    return 0;
  char *slash = strrchr(real, '/');
  *slash = '\0'; /* real: the test's folder ("" for the root) */
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", real);
  slash = strrchr(parent, '/');
  if (slash && strcmp(slash + 1, "tests") == 0) {
    *slash = '\0';
    if (holds_journeys(parent[0] ? parent : "/")) {
      snprintf(out, PATH_MAX, "%s", parent[0] ? parent : "/");
      return 1;
    }
  }
  if (real[0] && holds_journeys(real)) {
    snprintf(out, PATH_MAX, "%s", real);
    return 1;
  }
  return 0;
}

/* The folder `path` is tested against (see jtest_options); `fallback` is --journeys or the
 * configuration's journeys_dir, both absolute. */
static void pick_journeys(const char *path, const char *fallback, int forced, char *out)
{
  if (forced || !journeys_beside(path, out))
    snprintf(out, PATH_MAX, "%s", fallback);
}

static void free_files(char **files, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(files[i]);
  free(files);
}

/* Every *_test.lua in <dir>/tests, in name order: n paths in *out, for free_files.
 * Returns 0, or -1 out of memory. */
static int default_files(const char *journeys, char ***out, size_t *n)
{
  char dir[PATH_MAX + 8];
  snprintf(dir, sizeof dir, "%s/tests", journeys);
  char **files = NULL;
  size_t cap = 0;
  *n = 0;
  DIR *d = opendir(dir);
  for (struct dirent *de; d && (de = readdir(d));) {
    if (!ends_with(de->d_name, "_test.lua"))
      continue;
    char **more = grow(files, &cap, *n, sizeof *files);
    char *path = more ? malloc(strlen(dir) + strlen(de->d_name) + 2) : NULL;
    if (!path) {
      free_files(more ? more : files, *n);
      closedir(d);
      return -1;
    }
    files = more;
    sprintf(path, "%s/%s", dir, de->d_name);
    files[(*n)++] = path;
  }
  if (d)
    closedir(d);
  if (*n)
    qsort(files, *n, sizeof *files, util_cmp_strp);
  *out = files;
  return 0;
}

/* --journeys as given, or the configuration's journeys_dir, made absolute (as is when it
 * does not exist: loading the journeys then says so). Returns -1 when neither is usable. */
static int fallback_journeys(const struct jtest_options *o, char *out)
{
  const char *dir = o->journeys_dir;
  struct cfg *cfg = NULL;
  char err[1024];
  if (!dir) {
    if (!(cfg = cfg_load(o->config_path, err, sizeof err))) {
      fprintf(stderr, "parley test: %s\n", err);
      return -1;
    }
    dir = cfg->journeys_dir;
  }
  int rc = 0;
  if (!realpath(dir, out)) {
    if (o->journeys_dir) {
      fprintf(stderr, "parley test: --journeys %s: %s\n", dir, strerror(errno));
      rc = -1;
    }
    snprintf(out, PATH_MAX, "%s", dir);
  }
  cfg_free(cfg);
  return rc;
}

int jtest_run(const struct jtest_options *o)
{
  struct jt t = {.config_path = o->config_path};
  char fallback[PATH_MAX], shown[PATH_MAX] = "";
  if (fallback_journeys(o, fallback) < 0)
    return 2;
  char **files = o->files, **found = NULL;
  size_t n_files = o->n_files;
  if (n_files == 0) {
    if (default_files(fallback, &found, &n_files) < 0) {
      fprintf(stderr, "parley test: out of memory listing %s/tests\n", fallback);
      return 2;
    }
    files = found;
    if (n_files == 0) {
      fprintf(stderr, "parley test: no *_test.lua in %s/tests (or name files)\n", fallback);
      free(found);
      return 2;
    }
  }
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n_files; i++) {
    pick_journeys(files[i], fallback, o->journeys_dir != NULL, t.journeys);
    if (strcmp(shown, t.journeys) != 0) /* said once per folder, before its tests */
      printf("# journeys: %s\n", strcpy(shown, t.journeys));
    run_file(&t, files[i], &passed, &failed);
  }
  printf("1..%d\n%d passed, %d failed\n", passed + failed, passed, failed);
  buf_free(&t.notes);
  if (found)
    free_files(found, n_files);
  return failed ? 1 : 0;
}

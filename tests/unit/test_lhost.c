/* The journey host: loading and refusing journeys, the step API (speak, listen, finish,
 * memory, contact, params), msgpack memory, modules and the bundle of a version's files,
 * and the two shipped demo journeys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lhost.h"
#include "log.h"

#define JDIR PARLEY_SRCDIR "/tests/unit/journeys"
#define SHIPPED PARLEY_SRCDIR "/scripts/journeys"
#define NOW 1700000000000LL

static const struct log quiet = {.min = LOG_ERROR};
static cJSON *params_cfg, *profile;

struct gate {
  const char *refuse; /* channel refused, or NULL */
  int asked;
};

/* The core's contract (lhost.h): 0 allowed, a positive code refused. */
static int fake_can_speak(void *ud, const char *channel, const char *topic, char *reason, size_t len)
{
  struct gate *g = ud;
  (void)topic;
  g->asked++;
  if (g->refuse && strcmp(channel, g->refuse) == 0) {
    snprintf(reason, len, "no consent for %s", channel);
    return 3;
  }
  return 0;
}

static struct lhost_config config(const char *jdir)
{
  struct lhost_config cfg = {
      .limits = {10000000, 5000, 32u << 20},
      .sdk_dir = PARLEY_SRCDIR "/sdk/lua",
      .journeys_dir = jdir,
      .params = params_cfg,
      .log = &quiet,
  };
  return cfg;
}

static struct journey *load(const char *path)
{
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(JDIR);
  if (lhost_journey_load(&cfg, path, &j, err, sizeof err) != 0)
    fail_msg("load %s: %s", path, err);
  return j;
}

/* An error names files relative to their folders: no path of the machine (the journeys
 * folder's, the SDK's) is in it. */
static void assert_no_machine_path(const char *err)
{
  if (strstr(err, PARLEY_SRCDIR) != NULL)
    fail_msg("a path of the machine in: %s", err);
}

static void load_fails(const char *path, const char *expect)
{
  char err[1024] = "";
  struct journey *j = NULL;
  struct lhost_config cfg = config(JDIR);
  assert_int_equal(lhost_journey_load(&cfg, path, &j, err, sizeof err), -1);
  assert_null(j);
  if (strstr(err, expect) == NULL)
    fail_msg("%s: expected '%s' in: %s", path, expect, err);
  assert_no_machine_path(err);
}

struct step {
  const char *name;
  const struct lhost_event *ev;
  const char *mem;
  size_t mem_len;
  struct gate gate;
};

static int step(struct journey *j, struct step *s, struct lhost_decision *d, char *err,
                size_t errlen)
{
  struct lhost_step_in in = {.conv_id = 42, .contact_id = "cust-1", .profile = profile,
                             .step = s->name, .memory = s->mem, .memory_len = s->mem_len,
                             .event = s->ev, .now_ms = NOW, .can_speak = fake_can_speak,
                             .ud = &s->gate};
  err[0] = '\0';
  return lhost_run_step(j, &in, d, err, errlen);
}

static void step_ok(struct journey *j, struct step *s, struct lhost_decision *d)
{
  char err[1024];
  if (step(j, s, d, err, sizeof err) != 0)
    fail_msg("step %s: %s", s->name, err);
}

static void step_fails(struct journey *j, const char *name, const char *expect)
{
  char err[1024];
  struct lhost_decision d;
  struct step s = {.name = name};
  assert_int_equal(step(j, &s, &d, err, sizeof err), -1);
  if (strstr(err, expect) == NULL)
    fail_msg("step %s: expected '%s' in: %s", name, expect, err);
  assert_no_machine_path(err);
  assert_null(d.speaks);
  assert_null(d.memory);
}

static cJSON *memory_json(const struct lhost_decision *d)
{
  cJSON *m = lhost_memory_to_json(d->memory, d->memory_len);
  assert_non_null(m);
  return m;
}

static int setup(void **state)
{
  (void)state;
  params_cfg = cJSON_Parse("{\"fixture\":{\"wait\":\"2h\",\"typo\":1},"
                           "\"cart_abandonment\":{\"nudge_after\":\"3h\"}}");
  profile = cJSON_Parse("{\"first_name\":\"Ada\",\"address\":{\"city\":\"Paris\"}}");
  return params_cfg && profile ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  cJSON_Delete(params_cfg);
  cJSON_Delete(profile);
  return 0;
}

static void test_info(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  const struct journey_info *in = lhost_journey_info(j);
  assert_string_equal(in->name, "fixture");
  assert_string_equal(in->entry_event, "fixture.start");
  assert_int_equal(in->reenter_after_ms, 90 * 60000);
  assert_int_equal(in->n_goal, 2);
  assert_string_equal(in->goal_events[1], "subscription.started");
  assert_int_equal(in->n_exit, 1);
  assert_string_equal(in->exit_events[0], "user.deleted");
  assert_int_equal(in->migrate, 1);
  assert_string_equal(in->first_step, "start");
  assert_true(lhost_journey_has_step(j, "check"));
  assert_false(lhost_journey_has_step(j, "nope"));
  assert_true(lhost_journey_memory_used(j) > 0);
  lhost_journey_free(j);
}

static void test_load_errors(void **state)
{
  (void)state;
  load_fails(JDIR "/bad_template.lua", "bad_template/x.html line 2: unclosed {{");
  /* the description's mistakes at the line that wrote the key (a tail call leaves none on the stack) */
  load_fails(JDIR "/bad_entry.lua", "bad_entry.lua:4: journey 'bad_entry': entry.event must be a string");
  load_fails(JDIR "/bad_key.lua", "journey 'bad_key': unknown key 'colour'");
  load_fails(JDIR "/no_start.lua", "needs a start step");
  load_fails(JDIR "/not_journey.lua", "must return a journey");
  load_fails(JDIR "/syntax_error.lua", "syntax_error.lua:3:");
  load_fails(JDIR "/bad_duration.lua", "bad_duration.lua:4: journey 'bad_duration': entry.reenter_after: bad duration '7y'");
  load_fails(JDIR "/does_not_exist.lua", "No such file");
  load_fails(JDIR "/bad_when.lua", "journey 'bad_when': entry.when must be a function");
}

/* Params: defaults overridden by configuration; listen takes the duration string. */
static void test_listen_params(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  struct lhost_decision d;
  struct step s = {.name = "start"};
  step_ok(j, &s, &d);
  assert_int_equal(d.next, LHOST_LISTEN);
  assert_int_equal(d.n_events, 2);
  assert_string_equal(d.events[1], "b");
  assert_int_equal(d.timeout_ms, 2 * 3600000);
  assert_string_equal(d.next_step, "check");
  assert_int_equal(d.n_speaks, 0);
  lhost_decision_free(&d);
  lhost_journey_free(j);
}

/* A memory table whose keys are exactly 1..n is stored as an array; it must load again
 * (found by tests/fuzz/fuzz_memory.c). */
static void test_memory_as_a_list(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  struct lhost_decision d, d2;
  struct step s = {.name = "keep_list"};
  step_ok(j, &s, &d);
  struct step s2 = {.name = "check_list", .mem = d.memory, .mem_len = d.memory_len};
  step_ok(j, &s2, &d2);
  cJSON *m = memory_json(&d2);
  assert_true(cJSON_IsArray(m));
  assert_int_equal(cJSON_GetArraySize(m), 2);
  cJSON_Delete(m);
  lhost_decision_free(&d);
  lhost_decision_free(&d2);
  lhost_journey_free(j);
}

/* Every kind of value memory keeps comes back exactly, in the same state or another. */
static void test_memory_roundtrip(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua"), *j2 = load(JDIR "/fixture.lua");
  struct lhost_decision d, d2;
  struct step s = {.name = "keep"};
  step_ok(j, &s, &d);
  assert_int_equal(d.next, LHOST_FINISH);
  struct step s2 = {.name = "check", .mem = d.memory, .mem_len = d.memory_len};
  step_ok(j2, &s2, &d2);
  assert_int_equal(d2.timeout_ms, -1);
  assert_int_equal(d2.memory_len, d.memory_len); /* map order may differ between states */
  cJSON *m = memory_json(&d), *m2 = memory_json(&d2);
  assert_true(cJSON_Compare(m, m2, 1));
  cJSON_Delete(m2);
  assert_int_equal(cJSON_GetObjectItem(m, "int")->valuedouble, 42);
  assert_string_equal(cJSON_GetObjectItem(m, "text")->valuestring, "héllo");
  assert_true(cJSON_IsArray(cJSON_GetObjectItem(m, "list")));
  assert_true(cJSON_IsObject(cJSON_GetObjectItem(m, "sparse")));
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "yes")));
  cJSON_Delete(m);
  lhost_decision_free(&d);
  lhost_decision_free(&d2);
  lhost_journey_free(j);
  lhost_journey_free(j2);
}

/* Memory decoded into another Lua state (what `parley test` shows) is what a step sees:
 * numbered keys, whole floats and bytes after a NUL kept; malformed memory pushes nothing. */
static void test_memory_to_lua(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  struct lhost_decision d;
  struct step s = {.name = "keep"};
  step_ok(j, &s, &d);
  lua_State *L = luaL_newstate();
  char err[256];
  assert_int_equal(lhost_memory_to_lua(L, d.memory, d.memory_len, err, sizeof err), 0);
  assert_int_equal(lua_gettop(L), 1);
  assert_int_equal(lua_getfield(L, 1, "sparse"), LUA_TTABLE);
  assert_int_equal(lua_geti(L, -1, 5), LUA_TSTRING);
  assert_int_equal(lua_getfield(L, 1, "whole_float"), LUA_TNUMBER);
  assert_false(lua_isinteger(L, -1));
  size_t n;
  assert_int_equal(lua_getfield(L, 1, "bytes"), LUA_TSTRING);
  assert_memory_equal(lua_tolstring(L, -1, &n), "a\0b\377c", 5);
  assert_int_equal(n, 5);
  lua_settop(L, 0);
  assert_int_equal(lhost_memory_to_lua(L, "\xc1", 1, err, sizeof err), -1);
  if (strstr(err, "malformed") == NULL)
    fail_msg("malformed memory: %s", err);
  assert_int_equal(lua_gettop(L), 0);
  assert_int_equal(lhost_memory_to_lua(L, NULL, 0, err, sizeof err), 0);
  assert_true(lua_istable(L, 1));
  lua_close(L);
  lhost_decision_free(&d);
  lhost_journey_free(j);
}

static void test_memory_refusals(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  step_fails(j, "fn_in_memory", "memory.cart.cb: cannot keep a function in memory");
  step_fails(j, "cycle_in_memory", "memory.t.self: cannot keep a table that contains itself");
  step_fails(j, "deep_memory", "nested deeper than 32 levels");
  step_fails(j, "bad_key_memory", "memory: a memory key must be a string or an integer");
  step_fails(j, "userdata_memory", "memory.d: cannot keep a userdata in memory");
  step_fails(j, "contact_in_memory", "memory.p: cannot keep a table with a metatable");
  step_fails(j, "memory_not_table", "c.memory must be a table");
  lhost_journey_free(j);
  assert_null(lhost_memory_to_json("\xc1", 1));
  cJSON *e = lhost_memory_to_json(NULL, 0);
  assert_true(cJSON_IsObject(e) && e->child == NULL);
  cJSON_Delete(e);
}

static void test_step_errors(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  step_fails(j, "no_decision",
             "step 'no_decision' returned no decision (return c:listen(...) or c:finish())");
  step_fails(j, "wrong_decision", "returned no decision");
  step_fails(j, "listen_unknown", "c:listen: journey 'fixture' has no step 'nope'");
  step_fails(j, "listen_bad_duration", "unknown unit 'y'");
  step_fails(j, "listen_bad_events", "events[2] must be an event type string");
  step_fails(j, "speak_unknown", "no template 'nope'");
  step_fails(j, "speak_missing_var", "fixture/greet.subject line 1: no value for 'name'");
  step_fails(j, "speak_table_var", "'n' is a list"); /* {} is an empty list */
  step_fails(j, "speak_then_fail", "fixture.lua:");
  step_fails(j, "runtime_error", "attempt to index a nil value (local 't')");
  step_fails(j, "missing_step", "journey 'fixture' has no step 'missing_step'");
  lhost_journey_free(j);
}

/* c.id, c:now() (the given clock), the event table, contact and params. */
static void test_context(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  cJSON *data = cJSON_Parse("{\"item\":\"hat\",\"qty\":2}");
  struct lhost_event ev = {.id = "e-1", .type = "a", .time_ms = NOW - 1500, .data = data};
  struct lhost_decision d;
  struct step s = {.name = "context", .ev = &ev};
  step_ok(j, &s, &d);
  assert_int_equal(d.timeout_ms, 90000);
  cJSON *m = memory_json(&d);
  assert_int_equal(cJSON_GetObjectItem(m, "now")->valuedouble, NOW / 1000);
  assert_string_equal(cJSON_GetObjectItem(m, "id")->valuestring, "42");
  assert_string_equal(cJSON_GetObjectItem(m, "journey")->valuestring, "fixture");
  assert_string_equal(cJSON_GetObjectItem(m, "step")->valuestring, "context");
  assert_string_equal(cJSON_GetObjectItem(m, "name")->valuestring, "Ada");
  assert_int_equal(cJSON_GetObjectItem(m, "limit")->valuedouble, 3);
  cJSON *e = cJSON_GetObjectItem(m, "ev");
  assert_string_equal(cJSON_GetObjectItem(e, "id")->valuestring, "e-1");
  assert_string_equal(cJSON_GetObjectItem(e, "contact")->valuestring, "cust-1");
  assert_true(cJSON_GetObjectItem(e, "time")->valuedouble == (NOW - 1500) / 1000.0);
  assert_string_equal(cJSON_GetObjectItem(e, "item")->valuestring, "hat");
  assert_int_equal(cJSON_GetObjectItem(e, "qty")->valuedouble, 2);
  cJSON_Delete(m);
  lhost_decision_free(&d);
  struct step s2 = {.name = "silence"};
  step_ok(j, &s2, &d);
  m = memory_json(&d);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "silent")));
  cJSON_Delete(m);
  lhost_decision_free(&d);
  cJSON_Delete(data);
  lhost_journey_free(j);
}

/* Rendering: vars, dotted keys, numbers, booleans, contact, params, defaults, escaping;
 * and a refused speak recorded with its reason. */
static void test_speak(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  struct lhost_decision d;
  struct step s = {.name = "speak_all", .gate = {.refuse = "sms"}};
  step_ok(j, &s, &d);
  assert_int_equal(d.n_speaks, 1);
  assert_string_equal(d.speaks[0].channel, "email");
  assert_string_equal(d.speaks[0].template_name, "greet");
  assert_string_equal(d.speaks[0].subject, "Hello, Ada & <Bob>"); /* one line */
  assert_string_equal(d.speaks[0].text,
                      "Ada & <Bob> 3 2.5 true Hat 4 first Ada Paris 3 dflt");
  assert_string_equal(d.speaks[0].html, "<p>Ada &amp; &lt;Bob&gt; & Hat</p>");
  assert_int_equal(d.n_refused, 1);
  assert_string_equal(d.refused[0].channel, "sms");
  assert_string_equal(d.refused[0].template_name, "short");
  assert_string_equal(d.refused[0].reason, "no consent for sms");
  cJSON *m = memory_json(&d);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "ok")));
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(m, "sms_ok")));
  assert_string_equal(cJSON_GetObjectItem(m, "why")->valuestring, "no consent for sms");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(m, "can")));
  assert_string_equal(cJSON_GetObjectItem(m, "why2")->valuestring, "no consent for sms");
  assert_int_equal(s.gate.asked, 3);
  cJSON_Delete(m);
  lhost_decision_free(&d);
  lhost_journey_free(j);
}

static cJSON *mem_of(const struct lhost_decision *d)
{
  return memory_json(d);
}

/* welcome: greeting, then branch on the answer (engaged -> tips) or the silence. */
static void test_welcome(void **state)
{
  (void)state;
  struct journey *j = load(SHIPPED "/welcome.lua");
  const struct journey_info *info = lhost_journey_info(j);
  assert_string_equal(info->entry_event, "user.signed_up");
  assert_int_equal(info->reenter_after_ms, -1);
  assert_string_equal(info->goal_events[0], "order.placed");
  assert_string_equal(info->exit_events[0], "user.deleted");
  struct lhost_event signup = {.id = "e1", .type = "user.signed_up", .time_ms = NOW};
  struct lhost_decision d, d2, d3;
  struct step s = {.name = "start", .ev = &signup};
  step_ok(j, &s, &d);
  assert_int_equal(d.n_speaks, 1);
  assert_string_equal(d.speaks[0].subject, "Welcome, Ada!");
  assert_non_null(strstr(d.speaks[0].html, "Hi Ada,"));
  assert_int_equal(d.timeout_ms, 86400000);
  assert_string_equal(d.next_step, "follow_up");
  /* clicked: tips, finish */
  struct lhost_event click = {.id = "e2", .type = "email.clicked", .time_ms = NOW + 1000};
  struct step s2 = {.name = "follow_up", .ev = &click, .mem = d.memory, .mem_len = d.memory_len};
  step_ok(j, &s2, &d2);
  assert_int_equal(d2.next, LHOST_FINISH);
  assert_string_equal(d2.speaks[0].template_name, "welcome_tips");
  lhost_decision_free(&d2);
  /* silence, sms refused: nudge by email, then last call */
  struct step s3 = {.name = "follow_up", .mem = d.memory, .mem_len = d.memory_len,
                    .gate = {.refuse = "sms"}};
  step_ok(j, &s3, &d2);
  assert_int_equal(d2.next, LHOST_LISTEN);
  assert_string_equal(d2.speaks[0].channel, "email");
  assert_string_equal(d2.speaks[0].template_name, "welcome_nudge");
  assert_int_equal(d2.timeout_ms, 3 * 86400000);
  assert_string_equal(d2.next_step, "last_call");
  struct step s4 = {.name = "last_call", .mem = d2.memory, .mem_len = d2.memory_len};
  step_ok(j, &s4, &d3);
  assert_int_equal(d3.next, LHOST_FINISH);
  assert_non_null(strstr(d3.speaks[0].text, "10% off"));
  assert_non_null(strstr(d3.speaks[0].text, "WELCOME10"));
  cJSON *m = mem_of(&d3);
  assert_string_equal(cJSON_GetObjectItem(m, "nudged_by")->valuestring, "email");
  cJSON_Delete(m);
  lhost_decision_free(&d3);
  lhost_decision_free(&d2);
  /* silence, sms allowed: the nudge goes by sms */
  struct step s5 = {.name = "follow_up", .mem = d.memory, .mem_len = d.memory_len};
  step_ok(j, &s5, &d2);
  assert_string_equal(d2.speaks[0].channel, "sms");
  lhost_decision_free(&d2);
  lhost_decision_free(&d);
  lhost_journey_free(j);
}

/* Lists and tables reach a template as the step holds them (the event's data, a file-level
 * table through its read-only view, the step's own), looped over and formatted in the
 * contact's locale and time zone; a list too long to show and a table with a metatable are
 * errors naming the value. */
static void test_speak_lists(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  cJSON *saved = profile;
  profile = cJSON_Parse("{\"locale\":\"de-DE\",\"timezone\":\"Europe/Berlin\",\"address\":{\"city\":\"Paris\"}}");
  cJSON *data = cJSON_Parse("{\"items\":[{\"name\":\"Pot <1>\",\"price\":1234.5,\"qty\":2},"
                            "{\"name\":\"Cup\",\"price\":3,\"qty\":1}]}");
  struct lhost_event ev = {.id = "e1", .type = "x", .time_ms = NOW, .data = data};
  struct lhost_decision d;
  struct step s = {.name = "speak_cart", .ev = &ev};
  step_ok(j, &s, &d);
  assert_string_equal(d.speaks[0].subject, "Your Pot <1> and more");
  assert_string_equal(d.speaks[0].text, "Pot <1>: 1.234,50 \xe2\x82\xac x 2 pieces\n"
                                        "Cup: 3,00 \xe2\x82\xac x 1 piece\n"
                                        "Bag: 3,00 \xe2\x82\xac\n"
                                        "no extras\nopen 9-17\n24.12.2026 16:05 Paris\n");
  assert_string_equal(d.speaks[0].html, "<ul><li>Pot &lt;1&gt;</li><li>Cup</li></ul>\n");
  lhost_decision_free(&d);
  step_fails(j, "speak_long_list", "fixture/cart.txt line 1: 'items' is a list of 1001 elements, "
                                   "more than the 1000 a section may show");
  step_fails(j, "speak_meta_var", "'n' is a table with a metatable");
  cJSON_Delete(data);
  cJSON_Delete(profile);
  profile = saved;
  lhost_journey_free(j);
}

/* A subject is one header line, always: the file's trailing newline is not part of it, and
 * a line break a value brings in (a header injection) becomes a space. The body keeps it. */
static void test_subject_is_one_line(void **state)
{
  (void)state;
  struct journey *j = load(SHIPPED "/welcome.lua");
  cJSON *saved = profile;
  profile = cJSON_Parse("{\"first_name\":\"Ann\\r\\nBcc: eve@example.com\"}");
  struct lhost_event signup = {.id = "e1", .type = "user.signed_up", .time_ms = NOW};
  struct lhost_decision d;
  struct step s = {.name = "start", .ev = &signup};
  step_ok(j, &s, &d);
  assert_string_equal(d.speaks[0].subject, "Welcome, Ann Bcc: eve@example.com!");
  assert_non_null(strstr(d.speaks[0].text, "Ann\r\nBcc"));
  lhost_decision_free(&d);
  cJSON_Delete(profile);
  profile = saved;
  lhost_journey_free(j);
}

/* Asks entry.when of entry_when.lua for contact cust-1 and a plan.changed event. */
static int entry(struct journey *j, const char *profile_json, const char *data_json, char *err,
                 size_t errlen)
{
  cJSON *p = profile_json ? cJSON_Parse(profile_json) : NULL;
  cJSON *data = data_json ? cJSON_Parse(data_json) : NULL;
  struct lhost_event ev = {.id = "e-1", .type = "plan.changed", .time_ms = NOW, .data = data};
  err[0] = '\0';
  int rc = lhost_entry_allows(j, "cust-1", p, &ev, NOW, err, errlen);
  cJSON_Delete(p);
  cJSON_Delete(data);
  return rc;
}

static void entry_fails(struct journey *j, const char *data_json, const char *expect)
{
  char err[1024];
  assert_int_equal(entry(j, "{\"plan\":\"pro\"}", data_json, err, sizeof err), -1);
  if (strstr(err, expect) == NULL)
    fail_msg("entry.when with %s: expected '%s' in: %s", data_json, expect, err);
}

/* entry.when: asked with a read-only contact and the event, before any conversation
 * exists, under the step budget; a failure is an error, not a yes or a no, and the state
 * answers the next contact fine. A journey without it lets everyone in. */
static void test_entry_when(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = load(JDIR "/entry_when.lua");
  assert_string_equal(lhost_journey_info(j)->entry_event, "plan.changed");
  assert_int_equal(lhost_journey_info(j)->reenter_after_ms, 86400000);
  assert_int_equal(entry(j, "{\"plan\":\"pro\"}", "{}", err, sizeof err), 1);
  assert_int_equal(entry(j, "{\"plan\":\"free\"}", "{}", err, sizeof err), 0);
  assert_int_equal(entry(j, NULL, NULL, err, sizeof err), 0); /* no profile: an empty contact */
  entry_fails(j, "{\"boom\":true}", "entry_when.lua:12: no plan given");
  entry_fails(j, "{\"loop\":true}", "entry.when exceeded its instruction budget");
  entry_fails(j, "{\"write\":true}", "contact is read-only (cannot set 'plan')");
  entry_fails(j, "{\"answer\":\"yes\"}", "entry.when: must return true or false (got string)");
  assert_int_equal(entry(j, "{\"plan\":\"pro\"}", "{}", err, sizeof err), 1);
  lhost_journey_free(j);
  j = load(JDIR "/fixture.lua");
  assert_int_equal(entry(j, NULL, NULL, err, sizeof err), 1);
  lhost_journey_free(j);
}

/* The static channel scan: literal first arguments of :speak( and :can_speak(, with their
 * lines, whatever the spacing; comments, long and short strings, escapes, variables and
 * other call forms are not channels. */
static void test_journey_channels(void **state)
{
  (void)state;
  static const struct lhost_channel_use want[] = {
      {"email", 14}, {"sms", 15}, {"push", 18}, {"fax", 19}};
  struct journey *j = load(JDIR "/channels.lua");
  struct lhost_channel_use *u;
  size_t n;
  assert_int_equal(lhost_journey_channels(j, &u, &n), 0);
  assert_int_equal(n, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(u[i].channel, want[i].channel);
    assert_int_equal(u[i].line, want[i].line);
  }
  lhost_channel_uses_free(u, n);
  lhost_journey_free(j);
}

/* What the text leads to: an event of `type` (data `data`) after the SMS nudge, which must
 * finish with `want` spoken (NULL: nothing). */
static void cart_after_text(struct journey *j, const struct lhost_decision *prev, const char *type,
                            const char *data, const char *want)
{
  cJSON *json = cJSON_Parse(data);
  struct lhost_event ev = {.id = "r", .type = type, .time_ms = NOW, .data = json};
  struct lhost_decision d;
  struct step s = {.name = "after_text", .ev = &ev, .mem = prev->memory, .mem_len = prev->memory_len};
  step_ok(j, &s, &d);
  assert_int_equal(d.next, LHOST_FINISH);
  assert_int_equal(d.n_speaks, want ? 1 : 0);
  if (want)
    assert_string_equal(d.speaks[0].template_name, want);
  lhost_decision_free(&d);
  cJSON_Delete(json);
}

/* cart_abandonment: reminder with the items, nudge branches, reply branches. */
static void test_cart(void **state)
{
  (void)state;
  struct journey *j = load(SHIPPED "/cart_abandonment.lua");
  assert_int_equal(lhost_journey_info(j)->reenter_after_ms, 7LL * 86400000);
  cJSON *data = cJSON_Parse("{\"items\":[{\"name\":\"Red <Hat>\",\"price\":20},"
                            "{\"name\":\"Scarf\",\"price\":15.5}],\"total\":35.5}");
  struct lhost_event ev = {.id = "e1", .type = "cart.updated", .time_ms = NOW, .data = data};
  struct lhost_decision d, d2;
  struct step s = {.name = "start", .ev = &ev};
  step_ok(j, &s, &d);
  assert_string_equal(d.speaks[0].subject, "You left 2 items in your cart");
  assert_non_null(strstr(d.speaks[0].text, "- Red <Hat>, \xe2\x82\xac" "20.00\n- Scarf, \xe2\x82\xac" "15.50\n"
                                           "Total: \xe2\x82\xac" "35.50\n"));
  assert_non_null(strstr(d.speaks[0].html, "<li><strong>Red &lt;Hat&gt;</strong>, \xe2\x82\xac" "20.00</li>"));
  assert_int_equal(d.timeout_ms, 3 * 3600000); /* configuration override of nudge_after */
  assert_string_equal(d.events[0], "email.clicked");
  cJSON *m = mem_of(&d);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "items")), 2);
  cJSON_Delete(m);
  /* silence, sms allowed */
  struct step s2 = {.name = "nudge", .mem = d.memory, .mem_len = d.memory_len};
  step_ok(j, &s2, &d2);
  assert_string_equal(d2.speaks[0].template_name, "cart_sms");
  assert_string_equal(d2.speaks[0].text,
                      "Your cart (2 item(s)) is still waiting for you at the shop. Reply STOP to opt out\n");
  assert_int_equal(d2.timeout_ms, 86400000);
  assert_string_equal(d2.next_step, "after_text");
  assert_int_equal(d2.n_events, 3);
  assert_string_equal(d2.events[1], "sms.unsubscribed");
  cart_after_text(j, &d2, "sms.unsubscribed", "{\"keyword\":\"STOP\",\"address\":\"+4915100000002\"}", NULL);
  cart_after_text(j, &d2, "sms.failed", "{\"reason\":\"undelivered\"}", "cart_last_chance");
  cart_after_text(j, &d2, "sms.replied", "{\"text\":\" stop \"}", NULL);
  cart_after_text(j, &d2, "sms.replied", "{\"text\":\"yes please\"}", "cart_thanks");
  lhost_decision_free(&d2);
  /* silence, sms refused: email */
  struct step s3 = {.name = "nudge", .mem = d.memory, .mem_len = d.memory_len,
                    .gate = {.refuse = "sms"}};
  step_ok(j, &s3, &d2);
  assert_string_equal(d2.speaks[0].template_name, "cart_last_chance");
  lhost_decision_free(&d2);
  /* clicked */
  struct lhost_event click = {.id = "e2", .type = "email.clicked", .time_ms = NOW};
  struct step s4 = {.name = "nudge", .ev = &click, .mem = d.memory, .mem_len = d.memory_len};
  step_ok(j, &s4, &d2);
  assert_string_equal(d2.speaks[0].template_name, "cart_need_help");
  lhost_decision_free(&d2);
  lhost_decision_free(&d);
  cJSON_Delete(data);
  lhost_journey_free(j);
}

/* The one message a step spoke: its text. */
static void expect_text(struct journey *j, const char *step, const char *text)
{
  struct lhost_decision d;
  struct step s = {.name = step};
  step_ok(j, &s, &d);
  assert_int_equal(d.n_speaks, 1);
  assert_string_equal(d.speaks[0].text, text);
  lhost_decision_free(&d);
}

/* Modules of the journeys folder load with the file; a step gets a loaded one again, and
 * is told to move the require of one not loaded yet to the top of the file. */
static void test_modules(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/modules.lua");
  expect_text(j, "start", "Hi, from the module");
  expect_text(j, "again", "Hi, from the module");
  step_fails(j, "late", "require 'lib.other': modules are loaded when the journey file loads; "
                        "move the require to the top of the file");
  lhost_journey_free(j);
}

/* What a load read, as a bundle: loaded from it, the journey runs the module and the
 * template it holds, with no folder to read them from; its bundle is the same bytes. A
 * damaged bundle is refused. */
static void test_bundle(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = load(JDIR "/modules.lua"), *again = NULL;
  size_t len, len2, slen;
  const char *b = lhost_journey_bundle(j, &len), *src = lhost_journey_source(j, &slen);
  assert_true(lhost_is_bundle(b, len));
  assert_false(lhost_is_bundle(src, slen));
  struct lhost_config cfg = config("/nonexistent");
  cfg.source = b;
  cfg.source_len = len;
  if (lhost_journey_load(&cfg, "/nonexistent/modules.lua", &again, err, sizeof err) != 0)
    fail_msg("load from the bundle: %s", err);
  const char *b2 = lhost_journey_bundle(again, &len2);
  assert_int_equal(len2, len);
  assert_memory_equal(b2, b, len);
  expect_text(again, "start", "Hi, from the module");
  lhost_journey_free(again);
  cfg.source_len = len - 1;
  assert_int_equal(lhost_journey_load(&cfg, "/nonexistent/modules.lua", &again, err, sizeof err), -1);
  if (strstr(err, "the stored version is damaged") == NULL)
    fail_msg("a damaged bundle: %s", err);
  lhost_journey_free(j);
}

/* A store written before bundles holds the bare journey text: it still loads, its modules
 * and templates read from disk, and its bundle holds them. */
static void test_bare_source(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = load(JDIR "/modules.lua"), *bare = NULL;
  size_t slen, len;
  struct lhost_config cfg = config(JDIR);
  cfg.source = lhost_journey_source(j, &slen);
  cfg.source_len = slen;
  if (lhost_journey_load(&cfg, JDIR "/modules.lua", &bare, err, sizeof err) != 0)
    fail_msg("load the bare text: %s", err);
  expect_text(bare, "start", "Hi, from the module");
  const char *b = lhost_journey_bundle(bare, &len);
  assert_true(lhost_is_bundle(b, len));
  lhost_journey_free(bare);
  lhost_journey_free(j);
}

/* The error of `step` names `file` first, with no '/' before it: the file relative to the
 * journeys folder, not a path of the machine. */
static void error_names(struct journey *j, const char *step_name, const char *file)
{
  char err[1024];
  struct lhost_decision d;
  struct step s = {.name = step_name};
  assert_int_equal(step(j, &s, &d, err, sizeof err), -1);
  const char *at = strstr(err, file);
  if (at == NULL || memchr(err, '/', (size_t)(at - err)) != NULL)
    fail_msg("step %s: expected '%s' first in: %s", step_name, file, err);
  assert_no_machine_path(err);
}

/* Errors of journeys, modules, the SDK and templates name their files relative to their
 * folders, at load and at run time. */
static void test_error_names_are_relative(void **state)
{
  (void)state;
  struct journey *j = load(JDIR "/fixture.lua");
  error_names(j, "runtime_error", "fixture.lua:");
  error_names(j, "speak_missing_var", "fixture/greet.subject line 1:");
  lhost_journey_free(j);
  j = load(JDIR "/modules.lua");
  error_names(j, "module_error", "lib/helper.lua:");
  step_fails(j, "module_error", "the helper failed (called from modules.lua:");
  error_names(j, "sdk_error", "modules.lua:");
  step_fails(j, "sdk_error", "(called from parley/journey.lua:");
  lhost_journey_free(j);
  load_fails(JDIR "/syntax_error.lua", "syntax_error.lua:3:");
  load_fails(JDIR "/bad_template.lua", "bad_template.lua: bad_template/x.html line 2:");
  load_fails(JDIR "/missing_module.lua", "require 'lib.nowhere': lib/nowhere.lua: No such file");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_info),          cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_listen_params), cmocka_unit_test(test_memory_roundtrip),
      cmocka_unit_test(test_memory_as_a_list), cmocka_unit_test(test_memory_to_lua),
      cmocka_unit_test(test_memory_refusals), cmocka_unit_test(test_step_errors),
      cmocka_unit_test(test_context),       cmocka_unit_test(test_speak),
      cmocka_unit_test(test_speak_lists),
      cmocka_unit_test(test_welcome),       cmocka_unit_test(test_cart),
      cmocka_unit_test(test_subject_is_one_line), cmocka_unit_test(test_entry_when),
      cmocka_unit_test(test_journey_channels), cmocka_unit_test(test_modules),
      cmocka_unit_test(test_bundle),        cmocka_unit_test(test_bare_source),
      cmocka_unit_test(test_error_names_are_relative),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

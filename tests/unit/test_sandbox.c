/* One test per known sandbox escape (after Redis's scripting tests): each must park only
 * its own step with a clear message, and the SAME Lua state must then run another
 * conversation's step fine. Fixtures: tests/unit/journeys/escape.lua and friends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lhost.h"
#include "log.h"

#define JDIR PARLEY_SRCDIR "/tests/unit/journeys"
#define MEM_CAP (8u << 20)

static struct journey *esc;
static cJSON *profile;
static const struct log quiet = {.min = LOG_ERROR};

static struct lhost_config config(int64_t instructions, int64_t ms, size_t mem)
{
  struct lhost_config cfg = {
      .limits = {instructions, ms, mem},
      .sdk_dir = PARLEY_SRCDIR "/sdk/lua",
      .journeys_dir = JDIR,
      .log = &quiet,
  };
  return cfg;
}

static int run(struct journey *j, const char *step, uint64_t conv, char *err, size_t errlen)
{
  struct lhost_step_in in = {.conv_id = conv, .contact_id = "c1", .step = step,
                             .profile = profile, .now_ms = 1700000000000};
  struct lhost_decision d;
  err[0] = '\0';
  int rc = lhost_run_step(j, &in, &d, err, errlen);
  if (getenv("SHOW_ERRORS"))
    fprintf(stderr, "# %s -> %s\n", step, err);
  lhost_decision_free(&d);
  return rc;
}

static int setup(void **state)
{
  (void)state;
  char err[1024];
  struct lhost_config cfg = config(5000000, 5000, MEM_CAP);
  profile = cJSON_Parse("{\"first_name\":\"Ada\",\"address\":{\"city\":\"Paris\"}}");
  if (lhost_journey_load(&cfg, JDIR "/escape.lua", &esc, err, sizeof err) != 0) {
    fprintf(stderr, "load: %s\n", err);
    return -1;
  }
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  lhost_journey_free(esc);
  cJSON_Delete(profile);
  return 0;
}

struct escape {
  const char *step;
  const char *expect; /* in the error */
};

/* The escape fails with the expected message; then another conversation runs fine. */
static void test_escape(void **state)
{
  const struct escape *e = *state;
  char err[1024];
  assert_int_equal(run(esc, e->step, 7, err, sizeof err), -1);
  if (strstr(err, e->expect) == NULL)
    fail_msg("step %s: expected '%s' in: %s", e->step, e->expect, err);
  assert_non_null(strstr(err, e->step));
  assert_int_equal(run(esc, "ok", 8, err, sizeof err), 0);
  assert_true(lhost_journey_memory_used(esc) < MEM_CAP / 2);
}

static struct escape escapes[] = {
    {"io", "undeclared global 'io'"},
    {"os", "undeclared global 'os'"},
    {"debug", "undeclared global 'debug'"},
    {"package", "undeclared global 'package'"},
    {"load", "undeclared global 'load'"},
    {"loadstring", "undeclared global 'loadstring'"},
    {"dofile", "undeclared global 'dofile'"},
    {"loadfile", "undeclared global 'loadfile'"},
    {"collectgarbage", "undeclared global 'collectgarbage'"},
    {"string_dump", "dump"},
    {"string_dump_method", "dump"},
    {"require_in_step", "move the require to the top of the file"},
    {"require_dotdot", "without '/' or '..'"},
    {"require_slash", "without '/' or '..'"},
    {"require_stdlib", "require 'io'"},
    {"rawset_G", "undeclared global 'rawset'"},
    {"rawset_ENV", "undeclared global 'rawset'"},
    {"setmetatable_G", "cannot change a protected metatable"},
    {"getmetatable_G", "attempt to index a boolean value"},
    {"new_global", "assignment to undeclared global 'x'"},
    {"overwrite_global", "cannot assign global 'print'"},
    {"undeclared_read", "undeclared global 'undeclared_thing'"},
    {"string_mt_index", "attempt to index a boolean value"},
    {"string_mt_upper", "attempt to index a boolean value"},
    {"string_mt_set", "bad argument"},
    {"string_rep_nil", "string is read-only"},
    {"table_insert_ro", "string is read-only"},
    {"sdk_write", "module 'parley.journey' is read-only"},
    {"sdk_mt", "cannot change a protected metatable"},
    {"time_write", "module 'parley.time' is read-only"},
    {"offer_write", "file-level table 'catalog' is read-only"},
    {"catalog_write", "file-level table 'catalog' is read-only"},
    {"loop", "exceeded its instruction budget (5000000 instructions)"},
    {"pcall_loop", "exceeded its instruction budget"},
    {"concat_growth", "exceeded the memory limit (8388608 bytes)"},
    {"table_growth", "exceeded the memory limit"},
    {"pcall_alloc", "exceeded the memory limit"},
    {"recursion", "step 'recursion'"},
    {"gc_finalizer", "finalizers (__gc) are not allowed in journeys"},
    {"tostring_error", "(error object is a table value)"},
    {"close_loop", "exceeded its instruction budget"},
    {"rep_nothing", "rep returned at once"},
    {"concat_c_index", "exceeded"}, /* its memory or its instructions: either stops it */
    {"move_c_newindex", "exceeded its instruction budget"},
    {"sort_fake_len", "exceeded"},
    {"insert_fake_len", "exceeded"}, /* its instructions, or its time on a loaded machine */
    {"remove_fake_len", "exceeded"},
    {"unpack_many", "more than 10000 values"},
    {"pattern_find", "step 'pattern_find' exceeded its instruction budget"},
    {"pattern_match", "step 'pattern_match' exceeded its instruction budget"},
    {"pattern_gmatch", "step 'pattern_gmatch' exceeded its instruction budget"},
    {"pattern_gsub", "step 'pattern_gsub' exceeded its instruction budget"},
    {"pattern_pcall", "step 'pattern_pcall' exceeded its instruction budget"},
    {"contact_write", "c.contact is read-only"},
    {"contact_nested_write", "c.contact is read-only"},
    {"params_write", "c.params is read-only"},
};

/* A `c` cannot be kept in a file-level local for a later conversation: the step that
 * tries fails, and the local is put back. */
static void test_kept_c(void **state)
{
  (void)state;
  char err[1024];
  assert_int_equal(run(esc, "keep_c", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "changed the file-level local 'kept_c'"));
  assert_int_equal(run(esc, "use_kept_c", 2, err, sizeof err), -1);
  assert_non_null(strstr(err, "attempt to index a nil value (upvalue 'kept_c')"));
  assert_int_equal(run(esc, "ok", 3, err, sizeof err), 0);
}

/* Runs `step` and returns the decision's memory as JSON (the caller frees it). */
static cJSON *run_memory(struct journey *j, const char *step, uint64_t conv, int64_t now_ms)
{
  struct lhost_step_in in = {.conv_id = conv, .contact_id = "c1", .step = step,
                             .profile = profile, .now_ms = now_ms};
  struct lhost_decision d;
  char err[1024];
  if (lhost_run_step(j, &in, &d, err, sizeof err) < 0)
    fail_msg("%s: %s", step, err);
  cJSON *m = lhost_memory_to_json(d.memory, d.memory_len);
  lhost_decision_free(&d);
  return m;
}

/* One contact's state never reaches another's through the journey's file-level locals. */
static void test_file_level_state(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(5000000, 5000, MEM_CAP);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/shared.lua", &j, err, sizeof err), 0);
  assert_int_equal(run(j, "remember", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "file-level table 'seen' is read-only"));
  assert_int_equal(run(j, "bump", 2, err, sizeof err), -1);
  assert_non_null(strstr(err, "step 'bump' changed the file-level local 'count'"));
  assert_int_equal(run(j, "bump_via_helper", 3, err, sizeof err), -1);
  assert_non_null(strstr(err, "changed the file-level local 'count'"));
  assert_int_equal(run(j, "bump_then_fail", 4, err, sizeof err), -1);
  assert_non_null(strstr(err, "and then it failed"));
  cJSON *m = run_memory(j, "read", 5, 1700000000000);
  assert_int_equal(cJSON_GetObjectItem(m, "count")->valueint, 0); /* every change put back */
  assert_string_equal(cJSON_GetObjectItem(m, "seen")->valuestring, "empty");
  cJSON_Delete(m);
  assert_int_equal(run(j, "start", 6, err, sizeof err), 0);
  lhost_journey_free(j);
}

/* A file-level table is read-only to steps, never empty to them: the list of events a
 * step listens for and the variables it speaks with may be file-level constants. */
static void test_file_level_tables_read_through(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(5000000, 5000, MEM_CAP);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/shared.lua", &j, err, sizeof err), 0);
  struct lhost_step_in in = {.conv_id = 30, .contact_id = "c1", .step = "listen_shared",
                             .profile = profile, .now_ms = 1700000000000};
  struct lhost_decision d;
  if (lhost_run_step(j, &in, &d, err, sizeof err) != 0)
    fail_msg("listen_shared: %s", err);
  assert_int_equal(d.n_events, 2);
  assert_string_equal(d.events[0], "a.one");
  assert_string_equal(d.events[1], "b.two");
  lhost_decision_free(&d);
  in.step = "speak_shared";
  if (lhost_run_step(j, &in, &d, err, sizeof err) != 0)
    fail_msg("speak_shared: %s", err);
  assert_int_equal(d.n_speaks, 1);
  assert_string_equal(d.speaks[0].text, "Hi Ada from Paris");
  lhost_decision_free(&d);
  lhost_journey_free(j);
}

/* math.random is seeded per step from the conversation and the time: the same step of
 * the same conversation draws the same numbers; another conversation draws others. */
static void test_random_per_step(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(5000000, 5000, MEM_CAP);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/shared.lua", &j, err, sizeof err), 0);
  cJSON *a = run_memory(j, "random", 11, 1700000000000);
  cJSON *b = run_memory(j, "random", 11, 1700000000000);
  cJSON *c = run_memory(j, "random", 12, 1700000000000);
  cJSON *d = run_memory(j, "random", 11, 1700000001000);
  double ra = cJSON_GetObjectItem(a, "r")->valuedouble;
  assert_true(ra == cJSON_GetObjectItem(b, "r")->valuedouble);
  assert_true(ra != cJSON_GetObjectItem(c, "r")->valuedouble);
  assert_true(ra != cJSON_GetObjectItem(d, "r")->valuedouble);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "reseed"))); /* no math.randomseed */
  cJSON_Delete(a);
  cJSON_Delete(b);
  cJSON_Delete(c);
  cJSON_Delete(d);
  lhost_journey_free(j);
}

/* Garbage an earlier step left is collected before a step is refused for memory. */
static void test_garbage_not_billed_to_the_next(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(5000000, 5000, MEM_CAP);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/shared.lua", &j, err, sizeof err), 0);
  for (int i = 0; i < 5; i++)
    if (run(j, "garbage", 20 + (uint64_t)i, err, sizeof err) != 0)
      fail_msg("run %d: %s", i, err);
  lhost_journey_free(j);
}

/* The error names the file and line of the escape attempt. */
static void test_error_has_line(void **state)
{
  (void)state;
  char err[1024];
  assert_int_equal(run(esc, "io", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "escape.lua:"));
}

/* Only the monotonic deadline stops these loops (no instruction budget), a pattern's as
 * well as the script's. */
static void test_time_limit(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(0, 50, 0);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/timeloop.lua", &j, err, sizeof err), 0);
  assert_int_equal(run(j, "spin", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "step 'spin' exceeded its 50 ms time budget"));
  assert_int_equal(run(j, "start", 2, err, sizeof err), 0);
  assert_int_equal(run(j, "pattern_spin", 3, err, sizeof err), -1);
  assert_non_null(strstr(err, "step 'pattern_spin' exceeded its 50 ms time budget"));
  assert_int_equal(run(j, "start", 4, err, sizeof err), 0);
  lhost_journey_free(j);
}

/* What a step makes outside its Lua state is bounded: messages, their size, memory. */
static void test_output_caps(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(5000000, 5000, MEM_CAP);
  cfg.limits.step_speaks = 3;
  cfg.limits.message_bytes = 1000;
  cfg.limits.conversation_memory_bytes = 1000;
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/output.lua", &j, err, sizeof err), 0);
  assert_int_equal(run(j, "speak_three", 1, err, sizeof err), 0);
  assert_int_equal(run(j, "speak_many", 2, err, sizeof err), -1);
  assert_non_null(strstr(err, "more than 3 messages in one step (lua.step_speaks)"));
  assert_int_equal(run(j, "speak_big", 3, err, sizeof err), -1);
  assert_non_null(strstr(err, "more than the 1000 allowed (lua.message_bytes)"));
  assert_int_equal(run(j, "memory_big", 4, err, sizeof err), -1);
  assert_non_null(strstr(err, "more than the 1000 allowed (lua.conversation_memory_bytes)"));
  assert_int_equal(run(j, "tables", 5, err, sizeof err), 0);
  lhost_journey_free(j);
}

/* A step that returns after its time ran out fails, though no hook could stop it. */
static void test_time_checked_on_return(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(0, 5, 256u << 20);
  /* loading runs under the same 5 ms: on a busy machine it may take longer, so try again */
  for (int tries = 0; tries < 50 && lhost_journey_load(&cfg, JDIR "/output.lua", &j, err, sizeof err) < 0; tries++)
    ;
  assert_non_null(j);
  assert_int_equal(run(j, "slow_c", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "step 'slow_c' exceeded its 5 ms time budget"));
  lhost_journey_free(j);
}

/* A journey file that loops at load is refused, not hung on. */
static void test_load_loop(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(100000, 1000, 0);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/loadloop.lua", &j, err, sizeof err), -1);
  assert_null(j);
  assert_non_null(strstr(err, "loading the journey file exceeded its instruction budget"));
}

/* A module that is a precompiled chunk is refused: modules are source only. */
static void test_binary_module(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(5000000, 5000, MEM_CAP);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/binary_module.lua", &j, err, sizeof err), -1);
  assert_null(j);
  if (strstr(err, "require 'binmod'") == NULL || strstr(err, "binary (precompiled) chunks are refused") == NULL)
    fail_msg("a binary module: %s", err);
}

/* A memory cap too small even for the libraries is a clean refusal. */
static void test_tiny_memory(void **state)
{
  (void)state;
  char err[1024];
  struct journey *j = NULL;
  struct lhost_config cfg = config(0, 0, 4096);
  assert_int_equal(lhost_journey_load(&cfg, JDIR "/escape.lua", &j, err, sizeof err), -1);
  assert_null(j);
  assert_non_null(strstr(err, "memory"));
}

int main(void)
{
  enum { N = sizeof escapes / sizeof escapes[0] };
  struct CMUnitTest tests[N + 12];
  for (size_t i = 0; i < N; i++) {
    struct CMUnitTest t = cmocka_unit_test_prestate(test_escape, &escapes[i]);
    t.name = escapes[i].step;
    tests[i] = t;
  }
  tests[N] = (struct CMUnitTest)cmocka_unit_test(test_kept_c);
  tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(test_error_has_line);
  tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(test_time_limit);
  tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(test_load_loop);
  tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(test_tiny_memory);
  tests[N + 5] = (struct CMUnitTest)cmocka_unit_test(test_output_caps);
  tests[N + 6] = (struct CMUnitTest)cmocka_unit_test(test_time_checked_on_return);
  tests[N + 7] = (struct CMUnitTest)cmocka_unit_test(test_file_level_state);
  tests[N + 8] = (struct CMUnitTest)cmocka_unit_test(test_random_per_step);
  tests[N + 9] = (struct CMUnitTest)cmocka_unit_test(test_garbage_not_billed_to_the_next);
  tests[N + 10] = (struct CMUnitTest)cmocka_unit_test(test_binary_module);
  tests[N + 11] = (struct CMUnitTest)cmocka_unit_test(test_file_level_tables_read_through);
  return _cmocka_run_group_tests("sandbox", tests, N + 12, setup, teardown);
}

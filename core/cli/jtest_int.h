/* Inside `parley test` (jtest.h): what its files share. The runner (jtest.c) starts a core
 * per test and runs the test files; what a test saw is kept by jtest_seen.c; the `t` a
 * test receives is jtest_api.c, with t:event's table turned into JSON by jtest_event.c and
 * the expectations matched and described by jtest_match.c. Nothing outside
 * core/cli/jtest*.c includes this. */
#ifndef PARLEY_JTEST_INT_H
#define PARLEY_JTEST_INT_H
#include <cJSON.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "log.h"
#include "util.h"

#define JT_MT "parley.test" /* the metatable of `t` */

/* A message a channel would have sent. */
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

/* The runner, and what the test that runs now saw. */
struct jt {
  const char *config_path;
  char journeys[PATH_MAX]; /* the journeys folder of the file being run */
  const char *file;        /* the test file being run */
  struct core *core;
  struct ev_loop *loop;
  struct jt_msg *msgs;
  size_t n_msgs, cap_msgs;
  struct jt_incident *incidents;
  size_t n_incidents, cap_incidents;
  struct buf notes; /* TAP comment lines shown under the test: what it printed and what
                       its journeys logged */
  const char *lost; /* what the test lost for want of memory (it fails saying so); NULL */
  unsigned events;
};

/* jtest_seen.c: what a test saw, kept from the core's callbacks (which cannot answer an
 * error: what cannot be kept is noted in t->lost). */
void *jt_grow(void *p, size_t *cap, size_t n, size_t size);
void jt_capture(void *ud, const struct parley_msg *m);
void jt_on_incident(void *ud, const struct core_incident *in);
void jt_on_log(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields);
int jt_note(struct jt *t, const char *prefix, const char *text);
void jt_forget(struct jt *t);

/* jtest_api.c: the Lua state a test file runs in (test(), print, `t`). */
lua_State *jt_api_state(struct jt *t);

/* jtest_history.c: t:history and t:expect_offered, put in the methods table on top. */
void jt_history_methods(lua_State *L);
/* jtest_measure.c: experiments and stats (t:force_arm, t:expect_arm, t:stats). */
extern const luaL_Reg jt_measure_methods[];

/* jtest_event.c */
cJSON *jt_event_to_json(lua_State *L, int idx, char *err, size_t errlen);

/* jtest_match.c */
extern const char *const jt_msg_keys[];
extern const char *const jt_failure_keys[];
extern const char *const jt_refusal_keys[];
void jt_pattern_text(lua_State *L, int pat, const char *const *keys, luaL_Buffer *b);
int jt_msg_matches(lua_State *L, int pat, const struct jt_msg *m);
void jt_describe_msgs(lua_State *L, int pat, luaL_Buffer *b, const struct jt *t);
int jt_incident_matches(lua_State *L, int pat, const struct jt_incident *in);
void jt_push_incident(lua_State *L, const struct jt_incident *in);
void jt_describe_incidents(luaL_Buffer *b, const struct jt *t, int refusals);
int jt_unexpected_incidents(const struct jt *t, char *why, size_t len);

#endif

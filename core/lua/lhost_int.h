/* Inside the Lua host: what its files share. Nothing outside core/lua/lhost*.c includes this
 * (but the fuzz targets of the memory decoder and the pattern matcher, tests/fuzz/, and the
 * pattern matcher's unit test, which compare them with their Lua originals). */
#ifndef PARLEY_LHOST_INT_H
#define PARLEY_LHOST_INT_H
#include <lua.h>
#include <lauxlib.h>
#include <msgpack.h>
#include <stdint.h>

#include "clock.h"
#include "lhost.h"

struct tmpl;

#define LHOST_MEMORY_MAX_DEPTH 32
#define LHOST_HOOK_EVERY 1000
#define LHOST_MAX_SOURCE (4 << 20) /* a journey or module file */

enum lhost_kill { KILL_NONE = 0, KILL_INSTRUCTIONS, KILL_TIME };

struct zones;

struct lhost_template {
  char *name;
  struct tmpl *subject, *txt, *html;
};

/* One file a journey version runs, named as its errors name it: relative to the journeys
 * folder for a module ("lib/util.lua"), to the template folder for a template
 * ("welcome.html"). The bytes are NUL-terminated (the NUL is not counted). */
struct lhost_file {
  char *name; /* first: util_cmp_name sorts these */
  char *data;
  size_t len;
};

struct lhost_files {
  struct lhost_file *v;
  size_t n;
};

struct lhost_stepref {
  char *name;
  int ref; /* luaL_ref of the handler in the registry */
};

/* A decision made by c:listen / c:finish during the current step. */
struct lhost_pending {
  enum lhost_next next;
  char **events;
  size_t n_events;
  int64_t timeout_ms;
  char *next_step;
};

/* Everything one step allocates in C, so a Lua error (longjmp) anywhere leaks nothing:
 * lhost_run_step frees it all on its single exit path. */
struct lhost_run {
  const struct lhost_step_in *in;
  const char *step;
  unsigned serial; /* tells this step's decisions and `c` from an older step's */
  int c_ref;
  struct lhost_speak *speaks;
  size_t n_speaks;
  struct lhost_refusal *refused;
  size_t n_refused;
  struct lhost_offered *offered;
  size_t n_offered;
  struct lhost_pending *pending;
  size_t n_pending;
  struct lhost_pending final; /* the decision the step returned */
  int no_decision;
  msgpack_sbuffer mem;
  msgpack_unpacked unpacked;
};

struct lhost_budget {
  int active;
  int64_t instructions;
  int64_t deadline_ms; /* monotonic; 0: none */
  enum lhost_kill kill;
  int mem_hit;
};

struct lhost_alloc {
  size_t used, limit;
  struct lhost_budget *budget;
  /* The last refused growth: Lua collects garbage and asks again with the same arguments,
   * and a retry that fits means the cap was never really reached. */
  void *refused_ptr;
  size_t refused_osize, refused_nsize;
};

struct journey {
  lua_State *L;
  struct lhost_alloc alloc;
  struct lhost_budget budget;
  struct lhost_limits limits;
  struct journey_info info;
  char *file; /* the journey file as errors name it: relative to the journeys folder */
  char *sdk_dir, *journeys_dir;
  const struct log *log;
  int entry_when_ref;           /* entry.when, or LUA_NOREF: everyone may enter */
  int fixed_ref;      /* the file-level values no step may change (lhost_freeze.c) */
  int randomseed_ref; /* math.randomseed, kept from the journey: the host seeds each step */
  uint64_t random_salt;
  struct lhost_stepref *steps; /* sorted by name */
  size_t n_steps;
  struct lhost_template *tmpls; /* sorted by name */
  size_t n_tmpls;
  struct zones *zones;          /* time zones its templates have shown times in */
  cJSON *params; /* defaults merged with the configuration's overrides */
  int params_ref;
  int methods_ref;     /* metatable of `c` */
  int decision_mt_ref; /* metatable of decision values */
  struct lhost_run run;
  int running; /* a step is running: the c methods may be used */
  int locked;  /* globals are read-only (after the journey file ran) */
  unsigned serial;
  char *source; /* the journey file's text (the channel scan reads it) */
  size_t source_len;
  /* What the file loaded besides itself, gathered while it loads (lhost_bundle.c) and
   * freed once it has: the modules it required from the journeys folder, its templates. */
  struct lhost_files modules, templates;
  int pinned;   /* they came from a stored bundle: nothing of the version is read from disk */
  char *bundle; /* every file this version runs, serialised (kept so the store can pin it) */
  size_t bundle_len;
};

/* The journey that owns a state (kept in the state's extra space). */
static inline struct journey *lhost_journey_of(lua_State *L)
{
  return *(struct journey **)lua_getextraspace(L);
}

/* A method works only on the `c` of the step that is running now: a `c` kept in an
 * upvalue from another conversation's step must not speak for this one. Raises. */
static inline struct journey *lhost_self_check(lua_State *L, const char *method)
{
  struct journey *j = lhost_journey_of(L);
  if (!j->running)
    luaL_error(L, "c:%s: only a running step can do this", method);
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->run.c_ref);
  int same = lua_rawequal(L, 1, -1);
  lua_pop(L, 1);
  if (!same)
    luaL_error(L, "c:%s: call it on this step's conversation, as c:%s(...)", method, method);
  return j;
}

/* Charges n instructions' worth of work to the running step and checks its limits; returns
 * the kill, KILL_NONE while the step is within its budget. The count hook charges what
 * the VM ran; a C function that loops where the hook never fires (the pattern matcher)
 * charges its own work, so both stop a step the same way. */
static inline enum lhost_kill lhost_budget_spend(struct journey *j, int64_t n)
{
  struct lhost_budget *b = &j->budget;
  if (b->kill != KILL_NONE)
    return b->kill;
  b->instructions += n;
  if (j->limits.step_instructions > 0 && b->instructions > j->limits.step_instructions)
    b->kill = KILL_INSTRUCTIONS;
  else if (b->deadline_ms && clock_monotonic_ms() > b->deadline_ms)
    b->kill = KILL_TIME;
  return b->kill;
}

/* The error a step gets from the moment its budget is spent. */
static inline int lhost_budget_raise(lua_State *L, enum lhost_kill kill)
{
  return luaL_error(L, kill == KILL_TIME ? "time limit exceeded" : "instruction budget exceeded");
}

/* lhost_sandbox.c (calls only the leaves lhost_safelib.c and lhost_bundle.c: the other
 * arrows point at it) */
lua_State *lhost_sandbox_new(struct journey *j);
int lhost_sandbox_seal(lua_State *L);
void lhost_sandbox_lock(lua_State *L);
void lhost_readonly(lua_State *L, const char *what);
/* When the value at `idx` is a read-only view (lhost_readonly), pushes the table it shows
 * and returns 1; else pushes nothing and returns 0. For the host's raw reads. */
int lhost_readonly_unwrap(lua_State *L, int idx);
/* Replaces the library functions that could loop inside C, out of the step budget's
 * sight, with checked ones (lhost_safelib.c). Raises on out of memory. */
void lhost_safelib_install(lua_State *L);
/* Seeds math.random for one step: from the conversation, the time and the state's salt, so
 * `parley test` is reproducible and no two contacts share a sequence. Raises. */
void lhost_seed_random(lua_State *L, struct journey *j, uint64_t conv_id, int64_t now_ms);

/* lhost_freeze.c: file-level state is fixed once the journey file has loaded. */
int lhost_freeze(struct journey *j, char *err, size_t errlen);
/* After a step: how many file-level values it changed (put back now); the first's name. */
int lhost_fixed_changed(struct journey *j, char *name, size_t namelen);
char *lhost_read_file(const char *path, const char *name, size_t max, size_t *len, char *err,
                      size_t errlen);
int lhost_load_source(lua_State *L, const char *src, size_t n, const char *name, char *err,
                      size_t errlen);
int lhost_msgh(lua_State *L);
void lhost_budget_start(struct journey *j);
void lhost_budget_stop(struct journey *j);
int lhost_budget_failed(struct journey *j, const char *what, char *err, size_t errlen);

/* lhost_pattern.c: string.find, match, gmatch and gsub under the step budget, in place of
 * Lua's (in the string table, so also the strings' methods). Raises on out of memory. */
void lhost_pattern_install(lua_State *L);

/* lhost_experiment.c: c:experiment_hash and c:experiment_record, methods of `c`. */
extern const luaL_Reg lhost_experiment_methods[];

/* lhost_api.c */
int lhost_api_open(lua_State *L);
void lhost_push_json(lua_State *L, const cJSON *v, int readonly, const char *what);
void lhost_push_event(lua_State *L, const struct lhost_event *ev, const char *contact_id);
void lhost_push_c(lua_State *L, struct journey *j);
int lhost_take_decision(lua_State *L, struct journey *j, int idx, struct lhost_pending *out);
void lhost_pending_clear(struct lhost_pending *p);
const struct lhost_stepref *lhost_step_find(const struct journey *j, const char *name);

/* lhost_history.c: c:history and c:record_offer (methods of `c`, in lhost_api.c's table). */
int lhost_c_history(lua_State *L);
int lhost_c_record_offer(lua_State *L);
void lhost_offered_free(struct lhost_offered *o, size_t n);
/* lhost_time.c: the parley.time module (durations and RFC 3339 dates read as Parley reads
 * them), pushed as a table of functions; the sandbox hands it to require. */
void lhost_time_push(lua_State *L);

/* lhost_bundle.c (calls no other file of the host) */
int lhost_files_add(struct lhost_files *fs, const char *name, char *data, size_t len);
const struct lhost_file *lhost_files_find(const struct lhost_files *fs, const char *name);
void lhost_files_free(struct lhost_files *fs);
int lhost_bundle_pack(struct journey *j, char *err, size_t errlen);
int lhost_bundle_unpack(struct journey *j, const char *bytes, size_t len, char *err,
                        size_t errlen);

/* lhost_templates.c */
int lhost_templates_load(struct journey *j, const char *journey_path, char *err, size_t errlen);
void lhost_templates_free(struct journey *j);
const struct lhost_template *lhost_template_find(const struct journey *j, const char *name);
/* c:speak's options table at `idx` as JSON text of text values (NULL when nil or empty),
 * or a Lua error naming a bad option (lhost_options.c). */
char *lhost_speak_options(lua_State *L, int idx);
/* Pushes a flat table read from a JSON object (a channel's check answer); {} when empty. */
void lhost_push_info(lua_State *L, const char *json);
void lhost_speak_render(lua_State *L, struct journey *j, const struct lhost_template *t,
                        int vars_idx, struct lhost_speak *out);

/* lhost_memory.c */
void lhost_memory_push(lua_State *L, msgpack_unpacked *u, const char *mem, size_t len);
void lhost_memory_encode(lua_State *L, int idx, msgpack_sbuffer *sb);

#endif

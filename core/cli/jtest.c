/* The journey test runner (see jtest.h): for each test file, the journeys folder it is
 * tested against; for each test it declares, a fresh core on a virtual clock with every
 * channel captured (what the test saw: jtest_seen.c), the test run with its `t`
 * (jtest_api.c), and its TAP line, followed by why it failed and what it printed and its
 * journeys logged. */
#include "jtest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jtest_int.h"

#define JT_START_MS 1893488400000LL /* 2030-01-01T09:00:00Z: every test starts here */
#define JT_MAX_FILE (4 << 20)       /* bytes of one test file */

/* ---- a core per test ---- */

/* The configuration of a test's core: the configuration's channels and limits, the
 * journeys of the file being run with their own params, an in-memory store, the log to
 * jt_on_log. NULL with err. */
static struct cfg *test_cfg(struct jt *t, char *err, size_t errlen)
{
  struct cfg *cfg = cfg_load(t->config_path, err, errlen);
  if (!cfg)
    return NULL;
  free(cfg->store_backend);
  cfg->store_backend = strdup("memory");
  free(cfg->journeys_dir);
  cfg->journeys_dir = strdup(t->journeys);
  cfg->capture = 1;
  cfg->log_level = LOG_INFO; /* jt_on_log picks what to show */
  cfg->log_sink = jt_on_log;
  cfg->log_sink_ud = t;
  /* A test checks the journey as written: its own params, not a deployment's overrides
   * (the demo configuration shortens every wait to seconds). */
  cJSON_Delete(cfg->journey_params);
  cfg->journey_params = cJSON_CreateObject();
  if (!cfg->store_backend || !cfg->journeys_dir || !cfg->journey_params) {
    snprintf(err, errlen, "out of memory");
    cfg_free(cfg);
    return NULL;
  }
  return cfg;
}

/* A fresh core for one test: the configuration's journeys and channels, in memory, on a
 * virtual clock, channels captured. */
static int core_up(struct jt *t, char *err, size_t errlen)
{
  struct cfg *cfg = test_cfg(t, err, errlen);
  if (!cfg)
    return -1;
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
  t->core->outbox.env.capture = jt_capture;
  t->core->outbox.env.capture_ud = t;
  t->core->incident = jt_on_incident;
  t->core->incident_ud = t;
  t->events = 0;
  return 0;
}

static void core_down(struct jt *t)
{
  core_close(t->core);
  ev_loop_destroy(t->loop);
  t->core = NULL;
  jt_forget(t);
}

/* ---- running files ---- */

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
  if (jt_unexpected_incidents(t, why, whylen) > 0 || t->lost)
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

/* What the test that ended (or the top of the file) printed and what its journeys
 * logged, as TAP comments. */
static void show_notes(struct jt *t)
{
  fwrite(t->notes.p ? t->notes.p : "", 1, t->notes.len, stdout);
  t->notes.len = 0;
}

static void run_file(struct jt *t, const char *path, int *passed, int *failed)
{
  char why[8192];
  t->file = path;
  lua_State *L = jt_api_state(t);
  if (!L)
    snprintf(why, sizeof why, "cannot create a Lua state: out of memory");
  if (!L || load_tests(L, path, why, sizeof why) < 0) {
    printf("not ok %d - %s\n", *passed + *failed + 1, path);
    print_failure(why);
    show_notes(t);
    ++*failed;
  } else {
    show_notes(t); /* the top of the file's prints, before its tests */
    lua_pushboolean(L, 1); /* from here on test() is refused: see l_test */
    lua_setfield(L, LUA_REGISTRYINDEX, "parley.running");
    lua_getfield(L, LUA_REGISTRYINDEX, "parley.tests");
    for (int i = 1; i <= (int)lua_rawlen(L, -1); i++) {
      int ok = run_one(L, t, i, why, sizeof why);
      lua_rawgeti(L, -1, i);
      lua_rawgeti(L, -1, 1);
      printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", *passed + *failed + 1, path, lua_tostring(L, -1));
      lua_pop(L, 2);
      if (!ok)
        print_failure(why);
      show_notes(t);
      ++*(ok ? passed : failed);
    }
  }
  if (L)
    lua_close(L);
}

/* ---- the journeys folder, the test files ---- */

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
    char **more = jt_grow(files, &cap, *n, sizeof *files);
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

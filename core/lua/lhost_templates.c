/* A journey's message templates: for <dir>/<base>.lua they are the files <dir>/<base>/T.subject,
 * T.txt and T.html (for a pinned version, those of its bundle: lhost_bundle.c). All are
 * compiled when the journey loads, so a broken template refuses the journey instead of
 * failing a conversation at 3 a.m. Rendering for c:speak looks a
 * {{name}} up in the speak's vars table (tables and lists in it too, read where they are),
 * then contact.<attr> in the profile, then params.<p>, without allocating in Lua (so no
 * Lua error can cut a render in half), in the contact's `locale` and `timezone`. A
 * subject is rendered as one line (TMPL_LINE): it is bound for a mail header. */
#include <cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_int.h"
#include "util.h"
#include "tmpl.h"
#include "zones.h"

#define MAX_TEMPLATE_BYTES (1 << 20)

const struct lhost_template *lhost_template_find(const struct journey *j, const char *name)
{
  if (j->n_tmpls == 0)
    return NULL;
  return bsearch(name, j->tmpls, j->n_tmpls, sizeof *j->tmpls, util_cmp_name_key);
}

static struct lhost_template *template_slot(struct journey *j, const char *name, size_t n)
{
  for (size_t i = 0; i < j->n_tmpls; i++)
    if (strlen(j->tmpls[i].name) == n && strncmp(j->tmpls[i].name, name, n) == 0)
      return &j->tmpls[i];
  struct lhost_template *nt = realloc(j->tmpls, (j->n_tmpls + 1) * sizeof *nt);
  if (nt == NULL)
    return NULL;
  j->tmpls = nt;
  nt = &j->tmpls[j->n_tmpls];
  memset(nt, 0, sizeof *nt);
  if ((nt->name = strndup(name, n)) == NULL)
    return NULL;
  j->n_tmpls++;
  return nt;
}

/* A file "<name>.<part>" of the template folder; other files are no template. */
static int is_template_file(const char *file)
{
  const char *dot = strrchr(file, '.');
  if (file[0] == '.' || dot == NULL || dot == file)
    return 0;
  return strcmp(dot, ".subject") == 0 || strcmp(dot, ".txt") == 0 || strcmp(dot, ".html") == 0;
}

/* Compiles one template file into its template's slot; `label` names it in errors. */
static int compile_one(struct journey *j, const struct lhost_file *f, const char *label,
                       char *err, size_t errlen)
{
  const char *dot = strrchr(f->name, '.');
  struct lhost_template *t = template_slot(j, f->name, (size_t)(dot - f->name));
  if (t == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  struct tmpl **slotp = dot[1] == 's' ? &t->subject : dot[1] == 't' ? &t->txt : &t->html;
  return tmpl_compile(f->data, f->len, label, slotp, err, errlen);
}

/* "<folder>" without ".lua": the journey file's name with its extension cut off (the
 * template folder), for a path or for the name relative to the journeys folder. */
static void strip_lua(const char *file, char *out, size_t outlen)
{
  size_t n = strlen(file);
  if (n > 4 && strcmp(file + n - 4, ".lua") == 0)
    n -= 4;
  snprintf(out, outlen, "%.*s", (int)n, file);
}

/* Reads every template file of `dir` into j->templates, the files the version runs; no
 * folder means no templates. `folder` names the folder in errors. */
static int read_folder(struct journey *j, const char *dir, const char *folder, char *err,
                       size_t errlen)
{
  DIR *d = opendir(dir);
  if (d == NULL)
    return 0;
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    char path[4400], label[1300], why[1500];
    size_t len;
    if (!is_template_file(de->d_name))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    snprintf(label, sizeof label, "%s/%s", folder, de->d_name);
    char *src = lhost_read_file(path, label, MAX_TEMPLATE_BYTES, &len, why, sizeof why);
    if (src == NULL) {
      snprintf(err, errlen, "template %s", why);
      rc = -1;
    } else if (lhost_files_add(&j->templates, de->d_name, src, len) < 0) {
      snprintf(err, errlen, "out of memory");
      rc = -1;
    }
  }
  closedir(d);
  return rc;
}

/* Loads every template of the journey at `journey_path`: for a pinned version those of its
 * bundle, else the files of the folder beside it. Errors name a template by its path
 * relative to the journeys folder ("welcome/welcome.html line 3: ..."). */
int lhost_templates_load(struct journey *j, const char *journey_path, char *err, size_t errlen)
{
  char dir[4096], folder[1024], label[1200];
  strip_lua(journey_path, dir, sizeof dir);
  strip_lua(j->file, folder, sizeof folder);
  if (!j->pinned && read_folder(j, dir, folder, err, errlen) < 0)
    return -1;
  for (size_t i = 0; i < j->templates.n; i++) {
    const struct lhost_file *f = &j->templates.v[i];
    if (!is_template_file(f->name))
      continue;
    snprintf(label, sizeof label, "%s/%s", folder, f->name);
    if (compile_one(j, f, label, err, errlen) < 0)
      return -1;
  }
  if (j->n_tmpls > 1)
    qsort(j->tmpls, j->n_tmpls, sizeof *j->tmpls, util_cmp_name);
  if ((j->zones = zones_new()) == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

void lhost_templates_free(struct journey *j)
{
  for (size_t i = 0; i < j->n_tmpls; i++) {
    tmpl_free(j->tmpls[i].subject);
    tmpl_free(j->tmpls[i].txt);
    tmpl_free(j->tmpls[i].html);
    free(j->tmpls[i].name);
  }
  free(j->tmpls);
  j->tmpls = NULL;
  j->n_tmpls = 0;
  zones_free(j->zones);
  j->zones = NULL;
}

#define MAX_LIST_ITEMS 1000 /* elements of one list a section shows */

/* The source a speak renders with: Lua values on the stack (a tmpl_val's `i` is their
 * index) from the speak's vars, then cJSON ones (`i` 0, `h` the node) for contact.<attr>
 * and params.<p>. Values are found without pushing a string (lua_next, lua_rawgeti), so
 * nothing is allocated and no Lua error can cut a render in half. */
struct lookup {
  lua_State *L;
  struct journey *j;
  int vars; /* stack index of the vars table, 0 when none */
};

static int seg_matches_key(lua_State *L, const char *seg, size_t n)
{
  if (lua_type(L, -2) == LUA_TSTRING) {
    size_t kn;
    const char *k = lua_tolstring(L, -2, &kn);
    return kn == n && memcmp(k, seg, n) == 0;
  }
  if (lua_isinteger(L, -2) && n > 0 && n < 19 && strspn(seg, "0123456789") >= n)
    return lua_tointeger(L, -2) == strtoll(seg, NULL, 10);
  return 0;
}

/* Finds a key by walking the table with lua_next. Pushes the value and returns 1 when
 * found. */
static int find_field(lua_State *L, int t, const char *seg, size_t n)
{
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (seg_matches_key(L, seg, n)) {
      lua_remove(L, -2);
      return 1;
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* A table is a list when it has a first element (or nothing at all), else a map. */
static void describe_table(lua_State *L, int idx, struct tmpl_val *out)
{
  if (lhost_readonly_unwrap(L, idx)) /* file-level vars: read what the view shows */
    idx = lua_gettop(L);
  else if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    out->kind = TMPL_OTHER;
    out->what = "table with a metatable";
    return;
  }
  out->i = idx;
  lua_rawgeti(L, idx, 1);
  int listy = !lua_isnil(L, -1);
  lua_pop(L, 1);
  lua_pushnil(L);
  int empty = !lua_next(L, idx);
  if (!empty)
    lua_pop(L, 2);
  out->kind = listy || empty ? TMPL_LIST : TMPL_MAP;
  out->n = listy ? (size_t)lua_rawlen(L, idx) : 0;
}

/* Describes the value on top of the stack. */
static void describe(lua_State *L, struct tmpl_val *out)
{
  int idx = lua_gettop(L);
  memset(out, 0, sizeof *out);
  out->i = idx;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: out->kind = TMPL_NULL; break;
  case LUA_TBOOLEAN: out->kind = TMPL_BOOL, out->b = lua_toboolean(L, idx); break;
  case LUA_TNUMBER:
    out->kind = TMPL_NUM;
    out->is_int = lua_isinteger(L, idx);
    out->inum = (long long)lua_tointeger(L, idx);
    out->num = (double)lua_tonumber(L, idx);
    break;
  case LUA_TSTRING: out->kind = TMPL_STR, out->s = lua_tolstring(L, idx, &out->len); break;
  case LUA_TTABLE: describe_table(L, idx, out); break;
  default: out->kind = TMPL_OTHER, out->what = luaL_typename(L, idx);
  }
}

static int no_room(struct tmpl_val *out)
{
  memset(out, 0, sizeof *out);
  out->what = "nested too deeply to read";
  return -1;
}

static int src_field(void *ud, const struct tmpl_val *in, const char *name, size_t n,
                     struct tmpl_val *out)
{
  struct lookup *lk = ud;
  lua_State *L = lk->L;
  if (!lua_checkstack(L, 6))
    return no_room(out);
  if (in != NULL && in->i == 0)
    return tmpl_json_field(in, name, n, out);
  if (in == NULL && lk->vars) {
    struct tmpl_val vars;
    lua_pushvalue(L, lk->vars);
    describe(L, &vars);
    if (vars.kind == TMPL_MAP && find_field(L, vars.i, name, n)) {
      describe(L, out);
      return 1;
    }
  }
  if (in == NULL) { /* contact.<attr>, params.<p> */
    const cJSON *root = n == 7 && memcmp(name, "contact", 7) == 0 ? lk->j->run.in->profile
                        : n == 6 && memcmp(name, "params", 6) == 0 ? lk->j->params : NULL;
    tmpl_json_val(root, out);
    return root != NULL;
  }
  if (!find_field(L, in->i, name, n))
    return 0;
  describe(L, out);
  return 1;
}

static int src_item(void *ud, const struct tmpl_val *in, size_t i, const struct tmpl_val *prev,
                    struct tmpl_val *out)
{
  struct lookup *lk = ud;
  if (in->i == 0)
    return tmpl_json_item(in, i, prev, out);
  if (!lua_checkstack(lk->L, 6))
    return no_room(out);
  lua_rawgeti(lk->L, in->i, (lua_Integer)i + 1);
  describe(lk->L, out);
  return 1;
}

static int src_mark(void *ud)
{
  return lua_gettop(((struct lookup *)ud)->L);
}

static void src_release(void *ud, int mark)
{
  lua_settop(((struct lookup *)ud)->L, mark);
}

static const char *profile_text(const struct journey *j, const char *attr)
{
  const cJSON *v = j->run.in->profile ? cJSON_GetObjectItemCaseSensitive(j->run.in->profile, attr) : NULL;
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void render_part(struct lookup *lk, const struct tmpl *t, enum tmpl_mode mode, char **out,
                        const char *tname)
{
  char err[512];
  if (t == NULL)
    return;
  struct tmpl_source src = {src_field, src_item, src_mark, src_release, lk};
  struct tmpl_env env = {.locale = profile_text(lk->j, "locale"),
                         .timezone = profile_text(lk->j, "timezone"),
                         .zones = lk->j->zones,
                         .max_bytes = lk->j->limits.message_bytes,
                         .max_bytes_name = "lua.message_bytes",
                         .max_items = MAX_LIST_ITEMS};
  if (tmpl_render(t, &src, &env, mode, out, err, sizeof err) < 0)
    luaL_error(lk->L, "c:speak '%s': %s", tname, err);
}

/* Renders the template's parts into out (owned by the step run, so a raise leaks nothing).
 * The subject goes into a mail header: it is rendered as one line, whatever the file's
 * trailing newline or a value (a first name "Ann\r\nBcc: ...") brings in. */
void lhost_speak_render(lua_State *L, struct journey *j, const struct lhost_template *t,
                        int vars_idx, struct lhost_speak *out)
{
  struct lookup lk = {.L = L, .j = j};
  lk.vars = lua_istable(L, vars_idx) ? lua_absindex(L, vars_idx) : 0;
  render_part(&lk, t->subject, TMPL_LINE, &out->subject, t->name);
  render_part(&lk, t->txt, TMPL_TEXT, &out->text, t->name);
  render_part(&lk, t->html, TMPL_HTML, &out->html, t->name);
  size_t n = (out->subject ? strlen(out->subject) : 0) + (out->text ? strlen(out->text) : 0) +
             (out->html ? strlen(out->html) : 0);
  if (j->limits.message_bytes && n > j->limits.message_bytes)
    luaL_error(L, "c:speak '%s': the rendered message is %I bytes, more than the %I allowed "
                  "(lua.message_bytes)", t->name, (lua_Integer)n, (lua_Integer)j->limits.message_bytes);
}

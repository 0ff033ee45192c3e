/* A journey's message templates: for <dir>/<base>.lua they are the files <dir>/<base>/T.subject,
 * T.txt and T.html (for a pinned version, those of its bundle: lhost_bundle.c). All are
 * compiled when the journey loads, so a broken template refuses the journey instead of
 * failing a conversation at 3 a.m. Rendering for c:speak looks a
 * {{name}} up in the speak's vars table, then contact.<attr> in the profile, then
 * params.<p>, without allocating in Lua (so no Lua error can cut a render in half). A
 * subject is rendered as one line (TMPL_LINE): it is bound for a mail header. */
#include <cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_int.h"
#include "util.h"
#include "tmpl.h"

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
}

struct lookup {
  lua_State *L;
  struct journey *j;
  int vars;        /* stack index of the vars table, 0 when none */
  char num[64];    /* a formatted number; tmpl copies a value before the next lookup */
  char bad[128];   /* a var whose value cannot be shown (a table) */
};

static const char *fmt_number(struct lookup *lk, double d, int is_int, long long i)
{
  if (is_int)
    snprintf(lk->num, sizeof lk->num, "%lld", i);
  else if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
    snprintf(lk->num, sizeof lk->num, "%.0f", d); /* 3.0 reads "3" */
  else
    snprintf(lk->num, sizeof lk->num, "%.14g", d);
  return lk->num;
}

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

/* Finds a key by walking the table with lua_next: no string is pushed, so nothing is
 * allocated and nothing can raise. Pushes the value and returns 1 when found. */
static int find_field(lua_State *L, int t, const char *seg, size_t n)
{
  if (!lua_checkstack(L, 3))
    return 0;
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

static const char *lua_value_text(struct lookup *lk, const char *key)
{
  lua_State *L = lk->L;
  switch (lua_type(L, -1)) {
  case LUA_TSTRING: return lua_tostring(L, -1);
  case LUA_TNUMBER:
    return fmt_number(lk, (double)lua_tonumber(L, -1), lua_isinteger(L, -1),
                      (long long)lua_tointeger(L, -1));
  case LUA_TBOOLEAN: return lua_toboolean(L, -1) ? "true" : "false";
  case LUA_TNIL: return NULL;
  default:
    snprintf(lk->bad, sizeof lk->bad, "%s' is a %s", key, luaL_typename(L, -1));
    return "";
  }
}

static const char *lookup_vars(struct lookup *lk, const char *key)
{
  lua_State *L = lk->L;
  int top = lua_gettop(L);
  const char *v = NULL;
  if (lk->vars == 0 || !lua_checkstack(L, 2))
    return NULL;
  lua_pushvalue(L, lk->vars);
  for (const char *seg = key;;) {
    size_t n = strcspn(seg, ".");
    if (lua_type(L, -1) == LUA_TTABLE && lhost_readonly_unwrap(L, -1)) /* file-level vars */
      lua_remove(L, -2);
    if (lua_type(L, -1) != LUA_TTABLE || lua_getmetatable(L, -1) ||
        !find_field(L, lua_gettop(L), seg, n))
      goto out;
    if (seg[n] == '\0')
      break;
    seg += n + 1;
  }
  v = lua_value_text(lk, key); /* strings stay alive: the vars table holds them */
out:
  lua_settop(L, top);
  return v;
}

static const char *json_text(struct lookup *lk, const cJSON *root, const char *path,
                             const char *key)
{
  char seg[256];
  const cJSON *v = root;
  while (v && *path) {
    size_t n = strcspn(path, ".");
    snprintf(seg, sizeof seg, "%.*s", (int)(n < sizeof seg ? n : sizeof seg - 1), path);
    v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, seg) : NULL;
    path += n + (path[n] == '.');
  }
  if (v == NULL || cJSON_IsNull(v))
    return NULL;
  if (cJSON_IsString(v))
    return v->valuestring;
  if (cJSON_IsBool(v))
    return cJSON_IsTrue(v) ? "true" : "false";
  if (cJSON_IsNumber(v))
    return fmt_number(lk, v->valuedouble, 0, 0);
  snprintf(lk->bad, sizeof lk->bad, "%s' is a %s", key, cJSON_IsArray(v) ? "list" : "table");
  return "";
}

static const char *lookup(void *ud, const char *key)
{
  struct lookup *lk = ud;
  const char *v = lookup_vars(lk, key);
  if (v != NULL)
    return v;
  if (strncmp(key, "contact.", 8) == 0)
    return json_text(lk, lk->j->run.in->profile, key + 8, key);
  if (strncmp(key, "params.", 7) == 0)
    return json_text(lk, lk->j->params, key + 7, key);
  return NULL;
}

static void render_part(struct lookup *lk, const struct tmpl *t, enum tmpl_mode mode, char **out,
                        const char *tname)
{
  char err[512];
  if (t == NULL)
    return;
  lk->bad[0] = '\0';
  int rc = tmpl_render(t, lookup, lk, mode, out, err, sizeof err);
  if (rc == 0 && lk->bad[0] == '\0')
    return;
  if (lk->bad[0])
    luaL_error(lk->L, "c:speak '%s': '%s, not a value a message can show (use e.g. "
                      "{{item.name}})", tname, lk->bad);
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

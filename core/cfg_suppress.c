/* The configuration's `suppress` table: per channel, addresses never to be messaged, listed
 * in the table and/or in a file of one address a line ('#' starts a comment). Read beside
 * cfg.c, after the channels, into cfg->suppress (suppress.h). A list is read at start; a
 * changed list takes a restart (a reload loads journeys only). */
#include <errno.h>
#include <lua.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "suppress.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* One address as written, into the set; `where` names it in an error. */
static int add_one(struct suppress_set *s, const struct cfg_channel *ch, const char *text, int src,
                   const char *where, char *err, size_t errlen)
{
  char norm[SUPPRESS_ADDRESS_MAX + 1], why[400];
  if (suppress_norm(suppress_kind_of(ch->address_attr), text, norm, why, sizeof why) < 0)
    return fail(err, errlen, "%s: %s", where, why);
  if (suppress_add(s, ch->name, norm, src) < 0)
    return fail(err, errlen, "%s: out of memory", where);
  return 0;
}

/* A line without its comment and surrounding blanks: "" for a blank or comment line. */
static char *trimmed(char *line)
{
  char *hash = strchr(line, '#');
  if (hash)
    *hash = '\0';
  while (*line == ' ' || *line == '\t')
    line++;
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r' || line[n - 1] == '\n'))
    line[--n] = '\0';
  return line;
}

/* suppress.<channel>.file: one address a line; an error names the file and line. */
static int read_file(struct suppress_set *s, const struct cfg_channel *ch, const char *path, char *err,
                     size_t errlen)
{
  int src = suppress_source(s, path);
  if (src < 0)
    return fail(err, errlen, "suppress.%s.file: out of memory", ch->name);
  FILE *f = fopen(path, "r");
  if (!f)
    return fail(err, errlen, "suppress.%s.file: cannot read %s: %s", ch->name, path, strerror(errno));
  char *line = NULL, where[512];
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  for (unsigned long no = 1; rc == 0 && (n = getline(&line, &cap, f)) >= 0; no++) {
    snprintf(where, sizeof where, "suppress.%s.file: %s:%lu", ch->name, path, no);
    if ((size_t)n != strlen(line))
      rc = fail(err, errlen, "%s: the line holds a NUL byte", where);
    else if (n > SUPPRESS_ADDRESS_MAX + 256)
      rc = fail(err, errlen, "%s: the line is longer than %d bytes", where, SUPPRESS_ADDRESS_MAX + 256);
    char *t = rc == 0 ? trimmed(line) : NULL;
    if (t && *t)
      rc = add_one(s, ch, t, src, where, err, errlen);
  }
  if (rc == 0 && ferror(f))
    rc = fail(err, errlen, "suppress.%s.file: cannot read %s", ch->name, path);
  free(line);
  fclose(f);
  return rc;
}

/* suppress.<channel> = { "a@example.com", ..., file = "/path" } at the top of the stack. */
static int read_channel(lua_State *L, struct suppress_set *s, const struct cfg_channel *ch, int src, char *err,
                        size_t errlen)
{
  if (!lua_istable(L, -1))
    return fail(err, errlen, "suppress.%s: must be a table such as { \"a@example.com\", file = \"/path\" }",
                ch->name);
  size_t n = lua_rawlen(L, -1);
  char key[64];
  int rc = cfg_stray_key(L, n, "file", key, sizeof key)
               ? fail(err, errlen, "suppress.%s: unknown key '%s' (a list of addresses, and 'file')", ch->name, key)
               : 0;
  for (size_t i = 1; rc == 0 && i <= n; i++) {
    char where[96];
    snprintf(where, sizeof where, "suppress.%s[%zu]", ch->name, i);
    if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING)
      rc = fail(err, errlen, "%s: must be an address (a string)", where);
    else
      rc = add_one(s, ch, lua_tostring(L, -1), src, where, err, errlen);
    lua_pop(L, 1);
  }
  if (rc < 0)
    return -1;
  int t = lua_getfield(L, -1, "file");
  if (t == LUA_TSTRING)
    rc = read_file(s, ch, lua_tostring(L, -1), err, errlen);
  else if (t != LUA_TNIL)
    rc = fail(err, errlen, "suppress.%s.file: must be a path", ch->name);
  lua_pop(L, 1);
  return rc;
}

/* The configured channel `name` (looked up here: cfg.c calls this file, not the reverse). */
static const struct cfg_channel *channel_of(const struct cfg *cfg, const char *name)
{
  for (size_t i = 0; i < cfg->n_channels; i++)
    if (strcmp(cfg->channels[i].name, name) == 0)
      return &cfg->channels[i];
  return NULL;
}

/* Every channel of the table, each a configured channel. */
static int read_channels(lua_State *L, const struct cfg *cfg, struct suppress_set *s, char *err, size_t errlen)
{
  int src = suppress_source(s, "the configuration");
  if (src < 0)
    return fail(err, errlen, "suppress: out of memory");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    const struct cfg_channel *ch = channel_of(cfg, name);
    int rc = ch ? read_channel(L, s, ch, src, err, errlen)
                : fail(err, errlen, "suppress: '%s' is not a configured channel", name);
    lua_pop(L, 1);
    if (rc < 0) {
      lua_pop(L, 1);
      return -1;
    }
  }
  return 0;
}

int cfg_read_suppress(lua_State *L, struct cfg *cfg, char *err, size_t errlen)
{
  int t = lua_getfield(L, -1, "suppress"), rc = 0;
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TTABLE)
    rc = fail(err, errlen, "suppress: must be a table such as { email = { \"abuse@example.com\" } }");
  if (rc == 0 && !(cfg->suppress = calloc(1, sizeof *cfg->suppress)))
    rc = fail(err, errlen, "out of memory");
  if (rc == 0)
    rc = read_channels(L, cfg, cfg->suppress, err, errlen);
  lua_pop(L, 1);
  return rc;
}

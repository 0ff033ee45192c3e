/* The configuration of who may be spoken to about what: the topics a message can have
 * (`topics`) and each channel's consent policy per topic (`channels.X.consent`). Read
 * here, beside cfg.c, which calls these with the table being read on top of the stack. */
#include <lua.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "duration.h"
#include "suppress.h"
#include "zones.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* A topic's name: what a journey writes and /metrics shows. */
static int topic_name_ok(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 32)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

int cfg_topic_index(const struct cfg *cfg, const char *topic)
{
  for (size_t i = 0; i < cfg->n_topics; i++)
    if (strcmp(cfg->topics[i], topic) == 0)
      return (int)i;
  return -1;
}

static int add_topic(struct cfg *cfg, const char *name, char *err, size_t errlen)
{
  if (cfg_topic_index(cfg, name) >= 0)
    return 0;
  if (cfg->n_topics == CFG_TOPICS_MAX)
    return fail(err, errlen, "topics: at most %d topics", CFG_TOPICS_MAX);
  if (!(cfg->topics[cfg->n_topics] = strdup(name)))
    return fail(err, errlen, "out of memory");
  cfg->n_topics++;
  return 0;
}

int cfg_read_topics(lua_State *L, struct cfg *cfg, char *err, size_t errlen)
{
  if (!cfg->topics && !(cfg->topics = calloc(CFG_TOPICS_MAX, sizeof *cfg->topics)))
    return fail(err, errlen, "out of memory");
  if (add_topic(cfg, CFG_TOPIC_MARKETING, err, errlen) < 0 || add_topic(cfg, CFG_TOPIC_TRANSACTIONAL, err, errlen) < 0)
    return -1;
  int t = lua_getfield(L, -1, "topics"), rc = 0;
  if (t != LUA_TNIL && t != LUA_TTABLE)
    rc = fail(err, errlen, "topics: must be a list of names such as { \"newsletter\", \"service\" }");
  for (lua_Integer i = 1; rc == 0 && t == LUA_TTABLE; i++) {
    int it = lua_rawgeti(L, -1, i);
    if (it == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    const char *name = it == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!name || !topic_name_ok(name))
      rc = fail(err, errlen, "topics[%lld]: must be a name of 1-32 lower-case letters, digits or '_'", (long long)i);
    else
      rc = add_topic(cfg, name, err, errlen);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return rc;
}

/* "opt_in" or "opt_out" into *opt_in; -1 for anything else. */
static int policy_of(lua_State *L, int idx, int *opt_in)
{
  const char *p = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";
  if (strcmp(p, "opt_in") != 0 && strcmp(p, "opt_out") != 0)
    return -1;
  *opt_in = strcmp(p, "opt_in") == 0;
  return 0;
}

/* consent = { topic = "opt_in" | "opt_out", ... }: each key a declared topic. */
static int read_policy_table(lua_State *L, const char *where, const struct cfg *cfg, struct cfg_channel *ch,
                             char *err, size_t errlen)
{
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    const char *topic = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    int k = topic ? cfg_topic_index(cfg, topic) : -1, opt_in;
    if (k < 0 || policy_of(L, -1, &opt_in) < 0) {
      lua_pop(L, 2);
      return k < 0 ? fail(err, errlen, "%s.consent: '%s' is not a topic (marketing, transactional, or one "
                                       "the configuration's topics declares)", where, topic ? topic : "?")
                   : fail(err, errlen, "%s.consent.%s: must be \"opt_in\" or \"opt_out\"", where, topic);
    }
    if (strcmp(topic, CFG_TOPIC_TRANSACTIONAL) == 0 && opt_in) {
      lua_pop(L, 2);
      return fail(err, errlen, "%s.consent.transactional: transactional messages need no consent "
                               "(they are exempt); leave it out", where);
    }
    if (opt_in)
      ch->opt_in_topics |= 1u << k;
    else
      ch->opt_in_topics &= ~(1u << k);
    lua_pop(L, 1);
  }
  return 0;
}

int cfg_read_consent(lua_State *L, const char *where, const struct cfg *cfg, struct cfg_channel *ch,
                     char *err, size_t errlen)
{
  int t = lua_getfield(L, -1, "consent"), rc = 0, opt_in;
  ch->opt_in_topics = 0; /* opt-out everywhere unless said */
  if (t == LUA_TSTRING && policy_of(L, -1, &opt_in) == 0)
    ch->opt_in_topics = opt_in ? ~0u & ~(1u << cfg_topic_index(cfg, CFG_TOPIC_TRANSACTIONAL)) : 0;
  else if (t == LUA_TTABLE)
    rc = read_policy_table(L, where, cfg, ch, err, errlen);
  else if (t != LUA_TNIL)
    rc = fail(err, errlen, "%s.consent: must be \"opt_in\", \"opt_out\" or a table of topic = \"opt_in\" "
                           "such as { marketing = \"opt_in\" }", where);
  lua_pop(L, 1);
  return rc;
}

/* One cap, { max = 3, per = "7d", channel = "email" }, at the top of the stack. */
static int read_cap(lua_State *L, const char *where, struct cfg *cfg, struct cfg_cap *cap, char *err, size_t errlen)
{
  char derr[160];
  if (!lua_istable(L, -1))
    return fail(err, errlen, "%s: must be a table such as { max = 3, per = \"7d\", channel = \"email\" }", where);
  lua_getfield(L, -1, "max");
  lua_getfield(L, -2, "per");
  lua_getfield(L, -3, "channel");
  int rc = 0;
  if (!lua_isinteger(L, -3) || lua_tointeger(L, -3) < 0)
    rc = fail(err, errlen, "%s: 'max' must be a whole number of messages, 0 or more", where);
  else if (lua_type(L, -2) != LUA_TSTRING || duration_parse(lua_tostring(L, -2), &cap->per_ms, derr, sizeof derr) < 0 ||
           cap->per_ms <= 0)
    rc = fail(err, errlen, "%s: 'per' must be a duration such as \"7d\"", where);
  else if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    rc = fail(err, errlen, "%s: 'channel' must be a channel's name (left out: every channel)", where);
  if (rc == 0) {
    cap->max = lua_tointeger(L, -3);
    cap->channel = lua_isnil(L, -1) ? NULL : strdup(lua_tostring(L, -1));
    if (cap->per_ms > cfg->caps_window_ms)
      cfg->caps_window_ms = cap->per_ms;
  }
  lua_pop(L, 3);
  return rc;
}

/* caps.exempt = { "transactional", ... }: topics whose messages caps neither count nor stop. */
static int read_exempt(lua_State *L, struct cfg *cfg, char *err, size_t errlen)
{
  int t = lua_getfield(L, -1, "exempt"), rc = 0;
  if (t == LUA_TNIL)
    cfg->caps_exempt = 1u << cfg_topic_index(cfg, CFG_TOPIC_TRANSACTIONAL);
  else if (t != LUA_TTABLE)
    rc = fail(err, errlen, "caps.exempt: must be a list of topics such as { \"transactional\" }");
  for (lua_Integer i = 1; rc == 0 && t == LUA_TTABLE; i++) {
    if (lua_rawgeti(L, -1, i) == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    int k = lua_type(L, -1) == LUA_TSTRING ? cfg_topic_index(cfg, lua_tostring(L, -1)) : -1;
    if (k < 0)
      rc = fail(err, errlen, "caps.exempt[%lld]: not a topic (marketing, transactional, or one of topics)", (long long)i);
    else
      cfg->caps_exempt |= 1u << k;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return rc;
}

const char *cfg_stray_key(lua_State *L, size_t n, const char *named, char *key, size_t keylen)
{
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    int ok = (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), named) == 0) ||
             (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 && (size_t)lua_tointeger(L, -1) <= n);
    if (!ok) {
      snprintf(key, keylen, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
      lua_pop(L, 1);
      return key;
    }
  }
  return NULL;
}

int cfg_read_caps(lua_State *L, struct cfg *cfg, char *err, size_t errlen)
{
  int t = lua_getfield(L, -1, "caps"), rc = 0;
  if (t == LUA_TNIL) { /* stands for {} */
    lua_pop(L, 1);
    lua_newtable(L);
  } else if (t != LUA_TTABLE) {
    rc = fail(err, errlen, "caps: must be a table such as { { max = 5, per = \"7d\" } }");
  }
  size_t n = rc == 0 ? lua_rawlen(L, -1) : 0;
  char key[64];
  if (rc == 0 && cfg_stray_key(L, n, "exempt", key, sizeof key))
    rc = fail(err, errlen, "caps: unknown key '%s' (caps are a list, and 'exempt')", key);
  if (rc == 0 && n > CFG_CAPS_MAX)
    rc = fail(err, errlen, "caps: at most %d caps", CFG_CAPS_MAX);
  if (rc == 0 && n && !(cfg->caps = calloc(n, sizeof *cfg->caps)))
    rc = fail(err, errlen, "out of memory");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char where[32];
    snprintf(where, sizeof where, "caps[%zu]", i + 1);
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    rc = read_cap(L, where, cfg, &cfg->caps[cfg->n_caps], err, errlen);
    cfg->n_caps += rc == 0;
    lua_pop(L, 1);
  }
  if (rc == 0)
    rc = read_exempt(L, cfg, err, errlen);
  lua_pop(L, 1);
  return rc;
}

/* "21:00" -> minutes of the day; -1 when it is not HH:MM. */
static int minutes_of(const char *s)
{
  unsigned h, m;
  char end;
  if (!s || sscanf(s, "%2u:%2u%c", &h, &m, &end) != 2 || strlen(s) != 5 || h > 23 || m > 59)
    return -1;
  return (int)(h * 60 + m);
}

int cfg_read_quiet(lua_State *L, const char *where, struct cfg_channel *ch, char *err, size_t errlen)
{
  int t = lua_getfield(L, -1, "quiet_hours"), rc = 0;
  ch->quiet_from = ch->quiet_to = -1;
  if (t == LUA_TTABLE) {
    lua_getfield(L, -1, "from");
    lua_getfield(L, -2, "to");
    ch->quiet_from = minutes_of(lua_tostring(L, -2));
    ch->quiet_to = minutes_of(lua_tostring(L, -1));
    lua_pop(L, 2);
    if (ch->quiet_from < 0 || ch->quiet_to < 0 || ch->quiet_from == ch->quiet_to)
      rc = fail(err, errlen, "%s.quiet_hours: 'from' and 'to' must be two different local times \"HH:MM\", "
                             "such as { from = \"21:00\", to = \"08:00\" }", where);
  } else if (t != LUA_TNIL) {
    rc = fail(err, errlen, "%s.quiet_hours: must be a table such as { from = \"21:00\", to = \"08:00\" }", where);
  }
  lua_pop(L, 1);
  return rc;
}

int cfg_read_timezone(lua_State *L, struct cfg *cfg, char *err, size_t errlen)
{
  int t = lua_getfield(L, -1, "timezone"), rc = 0;
  char name[80];
  snprintf(name, sizeof name, "%s", t == LUA_TSTRING ? lua_tostring(L, -1) : "UTC");
  lua_pop(L, 1);
  GTimeZone *tz = t == LUA_TNIL || t == LUA_TSTRING ? zones_get(NULL, name) : NULL;
  if (!tz)
    return fail(err, errlen, "timezone: '%s' is not an IANA time zone the system knows (such as \"Europe/Paris\")",
                t == LUA_TSTRING ? name : "?");
  g_time_zone_unref(tz);
  free(cfg->timezone);
  if (!(cfg->timezone = strdup(name)))
    rc = fail(err, errlen, "out of memory");
  return rc;
}

void cfg_rules_free(struct cfg *cfg)
{
  free(cfg->timezone);
  for (size_t i = 0; i < cfg->n_caps; i++)
    free(cfg->caps[i].channel);
  free(cfg->caps);
  for (size_t i = 0; i < cfg->n_topics; i++)
    free(cfg->topics[i]);
  free(cfg->topics);
  suppress_free(cfg->suppress);
}

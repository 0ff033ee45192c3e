/* Reading the Lua configuration file into struct cfg. The file runs in its own bare Lua
 * state (base library only, no io/os), so a config cannot do more than compute a table. */
#include "cfg.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "srcline.h"
#include "util.h"

#define CFG_MAX_FILE (1024 * 1024)

struct reader {
  lua_State *L;
  char *err;
  size_t errlen;
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct reader *r, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, r->errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* Refuses keys of the table at the top of the stack that are not in `known`, so a typo
 * ("lisen") is an error rather than a silently ignored setting. */
static int check_keys(struct reader *r, const char *where, const char *const *known)
{
  lua_State *L = r->L;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      return fail(r, "%s: keys must be names", where);
    }
    const char *k = lua_tostring(L, -1);
    int ok = 0;
    for (const char *const *p = known; *p; p++)
      ok |= strcmp(*p, k) == 0;
    if (!ok) {
      char key[128];
      snprintf(key, sizeof key, "%s", k);
      lua_pop(L, 1);
      return fail(r, "%s: unknown key '%s'", where, key);
    }
  }
  return 0;
}

/* Field readers: the table is at the top of the stack; absent fields keep the default. */
static int get_str(struct reader *r, const char *where, const char *key, char **out)
{
  int t = lua_getfield(r->L, -1, key);
  int rc = 0;
  if (t == LUA_TSTRING) {
    free(*out);
    *out = strdup(lua_tostring(r->L, -1));
  } else if (t != LUA_TNIL) {
    rc = fail(r, "%s: '%s' must be a string", where, key);
  }
  lua_pop(r->L, 1);
  return rc;
}

static int get_int(struct reader *r, const char *where, const char *key, int64_t min,
                   int64_t *out)
{
  int t = lua_getfield(r->L, -1, key);
  int rc = 0;
  if (t == LUA_TNUMBER && lua_isinteger(r->L, -1) && lua_tointeger(r->L, -1) >= min)
    *out = lua_tointeger(r->L, -1);
  else if (t != LUA_TNIL)
    rc = min > 0 ? fail(r, "%s: '%s' must be a positive integer", where, key)
                 : fail(r, "%s: '%s' must be a non-negative integer", where, key);
  lua_pop(r->L, 1);
  return rc;
}

static int get_size(struct reader *r, const char *where, const char *key, size_t *out)
{
  int64_t v = (int64_t)*out;
  if (get_int(r, where, key, 1, &v) < 0)
    return -1;
  *out = (size_t)v;
  return 0;
}

static int get_bool(struct reader *r, const char *where, const char *key, int *out)
{
  int t = lua_getfield(r->L, -1, key);
  int rc = 0;
  if (t == LUA_TBOOLEAN)
    *out = lua_toboolean(r->L, -1);
  else if (t != LUA_TNIL)
    rc = fail(r, "%s: '%s' must be true or false", where, key);
  lua_pop(r->L, 1);
  return rc;
}

static int get_duration(struct reader *r, const char *where, const char *key, int64_t *ms)
{
  int t = lua_getfield(r->L, -1, key);
  int rc = 0;
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    char derr[160];
    if (duration_parse(lua_tostring(r->L, -1), ms, derr, sizeof derr) < 0)
      rc = fail(r, "%s: %s", where, derr);
  } else if (t != LUA_TNIL) {
    rc = fail(r, "%s: '%s' must be a duration such as \"5s\"", where, key);
  }
  lua_pop(r->L, 1);
  return rc;
}

/* Opens sub-table `key` (pushed, or an empty table when absent). */
static int open_table(struct reader *r, const char *where, const char *key)
{
  int t = lua_getfield(r->L, -1, key);
  if (t == LUA_TNIL) {
    lua_pop(r->L, 1);
    lua_newtable(r->L);
  } else if (t != LUA_TTABLE) {
    lua_pop(r->L, 1);
    return fail(r, "%s: '%s' must be a table", where, key);
  }
  return 0;
}

static cJSON *to_json(struct reader *r, const char *where, int depth);

/* The table on top of the stack is a list ({ "a", "b" }: keys 1..n and no other), which
 * becomes a JSON array; returns 0 when it is not one. {} stays an (empty) table. */
static int is_list(lua_State *L)
{
  size_t n = lua_rawlen(L, -1), keys = 0;
  if (n == 0)
    return 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    keys++;
  }
  return keys == n;
}

static cJSON *list_to_json(struct reader *r, const char *where, int depth)
{
  lua_State *L = r->L;
  size_t n = lua_rawlen(L, -1);
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 1; arr && i <= n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i);
    cJSON *v = to_json(r, where, depth + 1);
    lua_pop(L, 1);
    if (!v) {
      cJSON_Delete(arr);
      return NULL;
    }
    cJSON_AddItemToArray(arr, v);
  }
  return arr;
}

/* Converts the Lua value on top of the stack into JSON (settings and journey params): a
 * list becomes an array, another table an object whose keys must be names. */
static cJSON *to_json(struct reader *r, const char *where, int depth)
{
  lua_State *L = r->L;
  switch (lua_type(L, -1)) {
  case LUA_TSTRING:
    return cJSON_CreateString(lua_tostring(L, -1));
  case LUA_TBOOLEAN:
    return cJSON_CreateBool(lua_toboolean(L, -1));
  case LUA_TNUMBER:
    return cJSON_CreateNumber(lua_tonumber(L, -1));
  case LUA_TTABLE:
    break;
  default:
    fail(r, "%s: values must be strings, numbers, booleans or tables (got %s)", where,
         luaL_typename(L, -1));
    return NULL;
  }
  if (depth > 8) {
    fail(r, "%s: nested too deeply", where);
    return NULL;
  }
  if (is_list(L))
    return list_to_json(r, where, depth);
  cJSON *obj = cJSON_CreateObject();
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 2);
      cJSON_Delete(obj);
      fail(r, "%s: keys must be names (or the table a list such as { \"a\", \"b\" })", where);
      return NULL;
    }
    cJSON *v = to_json(r, where, depth + 1);
    if (!v) {
      lua_pop(L, 2);
      cJSON_Delete(obj);
      return NULL;
    }
    cJSON_AddItemToObject(obj, lua_tostring(L, -2), v);
    lua_pop(L, 1);
  }
  return obj;
}

static const char *default_address_attr(const char *channel)
{
  if (strcmp(channel, "sms") == 0 || strcmp(channel, "call") == 0)
    return "phone";
  if (strcmp(channel, "push") == 0)
    return "devices"; /* a map of push token -> device (devices.h) */
  return channel; /* "email" -> profile.email */
}

/* suppress_on = { "invalid_address", ... }: which permanent failures of a send suppress
 * the contact's address on this channel (cfg.h). Taken out of the table, so the plugin's
 * settings never see it. */
static int read_suppress_on(struct reader *r, const char *where, struct cfg_channel *ch)
{
  static const char *const names[] = {"invalid_address", "unsubscribed", "blocked", NULL};
  static const enum parley_fail_reason reasons[] = {PARLEY_FAIL_INVALID_ADDRESS, PARLEY_FAIL_UNSUBSCRIBED,
                                                    PARLEY_FAIL_BLOCKED};
  lua_State *L = r->L;
  ch->suppress_on = CFG_SUPPRESS_DEFAULT;
  int t = lua_getfield(L, -1, "suppress_on");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  size_t n = t == LUA_TTABLE ? lua_rawlen(L, -1) : 0, keys = 0;
  if (t == LUA_TTABLE)
    for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
      keys++;
  if (t != LUA_TTABLE || keys != n) {
    lua_pop(L, 1);
    return fail(r, "%s: 'suppress_on' must be a list of reasons such as { \"invalid_address\" } (or {})", where);
  }
  ch->suppress_on = 0;
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i);
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    size_t k = 0;
    while (names[k] && strcmp(names[k], v) != 0)
      k++;
    lua_pop(L, 1);
    if (!names[k]) {
      lua_pop(L, 1);
      return fail(r, "%s: suppress_on[%zu] must be \"invalid_address\", \"unsubscribed\" or \"blocked\"",
                  where, i);
    }
    ch->suppress_on |= 1u << reasons[k];
  }
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, -2, "suppress_on");
  return 0;
}

/* rate, burst and max_in_flight are the core's keys, read and taken out before the
 * plugin's spec sees the settings. */
static int read_flow(struct reader *r, const char *where, struct cfg_channel *ch)
{
  int t = lua_getfield(r->L, -1, "rate");
  double rate = lua_tonumber(r->L, -1);
  lua_pop(r->L, 1);
  if (t != LUA_TNIL && (t != LUA_TNUMBER || !(rate > 0 && rate <= 1e6)))
    return fail(r, "%s: 'rate' must be a number of messages per second above 0 (at most 1e6)", where);
  ch->rate = t == LUA_TNIL ? 0 : rate;
  ch->burst = 0;
  ch->max_in_flight = CFG_MAX_IN_FLIGHT_DEFAULT;
  if (get_int(r, where, "burst", 1, &ch->burst) < 0 ||
      get_int(r, where, "max_in_flight", 1, &ch->max_in_flight) < 0)
    return -1;
  if (ch->burst > 1000000 || ch->max_in_flight > 1000000)
    return fail(r, "%s: '%s' must be at most 1000000", where, ch->burst > 1000000 ? "burst" : "max_in_flight");
  if (ch->burst > 0 && ch->rate == 0)
    return fail(r, "%s: 'burst' needs a 'rate'", where);
  if (ch->burst == 0) /* rate rounded up, at least 1 */
    ch->burst = ch->rate > 1 ? (int64_t)ceil(ch->rate) : 1;
  return 0;
}

static int read_channel(struct reader *r, const struct cfg *cfg, const char *name, struct cfg_channel *ch)
{
  char where[160];
  snprintf(where, sizeof where, "channels.%s", name);
  if (lua_type(r->L, -1) != LUA_TTABLE)
    return fail(r, "%s: must be a table such as { plugin = \"file\" }", where);
  ch->name = strdup(name);
  if (get_str(r, where, "plugin", &ch->plugin) < 0 || get_str(r, where, "address", &ch->address_attr) < 0)
    return -1;
  if (!ch->plugin)
    return fail(r, "%s: 'plugin' is required (the plugin serving this channel)", where);
  if (!ch->address_attr)
    ch->address_attr = strdup(default_address_attr(name));
  if (read_suppress_on(r, where, ch) < 0 || read_flow(r, where, ch) < 0 ||
      cfg_read_consent(r->L, where, cfg, ch, r->err, r->errlen) < 0 ||
      cfg_read_quiet(r->L, where, ch, r->err, r->errlen) < 0 || !(ch->settings = to_json(r, where, 0)))
    return -1;
  static const char *const core_keys[] = {"plugin", "address", "rate", "burst", "max_in_flight", "consent", "quiet_hours"};
  for (size_t i = 0; i < sizeof core_keys / sizeof core_keys[0]; i++)
    cJSON_DeleteItemFromObject(ch->settings, core_keys[i]);
  return 0;
}

static int read_channels(struct reader *r, struct cfg *cfg)
{
  if (open_table(r, "config", "channels") < 0)
    return -1;
  size_t n = 0;
  lua_pushnil(r->L);
  while (lua_next(r->L, -2)) {
    lua_pop(r->L, 1);
    n++;
  }
  cfg->channels = calloc(n ? n : 1, sizeof *cfg->channels);
  lua_pushnil(r->L);
  while (lua_next(r->L, -2)) {
    if (lua_type(r->L, -2) != LUA_TSTRING) {
      lua_pop(r->L, 3);
      return fail(r, "channels: keys must be channel names such as email");
    }
    if (read_channel(r, cfg, lua_tostring(r->L, -2), &cfg->channels[cfg->n_channels++]) < 0) {
      lua_pop(r->L, 3);
      return -1;
    }
    lua_pop(r->L, 1);
  }
  lua_pop(r->L, 1);
  return 0;
}

static int read_http(struct reader *r, struct cfg *cfg)
{
  static const char *const keys[] = {"auth", "public_healthz", "public_metrics", "max_connections",
                                     "max_connections_per_address", "header_timeout", "body_timeout",
                                     "idle_timeout", NULL};
  struct cfg_http *h = &cfg->http;
  char *auth = NULL;
  if (open_table(r, "config", "http") < 0)
    return -1;
  int rc = -1;
  if (check_keys(r, "http", keys) < 0 || get_str(r, "http", "auth", &auth) < 0 ||
      get_bool(r, "http", "public_healthz", &h->public_healthz) < 0 ||
      get_bool(r, "http", "public_metrics", &h->public_metrics) < 0 ||
      get_size(r, "http", "max_connections", &h->max_connections) < 0 ||
      get_size(r, "http", "max_connections_per_address", &h->max_connections_per_address) < 0 ||
      get_duration(r, "http", "header_timeout", &h->header_timeout_ms) < 0 ||
      get_duration(r, "http", "body_timeout", &h->body_timeout_ms) < 0 ||
      get_duration(r, "http", "idle_timeout", &h->idle_timeout_ms) < 0)
    goto out;
  if (auth && strcmp(auth, "tokens") != 0 && strcmp(auth, "none") != 0) {
    fail(r, "http: auth '%s' is not one of tokens, none", auth);
    goto out;
  }
  if (auth)
    h->auth_none = strcmp(auth, "none") == 0;
  if (h->header_timeout_ms <= 0 || h->body_timeout_ms <= 0 || h->idle_timeout_ms <= 0) {
    fail(r, "http: header_timeout, body_timeout and idle_timeout must be longer than 0");
    goto out;
  }
  lua_pop(r->L, 1);
  rc = 0;
out:
  free(auth);
  return rc;
}

/* http_client = { ca_file = "/etc/parley/private-ca.pem" }: more trust anchors for the
 * plugins' HTTP client. The file is checked here so a typo stops the start with its
 * name, not the first delivery with a TLS error. */
static int read_http_client(struct reader *r, struct cfg *cfg)
{
  static const char *const keys[] = {"ca_file", NULL};
  char **ca = &cfg->http_client.ca_file;
  if (open_table(r, "config", "http_client") < 0 || check_keys(r, "http_client", keys) < 0 ||
      get_str(r, "http_client", "ca_file", ca) < 0)
    return -1;
  lua_pop(r->L, 1);
  if (*ca && access(*ca, R_OK) != 0)
    return fail(r, "http_client: ca_file '%s' cannot be read: %s", *ca, strerror(errno));
  return 0;
}

/* A retention: a duration longer than 0, or false for "kept for ever" (stored as 0). */
static int get_retention(struct reader *r, const char *key, int64_t *ms)
{
  int t = lua_getfield(r->L, -1, key);
  int off = t == LUA_TBOOLEAN && !lua_toboolean(r->L, -1);
  lua_pop(r->L, 1);
  if (off) {
    *ms = 0;
    return 0;
  }
  if (get_duration(r, "retention", key, ms) < 0)
    return -1;
  if (*ms <= 0)
    return fail(r, "retention: '%s' must be longer than 0, or false to keep for ever", key);
  return 0;
}

static int read_retention(struct reader *r, struct cfg *cfg)
{
  static const char *const keys[] = {"conversations", "history", NULL};
  if (open_table(r, "config", "retention") < 0)
    return -1;
  if (check_keys(r, "retention", keys) < 0 || get_retention(r, "conversations", &cfg->retention.conversations_ms) < 0 ||
      get_retention(r, "history", &cfg->retention.history_ms) < 0)
    return -1;
  lua_pop(r->L, 1);
  return 0;
}

int cfg_is_loopback(const char *address)
{
  unsigned char a[16];
  if (inet_pton(AF_INET, address, a) == 1)
    return a[0] == 127;
  static const unsigned char one[16] = {[15] = 1};
  return inet_pton(AF_INET6, address, a) == 1 && memcmp(a, one, 16) == 0;
}

static int read_sections(struct reader *r, struct cfg *cfg)
{
  int64_t v;
  if (open_table(r, "config", "listen") < 0)
    return -1;
  static const char *const listen_keys[] = {"address", "port", NULL};
  v = cfg->listen_port;
  if (check_keys(r, "listen", listen_keys) < 0 || get_str(r, "listen", "address", &cfg->listen_address) < 0 ||
      get_int(r, "listen", "port", 0, &v) < 0)
    return -1;
  if (v > 65535)
    return fail(r, "listen: 'port' must be at most 65535");
  cfg->listen_port = (int)v;
  lua_pop(r->L, 1);

  if (open_table(r, "config", "lua") < 0)
    return -1;
  static const char *const lua_keys[] = {"step_instructions", "step_ms", "memory_mb", "step_speaks",
                                         "message_bytes", "conversation_memory_bytes", NULL};
  int64_t mb = (int64_t)(cfg->lua.memory_bytes >> 20);
  if (check_keys(r, "lua", lua_keys) < 0 ||
      get_int(r, "lua", "step_instructions", 0, &cfg->lua.step_instructions) < 0 ||
      get_int(r, "lua", "step_ms", 0, &cfg->lua.step_ms) < 0 || get_int(r, "lua", "memory_mb", 0, &mb) < 0 ||
      get_size(r, "lua", "step_speaks", &cfg->lua.step_speaks) < 0 ||
      get_size(r, "lua", "message_bytes", &cfg->lua.message_bytes) < 0 ||
      get_size(r, "lua", "conversation_memory_bytes", &cfg->lua.conversation_memory_bytes) < 0)
    return -1;
  cfg->lua.memory_bytes = (size_t)mb << 20;
  lua_pop(r->L, 1);

  if (open_table(r, "config", "limits") < 0)
    return -1;
  static const char *const limit_keys[] = {"body_bytes", "event_bytes", "batch_events", "dedupe_window", "history", NULL};
  if (check_keys(r, "limits", limit_keys) < 0 || get_size(r, "limits", "body_bytes", &cfg->max_body_bytes) < 0 ||
      get_size(r, "limits", "event_bytes", &cfg->max_event_bytes) < 0 ||
      get_size(r, "limits", "batch_events", &cfg->max_batch_events) < 0 ||
      get_size(r, "limits", "dedupe_window", &cfg->dedupe_window) < 0 ||
      get_size(r, "limits", "history", &cfg->history_limit) < 0)
    return -1;
  lua_pop(r->L, 1);

  if (open_table(r, "config", "delivery") < 0)
    return -1;
  static const char *const delivery_keys[] = {"max_attempts", "retry_base", "retry_max", "shutdown_grace", NULL};
  v = cfg->max_attempts;
  if (check_keys(r, "delivery", delivery_keys) < 0 || get_int(r, "delivery", "max_attempts", 1, &v) < 0 ||
      get_duration(r, "delivery", "retry_base", &cfg->retry_base_ms) < 0 ||
      get_duration(r, "delivery", "retry_max", &cfg->retry_max_ms) < 0 ||
      get_duration(r, "delivery", "shutdown_grace", &cfg->shutdown_grace_ms) < 0)
    return -1;
  cfg->max_attempts = (unsigned)v;
  lua_pop(r->L, 1);

  if (read_http(r, cfg) < 0 || read_http_client(r, cfg) < 0 || read_retention(r, cfg) < 0)
    return -1;

  if (open_table(r, "config", "store") < 0)
    return -1;
  static const char *const store_keys[] = {"backend", "map_size_mb", "sync", "sync_interval", NULL};
  mb = (int64_t)(cfg->store_map_bytes >> 20);
  char *sync = NULL;
  if (check_keys(r, "store", store_keys) < 0 || get_str(r, "store", "backend", &cfg->store_backend) < 0 ||
      get_int(r, "store", "map_size_mb", 1, &mb) < 0 || get_str(r, "store", "sync", &sync) < 0 ||
      get_duration(r, "store", "sync_interval", &cfg->store_sync_ms) < 0)
    return free(sync), -1;
  if (strcmp(cfg->store_backend, "lmdb") != 0 && strcmp(cfg->store_backend, "memory") != 0)
    return free(sync), fail(r, "store: backend '%s' is not one of lmdb, memory", cfg->store_backend);
  cfg->store_map_bytes = (size_t)mb << 20;
  if (sync && strcmp(sync, "commit") != 0 && strcmp(sync, "interval") != 0) {
    fail(r, "store: sync '%s' is not one of commit, interval", sync);
    return free(sync), -1;
  }
  if (sync)
    cfg->store_sync_interval = strcmp(sync, "interval") == 0;
  free(sync);
  if (cfg->store_sync_ms < 1 || cfg->store_sync_ms > 10000)
    return fail(r, "store: sync_interval must be between 1ms and 10s");
  lua_pop(r->L, 1);
  return 0;
}

/* An Ed25519 public key as `parley keygen` writes it: exactly 64 hex digits. */
static int is_pubkey(const char *hex, unsigned char out[crypto_sign_PUBLICKEYBYTES])
{
  size_t n = 0;
  return strlen(hex) == 2 * crypto_sign_PUBLICKEYBYTES &&
         sodium_hex2bin(out, crypto_sign_PUBLICKEYBYTES, hex, strlen(hex), NULL, &n, NULL) == 0 &&
         n == crypto_sign_PUBLICKEYBYTES;
}

/* plugin_keys = { "64 hex digits", ... }: the Ed25519 public keys plugins are signed by. */
static int read_plugin_keys(struct reader *r, struct cfg *cfg)
{
  if (open_table(r, "config", "plugin_keys") < 0)
    return -1;
  size_t n = lua_rawlen(r->L, -1);
  cfg->plugin_keys = calloc(n ? n : 1, sizeof *cfg->plugin_keys);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(r->L, -1, (lua_Integer)i);
    const char *hex = lua_tostring(r->L, -1);
    if (lua_type(r->L, -1) != LUA_TSTRING || !is_pubkey(hex, cfg->plugin_keys[i - 1]))
      return fail(r, "plugin_keys[%zu]: not a public key (64 hex digits, as parley keygen writes)", i);
    lua_pop(r->L, 1);
    cfg->n_plugin_keys++;
  }
  lua_pop(r->L, 1);
  return 0;
}

/* plugin_path = { "/opt/acme/parley-plugins", ... }: more folders holding plugins, searched
 * in order before plugin_dir. Only a list: a single string is refused with the form to
 * write, rather than guessed at. */
static int read_plugin_path(struct reader *r, struct cfg *cfg)
{
  lua_State *L = r->L;
  int t = lua_getfield(L, -1, "plugin_path");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TTABLE) {
    fail(r, "config: 'plugin_path' must be a list of folders such as { \"/opt/parley/plugins\" }, not a %s",
         luaL_typename(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  size_t n = lua_rawlen(L, -1), keys = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    keys++;
  }
  if (keys != n) {
    lua_pop(L, 1);
    return fail(r, "config: 'plugin_path' must be a list of folders such as { \"/opt/parley/plugins\" }, "
                   "with no names and no holes");
  }
  cfg->plugin_path = calloc(n ? n : 1, sizeof *cfg->plugin_path);
  for (size_t i = 1; cfg->plugin_path && i <= n; i++) {
    t = lua_rawgeti(L, -1, (lua_Integer)i);
    if (t != LUA_TSTRING || lua_rawlen(L, -1) == 0) {
      if (t == LUA_TSTRING)
        fail(r, "plugin_path[%zu]: the folder name is empty", i);
      else
        fail(r, "plugin_path[%zu]: must be a folder name (a string), not a %s", i, luaL_typename(L, -1));
      lua_pop(L, 2);
      return -1;
    }
    if (!(cfg->plugin_path[cfg->n_plugin_path] = strdup(lua_tostring(L, -1))))
      break;
    cfg->n_plugin_path++;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (cfg->n_plugin_path != n)
    return fail(r, "plugin_path: out of memory");
  return 0;
}

static int read_top(struct reader *r, struct cfg *cfg)
{
  static const char *const top_keys[] = {"listen", "data_dir", "plugin_dir", "plugin_path", "journeys_dir", "sdk_dir",
                                         "log_level", "lua", "limits", "delivery", "store", "channels", "http", "http_client", "retention",
                                         "journey_params", "plugin_keys", "topics", "caps", "timezone", "suppress",
                                         "attribution_window", NULL};
  char *level = NULL;
  if (check_keys(r, "config", top_keys) < 0 || get_str(r, "config", "data_dir", &cfg->data_dir) < 0 ||
      get_str(r, "config", "plugin_dir", &cfg->plugin_dir) < 0 ||
      get_str(r, "config", "journeys_dir", &cfg->journeys_dir) < 0 ||
      get_str(r, "config", "sdk_dir", &cfg->sdk_dir) < 0 || get_str(r, "config", "log_level", &level) < 0 ||
      get_duration(r, "config", "attribution_window", &cfg->attribution_window_ms) < 0)
    goto fail;
  if (level && log_level_parse(level, &cfg->log_level) < 0) {
    fail(r, "config: log_level '%s' is not one of debug, info, warn, error", level);
    goto fail;
  }
  free(level);
  level = NULL;
  if (read_sections(r, cfg) < 0 || cfg_read_topics(r->L, cfg, r->err, r->errlen) < 0 || read_channels(r, cfg) < 0 ||
      cfg_read_caps(r->L, cfg, r->err, r->errlen) < 0 || cfg_read_timezone(r->L, cfg, r->err, r->errlen) < 0 ||
      cfg_read_suppress(r->L, cfg, r->err, r->errlen) < 0)
    goto fail;
  if (cfg->http.auth_none && !cfg_is_loopback(cfg->listen_address)) {
    fail(r, "http: auth = \"none\" is only allowed on a loopback address, and listen.address is '%s': "
            "use auth = \"tokens\" (parley token create), or listen on 127.0.0.1",
         cfg->listen_address);
    goto fail;
  }
  if (open_table(r, "config", "journey_params") < 0 || !(cfg->journey_params = to_json(r, "journey_params", 0)))
    goto fail;
  lua_pop(r->L, 1);
  if (read_plugin_keys(r, cfg) < 0 || read_plugin_path(r, cfg) < 0)
    goto fail;
  return 0;
fail:
  free(level);
  return -1;
}

/* What is left of `path` below `prefix` ("/lib/parley"), or NULL when it is not below it. */
static const char *below(const char *path, const char *prefix)
{
  size_t n = strlen(prefix);
  while (n > 0 && prefix[n - 1] == '/')
    n--;
  return strncmp(path, prefix, n) == 0 && path[n] == '/' ? path + n : NULL;
}

/* Is `path` a folder? */
static int is_dir(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where Parley's own files are (the shipped plugins, journeys and Lua SDK) when the
 * configuration does not say, found from the folder of the running binary:
 *  - <P>/bin (bindir below the prefix, as configure laid it out) with <P>/share/parley
 *    beside it: installed under P, so <P>/lib/parley, <P>/share/parley/journeys,
 *    <P>/share/parley/lua. P is where the binary is, not only the configured prefix, so a
 *    staged install (DESTDIR) or a whole prefix moved elsewhere finds its own files;
 *  - inside the build tree it was built in (core/parley, the test programs): that tree's
 *    plugins/, scripts/journeys and sdk/lua;
 *  - anywhere else (the binary copied on its own): the folders configure named.
 * So the embedded default names none of them, and an installed binary never reads the
 * build tree, which may be gone. */
static void default_dirs(struct cfg *cfg)
{
  char exe[PATH_MAX], tree[PATH_MAX], lib[PATH_MAX], journeys[PATH_MAX], sdk[PATH_MAX];
  const char *bin_rel = below(PARLEY_BINDIR, PARLEY_PREFIX);
  const char *lib_rel = below(PARLEY_PKGLIBDIR, PARLEY_PREFIX);
  const char *data_rel = below(PARLEY_PKGDATADIR, PARLEY_PREFIX);
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash = NULL;
  if (n > 0) {
    exe[n] = '\0';
    slash = strrchr(exe, '/');
  }
  snprintf(lib, sizeof lib, "%s", PARLEY_PKGLIBDIR);
  snprintf(journeys, sizeof journeys, "%s/journeys", PARLEY_PKGDATADIR);
  snprintf(sdk, sizeof sdk, "%s/lua", PARLEY_PKGDATADIR);
  if (slash) {
    *slash = '\0'; /* the binary's folder */
    size_t e = strlen(exe), b = bin_rel ? strlen(bin_rel) : 0;
    char data[PATH_MAX];
    if (bin_rel && lib_rel && data_rel && e >= b && strcmp(exe + e - b, bin_rel) == 0 &&
        snprintf(data, sizeof data, "%.*s%s", (int)(e - b), exe, data_rel) > 0 && is_dir(data)) {
      exe[e - b] = '\0'; /* the prefix it is installed in */
      snprintf(lib, sizeof lib, "%s%s", exe, lib_rel);
      snprintf(journeys, sizeof journeys, "%s%s/journeys", exe, data_rel);
      snprintf(sdk, sizeof sdk, "%s%s/lua", exe, data_rel);
    } else if (realpath(PARLEY_BUILDDIR, tree) && (strcmp(exe, tree) == 0 || below(exe, tree))) {
      snprintf(lib, sizeof lib, "%s/plugins", PARLEY_BUILDDIR);
      snprintf(journeys, sizeof journeys, "%s/scripts/journeys", PARLEY_SRCDIR);
      snprintf(sdk, sizeof sdk, "%s/sdk/lua", PARLEY_SRCDIR);
    }
  }
  cfg->plugin_dir = strdup(lib);
  cfg->journeys_dir = strdup(journeys);
  cfg->sdk_dir = strdup(sdk);
}

static void set_defaults(struct cfg *cfg)
{
  cfg->listen_address = strdup("127.0.0.1");
  cfg->listen_port = 8025;
  cfg->data_dir = strdup("./var");
  default_dirs(cfg);
  cfg->log_level = LOG_INFO;
  cfg->store_backend = strdup("lmdb");
  cfg->store_map_bytes = (size_t)4096 << 20;
  cfg->store_sync_ms = 10;
  cfg->lua.step_instructions = 10 * 1000 * 1000;
  cfg->lua.step_ms = 250;
  cfg->lua.memory_bytes = (size_t)64 << 20;
  cfg->lua.step_speaks = 20;
  cfg->lua.message_bytes = 256u << 10;
  cfg->lua.conversation_memory_bytes = 256u << 10;
  cfg->http.public_healthz = 1;
  cfg->http.public_metrics = 1;
  cfg->http.max_connections = 4096;
  cfg->http.max_connections_per_address = 64;
  cfg->http.header_timeout_ms = 10 * 1000;
  cfg->http.body_timeout_ms = 30 * 1000;
  cfg->http.idle_timeout_ms = 30 * 1000;
  cfg->retention.conversations_ms = (int64_t)90 * 24 * 3600 * 1000;
  cfg->retention.history_ms = (int64_t)365 * 24 * 3600 * 1000;
  cfg->max_body_bytes = 1u << 20;
  cfg->max_event_bytes = 64u << 10;
  cfg->max_batch_events = 1000;
  cfg->dedupe_window = 1000000;
  cfg->history_limit = 100;
  cfg->max_attempts = 8;
  cfg->retry_base_ms = 1000;
  cfg->retry_max_ms = 3600 * 1000;
  cfg->shutdown_grace_ms = 5000;
  cfg->attribution_window_ms = (int64_t)7 * 24 * 3600 * 1000;
}

/* env(name): configuration may read the environment (ports, secrets) but nothing else. */
static int l_env(lua_State *L)
{
  const char *v = getenv(luaL_checkstring(L, 1));
  if (v)
    lua_pushstring(L, v);
  else
    lua_pushvalue(L, 2); /* default, or nil */
  return 1;
}

/* The configuration's own budget. A configuration computes a table; it has no reason to
 * run long or grow large, and `parley check` must answer whatever the file does. */
#define CFG_MAX_INSTRUCTIONS 50000000
#define CFG_MAX_MEMORY (64u << 20)
#define CFG_HOOK_EVERY 10000

struct cfg_alloc {
  size_t used;
};

static void *cfg_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize)
{
  struct cfg_alloc *a = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    a->used -= old;
    return NULL;
  }
  if (nsize > old && a->used - old + nsize > CFG_MAX_MEMORY)
    return NULL;
  void *np = realloc(ptr, nsize);
  if (np)
    a->used = a->used - old + nsize;
  return np;
}

/* Counts instructions; once over, fires on every one so a pcall loop cannot outlast it. */
static void cfg_hook(lua_State *L, lua_Debug *ar)
{
  int64_t *count = *(int64_t **)lua_getextraspace(L);
  (void)ar;
  *count += CFG_HOOK_EVERY;
  if (*count > CFG_MAX_INSTRUCTIONS) {
    lua_sethook(L, cfg_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "the configuration ran more than %d instructions", CFG_MAX_INSTRUCTIONS);
  }
}

/* Keeps from each library what cannot loop inside C out of the hook's sight: no
 * metatables (so no finalizer, which Lua runs with hooks off, and no metamethod behind a
 * C loop), no string.rep and no patterns (they backtrack in C). */
static void config_libraries(lua_State *L)
{
  static const char *const drop[] = {"dofile", "loadfile", "load", "require", "collectgarbage",
                                     "setmetatable", NULL};
  static const char *const drop_string[] = {"rep", "find", "match", "gmatch", "gsub", "dump", NULL};
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_pop(L, 4);
  for (const char *const *p = drop; *p; p++) {
    lua_pushnil(L);
    lua_setglobal(L, *p);
  }
  lua_getglobal(L, LUA_STRLIBNAME);
  for (const char *const *p = drop_string; *p; p++) {
    lua_pushnil(L);
    lua_setfield(L, -2, *p);
  }
  lua_pop(L, 1);
}

static lua_State *config_state(struct cfg_alloc *a, int64_t *count)
{
  lua_State *L = lua_newstate(cfg_alloc_fn, a);
  if (!L)
    return NULL;
  *(int64_t **)lua_getextraspace(L) = count;
  config_libraries(L);
  lua_pushliteral(L, PARLEY_SRCDIR);
  lua_setglobal(L, "srcdir");
  lua_pushliteral(L, PARLEY_BUILDDIR);
  lua_setglobal(L, "builddir");
  lua_pushcfunction(L, l_env);
  lua_setglobal(L, "env");
  return L;
}

int cfg_load_string(const char *src, size_t len, const char *name, struct cfg **out, char *err,
                    size_t errlen)
{
  struct cfg *cfg = calloc(1, sizeof *cfg);
  struct cfg_alloc alloc = {0};
  int64_t count = 0;
  struct reader r = {config_state(&alloc, &count), err, errlen};
  char chunk[256];
  snprintf(chunk, sizeof chunk, "@%s", name);
  if (!cfg || !r.L) {
    snprintf(err, errlen, "%s: out of memory", name);
    goto fail;
  }
  set_defaults(cfg);
  lua_sethook(r.L, cfg_hook, LUA_MASKCOUNT, CFG_HOOK_EVERY);
  if (luaL_loadbufferx(r.L, src, len, chunk, "t") != LUA_OK || lua_pcall(r.L, 0, 1, 0) != LUA_OK) {
    const char *m = lua_tostring(r.L, -1);
    snprintf(err, errlen, "%s", m ? m : "the configuration raised a non-string error");
    goto fail;
  }
  lua_sethook(r.L, NULL, 0, 0);
  if (!lua_istable(r.L, -1)) {
    snprintf(err, errlen, "%s: the file must return a table", name);
    goto fail;
  }
  if (read_top(&r, cfg) < 0) { /* "caps[1]: ..." at the line that wrote caps */
    char inner[512], path[128];
    snprintf(inner, sizeof inner, "%s", err);
    int line = srcline_path(inner, path, sizeof path) ? srcline_find(src, len, NULL, path) : 0;
    if (line > 0)
      snprintf(err, errlen, "%s:%d: %s", name, line, inner);
    else
      snprintf(err, errlen, "%s: %s", name, inner);
    goto fail;
  }
  lua_close(r.L);
  *out = cfg;
  return 0;
fail:
  if (r.L)
    lua_close(r.L);
  cfg_free(cfg);
  return -1;
}

int cfg_load_file(const char *path, struct cfg **out, char *err, size_t errlen)
{
  size_t n;
  char *buf = util_read_file(path, CFG_MAX_FILE, &n, err, errlen);
  if (!buf)
    return -1;
  int rc = cfg_load_string(buf, n, path, out, err, errlen);
  free(buf);
  return rc;
}

struct cfg *cfg_load(const char *path, char *err, size_t errlen)
{
  struct cfg *cfg = NULL;
  int rc = path ? cfg_load_file(path, &cfg, err, errlen)
                : cfg_load_string(parley_default_conf, strlen(parley_default_conf),
                                  "embedded default config", &cfg, err, errlen);
  return rc == 0 ? cfg : NULL;
}

void cfg_free(struct cfg *cfg)
{
  if (!cfg)
    return;
  free(cfg->listen_address);
  free(cfg->data_dir);
  free(cfg->plugin_dir);
  free(cfg->http_client.ca_file);
  for (size_t i = 0; i < cfg->n_plugin_path; i++)
    free(cfg->plugin_path[i]);
  free(cfg->plugin_path);
  free(cfg->journeys_dir);
  free(cfg->sdk_dir);
  free(cfg->store_backend);
  for (size_t i = 0; i < cfg->n_channels; i++) {
    free(cfg->channels[i].name);
    free(cfg->channels[i].plugin);
    free(cfg->channels[i].address_attr);
    cJSON_Delete(cfg->channels[i].settings);
  }
  free(cfg->channels);
  cfg_rules_free(cfg);
  cJSON_Delete(cfg->journey_params);
  free(cfg->plugin_keys);
  free(cfg);
}

const struct cfg_channel *cfg_channel_find(const struct cfg *cfg, const char *name)
{
  for (size_t i = 0; i < cfg->n_channels; i++)
    if (strcmp(cfg->channels[i].name, name) == 0)
      return &cfg->channels[i];
  return NULL;
}

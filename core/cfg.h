/* Configuration: a Lua file that returns a table (scripts/parley.conf.lua is the embedded
 * default). It is evaluated in a bare Lua state with `srcdir`, `builddir` and `env(name)`,
 * then checked key by key: an unknown key, a wrong type or a bad value is refused with a
 * message naming the key.
 *
 * plugin_dir, journeys_dir and sdk_dir, when the file leaves them out, are Parley's own
 * folders found from where the running binary is (cfg.c, default_dirs): under the prefix
 * it is installed in, or in the build tree it was built in. */
#ifndef PARLEY_CFG_H
#define PARLEY_CFG_H
#include <stddef.h>
#include <stdint.h>
#include <parley/plugin.h>

#include "log.h"

typedef struct cJSON cJSON;
struct suppress_set;

struct cfg_channel {
  char *name;         /* "email" */
  char *plugin;       /* "file" */
  char *address_attr; /* profile attribute holding the address ("email", "phone") */
  unsigned suppress_on; /* 1 << enum parley_fail_reason: the permanent failures of a send
                           that suppress the contact's address on this channel */
  cJSON *settings;    /* the rest, for the plugin's config spec */
  /* Flow control, the core's (outbox.h): never more than `rate` messages a second (0:
   * unlimited) with bursts of `burst`, nor more than `max_in_flight` held by the plugin. */
  double rate;
  int64_t burst;
  int64_t max_in_flight;
  /* Consent (cfg_rules.c): bit k set when topic k of cfg->topics needs the contact's
   * explicit opt-in on this channel; clear: the contact is in unless opted out. */
  unsigned opt_in_topics;
  /* Quiet hours (cfg_rules.c), minutes of the contact's local day: a message spoken from
   * quiet_from to quiet_to waits until quiet_to; -1: none. */
  int quiet_from, quiet_to;
};

/* Topics every configuration has: the default of a message, and the one no consent rule
 * nor opt-out holds back (suppressions still do). */
#define CFG_TOPIC_MARKETING "marketing"
#define CFG_TOPIC_TRANSACTIONAL "transactional"
#define CFG_TOPICS_MAX 32
#define CFG_CAPS_MAX 16

/* A fatigue cap: at most `max` counted messages on `channel` (NULL: on every channel)
 * within any `per_ms` (gate.c). */
struct cfg_cap {
  char *channel;
  int64_t max;
  int64_t per_ms;
};

/* A channel that names no suppress_on: an address that does not exist, or whose owner
 * opted out with the provider, is not tried again. */
#define CFG_SUPPRESS_DEFAULT ((1u << PARLEY_FAIL_INVALID_ADDRESS) | (1u << PARLEY_FAIL_UNSUBSCRIBED))
/* max_in_flight when a channel does not say. */
#define CFG_MAX_IN_FLIGHT_DEFAULT 100

/* The sandbox of every journey (handed to the Lua host as struct lhost_limits). */
struct cfg_lua {
  int64_t step_instructions; /* Lua VM instructions per step; 0: unlimited */
  int64_t step_ms;           /* wall time per step, monotonic; 0: unlimited */
  size_t memory_bytes;       /* allocation cap per Lua state; 0: unlimited */
  size_t step_speaks;        /* c:speak calls per step */
  size_t message_bytes;      /* one rendered message (subject, text and HTML) */
  size_t conversation_memory_bytes; /* c.memory, encoded */
};

/* The HTTP server: who may call it, and how long a client may hold a connection. */
struct cfg_http {
  int auth_none;            /* 1: no tokens asked (refused unless listening on loopback) */
  int public_healthz;       /* /healthz answers without a token */
  int public_metrics;       /* /metrics answers without a token */
  size_t max_connections;   /* open connections in all */
  size_t max_connections_per_address; /* open connections from one client address */
  int64_t header_timeout_ms; /* from a request's first byte to its last header: absolute */
  int64_t body_timeout_ms;   /* from the last header to the last body byte: absolute */
  int64_t idle_timeout_ms;   /* a kept-alive connection with no request in flight */
};

/* The HTTP client plugins share (and `parley plugin try`'s). */
struct cfg_http_client {
  char *ca_file; /* PEM certificates trusted besides the system's store; NULL: none */
};

/* How long what has ended is kept; 0: for ever. */
struct cfg_retention {
  int64_t conversations_ms; /* an ended conversation, from its end */
  int64_t history_ms;       /* a history entry, from when it was written */
};

struct cfg {
  char *listen_address;
  int listen_port;
  char *data_dir;
  char *plugin_dir;        /* the shipped plugins */
  char **plugin_path;      /* more plugin folders, searched in order before plugin_dir */
  size_t n_plugin_path;
  char *journeys_dir;
  char *sdk_dir;
  enum log_level log_level;
  char *store_backend;     /* "lmdb" (durable, the default) or "memory" */
  size_t store_map_bytes;  /* how large the LMDB file may grow */
  int store_sync_interval; /* store.sync: 0 "commit" (an answer waits for its flush), 1
                              "interval" (answers at commit; flushed every store_sync_ms) */
  int64_t store_sync_ms;   /* store.sync_interval */
  struct cfg_lua lua;
  struct cfg_http http;
  struct cfg_retention retention;
  struct cfg_http_client http_client;
  size_t max_body_bytes;   /* one HTTP request body */
  size_t max_event_bytes;  /* one event (one NDJSON line) */
  size_t max_batch_events; /* events in one request */
  size_t dedupe_window;    /* event ids remembered for de-duplication */
  size_t history_limit;    /* history entries kept per contact and per conversation */
  unsigned max_attempts;   /* delivery attempts before a message is dead-lettered */
  int64_t retry_base_ms;   /* first retry delay; doubles each attempt, with jitter */
  int64_t retry_max_ms;
  int64_t shutdown_grace_ms; /* at a stop, how long sends still with plugins may take to end */
  struct cfg_channel *channels;
  size_t n_channels;
  char **topics;         /* marketing, transactional, then the file's `topics` */
  size_t n_topics;
  struct cfg_cap *caps;  /* `caps` (cfg_rules.c) */
  size_t n_caps;
  unsigned caps_exempt;  /* bit k: topic k is neither counted nor capped */
  int64_t caps_window_ms; /* the longest cap's window: how long a touch is kept */
  char *timezone;        /* a contact's zone when its profile has none (default UTC) */
  int64_t attribution_window_ms; /* a goal is credited to the messages this far back (attrib.h) */
  struct suppress_set *suppress; /* `suppress` (cfg_suppress.c): NULL when there is none */
  cJSON *journey_params; /* { journey = { param = value } } */
  unsigned char (*plugin_keys)[32]; /* trusted Ed25519 keys: plugins must be signed */
  size_t n_plugin_keys;
  int capture;           /* not from the file: `parley test` keeps what channels would send */
  log_sink_fn *log_sink; /* not from the file: where the core's log goes from the start
                            (`parley test`: under the test); NULL: stderr */
  void *log_sink_ud;
};

/* `name` names the source in errors (a path, or "embedded default"). */
int cfg_load_string(const char *src, size_t len, const char *name, struct cfg **out, char *err,
                    size_t errlen);
int cfg_load_file(const char *path, struct cfg **out, char *err, size_t errlen);
/* The file at `path`, or the embedded default when `path` is NULL (what every command's
 * -c means). Returns NULL with err. */
struct cfg *cfg_load(const char *path, char *err, size_t errlen);
void cfg_free(struct cfg *cfg);
/* 127.0.0.0/8 or ::1: only this machine can connect. */
int cfg_is_loopback(const char *address);
const struct cfg_channel *cfg_channel_find(const struct cfg *cfg, const char *name);
/* The index of `topic` in cfg->topics, or -1 when the configuration does not declare it. */
int cfg_topic_index(const struct cfg *cfg, const char *topic);

/* Used by cfg.c while reading (cfg_rules.c), on the table being read at the top of `L`:
 * the configuration's `topics`, and a channel's `consent`. -1 with err. */
struct lua_State;
int cfg_read_topics(struct lua_State *L, struct cfg *cfg, char *err, size_t errlen);
int cfg_read_consent(struct lua_State *L, const char *where, const struct cfg *cfg, struct cfg_channel *ch,
                     char *err, size_t errlen);
int cfg_read_caps(struct lua_State *L, struct cfg *cfg, char *err, size_t errlen);
int cfg_read_quiet(struct lua_State *L, const char *where, struct cfg_channel *ch, char *err, size_t errlen);
int cfg_read_timezone(struct lua_State *L, struct cfg *cfg, char *err, size_t errlen);
/* The `suppress` table, after the channels (cfg_suppress.c). */
int cfg_read_suppress(struct lua_State *L, struct cfg *cfg, char *err, size_t errlen);
/* A key of the table on top of `L` that is neither 1..n nor `named` (a typo), copied into
 * `key`; NULL when there is none. */
const char *cfg_stray_key(struct lua_State *L, size_t n, const char *named, char *key, size_t keylen);
void cfg_rules_free(struct cfg *cfg);

extern const char parley_default_conf[];

#endif

/* Building and running the core: plugins per channel, journeys from the journeys folder,
 * the store, and the loop timers (earliest deadline, earliest retry, acknowledgements,
 * the retention sweep's tick). */
#include "core.h"

#include <assert.h>

#include <cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "zones.h"
#include "conv.h"
#include "deadletter.h"
#include "stats.h"
#include "store/smap.h"
#include "lua/lhost.h"
#include "outbox.h"
#include "plugin/plugin_http.h"
#include "plugin/plugin_load.h"
#include "plugin/plugin_metrics.h"
#include "sweep.h"
#include "syncer.h"

/* The outbox's way to the plugin serving a channel. */
static struct plugin_inst *channel_plugin(void *ud, const char *name)
{
  const struct core *core = ud;
  for (size_t i = 0; i < core->n_channels; i++)
    if (strcmp(core->channels[i].cfg->name, name) == 0)
      return core->channels[i].inst;
  return NULL;
}

static int plugin_contacts_find_env(void *ud, const char *attr, const char *value,
                                    void (*each)(void *arg, const char *id), void *arg, char *err,
                                    size_t errlen)
{
  return addr_find(ud, attr, value, each, arg, err, errlen);
}

static int plugin_emit(void *ud, const char *json, size_t len, char *err, size_t errlen)
{
  return core_emit_event(ud, json, len, err, errlen);
}

/* The outbox's word on how a message ended: a line in the history of the conversation
 * that spoke it and, for a dead letter, the event a journey may fall back on. */
static void msg_ended(void *ud, const struct parley_msg *m, const struct outbox_end *end)
{
  struct core *core = ud;
  const char *tmpl = m->template_name ? m->template_name : "-";
  if (end->delivered) {
    if (m->journey)
      stats_count(core, m->journey, "channel", m->channel, "sent", 1);
    conv_note(core, m->conv_id, "delivered %s/%s id=%s%s%s", m->channel, tmpl, m->id,
              end->provider_id ? " provider=" : "", end->provider_id ? end->provider_id : "");
    return;
  }
  conv_note(core, m->conv_id, "failed %s/%s id=%s: %s", m->channel, tmpl, m->id, end->reason);
  char err[256] = "out of memory", *json = deadletter_event(core, m, end->reason);
  if (!json || core_emit_event(core, json, strlen(json), err, sizeof err) < 0)
    log_kv(&core->log, LOG_WARN, "outbox", "no failed event for a dead letter", "id", m->id,
           "channel", m->channel, "error", err, (char *)NULL);
  cJSON_free(json);
}

int core_emit_event(struct core *core, const char *json, size_t len, char *err, size_t errlen)
{
  struct pending_event *pe = calloc(1, sizeof *pe);
  if (!pe) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (event_parse(json, len, clock_now_ms(&core->clock), &pe->ev, err, errlen) < 0) {
    free(pe);
    return -1;
  }
  /* Applied by core_settle, never from inside a plugin callback: a receipt emitted while
   * a send is running must not re-enter the outbox that called it. The loop's flusher
   * settles before it blocks again, so a receipt waits at most one loop turn. */
  if (core->pending_tail)
    core->pending_tail->next = pe;
  else
    core->pending = pe;
  core->pending_tail = pe;
  return 0;
}

/* A plugin's file: the first folder of plugin_path that holds it, else plugin_dir. */
static int find_plugin(const struct cfg *cfg, const char *name, char *path, size_t pathlen, char *err,
                       size_t errlen)
{
  const char **dirs = calloc(cfg->n_plugin_path + 1, sizeof *dirs);
  if (!dirs) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < cfg->n_plugin_path; i++)
    dirs[i] = cfg->plugin_path[i];
  dirs[cfg->n_plugin_path] = cfg->plugin_dir;
  int rc = plugin_find_in(dirs, cfg->n_plugin_path + 1, name, path, pathlen, err, errlen);
  free(dirs);
  return rc;
}

static int open_channels(struct core *core, char *err, size_t errlen)
{
  struct plugin_env env = {
      .log = &core->log,
      .clock = &core->clock,
      .loop = core->loop,
      .core = core,
      .outbox = &core->outbox,
      .send_done = outbox_send_done,
      .emit_event = plugin_emit,
      .trusted_keys = (const unsigned char(*)[32])core->cfg->plugin_keys,
      .n_trusted_keys = core->cfg->n_plugin_keys,
      .http = core->http,
      .metrics = core->plugin_metrics,
      .contacts_find = plugin_contacts_find_env,
  };
  core->channels = calloc(core->cfg->n_channels ? core->cfg->n_channels : 1, sizeof *core->channels);
  if (core->channels == NULL || (core->loop && core->http == NULL) || core->plugin_metrics == NULL) {
    snprintf(err, errlen, "out of memory opening the channels");
    return -1;
  }
  for (size_t i = 0; i < core->cfg->n_channels; i++) {
    const struct cfg_channel *cc = &core->cfg->channels[i];
    char path[4096], why[1024];
    struct outbox_flow flow = {cc->rate, (unsigned)cc->burst, (unsigned)cc->max_in_flight};
    if (outbox_add_channel(&core->outbox, cc->name, &flow) < 0) {
      snprintf(err, errlen, "out of memory opening the channels");
      return -1;
    }
    if (core->cfg->capture) { /* `parley test`: the channel exists, no plugin serves it */
      core->channels[core->n_channels++].cfg = cc;
      continue;
    }
    if (find_plugin(core->cfg, cc->plugin, path, sizeof path, why, sizeof why) < 0 ||
        plugin_instance_open(&env, cc->name, path, cc->settings, &core->channels[i].inst, why,
                             sizeof why) < 0) {
      snprintf(err, errlen, "channel '%s' (plugin '%s'): %s", cc->name, cc->plugin, why);
      return -1;
    }
    core->channels[i].cfg = cc;
    core->n_channels++;
  }
  return 0;
}

#define CORE_ACK_DELAY 0.05   /* seconds */
#define CORE_SETTLE_ROUNDS 1000 /* receipts applied in one settle, round after round */
#define CORE_FLUSH_ROUNDS 100   /* settle-and-commit rounds in one flush */
#define STR_(x) #x
#define STR(x) STR_(x)
#define CORE_RETRY_COMMIT 1.0 /* seconds between attempts while commits fail */

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
  core_settle(w->data); /* committed by the flusher before the loop blocks again */
}

static void on_ack_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
  core_commit(w->data);
}

/* A virtual clock is swept by hand (sweep_tick); what a tick removes is committed by the
 * flusher, like a deadline's work. */
static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct core *core = w->data;
  if (core->clock.loop)
    sweep_tick(core, SWEEP_TICK_RECORDS);
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
  core_flush(w->data);
}

static int open_store(struct core *core, char *err, size_t errlen)
{
  const struct cfg *cfg = core->cfg;
  if (strcmp(cfg->store_backend, "memory") == 0) {
    core->store = store_mem_open(cfg->dedupe_window);
    if (!core->store)
      snprintf(err, errlen, "out of memory opening the store");
    return core->store ? 0 : -1;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/store", cfg->data_dir);
  /* the daemon flushes on a thread of its own (syncer.h); tools flush at each commit */
  struct store_lmdb_options o = {dir, cfg->store_map_bytes, cfg->dedupe_window, 0, core->loop != NULL};
  core->store = store_lmdb_open(&o, err, errlen);
  return core->store ? 0 : -1;
}

/* On the loop: the flusher reached further, or failed (logged once per episode). */
static void on_durable(void *ud, uint64_t upto, const char *failed)
{
  struct core *core = ud;
  if (failed && !core->flush_failing)
    log_kv(&core->log, LOG_ERROR, "store", "flushing to disk failed: answers wait for a flush that succeeds",
           "error", failed, (char *)NULL);
  else if (!failed && core->flush_failing)
    log_kv(&core->log, LOG_INFO, "store", "flushes succeed again", (char *)NULL);
  core->flush_failing = failed != NULL;
  if (core->durable)
    core->durable(core->durable_ud, failed != NULL);
}

static int start_syncer(struct core *core, char *err, size_t errlen)
{
  if (!core->loop || !core->store->ops->sync)
    return 0;
  struct syncer_env env = {
      .store = core->store,
      .loop = core->loop,
      .interval_ms = core->cfg->store_sync_interval ? core->cfg->store_sync_ms : 0,
      .durable = on_durable,
      .ud = core,
  };
  core->syncer = syncer_start(&env, err, errlen);
  return core->syncer ? 0 : -1;
}

/* Counters survive restarts, so /metrics totals are totals. */
_Static_assert(sizeof(struct core_stats) <= STORE_COUNTERS * sizeof(uint64_t), "counters fit");

static void load_counters(struct core *core)
{
  uint64_t vals[STORE_COUNTERS];
  core->store->ops->counters_get(core->store, vals, STORE_COUNTERS);
  memcpy(&core->stats, vals, sizeof core->stats);
}

static void save_counters(struct core *core)
{
  uint64_t vals[STORE_COUNTERS] = {0};
  memcpy(vals, &core->stats, sizeof core->stats);
  core->store->ops->counters_put(core->store, vals, STORE_COUNTERS);
}

int core_open(struct cfg *cfg, struct ev_loop *loop, struct core **out, char *err, size_t errlen)
{
  if (sodium_init() < 0) {
    snprintf(err, errlen, "libsodium failed to initialise");
    cfg_free(cfg);
    return -1;
  }
  struct core *core = calloc(1, sizeof *core);
  if (!core) {
    snprintf(err, errlen, "out of memory");
    cfg_free(cfg);
    return -1;
  }
  core->cfg = cfg;
  core->loop = loop;
  core->log = (struct log){cfg->log_level, cfg->log_sink, cfg->log_sink_ud};
  clock_init_loop(&core->clock, loop);
  struct outbox_env oenv = {
      .store = NULL, /* set once the store is open */
      .clock = &core->clock,
      .log = &core->log,
      .policy = {cfg->max_attempts, cfg->retry_base_ms, cfg->retry_max_ms},
      .stats = &core->stats.delivery,
      .channel_plugin = channel_plugin,
      .ud = core,
      .ended = msg_ended,
  };
  outbox_init(&core->outbox, &oenv);
  if (loop) /* a client for plugins; curl starts only when one asks */
    core->http = plugin_http_open(loop, &core->log, cfg->http_client.ca_file);
  core->plugin_metrics = plugin_metrics_open();
  core->zones = zones_new();
  ev_timer_init(&core->deadline_timer, on_deadline, 0., 0.);
  ev_timer_init(&core->retry_timer, on_deadline, 0., 0.);
  ev_prepare_init(&core->flusher, on_prepare);
  ev_timer_init(&core->ack_timer, on_ack_timer, CORE_ACK_DELAY, 0.);
  ev_timer_init(&core->sweep_timer, on_sweep, SWEEP_EVERY_S, SWEEP_EVERY_S);
  core->deadline_timer.data = core->retry_timer.data = core->flusher.data = core->ack_timer.data = core;
  core->sweep_timer.data = core;
  if (open_store(core, err, errlen) < 0 || start_syncer(core, err, errlen) < 0)
    goto fail;
  core->outbox.env.store = core->store;
  core->outbox.env.slim_queue = strcmp(cfg->store_backend, "lmdb") == 0;
  const struct cfg *c = core->cfg;
  struct lhost_config lc = {
      .limits = {c->lua.step_instructions, c->lua.step_ms, c->lua.memory_bytes, c->lua.step_speaks,
                 c->lua.message_bytes, c->lua.conversation_memory_bytes},
      .sdk_dir = c->sdk_dir,
      .journeys_dir = c->journeys_dir,
      .params = c->journey_params,
      .log = &core->log,
      /* `parley test` draws the same numbers on every run; the daemon, numbers no one can
       * guess from a conversation id and a time. */
      .random_salt = c->capture ? 0 : (uint64_t)randombytes_random() << 32 | randombytes_random(),
  };
  if (registry_open(&core->registry, core->store, &lc, err, errlen) < 0 ||
      open_channels(core, err, errlen) < 0)
    goto fail;
  int reindexed = addr_reindex(core, err, errlen);
  if (reindexed < 0)
    goto fail;
  if (reindexed)
    log_kv(&core->log, LOG_INFO, "core", "contacts indexed by their channels' addresses", (char *)NULL);
  load_counters(core);
  outbox_restore(&core->outbox);
  core->store->ops->commit(core->store, err, errlen);
  if (core->syncer)
    syncer_want(core->syncer, core->store->ops->committed(core->store));
  ev_prepare_start(loop, &core->flusher);
  if (cfg->retention.conversations_ms > 0 || cfg->retention.history_ms > 0)
    ev_timer_start(loop, &core->sweep_timer);
  *out = core;
  return 0;
fail:
  core_close(core);
  return -1;
}

static void arm(struct core *core, ev_timer *t, int have, int64_t due_ms)
{
  ev_timer_stop(core->loop, t);
  if (!have || core->clock.loop == NULL) /* a virtual clock is moved by hand */
    return;
  double after = (double)(due_ms - clock_now_ms(&core->clock)) / 1000.0;
  if (core->commit_failing && after < CORE_RETRY_COMMIT)
    after = CORE_RETRY_COMMIT; /* the disk is full or failing: try again, but not in a spin */
  ev_timer_set(t, after > 0 ? after : 0., 0.);
  ev_timer_start(core->loop, t);
}

static size_t apply_pending(struct core *core)
{
  size_t n = 0;
  while (core->pending) {
    struct pending_event *pe = core->pending;
    core->pending = pe->next;
    if (!core->pending)
      core->pending_tail = NULL;
    conv_apply_event(core, &pe->ev);
    event_clear(&pe->ev);
    free(pe);
    n++;
  }
  return n;
}

void core_settle(struct core *core)
{
  if (core->settling)
    return;
  core->settling = 1;
  size_t rounds = 0;
  do {
    conv_fire_due(core);
    if (!core->draining)
      outbox_kick(&core->outbox);
  } while (apply_pending(core) > 0 && ++rounds < CORE_SETTLE_ROUNDS);
  if (rounds == CORE_SETTLE_ROUNDS)
    log_kv(&core->log, LOG_WARN, "core", "receipts keep causing receipts: the rest waits a loop turn",
           "rounds", STR(CORE_SETTLE_ROUNDS), (char *)NULL);
  core->settling = 0;
}

void core_hold(struct core *core, int delta)
{
  core->commit_held += delta;
  assert(core->commit_held >= 0);
}

int core_commit(struct core *core)
{
  struct store *st = core->store;
  if (core->commit_held)
    return 1;
  core->must_commit = 0;
  if (core->loop)
    ev_timer_stop(core->loop, &core->ack_timer);
  if (!st->ops->dirty(st) && !outbox_has_fresh(&core->outbox))
    return 0;
  char err[512];
  save_counters(core);
  if (st->ops->commit(st, err, sizeof err) < 0) {
    if (!core->commit_failing)
      log_kv(&core->log, LOG_ERROR, "store", "commit failed, the batch was dropped", "error", err,
             (char *)NULL);
    core->commit_failing = 1;
    outbox_drop_fresh(&core->outbox);
    return -1;
  }
  if (core->commit_failing)
    log_kv(&core->log, LOG_INFO, "store", "commits succeed again", (char *)NULL);
  core->commit_failing = 0;
  if (core->syncer)
    syncer_want(core->syncer, st->ops->committed(st));
  /* Messages go to their plugins at commit, without waiting for the flush: the commit is
   * in the file (a crash of the daemon keeps it); a crash of the machine before the
   * flush may hand such a message over again (delivery is at least once anyway). */
  outbox_promote_fresh(&core->outbox);
  if (!core->draining)
    outbox_kick(&core->outbox);
  return 0;
}

/* Acknowledgements of delivered messages (outbox deletes) need not be durable at once:
 * lost in a crash, they only mean a message is handed over again with its id. So they
 * ride along with the next commit, or go after CORE_ACK_DELAY, and never cost a disk
 * sync of their own while events keep arriving. */
void core_flush(struct core *core)
{
  int round;
  outbox_turn(&core->outbox); /* a backlog is handed over a few hundred per turn */
  for (round = 0; round < CORE_FLUSH_ROUNDS; round++) {
    core_settle(core);
    if (!core->must_commit && !outbox_has_fresh(&core->outbox))
      break;
    if (core_commit(core) != 0)
      break;
  }
  if (round == CORE_FLUSH_ROUNDS)
    log_kv(&core->log, LOG_WARN, "core", "work keeps coming: the rest waits a loop turn", "rounds",
           STR(CORE_FLUSH_ROUNDS), (char *)NULL);
  if (core->store->ops->dirty(core->store) && core->loop && !ev_is_active(&core->ack_timer))
    ev_timer_start(core->loop, &core->ack_timer);
  int64_t due = 0;
  uint64_t id;
  int have = core->store->ops->deadline_next(core->store, &due, &id);
  arm(core, &core->deadline_timer, have, due);
  have = !core->draining && outbox_next_due(&core->outbox, &due); /* stopping: nothing is due */
  arm(core, &core->retry_timer, have, due);
  if (!core->store->ops->dirty(core->store))
    core->store->ops->commit(core->store, NULL, 0); /* ends the read: drops cached records */
}

int core_reload(struct core *core, const char *by)
{
  log_kv(&core->log, LOG_INFO, "core", "reloading journeys", "by", by, (char *)NULL);
  int refused = registry_reload(&core->registry);
  core->must_commit = 1; /* the versions it pinned go with the next commit, not the ack timer */
  return refused;
}

uint64_t core_durable_mark(const struct core *core)
{
  if (!core->syncer || core->cfg->store_sync_interval)
    return 0;
  return core->store->ops->committed(core->store);
}

int core_is_durable(const struct core *core, uint64_t mark)
{
  return mark == 0 || syncer_reached(core->syncer) >= mark;
}

int core_wait_durable(struct core *core, uint64_t mark)
{
  return core_is_durable(core, mark) ? 0 : syncer_wait(core->syncer, mark);
}

void core_drain(struct core *core)
{
  core->draining = 1;
}

size_t core_in_flight(const struct core *core)
{
  return core->outbox.n_sending;
}

void core_close(struct core *core)
{
  if (!core)
    return;
  if (core->loop) {
    ev_timer_stop(core->loop, &core->deadline_timer);
    ev_timer_stop(core->loop, &core->retry_timer);
    ev_prepare_stop(core->loop, &core->flusher);
    ev_timer_stop(core->loop, &core->ack_timer);
    ev_timer_stop(core->loop, &core->sweep_timer);
  }
  assert(core->commit_held == 0); /* a held request is finished before the core closes */
  if (core->store)
    core_commit(core);
  syncer_stop(core->syncer); /* after a last flush of what was committed */
  core->syncer = NULL;
  for (size_t i = 0; i < core->n_channels; i++)
    if (core->channels[i].inst)
      plugin_instance_close(core->channels[i].inst);
  free(core->channels);
  plugin_http_close(core->http); /* after the instances: they cancelled their requests */
  plugin_metrics_close(core->plugin_metrics); /* after the instances: they removed their series */
  zones_free(core->zones);
  if (core->forced_arms)
    smap_free(core->forced_arms, free);
  free(core->forced_arms);
  outbox_close(&core->outbox);
  while (core->pending) {
    struct pending_event *pe = core->pending;
    core->pending = pe->next;
    event_clear(&pe->ev);
    free(pe);
  }
  registry_close(&core->registry);
  if (core->store)
    core->store->ops->close(core->store);
  cfg_free(core->cfg);
  free(core);
}

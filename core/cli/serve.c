/* `parley serve`, the daemon's life cycle around the core (signals, HTTP, reloads), and
 * `parley check`: load the configuration, journeys and plugins but not the store, warn of
 * channels journeys name that the configuration does not define, report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "http/http.h"
#include "lua/lhost.h"
#include "serve.h"

/* The data folder is made on first start, like any daemon's state directory. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "data_dir %s: %s", buf, strerror(errno));
        return -1;
      }
      if (!(*p = c))
        return 0;
    }
  }
}

/* SIGHUP: journeys are loaded again, as POST /v1/admin/reload does (core_reload); what
 * fails to load is refused and logged, and the running version keeps serving. */
static void on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
  core_reload(w->data, "SIGHUP");
}

/* A stop (SIGINT, SIGTERM) in two halves: the HTTP server closes and no message is handed
 * to a plugin any more (core_drain), then the loop runs on until the sends plugins still
 * hold have ended, or delivery.shutdown_grace has passed, or a second signal comes. What
 * is still with a plugin then is abandoned, as plugin.h says: it stays in the store and
 * is handed over again, with its id, at the next start. */
struct stopper {
  struct core *core;
  struct http **http;
  ev_timer grace;
  ev_prepare drained;
  int signals;
};

static void stop_now(struct ev_loop *loop, struct stopper *s, const char *why)
{
  char n[32];
  snprintf(n, sizeof n, "%zu", core_in_flight(s->core));
  if (core_in_flight(s->core) > 0)
    log_kv(&s->core->log, LOG_WARN, "serve", "stopping with sends still with plugins: they are handed over again at "
           "the next start", "in_flight", n, "why", why, (char *)NULL);
  ev_timer_stop(loop, &s->grace);
  ev_prepare_stop(loop, &s->drained);
  ev_break(loop, EVBREAK_ALL);
}

/* Before the loop blocks: nothing left with the plugins? Then what they answered last
 * (and the receipts they emitted) is applied and the loop ends. */
static void on_drained(struct ev_loop *loop, ev_prepare *w, int revents)
{
  struct stopper *s = w->data;
  if (core_in_flight(s->core) > 0)
    return;
  core_flush(s->core);
  stop_now(loop, s, "drained");
}

static void on_grace(struct ev_loop *loop, ev_timer *w, int revents)
{
  stop_now(loop, w->data, "delivery.shutdown_grace passed");
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
  struct stopper *s = w->data;
  const char *sig = w->signum == SIGINT ? "SIGINT" : "SIGTERM";
  if (++s->signals > 1) {
    stop_now(loop, s, "a second signal");
    return;
  }
  char n[32], grace[32];
  snprintf(n, sizeof n, "%zu", core_in_flight(s->core));
  snprintf(grace, sizeof grace, "%lldms", (long long)s->core->cfg->shutdown_grace_ms);
  log_kv(&s->core->log, LOG_INFO, "serve", "stopping", "signal", sig, "in_flight", n, "grace", grace, (char *)NULL);
  http_stop(*s->http);
  *s->http = NULL;
  core_drain(s->core);
  ev_timer_init(&s->grace, on_grace, (ev_tstamp)s->core->cfg->shutdown_grace_ms / 1000.0, 0.0);
  s->grace.data = s;
  ev_timer_start(loop, &s->grace);
  ev_prepare_init(&s->drained, on_drained);
  s->drained.data = s;
  ev_prepare_start(loop, &s->drained);
}

int serve_run(const char *config_path)
{
  char err[8192];
  struct log boot = {.min = LOG_INFO};
  struct cfg *cfg = cfg_load(config_path, err, sizeof err);
  if (!cfg || make_dirs(cfg->data_dir, err, sizeof err) < 0) {
    log_kv(&boot, LOG_ERROR, "serve", "cannot start", "error", err, (char *)NULL);
    cfg_free(cfg);
    return 1;
  }
  struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
  struct core *core;
  if (core_open(cfg, loop, &core, err, sizeof err) < 0) {
    log_kv(&boot, LOG_ERROR, "serve", "cannot start", "error", err, (char *)NULL);
    ev_loop_destroy(loop);
    return 1;
  }
  struct http *http = http_start(core, err, sizeof err);
  if (!http) {
    log_kv(&core->log, LOG_ERROR, "serve", "cannot start", "error", err, (char *)NULL);
    core_close(core);
    ev_loop_destroy(loop);
    return 1;
  }
  char port[16];
  snprintf(port, sizeof port, "%d", http_port(http));
  log_kv(&core->log, LOG_INFO, "serve", "listening", "address", core->cfg->listen_address, "port", port,
         "config", config_path ? config_path : "(embedded default)", "sync",
         core->cfg->store_sync_interval ? "interval" : "commit", (char *)NULL);
  if (core->cfg->http.auth_none)
    log_kv(&core->log, LOG_WARN, "serve",
           "NO AUTHENTICATION (http.auth = \"none\"): every process on this machine can read and write every "
           "contact; for anything but a demo set http.auth = \"tokens\"",
           (char *)NULL);
  ev_signal sig_int, sig_term, sig_hup;
  ev_signal_init(&sig_int, on_signal, SIGINT);
  ev_signal_init(&sig_term, on_signal, SIGTERM);
  ev_signal_init(&sig_hup, on_reload, SIGHUP);
  struct stopper stopper = {.core = core, .http = &http};
  sig_int.data = sig_term.data = &stopper;
  sig_hup.data = core;
  ev_signal_start(loop, &sig_int);
  ev_signal_start(loop, &sig_term);
  ev_signal_start(loop, &sig_hup);
  signal(SIGPIPE, SIG_IGN);
  core_flush(core);
  ev_run(loop, 0);
  ev_signal_stop(loop, &sig_int);
  ev_signal_stop(loop, &sig_term);
  ev_signal_stop(loop, &sig_hup);
  http_stop(http);
  core_close(core);
  ev_loop_destroy(loop);
  log_kv(&boot, LOG_INFO, "serve", "stopped", (char *)NULL);
  return 0;
}

/* The index of the first use of u[i]'s channel. */
static size_t first_use(const struct lhost_channel_use *u, size_t i)
{
  size_t k = 0;
  while (strcmp(u[k].channel, u[i].channel) != 0)
    k++;
  return k;
}

/* The lines where u[i]'s channel is used from u[i] on, "15,16" (cut short if too many). */
static void use_lines(const struct lhost_channel_use *u, size_t n, size_t i, char *buf, size_t len)
{
  size_t at = 0;
  int last = 0;
  buf[0] = '\0';
  for (size_t k = i; k < n; k++) {
    if (strcmp(u[k].channel, u[i].channel) != 0 || u[k].line == last)
      continue;
    int w = snprintf(buf + at, len - at, "%s%d", at ? "," : "", u[k].line);
    if (w < 0 || (size_t)w >= len - at) {
      buf[at] = '\0';
      return;
    }
    at += (size_t)w;
    last = u[k].line;
  }
}

/* A channel a journey names that the configuration does not define would only be refused
 * when a conversation speaks on it: say so now, once per channel and journey, with the
 * lines. Returns how many warnings. */
static size_t warn_unknown_channels(struct core *core, const struct jslot *slot, const struct log *lg)
{
  struct lhost_channel_use *u;
  size_t n, warned = 0;
  char lines[256];
  if (lhost_journey_channels(slot->j, &u, &n) < 0) {
    log_kv(lg, LOG_WARN, "check", "out of memory scanning the journey for channels", "journey",
           slot->path, (char *)NULL);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (cfg_channel_find(core->cfg, u[i].channel) || first_use(u, i) != i)
      continue;
    use_lines(u, n, i, lines, sizeof lines);
    log_kv(lg, LOG_WARN, "check", "journey speaks on a channel the configuration does not define",
           "journey", slot->path, "line", lines, "channel", u[i].channel, (char *)NULL);
    warned++;
  }
  lhost_channel_uses_free(u, n);
  return warned;
}

int serve_check(const char *config_path)
{
  char err[8192];
  struct log lg = {.min = LOG_INFO};
  struct cfg *cfg = cfg_load(config_path, err, sizeof err);
  if (!cfg) {
    log_kv(&lg, LOG_ERROR, "check", "config refused", "error", err, (char *)NULL);
    return 1;
  }
  /* A check reads configuration, journeys and plugins; it never touches the data. */
  free(cfg->store_backend);
  cfg->store_backend = strdup("memory");
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct core *core;
  int rc = core_open(cfg, loop, &core, err, sizeof err);
  if (rc < 0) {
    log_kv(&lg, LOG_ERROR, "check", "refused", "error", err, (char *)NULL);
  } else {
    char nj[16], nc[16], nw[16];
    size_t n = 0, warnings = 0;
    for (size_t i = 0; i < core->registry.n_slots; i++) {
      n += core->registry.slots[i].current;
      if (core->registry.slots[i].current)
        warnings += warn_unknown_channels(core, &core->registry.slots[i], &lg);
    }
    snprintf(nj, sizeof nj, "%zu", n);
    snprintf(nc, sizeof nc, "%zu", core->n_channels);
    snprintf(nw, sizeof nw, "%zu", warnings);
    log_kv(&lg, LOG_INFO, "check", "ok", "journeys", nj, "channels", nc, "warnings", nw, (char *)NULL);
    core_close(core);
  }
  ev_loop_destroy(loop);
  return rc < 0 ? 1 : 0;
}

/* `parley plugin try`: a plugin tried on its own, the way the daemon would run it but
 * without the store, the outbox or a journey. One instance is opened with the loader the
 * daemon uses (plugin_load.c), on a libev loop of its own with the daemon's HTTP client,
 * one message is handed to it (to its check first, as a journey's message is when it is
 * spoken, then to its send), and what comes back (the send's outcome, the events the
 * plugin emits) is printed as it comes. The exit status says how the send ended. */
#include "plugin_try.h"

#include <cJSON.h>
#include <ev.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "clock.h"
#include "event.h"
#include "log.h"
#include "plugin/plugin_http.h"
#include "plugin/plugin_load.h"
#include "plugin_try_int.h"
#include "store/records.h"

#define TRY_OUTCOME_WAIT_MS 60000 /* the least time a send is given to complete */

struct try_run {
  struct ev_loop *loop;
  struct clock clock;
  int done;              /* the outcome is known */
  int exit;              /* enum plugin_try_exit, once done */
  ev_timer wait;         /* --wait, from the send */
  ev_timer give_up;      /* no outcome this long after the send */
  int64_t give_up_ms;
};

/* The outcome, printed on stdout in one line: the line a script greps. */
static void outcome(struct try_run *t, const struct plugin_result *r)
{
  switch (r->status) {
  case PARLEY_OK:
    printf("delivered%s%s\n", r->provider_id ? ": provider id " : "", r->provider_id ? r->provider_id : "");
    t->exit = TRY_DELIVERED;
    break;
  case PARLEY_RETRY:
    printf("retry: %s", r->detail ? r->detail : "(no detail)");
    if (r->retry_after_ms)
      printf(" (retry after %" PRIu64 " ms)", r->retry_after_ms);
    printf("\n");
    t->exit = TRY_RETRY;
    break;
  default:
    printf("failed: %s: %s\n", plugin_fail_reason_name(r->reason), r->detail ? r->detail : "(no detail)");
    t->exit = TRY_FAILED;
    break;
  }
  fflush(stdout);
  t->done = 1;
  ev_timer_stop(t->loop, &t->give_up);
  if (!ev_is_active(&t->wait))
    ev_break(t->loop, EVBREAK_ALL);
}

/* struct plugin_env's send_done: `ud` is the run. */
static void on_send_done(void *ud, struct parley_msg *msg, const struct plugin_result *r)
{
  outcome(ud, r);
}

/* struct plugin_env's emit_event: checked as the daemon checks a receipt, then shown. */
static int on_event(void *ud, const char *json, size_t len, char *err, size_t errlen)
{
  struct try_run *t = ud;
  struct event ev;
  if (event_parse(json, len, clock_now_ms(&t->clock), &ev, err, errlen) < 0) {
    printf("event refused: %s\n", err);
    fflush(stdout);
    return -1;
  }
  event_clear(&ev);
  printf("event: %.*s\n", (int)len, json);
  fflush(stdout);
  return 0;
}

static void on_wait(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct try_run *t = w->data;
  if (t->done)
    ev_break(loop, EVBREAK_ALL);
}

static void on_give_up(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct try_run *t = w->data;
  printf("no outcome: the plugin did not complete the message in %" PRId64 " ms\n", t->give_up_ms);
  fflush(stdout);
  t->exit = TRY_NO_OUTCOME;
  ev_break(loop, EVBREAK_ALL);
}

/* The message, as the outbox would hand it over on its first attempt. */
static void make_msg(struct parley_msg *m, const struct try_opts *o, char *channel)
{
  unsigned char rnd[8];
  char hex[17];
  memset(m, 0, sizeof *m);
  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  snprintf(m->id, sizeof m->id, "try-%s", hex);
  m->channel = channel;
  m->contact = (char *)"try";
  m->address = (char *)o->to;
  m->journey = (char *)"try";
  m->template_name = (char *)"try";
  m->subject = (char *)o->subject;
  m->text = (char *)o->text;
  m->html = (char *)o->html;
  m->profile_json = (char *)"{}";
  m->attempt = 1;
}

/* FILE.so or a path is used as it is; a name is looked for as the daemon looks for it. */
static int find(const struct try_opts *o, const struct cfg *cfg, char *path, size_t len, char *err,
                size_t errlen)
{
  size_t n = strlen(o->plugin);
  if (strchr(o->plugin, '/') || (n > 3 && strcmp(o->plugin + n - 3, ".so") == 0)) {
    snprintf(path, len, "%s", o->plugin);
    return 0;
  }
  const char *dirs[64];
  size_t nd = 0;
  for (size_t i = 0; i < cfg->n_plugin_path && nd < 63; i++)
    dirs[nd++] = cfg->plugin_path[i];
  dirs[nd++] = cfg->plugin_dir;
  return plugin_find_in(dirs, nd, o->plugin, path, len, err, errlen);
}

/* The channel's name: --channel, else the plugin's file name without folder or .so. */
static void channel_name(const struct try_opts *o, char *out, size_t len)
{
  const char *base = strrchr(o->plugin, '/');
  base = base ? base + 1 : o->plugin;
  snprintf(out, len, "%.*s", o->channel ? (int)strlen(o->channel) : (int)strcspn(base, "."),
           o->channel ? o->channel : base);
}

/* The plugin's check first, as when a journey speaks: what it measured is printed, and a
 * message it refuses is never sent (the daemon would refuse it at speak time). 0, or -1
 * when refused. */
static int run_check(struct plugin_inst *pi, const struct parley_msg *m)
{
  char info[1024] = "";
  if (plugin_instance_check(pi, m, info, sizeof info) != PARLEY_OK) {
    printf("refused by check: %s\n", info[0] ? info : "(no reason)");
    return -1;
  }
  if (info[0])
    printf("checked: %s\n", info);
  return 0;
}

/* One send on the open instance, then the loop until the outcome and --wait. */
static int run_send(struct try_run *t, struct plugin_inst *pi, const struct try_opts *o, char *channel)
{
  struct parley_msg m;
  make_msg(&m, o, channel);
  printf("sending %s to %s through plugin '%s' (channel '%s')\n", m.id, o->to, plugin_instance_name(pi),
         channel);
  if (run_check(pi, &m) < 0) {
    cJSON_Delete(m.profile);
    free(m.attr_text);
    return TRY_FAILED;
  }
  fflush(stdout);
  ev_timer_init(&t->wait, on_wait, (double)o->wait_ms / 1000.0, 0.);
  t->give_up_ms = o->wait_ms > TRY_OUTCOME_WAIT_MS ? o->wait_ms : TRY_OUTCOME_WAIT_MS;
  ev_timer_init(&t->give_up, on_give_up, (double)t->give_up_ms / 1000.0, 0.);
  t->wait.data = t->give_up.data = t;
  if (o->wait_ms > 0)
    ev_timer_start(t->loop, &t->wait);
  ev_timer_start(t->loop, &t->give_up);
  enum parley_status st = plugin_instance_send(pi, &m);
  if (st != PARLEY_PENDING && !t->done) /* final at once: told by the status alone */
    outcome(t, &(struct plugin_result){.status = st, .reason = PARLEY_FAIL_OTHER,
                                       .detail = "returned by send"});
  if (!t->done || ev_is_active(&t->wait))
    ev_run(t->loop, 0);
  ev_timer_stop(t->loop, &t->wait);
  ev_timer_stop(t->loop, &t->give_up);
  cJSON_Delete(m.profile);
  free(m.attr_text);
  return t->exit;
}

/* Everything the instance needs, opened in order; closed in reverse whatever happened. */
static int try_with(const struct try_opts *o, const struct cfg *cfg)
{
  char path[4096], channel[128], err[1024];
  struct log log = {cfg->log_level, NULL, NULL};
  struct try_run t = {.exit = TRY_NO_OUTCOME};
  struct plugin_inst *pi = NULL;
  int rc = TRY_CONFIG;
  channel_name(o, channel, sizeof channel);
  cJSON *settings = try_settings(o, cfg, channel, err, sizeof err);
  if (settings == NULL || find(o, cfg, path, sizeof path, err, sizeof err) < 0) {
    fprintf(stderr, "parley plugin try: %s\n", err);
    cJSON_Delete(settings);
    return TRY_CONFIG;
  }
  t.loop = ev_loop_new(EVFLAG_AUTO);
  clock_init_loop(&t.clock, t.loop);
  struct plugin_http *http = plugin_http_open(t.loop, &log, cfg->http_client.ca_file);
  struct plugin_env env = {.log = &log, .clock = &t.clock, .loop = t.loop,
                           .send_done = on_send_done, .outbox = &t,
                           .emit_event = on_event, .core = &t,
                           .trusted_keys = (const unsigned char(*)[32])cfg->plugin_keys,
                           .n_trusted_keys = cfg->n_plugin_keys, .http = http};
  if (http == NULL)
    fprintf(stderr, "parley plugin try: out of memory\n");
  else if (plugin_instance_open(&env, channel, path, settings, &pi, err, sizeof err) < 0)
    fprintf(stderr, "parley plugin try: channel '%s': %s\n", channel, err);
  else
    rc = run_send(&t, pi, o, channel);
  if (pi)
    plugin_instance_close(pi);
  plugin_http_close(http);
  ev_loop_destroy(t.loop);
  cJSON_Delete(settings);
  return rc;
}

int plugin_try_main(int argc, char **argv)
{
  struct try_opts o;
  char err[1024] = "libsodium failed to initialise";
  if (try_opts_parse(argc, argv, &o) < 0) {
    cJSON_Delete(o.sets);
    return TRY_USAGE;
  }
  int rc = TRY_CONFIG;
  struct cfg *cfg = sodium_init() < 0 ? NULL : cfg_load(o.config, err, sizeof err);
  if (cfg == NULL)
    fprintf(stderr, "parley plugin try: %s\n", err);
  else
    rc = try_with(&o, cfg);
  cfg_free(cfg);
  cJSON_Delete(o.sets);
  return rc;
}

/* The listen-decide-speak-listen loop for one contact at a time. */
#include "conv.h"

#include <assert.h>
#include <cJSON.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "arms.h"
#include "attrib.h"
#include "context.h"
#include "gate.h"
#include "histline.h"
#include "lua/lhost.h"
#include "outbox.h"
#include "plugin/plugin_load.h"
#include "profile.h"
#include "quiet.h"
#include "stats.h"
#include "supdb.h"

/* Bounds the deadlines fired in one call, so a journey that listens with a zero timeout in
 * a loop cannot starve the event loop; the rest fire on the next turn. */
#define CONV_MAX_FIRE_PER_CALL 10000
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static int contains(char *const *list, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], s) == 0)
      return 1;
  return 0;
}

static int contains_c(const char *const *list, size_t n, const char *s)
{
  return contains((char *const *)list, n, s);
}

static int is_active(const struct conv *cv)
{
  return cv->status != CONV_DONE && cv->status != CONV_FAILED;
}

/* The invariants of a conversation at rest (SQLite-style: checked after every transition,
 * in debug builds). Listening: a step to run when woken; ended: nothing to wake it, and
 * the reason it ended. */
static void check_conv(const struct conv *cv)
{
  assert(cv->journey && cv->contact);
  switch (cv->status) {
  case CONV_LISTENING:
    assert(cv->step);
    break;
  case CONV_DONE:
    assert(cv->outcome && cv->n_listen == 0 && cv->deadline_ms == 0);
    break;
  case CONV_FAILED:
    assert(cv->error && cv->n_listen == 0 && cv->deadline_ms == 0);
    break;
  default:
    assert(!"a conversation at rest is listening, done or failed");
  }
  (void)cv;
}

static void clear_listen(struct conv *cv)
{
  for (size_t i = 0; i < cv->n_listen; i++)
    free(cv->listening_for[i]);
  free(cv->listening_for);
  cv->listening_for = NULL;
  cv->n_listen = 0;
  cv->deadline_ms = 0;
}

static void tell_incident(struct core *core, const struct conv *cv, const char *channel,
                          const char *template_name, const char *why)
{
  if (core->incident)
    core->incident(core->incident_ud, &(struct core_incident){cv, channel, template_name, why});
}

/* The conversation stops listening at its step (woken, timed out, ended): one fewer waits
 * there in the journey's stats. */
static void stop_waiting(struct core *core, const struct conv *cv)
{
  if (cv->status == CONV_LISTENING)
    stats_gauge(core, cv->journey, "step", cv->step, "waiting", -1);
}

static void end_conv(struct core *core, struct contact *ct, struct conv *cv, enum conv_status st,
                     const char *why)
{
  int64_t now = clock_now_ms(&core->clock);
  assert(is_active(cv));
  stop_waiting(core, cv);
  contact_conv_ended(ct, cv->id);
  clear_listen(cv);
  cv->status = st;
  cv->updated_ms = now;
  if (st == CONV_FAILED) {
    free(cv->error);
    cv->error = strdup(why);
    core->stats.conv_failed++;
    history_add(&cv->history, core->cfg->history_limit, now, "failed: %s", why);
    log_kv(&core->log, LOG_WARN, "conv", "conversation failed", "contact", cv->contact, "journey",
           cv->journey, "step", cv->step ? cv->step : "", "error", why, (char *)NULL);
    tell_incident(core, cv, NULL, NULL, why);
  } else {
    free(cv->outcome);
    cv->outcome = strdup(why);
    core->stats.conv_done++;
    history_add(&cv->history, core->cfg->history_limit, now, "done: %s", why);
  }
  check_conv(cv);
  core->store->ops->conv_put(core->store, cv);
  registry_active(&core->registry, cv->journey, cv->journey_version, -1);
}

/* A journey that opted in to migration moves a conversation of an older version to the
 * same-named step of the current one, when it next runs. Returns 0, or -1 (failed). */
static int migrate(struct core *core, struct contact *ct, struct conv *cv)
{
  struct journey *cur = registry_current(&core->registry, cv->journey);
  uint32_t version = registry_current_version(&core->registry, cv->journey);
  if (!cur || version == cv->journey_version || !lhost_journey_info(cur)->migrate)
    return 0;
  if (!lhost_journey_has_step(cur, cv->step)) {
    char why[300];
    snprintf(why, sizeof why, "cannot migrate to version %u: it has no step '%s'", version, cv->step);
    end_conv(core, ct, cv, CONV_FAILED, why);
    return -1;
  }
  history_add(&cv->history, core->cfg->history_limit, clock_now_ms(&core->clock),
              "migrated from version %u to %u", cv->journey_version, version);
  registry_active(&core->registry, cv->journey, cv->journey_version, -1);
  registry_active(&core->registry, cv->journey, version, +1);
  cv->journey_version = version;
  return 0;
}

/* The core's speak gate (gate.h): a script asks, the core decides, so no journey can
 * bypass consent, an opt-out or a suppression. */
struct gate {
  struct core *core;
  struct contact *contact; /* its touches grow as the step speaks */
  struct conv *conv;       /* the conversation whose step runs */
  const char *journey;
  const struct journey_info *info; /* its caps */
};

static int gate_check(void *ud, const char *channel, const char *topic, char *reason, size_t len)
{
  struct gate *g = ud;
  struct gate_ask a = {g->contact->profile, channel, topic, g->contact->touches, g->contact->n_touches,
                       clock_now_ms(&g->core->clock), g->journey, g->info->caps, g->info->n_caps,
                       supdb_gate, g->core};
  return gate_speak(g->core->cfg, &a, reason, len);
}

/* The contact's history as c:history reads it: newest first. */
static const char *history_line(void *ud, size_t i, int64_t *at_ms)
{
  const struct gate *g = ud;
  const struct history *h = &g->contact->history;
  if (i >= h->n)
    return NULL;
  const struct hist_entry *e = history_at(h, h->n - 1 - i);
  *at_ms = e->at_ms;
  return e->what;
}

/* Touches older than the longest cap (the configuration's or any journey's) and the
 * attribution window are of no use: they go when a step has spoken. */
static void prune_touches(const struct core *core, struct contact *ct, int64_t now)
{
  int64_t window = registry_caps_window(&core->registry);
  if (window < core->cfg->caps_window_ms)
    window = core->cfg->caps_window_ms;
  if (window < core->cfg->attribution_window_ms)
    window = core->cfg->attribution_window_ms;
  size_t old = 0;
  while (old < ct->n_touches && ct->touches[old].at_ms <= now - window)
    touch_clear(&ct->touches[old++]);
  memmove(ct->touches, ct->touches + old, (ct->n_touches - old) * sizeof *ct->touches);
  ct->n_touches -= old;
}

/* Back to the first `n` touches: what a failed step counted is taken back. */
static void drop_touches(struct contact *ct, size_t n)
{
  while (ct->n_touches > n)
    touch_clear(&ct->touches[--ct->n_touches]);
}

static void new_msg_id(char id[40])
{
  unsigned char rnd[16];
  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(id, 40, rnd, sizeof rnd);
}

/* A spoken message is added to the contact's touches at once, so the next speak of the
 * same step sees it: it counts against the caps (when its topic is not exempt; every
 * journey's messages count, whoever has the cap), and a goal within the attribution
 * window is credited to it (attrib.h). Kept only while caps or attribution need it. */
static void add_touch(struct core *core, struct contact *ct, const char *journey, struct lhost_speak *sp)
{
  const struct cfg *cfg = core->cfg;
  int capped = (cfg->n_caps > 0 || registry_caps_window(&core->registry) > 0) && gate_counts(cfg, sp->topic);
  if (!capped && cfg->attribution_window_ms <= 0)
    return;
  int64_t now = clock_now_ms(&core->clock);
  struct touch *t = realloc(ct->touches, (ct->n_touches + 1) * sizeof *t);
  if (t)
    ct->touches = t;
  struct touch one = {.at_ms = now, .channel = strdup(sp->channel), .journey = strdup(journey),
                      .template_name = strdup(sp->template_name), .capped = capped};
  if (!t || !one.channel || !one.journey || !one.template_name) {
    touch_clear(&one);
    return; /* out of memory: this one is not counted */
  }
  if (!sp->msg_id[0])
    new_msg_id(sp->msg_id); /* the id the message keeps (make_msg), so receipts find it */
  memcpy(one.msg_id, sp->msg_id, sizeof one.msg_id);
  ct->touches[ct->n_touches++] = one;
}

static struct plugin_inst *channel_inst(const struct core *core, const char *channel)
{
  for (size_t i = 0; i < core->n_channels; i++)
    if (strcmp(core->channels[i].cfg->name, channel) == 0)
      return core->channels[i].inst;
  return NULL;
}

/* The channel's plugin measures a message the gate let through (ABI 1.2 check), on a
 * message that borrows the speak's parts and the contact's profile: nothing is copied
 * for a plugin that has no check. The id it sees is the one the message will keep. */
static int plugin_check(struct gate *g, struct lhost_speak *sp, char *info, size_t len)
{
  struct plugin_inst *pi = channel_inst(g->core, sp->channel);
  if (pi == NULL)
    return GATE_OK;
  const struct cfg_channel *ch = cfg_channel_find(g->core->cfg, sp->channel);
  const cJSON *addr = ch ? cJSON_GetObjectItemCaseSensitive(g->contact->profile, ch->address_attr) : NULL;
  struct parley_msg m = {
      .channel = sp->channel, .contact = g->contact->id,
      .address = cJSON_IsString(addr) ? addr->valuestring : NULL, .journey = (char *)g->journey, /* read only through the accessors */
      .template_name = sp->template_name, .subject = sp->subject, .text = sp->text, .html = sp->html,
      .profile = (cJSON *)g->contact->profile, .options_json = sp->options,
  };
  new_msg_id(sp->msg_id);
  memcpy(m.id, sp->msg_id, sizeof m.id);
  enum parley_status st = plugin_instance_check(pi, &m, info, len);
  free(m.attr_text); /* what the plugin's msg_contact_attr and msg_option made */
  cJSON_Delete(m.options);
  return st == PARLEY_OK ? GATE_OK : GATE_CHANNEL;
}

/* After the gate: the channel's own check, then the message counts against the caps. */
static int speak_check(void *ud, struct lhost_speak *sp, char *info, size_t len)
{
  struct gate *g = ud;
  int r = plugin_check(g, sp, info, len);
  if (r == GATE_OK)
    add_touch(g->core, g->contact, g->journey, sp);
  return r;
}

static struct parley_msg *make_msg(struct core *core, const struct contact *ct,
                                   const struct conv *cv, struct lhost_speak *sp)
{
  struct parley_msg *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  if (sp->msg_id[0])
    memcpy(m->id, sp->msg_id, sizeof m->id);
  else
    new_msg_id(m->id);
  const struct cfg_channel *ch = cfg_channel_find(core->cfg, sp->channel);
  const cJSON *addr = ch ? cJSON_GetObjectItemCaseSensitive(ct->profile, ch->address_attr) : NULL;
  m->address = cJSON_IsString(addr) ? strdup(addr->valuestring) : NULL;
  /* Take the rendered parts over from the decision rather than copying them. */
  m->channel = sp->channel;
  m->template_name = sp->template_name;
  m->subject = sp->subject;
  m->text = sp->text;
  m->html = sp->html;
  m->options_json = sp->options;
  free(sp->info); /* in the history already (apply_speech) */
  free(sp->topic);
  memset(sp, 0, sizeof *sp);
  m->contact = strdup(ct->id);
  m->journey = strdup(cv->journey);
  m->profile_json = cJSON_PrintUnformatted(ct->profile);
  m->conv_id = cv->id;
  m->due_ms = m->created_ms = clock_now_ms(&core->clock);
  return m;
}

/* What a channel's check measured, as the history shows it: " segments=2 encoding=GSM-7"
 * ("" when nothing). */
static void info_words(const char *json, char *out, size_t len)
{
  out[0] = '\0';
  cJSON *obj = json ? cJSON_Parse(json) : NULL;
  size_t used = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, obj)
  {
    char *val = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
    int n = snprintf(out + used, len - used, " %s=%s", v->string, val ? val : v->valuestring);
    free(val);
    if (n < 0 || (size_t)n >= len - used) {
      out[used] = '\0'; /* a pair that does not fit is left out whole */
      break;
    }
    used += (size_t)n;
  }
  cJSON_Delete(obj);
}

/* A message spoken in its channel's quiet hours (the contact's local night) waits in the
 * outbox until they end; the conversation goes on, its deadlines unmoved. */
static void hold_for_quiet_hours(struct core *core, struct contact *ct, struct conv *cv, struct parley_msg *m,
                                 int64_t now)
{
  char local[64];
  int64_t until = quiet_until(core->zones, core->cfg, cfg_channel_find(core->cfg, m->channel), ct->profile, now,
                              local, sizeof local);
  if (until == 0)
    return;
  m->due_ms = until;
  size_t lim = core->cfg->history_limit;
  history_add(&cv->history, lim, now, "held %s/%s id=%s until %s (quiet hours)", m->channel, m->template_name,
              m->id, local);
  char line[HISTLINE_MAX];
  histline_held(line, sizeof line, m->channel, m->template_name, cv->journey, m->id, local);
  history_add(&ct->history, lim, now, "%s", line);
  core->stats.held++;
}

static void apply_speech(struct core *core, struct contact *ct, struct conv *cv,
                         struct lhost_decision *d, int64_t now)
{
  size_t lim = core->cfg->history_limit;
  for (size_t i = 0; i < d->n_refused; i++) {
    struct lhost_refusal *r = &d->refused[i];
    history_add(&cv->history, lim, now, "refused %s/%s: %s", r->channel, r->template_name, r->reason);
    char line[HISTLINE_MAX];
    histline_refused(line, sizeof line, r->channel, r->template_name, cv->journey, r->reason);
    history_add(&ct->history, lim, now, "%s", line);
    core->stats.refused++;
    if (r->code > 0 && r->code < GATE_REASONS)
      core->stats.refused_by[r->code]++;
    stats_count(core, cv->journey, "refused", cv->step,
                r->code > 0 && r->code < GATE_REASONS ? gate_reason_name(r->code) : "other", 1);
    tell_incident(core, cv, r->channel, r->template_name, r->reason);
  }
  for (size_t i = 0; i < d->n_speaks; i++) {
    char info[512];
    info_words(d->speaks[i].info, info, sizeof info);
    const char *t = d->speaks[i].topic;
    int transactional = t && strcmp(t, CFG_TOPIC_TRANSACTIONAL) == 0;
    struct parley_msg *m = make_msg(core, ct, cv, &d->speaks[i]);
    if (!m)
      continue;
    history_add(&cv->history, lim, now, "spoke %s/%s id=%s%s", m->channel, m->template_name, m->id, info);
    char line[HISTLINE_MAX];
    histline_spoke(line, sizeof line, m->channel, m->template_name, cv->journey, m->id, info);
    history_add(&ct->history, lim, now, "%s", line);
    core->stats.spoken++;
    stats_count(core, cv->journey, "step", cv->step, "spoken", 1);
    if (!transactional)
      hold_for_quiet_hours(core, ct, cv, m, now);
    outbox_enqueue(&core->outbox, m);
  }
}

/* The offers a step made (c:record_offer) go in the contact's history, where per-offer
 * caps count them (sdk/lua/parley/offers.lua), and the conversation's. */
static void record_offers(struct core *core, struct contact *ct, struct conv *cv, const struct lhost_decision *d,
                          int64_t now)
{
  size_t lim = core->cfg->history_limit;
  for (size_t i = 0; i < d->n_offered; i++) {
    const struct lhost_offered *o = &d->offered[i];
    char line[HISTLINE_MAX];
    histline_offered(line, sizeof line, o->offer, cv->journey, o->channel, o->template_name);
    history_add(&ct->history, lim, now, "%s", line);
    history_add(&cv->history, lim, now, "%s", line);
  }
}

/* Applies a decision: all of it or, when the step failed, none of it. */
static void apply_decision(struct core *core, struct contact *ct, struct conv *cv,
                           struct lhost_decision *d)
{
  int64_t now = clock_now_ms(&core->clock);
  assert(cv->status == CONV_DECIDING);
  cv->status = CONV_SPEAKING;
  record_offers(core, ct, cv, d, now);
  apply_speech(core, ct, cv, d, now);
  free(cv->memory);
  cv->memory = d->memory;
  cv->memory_len = d->memory_len;
  d->memory = NULL;
  clear_listen(cv);
  cv->updated_ms = now;
  if (d->next == LHOST_FINISH) {
    end_conv(core, ct, cv, CONV_DONE, "finished");
    return;
  }
  assert(d->next == LHOST_LISTEN && d->next_step);
  free(cv->step);
  cv->step = d->next_step;
  d->next_step = NULL;
  cv->listening_for = d->events;
  cv->n_listen = d->n_events;
  d->events = NULL;
  d->n_events = 0;
  /* At least 1 ms ahead: a fired deadline must never be re-armed at the same instant. */
  cv->deadline_ms = d->timeout_ms >= 0 ? now + (d->timeout_ms > 0 ? d->timeout_ms : 1) : 0;
  cv->status = CONV_LISTENING;
  stats_gauge(core, cv->journey, "step", cv->step, "waiting", +1);
  check_conv(cv);
  core->store->ops->conv_put(core->store, cv);
}

/* c:experiment_record (lhost.h): the core keeps the arm with the conversation. */
static int record_arm(void *ud, const char *experiment, const char *arm, int holdout, char *out, size_t outlen)
{
  struct gate *g = ud;
  return arms_record(g->core, g->contact, g->conv, experiment, arm, holdout, out, outlen);
}

/* Runs the conversation's current step with `ev` (NULL: its deadline passed). */
static void run_step(struct core *core, struct contact *ct, struct conv *cv, const struct event *ev)
{
  assert(cv->status == CONV_DECIDING);
  char err[1024];
  if (migrate(core, ct, cv) < 0)
    return;
  struct journey *j = registry_get(&core->registry, cv->journey, cv->journey_version, err, sizeof err);
  if (!j) {
    end_conv(core, ct, cv, CONV_FAILED, err);
    return;
  }
  int64_t now = clock_now_ms(&core->clock);
  struct lhost_event le;
  if (ev)
    le = (struct lhost_event){ev->id, ev->type, ev->time_ms ? ev->time_ms : now, ev->data};
  struct gate g = {core, ct, cv, cv->journey, lhost_journey_info(j)};
  stats_count(core, cv->journey, "step", cv->step, "entered", 1);
  struct lhost_step_in in = {
      .conv_id = cv->id,
      .contact_id = ct->id,
      .profile = ct->profile,
      .step = cv->step,
      .memory = cv->memory,
      .memory_len = cv->memory_len,
      .event = ev ? &le : NULL,
      .now_ms = now,
      .can_speak = gate_check,
      .check = speak_check,
      .history = history_line,
      .arm = record_arm,
      .ud = &g,
  };
  struct lhost_decision d;
  memset(&d, 0, sizeof d);
  size_t touches = ct->n_touches;
  if (lhost_run_step(j, &in, &d, err, sizeof err) < 0) {
    drop_touches(ct, touches);
    end_conv(core, ct, cv, CONV_FAILED, err);
    lhost_decision_free(&d);
    return;
  }
  if (ct->n_touches > touches)
    prune_touches(core, ct, now);
  apply_decision(core, ct, cv, &d);
  lhost_decision_free(&d);
}

/* A copy of the contact's active conversations: ending one changes the list. */
static uint64_t *active_snapshot(const struct contact *ct, size_t *n)
{
  *n = ct->n_active;
  uint64_t *ids = malloc((*n ? *n : 1) * sizeof *ids);
  if (ids && *n)
    memcpy(ids, ct->active, *n * sizeof *ids);
  else
    *n = 0;
  return ids;
}

/* Goal and exit events end a conversation before anything could wake it. */
static void end_by_event(struct core *core, struct contact *ct, const char *type)
{
  size_t n;
  uint64_t *ids = active_snapshot(ct, &n);
  for (size_t i = 0; i < n; i++) {
    struct conv *cv = core->store->ops->conv_get(core->store, ids[i]);
    char err[512];
    struct journey *j = cv && is_active(cv)
                            ? registry_get(&core->registry, cv->journey, cv->journey_version, err, sizeof err)
                            : NULL;
    if (!j)
      continue;
    const struct journey_info *ji = lhost_journey_info(j);
    char why[200];
    if (contains_c(ji->goal_events, ji->n_goal, type)) {
      snprintf(why, sizeof why, "goal:%s", type);
      core->stats.goals++;
      attrib_goal(core, ct, cv);
      end_conv(core, ct, cv, CONV_DONE, why);
    } else if (contains_c(ji->exit_events, ji->n_exit, type)) {
      snprintf(why, sizeof why, "exit:%s", type);
      end_conv(core, ct, cv, CONV_DONE, why);
    }
  }
  free(ids);
}

static void wake_listeners(struct core *core, struct contact *ct, const struct event *ev)
{
  size_t n; /* conversations started by this event come later: it does not wake them */
  uint64_t *ids = active_snapshot(ct, &n);
  for (size_t i = 0; i < n; i++) {
    struct conv *cv = core->store->ops->conv_get(core->store, ids[i]);
    if (!cv || cv->status != CONV_LISTENING || !contains(cv->listening_for, cv->n_listen, ev->type))
      continue;
    stop_waiting(core, cv);
    cv->status = CONV_DECIDING;
    history_add(&cv->history, core->cfg->history_limit, clock_now_ms(&core->clock), "woken by %s",
                ev->type);
    run_step(core, ct, cv, ev);
  }
  free(ids);
}

/* The re-entry rule: one active conversation per journey and contact; after it ends, the
 * contact may enter again only once `reenter_after` has passed since the last start. */
static int may_enter(struct core *core, const struct contact *ct, const struct journey_info *ji,
                     int64_t now)
{
  for (size_t i = 0; i < ct->n_active; i++) {
    const struct conv *cv = core->store->ops->conv_get(core->store, ct->active[i]);
    if (cv && strcmp(cv->journey, ji->name) == 0)
      return 0;
  }
  int64_t last;
  if (!contact_last_start(ct, ji->name, &last))
    return 1;
  return ji->reenter_after_ms >= 0 && now - last >= ji->reenter_after_ms;
}

static void start_journeys(struct core *core, struct contact *ct, const struct event *ev)
{
  int64_t now = clock_now_ms(&core->clock);
  /* A snapshot: a step that ends a conversation may retire an old version's slot. Current
   * versions, the only ones used here, are never retired. */
  size_t n = core->registry.n_slots;
  if (n == 0)
    return; /* no journey loaded: nothing to start (and no slots to copy) */
  struct jslot *snap = malloc(n * sizeof *snap);
  if (!snap) {
    log_kv(&core->log, LOG_ERROR, "conv", "out of memory starting conversations", "contact", ct->id,
           "event", ev->id, (char *)NULL);
    return;
  }
  memcpy(snap, core->registry.slots, n * sizeof *snap);
  for (size_t i = 0; i < n; i++) {
    const struct jslot *slot = &snap[i];
    if (!slot->current)
      continue;
    const struct journey_info *ji = lhost_journey_info(slot->j);
    if (!ji->entry_event || strcmp(ji->entry_event, ev->type) != 0 || !may_enter(core, ct, ji, now))
      continue;
    /* entry.when, before anything exists: a contact it turns away has not started. */
    char why[1024];
    struct lhost_event le = {ev->id, ev->type, ev->time_ms, ev->data};
    int allowed = lhost_entry_allows(slot->j, ct->id, ct->profile, &le, now, why, sizeof why);
    if (allowed < 0)
      log_kv(&core->log, LOG_WARN, "conv", "entry condition failed: not entered", "journey", ji->name,
             "contact", ct->id, "error", why, (char *)NULL);
    if (allowed != 1)
      continue;
    struct conv *cv = core->store->ops->conv_create(core->store, ct, ji->name, slot->version, now);
    if (!cv) {
      log_kv(&core->log, LOG_ERROR, "conv", "out of memory starting a conversation", "contact", ct->id,
             "journey", ji->name, (char *)NULL);
      continue;
    }
    cv->step = strdup(ji->first_step);
    registry_active(&core->registry, ji->name, slot->version, +1);
    core->stats.conv_started++;
    stats_count(core, ji->name, "conv", "-", "entered", 1);
    history_add(&cv->history, core->cfg->history_limit, now, "entered on %s", ev->type);
    char line[HISTLINE_MAX];
    histline_entered(line, sizeof line, ji->name);
    history_add(&ct->history, core->cfg->history_limit, now, "%s", line);
    run_step(core, ct, cv, ev);
  }
  free(snap);
}

int conv_apply_event(struct core *core, const struct event *ev)
{
  struct store *st = core->store;
  if (ev->id && st->ops->event_seen(st, ev->id)) {
    core->stats.duplicates++;
    return 1;
  }
  int64_t now = clock_now_ms(&core->clock);
  struct contact *ct = st->ops->contact_get(st, ev->contact);
  if (!ct && !(ct = st->ops->contact_create(st, ev->contact, now))) {
    log_kv(&core->log, LOG_ERROR, "conv", "out of memory creating a contact", "contact", ev->contact,
           (char *)NULL);
    return 0;
  }
  core->stats.events++;
  core->must_commit = 1;
  if (ev->profile) {
    struct addr_snap snap;
    addr_snap_take(core, ct->profile, ev->profile, &snap);
    profile_merge(ct->profile, ev->profile);
    addr_snap_apply(core, ct->id, &snap, ct->profile);
  }
  char line[HISTLINE_MAX];
  histline_event(line, sizeof line, ev->type, ev->id, ev->data);
  history_add(&ct->history, core->cfg->history_limit, now, "%s", line);
  attrib_outcome(core, ct, ev);
  end_by_event(core, ct, ev->type);
  wake_listeners(core, ct, ev);
  start_journeys(core, ct, ev);
  st->ops->contact_put(st, ct);
  return 0;
}

size_t conv_fire_due(struct core *core)
{
  struct store *st = core->store;
  size_t n = 0;
  int64_t due;
  uint64_t id;
  while (n < CONV_MAX_FIRE_PER_CALL && st->ops->deadline_next(st, &due, &id) &&
         due <= clock_now_ms(&core->clock)) {
    struct conv *cv = st->ops->conv_get(st, id);
    struct contact *ct = cv ? st->ops->contact_get(st, cv->contact) : NULL;
    if (!ct) { /* the store could not read it: the batch is latched as failed (store.h) */
      log_kv(&core->log, LOG_ERROR, "conv", "a due conversation cannot be read; deadlines wait",
             (char *)NULL);
      break;
    }
    assert(cv->status == CONV_LISTENING);
    stop_waiting(core, cv);
    stats_count(core, cv->journey, "step", cv->step, "timed_out", 1);
    clear_listen(cv);
    cv->status = CONV_DECIDING;
    history_add(&cv->history, core->cfg->history_limit, clock_now_ms(&core->clock),
                "deadline passed");
    run_step(core, ct, cv, NULL);
    st->ops->contact_put(st, ct);
    n++;
  }
  if (n)
    core->must_commit = 1;
  if (n == CONV_MAX_FIRE_PER_CALL)
    log_kv(&core->log, LOG_INFO, "conv", "many deadlines at once: the rest fire on the next turn",
           "fired", STRINGIFY(CONV_MAX_FIRE_PER_CALL), (char *)NULL);
  return n;
}

void conv_note(struct core *core, uint64_t id, const char *fmt, ...)
{
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  core->store->ops->conv_note(core->store, id, clock_now_ms(&core->clock), line, core->cfg->history_limit);
}

/* JSON views of records and the Prometheus text of the metrics (see view.h). */
#include "view.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "lua/lhost.h"
#include "timestamp.h"

/* Every time in a view is RFC 3339 text in UTC, to the millisecond (timestamp.h). */
static void add_time(cJSON *o, const char *key, int64_t ms)
{
  char buf[40];
  timestamp_format_ms(ms, buf, sizeof buf);
  cJSON_AddStringToObject(o, key, buf);
}

/* A time that may not be there (no deadline, not ended yet): null then. */
static void add_time_or_null(cJSON *o, const char *key, int have, int64_t ms)
{
  if (have)
    add_time(o, key, ms);
  else
    cJSON_AddNullToObject(o, key);
}

static void add_str_or_null(cJSON *o, const char *key, const char *value)
{
  if (value)
    cJSON_AddStringToObject(o, key, value);
  else
    cJSON_AddNullToObject(o, key);
}

static cJSON *history_json(const struct history *h)
{
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < h->n; i++) {
    const struct hist_entry *e = history_at(h, i);
    cJSON *o = cJSON_CreateObject();
    add_time(o, "at", e->at_ms);
    cJSON_AddStringToObject(o, "what", e->what);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static cJSON *conv_json(const struct conv *cv)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double)cv->id);
  cJSON_AddStringToObject(o, "journey", cv->journey);
  cJSON_AddNumberToObject(o, "journey_version", cv->journey_version);
  cJSON_AddStringToObject(o, "step", cv->step ? cv->step : "");
  cJSON_AddStringToObject(o, "status", conv_status_name(cv->status));
  cJSON *lf = cJSON_AddArrayToObject(o, "listening_for");
  for (size_t i = 0; i < cv->n_listen; i++)
    cJSON_AddItemToArray(lf, cJSON_CreateString(cv->listening_for[i]));
  add_time_or_null(o, "deadline", cv->deadline_ms != 0, cv->deadline_ms);
  cJSON *mem = lhost_memory_to_json(cv->memory, cv->memory_len);
  cJSON_AddItemToObject(o, "memory", mem ? mem : cJSON_CreateNull());
  if (cv->outcome)
    cJSON_AddStringToObject(o, "outcome", cv->outcome);
  if (cv->error)
    cJSON_AddStringToObject(o, "error", cv->error);
  add_time(o, "started", cv->started_ms);
  add_time(o, "updated", cv->updated_ms);
  /* an ended conversation changes no more: its last update is when it ended */
  add_time_or_null(o, "ended", cv->status == CONV_DONE || cv->status == CONV_FAILED, cv->updated_ms);
  cJSON_AddItemToObject(o, "history", history_json(&cv->history));
  return o;
}

cJSON *view_contact(struct store *store, const struct contact *ct)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", ct->id);
  add_time(o, "created", ct->created_ms);
  cJSON_AddItemToObject(o, "profile", cJSON_Duplicate(ct->profile, 1));
  cJSON *convs = cJSON_AddArrayToObject(o, "conversations");
  for (size_t i = 0; i < ct->n_convs; i++) {
    const struct conv *cv = store->ops->conv_get(store, ct->convs[i]);
    if (cv)
      cJSON_AddItemToArray(convs, conv_json(cv));
  }
  cJSON_AddItemToObject(o, "history", history_json(&ct->history));
  return o;
}

static int held(const struct registry *reg, const char *name, uint32_t version)
{
  for (size_t i = 0; i < reg->n_slots; i++)
    if (reg->slots[i].version == version && strcmp(reg->slots[i].name, name) == 0)
      return 1;
  return 0;
}

/* Every version of `name` still in use, newest first: the current one, those the registry
 * holds, and (after a restart, before one of their conversations wakes) older ones the
 * store still pins with conversations on them. The store's count is read (delta 0). */
static cJSON *versions_json(struct registry *reg, const char *name)
{
  struct store *st = reg->store;
  uint32_t current = registry_current_version(reg, name);
  cJSON *arr = cJSON_CreateArray();
  for (uint32_t v = st->ops->journey_latest(st, name); v > 0; v--) {
    int64_t active = st->ops->active_add(st, name, v, 0);
    if (v != current && active <= 0 && !held(reg, name, v))
      continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", v);
    cJSON_AddBoolToObject(o, "current", v == current);
    cJSON_AddNumberToObject(o, "active", (double)(active > 0 ? active : 0));
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static cJSON *journey_json(struct registry *reg, const char *name, const char *file, const char *status,
                           const char *error)
{
  cJSON *o = cJSON_CreateObject();
  uint32_t current = name ? registry_current_version(reg, name) : 0;
  add_str_or_null(o, "name", name);
  add_str_or_null(o, "file", file);
  cJSON_AddStringToObject(o, "status", status);
  if (error)
    cJSON_AddStringToObject(o, "error", error);
  if (current)
    cJSON_AddNumberToObject(o, "version", current);
  else
    cJSON_AddNullToObject(o, "version");
  cJSON_AddItemToObject(o, "versions", name ? versions_json(reg, name) : cJSON_CreateArray());
  return o;
}

static int listed(const cJSON *arr, const char *name)
{
  const cJSON *it;
  cJSON_ArrayForEach(it, arr)
  {
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
    if (n && strcmp(n, name) == 0)
      return 1;
  }
  return 0;
}

/* The files of the last load first, in name order; then the journeys no file names any
 * more, while a version of theirs drains. */
cJSON *view_journeys(struct registry *reg)
{
  cJSON *doc = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(doc, "journeys");
  for (size_t i = 0; i < reg->n_outcomes; i++) {
    const struct registry_outcome *o = &reg->outcomes[i];
    if (o->kind != REGISTRY_REMOVED)
      cJSON_AddItemToArray(arr, journey_json(reg, o->name, o->file,
                                             o->kind == REGISTRY_REFUSED ? "failed" : "loaded", o->error));
  }
  for (size_t i = 0; i < reg->n_slots; i++) {
    const struct jslot *s = &reg->slots[i];
    const char *slash = strrchr(s->path, '/');
    if (!listed(arr, s->name))
      cJSON_AddItemToArray(arr, journey_json(reg, s->name, slash ? slash + 1 : s->path,
                                             registry_current(reg, s->name) ? "loaded" : "removed", NULL));
  }
  if (reg->folder_error)
    cJSON_AddStringToObject(doc, "error", reg->folder_error);
  return doc;
}

static const char *outcome_name(enum registry_outcome_kind k)
{
  switch (k) {
  case REGISTRY_LOADED: return "loaded";
  case REGISTRY_UNCHANGED: return "unchanged";
  case REGISTRY_REFUSED: return "refused";
  case REGISTRY_REMOVED: return "removed";
  }
  return "unknown";
}

cJSON *view_reload(struct registry *reg)
{
  cJSON *doc = view_journeys(reg);
  size_t refused = reg->folder_error ? 1 : 0;
  cJSON *files = cJSON_AddArrayToObject(doc, "files");
  for (size_t i = 0; i < reg->n_outcomes && !reg->folder_error; i++) {
    const struct registry_outcome *o = &reg->outcomes[i];
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "file", o->file);
    add_str_or_null(f, "journey", o->name);
    cJSON_AddStringToObject(f, "outcome", outcome_name(o->kind));
    if (o->version)
      cJSON_AddNumberToObject(f, "version", o->version);
    else
      cJSON_AddNullToObject(f, "version");
    if (o->error)
      cJSON_AddStringToObject(f, "error", o->error);
    cJSON_AddItemToArray(files, f);
    refused += o->kind == REGISTRY_REFUSED;
  }
  cJSON_AddNumberToObject(doc, "refused", (double)refused);
  return doc;
}

static const char *msg_state_name(enum msg_state st)
{
  switch (st) {
  case MSG_QUEUED: return "queued";
  case MSG_SENDING: return "sending";
  case MSG_SENT: return "sent";
  case MSG_DEAD: return "dead";
  }
  return "unknown";
}

cJSON *view_message(const struct parley_msg *m)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", m->id);
  add_str_or_null(o, "contact", m->contact);
  cJSON_AddNumberToObject(o, "conversation", (double)m->conv_id);
  add_str_or_null(o, "channel", m->channel);
  add_str_or_null(o, "journey", m->journey);
  add_str_or_null(o, "template", m->template_name);
  cJSON_AddStringToObject(o, "state", msg_state_name(m->state));
  cJSON_AddNumberToObject(o, "attempts", m->attempt);
  add_time(o, "due", m->due_ms);
  add_str_or_null(o, "last_error", m->last_error);
  return o;
}

char *view_metrics(const struct core *core)
{
  const struct core_stats *s = &core->stats;
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f)
    return NULL;
  struct {
    const char *name, *help;
    uint64_t v;
  } rows[] = {
      {"parley_events_total", "Events applied.", s->events},
      {"parley_events_duplicate_total", "Events acknowledged as duplicates.", s->duplicates},
      {"parley_conversations_started_total", "Conversations started.", s->conv_started},
      {"parley_conversations_done_total", "Conversations ended (finished, goal, exit).", s->conv_done},
      {"parley_conversations_failed_total", "Conversations parked as failed.", s->conv_failed},
      {"parley_goals_total", "Goal events reached.", s->goals},
      {"parley_messages_spoken_total", "Messages spoken by journeys.", s->spoken},
      {"parley_messages_refused_total", "Speaks refused (by reason: parley_messages_refused_by_reason_total).", s->refused},
      {"parley_messages_held_total", "Messages held for their channel's quiet hours.", s->held},
      {"parley_messages_delivered_total", "Messages a plugin delivered.", s->delivery.delivered},
      {"parley_messages_retried_total", "Delivery retries scheduled.", s->delivery.retried},
      {"parley_messages_dead_total", "Messages dead-lettered.", s->delivery.dead},
      {"parley_contacts_erased_total", "Contacts erased (DELETE /v1/contacts/{id}).", s->erased},
      {"parley_retention_conversations_removed_total",
       "Ended conversations the retention sweep removed.", s->swept_convs},
      {"parley_retention_history_removed_total",
       "History entries the retention sweep removed.", s->swept_history},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", rows[i].name, rows[i].help, rows[i].name,
            rows[i].name, (unsigned long long)rows[i].v);
  fprintf(f, "# HELP parley_messages_refused_by_reason_total Speaks refused, by the rule that refused them.\n"
             "# TYPE parley_messages_refused_by_reason_total counter\n");
  for (int r = GATE_OK + 1; r < GATE_REASONS; r++)
    fprintf(f, "parley_messages_refused_by_reason_total{reason=\"%s\"} %llu\n", gate_reason_name(r),
            (unsigned long long)s->refused_by[r]);
  fprintf(f, "# HELP parley_outbox_active Messages queued or in flight.\n# TYPE parley_outbox_active gauge\n"
             "parley_outbox_active %zu\n",
          outbox_active(&core->outbox));
  view_channel_metrics(f, &core->outbox);
  fclose(f);
  return out;
}

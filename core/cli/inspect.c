/* `parley inspect` (see inspect.h). Text for people: labels aligned, times as ISO-8601 UTC
 * with how far they are from now ("in 3h 12m", "overdue by 2s"), long histories cut to the
 * most recent entries. JSON for machines: the document GET /v1/contacts/{id} answers, plus
 * the contact's messages in the outbox, whole. */
#include "inspect.h"

#include <cJSON.h>
#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "clock.h"
#include "lua/lhost.h"
#include "outbox.h"
#include "store/store.h"
#include "timestamp.h"
#include "http/view.h"

#define RECENT_HISTORY 20 /* entries of each history shown as text; --json has them all */
#define LABEL_WIDTH 14

/* What inspect prints, read once. */
struct inspect {
  const struct inspect_options *o;
  struct store *store;
  int64_t now_ms;
  struct parley_msg *msgs; /* the messages selected from the outbox, in id order */
  struct parley_msg **tail;
  size_t n_msgs;
};

struct store *inspect_open_store(const struct cfg *cfg, char *err, size_t errlen)
{
  if (strcmp(cfg->store_backend, "lmdb") != 0) {
    snprintf(err, errlen, "store.backend is '%s': that state lives only inside the daemon", cfg->store_backend);
    return NULL;
  }
  char dir[4096], data[4200];
  struct stat sb;
  snprintf(dir, sizeof dir, "%s/store", cfg->data_dir);
  snprintf(data, sizeof data, "%s/data.mdb", dir);
  if (stat(data, &sb) < 0) {
    snprintf(err, errlen, "no store at %s (%s): has `parley serve` run with this configuration?", dir,
             strerror(errno));
    return NULL;
  }
  struct store_lmdb_options opt = {dir, cfg->store_map_bytes, cfg->dedupe_window, 1, 0};
  return store_lmdb_open(&opt, err, errlen);
}

/* ---- formatting ---- */

/* To the second, for people; --json has the API's milliseconds. */
static const char *iso_time(char buf[32], int64_t ms)
{
  timestamp_format(ms, buf, 32);
  return buf;
}

/* The two largest units of a duration, dropping a zero second one: "3h 12m", "2d", "45s". */
static void span(char *buf, size_t cap, int64_t ms)
{
  static const struct {
    int64_t ms;
    const char *unit;
  } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  size_t len = 0;
  int shown = 0;
  for (size_t i = 0; i < sizeof units / sizeof units[0] && shown < 2; i++) {
    int64_t q = ms / units[i].ms;
    if (q == 0 && shown)
      break;
    if (q == 0)
      continue;
    len += (size_t)snprintf(buf + len, cap - len, "%s%lld%s", shown ? " " : "", (long long)q, units[i].unit);
    ms -= q * units[i].ms;
    shown++;
  }
  if (!shown)
    snprintf(buf, cap, "<1s");
}

/* How `at_ms` stands to now: a deadline is "in ..." or "overdue by ...", anything else
 * "... ago" (or "in ..." should a clock have moved back). */
static const char *relative(char *buf, size_t cap, int64_t at_ms, int64_t now_ms, int deadline)
{
  char d[32];
  span(d, sizeof d, at_ms >= now_ms ? at_ms - now_ms : now_ms - at_ms);
  if (at_ms >= now_ms)
    snprintf(buf, cap, "in %s", d);
  else
    snprintf(buf, cap, deadline ? "overdue by %s" : "%s ago", d);
  return buf;
}

/* One "label   value" line, the values of a block aligned. */
static void field(int indent, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void field(int indent, const char *label, const char *fmt, ...)
{
  va_list ap;
  printf("%*s%-*s ", indent, "", LABEL_WIDTH, label);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

static void time_field(const struct inspect *in, int indent, const char *label, int64_t ms)
{
  char t[32], rel[48];
  field(indent, label, "%s  (%s)", iso_time(t, ms), relative(rel, sizeof rel, ms, in->now_ms, 0));
}

static void print_history(int indent, const char *title, const struct history *h)
{
  size_t from = h->n > RECENT_HISTORY ? h->n - RECENT_HISTORY : 0;
  if (h->n == 0) {
    printf("%*s%s: none\n", indent, "", title);
    return;
  }
  if (from)
    printf("%*s%s (the last %d of %zu)\n", indent, "", title, RECENT_HISTORY, h->n);
  else
    printf("%*s%s\n", indent, "", title);
  for (size_t i = from; i < h->n; i++) {
    const struct hist_entry *e = history_at(h, i);
    char t[32];
    printf("%*s  %s  %s\n", indent, "", iso_time(t, e->at_ms), e->what);
  }
}

/* The command that replays `id`, with the same configuration as this one. */
static void replay_hint(char *buf, size_t cap, const struct inspect *in, const char *id)
{
  const char *conf = in->o->config_path;
  snprintf(buf, cap, "parley replay %s%s%s", id, conf ? " -c " : "", conf ? conf : "");
}

/* ---- one contact ---- */

static void print_deadline(const struct inspect *in, const struct conv *cv)
{
  char t[32], rel[48];
  if (!cv->deadline_ms)
    field(2, "deadline", "none");
  else if (cv->status == CONV_LISTENING)
    field(2, "deadline", "%s  (%s)", iso_time(t, cv->deadline_ms),
          relative(rel, sizeof rel, cv->deadline_ms, in->now_ms, 1));
  else
    field(2, "deadline", "%s", iso_time(t, cv->deadline_ms));
}

static void print_memory(const struct conv *cv)
{
  cJSON *mem = lhost_memory_to_json(cv->memory, cv->memory_len);
  char *text = mem ? cJSON_PrintUnformatted(mem) : NULL;
  field(2, "memory", "%s", text ? text : cv->memory_len ? "(unreadable)" : "{}");
  free(text);
  cJSON_Delete(mem);
}

static void print_listening(const struct conv *cv)
{
  if (cv->n_listen == 0) {
    field(2, "listening for", "nothing");
    return;
  }
  printf("  %-*s ", LABEL_WIDTH, "listening for");
  for (size_t i = 0; i < cv->n_listen; i++)
    printf("%s%s", i ? ", " : "", cv->listening_for[i]);
  putchar('\n');
}

static void print_conv(const struct inspect *in, const struct conv *cv)
{
  printf("\nconversation %llu  %s v%u  [%s]\n", (unsigned long long)cv->id, cv->journey, cv->journey_version,
         conv_status_name(cv->status));
  field(2, "step", "%s", cv->step && *cv->step ? cv->step : "-");
  print_listening(cv);
  print_deadline(in, cv);
  print_memory(cv);
  if (cv->outcome)
    field(2, "outcome", "%s", cv->outcome);
  if (cv->error)
    field(2, "error", "%s", cv->error);
  time_field(in, 2, "started", cv->started_ms);
  time_field(in, 2, "updated", cv->updated_ms);
  print_history(2, "history", &cv->history);
}

/* One outbox line: what it is, where it stands, and for a dead letter how to replay it. */
static void print_msg(const struct inspect *in, const struct parley_msg *m)
{
  char what[160], rel[48], hint[512];
  snprintf(what, sizeof what, "%s/%s", m->channel, m->template_name ? m->template_name : "-");
  if (m->state == MSG_DEAD) {
    replay_hint(hint, sizeof hint, in, m->id);
    printf("  %s  %-24s DEAD LETTER after %u attempt%s: %s\n", m->id, what, m->attempt,
           m->attempt == 1 ? "" : "s", m->last_error ? m->last_error : "no reason given");
    printf("  %*s  replay it with: %s\n", (int)strlen(m->id), "", hint);
  } else if (m->attempt == 0) {
    printf("  %s  %-24s queued, not tried yet\n", m->id, what);
  } else { /* the record counts attempts begun: each is written before its hand-over */
    printf("  %s  %-24s queued, %u attempt%s begun, next %s%s%s\n", m->id, what, m->attempt,
           m->attempt == 1 ? "" : "s", relative(rel, sizeof rel, m->due_ms, in->now_ms, 1),
           m->last_error ? "; last error: " : "", m->last_error ? m->last_error : "");
  }
}

static void print_outbox(const struct inspect *in)
{
  if (!in->n_msgs) {
    printf("\noutbox: nothing waiting\n");
    return;
  }
  printf("\noutbox (%zu message%s: queued, in flight or dead)\n", in->n_msgs, in->n_msgs == 1 ? "" : "s");
  for (const struct parley_msg *m = in->msgs; m; m = m->next)
    print_msg(in, m);
}

static void print_contact(const struct inspect *in, const struct contact *ct)
{
  char *profile = cJSON_PrintUnformatted(ct->profile);
  field(0, "contact", "%s", ct->id);
  time_field(in, 0, "created", ct->created_ms);
  field(0, "profile", "%s", profile ? profile : "{}");
  field(0, "conversations", "%zu", ct->n_convs);
  free(profile);
  for (size_t i = 0; i < ct->n_convs; i++) {
    const struct conv *cv = in->store->ops->conv_get(in->store, ct->convs[i]);
    if (cv)
      print_conv(in, cv);
    else
      printf("\nconversation %llu  (missing from the store)\n", (unsigned long long)ct->convs[i]);
  }
  putchar('\n');
  print_history(0, "recent history", &ct->history);
  print_outbox(in);
}

/* ---- the outbox ---- */

/* msg_each callback: keeps the messages of the contact asked for (or the dead letters). */
static void select_msg(void *ud, struct parley_msg *m)
{
  struct inspect *in = ud;
  int keep = in->o->dead_letters ? m->state == MSG_DEAD : m->contact && strcmp(m->contact, in->o->contact) == 0;
  if (!keep) {
    msg_record_free(m);
    return;
  }
  m->next = NULL;
  *in->tail = m;
  in->tail = &m->next;
  in->n_msgs++;
}

static void free_msgs(struct inspect *in)
{
  for (struct parley_msg *m = in->msgs, *n; m; m = n) {
    n = m->next;
    msg_record_free(m);
  }
  in->msgs = NULL;
}

static cJSON *msgs_json(const struct inspect *in)
{
  cJSON *arr = cJSON_CreateArray();
  for (const struct parley_msg *m = in->msgs; m; m = m->next)
    cJSON_AddItemToArray(arr, view_message(m));
  return arr;
}

static void print_json(cJSON *doc)
{
  char *text = cJSON_Print(doc);
  puts(text ? text : "null");
  free(text);
  cJSON_Delete(doc);
}

static void print_dead_letters(const struct inspect *in)
{
  int wid = 2, wct = 7, wwhat = 16;
  char what[160], hint[512];
  if (!in->n_msgs) {
    printf("no dead letters\n");
    return;
  }
  for (const struct parley_msg *m = in->msgs; m; m = m->next) {
    int n = snprintf(what, sizeof what, "%s/%s", m->channel, m->template_name ? m->template_name : "-");
    wwhat = n > wwhat ? n : wwhat;
    wid = (int)strlen(m->id) > wid ? (int)strlen(m->id) : wid;
    wct = m->contact && (int)strlen(m->contact) > wct ? (int)strlen(m->contact) : wct;
  }
  printf("dead letters (%zu)\n", in->n_msgs);
  printf("  %-*s  %-*s  %-*s  %-8s  %s\n", wid, "ID", wct, "CONTACT", wwhat, "CHANNEL/TEMPLATE", "ATTEMPTS",
         "LAST ERROR");
  for (const struct parley_msg *m = in->msgs; m; m = m->next) {
    snprintf(what, sizeof what, "%s/%s", m->channel, m->template_name ? m->template_name : "-");
    printf("  %-*s  %-*s  %-*s  %-8u  %s\n", wid, m->id, wct, m->contact ? m->contact : "-", wwhat, what,
           m->attempt, m->last_error ? m->last_error : "-");
  }
  replay_hint(hint, sizeof hint, in, "ID");
  printf("replay one with: %s\n", hint);
}

/* ---- the command ---- */

static int show_contact(struct inspect *in)
{
  struct contact *ct = in->store->ops->contact_get(in->store, in->o->contact);
  if (!ct) {
    fprintf(stderr, "parley inspect: no contact '%s' in the store\n", in->o->contact);
    return 1;
  }
  if (in->o->json) {
    cJSON *doc = view_contact(in->store, ct);
    cJSON_AddItemToObject(doc, "outbox", msgs_json(in));
    print_json(doc);
  } else {
    print_contact(in, ct);
  }
  return 0;
}

static int show_dead_letters(struct inspect *in)
{
  if (in->o->json) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "dead_letters", msgs_json(in));
    print_json(doc);
  } else {
    print_dead_letters(in);
  }
  return 0;
}

int inspect_run(const struct inspect_options *o)
{
  char err[8192];
  struct cfg *cfg = cfg_load(o->config_path, err, sizeof err);
  if (!cfg) {
    fprintf(stderr, "parley inspect: %s\n", err);
    return 1;
  }
  struct inspect in = {.o = o, .now_ms = clock_wall_now_ms()};
  in.tail = &in.msgs;
  in.store = inspect_open_store(cfg, err, sizeof err);
  cfg_free(cfg);
  if (!in.store) {
    fprintf(stderr, "parley inspect: %s\n", err);
    return 1;
  }
  int rc = 1;
  if (in.store->ops->msg_each(in.store, select_msg, &in) < 0)
    fprintf(stderr, "parley inspect: the outbox could not be read\n");
  else
    rc = o->dead_letters ? show_dead_letters(&in) : show_contact(&in);
  free_msgs(&in);
  in.store->ops->close(in.store);
  return rc;
}

/* Journey stats: the reading side (stats.h), one document for the API, the CLI and
 * `parley test` alike. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "timestamp.h"

/* The rows every step and channel shows, 0 when nothing was counted. */
static const char *const step_rows[] = {"entered", "spoken", "timed_out", "converted", NULL};
static const char *const channel_rows[] = {"sent", "delivered", "failed", "clicked", "replied", "unsubscribed", NULL};

static cJSON *child(cJSON *parent, const char *name)
{
  cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, name);
  return o ? o : cJSON_AddObjectToObject(parent, name);
}

static void add_number(cJSON *obj, const char *name, double delta)
{
  cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (n)
    cJSON_SetNumberValue(n, n->valuedouble + delta);
  else
    cJSON_AddNumberToObject(obj, name, delta);
}

static void zero_rows(cJSON *obj, const char *const *rows)
{
  for (size_t i = 0; rows[i]; i++)
    add_number(obj, rows[i], 0);
}

struct view {
  cJSON *doc, *steps, *channels, *experiments, *attribution;
};

/* One counter into the document: "<journey> US <bucket> US <kind> US <name> US <what>". */
static int take(void *ud, const char *key, int64_t val)
{
  struct view *v = ud;
  char buf[512], *part[5];
  snprintf(buf, sizeof buf, "%s", key);
  char *p = buf;
  for (int i = 0; i < 5; i++) {
    part[i] = p;
    p = i < 4 ? strchr(p, STATS_SEP[0]) : NULL;
    if (i < 4 && !p)
      return 0; /* not one of ours */
    if (p)
      *p++ = '\0';
  }
  const char *kind = part[2], *name = part[3], *what = part[4];
  if (strcmp(kind, "conv") == 0) {
    add_number(strcmp(what, "unattributed") == 0 ? v->attribution : v->doc, what, (double)val);
  } else if (strcmp(kind, "step") == 0) {
    cJSON *s = child(v->steps, name);
    zero_rows(s, step_rows);
    child(s, "refused");
    add_number(s, what, (double)val);
  } else if (strcmp(kind, "refused") == 0) {
    cJSON *s = child(v->steps, name);
    zero_rows(s, step_rows);
    add_number(child(s, "refused"), what, (double)val);
  } else if (strcmp(kind, "channel") == 0) {
    cJSON *c = child(v->channels, name);
    zero_rows(c, channel_rows);
    add_number(c, what, (double)val);
  } else if (strcmp(kind, "assigned") == 0 || strcmp(kind, "arm_converted") == 0) {
    cJSON *a = child(child(v->experiments, name), what);
    add_number(a, "assigned", 0);
    add_number(a, "converted", 0);
    add_number(a, kind[0] == 'a' && kind[1] == 's' ? "assigned" : "converted", (double)val);
  } else if (strcmp(kind, "last_touch") == 0 || strcmp(kind, "linear") == 0) {
    char touch[300];
    snprintf(touch, sizeof touch, "%s/%s", name, what);
    add_number(child(v->attribution, kind), touch, kind[0] == 'l' && kind[1] == 'i'
                                                       ? (double)val / STATS_CREDIT_UNIT
                                                       : (double)val);
  }
  return 0;
}

static double rate(double num, double den)
{
  return den > 0 ? num / den : 0;
}

/* Arms by name, the holdout last, so a report reads the same every time. */
static int arm_order(const void *x, const void *y)
{
  const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
  int ha = strcmp(a->string, "holdout") == 0, hb = strcmp(b->string, "holdout") == 0;
  return ha != hb ? ha - hb : strcmp(a->string, b->string);
}

static void sort_arms(cJSON *exp)
{
  size_t n = (size_t)cJSON_GetArraySize(exp), i = 0;
  cJSON **arms = malloc((n ? n : 1) * sizeof *arms), *arm;
  if (!arms)
    return; /* out of memory: the order they came in */
  cJSON_ArrayForEach(arm, exp) arms[i++] = arm;
  qsort(arms, n, sizeof *arms, arm_order);
  for (i = 0; i < n; i++) {
    cJSON_DetachItemViaPointer(exp, arms[i]);
    cJSON_AddItemToArray(exp, arms[i]); /* an object is a list of named items: the name stays */
  }
  free(arms);
}

/* Each arm's lift over the holdout: its conversion rate relative to the holdout's
 * (0.25: a quarter more conversions), null while the holdout has converted no one. */
static void compare_with_holdout(cJSON *exp)
{
  const cJSON *holdout = cJSON_GetObjectItemCaseSensitive(exp, "holdout");
  double base = holdout ? cJSON_GetObjectItemCaseSensitive(holdout, "conversion_rate")->valuedouble : 0;
  cJSON *arm;
  if (!holdout)
    return;
  cJSON_ArrayForEach(arm, exp)
  {
    if (arm == holdout)
      continue;
    if (base > 0)
      cJSON_AddNumberToObject(arm, "lift_vs_holdout",
                              cJSON_GetObjectItemCaseSensitive(arm, "conversion_rate")->valuedouble / base - 1);
    else
      cJSON_AddNullToObject(arm, "lift_vs_holdout");
  }
}

/* What can only be said once every bucket is in: the rates, waiting never below 0. */
static void finish(struct view *v)
{
  cJSON *exp, *arm, *step;
  cJSON_ArrayForEach(exp, v->experiments) sort_arms(exp);
  cJSON_ArrayForEach(exp, v->experiments) cJSON_ArrayForEach(arm, exp)
  {
    double a = cJSON_GetObjectItemCaseSensitive(arm, "assigned")->valuedouble;
    cJSON_AddNumberToObject(arm, "conversion_rate", rate(cJSON_GetObjectItemCaseSensitive(arm, "converted")->valuedouble, a));
  }
  cJSON_ArrayForEach(exp, v->experiments) compare_with_holdout(exp);
  cJSON_ArrayForEach(step, v->steps)
  {
    cJSON *w = cJSON_GetObjectItemCaseSensitive(step, "waiting");
    if (!w)
      cJSON_AddNumberToObject(step, "waiting", 0);
    else if (w->valuedouble < 0)
      cJSON_SetNumberValue(w, 0);
  }
  double entered = cJSON_GetObjectItemCaseSensitive(v->doc, "entered")->valuedouble;
  cJSON_AddNumberToObject(v->doc, "conversion_rate",
                          rate(cJSON_GetObjectItemCaseSensitive(v->doc, "converted")->valuedouble, entered));
}

static void add_time(cJSON *doc, const char *name, int64_t ms)
{
  char t[32];
  if (ms <= 0) {
    cJSON_AddNullToObject(doc, name);
    return;
  }
  timestamp_format(ms, t, sizeof t);
  cJSON_AddStringToObject(doc, name, t);
}

static void window_text(int64_t ms, char *out, size_t len)
{
  if (ms % (24 * STATS_HOUR_MS) == 0)
    snprintf(out, len, "%lldd", (long long)(ms / (24 * STATS_HOUR_MS)));
  else if (ms % STATS_HOUR_MS == 0)
    snprintf(out, len, "%lldh", (long long)(ms / STATS_HOUR_MS));
  else
    snprintf(out, len, "%llds", (long long)(ms / 1000));
}

cJSON *stats_view(struct store *st, const char *journey, int64_t from_ms, int64_t to_ms, int64_t window_ms)
{
  char lo[300], hi[300], window[32];
  int64_t from_h = from_ms > 0 ? from_ms / STATS_HOUR_MS : 0;
  int64_t to_h = to_ms > 0 ? (to_ms + STATS_HOUR_MS - 1) / STATS_HOUR_MS : 0;
  struct view v = {.doc = cJSON_CreateObject()};
  cJSON_AddStringToObject(v.doc, "journey", journey);
  add_time(v.doc, "from", from_h * STATS_HOUR_MS);
  add_time(v.doc, "to", to_h * STATS_HOUR_MS);
  cJSON_AddStringToObject(v.doc, "bucket", "1h");
  cJSON_AddNumberToObject(v.doc, "entered", 0);
  cJSON_AddNumberToObject(v.doc, "converted", 0);
  v.steps = cJSON_AddObjectToObject(v.doc, "steps");
  v.channels = cJSON_AddObjectToObject(v.doc, "channels");
  v.experiments = cJSON_AddObjectToObject(v.doc, "experiments");
  v.attribution = cJSON_AddObjectToObject(v.doc, "attribution");
  window_text(window_ms, window, sizeof window);
  cJSON_AddStringToObject(v.attribution, "window", window);
  cJSON_AddObjectToObject(v.attribution, "last_touch");
  cJSON_AddObjectToObject(v.attribution, "linear");
  cJSON_AddNumberToObject(v.attribution, "unattributed", 0);
  snprintf(lo, sizeof lo, "%s" STATS_SEP "h%010lld", journey, (long long)from_h);
  if (to_h)
    snprintf(hi, sizeof hi, "%s" STATS_SEP "h%010lld", journey, (long long)to_h);
  else
    snprintf(hi, sizeof hi, "%s" STATS_SEP "i", journey); /* past every hour's bucket */
  int n = st->ops->tally_scan(st, lo, hi, take, &v);
  snprintf(lo, sizeof lo, "%s" STATS_SEP "g", journey);
  snprintf(hi, sizeof hi, "%s" STATS_SEP "h", journey);
  if (n < 0 || st->ops->tally_scan(st, lo, hi, take, &v) < 0) {
    cJSON_Delete(v.doc);
    return NULL;
  }
  finish(&v);
  return v.doc;
}

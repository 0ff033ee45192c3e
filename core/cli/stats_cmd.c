/* `parley stats` (stats_cmd.h): tables for people, the API's JSON for machines. */
#include "stats_cmd.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "inspect.h"
#include "stats.h"
#include "store/store.h"

static double num(const cJSON *obj, const char *name)
{
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsNumber(n) ? n->valuedouble : 0;
}

static void print_steps(const cJSON *steps)
{
  const cJSON *s, *r;
  printf("\n%-20s %9s %9s %9s %9s %9s %9s\n", "step", "entered", "spoken", "refused", "waiting", "timed_out",
         "converted");
  cJSON_ArrayForEach(s, steps)
  {
    double refused = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s, "refused")) refused += r->valuedouble;
    printf("%-20s %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f\n", s->string, num(s, "entered"), num(s, "spoken"), refused,
           num(s, "waiting"), num(s, "timed_out"), num(s, "converted"));
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s, "refused"))
      printf("%-20s   refused %s: %.0f\n", "", r->string, r->valuedouble);
  }
}

static void print_channels(const cJSON *channels)
{
  static const char *const rows[] = {"sent", "delivered", "failed", "clicked", "replied", "unsubscribed"};
  const cJSON *c, *o;
  if (!cJSON_GetArraySize(channels))
    return;
  printf("\n%-20s %9s %9s %9s %9s %9s %12s\n", "channel", rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]);
  cJSON_ArrayForEach(c, channels)
  {
    printf("%-20s", c->string);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
      printf(i + 1 < sizeof rows / sizeof rows[0] ? " %9.0f" : " %12.0f", num(c, rows[i]));
    putchar('\n');
    cJSON_ArrayForEach(o, c) /* what else the channel's events said: opened, complained ... */
    {
      int shown = 0;
      for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        shown |= strcmp(o->string, rows[i]) == 0;
      if (!shown)
        printf("%-20s   %s: %.0f\n", "", o->string, o->valuedouble);
    }
  }
}

static void print_experiments(const cJSON *experiments)
{
  const cJSON *e, *a;
  cJSON_ArrayForEach(e, experiments)
  {
    printf("\nexperiment %s\n%-20s %9s %9s %9s %12s\n", e->string, "arm", "assigned", "converted", "rate",
           "vs holdout");
    cJSON_ArrayForEach(a, e)
    {
      const cJSON *lift = cJSON_GetObjectItemCaseSensitive(a, "lift_vs_holdout");
      char vs[32] = "";
      if (cJSON_IsNumber(lift))
        snprintf(vs, sizeof vs, "%+.1f%%", 100 * lift->valuedouble);
      else if (lift)
        snprintf(vs, sizeof vs, "-");
      printf("%-20s %9.0f %9.0f %8.1f%% %12s\n", a->string, num(a, "assigned"), num(a, "converted"),
             100 * num(a, "conversion_rate"), vs);
    }
  }
}

static void print_attribution(const cJSON *at)
{
  const cJSON *last = cJSON_GetObjectItemCaseSensitive(at, "last_touch");
  const cJSON *linear = cJSON_GetObjectItemCaseSensitive(at, "linear"), *m;
  const cJSON *window = cJSON_GetObjectItemCaseSensitive(at, "window");
  printf("\nattribution (window %s)\n%-30s %10s %10s\n", cJSON_IsString(window) ? window->valuestring : "?",
         "message", "last_touch", "linear");
  cJSON_ArrayForEach(m, linear)
    printf("%-30s %10.0f %10.2f\n", m->string, num(last, m->string), m->valuedouble);
  printf("%-30s %10.0f\n", "(unattributed)", num(at, "unattributed"));
}

static void print_journey(const cJSON *doc)
{
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(doc, "from");
  const cJSON *to = cJSON_GetObjectItemCaseSensitive(doc, "to");
  printf("journey %s, from %s to %s (hourly buckets)\n", cJSON_GetObjectItemCaseSensitive(doc, "journey")->valuestring,
         cJSON_IsString(from) ? from->valuestring : "the start", cJSON_IsString(to) ? to->valuestring : "now");
  printf("entered %.0f, converted %.0f (%.1f%%)\n", num(doc, "entered"), num(doc, "converted"),
         100 * num(doc, "conversion_rate"));
  print_steps(cJSON_GetObjectItemCaseSensitive(doc, "steps"));
  print_channels(cJSON_GetObjectItemCaseSensitive(doc, "channels"));
  print_experiments(cJSON_GetObjectItemCaseSensitive(doc, "experiments"));
  print_attribution(cJSON_GetObjectItemCaseSensitive(doc, "attribution"));
}

/* The journeys that have counters: the first part of every key, once each. */
struct names {
  cJSON *list;
};

static int collect(void *ud, const char *key, int64_t val)
{
  struct names *n = ud;
  char name[300];
  snprintf(name, sizeof name, "%.*s", (int)strcspn(key, STATS_SEP), key);
  int size = cJSON_GetArraySize(n->list);
  const cJSON *last = size ? cJSON_GetArrayItem(n->list, size - 1) : NULL;
  if (!last || strcmp(last->valuestring, name) != 0)
    cJSON_AddItemToArray(n->list, cJSON_CreateString(name));
  (void)val;
  return 0;
}

/* Every journey with stats: one line each (the JSON: a list of their documents). */
static int show_all(struct store *st, const struct stats_cmd_options *o, int64_t window)
{
  struct names n = {cJSON_CreateArray()};
  if (st->ops->tally_scan(st, "", NULL, collect, &n) < 0) {
    cJSON_Delete(n.list);
    fprintf(stderr, "parley stats: the store's stats could not be read\n");
    return 1;
  }
  cJSON *all = cJSON_CreateArray();
  const cJSON *name;
  if (!o->json)
    printf("%-24s %9s %9s %9s\n", "journey", "entered", "converted", "rate");
  cJSON_ArrayForEach(name, n.list)
  {
    cJSON *doc = stats_view(st, name->valuestring, o->from_ms, o->to_ms, window);
    if (!doc)
      continue;
    if (!o->json)
      printf("%-24s %9.0f %9.0f %8.1f%%\n", name->valuestring, num(doc, "entered"), num(doc, "converted"),
             100 * num(doc, "conversion_rate"));
    cJSON_AddItemToArray(all, doc);
  }
  if (o->json) {
    char *text = cJSON_Print(all);
    puts(text);
    free(text);
  }
  cJSON_Delete(all);
  cJSON_Delete(n.list);
  return 0;
}

/* Any counter of `journey` at all, whatever the range? */
static int seen(void *ud, const char *key, int64_t val)
{
  (void)key, (void)val;
  *(int *)ud = 1;
  return 1;
}

static int show_one(struct store *st, const struct stats_cmd_options *o, int64_t window)
{
  char lo[300], hi[300];
  int any = 0;
  snprintf(lo, sizeof lo, "%s" STATS_SEP, o->journey);
  snprintf(hi, sizeof hi, "%s" STATS_SEP "\x7f", o->journey);
  if (st->ops->tally_scan(st, lo, hi, seen, &any) < 0 || !any) {
    fprintf(stderr, "parley stats: no stats for journey '%s' (has it run?)\n", o->journey);
    return 1;
  }
  cJSON *doc = stats_view(st, o->journey, o->from_ms, o->to_ms, window);
  if (!doc) {
    fprintf(stderr, "parley stats: the stats of '%s' could not be read\n", o->journey);
    return 1;
  }
  if (o->json) {
    char *text = cJSON_Print(doc);
    puts(text);
    free(text);
  } else {
    print_journey(doc);
  }
  cJSON_Delete(doc);
  return 0;
}

int stats_cmd_run(const struct stats_cmd_options *o)
{
  char err[8192];
  struct cfg *cfg = cfg_load(o->config_path, err, sizeof err);
  if (!cfg) {
    fprintf(stderr, "parley stats: %s\n", err);
    return 1;
  }
  int64_t window = cfg->attribution_window_ms;
  struct store *st = inspect_open_store(cfg, err, sizeof err);
  cfg_free(cfg);
  if (!st) {
    fprintf(stderr, "parley stats: %s\n", err);
    return 1;
  }
  int rc = o->journey ? show_one(st, o, window) : show_all(st, o, window);
  st->ops->close(st);
  return rc;
}

/* Plugin metrics: a registry of families (one per plugin and name, typed, with one help
 * line and, for histograms, the bucket bounds) holding one series per channel instance.
 * Everything runs on the loop thread (updates and /metrics), so nothing is locked.
 *
 * A series belongs to its instance: plugin_metrics_release removes it at close, and a
 * family goes with its last series, so what /metrics shows is what is running. */
#include "plugin_metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin_int.h"

#define NAME_MAX_BYTES 64
#define MAX_BOUNDS 32

struct family {
  char *name; /* parley_plugin_<plugin>_<name> */
  char *help;
  enum parley_metric_type type;
  double *bounds;
  size_t n_bounds;
  struct parley_metric *series; /* in registration order */
  struct family *next;
};

struct parley_metric {
  struct family *fam;
  struct plugin_inst *pi;
  double value;      /* counter, gauge */
  uint64_t *buckets; /* histogram: n_bounds + 1 (the last is +Inf), not cumulative */
  double sum;
  uint64_t count;
  int warned;                        /* a refused update was logged already */
  struct parley_metric *next;        /* in the family */
  struct parley_metric *inst_next;   /* in the instance */
};

struct plugin_metrics {
  struct family *families, *tail;
};

static const double default_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct plugin_metrics *plugin_metrics_open(void) { return calloc(1, sizeof(struct plugin_metrics)); }

static void family_free(struct family *f)
{
  free(f->name);
  free(f->help);
  free(f->bounds);
  free(f);
}

void plugin_metrics_close(struct plugin_metrics *m)
{
  if (m == NULL)
    return;
  for (struct family *f = m->families, *next; f; f = next) { /* none, unless an instance leaked */
    next = f->next;
    for (struct parley_metric *s = f->series, *sn; s; s = sn) {
      sn = s->next;
      free(s->buckets);
      free(s);
    }
    family_free(f);
  }
  free(m);
}

/* [a-z_][a-z0-9_]*: a Prometheus name that needs no escaping and no case rules. */
static int name_ok(const char *s)
{
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > NAME_MAX_BYTES || (s[0] >= '0' && s[0] <= '9'))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return 0;
  return 1;
}

static const char *bounds_problem(const double *b, size_t n)
{
  if (n > MAX_BOUNDS)
    return "more than 32 bucket bounds";
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(b[i]))
      return "a bucket bound is not finite";
    if (i > 0 && !(b[i] > b[i - 1]))
      return "bucket bounds must increase";
  }
  return NULL;
}

static struct family *family_find(struct plugin_metrics *m, const char *name)
{
  for (struct family *f = m->families; f; f = f->next)
    if (strcmp(f->name, name) == 0)
      return f;
  return NULL;
}

static struct family *family_new(struct plugin_metrics *m, const char *name, const char *help,
                                 enum parley_metric_type type, const double *b, size_t nb)
{
  struct family *f = calloc(1, sizeof *f);
  if (f == NULL)
    return NULL;
  f->name = strdup(name);
  f->help = strdup(help);
  f->type = type;
  f->n_bounds = type == PARLEY_METRIC_HISTOGRAM ? nb : 0;
  f->bounds = f->n_bounds ? malloc(nb * sizeof *b) : NULL;
  if (!f->name || !f->help || (f->n_bounds && !f->bounds)) {
    family_free(f);
    return NULL;
  }
  if (f->n_bounds)
    memcpy(f->bounds, b, nb * sizeof *b);
  if (m->tail)
    m->tail->next = f;
  else
    m->families = f;
  m->tail = f;
  return f;
}

/* Unlinks and frees a family without series. */
static void family_drop(struct plugin_metrics *m, struct family *f)
{
  struct family **at = &m->families, *prev = NULL;
  while (*at != f) {
    prev = *at;
    at = &(*at)->next;
  }
  *at = f->next;
  if (m->tail == f)
    m->tail = prev;
  family_free(f);
}

static int same_shape(const struct family *f, enum parley_metric_type type, const double *b, size_t nb)
{
  if (f->type != type)
    return 0;
  return type != PARLEY_METRIC_HISTOGRAM ||
         (f->n_bounds == nb && memcmp(f->bounds, b, nb * sizeof *b) == 0);
}

static parley_metric *refused(struct plugin_inst *pi, const char *name, const char *why)
{
  log_kv(pi->env.log, LOG_ERROR, pi->subsys, "metric refused", "plugin", pi->desc->name, "channel",
         pi->channel, "metric", name ? name : "(null)", "reason", why, (char *)NULL);
  return NULL;
}

static parley_metric *series_new(struct plugin_inst *pi, struct family *f)
{
  struct parley_metric *s = calloc(1, sizeof *s);
  if (s && f->type == PARLEY_METRIC_HISTOGRAM && !(s->buckets = calloc(f->n_bounds + 1, sizeof *s->buckets))) {
    free(s);
    s = NULL;
  }
  if (s == NULL)
    return NULL;
  s->fam = f;
  s->pi = pi;
  struct parley_metric **at = &f->series;
  while (*at)
    at = &(*at)->next;
  *at = s;
  s->inst_next = pi->metrics;
  pi->metrics = s;
  return s;
}

parley_metric *plugin_metric_register(parley_ctx *ctx, enum parley_metric_type type, const char *name,
                                      const char *help, const double *bounds, size_t n_bounds)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return NULL;
  struct plugin_metrics *m = pi->env.metrics;
  if (type == PARLEY_METRIC_HISTOGRAM && bounds == NULL) {
    bounds = default_bounds;
    n_bounds = sizeof default_bounds / sizeof default_bounds[0];
  }
  const char *why = NULL;
  if (m == NULL)
    why = "no metrics in this host";
  else if (type < PARLEY_METRIC_COUNTER || type > PARLEY_METRIC_HISTOGRAM)
    why = "unknown metric type";
  else if (!name_ok(name))
    why = "the name must match [a-z_][a-z0-9_]*, at most 64 bytes";
  else if (!name_ok(pi->desc->name))
    why = "the plugin's name does not match [a-z_][a-z0-9_]*, so its metrics cannot be named";
  else if (help == NULL || help[0] == '\0')
    why = "no help line";
  else if (type == PARLEY_METRIC_HISTOGRAM)
    why = bounds_problem(bounds, n_bounds);
  if (why)
    return refused(pi, name, why);
  char full[3 * NAME_MAX_BYTES];
  snprintf(full, sizeof full, "parley_plugin_%s_%s", pi->desc->name, name);
  struct family *f = family_find(m, full);
  if (f && !same_shape(f, type, bounds, n_bounds))
    return refused(pi, name, f->type != type ? "registered already with another type"
                                             : "registered already with other bucket bounds");
  for (struct parley_metric *s = pi->metrics; f && s; s = s->inst_next)
    if (s->fam == f)
      return s; /* the same instance, again */
  int made = f == NULL;
  if (made && (f = family_new(m, full, help, type, bounds, n_bounds)) == NULL)
    return refused(pi, name, "out of memory");
  parley_metric *s = series_new(pi, f);
  if (s == NULL && made)
    family_drop(m, f);
  return s ? s : refused(pi, name, "out of memory");
}

/* A refused update is logged once per metric: updates sit on hot paths. */
static int update_ok(struct plugin_inst *pi, parley_metric *s, int ok, const char *why)
{
  if (ok)
    return 1;
  if (s && !s->warned) {
    s->warned = 1;
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "metric update refused", "plugin", pi->desc->name,
           "metric", s->fam->name, "reason", why, (char *)NULL);
  }
  return 0;
}

static struct plugin_inst *owner(parley_ctx *ctx, parley_metric *s)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  return pi && s && s->pi == pi ? pi : NULL; /* NULL: a refused register, or another's metric */
}

void plugin_metric_add(parley_ctx *ctx, parley_metric *s, double v)
{
  struct plugin_inst *pi = owner(ctx, s);
  if (pi == NULL || !update_ok(pi, s, s->fam->type != PARLEY_METRIC_HISTOGRAM, "metric_add on a histogram") ||
      !update_ok(pi, s, isfinite(v), "a value that is not finite") ||
      !update_ok(pi, s, s->fam->type != PARLEY_METRIC_COUNTER || v >= 0, "a counter only goes up"))
    return;
  s->value += v;
}

void plugin_metric_set(parley_ctx *ctx, parley_metric *s, double v)
{
  struct plugin_inst *pi = owner(ctx, s);
  if (pi == NULL || !update_ok(pi, s, s->fam->type == PARLEY_METRIC_GAUGE, "metric_set on a counter or histogram") ||
      !update_ok(pi, s, !isnan(v), "a value that is not a number"))
    return;
  s->value = v;
}

void plugin_metric_observe(parley_ctx *ctx, parley_metric *s, double v)
{
  struct plugin_inst *pi = owner(ctx, s);
  if (pi == NULL || !update_ok(pi, s, s->fam->type == PARLEY_METRIC_HISTOGRAM, "metric_observe on a counter or gauge") ||
      !update_ok(pi, s, !isnan(v), "a value that is not a number"))
    return;
  size_t i = 0;
  while (i < s->fam->n_bounds && v > s->fam->bounds[i])
    i++;
  s->buckets[i]++;
  s->sum += v;
  s->count++;
}

void plugin_metrics_release(struct plugin_inst *pi)
{
  while (pi->metrics) {
    struct parley_metric *s = pi->metrics, **at = &s->fam->series;
    pi->metrics = s->inst_next;
    while (*at != s)
      at = &(*at)->next;
    *at = s->next;
    if (s->fam->series == NULL)
      family_drop(pi->env.metrics, s->fam);
    free(s->buckets);
    free(s);
  }
}

/* --- Prometheus text, format 0.0.4 --- */

/* Integral values print as integers ("3", not "3.0000"); others in the fewest digits
 * that read back as the same double (3.55, not 3.5499999999999998). */
static void put_number(FILE *f, double v)
{
  char buf[40];
  if (isinf(v)) {
    fputs(v > 0 ? "+Inf" : "-Inf", f);
    return;
  }
  if (v > -9.0e15 && v < 9.0e15 && v == (double)(int64_t)v) {
    fprintf(f, "%lld", (long long)v);
    return;
  }
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  fputs(buf, f);
}

/* Help text escapes \ and newline; a label value also ". */
static void put_escaped(FILE *f, const char *s, int label)
{
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\\\", f);
    else if (*s == '\n')
      fputs("\\n", f);
    else if (label && *s == '"')
      fputs("\\\"", f);
    else
      fputc(*s, f);
  }
}

static void put_labels(FILE *f, const struct parley_metric *s, const char *le)
{
  fputs("{channel=\"", f);
  put_escaped(f, s->pi->channel, 1);
  fputc('"', f);
  if (le)
    fprintf(f, ",le=\"%s\"", le);
  fputs("} ", f);
}

static void put_histogram(FILE *f, const struct family *fam, const struct parley_metric *s)
{
  uint64_t cum = 0;
  for (size_t i = 0; i <= fam->n_bounds; i++) {
    char le[40];
    if (i < fam->n_bounds)
      snprintf(le, sizeof le, "%.15g", fam->bounds[i]);
    else
      snprintf(le, sizeof le, "+Inf");
    cum += s->buckets[i];
    fprintf(f, "%s_bucket", fam->name);
    put_labels(f, s, le);
    fprintf(f, "%llu\n", (unsigned long long)cum);
  }
  fprintf(f, "%s_sum", fam->name);
  put_labels(f, s, NULL);
  put_number(f, s->sum);
  fprintf(f, "\n%s_count", fam->name);
  put_labels(f, s, NULL);
  fprintf(f, "%llu\n", (unsigned long long)s->count);
}

void plugin_metrics_render(const struct plugin_metrics *m, FILE *f)
{
  static const char *const types[] = {"", "counter", "gauge", "histogram"};
  for (const struct family *fam = m ? m->families : NULL; fam; fam = fam->next) {
    fprintf(f, "# HELP %s ", fam->name);
    put_escaped(f, fam->help, 0);
    fprintf(f, "\n# TYPE %s %s\n", fam->name, types[fam->type]);
    for (const struct parley_metric *s = fam->series; s; s = s->next) {
      if (fam->type == PARLEY_METRIC_HISTOGRAM) {
        put_histogram(f, fam, s);
        continue;
      }
      fputs(fam->name, f);
      put_labels(f, s, NULL);
      put_number(f, s->value);
      fputc('\n', f);
    }
  }
}

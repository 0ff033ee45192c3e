/* Per-channel figures for GET /metrics, in Prometheus text: what each channel's lane in
 * the outbox counted since the process started (delivered, failed by reason, retried,
 * dead-lettered, the speak-to-delivered latency) and what it holds now (in flight,
 * queued). Every series carries the label channel="<name>". */
#include <stdio.h>
#include <string.h>

#include "outbox.h"
#include "view.h"

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static void put_label(FILE *f, const char *v)
{
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      fputc('\\', f);
    if (*v == '\n')
      fputs("\\n", f);
    else
      fputc(*v, f);
  }
}

static void series(FILE *f, const char *name, const struct outbox_lane *lane)
{
  fprintf(f, "%s{channel=\"", name);
  put_label(f, lane->channel);
  fputc('"', f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
  fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One counter or gauge: a line per lane, read by `get`. */
static void family(FILE *f, const struct outbox *ob, const char *name, const char *type, const char *help,
                   unsigned long long (*get)(const struct outbox_lane *))
{
  head(f, name, type, help);
  for (size_t i = 0; i < ob->n_lanes; i++) {
    series(f, name, ob->lanes[i]);
    fprintf(f, "} %llu\n", get(ob->lanes[i]));
  }
}

static unsigned long long delivered(const struct outbox_lane *l) { return l->stats.delivered; }
static unsigned long long retried(const struct outbox_lane *l) { return l->stats.retried; }
static unsigned long long dead(const struct outbox_lane *l) { return l->stats.dead; }
static unsigned long long in_flight(const struct outbox_lane *l) { return l->in_flight; }
/* Claimed messages wait for their commit: still queued, as far as anyone outside knows. */
static unsigned long long queued(const struct outbox_lane *l) { return l->n_heap + l->reserved; }

static void failed(FILE *f, const struct outbox *ob)
{
  const char *name = "parley_channel_failed_total";
  head(f, name, "counter", "Messages a plugin failed for good, by reason (each is dead-lettered).");
  for (size_t i = 0; i < ob->n_lanes; i++)
    for (int r = 0; r < OUTBOX_FAIL_REASONS; r++) {
      series(f, name, ob->lanes[i]);
      fprintf(f, ",reason=\"%s\"} %llu\n", outbox_fail_reason_name(r),
              (unsigned long long)ob->lanes[i]->stats.failed[r]);
    }
}

static void latency(FILE *f, const struct outbox *ob)
{
  const char *name = "parley_channel_delivery_seconds";
  head(f, name, "histogram", "Time from speak to delivered.");
  for (size_t i = 0; i < ob->n_lanes; i++) {
    const struct outbox_lane *l = ob->lanes[i];
    unsigned long long n = 0;
    for (size_t b = 0; b <= OUTBOX_LATENCY_BUCKETS; b++) {
      n += l->stats.latency[b];
      series(f, "parley_channel_delivery_seconds_bucket", l);
      if (b < OUTBOX_LATENCY_BUCKETS)
        fprintf(f, ",le=\"%g\"} %llu\n", outbox_latency_bounds[b], n);
      else
        fprintf(f, ",le=\"+Inf\"} %llu\n", n);
    }
    series(f, "parley_channel_delivery_seconds_sum", l);
    fprintf(f, "} %.3f\n", l->stats.latency_sum);
    series(f, "parley_channel_delivery_seconds_count", l);
    fprintf(f, "} %llu\n", n);
  }
}

void view_channel_metrics(FILE *f, const struct outbox *ob)
{
  family(f, ob, "parley_channel_delivered_total", "counter", "Messages a plugin delivered.", delivered);
  failed(f, ob);
  family(f, ob, "parley_channel_retried_total", "counter", "Delivery retries scheduled.", retried);
  family(f, ob, "parley_channel_dead_total", "counter",
         "Messages dead-lettered (failed for good, retries exhausted, no plugin).", dead);
  family(f, ob, "parley_channel_in_flight", "gauge", "Messages handed to the plugin, not yet completed.",
         in_flight);
  family(f, ob, "parley_channel_queued", "gauge", "Messages waiting for their turn (due or not).", queued);
  latency(f, ob);
}

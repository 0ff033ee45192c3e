/* Plugin metrics (metric_register and friends in parley/plugin.h): the registry the core
 * makes and hands to the loader (struct plugin_env), and its Prometheus text for
 * GET /metrics. Families are named parley_plugin_<plugin>_<name>, one series per channel
 * instance, labelled {channel="<channel>"}. */
#ifndef PARLEY_PLUGIN_METRICS_H
#define PARLEY_PLUGIN_METRICS_H
#include <stdio.h>

struct plugin_metrics;

/* NULL when out of memory. */
struct plugin_metrics *plugin_metrics_open(void);
/* After every instance closed (each removed its series); NULL is ignored. */
void plugin_metrics_close(struct plugin_metrics *m);
/* Writes every family with at least one series, in the order they were registered, in
 * the Prometheus text format (version 0.0.4). Loop thread, as the updates. */
void plugin_metrics_render(const struct plugin_metrics *m, FILE *f);

#endif

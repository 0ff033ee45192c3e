/* Journey stats: the counting side (stats.h). */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "context.h"

/* Builds the key in `out`; 0, or -1 when a part could break it (a separator inside, too
 * long for the store). */
static int make_key(char *out, size_t len, const char *journey, const char *bucket, const char *kind,
                    const char *name, const char *what)
{
  const char *parts[] = {journey, kind, name, what};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (!parts[i] || strchr(parts[i], STATS_SEP[0]))
      return -1;
  int n = snprintf(out, len, "%s" STATS_SEP "%s" STATS_SEP "%s" STATS_SEP "%s" STATS_SEP "%s", journey, bucket,
                   kind, name, what);
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void add(struct core *core, const char *key, int64_t delta)
{
  if (core->store->ops->tally_add(core->store, key, delta) < 0)
    log_kv(&core->log, LOG_WARN, "stats", "a journey counter could not be written", (char *)NULL);
}

void stats_count(struct core *core, const char *journey, const char *kind, const char *name, const char *what,
                 int64_t delta)
{
  char bucket[16], key[500];
  snprintf(bucket, sizeof bucket, "h%010lld", (long long)(clock_now_ms(&core->clock) / STATS_HOUR_MS));
  if (delta && make_key(key, sizeof key, journey, bucket, kind, name, what) == 0)
    add(core, key, delta);
}

void stats_gauge(struct core *core, const char *journey, const char *kind, const char *name, const char *what,
                 int64_t delta)
{
  char key[500];
  if (delta && make_key(key, sizeof key, journey, "g", kind, name, what) == 0)
    add(core, key, delta);
}

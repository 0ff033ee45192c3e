/* Journey stats: the counting side (stats.h). */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "context.h"

/* Builds the key in `out`; 0, or -1 when a part could break it (a separator inside, too
 * long for the store). Joined by hand: several counters move with every event, and
 * formatting them was most of their cost. */
static int make_key(char *out, size_t len, const char *journey, const char *bucket, const char *kind,
                    const char *name, const char *what)
{
  const char *parts[] = {journey, bucket, kind, name, what};
  size_t at = 0;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (!parts[i] || strchr(parts[i], STATS_SEP[0]))
      return -1;
    size_t n = strlen(parts[i]);
    if (at + n + 1 >= len)
      return -1;
    if (i > 0)
      out[at++] = STATS_SEP[0];
    memcpy(out + at, parts[i], n);
    at += n;
  }
  out[at] = '\0';
  return 0;
}

/* "h" and the hour since 1970 in ten digits, so buckets sort as text. */
static void hour_bucket(char out[12], int64_t ms)
{
  long long h = ms / STATS_HOUR_MS;
  out[0] = 'h';
  for (int i = 10; i >= 1; i--, h /= 10)
    out[i] = (char)('0' + (h < 0 ? 0 : h % 10));
  out[11] = '\0';
}

static void add(struct core *core, const char *key, int64_t delta)
{
  if (core->store->ops->tally_add(core->store, key, delta) < 0)
    log_kv(&core->log, LOG_WARN, "stats", "a journey counter could not be written", (char *)NULL);
}

void stats_count(struct core *core, const char *journey, const char *kind, const char *name, const char *what,
                 int64_t delta)
{
  char bucket[12], key[500];
  hour_bucket(bucket, clock_now_ms(&core->clock));
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

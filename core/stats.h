/* Journey stats, kept incrementally: counters in the store (store.h, tally_add) under text
 * keys, added to in the same batch as the state change they count, so a commit keeps both
 * or neither and a restart resumes where the last commit left them. Never a scan of the
 * contacts: each counter is bumped where its event happens (conv.c, core.c, attrib.c).
 *
 * Keys: "<journey> US h<hour> US <kind> US <name> US <what>" (US = 0x1f, hour = hours since
 * 1970, ten digits), one bucket an hour, so a time range reads its buckets only; gauges
 * (what is true now, such as the conversations waiting at a step) have 'g' for the hour:
 * "<journey> US g US <kind> US <name> US <what>". A part holding 0x1f is not counted. */
#ifndef PARLEY_STATS_H
#define PARLEY_STATS_H
#include <stdint.h>

#include "store/store.h"

struct core;
typedef struct cJSON cJSON;

#define STATS_SEP "\x1f"
#define STATS_HOUR_MS ((int64_t)3600 * 1000)
/* Linear attribution gives each of n touches 1/n of a conversion: kept in millionths. */
#define STATS_CREDIT_UNIT 1000000

/* Adds `delta` to the counter <kind, name, what> of `journey` in the current hour's
 * bucket (the core's clock). */
void stats_count(struct core *core, const char *journey, const char *kind, const char *name, const char *what,
                 int64_t delta);
/* The same on a gauge (no bucket: a value now). */
void stats_gauge(struct core *core, const char *journey, const char *kind, const char *name, const char *what,
                 int64_t delta);

/* The stats of `journey` for the buckets that begin in [from_ms, to_ms) (to_ms 0: no end),
 * as GET /v1/journeys/{name}/stats answers them (README, "Journey stats"). The gauges are
 * today's, whatever the range. `window_ms`: the attribution window shown. NULL when the
 * store cannot be read. */
cJSON *stats_view(struct store *st, const char *journey, int64_t from_ms, int64_t to_ms, int64_t window_ms);

#endif

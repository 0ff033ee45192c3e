/* `parley stats [JOURNEY] [--json] [--from T] [--to T]`: a journey's stats (stats.h) read
 * from the LMDB store opened read-only, as `parley inspect` reads it, so it works beside a
 * running daemon; without JOURNEY, one line per journey that has any. */
#ifndef PARLEY_STATS_CMD_H
#define PARLEY_STATS_CMD_H
#include <stdint.h>

struct stats_cmd_options {
  const char *config_path; /* NULL: the embedded default */
  const char *journey;     /* NULL: every journey, a line each */
  int json;                /* the document GET /v1/journeys/{name}/stats answers */
  int64_t from_ms, to_ms;  /* 0: no bound */
};

/* The exit code: 0, 1 (no stats for that journey, an unreadable store; said on stderr). */
int stats_cmd_run(const struct stats_cmd_options *o);

#endif

/* Durations as marketers write them: "500ms", "90s", "15m", "4h", "7d", "2w", or a plain
 * number of seconds. */
#ifndef PARLEY_DURATION_H
#define PARLEY_DURATION_H
#include <stdint.h>
#include <stddef.h>

/* Returns 0 and sets *ms, or -1 with a message in err naming what is wrong. */
int duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);

#endif

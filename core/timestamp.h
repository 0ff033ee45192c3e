/* RFC 3339 date-time text, read and written: "2026-11-18T09:30:00Z",
 * "2026-11-18T10:30:00.250+01:00". No state. */
#ifndef PARLEY_TIMESTAMP_H
#define PARLEY_TIMESTAMP_H
#include <stddef.h>
#include <stdint.h>

/* Reads an RFC 3339 date-time (section 5.6: a date, 'T', a time with optional fraction,
 * and an offset, 'Z' or +hh:mm; 't' and 'z' too) into milliseconds since the epoch, the
 * fraction cut to milliseconds and a leap second (:60) read as the next second's start.
 * Returns 0, or -1 when s is not one or names no real moment (February 30th, 24:00). */
int timestamp_parse(const char *s, int64_t *ms);
/* ms as "YYYY-MM-DDThh:mm:ssZ" in buf (at least 32 bytes), for messages. */
void timestamp_format(int64_t ms, char *buf, size_t len);
/* ms as "YYYY-MM-DDThh:mm:ss.mmmZ" in buf (at least 32 bytes): every time the API answers,
 * to the millisecond the core keeps, always three digits so the texts sort as the times. */
void timestamp_format_ms(int64_t ms, char *buf, size_t len);

#endif

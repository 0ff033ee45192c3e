/* Time zones by IANA name, from the system's zoneinfo through GLib's GTimeZone (safe from
 * any thread, daylight-saving changes included). GLib reads a zone's file again whenever
 * no reference to it is held, so a `struct zones` keeps the last few met. */
#ifndef PARLEY_ZONES_H
#define PARLEY_ZONES_H
#include <glib.h>

struct zones;

struct zones *zones_new(void);
void zones_free(struct zones *z);
/* A new reference (g_time_zone_unref it) to the zone `name` (NULL: UTC), or NULL when the
 * system has no such zone. `z` may be NULL: the file is read each time. */
GTimeZone *zones_get(struct zones *z, const char *name);

#endif

/* See zones.h. */
#include "zones.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONES_KEPT 16 /* past that, the oldest is let go */
#define ZONE_NAME 64  /* the longest name a profile's timezone may have */

struct zones {
  struct {
    char name[ZONE_NAME + 1];
    GTimeZone *tz;
  } v[ZONES_KEPT];
  unsigned next; /* the slot the next zone takes */
};

struct zones *zones_new(void)
{
  return calloc(1, sizeof(struct zones));
}

void zones_free(struct zones *z)
{
  if (z == NULL)
    return;
  for (unsigned i = 0; i < ZONES_KEPT; i++)
    if (z->v[i].tz)
      g_time_zone_unref(z->v[i].tz);
  free(z);
}

GTimeZone *zones_get(struct zones *z, const char *name)
{
  if (name == NULL)
    return g_time_zone_new_utc();
  if (z == NULL || strlen(name) > ZONE_NAME)
    return g_time_zone_new_identifier(name);
  for (unsigned i = 0; i < ZONES_KEPT && z->v[i].tz; i++)
    if (strcmp(z->v[i].name, name) == 0)
      return g_time_zone_ref(z->v[i].tz);
  GTimeZone *tz = g_time_zone_new_identifier(name);
  if (tz == NULL)
    return NULL;
  unsigned slot = z->next++ % ZONES_KEPT;
  if (z->v[slot].tz)
    g_time_zone_unref(z->v[slot].tz);
  snprintf(z->v[slot].name, sizeof z->v[slot].name, "%s", name);
  z->v[slot].tz = g_time_zone_ref(tz);
  return tz;
}

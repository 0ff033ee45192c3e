/* See quiet.h. */
#include "quiet.h"

#include <stdio.h>

#include "cfg.h"
#include "zones.h"

static int in_window(int m, int from, int to)
{
  return from < to ? m >= from && m < to : m >= from || m < to; /* the second wraps midnight */
}

/* The first `to` o'clock (local wall clock) after `local`. */
static GDateTime *window_end(GDateTime *local, GTimeZone *tz, int to)
{
  GDateTime *end = g_date_time_new(tz, g_date_time_get_year(local), g_date_time_get_month(local),
                                   g_date_time_get_day_of_month(local), to / 60, to % 60, 0);
  if (end && g_date_time_compare(end, local) <= 0) {
    GDateTime *next = g_date_time_add_days(end, 1);
    g_date_time_unref(end);
    end = next;
  }
  return end;
}

int64_t quiet_until(struct zones *zones, const struct cfg *cfg, const struct cfg_channel *ch,
                    const cJSON *profile, int64_t now_ms, char *local, size_t len)
{
  if (ch == NULL || ch->quiet_from < 0)
    return 0;
  const cJSON *z = cJSON_GetObjectItemCaseSensitive(profile, "timezone");
  GTimeZone *tz = zones_get(zones, cJSON_IsString(z) ? z->valuestring : cfg->timezone);
  if (tz == NULL) /* checked when set; a zone the system lost since: the configuration's */
    tz = zones_get(zones, cfg->timezone);
  GDateTime *utc = tz ? g_date_time_new_from_unix_utc(now_ms / 1000) : NULL;
  GDateTime *now = utc ? g_date_time_to_timezone(utc, tz) : NULL, *end = NULL;
  int64_t until = 0;
  if (now && in_window(g_date_time_get_hour(now) * 60 + g_date_time_get_minute(now), ch->quiet_from, ch->quiet_to) &&
      (end = window_end(now, tz, ch->quiet_to)) != NULL) {
    until = g_date_time_to_unix(end) * 1000;
    gchar *text = g_date_time_format(end, "%Y-%m-%dT%H:%M:%S%:z");
    snprintf(local, len, "%s", text ? text : "");
    g_free(text);
  }
  if (end)
    g_date_time_unref(end);
  if (now)
    g_date_time_unref(now);
  if (utc)
    g_date_time_unref(utc);
  if (tz)
    g_time_zone_unref(tz);
  return until > now_ms ? until : 0;
}

/* Quiet hours: a channel's window of the contact's local night (cfg.h: quiet_from,
 * quiet_to) in which nothing is sent; a message spoken in it waits until it ends. */
#ifndef PARLEY_QUIET_H
#define PARLEY_QUIET_H
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct cfg_channel;
struct zones;

/* When the quiet hours that hold `now_ms` end for this contact (its profile's `timezone`,
 * else the configuration's), in ms since the epoch, with that moment as the contact reads
 * it (RFC 3339 with its offset) in `local`; 0 when the channel has none or now is not in
 * them. Daylight-saving changes are the zone's: the window ends at the wall-clock time. */
int64_t quiet_until(struct zones *zones, const struct cfg *cfg, const struct cfg_channel *ch,
                    const cJSON *profile, int64_t now_ms, char *local, size_t len);

#endif

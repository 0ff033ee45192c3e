/* profile.devices: the app installs a contact can be pushed to, keyed by push token:
 *   "devices": {"<token>": {"platform": "android", "app_id": "com.shop", "last_seen": "<RFC 3339>"}}
 * A map rather than a list so that one device is added, refreshed or removed by a change
 * naming its token alone ({"devices": {"<token>": null}}), from an event, a PATCH, the
 * devices API or a plugin's receipt, without reading and rewriting the others (two such
 * changes never undo each other). A token is 1-DEVICES_TOKEN_MAX bytes of printable ASCII
 * without spaces; platform is "ios", "android" or "web"; app_id (at most 255 bytes) and
 * last_seen are optional. A contact keeps at most DEVICES_MAX devices: one more forgets
 * the device seen longest ago (an app reinstalled gets a new token; the old one is
 * dead). No state. */
#ifndef PARLEY_DEVICES_H
#define PARLEY_DEVICES_H
#include <stddef.h>

typedef struct cJSON cJSON;

#define DEVICES_MAX 10
#define DEVICES_TOKEN_MAX 1024
#define DEVICES_APP_ID_MAX 255

/* Checks a change of profile.devices (`v`: an object of token -> device or null). Returns
 * 0, or -1 with err naming the field ("field 'profile.devices.<token>.platform' ..."). */
int devices_check(const cJSON *v, char *err, size_t errlen);
/* NULL when `token` may key a device, else why not (a phrase). */
const char *devices_token_problem(const char *token);
/* Keeps the DEVICES_MAX devices of `devices` seen last (those without last_seen count as
 * seen longest ago). Returns how many were forgotten. */
size_t devices_trim(cJSON *devices);

#endif

/* A contact's profile: the attributes an event's `profile` sets (or a PUT or PATCH of the
 * contact, profile_put.h). Most are free-form JSON
 * (anything a template uses); those the core and the channels read carry meaning and are
 * typed, so a value of the wrong type is refused rather than stored and misread:
 *   email         an address: one '@', a dot in the domain, no space or control
 *                 character, at most 254 bytes (local part at most 64)
 *   phone         E.164: '+' and 8-15 digits
 *   timezone      an IANA name that exists under /usr/share/zoneinfo ("Europe/Paris")
 *   unsubscribed  true or false
 *   consent       an object of channel -> true, false, or {topic -> true or false} (null
 *                 forgets an answer)
 *   suppressed    an object of channel -> {"address", "reason", "at"} (strings; address
 *                 required) or null: the address the channel must not be used for
 *   devices       an object of push token -> {"platform", "app_id", "last_seen"} or null
 *                 (devices.h); merged token by token, at most DEVICES_MAX kept
 * Keys are 1-64 bytes of ASCII letters, digits, '_' and '-'. null removes an attribute,
 * typed or not. No state. */
#ifndef PARLEY_PROFILE_H
#define PARLEY_PROFILE_H
#include <stddef.h>

typedef struct cJSON cJSON;

#define PROFILE_ZONEINFO "/usr/share/zoneinfo"

/* Checks an event's `profile` object. Returns 0, or -1 with err naming the field
 * ("field 'profile.consent.sms' must be true, false or null"). */
int profile_check(const cJSON *changes, char *err, size_t errlen);
/* Applies checked `changes` to the contact's `profile`: each attribute is set or, when
 * null, removed; `consent` and `suppressed` are merged channel by channel, so an answer
 * for one channel never drops another's; `devices` token by token. */
void profile_merge(cJSON *profile, const cJSON *changes);
/* Applies a checked `patch` to `profile` as an RFC 7396 JSON merge patch: null removes an
 * attribute, an object is merged key by key into an object (so `consent` is merged channel
 * by channel, as by profile_merge, and so is any free-form object), anything else replaces
 * the value (an array whole, as given); no object member is stored as null. Applied to an
 * empty object, it makes the profile the patch describes. Returns 0, or -1 when out of memory (then part of it may be applied). */
int profile_merge_patch(cJSON *profile, const cJSON *patch);

#endif

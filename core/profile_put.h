/* A contact's profile set without an event (PUT and PATCH /v1/contacts/{id}). REPLACE
 * makes the body the whole profile (attributes it leaves out are gone; a null one is left
 * out); MERGE applies the body as an RFC 7396 merge patch (null removes an attribute,
 * objects such as `consent` merge key by key). The body is checked exactly as an event's
 * `profile` (event_parse_profile), within the same size limit (limits.event_bytes), and
 * written in the open batch, so it is durable with the next commit. A profile change is
 * not an event: no journey starts, no conversation wakes, nothing is counted as an event;
 * the contact's conversations are left as they are, and its history records the change. */
#ifndef PARLEY_PROFILE_PUT_H
#define PARLEY_PROFILE_PUT_H
#include <stddef.h>

struct core;
struct contact;

enum profile_put_mode { PROFILE_PUT_REPLACE, PROFILE_PUT_MERGE };

enum profile_put_result {
  PROFILE_PUT_UPDATED = 0,    /* the contact existed; its profile was written */
  PROFILE_PUT_CREATED = 1,    /* REPLACE made the contact */
  PROFILE_PUT_REFUSED = -1,   /* the id or the body is not one: err names the field */
  PROFILE_PUT_TOO_LARGE = -2, /* the body is over limits.event_bytes */
  PROFILE_PUT_NOT_FOUND = -3, /* MERGE of a contact that does not exist */
  PROFILE_PUT_FAILED = -4,    /* the contact could not be made (out of memory, the store) */
};

/* Sets the profile of contact `id` from the JSON text body[0..len). On UPDATED or CREATED,
 * *out is the contact (the store's record: valid until the next commit); on anything else
 * nothing was written and err says why. */
enum profile_put_result profile_put(struct core *core, const char *id, const char *body, size_t len,
                                    enum profile_put_mode mode, struct contact **out, char *err,
                                    size_t errlen);

#endif

/* A contact's devices registered and removed through the API (POST and DELETE
 * /v1/contacts/{id}/devices): profile.devices (devices.h) changed one token at a time,
 * written in the open batch like a profile PUT (profile_put.h), so it is durable with the
 * next commit. Not an event: no journey starts, no conversation wakes; the contact's
 * history records the change, with the token's end only (a token is an address). */
#ifndef PARLEY_DEVICES_PUT_H
#define PARLEY_DEVICES_PUT_H
#include <stddef.h>

#define DEVICES_BODY_MAX 4096 /* a token of 1024 bytes and room to spare */

struct core;
struct contact;

enum devices_put_result {
  DEVICES_PUT_UPDATED = 0,    /* the device was known: platform, app_id, last_seen refreshed */
  DEVICES_PUT_CREATED = 1,    /* a new device (and the contact, when it was new too) */
  DEVICES_PUT_REFUSED = -1,   /* the id or the body is not one: err names the field */
  DEVICES_PUT_TOO_LARGE = -2, /* the body is over DEVICES_BODY_MAX bytes */
  DEVICES_PUT_NOT_FOUND = -3, /* remove: no such contact, or no such device */
  DEVICES_PUT_FAILED = -4,    /* out of memory, or the store failed */
};

/* Registers the device the JSON body[0..len) describes, {"platform": "android", "token":
 * "...", "app_id": "com.example.shop"} (app_id optional), for contact `id`, made when it
 * does not exist (an app registers at sign-in, often before any event names the contact).
 * last_seen is the core's clock. On UPDATED or CREATED, *out is the contact (valid until
 * the next commit); else nothing was written and err says why. */
enum devices_put_result devices_register(struct core *core, const char *id, const char *body, size_t len,
                                         struct contact **out, char *err, size_t errlen);
/* Removes the device `token` of contact `id`; UPDATED, NOT_FOUND, REFUSED or FAILED. */
enum devices_put_result devices_remove(struct core *core, const char *id, const char *token,
                                       struct contact **out, char *err, size_t errlen);

#endif

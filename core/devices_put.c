/* A contact's devices changed through the API (see devices_put.h). */
#include "devices_put.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "context.h"
#include "devices.h"
#include "event.h"
#include "timestamp.h"

/* The body as one device: {"token": ..., "platform": ..., "app_id": ...}. Returns the
 * device (its token detached into *token) or NULL with err naming the field. */
static cJSON *read_device(const char *body, size_t len, int64_t now, char **token, char *err, size_t errlen)
{
  cJSON *doc = cJSON_ParseWithLength(body, len), *tok = NULL;
  char at[32];
  *token = NULL;
  if (!cJSON_IsObject(doc) || strlen(body) != len) {
    snprintf(err, errlen, "the body must be a JSON object such as {\"platform\": \"android\", \"token\": "
                          "\"<push token>\", \"app_id\": \"com.example.shop\"}");
    goto fail;
  }
  tok = cJSON_DetachItemFromObjectCaseSensitive(doc, "token");
  if (!cJSON_IsString(tok)) {
    snprintf(err, errlen, "field 'token' is missing or not a string (the device's push token)");
    goto fail;
  }
  if (cJSON_GetObjectItemCaseSensitive(doc, "last_seen")) {
    snprintf(err, errlen, "field 'last_seen' is the core's to set (the time of the registration)");
    goto fail;
  }
  timestamp_format(now, at, sizeof at);
  cJSON *wrap = cJSON_CreateObject();
  if (!cJSON_AddStringToObject(doc, "last_seen", at) || !wrap ||
      !cJSON_AddItemReferenceToObject(wrap, tok->valuestring, doc)) {
    cJSON_Delete(wrap);
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  int bad = devices_check(wrap, err, errlen);
  cJSON_Delete(wrap); /* a reference: doc stays */
  if (bad)
    goto fail;
  *token = strdup(tok->valuestring);
  cJSON_Delete(tok);
  return doc;
fail:
  cJSON_Delete(tok);
  cJSON_Delete(doc);
  return NULL;
}

/* Puts `profile` (taken) in place of ct's, the change noted in its history. */
static void write_profile(struct core *core, struct contact *ct, cJSON *profile, const char *what,
                          const char *platform, const char *token)
{
  struct addr_snap snap;
  size_t n = strlen(token);
  addr_snap_take(core, ct->profile, NULL, &snap);
  addr_snap_apply(core, ct->id, &snap, profile);
  cJSON_Delete(ct->profile);
  ct->profile = profile;
  history_add(&ct->history, core->cfg->history_limit, clock_now_ms(&core->clock), "device %s %s token=...%s",
              what, platform, token + (n > 8 ? n - 8 : 0));
  core->store->ops->contact_put(core->store, ct); /* a failed write fails the commit (store.h) */
  core->must_commit = 1;
}

static cJSON *profile_copy(const struct contact *ct)
{
  return ct && ct->profile ? cJSON_Duplicate(ct->profile, 1) : cJSON_CreateObject();
}

/* profile.devices of p, made when missing. */
static cJSON *devices_of(cJSON *p)
{
  cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "devices");
  if (cJSON_IsObject(d))
    return d;
  cJSON_DeleteItemFromObjectCaseSensitive(p, "devices");
  return cJSON_AddObjectToObject(p, "devices");
}

enum devices_put_result devices_register(struct core *core, const char *id, const char *body, size_t len,
                                         struct contact **out, char *err, size_t errlen)
{
  struct store *st = core->store;
  char *token = NULL;
  *out = NULL;
  const char *why = event_contact_problem(id, strlen(id));
  if (why) {
    snprintf(err, errlen, "the contact id %s", why);
    return DEVICES_PUT_REFUSED;
  }
  if (len > DEVICES_BODY_MAX) {
    snprintf(err, errlen, "the body is larger than %d bytes", DEVICES_BODY_MAX);
    return DEVICES_PUT_TOO_LARGE;
  }
  cJSON *dev = read_device(body, len, clock_now_ms(&core->clock), &token, err, errlen);
  if (!dev)
    return DEVICES_PUT_REFUSED;
  struct contact *ct = st->ops->contact_get(st, id);
  cJSON *p = profile_copy(ct), *devs = p ? devices_of(p) : NULL;
  int known = devs && cJSON_GetObjectItemCaseSensitive(devs, token) != NULL;
  char platform[16];
  snprintf(platform, sizeof platform, "%s", cJSON_GetObjectItemCaseSensitive(dev, "platform")->valuestring);
  if (devs && known)
    cJSON_ReplaceItemInObjectCaseSensitive(devs, token, dev);
  else if (devs)
    cJSON_AddItemToObject(devs, token, dev);
  else
    cJSON_Delete(dev);
  if (devs && !ct)
    ct = st->ops->contact_create(st, id, clock_now_ms(&core->clock));
  if (!devs || !ct) {
    cJSON_Delete(p);
    free(token);
    snprintf(err, errlen, "the device could not be written (out of memory, or the store failed)");
    return DEVICES_PUT_FAILED;
  }
  devices_trim(devs);
  write_profile(core, ct, p, known ? "seen again" : "registered", platform, token);
  free(token);
  *out = ct;
  return known ? DEVICES_PUT_UPDATED : DEVICES_PUT_CREATED;
}

enum devices_put_result devices_remove(struct core *core, const char *id, const char *token,
                                       struct contact **out, char *err, size_t errlen)
{
  struct store *st = core->store;
  const char *why = event_contact_problem(id, strlen(id)), *what = "contact id";
  *out = NULL;
  if (why == NULL) {
    why = devices_token_problem(token);
    what = "token";
  }
  if (why) {
    snprintf(err, errlen, "the %s in the path %s", what, why);
    return DEVICES_PUT_REFUSED;
  }
  struct contact *ct = st->ops->contact_get(st, id);
  const cJSON *dev = ct ? cJSON_GetObjectItemCaseSensitive(
                              cJSON_GetObjectItemCaseSensitive(ct->profile, "devices"), token)
                        : NULL;
  if (!dev) {
    snprintf(err, errlen, ct ? "the contact has no device with this token" : "no such contact");
    return DEVICES_PUT_NOT_FOUND;
  }
  char platform[16];
  const cJSON *pf = cJSON_GetObjectItemCaseSensitive(dev, "platform");
  snprintf(platform, sizeof platform, "%s", cJSON_IsString(pf) ? pf->valuestring : "?");
  cJSON *p = profile_copy(ct), *devs = p ? cJSON_GetObjectItemCaseSensitive(p, "devices") : NULL;
  if (!devs) {
    cJSON_Delete(p);
    snprintf(err, errlen, "the device could not be removed (out of memory)");
    return DEVICES_PUT_FAILED;
  }
  cJSON_DeleteItemFromObjectCaseSensitive(devs, token);
  if (!devs->child)
    cJSON_DeleteItemFromObjectCaseSensitive(p, "devices");
  write_profile(core, ct, p, "removed", platform, token);
  *out = ct;
  return DEVICES_PUT_UPDATED;
}

/* Setting a contact's profile without an event (see profile_put.h). */
#include "profile_put.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "context.h"
#include "devices.h"
#include "event.h"
#include "profile.h"

/* The id and the body, checked before anything is read or written. Returns 0 and the
 * parsed body, or PROFILE_PUT_REFUSED / PROFILE_PUT_TOO_LARGE with err. */
static int check(const struct core *core, const char *id, const char *body, size_t len, cJSON **doc,
                 char *err, size_t errlen)
{
  const char *why = event_contact_problem(id, strlen(id));
  if (why) {
    snprintf(err, errlen, "the contact id %s", why);
    return PROFILE_PUT_REFUSED;
  }
  if (len > core->cfg->max_event_bytes) {
    snprintf(err, errlen, "the profile is larger than %zu bytes (limits.event_bytes)", core->cfg->max_event_bytes);
    return PROFILE_PUT_TOO_LARGE;
  }
  return event_parse_profile(body, len, doc, err, errlen) < 0 ? PROFILE_PUT_REFUSED : 0;
}

/* A contact's answers about being contacted outlive a REPLACE that does not name them: a
 * system syncing profiles from elsewhere must never re-subscribe someone by leaving a
 * field out. Only naming them (true, false, or null) changes them. The devices the app
 * registered are kept the same way: a CRM's profile sync knows nothing of them. */
static const char *const kept_unless_named[] = {"unsubscribed", "consent", "suppressed", "devices"};

static int keep_opt_outs(cJSON *p, const struct contact *ct, const cJSON *body)
{
  for (size_t i = 0; ct && ct->profile && i < sizeof kept_unless_named / sizeof kept_unless_named[0]; i++) {
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(ct->profile, kept_unless_named[i]);
    if (!old || cJSON_GetObjectItemCaseSensitive(body, kept_unless_named[i]))
      continue;
    cJSON *copy = cJSON_Duplicate(old, 1);
    if (!copy || !cJSON_AddItemToObject(p, kept_unless_named[i], copy)) {
      cJSON_Delete(copy);
      return -1;
    }
  }
  return 0;
}

/* The new profile: the body alone (REPLACE; `ct` may be NULL; opt-outs kept unless
 * named), or the body merged into a copy of ct's profile (MERGE). A copy, so that running
 * out of memory half-way leaves the stored profile as it was. NULL when out of memory. */
static cJSON *new_profile(const struct contact *ct, const cJSON *body, enum profile_put_mode mode)
{
  cJSON *p = mode == PROFILE_PUT_MERGE && ct->profile ? cJSON_Duplicate(ct->profile, 1) : cJSON_CreateObject();
  if (p && mode == PROFILE_PUT_REPLACE && keep_opt_outs(p, ct, body) < 0) {
    cJSON_Delete(p);
    return NULL;
  }
  if (p && profile_merge_patch(p, body) < 0) {
    cJSON_Delete(p);
    return NULL;
  }
  if (p)
    devices_trim(cJSON_GetObjectItemCaseSensitive(p, "devices"));
  return p;
}

/* Puts `profile` (taken) in place of ct's, on record in its history, in the open batch. */
static void write_profile(struct core *core, struct contact *ct, cJSON *profile, enum profile_put_mode mode)
{
  struct addr_snap snap;
  addr_snap_take(core, ct->profile, NULL, &snap);
  addr_snap_apply(core, ct->id, &snap, profile);
  cJSON_Delete(ct->profile);
  ct->profile = profile;
  history_add(&ct->history, core->cfg->history_limit, clock_now_ms(&core->clock),
              mode == PROFILE_PUT_REPLACE ? "profile replaced" : "profile updated");
  core->store->ops->contact_put(core->store, ct); /* a failed write fails the commit (store.h) */
  core->must_commit = 1;
}

enum profile_put_result profile_put(struct core *core, const char *id, const char *body, size_t len,
                                    enum profile_put_mode mode, struct contact **out, char *err,
                                    size_t errlen)
{
  struct store *st = core->store;
  cJSON *doc = NULL;
  *out = NULL;
  int bad = check(core, id, body, len, &doc, err, errlen);
  if (bad)
    return (enum profile_put_result)bad;
  struct contact *ct = st->ops->contact_get(st, id);
  if (!ct && mode == PROFILE_PUT_MERGE) {
    cJSON_Delete(doc);
    snprintf(err, errlen, "no such contact (PATCH changes a contact's profile; PUT makes the contact)");
    return PROFILE_PUT_NOT_FOUND;
  }
  cJSON *profile = new_profile(ct, doc, mode);
  cJSON_Delete(doc);
  int created = !ct;
  if (profile && created) /* made only now: a refused or failed PUT leaves no empty contact */
    ct = st->ops->contact_create(st, id, clock_now_ms(&core->clock));
  if (!profile || !ct) {
    cJSON_Delete(profile);
    snprintf(err, errlen, "the profile could not be written (out of memory, or the store failed)");
    return PROFILE_PUT_FAILED;
  }
  write_profile(core, ct, profile, mode);
  *out = ct;
  return created ? PROFILE_PUT_CREATED : PROFILE_PUT_UPDATED;
}

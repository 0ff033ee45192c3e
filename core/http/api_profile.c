/* PUT and PATCH /v1/contacts/{id}: a contact's profile set without an event (profile_put.h).
 * PUT replaces the profile and makes the contact when it is new (201); PATCH merges into
 * the profile of a contact that exists (RFC 7396). Both answer with the contact, once the
 * change is committed. */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "context.h"
#include "event.h"
#include "profile_put.h"
#include "view.h"

/* The same rule and message as GET /v1/contacts/{id}: an id no event could have been
 * accepted with is a bad request, not an unknown contact. Returns 1 when it answered. */
static int refuse_id(struct http_req *rq, const char *id)
{
  char msg[200];
  const char *why = event_contact_problem(id, strlen(id));
  if (!why)
    return 0;
  snprintf(msg, sizeof msg, "the contact id in the path %s (percent-encode the id, RFC 3986)", why);
  http_reply_error(rq, 400, "bad_contact_id", msg, 0);
  return 1;
}

static void answer_failure(struct http_req *rq, enum profile_put_result rc, const char *err)
{
  switch (rc) {
  case PROFILE_PUT_REFUSED: http_reply_error(rq, 400, "bad_profile", err, 0); return;
  case PROFILE_PUT_TOO_LARGE: http_reply_error(rq, 413, "body_too_large", err, 0); return;
  case PROFILE_PUT_NOT_FOUND: http_reply_error(rq, 404, "not_found", err, 0); return;
  default: http_reply_error(rq, 503, "store_unavailable", err, 0); return;
  }
}

static void put_profile(struct api *api, struct http_req *rq, char **args, enum profile_put_mode mode)
{
  struct contact *ct;
  char err[512];
  if (refuse_id(rq, args[0]))
    return;
  enum profile_put_result rc =
      profile_put(api->core, args[0], rq->body ? rq->body : "", rq->body_len, mode, &ct, err, sizeof err);
  if (rc != PROFILE_PUT_CREATED && rc != PROFILE_PUT_UPDATED) {
    answer_failure(rq, rc, err);
    return;
  }
  api_after_commit_status(api, rq, rc == PROFILE_PUT_CREATED ? 201 : 200, view_contact(api->core->store, ct),
                          "the profile could not be stored; nothing was changed, retry later");
}

void api_put_contact(struct api *api, struct http_req *rq, char **args)
{
  put_profile(api, rq, args, PROFILE_PUT_REPLACE);
}

void api_patch_contact(struct api *api, struct http_req *rq, char **args)
{
  put_profile(api, rq, args, PROFILE_PUT_MERGE);
}

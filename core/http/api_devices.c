/* POST /v1/contacts/{id}/devices and DELETE /v1/contacts/{id}/devices/{token}: the app
 * registers the device it runs on, and forgets it at sign-out (devices_put.h). Both answer
 * with the contact once the change is committed. */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "context.h"
#include "devices_put.h"
#include "view.h"

static void answer(struct api *api, struct http_req *rq, enum devices_put_result rc, struct contact *ct,
                   const char *err)
{
  switch (rc) {
  case DEVICES_PUT_CREATED:
  case DEVICES_PUT_UPDATED:
    api_after_commit_status(api, rq, rc == DEVICES_PUT_CREATED ? 201 : 200, view_contact(api->core->store, ct),
                            "the device could not be stored; nothing was changed, retry later");
    return;
  case DEVICES_PUT_REFUSED: http_reply_error(rq, 400, "bad_device", err, 0); return;
  case DEVICES_PUT_TOO_LARGE: http_reply_error(rq, 413, "body_too_large", err, 0); return;
  case DEVICES_PUT_NOT_FOUND: http_reply_error(rq, 404, "not_found", err, 0); return;
  default: http_reply_error(rq, 503, "store_unavailable", err, 0); return;
  }
}

void api_post_device(struct api *api, struct http_req *rq, char **args)
{
  struct contact *ct;
  char err[512];
  enum devices_put_result rc =
      devices_register(api->core, args[0], rq->body ? rq->body : "", rq->body_len, &ct, err, sizeof err);
  answer(api, rq, rc, ct, err);
}

void api_delete_device(struct api *api, struct http_req *rq, char **args)
{
  struct contact *ct;
  char err[512];
  enum devices_put_result rc = devices_remove(api->core, args[0], args[1], &ct, err, sizeof err);
  answer(api, rq, rc, ct, err);
}

/* DELETE /v1/contacts/{id}: erase a contact (README, "Erasure"; erase.h). The route
 * needs the contacts:write scope. */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "erase.h"
#include "event.h"

/* An id no event could have been accepted with (event_contact_problem) is a bad request,
 * not an unknown contact, as for GET. The answer waits for the erasure's commit: a 200
 * means it is on disk; a dropped batch answers 503 and the contact is kept whole. */
void api_delete_contact(struct api *api, struct http_req *rq, char **args)
{
  const char *id = args[0];
  const char *why = event_contact_problem(id, strlen(id));
  if (why) {
    char msg[200];
    snprintf(msg, sizeof msg, "the contact id in the path %s (percent-encode the id, RFC 3986)", why);
    http_reply_error(rq, 400, "bad_contact_id", msg, 0);
    return;
  }
  if (erase_contact(api->core, id) == 0) {
    http_reply_error(rq, 404, "not_found", "no such contact", 0);
    return;
  }
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "erased", id);
  api_after_commit(api, rq, doc, "the erasure could not be stored; nothing was erased, retry later");
}

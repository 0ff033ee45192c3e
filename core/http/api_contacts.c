/* GET /v1/contacts/{id}: the contact, its conversations and history. */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "context.h"
#include "view.h"

void api_get_contact(struct api *api, struct http_req *rq, char **args)
{
  char msg[200];
  /* an id no event could have been accepted with is a bad request, not an unknown contact */
  const char *why = event_contact_problem(args[0], strlen(args[0]));
  if (why) {
    snprintf(msg, sizeof msg, "the contact id in the path %s (percent-encode the id, RFC 3986)", why);
    http_reply_error(rq, 400, "bad_contact_id", msg, 0);
    return;
  }
  struct contact *ct = api->core->store->ops->contact_get(api->core->store, args[0]);
  if (!ct) {
    http_reply_error(rq, 404, "not_found", "no such contact", 0);
    return;
  }
  http_reply_json(rq, 200, view_contact(api->core->store, ct));
}

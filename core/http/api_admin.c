/* The operator's routes on journeys: GET /v1/journeys (each journey, its status and the
 * versions still in use) and POST /v1/admin/reload (what SIGHUP does: core_reload). */
#include <cJSON.h>

#include "api.h"
#include "core.h"
#include "view.h"

void api_get_journeys(struct api *api, struct http_req *rq, char **args)
{
  http_reply_json(rq, 200, view_journeys(&api->core->registry));
}

/* A reload answers 200 also when files were refused: the running versions keep serving, and
 * the answer says which files were refused and why ("refused", "files"). It waits for the
 * commit that pins the new versions: a version answered as loaded is one a restart finds. */
void api_post_reload(struct api *api, struct http_req *rq, char **args)
{
  core_reload(api->core, "POST /v1/admin/reload");
  api_after_commit(api, rq, view_reload(&api->core->registry),
                   "the new journey versions could not be stored; reload again once the store accepts writes");
}

/* POST /v1/events and POST /v1/outbox/{id}/replay: the two routes that write, answered
 * once what they wrote is durable (api_after_commit). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "context.h"
#include "conv.h"
#include "outbox.h"

/* One JSON event, or NDJSON: every event is checked before any is applied, so a bad line
 * refuses the whole request and nothing of it is applied. A large request is applied in
 * parts (api_ingest.c). */
void api_post_events(struct api *api, struct http_req *rq, char **args)
{
  struct core *core = api->core;
  (void)args;
  struct event_limits lim = {core->cfg->max_event_bytes, core->cfg->max_batch_events,
                             clock_now_ms(&core->clock)};
  struct event *evs;
  size_t n, bad_line;
  char err[512];
  if (event_parse_body(rq->body, rq->body_len, &lim, &evs, &n, &bad_line, err, sizeof err) < 0) {
    http_reply_error(rq, 400, "bad_event", err, bad_line);
    return;
  }
  if (n > API_INGEST_PART) {
    api_ingest_start(api, rq, evs, n);
    return;
  }
  size_t dups = 0;
  for (size_t i = 0; i < n; i++)
    dups += (size_t)conv_apply_event(core, &evs[i]);
  event_free_array(evs, n);
  api_events_applied(api, rq, n, dups);
}

/* A dead letter goes back in the outbox as new (attempt 0, due now) with its id
 * unchanged, so a provider that did receive an earlier attempt can still de-duplicate it.
 * Only dead letters: replaying a message still being retried would deliver it twice. */
void api_post_replay(struct api *api, struct http_req *rq, char **args)
{
  struct core *core = api->core;
  struct parley_msg *m = NULL;
  int found = core->store->ops->msg_get(core->store, args[0], &m);
  if (found < 0) {
    http_reply_error(rq, 500, "store_error", "the message could not be read", 0);
    return;
  }
  if (found == 0) {
    http_reply_error(rq, 404, "not_found", "no such message in the outbox", 0);
    return;
  }
  if (m->state != MSG_DEAD) {
    msg_record_free(m);
    http_reply_error(rq, 409, "not_dead", "the message is not a dead letter: it is still queued for delivery",
                     0);
    return;
  }
  m->attempt = 0;
  m->due_ms = clock_now_ms(&core->clock);
  free(m->last_error);
  m->last_error = NULL;
  log_kv(&core->log, LOG_INFO, "outbox", "dead letter replayed", "id", m->id, "channel", m->channel,
         (char *)NULL);
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "id", m->id);
  cJSON_AddStringToObject(doc, "channel", m->channel);
  cJSON_AddStringToObject(doc, "state", "queued");
  outbox_enqueue(&core->outbox, m); /* written in the open batch; reaches the plugin after its commit */
  api_after_commit(api, rq, doc, "the replay could not be stored; retry later");
}

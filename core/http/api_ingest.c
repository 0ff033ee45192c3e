/* Large requests applied in parts (see api.h): the loop stays free for others between
 * the parts, and the request is committed whole. */
#include <cJSON.h>
#include <stdlib.h>

#include "api.h"
#include "context.h"
#include "conv.h"
#include "core.h"

struct api_ingest {
  struct http_req *rq;
  struct event *evs;
  size_t n, done, dups;
  int holding; /* this request holds the batch */
  struct api_ingest *next;
};

void api_events_applied(struct api *api, struct http_req *rq, size_t n, size_t dups)
{
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "accepted", (double)n);
  cJSON_AddNumberToObject(doc, "applied", (double)(n - dups));
  cJSON_AddNumberToObject(doc, "duplicates", (double)dups);
  api_after_commit(api, rq, doc, "the events could not be stored; nothing was applied, retry later");
}

/* Applies up to `max` more events of the first request; when it is all in, releases the
 * batch, answers after the commit and lets the next request start on a later turn (after
 * the commit the loop makes before it blocks). */
static void apply_part(struct api *api, size_t max)
{
  struct api_ingest *in = api->ingest;
  if (!in->holding) {
    core_hold(api->core, +1);
    in->holding = 1;
  }
  size_t end = in->n - in->done > max ? in->done + max : in->n;
  for (; in->done < end; in->done++)
    in->dups += (size_t)conv_apply_event(api->core, &in->evs[in->done]);
  if (in->done < in->n) {
    ev_timer_start(api->core->loop, &api->ingest_next);
    return;
  }
  core_hold(api->core, -1);
  api->ingest = in->next;
  if (!api->ingest)
    api->ingest_tail = NULL;
  api_events_applied(api, in->rq, in->n, in->dups);
  event_free_array(in->evs, in->n);
  free(in);
  if (api->ingest)
    ev_timer_start(api->core->loop, &api->ingest_next);
}

static void on_next(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct api *api = w->data;
  if (api->ingest)
    apply_part(api, API_INGEST_PART);
}

void api_ingest_init(struct api *api)
{
  ev_timer_init(&api->ingest_next, on_next, 0., 0.);
  api->ingest_next.data = api;
}

void api_ingest_start(struct api *api, struct http_req *rq, struct event *evs, size_t n)
{
  struct api_ingest *in = calloc(1, sizeof *in);
  if (!in) {
    event_free_array(evs, n);
    http_reply_error(rq, 503, "out_of_memory", "out of memory", 0);
    return;
  }
  in->rq = rq;
  in->evs = evs;
  in->n = n;
  *(api->ingest_tail ? &api->ingest_tail->next : &api->ingest) = in;
  api->ingest_tail = in;
  if (api->ingest == in)
    apply_part(api, API_INGEST_PART);
}

void api_ingest_stop(struct api *api)
{
  ev_timer_stop(api->core->loop, &api->ingest_next);
  while (api->ingest) {
    apply_part(api, (size_t)-1);
    ev_timer_stop(api->core->loop, &api->ingest_next);
  }
}

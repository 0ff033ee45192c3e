/* The group commit of the HTTP API: a request that wrote is answered only once what it
 * wrote is durable, and the requests of one loop turn share one commit (one fsync). */
#include <cJSON.h>
#include <stdlib.h>

#include "api.h"
#include "context.h"
#include "core.h"

/* An answer waiting for the commit of the batch its request wrote to. */
struct api_held {
  struct http_req *rq;
  unsigned status; /* once durable */
  char *answer;
  const char *unstored;
  struct api_held *next;
};

void api_after_commit(struct api *api, struct http_req *rq, cJSON *doc, const char *unstored)
{
  api_after_commit_status(api, rq, 200, doc, unstored);
}

void api_after_commit_status(struct api *api, struct http_req *rq, unsigned status, cJSON *doc,
                             const char *unstored)
{
  struct api_held *held = calloc(1, sizeof *held);
  char *answer = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  if (!held || !answer) {
    free(held);
    free(answer);
    http_reply_error(rq, 503, "out_of_memory", "out of memory", 0);
    return;
  }
  held->rq = rq;
  held->status = status;
  held->answer = answer;
  held->unstored = unstored;
  held->next = api->waiting;
  api->waiting = held;
  if (!ev_is_active(&api->soon))
    ev_timer_start(api->core->loop, &api->soon);
}

/* Commits what the held requests wrote (group commit: one fsync for all of them), then
 * answers each: its answer once durable, 503 when the commit failed (and nothing of
 * theirs was kept). An answer may let a pipelined request in, which may hold again: a
 * few rounds here, the rest on the next turn. */
static void release_waiting(struct api *api)
{
  for (int round = 0; api->waiting && round < 8; round++) {
    core_settle(api->core);
    int rc = core_commit(api->core);
    if (rc > 0)
      return; /* a request is being applied in parts: these wait for it, then commit with it */
    struct api_held *held = api->waiting;
    api->waiting = NULL;
    while (held) {
      struct api_held *next = held->next;
      if (rc < 0) {
        free(held->answer);
        http_reply_error(held->rq, 503, "store_unavailable", held->unstored, 0);
      } else {
        http_reply_text(held->rq, held->status, "application/json", held->answer);
      }
      free(held);
      held = next;
    }
  }
}

static void on_before_block(struct ev_loop *loop, ev_prepare *w, int revents)
{
  release_waiting(w->data);
}

static void on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
  release_waiting(w->data);
}

void api_commit_start(struct api *api)
{
  ev_prepare_init(&api->before_block, on_before_block);
  ev_timer_init(&api->soon, on_soon, 0., 0.);
  api->before_block.data = api->soon.data = api;
  ev_prepare_start(api->core->loop, &api->before_block);
}

void api_commit_stop(struct api *api)
{
  release_waiting(api);
  ev_prepare_stop(api->core->loop, &api->before_block);
  ev_timer_stop(api->core->loop, &api->soon);
}


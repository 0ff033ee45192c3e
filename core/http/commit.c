/* The group commit of the HTTP API: a request that wrote is answered only once what it
 * wrote is durable, and the requests of one loop turn share one commit. The daemon flushes
 * commits on a thread of its own (core/syncer.h): a committed answer waits in `flushing`
 * until the flush that covers its commit is done, while the loop applies and commits the
 * next requests; all that arrive during one flush share the next. */
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
  uint64_t mark; /* the commit it waits to be flushed (core_durable_mark) */
  struct api_held *next;
};

#define API_UNFLUSHED "the store could not write to disk; retry later (the retry is answered once it is durable)"

static void answer(struct api_held *held, int ok, const char *why)
{
  if (ok)
    http_reply_text(held->rq, held->status, "application/json", held->answer);
  else {
    free(held->answer);
    http_reply_error(held->rq, 503, "store_unavailable", why, 0);
  }
  free(held);
}

/* Answers the held requests whose commit is flushed, in order; all of them with 503 when
 * a flush failed (`failed`). */
static void answer_flushed(struct api *api, int failed)
{
  while (api->flushing && (failed || core_is_durable(api->core, api->flushing->mark))) {
    struct api_held *held = api->flushing;
    api->flushing = held->next;
    if (!api->flushing)
      api->flushing_tail = NULL;
    answer(held, !failed, API_UNFLUSHED);
  }
}

static void on_durable(void *ud, int failed)
{
  answer_flushed(ud, failed);
}

/* A committed answer: now, or once its commit is flushed. */
static void after_flush(struct api *api, struct api_held *held, uint64_t mark)
{
  if (!api->flushing && core_is_durable(api->core, mark)) {
    answer(held, 1, NULL);
    return;
  }
  held->mark = mark;
  held->next = NULL;
  *(api->flushing_tail ? &api->flushing_tail->next : &api->flushing) = held;
  api->flushing_tail = held;
}

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

/* Commits what the held requests wrote (group commit: one flush for all of them), then
 * answers each once durable (after_flush), 503 when the commit failed (and nothing of
 * theirs was kept). An answer may let a pipelined request in, which may hold again: a few
 * rounds here, the rest on the next turn. */
static void release_waiting(struct api *api)
{
  for (int round = 0; api->waiting && round < 8; round++) {
    core_settle(api->core);
    int rc = core_commit(api->core);
    if (rc > 0)
      return; /* a request is being applied in parts: these wait for it, then commit with it */
    uint64_t mark = core_durable_mark(api->core);
    struct api_held *held = api->waiting;
    api->waiting = NULL;
    while (held) {
      struct api_held *next = held->next;
      if (rc < 0)
        answer(held, 0, held->unstored);
      else
        after_flush(api, held, mark);
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
  api->core->durable = on_durable;
  api->core->durable_ud = api;
}

/* Stopping: what was committed is flushed before the last answers go. */
void api_commit_stop(struct api *api)
{
  release_waiting(api);
  if (api->flushing_tail)
    answer_flushed(api, core_wait_durable(api->core, api->flushing_tail->mark) < 0);
  api->core->durable = NULL;
  ev_prepare_stop(api->core->loop, &api->before_block);
  ev_timer_stop(api->core->loop, &api->soon);
}


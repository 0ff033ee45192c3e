/* The HTTP API's routes: what they share, and the handlers routes.c dispatches to. A
 * handler runs once the server has read a whole, well-formed request and the caller's
 * token has the route's scope; it answers with http_reply_* (request.h), or, when it
 * changed state, with api_after_commit so the answer waits until the change is durable. */
#ifndef PARLEY_HTTP_API_H
#define PARLEY_HTTP_API_H
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "request.h"

struct core;
struct auth;
struct api_held;
struct api_ingest;
struct http_server_stats;

/* Answers of the channels' plugin routes: `n` of `status` on core->channels[channel]. */
struct api_inbound_count {
  size_t channel;
  unsigned status;
  uint64_t n;
};

struct api {
  struct core *core;
  struct auth *auth;        /* NULL: http.auth = "none" */
  struct api_held *waiting; /* answers held until the open batch is committed */
  struct api_held *flushing, *flushing_tail; /* committed, held until flushed (in order) */
  const struct http_server_stats *http_stats;
  ev_prepare before_block; /* commits what this loop turn's requests wrote */
  ev_timer soon;           /* the same, for answers held after that ran */
  struct api_ingest *ingest, *ingest_tail; /* large requests, applied in parts, in order */
  ev_timer ingest_next;                    /* the next part, on the next loop turn */
  struct api_inbound_count *inbound;       /* api_channels.c's counters, for /metrics */
  size_t n_inbound;
};

/* args: the path's '*' segments, %-decoded (NUL-free: a %00 is refused before a handler
 * runs), in order; NULL-terminated. */
typedef void api_handler(struct api *api, struct http_req *rq, char **args);

/* Answers `doc` (taken) once the batch this request wrote to is committed; 503 with
 * `unstored` as the message when that commit fails (and nothing of it was kept). */
void api_after_commit(struct api *api, struct http_req *rq, cJSON *doc, const char *unstored);
/* The same with another status than 200 (201: a PUT made what it names). */
void api_after_commit_status(struct api *api, struct http_req *rq, unsigned status, cJSON *doc,
                             const char *unstored);

/* commit.c: started and stopped with the server (stop answers what still waits). */
void api_commit_start(struct api *api);
void api_commit_stop(struct api *api);

/* api_ingest.c: a request of more than API_INGEST_PART events is applied API_INGEST_PART
 * at a time, one part per loop turn, with the batch held (core_hold) until all of it is in:
 * other requests are answered between the parts, and the request is still committed whole
 * or not at all. One such request at a time; the next starts after the last one's commit. */
#define API_INGEST_PART 100
typedef struct event api_event;
void api_ingest_init(struct api *api);
/* Takes evs (n of them, already checked) and answers rq when they are committed. */
void api_ingest_start(struct api *api, struct http_req *rq, api_event *evs, size_t n);
/* Applies what is left of every request at once (the daemon is stopping). */
void api_ingest_stop(struct api *api);
/* The answer to POST /v1/events, held until the commit: accepted, applied, duplicates. */
void api_events_applied(struct api *api, struct http_req *rq, size_t n, size_t dups);

/* api_events.c */
api_handler api_post_events, api_post_replay;
/* api_suppress.c: the API's global suppression list (supdb.h). */
api_handler api_put_suppression, api_delete_suppression, api_get_suppressions;
/* api_contacts.c */
api_handler api_get_contact;
/* api_health.c */
api_handler api_get_healthz, api_get_metrics;
/* api_erase.c: DELETE /v1/contacts/{id} */
api_handler api_delete_contact;
/* api_profile.c: a contact's profile set without an event (profile_put.h) */
api_handler api_put_contact, api_patch_contact;
/* api_devices.c: a contact's push devices (devices_put.h) */
api_handler api_post_device, api_delete_device;
/* api_channels.c: /v1/channels/<channel>/..., the routes plugins register (route_add),
 * served WITHOUT a token check: each plugin authenticates its provider itself. */
#define API_CHANNELS_PREFIX "/v1/channels/"
/* `channel`: the path's segment after the prefix, %-decoded; `sub`: the rest of the path,
 * raw ("/inbound", or "" for the prefix and channel alone). */
void api_channel_request(struct api *api, struct http_req *rq, const char *channel, const char *sub);
/* parley_channel_requests_total, by channel and status, in Prometheus text. */
void api_channels_metrics(FILE *f, const struct api *api);
/* api_admin.c: the journeys and their versions; reloading them (what SIGHUP does) */
api_handler api_get_journeys, api_post_reload;
/* api_stats.c: GET /v1/journeys/{name}/stats (stats.h) */
api_handler api_get_journey_stats;

#endif

/* JSON views of the store's records, for the HTTP API and `parley inspect`. Every time in
 * them is RFC 3339 text in UTC to the millisecond ("2027-01-15T08:00:00.250Z"). */
#ifndef PARLEY_VIEW_H
#define PARLEY_VIEW_H
#include <stdio.h>

struct core;
struct contact;
struct registry;
struct store;
struct parley_msg;
struct outbox;
typedef struct cJSON cJSON;

/* The contact (created, profile), every conversation (step, memory, listening_for,
 * deadline, status, outcome, error, started, updated, ended, history) and the contact's
 * recent history. Conversations are read from `store`
 * (the daemon's, or a read-only one opened by `parley inspect`). */
cJSON *view_contact(struct store *store, const struct contact *ct);
/* A message in the outbox: id, contact, conversation, channel, journey, template, state
 * (queued, sending, dead), attempts, due, last_error. Neither address nor body. */
cJSON *view_message(const struct parley_msg *m);
/* The journeys (GET /v1/journeys): {"journeys": [...]}, one entry per file of the last
 * load or reload, then one per journey whose file is gone while its versions drain: name
 * (null for a file that never loaded), file, status ("loaded"; "failed" with the error,
 * the version it had keeping on; "removed"), version (the current one, or null), versions
 * (each still in use, newest first: version, current, active conversations). "error" when
 * the last reload could not read the folder. */
cJSON *view_journeys(struct registry *reg);
/* After a reload (POST /v1/admin/reload): view_journeys, plus "refused" (how many files
 * were refused) and "files" (what the reload made of each: file, journey, outcome --
 * "loaded" as a new version, "unchanged", "refused" with the error, "removed" --, version). */
cJSON *view_reload(struct registry *reg);
/* Prometheus text exposition of the core's counters (malloc'd), then of each channel's. */
char *view_metrics(const struct core *core);
/* Each channel's figures, labelled channel="<name>" (view_channels.c). */
void view_channel_metrics(FILE *f, const struct outbox *ob);

#endif

/* JSON views of the store's records, for the HTTP API and `parley inspect`. Every time in
 * them is RFC 3339 text in UTC to the millisecond ("2027-01-15T08:00:00.250Z"). */
#ifndef PARLEY_VIEW_H
#define PARLEY_VIEW_H

struct core;
struct contact;
struct store;
struct parley_msg;
typedef struct cJSON cJSON;

/* The contact (created, profile), every conversation (step, memory, listening_for,
 * deadline, status, outcome, error, started, updated, ended, history) and the contact's
 * recent history. Conversations are read from `store`
 * (the daemon's, or a read-only one opened by `parley inspect`). */
cJSON *view_contact(struct store *store, const struct contact *ct);
/* A message in the outbox: id, contact, conversation, channel, journey, template, state
 * (queued, sending, dead), attempts, due, last_error. Neither address nor body. */
cJSON *view_message(const struct parley_msg *m);
/* Prometheus text exposition of the core's counters (malloc'd). */
char *view_metrics(const struct core *core);

#endif

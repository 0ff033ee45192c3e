/* JSON views of the store's records, for the HTTP API and `parley inspect`. */
#ifndef PARLEY_VIEW_H
#define PARLEY_VIEW_H

struct core;
struct contact;
typedef struct cJSON cJSON;

/* The contact, every conversation (step, memory, listening_for, deadline, status, outcome,
 * error, history) and the contact's recent history. */
cJSON *view_contact(const struct core *core, const struct contact *ct);
/* Prometheus text exposition of the core's counters (malloc'd). */
char *view_metrics(const struct core *core);

#endif

/* What a dead letter tells: the event "<channel>.failed" to the journey, and, for a
 * permanent failure the channel's suppress_on names, the contact's address suppressed on
 * that channel (profile.suppressed, which the speak gate reads). */
#ifndef PARLEY_DEADLETTER_H
#define PARLEY_DEADLETTER_H

struct core;
struct parley_msg;

/* The event, as JSON text (the caller frees it with cJSON_free; NULL when out of memory),
 * telling that `m` was dead-lettered for `reason` ("invalid_address",
 * "retries_exhausted"...). The core queues it as it queues a plugin's receipt. */
char *deadletter_event(const struct core *core, const struct parley_msg *m, const char *reason);

#endif

/* The conversation state machine (docs/architecture.md): for each event of a contact, end the
 * conversations whose goal or exit it is, wake the ones listening for it, start the
 * journeys it enters; run each woken step in the Lua host and apply its decision
 * atomically (state, outbox, deadline). */
#ifndef PARLEY_CONV_H
#define PARLEY_CONV_H
#include <stddef.h>
#include <stdint.h>

struct core;
struct event;

/* Apply one validated event. Returns 1 for a duplicate id (acknowledged, not applied
 * again), else 0. A failing script never fails the event: it parks its conversation. */
int conv_apply_event(struct core *core, const struct event *ev);
/* Wake every listening conversation whose deadline has passed, earliest first, with no
 * event. Returns how many were woken. */
size_t conv_fire_due(struct core *core);
/* A line in the history of conversation `id` from outside its steps (how a message it
 * spoke ended), in the open batch. Nothing when the conversation is gone (retention). */
void conv_note(struct core *core, uint64_t id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

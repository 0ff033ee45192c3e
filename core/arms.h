/* Experiment arms kept with their conversation: the core's side of c:experiment_record
 * (lhost.h). The Lua side (sdk/lua/parley/experiment.lua) draws the arm from a keyed hash;
 * the core keeps what was drawn, durably, writes it in the histories and counts it. */
#ifndef PARLEY_ARMS_H
#define PARLEY_ARMS_H
#include <stddef.h>

struct core;
struct contact;
struct conv;

/* Conversation `cv` of contact `ct` is in `arm` of `experiment` (holdout: the group that
 * gets nothing). The first arm a conversation was given for an experiment stays: a second
 * call keeps it. A test may have forced the contact's arm (core->forced_arms): that one is
 * taken. Writes the arm kept in `out` and returns 0, or -1 with `out` saying why. */
int arms_record(struct core *core, struct contact *ct, struct conv *cv, const char *experiment, const char *arm,
                int holdout, char *out, size_t outlen);
/* The arm of `experiment` conversation `cv` was given, or NULL. */
const struct conv_arm *arms_find(const struct conv *cv, const char *experiment);

#endif

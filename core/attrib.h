/* Goals and their attribution, read from the contact's own record (its touches), never by
 * a scan: a conversion is credited to the messages its journey spoke to the contact within
 * the attribution window (cfg->attribution_window_ms), both last-touch (the latest gets
 * it all) and linear (each of n gets 1/n); one without such a message is unattributed.
 * An outcome event of a message is counted for the channel of the journey that spoke it. */
#ifndef PARLEY_ATTRIB_H
#define PARLEY_ATTRIB_H

struct core;
struct contact;
struct conv;
struct event;

/* A goal event ended conversation `cv` (its step: where it was). Counts the conversion for
 * its journey, that step and its experiment arms, and credits the touches. */
void attrib_goal(struct core *core, const struct contact *ct, const struct conv *cv);
/* An event "<channel>.<outcome>" with data.message_id naming one of the contact's touches:
 * counted as <outcome> of that channel for the touch's journey ("bounced" counts as
 * "failed"). Nothing for any other event. */
void attrib_outcome(struct core *core, const struct contact *ct, const struct event *ev);

#endif

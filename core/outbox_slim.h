/* A queued message waits in the store, not in memory: while it waits (a backoff, flow
 * control, a backlog after a restart) the outbox keeps only what ordering, flow control
 * and erasure need (ids, channel, contact, due time, attempt), and reads its rendered
 * parts and the contact's profile back from the store when its turn comes. Only with a
 * store that keeps the outbox (LMDB); the memory store keeps none, so messages stay
 * whole there. */
#ifndef PARLEY_OUTBOX_SLIM_H
#define PARLEY_OUTBOX_SLIM_H

struct parley_msg;
struct store;

/* Frees the parts of `m` the store holds (subject, text, html, profile). The store's
 * record must be whole: every queued message was written whole before it was queued. */
void outbox_slim(struct parley_msg *m);
/* Reads the freed parts back. 0, or -1 when the store could not give them (then `m` is
 * unchanged and still slim). */
int outbox_fill(struct store *st, struct parley_msg *m);

#endif

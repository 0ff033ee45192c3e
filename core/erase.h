/* Erasing a contact (README, "Erasure"): its profile, every conversation (with its
 * deadline and its place in its version's active count), its history, its messages queued,
 * in flight or dead-lettered, and the receipts for it not applied yet. All of it goes in
 * the open batch, so a failed commit keeps the contact whole; the outbox never delivers a
 * message of it once the erasure is made (outbox.h). Event ids in the dedupe window stay:
 * they are the integrator's keys, not the contact's data. A later event for the same id
 * starts a new contact from nothing. */
#ifndef PARLEY_ERASE_H
#define PARLEY_ERASE_H

struct core;

/* 1 erased (in the open batch: an answer waits for its commit), 0 no such contact, -1 the
 * store failed (the batch will not commit). Never while the core settles. */
int erase_contact(struct core *core, const char *id);

#endif

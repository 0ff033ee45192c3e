/* The store interface: contacts, conversations, the event-id dedupe window, the deadline
 * index, the outbox and counters. Kept narrow so that a backend is one file: store_mem.c
 * (in memory, for tests and tools), store_lmdb.c (the embedded default), a distributed
 * engine later.
 *
 * Batches. Work is grouped into batches: the first call after a commit opens one (for
 * LMDB, a write transaction), `commit` makes all of it durable at once, `abort` drops all
 * of it. Records returned by a backend are owned by it and stay valid until the next
 * commit or abort; the caller changes them in place and calls *_put. Lists hold
 * conversation ids, not pointers, so a backend may evict.
 *
 * The write contract. A write (*_put, *_del, *_create, contact_erase, event_seen,
 * active_add) that fails (out of memory, a full map, a disk error) returns -1 (or NULL)
 * AND latches the batch as failed: the next `commit` refuses it, returns -1 with the first
 * failure's reason, and drops the whole batch, as `abort` would. So a caller applying a
 * decision need not unwind a half-written one: it may go on, and must let `commit`
 * decide; what it must never do is act outside the store (answer 200, hand a message to a
 * plugin) before that commit succeeded. The core keeps to this: HTTP answers and plugin
 * deliveries wait for the commit (core.c, core_commit). A caller that cannot go on without
 * the record (a NULL from contact_create) stops that event and logs it.
 *
 * The memory backend keeps no batches: writes apply at once, commit always succeeds and
 * abort drops nothing. It is for tests and `parley test`, where nothing is durable anyway.
 *
 * Erasure and retention. contact_erase deletes everything that names a contact, in the
 * open batch like any write; the event ids of the dedupe window stay (they are the
 * integrator's keys, not the contact's data). The retention sweep (sweep.c) reads the
 * store a few records at a time through the two walks, whose position the backend keeps
 * (LMDB: in the store, committed with the batches, so a restart goes on where the last
 * commit left it; memory: in the process).
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "records.h"

struct store;

/* Counters kept across restarts (the core's metrics). */
#define STORE_COUNTERS 32

struct store_ops {
  struct contact *(*contact_get)(struct store *s, const char *id);
  struct contact *(*contact_create)(struct store *s, const char *id, int64_t now_ms);
  int (*contact_put)(struct store *s, struct contact *c);
  /* 1 when the id was seen within the window; else remembers it and returns 0. */
  int (*event_seen)(struct store *s, const char *event_id);
  struct conv *(*conv_create)(struct store *s, struct contact *c, const char *journey,
                              uint32_t version, int64_t now_ms);
  struct conv *(*conv_get)(struct store *s, uint64_t id);
  int (*conv_put)(struct store *s, struct conv *cv); /* also (re)indexes its deadline */
  /* Appends `line` (at at_ms) to conversation `id`'s history without rewriting the
   * conversation when it is not in this batch already: a delivery noted after the commit
   * that handed the message over costs one small write, not a decode and an encode of the
   * whole record. The note is part of the history from then on (every get sees it);
   * `limit` is the history's bound. 0, or -1 (the batch is latched). */
  int (*conv_note)(struct store *s, uint64_t id, int64_t at_ms, const char *line, size_t limit);
  /* Deletes conversation `id` and its deadline entry (not its place in its contact's
   * lists: the caller's). Records of it handed out before are freed. */
  int (*conv_del)(struct store *s, uint64_t id);
  /* Deletes contact `id`, every conversation it lists (with their deadline entries) and
   * every outbox message for it, queued or dead. 1 erased, 0 no such contact, -1 failed
   * (the batch is latched). Records of them handed out before are freed. The caller
   * keeps the active counts (active_add). */
  int (*contact_erase)(struct store *s, const char *id);
  /* The retention walks: the next contact (conversation) after the walk's position, which
   * moves on to it; 1 and the record (as *_get hands it out), 0 when the pass is over (the
   * next call starts a new one at the first), -1 when it cannot be read. */
  int (*contact_walk)(struct store *s, struct contact **out);
  int (*conv_walk)(struct store *s, struct conv **out);
  /* The earliest deadline of a listening conversation: 1 and its values, 0 if none. */
  int (*deadline_next)(struct store *s, int64_t *due_ms, uint64_t *conv_id);
  /* Outbox: a message is put before it reaches a plugin, updated on each attempt, deleted
   * once delivered; dead letters stay (state MSG_DEAD). */
  int (*msg_put)(struct store *s, const struct parley_msg *m);
  int (*msg_del)(struct store *s, const char *id);
  /* Every stored message, in id order; `cb` takes ownership. */
  int (*msg_each)(struct store *s, void (*cb)(void *ud, struct parley_msg *m), void *ud);
  /* One message: 1 and a new record (the caller frees it), 0 when absent. */
  int (*msg_get)(struct store *s, const char *id, struct parley_msg **out);
  /* Journey versions: the files of every version a conversation may still run on (opaque
   * bytes: the Lua host's bundle, or the bare journey text stores held before bundles), so
   * a restart can reload a drained-but-not-empty old version. */
  int (*journey_put)(struct store *s, const char *name, uint32_t version, const char *src, size_t len);
  /* 1 and a malloc'd copy of the bytes, 0 when absent. */
  int (*journey_get)(struct store *s, const char *name, uint32_t version, char **src, size_t *len);
  int (*journey_del)(struct store *s, const char *name, uint32_t version);
  /* The highest stored version of `name` (0 when none). */
  uint32_t (*journey_latest)(struct store *s, const char *name);
  /* Active (not done, not failed) conversations per journey version, after adding delta;
   * a delta of 0 only reads. */
  int64_t (*active_add)(struct store *s, const char *name, uint32_t version, int64_t delta);
  int (*counters_get)(struct store *s, uint64_t *vals, size_t n);
  int (*counters_put)(struct store *s, const uint64_t *vals, size_t n);
  /* The core's index (addr.h): opaque keys, in the batch like any write; scan calls
   * `each` for every key starting with `prefix` in key order (until it returns nonzero)
   * and returns how many it saw, or -1. */
  int (*index_put)(struct store *s, const void *key, size_t len);
  int (*index_del)(struct store *s, const void *key, size_t len);
  int (*index_scan)(struct store *s, const void *prefix, size_t len,
                    int (*each)(void *ud, const void *key, size_t len), void *ud);
  /* A short text the core keeps by name (meta_get: 1 and the text, 0 when absent, -1). */
  int (*meta_get)(struct store *s, const char *name, char *out, size_t outlen);
  int (*meta_put)(struct store *s, const char *name, const char *text);
  /* Journey stats (stats.h): signed counters under text keys, added to in the batch like
   * any write (a counter counts in the same commit as the change it counts). scan calls
   * `each` for every key in [lo, hi) (the LMDB backend in key order, the memory one in
   * none), until it returns nonzero; it returns how many it saw, or -1. */
  int (*tally_add)(struct store *s, const char *key, int64_t delta);
  int (*tally_scan)(struct store *s, const char *lo, const char *hi,
                    int (*each)(void *ud, const char *key, int64_t val), void *ud);
  /* Make the batch durable. On -1 (err says why) the batch was dropped, as by abort. */
  int (*commit)(struct store *s, char *err, size_t errlen);
  void (*abort)(struct store *s);
  /* Did this batch change anything? */
  int (*dirty)(const struct store *s);
  /* Deferred flushes (NULL in a backend whose commit is as durable as it gets: memory).
   * `committed`: a mark of the last commit that wrote (increasing; 0 before any). `sync`:
   * makes every commit made so far durable and sets *upto to the mark it reached; safe
   * from another thread while commits go on (the only call that is); -1 with err when
   * the flush failed. */
  uint64_t (*committed)(const struct store *s);
  int (*sync)(struct store *s, uint64_t *upto, char *err, size_t errlen);
  void (*close)(struct store *s);
};

struct store {
  const struct store_ops *ops;
};

struct store *store_mem_open(size_t dedupe_window);

struct store_lmdb_options {
  const char *dir;        /* the LMDB environment's folder (made if missing) */
  size_t map_size;        /* bytes the database may grow to */
  size_t dedupe_window;   /* event ids remembered */
  int read_only;          /* tools (`parley inspect`) beside a running daemon */
  int deferred_sync;      /* commits are not flushed: `sync` does it (the daemon); else
                             each commit returns once it is on disk */
};
/* Returns NULL with err (the folder, and LMDB's reason). */
struct store *store_lmdb_open(const struct store_lmdb_options *o, char *err, size_t errlen);
/* A consistent copy of the environment into `dir` while it is in use (compacted). */
int store_lmdb_backup(struct store *s, const char *dir, char *err, size_t errlen);

#endif

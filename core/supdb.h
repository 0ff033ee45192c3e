/* The API's global suppression list: addresses an operator adds and removes at run time
 * (PUT and DELETE /v1/suppressions/{channel}/{address}), kept in the store's index beside
 * the contact index, so it is exactly as durable as any write and survives a reindex
 * (addr.c leaves keys starting with ADDR_OTHER_PREFIX alone). A key is
 * "\x1e channel \x1f address \x1f at_ms \x1f reason", the address in its compared form
 * (suppress.h); a prefix scan of "\x1e channel \x1f address \x1f" finds it. The speak gate
 * asks it once per speak (supdb_gate), after the configuration's lists. */
#ifndef PARLEY_SUPDB_H
#define PARLEY_SUPDB_H
#include <stddef.h>
#include <stdint.h>

struct core;

#define SUPDB_REASON_MAX 100 /* bytes of an entry's reason */
#define SUPDB_LIST_MAX 1000  /* entries one listing answers with */

struct supdb_entry {
  char address[321];
  char reason[SUPDB_REASON_MAX + 1];
  int64_t at_ms;
};

/* Lists `address` (compared form) on `channel`, replacing an entry already there, in the
 * open batch. -1 when the key would not fit the store's keys. */
int supdb_put(struct core *core, const char *channel, const char *address, const char *reason, int64_t at_ms);
/* 1 when an entry was there and is removed (in the open batch), 0 when none, -1 store error. */
int supdb_del(struct core *core, const char *channel, const char *address);
/* 1 and the entry, 0 when not listed, -1 store error. */
int supdb_get(struct core *core, const char *channel, const char *address, struct supdb_entry *out);
/* Up to `max` (<= SUPDB_LIST_MAX + 1: a page and whether there is more) entries of
 * `channel` in address order, after `after` ("" from the first); how many, or -1. */
int supdb_list(struct core *core, const char *channel, const char *after, struct supdb_entry *out, size_t max);
/* gate.h's `listed`: `ud` is the core; 1 with the refusal's words in why when the
 * contact's `address` (as the profile holds it) is listed on `channel`. */
int supdb_gate(void *ud, const char *channel, const char *address_attr, const char *address, char *why, size_t len);

#endif

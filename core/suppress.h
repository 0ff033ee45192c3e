/* Global suppression lists: addresses and numbers that no journey may message on a channel,
 * whoever's profile holds them (a complaint list, a do-not-call list). The configuration's
 * `suppress` table (cfg_suppress.c) fills one set at start; the speak gate asks it once per
 * speak (gate.c). An address is kept in its compared form: an e-mail address in lower case,
 * a phone number in E.164 exactly as written, any other address as written. */
#ifndef PARLEY_SUPPRESS_H
#define PARLEY_SUPPRESS_H
#include <stddef.h>

/* How a channel's addresses are compared, from its address attribute. */
enum suppress_kind {
  SUPPRESS_EMAIL, /* "email": one '@', compared case-insensitively */
  SUPPRESS_PHONE, /* "phone": E.164 (+, then 2 to 15 digits), compared exactly */
  SUPPRESS_OTHER  /* anything else: printable, no spaces, compared exactly */
};

#define SUPPRESS_ADDRESS_MAX 320 /* the longest address a list may hold */

/* One listed address: "channel \x1f address", and which source listed it. */
struct suppress_slot {
  char *key; /* NULL: empty */
  int src;
};

/* An open-addressing hash set (linear probing; nothing is ever taken out). */
struct suppress_set {
  struct suppress_slot *slots;
  size_t cap, n;   /* cap: a power of two, or 0 */
  char **sources;  /* "the configuration", file paths: owned here */
  size_t n_sources;
};

enum suppress_kind suppress_kind_of(const char *address_attr);
/* `in` in its compared form into out (SUPPRESS_ADDRESS_MAX + 1 bytes); -1 with the reason
 * in err when it is not an address of that kind. */
int suppress_norm(enum suppress_kind kind, const char *in, char *out, char *err, size_t errlen);
/* Adds a source's name; its index for suppress_add, or -1 out of memory. */
int suppress_source(struct suppress_set *s, const char *name);
/* Adds a normalised address of `channel`, listed by source `src`. -1 out of memory. */
int suppress_add(struct suppress_set *s, const char *channel, const char *address, int src);
/* The source listing `address` (as the profile holds it) on `channel`, or NULL. */
const char *suppress_find(const struct suppress_set *s, const char *channel, enum suppress_kind kind,
                          const char *address);
size_t suppress_count(const struct suppress_set *s);
void suppress_free(struct suppress_set *s);

#endif

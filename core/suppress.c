/* See suppress.h. The set is keyed by channel and address; each key points at one of the
 * set's source names by index, so a list of millions of numbers costs one key each. */
#include "suppress.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum suppress_kind suppress_kind_of(const char *address_attr)
{
  if (strcmp(address_attr, "email") == 0)
    return SUPPRESS_EMAIL;
  return strcmp(address_attr, "phone") == 0 ? SUPPRESS_PHONE : SUPPRESS_OTHER;
}

static int printable_word(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s <= ' ' || *s == 0x7f)
      return 0;
  return 1;
}

static int email_ok(const char *s)
{
  const char *at = strchr(s, '@');
  return at && at != s && at[1] && !strchr(at + 1, '@') && printable_word(s);
}

static int e164_ok(const char *s)
{
  size_t n = 0;
  if (*s++ != '+' || *s < '1' || *s > '9')
    return 0;
  for (; *s; s++, n++)
    if (!isdigit((unsigned char)*s))
      return 0;
  return n >= 2 && n <= 15;
}

int suppress_norm(enum suppress_kind kind, const char *in, char *out, char *err, size_t errlen)
{
  size_t n = strlen(in);
  if (n == 0 || n > SUPPRESS_ADDRESS_MAX) {
    snprintf(err, errlen, "an address must have 1 to %d characters", SUPPRESS_ADDRESS_MAX);
    return -1;
  }
  if (kind == SUPPRESS_EMAIL && !email_ok(in)) {
    snprintf(err, errlen, "'%s' is not an e-mail address (name@domain, no spaces)", in);
    return -1;
  }
  if (kind == SUPPRESS_PHONE && !e164_ok(in)) {
    snprintf(err, errlen, "'%s' is not a phone number in E.164 form (+ and 2 to 15 digits, such as +4915112345678)",
             in);
    return -1;
  }
  if (kind == SUPPRESS_OTHER && !printable_word(in)) {
    snprintf(err, errlen, "'%s' holds spaces or control characters", in);
    return -1;
  }
  for (size_t i = 0; i <= n; i++)
    out[i] = kind == SUPPRESS_EMAIL ? (char)tolower((unsigned char)in[i]) : in[i];
  return 0;
}

int suppress_source(struct suppress_set *s, const char *name)
{
  char **more = realloc(s->sources, (s->n_sources + 1) * sizeof *more);
  if (!more)
    return -1;
  s->sources = more;
  if (!(s->sources[s->n_sources] = strdup(name)))
    return -1;
  return (int)s->n_sources++;
}

/* "channel \x1f address": a channel name holds no \x1f. */
static int key_of(const char *channel, const char *address, char *key, size_t len)
{
  int n = snprintf(key, len, "%s\x1f%s", channel, address);
  return n > 0 && (size_t)n < len ? 0 : -1;
}

/* FNV-1a: the keys come from the operator's lists and from profiles, bounded in length. */
static size_t hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

static struct suppress_slot *slot_of(const struct suppress_set *s, const char *key)
{
  size_t i = hash(key) & (s->cap - 1);
  while (s->slots[i].key && strcmp(s->slots[i].key, key) != 0)
    i = (i + 1) & (s->cap - 1);
  return &s->slots[i];
}

/* Doubles the table, kept at most half full. */
static int grow(struct suppress_set *s)
{
  struct suppress_set bigger = {.cap = s->cap ? s->cap * 2 : 64};
  if (!(bigger.slots = calloc(bigger.cap, sizeof *bigger.slots)))
    return -1;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i].key)
      *slot_of(&bigger, s->slots[i].key) = s->slots[i];
  free(s->slots);
  s->slots = bigger.slots;
  s->cap = bigger.cap;
  return 0;
}

int suppress_add(struct suppress_set *s, const char *channel, const char *address, int src)
{
  char key[SUPPRESS_ADDRESS_MAX + 80];
  if (key_of(channel, address, key, sizeof key) < 0 || ((s->n + 1) * 2 > s->cap && grow(s) < 0))
    return -1;
  struct suppress_slot *slot = slot_of(s, key);
  if (!slot->key) {
    if (!(slot->key = strdup(key)))
      return -1;
    s->n++;
  }
  slot->src = src; /* listed twice: the last source says */
  return 0;
}

const char *suppress_find(const struct suppress_set *s, const char *channel, enum suppress_kind kind,
                          const char *address)
{
  char norm[SUPPRESS_ADDRESS_MAX + 1], key[SUPPRESS_ADDRESS_MAX + 80], err[160];
  if (!s || s->n == 0 || suppress_norm(kind, address, norm, err, sizeof err) < 0 ||
      key_of(channel, norm, key, sizeof key) < 0)
    return NULL; /* not an address a list can hold: on none */
  const struct suppress_slot *slot = slot_of(s, key);
  return slot->key ? s->sources[slot->src] : NULL;
}

size_t suppress_count(const struct suppress_set *s)
{
  return s ? s->n : 0;
}

void suppress_free(struct suppress_set *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->cap; i++)
    free(s->slots[i].key);
  free(s->slots);
  for (size_t i = 0; i < s->n_sources; i++)
    free(s->sources[i]);
  free(s->sources);
  free(s);
}

/* The on-disk form of store records: one MessagePack array per record, led by a format
 * version so a later Parley can read what an earlier one wrote. Shared by every durable
 * backend (LMDB now). */
#ifndef PARLEY_STORE_CODEC_H
#define PARLEY_STORE_CODEC_H
#include <msgpack.h>
#include <stddef.h>

#include "store.h"

struct parley_msg;

/* Encoders append to `out` (cleared first). Return 0, or -1 when out of memory. */
int store_encode_contact(const struct contact *c, msgpack_sbuffer *out);
int store_encode_conv(const struct conv *cv, msgpack_sbuffer *out);
int store_encode_msg(const struct parley_msg *m, msgpack_sbuffer *out);

/* Decoders return a new record, or NULL with err saying what is malformed. */
struct contact *store_decode_contact(const char *buf, size_t len, char *err, size_t errlen);
struct conv *store_decode_conv(uint64_t id, const char *buf, size_t len, char *err, size_t errlen);
struct parley_msg *store_decode_msg(const char *buf, size_t len, char *err, size_t errlen);
/* Is the encoded outbox message for `contact`? 1 yes, 0 no, -1 malformed. Reads the
 * contact field in place, copying nothing: an erasure asks it of every stored message. */
int store_msg_is_for(const char *buf, size_t len, const char *contact);

#endif

/* A plausibility walk over MessagePack bytes before msgpack-c unpacks them. msgpack-c
 * reserves room for every element a container header announces, so a damaged header
 * ("4 billion entries") would ask malloc for hundreds of gigabytes. Each element takes at
 * least one byte, so no honest container announces more elements than bytes remain. */
#ifndef PARLEY_MPCHECK_H
#define PARLEY_MPCHECK_H
#include <stddef.h>

/* 1 when `buf` holds one complete MessagePack value whose every container and string
 * fits in what remains of the buffer, else 0. */
int mpcheck_plausible(const char *buf, size_t len);

#endif

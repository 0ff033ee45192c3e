/* The MessagePack plausibility walk (see mpcheck.h). */
#include "mpcheck.h"

#include <stdint.h>

static uint64_t be(const unsigned char *p, int n)
{
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* What one header announces: `skip` payload bytes after its `head` bytes, and `items`
 * more values to read (a container's elements). Returns 0 for a byte that is no header. */
static int header(const unsigned char *p, size_t left, size_t *head, uint64_t *skip, uint64_t *items)
{
  unsigned c = p[0];
  static const unsigned char fixext[] = {1, 2, 4, 8, 16};
  *head = 1, *skip = 0, *items = 0;
  if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
    return 1;
  if (c <= 0x8f || (c >= 0x90 && c <= 0x9f)) {
    *items = (c & 0x0f) * (c <= 0x8f ? 2u : 1u);
    return 1;
  }
  if (c <= 0xbf) {
    *skip = c & 0x1f;
    return 1;
  }
  int n;
  switch (c) {
  case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
  case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
    n = (c == 0xc4 || c == 0xd9) ? 1 : (c == 0xc5 || c == 0xda) ? 2 : 4;
    if (left < 1u + n)
      return 0;
    *head = 1 + n, *skip = be(p + 1, n);
    return 1;
  case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32: length, then a type byte */
    n = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
    if (left < 2u + n)
      return 0;
    *head = 2 + n, *skip = be(p + 1, n);
    return 1;
  case 0xca: *skip = 4; return 1;
  case 0xcb: *skip = 8; return 1;
  case 0xcc: case 0xd0: *skip = 1; return 1;
  case 0xcd: case 0xd1: *skip = 2; return 1;
  case 0xce: case 0xd2: *skip = 4; return 1;
  case 0xcf: case 0xd3: *skip = 8; return 1;
  case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
    *skip = 1u + fixext[c - 0xd4];
    return 1;
  case 0xdc: case 0xdd: case 0xde: case 0xdf: /* array 16/32, map 16/32 */
    n = (c == 0xdc || c == 0xde) ? 2 : 4;
    if (left < 1u + n)
      return 0;
    *head = 1 + n, *items = be(p + 1, n) * (c >= 0xde ? 2u : 1u);
    return 1;
  default: return 0; /* 0xc1 is never used */
  }
}

int mpcheck_plausible(const char *buf, size_t len)
{
  const unsigned char *p = (const unsigned char *)buf;
  size_t pos = 0;
  uint64_t pending = 1;
  while (pending > 0) {
    size_t head;
    uint64_t skip, items;
    if (pos >= len || !header(p + pos, len - pos, &head, &skip, &items))
      return 0;
    pos += head;
    if (skip > len - pos || items > len - pos)
      return 0;
    pos += (size_t)skip;
    pending += items - 1;
  }
  return 1;
}

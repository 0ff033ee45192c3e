/* libFuzzer target: stored records (contacts, conversations, outbox messages) as the LMDB
 * backend reads them back. A damaged record must be refused with a reason, and one that
 * decodes must encode again and decode to the same bytes. The erasure's look at a
 * message's contact (store_msg_is_for) must agree with the full decoder. */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/records.h"
#include "store/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_again(msgpack_sbuffer *a, msgpack_sbuffer *b)
{
  if (a->size != b->size || memcmp(a->data, b->data, a->size) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[256];
  const char *buf = (const char *)data;
  msgpack_sbuffer one, two;
  msgpack_sbuffer_init(&one);
  msgpack_sbuffer_init(&two);
  struct contact *c = store_decode_contact(buf, size, err, sizeof err);
  if (c) {
    store_encode_contact(c, &one);
    contact_record_free(c);
    c = store_decode_contact(one.data, one.size, err, sizeof err);
    if (!c)
      abort();
    store_encode_contact(c, &two);
    same_again(&one, &two);
    contact_record_free(c);
  }
  struct conv *cv = store_decode_conv(7, buf, size, err, sizeof err);
  if (cv) {
    store_encode_conv(cv, &one);
    conv_record_free(cv);
    if (!(cv = store_decode_conv(7, one.data, one.size, err, sizeof err)))
      abort();
    store_encode_conv(cv, &two);
    same_again(&one, &two);
    conv_record_free(cv);
  }
  struct parley_msg *m = store_decode_msg(buf, size, err, sizeof err);
  if (m && store_msg_is_for(buf, size, "c42") == 1 && strcmp(m->contact, "c42") != 0)
    abort(); /* an erasure must not take a message that is not the contact's */
  if (m) {
    store_encode_msg(m, &one);
    if (store_msg_is_for(one.data, one.size, m->contact) != 1)
      abort(); /* nor miss one that is */
    msg_record_free(m);
    if (!(m = store_decode_msg(one.data, one.size, err, sizeof err)))
      abort();
    store_encode_msg(m, &two);
    same_again(&one, &two);
    msg_record_free(m);
  }
  msgpack_sbuffer_destroy(&one);
  msgpack_sbuffer_destroy(&two);
  return 0;
}

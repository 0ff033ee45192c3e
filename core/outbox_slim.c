/* See outbox_slim.h. */
#include "outbox_slim.h"

#include <cJSON.h>
#include <stdlib.h>

#include "store/store.h"

void outbox_slim(struct parley_msg *m)
{
  free(m->subject);
  free(m->text);
  free(m->html);
  free(m->profile_json);
  free(m->attr_text);
  cJSON_Delete(m->profile);
  m->subject = m->text = m->html = m->profile_json = m->attr_text = NULL;
  m->profile = NULL;
  m->slim = 1;
}

/* The parts move from the stored copy into `m`; what the outbox changed in memory since
 * (state, due time, attempt, order) is kept. */
int outbox_fill(struct store *st, struct parley_msg *m)
{
  if (!m->slim)
    return 0;
  struct parley_msg *full = NULL;
  if (st->ops->msg_get(st, m->id, &full) != 1 || full == NULL)
    return -1;
  m->subject = full->subject;
  m->text = full->text;
  m->html = full->html;
  m->profile_json = full->profile_json;
  full->subject = full->text = full->html = full->profile_json = NULL;
  msg_record_free(full);
  m->slim = 0;
  return 0;
}

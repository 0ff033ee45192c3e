/* Erasing a contact (see erase.h): the core's side (active counts, the outbox in memory,
 * pending receipts) around the store's contact_erase. */
#include "erase.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "context.h"
#include "stats.h"

/* Receipts a plugin emitted for the contact that the core has not applied yet: applied
 * after the erasure, they would bring back a contact from before it. They stay dropped if
 * the batch is: receipts are not durable until applied (a crash loses them too). */
static void drop_pending(struct core *core, const char *id)
{
  struct pending_event **pp = &core->pending, *pe;
  core->pending_tail = NULL;
  while ((pe = *pp)) {
    if (strcmp(pe->ev.contact, id) == 0) {
      *pp = pe->next;
      event_clear(&pe->ev);
      free(pe);
      continue;
    }
    core->pending_tail = pe;
    pp = &pe->next;
  }
}

/* Its active conversations leave their versions' counts as if they ended, so the last
 * one of an old version still closes that version. Returns how many there were. */
static size_t leave_versions(struct core *core, const struct contact *ct)
{
  struct store *st = core->store;
  size_t n = 0;
  for (size_t i = 0; i < ct->n_active; i++) {
    const struct conv *cv = st->ops->conv_get(st, ct->active[i]);
    if (cv && cv->status != CONV_DONE && cv->status != CONV_FAILED) {
      registry_active(&core->registry, cv->journey, cv->journey_version, -1);
      if (cv->status == CONV_LISTENING)
        stats_gauge(core, cv->journey, "step", cv->step, "waiting", -1);
      n++;
    }
  }
  return n;
}

int erase_contact(struct core *core, const char *id)
{
  struct store *st = core->store;
  assert(!core->settling);
  struct contact *ct = st->ops->contact_get(st, id);
  if (!ct)
    return 0;
  size_t convs = ct->n_convs, active = leave_versions(core, ct);
  drop_pending(core, id);
  size_t msgs = outbox_erase_contact(&core->outbox, id);
  core->must_commit = 1;
  addr_forget(core, id, ct->profile);
  if (st->ops->contact_erase(st, id) < 0)
    return -1; /* latched: the commit refuses the batch, the outbox takes its messages back */
  core->stats.erased++;
  char n_convs[24], n_active[24], n_msgs[24];
  snprintf(n_convs, sizeof n_convs, "%zu", convs);
  snprintf(n_active, sizeof n_active, "%zu", active);
  snprintf(n_msgs, sizeof n_msgs, "%zu", msgs);
  /* the id is not logged: the log would keep what the erasure removes */
  log_kv(&core->log, LOG_INFO, "erase", "contact erased", "conversations", n_convs, "active", n_active,
         "messages", n_msgs, (char *)NULL);
  return 1;
}

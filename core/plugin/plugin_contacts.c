/* contacts_find (ABI 1.2): the contacts an inbound message's sender address belongs to.
 * The core answers from its address index (core.c); this only adapts the callback and
 * reports a refusal once, naming the plugin. */
#include <stddef.h>

#include "log.h"
#include "plugin_int.h"

struct found {
  parley_ctx *ctx;
  void (*cb)(parley_ctx *ctx, const char *contact_id, void *arg);
  void *arg;
};

static void each(void *ud, const char *contact_id)
{
  struct found *f = ud;
  f->cb(f->ctx, contact_id, f->arg);
}

int plugin_contacts_find(parley_ctx *ctx, const char *attribute, const char *value,
                         void (*cb)(parley_ctx *ctx, const char *contact_id, void *arg), void *arg)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  char err[256] = "no contact index in this host";
  if (pi == NULL || attribute == NULL || value == NULL || cb == NULL)
    return -1;
  struct found f = {ctx, cb, arg};
  int n = pi->env.contacts_find ? pi->env.contacts_find(pi->env.core, attribute, value, each, &f, err, sizeof err)
                                : -1;
  if (n < 0)
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "contacts_find refused", "plugin", pi->desc->name,
           "reason", err, (char *)NULL);
  return n;
}

/* A channel that confirms every message back into Parley as "<channel>.delivered", in one
 * of three ways (setting `mode`), so the core's delivery path is tested with a plugin that
 * answers the way real providers do:
 *   sync    send emits the receipt, then returns PARLEY_OK;
 *   inside  send emits the receipt, calls send_done, then returns PARLEY_PENDING;
 *   later   send returns PARLEY_PENDING; a host timer `delay_ms` later emits the receipt
 *           and calls send_done.
 * The receipt's id is derived from the message id, so a message delivered twice is one
 * receipt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

static const struct parley_host *host;

struct later;

struct receipts {
  const char *mode; /* setting */
  int64_t delay_ms; /* setting */
  struct later *list;
};

struct later {
  struct receipts *self;
  parley_msg *msg;
  struct later *prev, *next;
};

static const struct parley_config_spec receipts_config[] = {
    {"mode", PARLEY_CONFIG_STRING, "sync", 0, offsetof(struct receipts, mode),
     "sync, inside or later: how the plugin answers"},
    {"delay_ms", PARLEY_CONFIG_INT, "5", 0, offsetof(struct receipts, delay_ms),
     "milliseconds before a `later` answer"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void emit_receipt(parley_ctx *ctx, parley_msg *msg)
{
  char json[512];
  snprintf(json, sizeof json,
           "{\"id\":\"%s:delivered\",\"type\":\"%s.delivered\",\"contact\":\"%s\","
           "\"data\":{\"message_id\":\"%s\"}}",
           host->msg_id(msg), host->msg_channel(msg), host->msg_contact(msg), host->msg_id(msg));
  if (host->emit_event(ctx, json, strlen(json)) != PARLEY_OK)
    host->log(ctx, PARLEY_LOG_ERROR, "receipt refused", "message_id", host->msg_id(msg), NULL);
}

static void unlink_later(struct later *l)
{
  if (l->prev)
    l->prev->next = l->next;
  else
    l->self->list = l->next;
  if (l->next)
    l->next->prev = l->prev;
}

static void answer_later(parley_ctx *ctx, void *arg)
{
  struct later *l = arg;
  unlink_later(l);
  emit_receipt(ctx, l->msg);
  host->send_done(ctx, l->msg, PARLEY_OK, NULL);
  free(l);
}

static enum parley_status receipts_init(parley_ctx *ctx, void *self)
{
  struct receipts *r = self;
  if (strcmp(r->mode, "sync") && strcmp(r->mode, "inside") && strcmp(r->mode, "later")) {
    host->log(ctx, PARLEY_LOG_ERROR, "mode must be sync, inside or later", "mode", r->mode, NULL);
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static enum parley_status receipts_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct receipts *r = self;
  if (strcmp(r->mode, "sync") == 0) {
    emit_receipt(ctx, msg);
    return PARLEY_OK;
  }
  if (strcmp(r->mode, "inside") == 0) {
    emit_receipt(ctx, msg);
    host->send_done(ctx, msg, PARLEY_OK, NULL);
    return PARLEY_PENDING;
  }
  struct later *l = calloc(1, sizeof *l);
  if (l == NULL || host->timer_start(ctx, (uint64_t)r->delay_ms, answer_later, l) == NULL) {
    free(l);
    return PARLEY_RETRY;
  }
  l->self = r;
  l->msg = msg;
  l->next = r->list;
  if (r->list)
    r->list->prev = l;
  r->list = l;
  return PARLEY_PENDING;
}

static void receipts_shutdown(parley_ctx *ctx, void *self)
{
  struct receipts *r = self;
  while (r->list) {
    struct later *l = r->list;
    r->list = l->next;
    free(l);
  }
}

static const struct parley_plugin receipts_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
#ifdef RECEIPTS_UNDECLARED /* built a second time as receipts_undeclared: it must be refused */
    .name = "receipts_undeclared",
    .capabilities = PARLEY_CAP_SEND,
#else
    .name = "receipts",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
#endif
    .version = "0",
    .instance_size = sizeof(struct receipts),
    .config = receipts_config,
    .init = receipts_init,
    .send = receipts_send,
    .shutdown = receipts_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &receipts_plugin;
}

/* A channel plugin built against the ABI 1.0 header, exactly as it was released
 * (tests/plugins/abi10/parley/plugin.h), never against sdk/include: the proof that a 1.0
 * plugin runs unchanged on a newer host. It uses every 1.0 host function: send returns
 * PARLEY_PENDING, a host timer `delay_ms` later reads the message through each accessor,
 * emits a "<channel>.delivered" receipt that carries what it read, cancels the send's
 * guard timer (a provider timeout, as a real plugin would keep) and completes with
 * send_done(PARLEY_OK, "abi10-<msgid>"). Were the host table laid out differently from
 * 1.0, these calls would land on the wrong functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

#if PARLEY_ABI_MAJOR != 1 || PARLEY_ABI_MINOR != 0
#error "abi10.c must be built against the 1.0 header in tests/plugins/abi10"
#endif

static const struct parley_host *host;

struct abi10;

struct later {
  struct abi10 *self;
  parley_msg *msg;
  parley_timer *timer; /* the answer */
  parley_timer *guard; /* the provider timeout, never reached here */
  struct later *prev, *next;
};

struct abi10 {
  int64_t delay_ms; /* setting */
  struct later *list;
};

static const struct parley_config_spec abi10_config[] = {
    {"delay_ms", PARLEY_CONFIG_INT, "1", 0, offsetof(struct abi10, delay_ms),
     "milliseconds before a send completes"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void unlink_later(struct later *l)
{
  if (l->prev)
    l->prev->next = l->next;
  else
    l->self->list = l->next;
  if (l->next)
    l->next->prev = l->prev;
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

/* The receipt names what the accessors returned, so a test can check each one. */
static void emit_receipt(parley_ctx *ctx, parley_msg *msg)
{
  char json[1024];
  snprintf(json, sizeof json,
           "{\"id\":\"%s:delivered\",\"type\":\"%s.delivered\",\"contact\":\"%s\","
           "\"data\":{\"message_id\":\"%s\",\"address\":\"%s\",\"journey\":\"%s\","
           "\"template\":\"%s\",\"attempt\":%u,\"has_text\":%s,\"email_attr\":\"%s\","
           "\"at\":%lld}}",
           host->msg_id(msg), host->msg_channel(msg), host->msg_contact(msg), host->msg_id(msg),
           or_dash(host->msg_address(msg)), or_dash(host->msg_journey(msg)),
           or_dash(host->msg_template(msg)), host->msg_attempt(msg),
           host->msg_part(msg, "text") ? "true" : "false",
           or_dash(host->msg_contact_attr(msg, "email")), (long long)host->now_ms(ctx));
  if (host->emit_event(ctx, json, strlen(json)) != PARLEY_OK)
    host->log(ctx, PARLEY_LOG_ERROR, "receipt refused", "message_id", host->msg_id(msg), NULL);
}

static void complete(parley_ctx *ctx, void *arg)
{
  struct later *l = arg;
  char detail[64];
  unlink_later(l);
  host->timer_cancel(ctx, l->guard);
  emit_receipt(ctx, l->msg);
  snprintf(detail, sizeof detail, "abi10-%s", host->msg_id(l->msg));
  host->send_done(ctx, l->msg, PARLEY_OK, detail);
  free(l);
}

/* Ten minutes without an answer: the provider is gone; the core tries again later. */
static void give_up(parley_ctx *ctx, void *arg)
{
  struct later *l = arg;
  unlink_later(l);
  host->timer_cancel(ctx, l->timer);
  host->send_done(ctx, l->msg, PARLEY_RETRY, "no answer from the provider");
  free(l);
}

static enum parley_status abi10_init(parley_ctx *ctx, void *self)
{
  struct abi10 *a = self;
  if (a->delay_ms < 0) {
    host->log(ctx, PARLEY_LOG_ERROR, "delay_ms must not be negative", NULL);
    return PARLEY_ERROR;
  }
  host->log(ctx, PARLEY_LOG_DEBUG, "built against ABI 1.0", "host_minor",
            host->abi_minor >= 1 ? "1 or later" : "0", NULL);
  return PARLEY_OK;
}

static enum parley_status abi10_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct abi10 *a = self;
  struct later *l = calloc(1, sizeof *l);
  if (l == NULL)
    return PARLEY_RETRY;
  l->self = a;
  l->msg = msg;
  l->timer = host->timer_start(ctx, (uint64_t)a->delay_ms, complete, l);
  l->guard = host->timer_start(ctx, 600000, give_up, l);
  if (l->timer == NULL || l->guard == NULL) {
    host->timer_cancel(ctx, l->timer);
    host->timer_cancel(ctx, l->guard);
    free(l);
    return PARLEY_RETRY;
  }
  l->next = a->list;
  if (a->list)
    a->list->prev = l;
  a->list = l;
  return PARLEY_PENDING;
}

/* The host has cancelled the timers already (1.0: "cancelled by the host"); what is left
 * to free is ours. */
static void abi10_shutdown(parley_ctx *ctx, void *self)
{
  struct abi10 *a = self;
  while (a->list) {
    struct later *l = a->list;
    a->list = l->next;
    free(l);
  }
}

static const struct parley_plugin abi10_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "abi10",
    .version = "1.0",
    .description = "a 1.0 plugin, built against the 1.0 header",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct abi10),
    .config = abi10_config,
    .init = abi10_init,
    .send = abi10_send,
    .shutdown = abi10_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &abi10_plugin;
}

/* example: a Parley channel plugin skeleton. Copy this folder, rename "example" to your
 * channel's name, and fill in send(). Read the README next to this file first; the
 * contract itself is documented in <parley/plugin.h>.
 *
 * What it does as shipped: "delivers" each message by waiting `latency_ms` on a host
 * timer (standing in for a provider's HTTP call), completes it with the provider's id,
 * and, when `receipts` is true, reports it delivered as an event, closing the loop. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

/* The host's function table, given to the entry point. The only way to call the daemon. */
static const struct parley_host *host;

struct pending;

/* One instance per channel configured with `plugin = "example"`. The host allocates it
 * zeroed, and fills the fields named in the config spec below before init runs. */
struct example {
  const char *api_key; /* setting (required); owned by the host, valid until shutdown */
  int64_t latency_ms;  /* setting, default 50 */
  int receipts;        /* setting, default false */
  struct pending *pending; /* sends in flight, so shutdown can free them */
};

/* A send in flight: everything the completion needs. */
struct pending {
  struct example *self;
  parley_msg *msg; /* valid until we call host->send_done */
  struct pending *next;
};

static const struct parley_config_spec example_config[] = {
    {"api_key", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct example, api_key),
     "the provider's API key"},
    {"latency_ms", PARLEY_CONFIG_INT, "50", 0, offsetof(struct example, latency_ms),
     "simulated provider latency in milliseconds"},
    {"receipts", PARLEY_CONFIG_BOOL, "false", 0, offsetof(struct example, receipts),
     "emit <channel>.delivered events"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Check what the spec cannot (ranges, formats); never block here: no network calls. */
static enum parley_status example_init(parley_ctx *ctx, void *self)
{
  struct example *ex = self;
  if (ex->latency_ms < 0) {
    host->log(ctx, PARLEY_LOG_ERROR, "latency_ms must be >= 0", NULL);
    return PARLEY_ERROR;
  }
  host->log(ctx, PARLEY_LOG_INFO, "example channel ready", NULL); /* never log api_key */
  return PARLEY_OK;
}

static void forget(struct example *ex, struct pending *p)
{
  for (struct pending **pp = &ex->pending; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      return;
    }
}

/* A receipt is an ordinary event for the same contact. Its id is derived from the
 * message id, so a message delivered twice (delivery is at least once) yields one event. */
static void emit_delivered(parley_ctx *ctx, parley_msg *msg)
{
  char json[512];
  /* Ids and channel names are plain tokens; a plugin echoing free text into JSON should
   * escape it (or build the JSON with a library, as plugins/file does with cJSON). */
  int n = snprintf(json, sizeof json,
                   "{\"id\":\"%s:delivered\",\"type\":\"%s.delivered\",\"contact\":\"%s\","
                   "\"data\":{\"message_id\":\"%s\"}}",
                   host->msg_id(msg), host->msg_channel(msg), host->msg_contact(msg),
                   host->msg_id(msg));
  if (n > 0 && (size_t)n < sizeof json)
    host->emit_event(ctx, json, (size_t)n);
}

/* The "provider" answered: report the outcome, exactly once per pending message. */
static void provider_answered(parley_ctx *ctx, void *arg)
{
  struct pending *p = arg;
  char provider_id[96];
  snprintf(provider_id, sizeof provider_id, "example-%s", host->msg_id(p->msg));
  forget(p->self, p);
  if (p->self->receipts)
    emit_delivered(ctx, p->msg); /* before send_done: the msg handle dies with it */
  host->send_done(ctx, p->msg, PARLEY_OK, provider_id);
  free(p);
}

/* Called on the loop for each message. Return at once: PARLEY_PENDING and complete
 * later, or a final PARLEY_OK / PARLEY_RETRY / PARLEY_ERROR. */
static enum parley_status example_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct example *ex = self;
  if (host->msg_address(msg) == NULL)
    return PARLEY_ERROR; /* permanent: no address for this channel, retrying cannot help */
  struct pending *p = calloc(1, sizeof *p);
  if (p == NULL)
    return PARLEY_RETRY;
  p->self = ex;
  p->msg = msg;
  if (host->timer_start(ctx, (uint64_t)ex->latency_ms, provider_answered, p) == NULL) {
    free(p);
    return PARLEY_RETRY;
  }
  p->next = ex->pending;
  ex->pending = p;
  return PARLEY_PENDING;
}

/* Free what init and send made. The host has already cancelled our timers; messages still
 * pending are abandoned (the core delivers them again), so send_done is not called. */
static void example_shutdown(parley_ctx *ctx, void *self)
{
  struct example *ex = self;
  while (ex->pending) {
    struct pending *p = ex->pending;
    ex->pending = p->next;
    free(p);
  }
}

static const struct parley_plugin example_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "example",
    .version = "0.1.0",
    .description = "skeleton channel: simulated provider with receipts",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct example),
    .config = example_config,
    .init = example_init,
    .send = example_send,
    .shutdown = example_shutdown,
    .config_spec_size = sizeof(struct parley_config_spec), /* 1.1: the spec may grow */
};

/* The one exported symbol. Store the host table and return the descriptor; nothing else
 * (it runs once per instance, before any setting is known). */
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &example_plugin;
}

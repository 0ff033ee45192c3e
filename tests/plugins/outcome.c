/* A channel whose every answer is chosen by the test, through the contact's profile: the
 * attribute "<channel>_outcome" (say "email_outcome") says how each message ends.
 *   delivered[:ID]    send_delivered, with the provider id ID
 *   echo_text         send_delivered, the message's text part as the provider id
 *   failed:N[:TEXT]   send_failed with reason number N and the detail TEXT ("no such box")
 *   retry:MS          send_retry, the provider asking to wait MS milliseconds
 *   ok10:DETAIL       1.0's send_done(PARLEY_OK, DETAIL)
 *   error10           1.0's send_done(PARLEY_ERROR, "bad address")
 *   return_error      send returns PARLEY_ERROR
 * The answer is given from inside send (which then returns PARLEY_PENDING), or, with the
 * prefix "later:", from a host timer `delay_ms` later. No attribute: delivered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

static const struct parley_host *host;

struct outcome;

struct later {
  struct outcome *self;
  parley_msg *msg;
  char how[128];
  struct later *prev, *next;
};

struct outcome {
  int64_t delay_ms; /* setting */
  struct later *list;
};

static const struct parley_config_spec outcome_config[] = {
    {"delay_ms", PARLEY_CONFIG_INT, "1", 0, offsetof(struct outcome, delay_ms),
     "milliseconds before a `later:` answer"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Answers for `msg` as `how` says. */
static void answer(parley_ctx *ctx, parley_msg *msg, const char *how)
{
  if (strncmp(how, "delivered", 9) == 0) {
    host->send_delivered(ctx, msg, how[9] == ':' ? how + 10 : NULL);
  } else if (strcmp(how, "echo_text") == 0) {
    host->send_delivered(ctx, msg, host->msg_part(msg, "text"));
  } else if (strncmp(how, "failed:", 7) == 0) {
    const char *text = strchr(how + 7, ':');
    host->send_failed(ctx, msg, (enum parley_fail_reason)atoi(how + 7), text ? text + 1 : NULL);
  } else if (strncmp(how, "retry:", 6) == 0) {
    host->send_retry(ctx, msg, strtoull(how + 6, NULL, 10), "throttled");
  } else if (strncmp(how, "ok10:", 5) == 0) {
    host->send_done(ctx, msg, PARLEY_OK, how + 5);
  } else if (strcmp(how, "error10") == 0) {
    host->send_done(ctx, msg, PARLEY_ERROR, "bad address");
  } else {
    host->log(ctx, PARLEY_LOG_ERROR, "unknown outcome", "outcome", how, NULL);
    host->send_done(ctx, msg, PARLEY_RETRY, "unknown outcome");
  }
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
  answer(ctx, l->msg, l->how);
  free(l);
}

static enum parley_status outcome_init(parley_ctx *ctx, void *self)
{
  if (!PARLEY_HOST_HAS(host, send_failed)) {
    host->log(ctx, PARLEY_LOG_ERROR, "needs ABI 1.1", NULL);
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static enum parley_status outcome_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct outcome *o = self;
  char attr[64];
  snprintf(attr, sizeof attr, "%s_outcome", host->msg_channel(msg));
  const char *how = host->msg_contact_attr(msg, attr);
  if (how == NULL)
    how = "delivered";
  if (strcmp(how, "return_error") == 0)
    return PARLEY_ERROR;
  if (strncmp(how, "later:", 6) != 0) {
    answer(ctx, msg, how);
    return PARLEY_PENDING;
  }
  struct later *l = calloc(1, sizeof *l);
  if (l == NULL || host->timer_start(ctx, (uint64_t)o->delay_ms, answer_later, l) == NULL) {
    free(l);
    return PARLEY_RETRY;
  }
  snprintf(l->how, sizeof l->how, "%s", how + 6);
  l->self = o;
  l->msg = msg;
  l->next = o->list;
  if (o->list)
    o->list->prev = l;
  o->list = l;
  return PARLEY_PENDING;
}

static void outcome_shutdown(parley_ctx *ctx, void *self)
{
  struct outcome *o = self;
  while (o->list) {
    struct later *l = o->list;
    o->list = l->next;
    free(l);
  }
}

static const struct parley_plugin outcome_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "outcome",
    .version = "0",
    .capabilities = PARLEY_CAP_SEND,
    .instance_size = sizeof(struct outcome),
    .config = outcome_config,
    .init = outcome_init,
    .send = outcome_send,
    .shutdown = outcome_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &outcome_plugin;
}

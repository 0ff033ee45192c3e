/* A slow, asynchronous channel: send returns PARLEY_PENDING and completes through a host
 * timer `delay_ms` later, with PARLEY_OK and detail "provider-id-<msgid>" (or PARLEY_RETRY
 * when `fail` is set). With `seen` (a path), each send first appends "<id> <attempt>" to
 * that file, so a test can read which attempt a message was handed over with. Each pending send is tracked so shutdown can free it: that is what
 * a real plugin must do with per-message state when it is closed with sends in flight. */
#include <stdio.h>
#include <stdlib.h>

#include <parley/plugin.h>

static const struct parley_host *host;

struct pending;

struct pending_send {
  int64_t delay_ms; /* setting */
  int fail;         /* setting */
  const char *seen; /* setting */
  struct pending *list;
};

struct pending {
  struct pending_send *self;
  parley_msg *msg;
  parley_timer *timer;
  struct pending *prev, *next;
};

static const struct parley_config_spec pending_config[] = {
    {"delay_ms", PARLEY_CONFIG_INT, "10", 0, offsetof(struct pending_send, delay_ms),
     "milliseconds before the send completes"},
    {"fail", PARLEY_CONFIG_BOOL, "false", 0, offsetof(struct pending_send, fail),
     "complete with PARLEY_RETRY instead of PARLEY_OK"},
    {"seen", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct pending_send, seen),
     "a file to append \"<id> <attempt>\" to at each send"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void unlink_pending(struct pending *p)
{
  if (p->prev)
    p->prev->next = p->next;
  else
    p->self->list = p->next;
  if (p->next)
    p->next->prev = p->prev;
}

static void complete(parley_ctx *ctx, void *arg)
{
  struct pending *p = arg;
  char detail[96];
  unlink_pending(p);
  if (p->self->fail) {
    host->send_done(ctx, p->msg, PARLEY_RETRY, "provider unavailable");
  } else {
    snprintf(detail, sizeof detail, "provider-id-%s", host->msg_id(p->msg));
    host->send_done(ctx, p->msg, PARLEY_OK, detail);
  }
  free(p);
}

static enum parley_status pending_init(parley_ctx *ctx, void *self)
{
  struct pending_send *s = self;
  if (s->delay_ms < 0) {
    host->log(ctx, PARLEY_LOG_ERROR, "delay_ms must not be negative", NULL);
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static enum parley_status pending_send_msg(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct pending_send *s = self;
  if (s->seen) {
    FILE *f = fopen(s->seen, "a");
    if (f) {
      fprintf(f, "%s %u\n", host->msg_id(msg), host->msg_attempt(msg));
      fclose(f);
    }
  }
  struct pending *p = calloc(1, sizeof *p);
  if (p == NULL)
    return PARLEY_RETRY;
  p->self = s;
  p->msg = msg;
  p->timer = host->timer_start(ctx, (uint64_t)s->delay_ms, complete, p);
  if (p->timer == NULL) {
    free(p);
    return PARLEY_RETRY;
  }
  p->next = s->list;
  if (s->list)
    s->list->prev = p;
  s->list = p;
  return PARLEY_PENDING;
}

/* The host cancelled our timers already; the messages are abandoned (the core retries). */
static void pending_shutdown(parley_ctx *ctx, void *self)
{
  struct pending_send *s = self;
  while (s->list) {
    struct pending *p = s->list;
    s->list = p->next;
    free(p);
  }
}

static const struct parley_plugin pending_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "pending_send",
    .version = "0",
    .capabilities = PARLEY_CAP_SEND,
    .instance_size = sizeof(struct pending_send),
    .config = pending_config,
    .init = pending_init,
    .send = pending_send_msg,
    .shutdown = pending_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &pending_plugin;
}

/* A deliberately buggy channel: it completes messages it should not, as a plugin with a
 * bookkeeping bug would. The setting `mode` says how:
 *   hold     keeps every message pending for ever (and remembers the last one)
 *   twice    delivers a message from inside send, then delivers it again (stale)
 *   foreign  completes the message another instance of this plugin holds (the last one
 *            `hold` kept) and a pointer that is no message at all, then delivers its own
 * The host must refuse every wrong completion with an ERROR naming the plugin and the
 * channel, and change nothing else. The instances of one file share `last_held`: one
 * plugin file is mapped once however many channels it serves. */
#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

static const struct parley_host *host;
static parley_msg *last_held;
static char not_a_message[64] = "garbage";

struct bad {
  const char *mode; /* setting */
};

static const struct parley_config_spec bad_config[] = {
    {"mode", PARLEY_CONFIG_STRING, "hold", 0, offsetof(struct bad, mode), "hold, twice or foreign"},
    {NULL, 0, NULL, 0, 0, NULL},
};

static enum parley_status bad_init(parley_ctx *ctx, void *self)
{
  return PARLEY_HOST_HAS(host, send_delivered) ? PARLEY_OK : PARLEY_ERROR;
}

static enum parley_status bad_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct bad *b = self;
  if (strcmp(b->mode, "twice") == 0) {
    host->send_delivered(ctx, msg, "first");
    host->send_delivered(ctx, msg, "second"); /* stale: the handle is gone */
  } else if (strcmp(b->mode, "foreign") == 0) {
    if (last_held)
      host->send_failed(ctx, last_held, PARLEY_FAIL_BLOCKED, "not mine to fail");
    host->send_done(ctx, (parley_msg *)(void *)not_a_message, PARLEY_OK, NULL);
    host->send_delivered(ctx, msg, "mine");
  } else {
    last_held = msg;
  }
  return PARLEY_PENDING;
}

static const struct parley_plugin bad_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "bad_complete",
    .version = "0",
    .capabilities = PARLEY_CAP_SEND,
    .instance_size = sizeof(struct bad),
    .config = bad_config,
    .init = bad_init,
    .send = bad_send,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &bad_plugin;
}

/* null: completes every message at once and does nothing else. The benchmark runs the
 * batch ingest once with this plugin on every channel, so the core's own cost shows
 * beside the figure with the file plugin (which renders and writes a line per message). */
#include <stddef.h>

#include <parley/plugin.h>

static enum parley_status null_init(parley_ctx *ctx, void *self)
{
  (void)ctx;
  (void)self;
  return PARLEY_OK;
}

static void null_shutdown(parley_ctx *ctx, void *self)
{
  (void)ctx;
  (void)self;
}

static enum parley_status null_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  (void)ctx;
  (void)self;
  (void)msg;
  return PARLEY_OK;
}

static const struct parley_plugin null_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "null",
    .version = "1.0.0",
    .description = "completes every message at once, sending nothing (the benchmark's)",
    .capabilities = PARLEY_CAP_SEND,
    .instance_size = 1,
    .init = null_init,
    .send = null_send,
    .shutdown = null_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  (void)h;
  return &null_plugin;
}

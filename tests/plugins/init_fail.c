/* A plugin whose init refuses (as for an unreachable provider or bad credentials): it logs
 * why and returns PARLEY_ERROR; the loader must refuse the instance and unload it. */
#include <stddef.h>

#include <parley/plugin.h>

static const struct parley_host *host;

static enum parley_status init_fail_init(parley_ctx *ctx, void *self)
{
  host->log(ctx, PARLEY_LOG_ERROR, "cannot reach the provider", "host", "smtp.invalid", NULL);
  if (PARLEY_HOST_HAS(host, set_error))
    host->set_error(ctx, "cannot reach the provider at smtp.invalid");
  return PARLEY_ERROR;
}

static enum parley_status init_fail_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  return PARLEY_ERROR;
}

static const struct parley_plugin init_fail_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "init_fail",
    .version = "0",
    .capabilities = PARLEY_CAP_SEND,
    .init = init_fail_init,
    .send = init_fail_send,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &init_fail_plugin;
}

/* A plugin built for a future ABI 2.x: the loader must refuse it without reading past the
 * three leading fields, whose layout is the only thing every major shares. */
#include <stddef.h>

#include <parley/plugin.h>

static enum parley_status bad_init(parley_ctx *ctx, void *self) { return PARLEY_OK; }

static const struct parley_plugin bad_major_plugin = {
    .abi_major = PARLEY_ABI_MAJOR + 1,
    .abi_minor = 0,
    .size = sizeof(struct parley_plugin),
    .name = "bad_major",
    .version = "0",
    .init = bad_init,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  return &bad_major_plugin;
}

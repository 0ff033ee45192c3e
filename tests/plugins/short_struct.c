/* A descriptor that claims to end before v1's last field (shutdown): as if compiled
 * against a pre-release header. The loader must refuse it, not read beyond `size`. */
#include <stddef.h>

#include <parley/plugin.h>

static enum parley_status short_init(parley_ctx *ctx, void *self) { return PARLEY_OK; }

static const struct parley_plugin short_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = offsetof(struct parley_plugin, send),
    .name = "short_struct",
    .version = "0",
    .init = short_init,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  return &short_plugin;
}

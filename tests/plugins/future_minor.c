/* A plugin built against a future minor of this ABI (1.<this + 1>): its descriptor is
 * longer, with a callback this host does not know. The loader must refuse it by name and
 * say what to do, rather than load it and never call what it added. */
#include <stddef.h>

#include <parley/plugin.h>

static enum parley_status future_init(parley_ctx *ctx, void *self) { return PARLEY_OK; }
static void future_hook(parley_ctx *ctx, void *self) {}

/* The descriptor as a later header would lay it out: this one's, then more. */
static const struct {
  struct parley_plugin base;
  void (*added_later)(parley_ctx *ctx, void *self);
} future_plugin = {
    .base = {.abi_major = PARLEY_ABI_MAJOR,
             .abi_minor = PARLEY_ABI_MINOR + 1,
             .size = sizeof future_plugin,
             .name = "future_minor",
             .version = "0",
             .init = future_init},
    .added_later = future_hook,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  return &future_plugin.base;
}

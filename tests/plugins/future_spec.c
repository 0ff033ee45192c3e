/* A plugin built as a later minor would build it: its config spec element carries fields
 * this host does not know (after `help`), and config_spec_size says how large the element
 * is. The host must stride by that size and read only its own fields. Built a second time
 * with SPEC_TOO_SMALL, claiming an element smaller than 1.0's, which must be refused. */
#include <stddef.h>

#include <parley/plugin.h>

static const struct parley_host *host;

/* struct parley_config_spec as a later minor might grow it. */
struct future_spec {
  const char *key;
  enum parley_config_type type;
  const char *default_value;
  int required;
  size_t offset;
  const char *help;
  const char *unit;  /* unknown to this host */
  int64_t minimum;   /* unknown to this host */
  const char *since; /* unknown to this host */
};

struct future {
  const char *greeting;
  int64_t retries;
  int64_t wait_ms;
  const char *const *tags;
};

static const struct future_spec future_config[] = {
    {"greeting", PARLEY_CONFIG_STRING, "hi", 0, offsetof(struct future, greeting), "a word", "", 0, "1.2"},
    {"retries", PARLEY_CONFIG_INT, "3", 0, offsetof(struct future, retries), "attempts", "times", 1, "1.2"},
    {"wait", PARLEY_CONFIG_DURATION, "2s", 0, offsetof(struct future, wait_ms), "between", "ms", 0, "1.2"},
    {"tags", PARLEY_CONFIG_LIST, "x,y", 0, offsetof(struct future, tags), "labels", "", 0, "1.2"},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

static enum parley_status future_init(parley_ctx *ctx, void *self)
{
  (void)ctx;
  (void)self;
  return PARLEY_OK;
}

static const struct parley_plugin future_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "future_spec",
    .version = "1.0",
    .description = "a config spec element larger than this host's",
    .instance_size = sizeof(struct future),
    .config = (const struct parley_config_spec *)future_config,
    .init = future_init,
#ifdef SPEC_TOO_SMALL
    .config_spec_size = 8,
#else
    .config_spec_size = sizeof(struct future_spec),
#endif
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &future_plugin;
}

/* Private to `parley plugin try`: its options (plugin_try_args.c) and the run
 * (plugin_try.c). */
#ifndef PARLEY_PLUGIN_TRY_INT_H
#define PARLEY_PLUGIN_TRY_INT_H
#include <stddef.h>
#include <stdint.h>

struct cfg;
typedef struct cJSON cJSON;

struct try_opts {
  const char *plugin;  /* a name, or a path with a '/' or ending in .so */
  const char *channel; /* NULL: the plugin's name */
  const char *config;  /* NULL: the embedded configuration */
  const char *to, *subject, *text, *html;
  const char *wait;
  int64_t wait_ms;
  cJSON *sets;         /* --set KEY=VALUE, as JSON values */
};

/* The command line after "try"; -1 after explaining what is wrong. o->sets is the
 * caller's to free in both cases. */
int try_opts_parse(int argc, char **argv, struct try_opts *o);
/* The settings for `channel`: its settings in `cfg`, --set over them. NULL with err. */
cJSON *try_settings(const struct try_opts *o, const struct cfg *cfg, const char *channel,
                    char *err, size_t errlen);

#endif

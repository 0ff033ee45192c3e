/* The command line of `parley plugin try` (plugin_try_int.h): read, checked, and the
 * channel's settings put together from --config's channel and --set. */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "duration.h"
#include "plugin_try.h"
#include "plugin_try_int.h"

const char plugin_try_usage[] =
    "usage: parley plugin try PLUGIN --to ADDRESS [--channel NAME] [-c FILE]\n"
    "                         [--set KEY=VALUE ...] [--subject S] [--text T] [--html H]\n"
    "                         [--wait DURATION]\n\n"
    "Run one instance of a channel plugin without the daemon or a journey, hand it one\n"
    "message, first to the plugin's check as when a journey speaks (what it measured is\n"
    "printed; a message it refuses is not sent), and print how the send ended\n"
    "(delivered and the provider's id; retry, why and the provider's retry-after; failed,\n"
    "the reason and why) and every event the plugin emits, until the outcome is known and\n"
    "--wait has passed; then shut it down.\n"
    "The plugin's HTTP requests go through the daemon's HTTP client (http_client.ca_file\n"
    "of the configuration is trusted).\n\n"
    "  PLUGIN              a plugin name, looked for on plugin_path and in plugin_dir, or\n"
    "                      the path of a FILE.so\n"
    "  --to ADDRESS        the message's address (e-mail address, phone number, token)\n"
    "  --channel NAME      the channel the instance serves (default: the plugin's name);\n"
    "                      with -c, its settings are that channel's\n"
    "  -c, --config FILE   the configuration: plugin folders, plugin_keys, http_client,\n"
    "                      log_level and the channel's settings (default: the embedded one)\n"
    "  --set KEY=VALUE     a setting, over the channel's; VALUE is read as JSON when it is\n"
    "                      JSON (a number, true, a \"string\", a [list], a secret's\n"
    "                      {\"env\": \"NAME\"} or {\"file\": \"PATH\"}), else as text\n"
    "  --subject S, --text T, --html H   the message's rendered parts\n"
    "  --wait DURATION     keep listening for events this long after the send (\"5s\";\n"
    "                      default 0); the outcome itself is awaited at least 60s\n\n"
    "Exit status: 0 delivered, 1 failed for good or refused by the check, 2 usage, 70 the\n"
    "plugin never completed the message, 75 failed for now (the daemon would retry), 78\n"
    "the configuration, the plugin file or its init refused.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "parley plugin try: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n\n%s", plugin_try_usage);
  return -1;
}

/* KEY=VALUE into settings: JSON when VALUE reads as JSON other than null (so an INT, a
 * LIST or a SECRET's {"env": "NAME"} can be given), else the text as it is. */
static int add_set(cJSON *settings, const char *arg)
{
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq == arg)
    return usage_error("--set takes KEY=VALUE, not '%s'", arg);
  char key[128];
  snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
  cJSON *v = cJSON_ParseWithOpts(eq + 1, NULL, 1); /* all of it: "5s" is text, not 5 */
  if (v && cJSON_IsNull(v)) {
    cJSON_Delete(v);
    v = NULL;
  }
  if (v == NULL)
    v = cJSON_CreateString(eq + 1);
  cJSON_DeleteItemFromObjectCaseSensitive(settings, key);
  cJSON_AddItemToObject(settings, key, v);
  return 0;
}

/* An option taking a value: the value, or NULL (explained) when it is missing. */
static const char *value_of(int argc, char **argv, int *i)
{
  if (*i + 1 >= argc) {
    usage_error("%s needs a value", argv[*i]);
    return NULL;
  }
  return argv[++*i];
}

static int read_option(int argc, char **argv, int *i, struct try_opts *o)
{
  static const struct {
    const char *name;
    size_t offset;
  } strs[] = {{"--to", offsetof(struct try_opts, to)},
              {"--channel", offsetof(struct try_opts, channel)},
              {"-c", offsetof(struct try_opts, config)},
              {"--config", offsetof(struct try_opts, config)},
              {"--subject", offsetof(struct try_opts, subject)},
              {"--text", offsetof(struct try_opts, text)},
              {"--html", offsetof(struct try_opts, html)},
              {"--wait", offsetof(struct try_opts, wait)}};
  const char *s = argv[*i], *v;
  for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
    if (strcmp(s, strs[k].name) == 0) {
      if ((v = value_of(argc, argv, i)) == NULL)
        return -1;
      *(const char **)((char *)o + strs[k].offset) = v;
      return 0;
    }
  }
  if (strcmp(s, "--set") == 0)
    return (v = value_of(argc, argv, i)) == NULL ? -1 : add_set(o->sets, v);
  return usage_error("unexpected option '%s'", s);
}

int try_opts_parse(int argc, char **argv, struct try_opts *o)
{
  char err[256];
  memset(o, 0, sizeof *o);
  if ((o->sets = cJSON_CreateObject()) == NULL)
    return usage_error("%s", "out of memory");
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
      if (read_option(argc, argv, &i, o) < 0)
        return -1;
    } else if (o->plugin == NULL) {
      o->plugin = argv[i];
    } else {
      return usage_error("unexpected argument '%s'", argv[i]);
    }
  }
  if (o->plugin == NULL)
    return usage_error("%s", "name the plugin (a name, or a FILE.so)");
  if (o->to == NULL)
    return usage_error("%s", "--to ADDRESS is needed");
  if (o->wait && (duration_parse(o->wait, &o->wait_ms, err, sizeof err) < 0 || o->wait_ms < 0))
    return usage_error("--wait: %s", err);
  return 0;
}

/* The channel's settings in the configuration, then --set over them. 0, or -1 with a
 * message when --channel names a channel the configuration lacks. */
cJSON *try_settings(const struct try_opts *o, const struct cfg *cfg, const char *channel,
                    char *err, size_t errlen)
{
  const struct cfg_channel *cc = cfg_channel_find(cfg, channel);
  if (cc == NULL && o->channel && o->config) {
    snprintf(err, errlen, "%s: no channel '%s'", o->config, channel);
    return NULL;
  }
  cJSON *settings = cc && cc->settings ? cJSON_Duplicate(cc->settings, 1) : cJSON_CreateObject();
  const cJSON *s;
  cJSON_ArrayForEach(s, o->sets)
  {
    cJSON_DeleteItemFromObjectCaseSensitive(settings, s->string);
    cJSON_AddItemToObject(settings, s->string, cJSON_Duplicate(s, 1));
  }
  if (settings == NULL)
    snprintf(err, errlen, "out of memory");
  return settings;
}

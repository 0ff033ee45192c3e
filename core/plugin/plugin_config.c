/* A plugin's settings: its declarative config spec read once into the host's own array
 * (element by element, with the plugin's config_spec_size as the stride, so the spec can
 * grow in a later minor), the channel's settings checked against it and written into the
 * instance, and config_get, which reads the host's copy back by key at run time.
 *
 * The host keeps every value it wrote (plugin_inst.settings): strings, lists and secrets
 * stay owned by it until close, and config_get answers from it whatever the plugin did to
 * its instance since. */
#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "log.h"
#include "plugin_int.h"

/* Every refusal: the loader puts the file's name in front. */
static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* A 1.0 element: the stride of a plugin that does not say (config_spec_size 0 or absent). */
#define SPEC_V10_SIZE (offsetof(struct parley_config_spec, help) + sizeof(const char *))
/* More settings than any channel needs: also the bound on a spec whose end was forgotten. */
#define MAX_SETTINGS 256

static size_t config_type_size(enum parley_config_type t)
{
  switch (t) {
  case PARLEY_CONFIG_STRING:
  case PARLEY_CONFIG_SECRET: return sizeof(char *);
  case PARLEY_CONFIG_INT:
  case PARLEY_CONFIG_DURATION: return sizeof(int64_t);
  case PARLEY_CONFIG_BOOL: return sizeof(int);
  case PARLEY_CONFIG_LIST: return sizeof(char **);
  }
  return 0;
}

static const char *config_type_name(enum parley_config_type t)
{
  switch (t) {
  case PARLEY_CONFIG_STRING: return "a string";
  case PARLEY_CONFIG_INT: return "an integer";
  case PARLEY_CONFIG_BOOL: return "a boolean";
  case PARLEY_CONFIG_DURATION: return "a duration";
  case PARLEY_CONFIG_LIST: return "a list of strings";
  case PARLEY_CONFIG_SECRET: return "a secret";
  }
  return "?";
}

static const char *json_type_name(const cJSON *v)
{
  if (cJSON_IsString(v))
    return "a string";
  if (cJSON_IsNumber(v))
    return "a number";
  if (cJSON_IsBool(v))
    return "a boolean";
  if (cJSON_IsArray(v))
    return "a list";
  if (cJSON_IsObject(v))
    return "a table";
  return "null";
}

/* --- the spec, read with the plugin's stride --- */

static size_t spec_stride(const struct parley_plugin *d)
{
  if (PARLEY_PLUGIN_HAS(d, config_spec_size) && d->config_spec_size != 0)
    return d->config_spec_size;
  return SPEC_V10_SIZE;
}

/* Copies each element's first min(stride, ours) bytes: fields of a newer minor are
 * skipped, fields an older element lacks stay zero. */
static int spec_read(struct plugin_inst *pi, char *err, size_t errlen)
{
  size_t stride = spec_stride(pi->desc);
  if (stride < SPEC_V10_SIZE)
    return fail(err, errlen, "config_spec_size %zu is smaller than a 1.0 "
                "config spec element (%zu bytes)", stride, (size_t)SPEC_V10_SIZE);
  const char *base = (const char *)pi->desc->config;
  size_t n = 0;
  while (base) {
    struct parley_config_spec s = {0};
    memcpy(&s, base + n * stride, stride < sizeof s ? stride : sizeof s);
    if (s.key == NULL)
      break;
    if (n == MAX_SETTINGS)
      return fail(err, errlen, "config spec has more than %d settings (is "
                  "its NULL-key end missing, or config_spec_size wrong?)", MAX_SETTINGS);
    struct plugin_setting *grown = realloc(pi->settings, (n + 1) * sizeof *grown);
    if (grown == NULL)
      return fail(err, errlen, "out of memory");
    pi->settings = grown;
    pi->settings[n] = (struct plugin_setting){.spec = s};
    pi->nsettings = ++n;
  }
  return 0;
}

/* A spec the plugin got wrong would make us write outside the instance. */
static int spec_check(const struct plugin_inst *pi, char *err, size_t errlen)
{
  for (size_t i = 0; i < pi->nsettings; i++) {
    const struct parley_config_spec *s = &pi->settings[i].spec;
    size_t sz = config_type_size(s->type);
    if (sz == 0)
      return fail(err, errlen, "setting '%s' has an unknown type %d", s->key,
                  (int)s->type);
    if (s->offset > pi->desc->instance_size || pi->desc->instance_size - s->offset < sz)
      return fail(err, errlen,
                  "setting '%s' lies outside the instance (offset %zu, instance_size %zu)",
                  s->key, s->offset, pi->desc->instance_size);
    if (s->type == PARLEY_CONFIG_SECRET && s->default_value)
      return fail(err, errlen, "plugin bug: secret setting '%s' has a default "
                  "(a secret comes from a file or the environment only)", s->key);
  }
  return 0;
}

static struct plugin_setting *setting_find(struct plugin_inst *pi, const char *key)
{
  for (size_t i = 0; i < pi->nsettings; i++)
    if (strcmp(pi->settings[i].spec.key, key) == 0)
      return &pi->settings[i];
  return NULL;
}

/* "path, receipts" — so the message for a typo shows what would have been right. */
static void known_keys(const struct plugin_inst *pi, char *buf, size_t len)
{
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < pi->nsettings && used < len; i++) {
    int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", pi->settings[i].spec.key);
    if (n < 0)
      break;
    used += (size_t)n;
  }
  if (buf[0] == '\0')
    snprintf(buf, len, "none");
}

/* --- values --- */

static int parse_int(const char *s, int64_t *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end != '\0')
    return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_bool(const char *s, int *out)
{
  if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
    *out = 1;
  else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
    *out = 0;
  else
    return -1;
  return 0;
}

/* A unit is required: "30" could mean seconds (as journeys read it) or milliseconds. */
static int parse_duration(const char *s, int64_t *ms, char *why, size_t whylen)
{
  size_t n = strlen(s);
  if (n == 0 || !isalpha((unsigned char)s[n - 1])) {
    snprintf(why, whylen, "'%s' is not a duration with a unit: write e.g. \"250ms\", \"30s\", \"5m\" or \"1h\"", s);
    return -1;
  }
  return duration_parse(s, ms, why, whylen);
}

static void list_free(char **list)
{
  for (size_t i = 0; list && list[i]; i++)
    free(list[i]);
  free(list);
}

/* A Lua list arrives as a JSON array ({} as an empty object, Lua cannot tell the two). */
static char **list_from_json(const cJSON *v, char *why, size_t whylen)
{
  if (!cJSON_IsArray(v) && !(cJSON_IsObject(v) && v->child == NULL)) {
    snprintf(why, whylen, "must be a list of strings such as { \"a\", \"b\" }, not %s", json_type_name(v));
    return NULL;
  }
  size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
  char **list = calloc(n + 1, sizeof *list);
  for (const cJSON *e = v->child; list && e; e = e->next, i++) {
    if (!cJSON_IsString(e)) {
      snprintf(why, whylen, "must be a list of strings: element %zu is %s", i + 1, json_type_name(e));
      list_free(list);
      return NULL;
    }
    if ((list[i] = strdup(e->valuestring)) == NULL) {
      list_free(list);
      list = NULL;
    }
  }
  if (list == NULL)
    snprintf(why, whylen, "out of memory");
  return list;
}

/* A LIST default: comma-separated text, "" the empty list. */
static char **list_from_text(const char *text, char *why, size_t whylen)
{
  cJSON *arr = cJSON_CreateArray();
  char *copy = strdup(text), *save = NULL;
  for (char *t = copy && *copy ? strtok_r(copy, ",", &save) : NULL; arr && t; t = strtok_r(NULL, ",", &save))
    cJSON_AddItemToArray(arr, cJSON_CreateString(t));
  char **list = arr && copy ? list_from_json(arr, why, whylen) : NULL;
  if (!arr || !copy)
    snprintf(why, whylen, "out of memory");
  cJSON_Delete(arr);
  free(copy);
  return list;
}

/* The value as the setting's type, into the host's copy; why says what is wrong. */
static int convert(struct plugin_setting *st, const cJSON *v, char *why, size_t whylen)
{
  enum parley_config_type t = st->spec.type;
  double d = cJSON_GetNumberValue(v);
  if (t == PARLEY_CONFIG_STRING && cJSON_IsString(v))
    return (st->v.str = strdup(v->valuestring)) ? 0 : (snprintf(why, whylen, "out of memory"), -1);
  if (t == PARLEY_CONFIG_INT && cJSON_IsNumber(v)) {
    if (!(d >= -9.0e15 && d <= 9.0e15) || d != (double)(int64_t)d)
      return snprintf(why, whylen, "must be an integer"), -1;
    st->v.i = (int64_t)d;
    return 0;
  }
  if (t == PARLEY_CONFIG_BOOL && cJSON_IsBool(v))
    return st->v.b = cJSON_IsTrue(v) ? 1 : 0, 0;
  if (t == PARLEY_CONFIG_DURATION && (cJSON_IsString(v) || cJSON_IsNumber(v))) {
    if (cJSON_IsNumber(v))
      return snprintf(why, whylen, "is a duration: write it with a unit, e.g. \"250ms\" or \"30s\", "
                      "not a bare number"), -1;
    return parse_duration(v->valuestring, &st->v.i, why, whylen);
  }
  if (t == PARLEY_CONFIG_LIST)
    return (st->v.list = list_from_json(v, why, whylen)) ? 0 : -1;
  if (t == PARLEY_CONFIG_SECRET)
    return (st->v.str = plugin_secret_read(v, why, whylen)) ? 0 : -1;
  snprintf(why, whylen, "must be %s, not %s", config_type_name(t), json_type_name(v));
  return -1;
}

/* A bad default is the plugin author's bug, so the caller's message says so. */
static int convert_default(struct plugin_setting *st, char *why, size_t whylen)
{
  const char *text = st->spec.default_value;
  switch (st->spec.type) {
  case PARLEY_CONFIG_STRING:
    return (st->v.str = strdup(text)) ? 0 : (snprintf(why, whylen, "out of memory"), -1);
  case PARLEY_CONFIG_INT: return parse_int(text, &st->v.i);
  case PARLEY_CONFIG_BOOL: return parse_bool(text, &st->v.b);
  case PARLEY_CONFIG_DURATION: return parse_duration(text, &st->v.i, why, whylen);
  case PARLEY_CONFIG_LIST: return (st->v.list = list_from_text(text, why, whylen)) ? 0 : -1;
  case PARLEY_CONFIG_SECRET: break; /* refused by spec_check */
  }
  return -1;
}

/* memcpy, not a cast-and-assign: the plugin's offsets need not be aligned for us. */
static void write_into_instance(struct plugin_inst *pi, const struct plugin_setting *st)
{
  char *at = (char *)pi->self + st->spec.offset;
  switch (st->spec.type) {
  case PARLEY_CONFIG_STRING:
  case PARLEY_CONFIG_SECRET: memcpy(at, &st->v.str, sizeof st->v.str); break;
  case PARLEY_CONFIG_INT:
  case PARLEY_CONFIG_DURATION: memcpy(at, &st->v.i, sizeof st->v.i); break;
  case PARLEY_CONFIG_BOOL: memcpy(at, &st->v.b, sizeof st->v.b); break;
  case PARLEY_CONFIG_LIST: memcpy(at, &st->v.list, sizeof st->v.list); break;
  }
}

static int apply_one(struct plugin_inst *pi, struct plugin_setting *st, const cJSON *settings,
                     char *err, size_t errlen)
{
  const struct parley_config_spec *s = &st->spec;
  const cJSON *v = settings ? cJSON_GetObjectItemCaseSensitive(settings, s->key) : NULL;
  char why[400] = "";
  if (v == NULL && s->required)
    return fail(err, errlen,
                "missing required setting '%s' for plugin '%s' (channel '%s')%s%s", s->key,
                pi->desc->name, pi->channel, s->help ? ": " : "", s->help ? s->help : "");
  if (v == NULL && s->default_value == NULL)
    return 0; /* stays zero / NULL */
  if (v == NULL && convert_default(st, why, sizeof why) != 0)
    return fail(err, errlen, "plugin bug: default '%s' of setting '%s' is not %s%s%s",
                s->default_value, s->key, config_type_name(s->type), why[0] ? ": " : "", why);
  if (v && convert(st, v, why, sizeof why) != 0)
    return fail(err, errlen, "setting '%s' of plugin '%s' (channel '%s'): %s", s->key,
                pi->desc->name, pi->channel, why);
  write_into_instance(pi, st);
  return 0;
}

int plugin_config_apply(struct plugin_inst *pi, const cJSON *settings, char *err, size_t errlen)
{
  if (spec_read(pi, err, errlen) != 0 || spec_check(pi, err, errlen) != 0)
    return -1;
  if (settings && !cJSON_IsObject(settings))
    return fail(err, errlen, "settings for channel '%s' must be a table", pi->channel);
  /* Unknown keys first: a typo ("recipts") must not silently fall back to a default. */
  for (const cJSON *v = settings ? settings->child : NULL; v; v = v->next) {
    if (v->string == NULL || strcmp(v->string, "plugin") == 0 || setting_find(pi, v->string))
      continue;
    char known[256];
    known_keys(pi, known, sizeof known);
    return fail(err, errlen,
                "unknown setting '%s' for plugin '%s' (channel '%s'); known settings: %s",
                v->string, pi->desc->name, pi->channel, known);
  }
  for (size_t i = 0; i < pi->nsettings; i++)
    if (apply_one(pi, &pi->settings[i], settings, err, errlen) != 0)
      return -1;
  return 0;
}

void plugin_config_free(struct plugin_inst *pi)
{
  for (size_t i = 0; i < pi->nsettings; i++) {
    struct plugin_setting *st = &pi->settings[i];
    if (st->spec.type == PARLEY_CONFIG_SECRET)
      plugin_secret_free(st->v.str);
    else if (st->spec.type == PARLEY_CONFIG_STRING)
      free(st->v.str);
    else if (st->spec.type == PARLEY_CONFIG_LIST)
      list_free(st->v.list);
  }
  free(pi->settings);
  pi->settings = NULL;
  pi->nsettings = 0;
}

static enum parley_status get_refused(struct plugin_inst *pi, const char *key, const char *why)
{
  log_kv(pi->env.log, LOG_ERROR, pi->subsys, "config_get refused", "plugin", pi->desc->name, "channel",
         pi->channel, "key", key ? key : "(null)", "reason", why, (char *)NULL);
  return PARLEY_ERROR;
}

enum parley_status plugin_config_get(parley_ctx *ctx, const char *key, enum parley_config_type type,
                                     void *out)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return PARLEY_ERROR;
  struct plugin_setting *st = key ? setting_find(pi, key) : NULL;
  if (key == NULL || out == NULL)
    return get_refused(pi, key, key ? "no place for the value (out is NULL)" : "no key given");
  if (st == NULL)
    return get_refused(pi, key, "the config spec declares no such setting");
  if (st->spec.type != type) {
    char why[128];
    snprintf(why, sizeof why, "the setting is %s, asked as %s", config_type_name(st->spec.type),
             config_type_size(type) ? config_type_name(type) : "an unknown type");
    return get_refused(pi, key, why);
  }
  switch (type) {
  case PARLEY_CONFIG_STRING:
  case PARLEY_CONFIG_SECRET: *(const char **)out = st->v.str; break;
  case PARLEY_CONFIG_INT:
  case PARLEY_CONFIG_DURATION: *(int64_t *)out = st->v.i; break;
  case PARLEY_CONFIG_BOOL: *(int *)out = st->v.b; break;
  case PARLEY_CONFIG_LIST: *(const char *const **)out = (const char *const *)st->v.list; break;
  }
  return PARLEY_OK;
}

/* See corefix.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conv.h"
#include "corefix.h"

struct fixture *fx_new(const char *backend, int copy_journeys)
{
  return fx_new_with(backend, copy_journeys, "");
}

struct fixture *fx_new_with(const char *backend, int copy_journeys, const char *extra)
{
  struct fixture *f = calloc(1, sizeof *f);
  snprintf(f->extra, sizeof f->extra, "%s", extra);
  strcpy(f->dir, "/tmp/parley-conv-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->spoken, sizeof f->spoken, "%s/spoken.ndjson", f->dir);
  f->backend = backend;
  f->now_ms = T0;
  if (copy_journeys) {
    char cmd[512];
    snprintf(f->journeys, sizeof f->journeys, "%s/journeys", f->dir);
    snprintf(cmd, sizeof cmd, "cp -r %s/tests/unit/conv_journeys %s", PARLEY_SRCDIR, f->journeys);
    assert_int_equal(system(cmd), 0);
  } else {
    snprintf(f->journeys, sizeof f->journeys, "%s/tests/unit/conv_journeys", PARLEY_SRCDIR);
  }
  fx_open(f);
  return f;
}

struct fixture *fx_new_custom(const char *backend, const char *journeys, const char *channels, const char *extra)
{
  struct fixture *f = calloc(1, sizeof *f);
  snprintf(f->extra, sizeof f->extra, "%s", extra);
  snprintf(f->channels, sizeof f->channels, "%s", channels);
  strcpy(f->dir, "/tmp/parley-conv-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->spoken, sizeof f->spoken, "%s/spoken.ndjson", f->dir);
  snprintf(f->journeys, sizeof f->journeys, "%s/%s", PARLEY_SRCDIR, journeys);
  f->backend = backend;
  f->now_ms = T0;
  fx_open(f);
  return f;
}

void fx_open(struct fixture *f)
{
  char conf[3072], channels[1024];
  if (f->channels[0])
    snprintf(channels, sizeof channels, "%s", f->channels);
  else
    snprintf(channels, sizeof channels, "email = { plugin = 'file', path = '%s' }", f->spoken);
  snprintf(conf, sizeof conf,
           "return { log_level = 'error', data_dir = '%s',\n"
           "  plugin_dir = builddir .. '/plugins', sdk_dir = srcdir .. '/sdk/lua',\n"
           "  journeys_dir = '%s',\n"
           "  limits = { history = 50, dedupe_window = 4 },\n"
           "  store = { backend = '%s', map_size_mb = 64 },\n%s\n"
           "  channels = { %s } }\n",
           f->dir, f->journeys, f->backend, f->extra, channels);
  struct cfg *cfg;
  char err[1024];
  if (cfg_load_string(conf, strlen(conf), "test config", &cfg, err, sizeof err) < 0)
    fail_msg("config: %s", err);
  f->loop = ev_loop_new(EVFLAG_AUTO);
  if (core_open(cfg, f->loop, &f->core, err, sizeof err) < 0)
    fail_msg("core_open: %s", err);
  clock_init_virtual(&f->core->clock, f->now_ms);
}

void fx_close(struct fixture *f)
{
  core_close(f->core);
  ev_loop_destroy(f->loop);
  f->core = NULL;
}

void fx_free(struct fixture *f)
{
  char cmd[128];
  if (f->core)
    fx_close(f);
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
}

int fx_setup_memory(void **state)
{
  *state = fx_new("memory", 0);
  return 0;
}

int fx_setup_lmdb(void **state)
{
  *state = fx_new("lmdb", 0);
  return 0;
}

int fx_setup_memory_copied(void **state)
{
  *state = fx_new("memory", 1);
  return 0;
}

int fx_setup_lmdb_copied(void **state)
{
  *state = fx_new("lmdb", 1);
  return 0;
}

int fx_teardown(void **state)
{
  fx_free(*state);
  return 0;
}

void fx_post(struct fixture *f, const char *json)
{
  struct event ev;
  char err[256];
  if (event_parse(json, strlen(json), clock_now_ms(&f->core->clock), &ev, err, sizeof err) < 0)
    fail_msg("event %s: %s", json, err);
  conv_apply_event(f->core, &ev);
  event_clear(&ev);
  core_flush(f->core);
}

void fx_advance(struct fixture *f, int64_t ms)
{
  f->now_ms += ms;
  f->core->clock.virtual_ms = f->now_ms;
  core_flush(f->core);
}

cJSON *fx_spoken(struct fixture *f)
{
  cJSON *arr = cJSON_CreateArray();
  FILE *fp = fopen(f->spoken, "r");
  char line[8192];
  while (fp && fgets(line, sizeof line, fp)) {
    cJSON *o = cJSON_Parse(line);
    assert_non_null(o);
    cJSON_AddItemToArray(arr, o);
  }
  if (fp)
    fclose(fp);
  return arr;
}

const char *fx_field(cJSON *arr, int i, const char *name)
{
  cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

struct conv *fx_only_conv(struct fixture *f, const char *contact)
{
  struct contact *ct = f->core->store->ops->contact_get(f->core->store, contact);
  assert_non_null(ct);
  assert_int_equal(ct->n_convs, 1);
  return f->core->store->ops->conv_get(f->core->store, ct->convs[0]);
}

int fx_history_has(const struct history *h, const char *needle)
{
  for (size_t i = 0; i < h->n; i++)
    if (strstr(history_at(h, i)->what, needle))
      return 1;
  return 0;
}


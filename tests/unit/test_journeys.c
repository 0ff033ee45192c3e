/* The journeys as the API shows them (view_journeys, GET /v1/journeys) and a reload as the
 * API and SIGHUP run it (core_reload, view_reload, POST /v1/admin/reload): each file's
 * status, the versions still in use with their active conversations, a broken file refused
 * while its running version keeps serving, a removed journey draining, versions found in
 * the store after a restart, and a folder that cannot be read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corefix.h"
#include "http/view.h"

static const char *SIGNUP_A = "{\"id\":\"a\",\"type\":\"signed_up\",\"contact\":\"ann\",\"profile\":{\"email\":\"a@x.org\"}}";
static const char *SIGNUP_B = "{\"id\":\"b\",\"type\":\"signed_up\",\"contact\":\"bob\",\"profile\":{\"email\":\"b@x.org\"}}";

static void write_file(struct fixture *f, const char *rel, const char *text)
{
  char path[256];
  snprintf(path, sizeof path, "%s/%s", f->journeys, rel);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* greet, changed: a new version. */
static void write_greet_v2(struct fixture *f)
{
  write_file(f, "greet.lua",
             "local journey = require 'parley.journey'\n"
             "return journey {\n"
             "  name = 'greet', entry = { event = 'signed_up' }, goal = 'purchased',\n"
             "  start = function(c, ev) return c:listen({ 'clicked' }, '1h', 'start') end,\n"
             "}\n");
}

static const char BROKEN[] = "local journey = require 'parley.journey'\nreturn journey { name = 'greet',,, }\n";

/* The entry of `arr` whose `key` is `value` (the test fails when there is none). */
static cJSON *entry(cJSON *doc, const char *arr, const char *key, const char *value)
{
  cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, arr))
  {
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, key));
    if (v && strcmp(v, value) == 0)
      return it;
  }
  fail_msg("no %s with %s '%s'", arr, key, value);
  return NULL;
}

static const char *str(cJSON *o, const char *key)
{
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static double num(cJSON *o, const char *key)
{
  cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

/* An entry's versions as text, newest first: "2*:0 1:1" is version 2, current, with no
 * active conversation, then version 1 with one. */
static void versions_are(cJSON *journey, const char *want)
{
  char got[256] = "";
  size_t used = 0;
  cJSON *v;
  cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(journey, "versions"))
  {
    used += (size_t)snprintf(got + used, sizeof got - used, "%s%d%s:%d", used ? " " : "", (int)num(v, "version"),
                             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "current")) ? "*" : "",
                             (int)num(v, "active"));
  }
  assert_string_equal(got, want);
}

static void test_every_file_is_listed_with_its_versions(void **state)
{
  struct fixture *f = *state;
  fx_post(f, SIGNUP_A);
  cJSON *doc = view_journeys(&f->core->registry);
  static const char *const files[] = {"again.lua", "boom.lua", "greet.lua", "modular.lua", "vip.lua"};
  cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "journeys");
  assert_int_equal(cJSON_GetArraySize(arr), 5);
  for (int i = 0; i < 5; i++) { /* in file name order */
    cJSON *j = cJSON_GetArrayItem(arr, i);
    assert_string_equal(str(j, "file"), files[i]);
    assert_string_equal(str(j, "status"), "loaded");
    assert_int_equal(num(j, "version"), 1);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "error"));
  }
  versions_are(entry(doc, "journeys", "name", "greet"), "1*:1"); /* ann's conversation */
  versions_are(entry(doc, "journeys", "name", "boom"), "1*:0");
  assert_null(cJSON_GetObjectItemCaseSensitive(doc, "error"));
  cJSON_Delete(doc);
}

/* A file that fails to load is refused with its error; the version it had keeps serving
 * new conversations; a new file that never loaded is listed without a name. */
static void test_a_broken_file_is_refused_and_its_version_serves(void **state)
{
  struct fixture *f = *state;
  fx_post(f, SIGNUP_A);
  write_file(f, "greet.lua", BROKEN);
  write_file(f, "oops.lua", "return 42\n");
  assert_int_equal(core_reload(f->core, "test"), 2);
  assert_int_equal(registry_current_version(&f->core->registry, "greet"), 1);
  fx_post(f, SIGNUP_B);
  assert_int_equal(fx_only_conv(f, "bob")->journey_version, 1);
  assert_int_equal(fx_only_conv(f, "bob")->status, CONV_LISTENING);

  cJSON *doc = view_reload(&f->core->registry);
  cJSON *greet = entry(doc, "journeys", "file", "greet.lua");
  assert_string_equal(str(greet, "name"), "greet");
  assert_string_equal(str(greet, "status"), "failed");
  assert_non_null(strstr(str(greet, "error"), "greet.lua:2:"));
  assert_null(strstr(str(greet, "error"), f->journeys)); /* no path of the machine */
  assert_int_equal(num(greet, "version"), 1);
  versions_are(greet, "1*:2");
  cJSON *oops = entry(doc, "journeys", "file", "oops.lua");
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(oops, "name")));
  assert_string_equal(str(oops, "status"), "failed");
  assert_non_null(strstr(str(oops, "error"), "oops.lua"));
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(oops, "version")));
  versions_are(oops, "");
  assert_string_equal(str(entry(doc, "journeys", "file", "again.lua"), "status"), "loaded");
  /* what the reload made of each file */
  assert_int_equal(num(doc, "refused"), 2);
  assert_string_equal(str(entry(doc, "files", "file", "again.lua"), "outcome"), "unchanged");
  cJSON *refused = entry(doc, "files", "file", "greet.lua");
  assert_string_equal(str(refused, "outcome"), "refused");
  assert_int_equal(num(refused, "version"), 1);
  assert_string_equal(str(refused, "error"), str(greet, "error"));
  cJSON_Delete(doc);

  /* mended: a new version; the old one drains with its two conversations */
  write_greet_v2(f);
  assert_int_equal(core_reload(f->core, "test"), 1); /* oops.lua still */
  doc = view_reload(&f->core->registry);
  greet = entry(doc, "journeys", "file", "greet.lua");
  assert_string_equal(str(greet, "status"), "loaded");
  assert_null(cJSON_GetObjectItemCaseSensitive(greet, "error"));
  assert_int_equal(num(greet, "version"), 2);
  versions_are(greet, "2*:0 1:2");
  assert_string_equal(str(entry(doc, "files", "file", "greet.lua"), "outcome"), "loaded");
  assert_int_equal(num(entry(doc, "files", "file", "greet.lua"), "version"), 2);
  assert_int_equal(num(doc, "refused"), 1);
  cJSON_Delete(doc);
}

/* A removed file takes no new conversations; its journey is listed as removed while a
 * version of it drains, and no more once the last conversation ended. */
static void test_a_removed_journey_is_listed_while_it_drains(void **state)
{
  struct fixture *f = *state;
  char path[256];
  fx_post(f, SIGNUP_A);
  snprintf(path, sizeof path, "%s/greet.lua", f->journeys);
  assert_int_equal(remove(path), 0);
  assert_int_equal(core_reload(f->core, "test"), 0);
  cJSON *doc = view_reload(&f->core->registry);
  cJSON *greet = entry(doc, "journeys", "name", "greet");
  assert_string_equal(str(greet, "status"), "removed");
  assert_string_equal(str(greet, "file"), "greet.lua"); /* where it came from */
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(greet, "version")));
  versions_are(greet, "1:1");
  cJSON *file = entry(doc, "files", "file", "greet.lua");
  assert_string_equal(str(file, "outcome"), "removed");
  assert_int_equal(num(file, "version"), 1);
  cJSON_Delete(doc);
  fx_post(f, "{\"id\":\"p\",\"type\":\"purchased\",\"contact\":\"ann\"}");
  doc = view_journeys(&f->core->registry);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "journeys")), 4);
  cJSON_Delete(doc);
}

/* After a restart the registry holds the current versions only; an older one with
 * conversations on it is still listed, from the store's count. */
static void test_older_versions_are_found_in_the_store_after_a_restart(void **state)
{
  struct fixture *f = *state;
  fx_post(f, SIGNUP_A);
  write_greet_v2(f);
  assert_int_equal(core_reload(f->core, "test"), 0);
  fx_close(f);
  fx_open(f);
  cJSON *doc = view_journeys(&f->core->registry);
  versions_are(entry(doc, "journeys", "name", "greet"), "2*:0 1:1");
  cJSON_Delete(doc);
}

/* A folder that cannot be read changes nothing: the journeys serve as they did, their
 * statuses stand, and the answer says why, naming no path. */
static void test_an_unreadable_folder_changes_nothing(void **state)
{
  struct fixture *f = *state;
  char moved[256];
  snprintf(moved, sizeof moved, "%s.away", f->journeys);
  write_file(f, "greet.lua", BROKEN);
  assert_int_equal(core_reload(f->core, "test"), 1);
  assert_int_equal(rename(f->journeys, moved), 0);
  assert_int_equal(core_reload(f->core, "test"), 1);
  cJSON *doc = view_reload(&f->core->registry);
  assert_string_equal(str(doc, "error"), "the journeys folder cannot be read: No such file or directory");
  assert_int_equal(num(doc, "refused"), 1);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "files")), 0);
  assert_string_equal(str(entry(doc, "journeys", "file", "greet.lua"), "status"), "failed");
  assert_string_equal(str(entry(doc, "journeys", "file", "vip.lua"), "status"), "loaded");
  cJSON_Delete(doc);
  fx_post(f, SIGNUP_A);
  assert_int_equal(fx_only_conv(f, "ann")->journey_version, 1);
  assert_int_equal(rename(moved, f->journeys), 0);
  write_greet_v2(f);
  assert_int_equal(core_reload(f->core, "test"), 0);
  doc = view_journeys(&f->core->registry);
  assert_null(cJSON_GetObjectItemCaseSensitive(doc, "error"));
  assert_string_equal(str(entry(doc, "journeys", "file", "greet.lua"), "status"), "loaded");
  cJSON_Delete(doc);
}

#define BOTH(t)                                                                                              \
  cmocka_unit_test_setup_teardown(t, fx_setup_memory_copied, fx_teardown),                                    \
      cmocka_unit_test_setup_teardown(t, fx_setup_lmdb_copied, fx_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      BOTH(test_every_file_is_listed_with_its_versions),
      BOTH(test_a_broken_file_is_refused_and_its_version_serves),
      BOTH(test_a_removed_journey_is_listed_while_it_drains),
      cmocka_unit_test_setup_teardown(test_older_versions_are_found_in_the_store_after_a_restart,
                                      fx_setup_lmdb_copied, fx_teardown),
      BOTH(test_an_unreadable_folder_changes_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

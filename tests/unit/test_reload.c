/* Journey versions and hot reload on a virtual clock: conversations stay pinned to the
 * version they started on, with the modules and templates it had; an old version is closed
 * when its last conversation ends, a journey that opts in migrates to the same-named step,
 * a broken file is refused while the running version keeps serving, and (LMDB) an old
 * version comes back from the store after a restart, also from a store written before
 * versions pinned their modules and templates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corefix.h"
#include "lua/lhost.h"
#include "util.h"

/* greet v2: silence now gets "thanks" instead of a nudge; `extra` goes into the table. */
static void write_greet_v2(struct fixture *f, const char *extra, const char *after_step)
{
  char path[256];
  snprintf(path, sizeof path, "%s/greet.lua", f->journeys);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp,
          "local journey = require 'parley.journey'\n"
          "return journey {\n"
          "  name = 'greet', entry = { event = 'signed_up' }, goal = 'purchased', %s\n"
          "  start = function(c, ev)\n"
          "    c:speak('email', 'hello', { plan = 'v2' })\n"
          "    return c:listen({ 'clicked' }, '1h', '%s')\n"
          "  end,\n"
          "  %s = function(c, ev)\n"
          "    c:speak('email', 'thanks', {})\n"
          "    return c:finish()\n"
          "  end,\n"
          "}\n",
          extra, after_step, after_step);
  fclose(fp);
}

static const char *SIGNUP_A = "{\"id\":\"a\",\"type\":\"signed_up\",\"contact\":\"ann\",\"profile\":{\"email\":\"a@x.org\"}}";
static const char *SIGNUP_B = "{\"id\":\"b\",\"type\":\"signed_up\",\"contact\":\"bob\",\"profile\":{\"email\":\"b@x.org\"}}";

static size_t slots_of(struct fixture *f, const char *name)
{
  size_t n = 0;
  for (size_t i = 0; i < f->core->registry.n_slots; i++)
    n += strcmp(f->core->registry.slots[i].name, name) == 0;
  return n;
}

static void test_conversations_stay_on_their_version(void **state)
{
  struct fixture *f = *state;
  fx_post(f, SIGNUP_A);
  assert_int_equal(fx_only_conv(f, "ann")->journey_version, 1);
  write_greet_v2(f, "", "after");
  assert_int_equal(registry_reload(&f->core->registry), 0);
  assert_int_equal(registry_current_version(&f->core->registry, "greet"), 2);
  fx_post(f, SIGNUP_B);
  assert_int_equal(fx_only_conv(f, "bob")->journey_version, 2);
  assert_int_equal(slots_of(f, "greet"), 2); /* v1 drains: ann still waits on it */
  fx_advance(f, HOUR);
  cJSON *out = fx_spoken(f);
  /* ann's silence ran v1 (a nudge); bob's ran v2 (thanks) */
  assert_int_equal(cJSON_GetArraySize(out), 4);
  for (int i = 0; i < 4; i++) {
    const char *who = fx_field(out, i, "contact"), *tmpl = fx_field(out, i, "template");
    if (strcmp(tmpl, "hello") != 0)
      assert_string_equal(tmpl, strcmp(who, "ann") == 0 ? "nudge" : "thanks");
  }
  cJSON_Delete(out);
  /* ann's v1 conversation ends: v1 is closed and its stored source dropped */
  fx_post(f, "{\"id\":\"p\",\"type\":\"purchased\",\"contact\":\"ann\"}");
  assert_int_equal(slots_of(f, "greet"), 1);
  char *src = NULL;
  size_t len;
  assert_int_equal(f->core->store->ops->journey_get(f->core->store, "greet", 1, &src, &len), 0);
  assert_int_equal(f->core->store->ops->journey_get(f->core->store, "greet", 2, &src, &len), 1);
  free(src);
}

static void test_unchanged_reload_keeps_the_version(void **state)
{
  struct fixture *f = *state;
  assert_int_equal(registry_reload(&f->core->registry), 0);
  assert_int_equal(registry_current_version(&f->core->registry, "greet"), 1);
  assert_int_equal(slots_of(f, "greet"), 1);
}

static void test_broken_file_is_refused_and_old_version_serves(void **state)
{
  struct fixture *f = *state;
  char path[256];
  snprintf(path, sizeof path, "%s/greet.lua", f->journeys);
  FILE *fp = fopen(path, "w");
  fputs("local journey = require 'parley.journey'\nreturn journey { name = 'greet',,, }\n", fp);
  fclose(fp);
  assert_int_equal(registry_reload(&f->core->registry), 1);
  assert_int_equal(registry_current_version(&f->core->registry, "greet"), 1);
  fx_post(f, SIGNUP_A);
  assert_int_equal(fx_only_conv(f, "ann")->status, CONV_LISTENING);
}

static void test_migration_moves_to_the_same_named_step(void **state)
{
  struct fixture *f = *state;
  fx_post(f, SIGNUP_A);
  write_greet_v2(f, "migrate = true,", "after");
  assert_int_equal(registry_reload(&f->core->registry), 0);
  fx_advance(f, HOUR); /* ann wakes: on v2's `after`, which says thanks */
  struct conv *cv = fx_only_conv(f, "ann");
  assert_int_equal(cv->journey_version, 2);
  assert_int_equal(cv->status, CONV_DONE);
  assert_true(fx_history_has(&cv->history, "migrated from version 1 to 2"));
  cJSON *out = fx_spoken(f);
  assert_string_equal(fx_field(out, 1, "template"), "thanks");
  cJSON_Delete(out);
  assert_int_equal(slots_of(f, "greet"), 1); /* nothing left on v1 */
}

static void test_migration_to_a_missing_step_fails_clearly(void **state)
{
  struct fixture *f = *state;
  fx_post(f, SIGNUP_A);
  write_greet_v2(f, "migrate = true,", "later");
  assert_int_equal(registry_reload(&f->core->registry), 0);
  fx_advance(f, HOUR);
  struct conv *cv = fx_only_conv(f, "ann");
  assert_int_equal(cv->status, CONV_FAILED);
  assert_string_equal(cv->error, "cannot migrate to version 2: it has no step 'after'");
}

static void test_old_version_comes_back_from_the_store_after_restart(void **state)
{
  struct fixture *f = *state;
  fx_post(f, SIGNUP_A);
  write_greet_v2(f, "", "after");
  assert_int_equal(registry_reload(&f->core->registry), 0);
  fx_close(f);
  fx_open(f); /* the file now holds v2; v1 is only in the store */
  assert_int_equal(registry_current_version(&f->core->registry, "greet"), 2);
  fx_advance(f, HOUR);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(fx_field(out, 1, "template"), "nudge"); /* v1's answer to silence */
  cJSON_Delete(out);
  assert_int_equal(fx_only_conv(f, "ann")->journey_version, 1);
}

/* A file of the journeys folder, rewritten. */
static void write_file(struct fixture *f, const char *rel, const char *text)
{
  char path[256];
  snprintf(path, sizeof path, "%s/%s", f->journeys, rel);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* modular's module and template say "bonjour" and "two:" from now on. */
static void change_module(struct fixture *f)
{
  write_file(f, "lib/words.lua", "return { greeting = function() return 'bonjour' end }\n");
}

static void change_template(struct fixture *f)
{
  write_file(f, "modular/hi.txt", "two: {{word}}");
}

static void join(struct fixture *f, const char *id, const char *contact)
{
  char json[256];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"joined\",\"contact\":\"%s\",\"profile\":{\"email\":\"%s@x.org\"}}",
           id, contact, contact);
  fx_post(f, json);
}

/* The text of every message spoken to `contact`, in order, joined by "|". */
static void texts_of(struct fixture *f, const char *contact, char *out, size_t len)
{
  cJSON *all = fx_spoken(f);
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < cJSON_GetArraySize(all); i++)
    if (strcmp(fx_field(all, i, "contact"), contact) == 0)
      used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "|" : "", fx_field(all, i, "text"));
  cJSON_Delete(all);
}

static void expect_texts(struct fixture *f, const char *contact, const char *expect)
{
  char got[512];
  texts_of(f, contact, got, sizeof got);
  assert_string_equal(got, expect);
}

/* Version 1's conversations keep version 1's module and template after a reload; new
 * conversations get the new ones. */
static void test_modules_and_templates_stay_with_their_version(void **state)
{
  struct fixture *f = *state;
  join(f, "a", "ann");
  expect_texts(f, "ann", "one: hello");
  change_module(f);
  change_template(f);
  assert_int_equal(registry_reload(&f->core->registry), 0);
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 2);
  join(f, "b", "bob");
  fx_advance(f, HOUR);
  expect_texts(f, "ann", "one: hello|one: hello");
  expect_texts(f, "bob", "two: bonjour|two: bonjour");
}

/* The same across a restart: version 1 comes back from the store with its own module and
 * template, though the files on disk changed. */
static void test_modules_and_templates_come_back_from_the_store(void **state)
{
  struct fixture *f = *state;
  join(f, "a", "ann");
  change_module(f);
  change_template(f);
  assert_int_equal(registry_reload(&f->core->registry), 0);
  fx_close(f);
  fx_open(f);
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 2);
  join(f, "c", "cy");
  fx_advance(f, HOUR);
  expect_texts(f, "ann", "one: hello|one: hello");
  expect_texts(f, "cy", "two: bonjour|two: bonjour");
  assert_int_equal(fx_only_conv(f, "ann")->journey_version, 1);
}

/* The journey file unchanged, a changed module alone makes a new version; so does a
 * changed template alone; nothing changed keeps it. */
static void test_changed_module_alone_makes_a_new_version(void **state)
{
  struct fixture *f = *state;
  assert_int_equal(registry_reload(&f->core->registry), 0);
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 1);
  change_module(f);
  assert_int_equal(registry_reload(&f->core->registry), 0);
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 2);
  change_template(f);
  assert_int_equal(registry_reload(&f->core->registry), 0);
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 3);
  fx_close(f);
  fx_open(f); /* a restart with the same files keeps the version */
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 3);
}

static char *read_text(struct fixture *f, const char *rel, size_t *len)
{
  char path[256], err[256], *text;
  snprintf(path, sizeof path, "%s/%s", f->journeys, rel);
  assert_non_null(text = util_read_file(path, 1 << 20, len, err, sizeof err));
  return text;
}

/* What a store written before bundles holds for a version: the journey's bare text. */
static void store_bare_text(struct fixture *f, const char *name, uint32_t version)
{
  char rel[128];
  size_t len;
  snprintf(rel, sizeof rel, "%s.lua", name);
  char *text = read_text(f, rel, &len);
  assert_int_equal(f->core->store->ops->journey_put(f->core->store, name, version, text, len), 0);
  free(text);
}

/* A version stored as bare text still runs after a restart: its text, with the module and
 * template on disk, as before bundles. */
static void test_bare_stored_version_still_loads(void **state)
{
  struct fixture *f = *state;
  size_t len;
  char *text = read_text(f, "modular.lua", &len), *v2 = malloc(len + 32);
  join(f, "a", "ann");
  store_bare_text(f, "modular", 1);
  snprintf(v2, len + 32, "-- version 2\n%s", text);
  write_file(f, "modular.lua", v2);
  free(text);
  free(v2);
  change_module(f);
  change_template(f);
  fx_close(f);
  fx_open(f);
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 2);
  fx_advance(f, HOUR);
  expect_texts(f, "ann", "one: hello|two: bonjour");
  struct conv *cv = fx_only_conv(f, "ann");
  assert_int_equal(cv->journey_version, 1);
  assert_int_equal(cv->status, CONV_DONE);
}

/* The first start on a store written before bundles: an unchanged journey keeps its
 * version, now pinned as a bundle. */
static void test_bare_stored_version_is_pinned_again(void **state)
{
  struct fixture *f = *state;
  char *stored = NULL;
  size_t len;
  store_bare_text(f, "modular", 1);
  fx_close(f);
  fx_open(f);
  assert_int_equal(registry_current_version(&f->core->registry, "modular"), 1);
  assert_int_equal(f->core->store->ops->journey_get(f->core->store, "modular", 1, &stored, &len), 1);
  assert_true(lhost_is_bundle(stored, len));
  free(stored);
  assert_int_equal(f->core->store->ops->journey_latest(f->core->store, "modular"), 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_conversations_stay_on_their_version, fx_setup_memory_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_unchanged_reload_keeps_the_version, fx_setup_memory_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_broken_file_is_refused_and_old_version_serves, fx_setup_memory_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_migration_moves_to_the_same_named_step, fx_setup_memory_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_migration_to_a_missing_step_fails_clearly, fx_setup_memory_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_conversations_stay_on_their_version, fx_setup_lmdb_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_migration_moves_to_the_same_named_step, fx_setup_lmdb_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_old_version_comes_back_from_the_store_after_restart, fx_setup_lmdb_copied,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_modules_and_templates_stay_with_their_version, fx_setup_memory_copied,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_modules_and_templates_stay_with_their_version, fx_setup_lmdb_copied,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_modules_and_templates_come_back_from_the_store, fx_setup_lmdb_copied,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_changed_module_alone_makes_a_new_version, fx_setup_lmdb_copied,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_bare_stored_version_still_loads, fx_setup_lmdb_copied, fx_teardown),
      cmocka_unit_test_setup_teardown(test_bare_stored_version_is_pinned_again, fx_setup_lmdb_copied, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

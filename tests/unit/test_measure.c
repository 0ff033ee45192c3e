/* Measuring journeys through the core: experiment arms (stable, spread as weighted, kept
 * with the conversation and in the codec), bad experiment definitions refused at load,
 * the journey stats (per step, per channel from receipts, per arm) surviving a restart
 * and read for a time range, and attribution of a goal, last touch and linear. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "corefix.h"
#include "erase.h"
#include "log.h"
#include "lua/lhost.h"
#include "stats.h"
#include "store/codec.h"

#define JOURNEYS "tests/unit/measure_journeys"
#define FILE_EMAIL "email = { plugin = 'file', path = '%s', receipts = true }"

static struct fixture *open_ab(const char *backend, const char *extra)
{
  char channels[512];
  struct fixture *f = fx_new_custom(backend, JOURNEYS, "", extra);
  snprintf(channels, sizeof channels, FILE_EMAIL, f->spoken); /* the file plugin, with receipts */
  snprintf(f->channels, sizeof f->channels, "%s", channels);
  fx_close(f);
  fx_open(f);
  return f;
}

static void signed_up(struct fixture *f, const char *contact)
{
  char json[256];
  snprintf(json, sizeof json, "{\"type\":\"signed_up\",\"contact\":\"%s\",\"profile\":{\"email\":\"%s@x.org\"}}",
           contact, contact);
  fx_post(f, json);
}

static void post(struct fixture *f, const char *type, const char *contact, const char *message_id)
{
  char json[256];
  snprintf(json, sizeof json, "{\"type\":\"%s\",\"contact\":\"%s\",\"data\":{\"message_id\":\"%s\"}}", type,
           contact, message_id ? message_id : "");
  fx_post(f, json);
}

static cJSON *view(struct fixture *f, int64_t from, int64_t to)
{
  cJSON *doc = stats_view(f->core->store, "ab", from, to, f->core->cfg->attribution_window_ms);
  assert_non_null(doc);
  return doc;
}

/* A number at a path of names in the stats document; -1 when it is not there. */
static double at(const cJSON *doc, ...)
{
  va_list ap;
  va_start(ap, doc);
  const cJSON *v = doc;
  for (const char *name; v && (name = va_arg(ap, const char *));)
    v = cJSON_GetObjectItemCaseSensitive(v, name);
  va_end(ap);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *arm_of(struct fixture *f, const char *contact)
{
  struct conv *cv = fx_only_conv(f, contact);
  assert_int_equal(cv->n_arms, 1);
  assert_string_equal(cv->arms[0].experiment, "ab_subject");
  return cv->arms[0].arm;
}

/* 10,000 contacts: each in one arm, the arms within 1.5% of the total of their weights
 * (45/45/10); a second core draws the same arm for the same contact; a few contacts'
 * arms are pinned here, so a change of the hash (which would move every running test's
 * customers) cannot pass unseen. */
static void test_arms_spread_as_weighted_and_stay(void **state)
{
  (void)state;
  struct fixture *f = open_ab("memory", ""), *g = open_ab("memory", "");
  char id[32];
  for (int i = 0; i < 10000; i++) {
    snprintf(id, sizeof id, "c%d", i);
    signed_up(f, id);
  }
  cJSON *doc = view(f, 0, 0);
  double a = at(doc, "experiments", "ab_subject", "a", "assigned", NULL);
  double b = at(doc, "experiments", "ab_subject", "b", "assigned", NULL);
  double h = at(doc, "experiments", "ab_subject", "holdout", "assigned", NULL);
  assert_true(a + b + h == 10000);
  assert_true(a > 4350 && a < 4650 && b > 4350 && b < 4650 && h > 850 && h < 1150);
  assert_true(at(doc, "steps", "start", "spoken", NULL) == a + b); /* the holdout got nothing */
  cJSON_Delete(doc);
  for (int i = 0; i < 300; i++) {
    snprintf(id, sizeof id, "c%d", i);
    signed_up(g, id);
    assert_string_equal(arm_of(f, id), arm_of(g, id));
  }
  static const char *const pinned[][2] = {{"ann", "a"}, {"bob", "b"}, {"c0", "b"}, {"c1", "holdout"}};
  for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
    if (i < 2)
      signed_up(f, pinned[i][0]);
    assert_string_equal(arm_of(f, pinned[i][0]), pinned[i][1]);
  }
  assert_true(fx_history_has(&fx_only_conv(f, "ann")->history, "arm ab_subject=a"));
  fx_free(f);
  fx_free(g);
}

/* The arms a conversation was given and the touches' journey, template and message id
 * come back from the codec; records written before them still read. */
static void test_codec_keeps_arms_and_touches(void **state)
{
  (void)state;
  msgpack_sbuffer buf;
  msgpack_sbuffer_init(&buf);
  char err[160];
  struct conv_arm arms[] = {{"ab_subject", "b", 0}, {"other", "holdout", 1}};
  struct conv cv = {.id = 7, .contact = "c1", .journey = "ab", .step = "next", .status = CONV_LISTENING,
                    .arms = arms, .n_arms = 2};
  assert_int_equal(store_encode_conv(&cv, &buf), 0);
  struct conv *back = store_decode_conv(7, buf.data, buf.size, err, sizeof err);
  assert_non_null(back);
  assert_int_equal(back->n_arms, 2);
  assert_string_equal(back->arms[0].arm, "b");
  assert_string_equal(back->arms[1].experiment, "other");
  assert_int_equal(back->arms[1].holdout, 1);
  conv_record_free(back);

  struct touch touches[] = {{.at_ms = 5, .channel = "email", .journey = "ab", .template_name = "hello",
                             .msg_id = "m1", .capped = 0},
                            {.at_ms = 6, .channel = "sms", .capped = 1}};
  struct contact c = {.id = "c1", .profile = cJSON_CreateObject(), .touches = touches, .n_touches = 2};
  assert_int_equal(store_encode_contact(&c, &buf), 0);
  struct contact *cb = store_decode_contact(buf.data, buf.size, err, sizeof err);
  assert_non_null(cb);
  assert_int_equal(cb->n_touches, 2);
  assert_string_equal(cb->touches[0].journey, "ab");
  assert_string_equal(cb->touches[0].template_name, "hello");
  assert_string_equal(cb->touches[0].msg_id, "m1");
  assert_int_equal(cb->touches[0].capped, 0);
  assert_null(cb->touches[1].journey);
  assert_int_equal(cb->touches[1].capped, 1);
  contact_record_free(cb);
  cJSON_Delete(c.profile);

  /* a conversation of 14 fields (no arms) and a contact of 9 (touches without details) */
  msgpack_sbuffer_clear(&buf);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 14);
  msgpack_pack_int(&pk, 1);
  const char *strs[] = {"c1", "ab"};
  for (int i = 0; i < 2; i++) {
    msgpack_pack_str(&pk, 2);
    msgpack_pack_str_body(&pk, strs[i], 2);
  }
  msgpack_pack_uint32(&pk, 1);
  msgpack_pack_str(&pk, 5);
  msgpack_pack_str_body(&pk, "start", 5);
  msgpack_pack_bin(&pk, 0);
  msgpack_pack_array(&pk, 0);
  msgpack_pack_int64(&pk, 0);
  msgpack_pack_int(&pk, CONV_LISTENING);
  msgpack_pack_nil(&pk);
  msgpack_pack_nil(&pk);
  msgpack_pack_int64(&pk, 5);
  msgpack_pack_int64(&pk, 6);
  msgpack_pack_array(&pk, 0);
  back = store_decode_conv(3, buf.data, buf.size, err, sizeof err);
  if (!back)
    fail_msg("a 14-field conversation: %s", err);
  assert_int_equal(back->n_arms, 0);
  conv_record_free(back);
  msgpack_sbuffer_destroy(&buf);
}

static void load_refused(const char *file, const char *expect)
{
  static const struct log quiet = {.min = LOG_ERROR};
  char path[512], err[1024] = "";
  struct journey *j = NULL;
  struct lhost_config cfg = {.limits = {10000000, 5000, 32u << 20},
                             .sdk_dir = PARLEY_SRCDIR "/sdk/lua",
                             .journeys_dir = PARLEY_SRCDIR "/tests/unit/measure_bad",
                             .log = &quiet};
  snprintf(path, sizeof path, "%s/tests/unit/measure_bad/%s", PARLEY_SRCDIR, file);
  assert_int_equal(lhost_journey_load(&cfg, path, &j, err, sizeof err), -1);
  assert_null(j);
  if (!strstr(err, expect))
    fail_msg("%s: expected '%s' in: %s", file, expect, err);
}

/* Each mistake is refused when the journey loads, naming the file and the line of
 * experiment.define. */
static void test_bad_experiments_refused_at_load(void **state)
{
  (void)state;
  load_refused("sum.lua", "sum.lua:4: experiment 'x': the weights add up to 105 with the holdout; they must add up to 100");
  load_refused("negative.lua", "negative.lua:4: experiment 'x': arms.b is negative (-10)");
  load_refused("no_arms.lua", "no_arms.lua:4: experiment 'x': no arms");
  load_refused("bad_name.lua", "bad_name.lua:4: experiment 'no spaces': name must be");
  load_refused("holdout_arm.lua", "holdout_arm.lua:4: experiment 'x': an arm cannot be named 'holdout'");
  load_refused("unknown_key.lua", "unknown_key.lua:4: experiment 'x': unknown key 'weights'");
}

/* Per step (the step a conversation runs, or waits to run): entered, spoken, timed out,
 * waiting now; per channel: sent (the plugin took
 * it), delivered (its receipt), clicked (an event naming the message); an event naming no
 * message of ours counts nothing. */
static void test_steps_and_channels_counted(void **state)
{
  (void)state;
  struct fixture *f = open_ab("memory", "");
  signed_up(f, "bob"); /* arm b */
  cJSON *doc = view(f, 0, 0);
  assert_true(at(doc, "steps", "start", "entered", NULL) == 1 && at(doc, "steps", "start", "spoken", NULL) == 1);
  assert_true(at(doc, "steps", "next", "waiting", NULL) == 1 && at(doc, "steps", "start", "waiting", NULL) == 0);
  assert_true(at(doc, "channels", "email", "sent", NULL) == 1 && at(doc, "channels", "email", "delivered", NULL) == 1);
  cJSON_Delete(doc);
  cJSON *out = fx_spoken(f);
  post(f, "email.clicked", "bob", fx_field(out, 0, "id"));
  post(f, "email.clicked", "bob", "not-ours");
  cJSON_Delete(out);
  doc = view(f, 0, 0);
  assert_true(at(doc, "steps", "next", "waiting", NULL) == 0 && at(doc, "steps", "done", "waiting", NULL) == 1);
  cJSON_Delete(doc);
  fx_advance(f, 25 * HOUR); /* the day passes: done runs, woken by its deadline */
  doc = view(f, 0, 0);
  assert_true(at(doc, "channels", "email", "clicked", NULL) == 1);
  assert_true(at(doc, "steps", "next", "timed_out", NULL) == 0 && at(doc, "steps", "next", "entered", NULL) == 1);
  assert_true(at(doc, "steps", "next", "spoken", NULL) == 1 && at(doc, "steps", "done", "timed_out", NULL) == 1);
  assert_true(at(doc, "steps", "done", "waiting", NULL) == 0 && at(doc, "entered", NULL) == 1);
  cJSON_Delete(doc);
  signed_up(f, "cy");
  assert_int_equal(erase_contact(f->core, "cy"), 1); /* an erased contact waits no more */
  core_flush(f->core);
  doc = view(f, 0, 0);
  assert_true(at(doc, "steps", "next", "waiting", NULL) == 0);
  cJSON_Delete(doc);
  fx_free(f);
}

/* The counters are in the LMDB store, committed with what they count: a restart finds
 * them. Hourly buckets: a range reads the hours it covers. */
static void test_stats_survive_restart_and_read_by_range(void **state)
{
  (void)state;
  struct fixture *f = open_ab("lmdb", "");
  signed_up(f, "bob");
  fx_advance(f, 5 * HOUR);
  signed_up(f, "dan");
  signed_up(f, "eve");
  fx_close(f);
  fx_open(f);
  cJSON *doc = view(f, 0, 0);
  assert_true(at(doc, "entered", NULL) == 3);
  cJSON_Delete(doc);
  doc = view(f, T0 + 2 * HOUR, 0);
  assert_true(at(doc, "entered", NULL) == 2);
  cJSON_Delete(doc);
  doc = view(f, T0, T0 + 1);
  assert_true(at(doc, "entered", NULL) == 1);
  assert_true(at(doc, "steps", "start", "timed_out", NULL) <= 0);
  cJSON_Delete(doc);
  doc = view(f, T0 + 100 * HOUR, 0);
  assert_true(at(doc, "entered", NULL) == 0);
  cJSON_Delete(doc);
  fx_free(f);
}

/* Two messages, then the goal: last touch credits the second; linear half each. A goal
 * past the window of the messages is unattributed, and still a conversion. */
static void test_attribution_last_touch_and_linear(void **state)
{
  (void)state;
  struct fixture *f = open_ab("memory", "attribution_window = '3h',");
  signed_up(f, "bob"); /* arm b: hello */
  cJSON *out = fx_spoken(f);
  post(f, "email.clicked", "bob", fx_field(out, 0, "id")); /* again */
  cJSON_Delete(out);
  fx_advance(f, HOUR);
  fx_post(f, "{\"type\":\"order.placed\",\"contact\":\"bob\"}");
  cJSON *doc = view(f, 0, 0);
  assert_true(at(doc, "converted", NULL) == 1 && at(doc, "conversion_rate", NULL) == 1);
  assert_true(at(doc, "attribution", "last_touch", "email/again", NULL) == 1);
  assert_true(at(doc, "attribution", "last_touch", "email/hello", NULL) == -1);
  assert_true(at(doc, "attribution", "linear", "email/hello", NULL) == 0.5);
  assert_true(at(doc, "attribution", "linear", "email/again", NULL) == 0.5);
  assert_true(at(doc, "steps", "done", "converted", NULL) == 1);
  assert_true(at(doc, "experiments", "ab_subject", "b", "converted", NULL) == 1);
  assert_true(at(doc, "experiments", "ab_subject", "b", "conversion_rate", NULL) == 1);
  cJSON_Delete(doc);

  signed_up(f, "ann"); /* arm a: hello, then silence */
  fx_advance(f, 4 * HOUR); /* past the 3h window */
  fx_post(f, "{\"type\":\"order.placed\",\"contact\":\"ann\"}");
  doc = view(f, 0, 0);
  assert_true(at(doc, "converted", NULL) == 2 && at(doc, "attribution", "unattributed", NULL) == 1);
  assert_true(at(doc, "attribution", "linear", "email/hello", NULL) == 0.5);
  assert_true(at(doc, "experiments", "ab_subject", "a", "converted", NULL) == 1);
  assert_true(at(doc, "experiments", "ab_subject", "a", "lift_vs_holdout", NULL) == -1); /* no holdout yet */
  cJSON_Delete(doc);

  /* the arms against the holdout: c1 held out converts, c0 in b does not */
  signed_up(f, "c1");
  fx_post(f, "{\"type\":\"order.placed\",\"contact\":\"c1\"}");
  signed_up(f, "c0");
  doc = view(f, 0, 0);
  assert_true(at(doc, "experiments", "ab_subject", "holdout", "conversion_rate", NULL) == 1);
  assert_true(at(doc, "experiments", "ab_subject", "b", "conversion_rate", NULL) == 0.5);
  assert_true(at(doc, "experiments", "ab_subject", "b", "lift_vs_holdout", NULL) == -0.5);
  assert_true(at(doc, "experiments", "ab_subject", "a", "lift_vs_holdout", NULL) == 0);
  assert_true(at(doc, "experiments", "ab_subject", "holdout", "lift_vs_holdout", NULL) == -1);
  cJSON_Delete(doc);
  fx_free(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arms_spread_as_weighted_and_stay),
      cmocka_unit_test(test_codec_keeps_arms_and_touches),
      cmocka_unit_test(test_bad_experiments_refused_at_load),
      cmocka_unit_test(test_steps_and_channels_counted),
      cmocka_unit_test(test_stats_survive_restart_and_read_by_range),
      cmocka_unit_test(test_attribution_last_touch_and_linear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

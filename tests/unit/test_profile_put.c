/* A contact's profile set without an event (profile_put.h), on a whole core: PUT replaces
 * the profile and makes a new contact, PATCH merges as RFC 7396 says, every attribute is
 * checked as an event's profile is (a refusal names the field and stores nothing), the
 * size limit is the event's, nothing starts a journey, conversations and history stay,
 * and what was written is durable and read by the speak gate. */
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
#include "profile_put.h"

#define PUT PROFILE_PUT_REPLACE
#define PATCH PROFILE_PUT_MERGE

/* profile_put, then the commit a request's answer waits for. */
static enum profile_put_result put(struct fixture *f, const char *id, const char *body, enum profile_put_mode mode,
                                   char *err, size_t errlen)
{
  struct contact *ct;
  err[0] = '\0';
  enum profile_put_result rc = profile_put(f->core, id, body, strlen(body), mode, &ct, err, errlen);
  if (rc == PROFILE_PUT_CREATED || rc == PROFILE_PUT_UPDATED) {
    assert_non_null(ct);
    assert_string_equal(ct->id, id);
  } else {
    assert_null(ct);
    assert_true(err[0] != '\0');
  }
  core_flush(f->core);
  return rc;
}

static void put_ok(struct fixture *f, const char *id, const char *body, enum profile_put_mode mode,
                   enum profile_put_result want)
{
  char err[512];
  enum profile_put_result rc = put(f, id, body, mode, err, sizeof err);
  if (rc != want)
    fail_msg("%s %s: %d, want %d (%s)", mode == PUT ? "PUT" : "PATCH", body, rc, want, err);
}

static struct contact *get(struct fixture *f, const char *id)
{
  return f->core->store->ops->contact_get(f->core->store, id);
}

/* The contact's profile is exactly `json`. */
static void profile_is(struct fixture *f, const char *id, const char *json)
{
  cJSON *want = cJSON_Parse(json);
  assert_non_null(want);
  struct contact *ct = get(f, id);
  assert_non_null(ct);
  int same = cJSON_Compare(ct->profile, want, 1);
  cJSON_Delete(want);
  if (!same) {
    char *have = cJSON_PrintUnformatted(ct->profile);
    print_error("profile of %s is %s, want %s\n", id, have, json);
    free(have);
    fail();
  }
}

static void test_put_makes_a_contact_and_starts_nothing(void **state)
{
  struct fixture *f = *state;
  put_ok(f, "ann", "{\"email\":\"ann@example.com\",\"first_name\":\"Ann\",\"nickname\":null,"
                   "\"consent\":{\"sms\":false,\"push\":null},\"tags\":[\"vip\",null]}",
         PUT, PROFILE_PUT_CREATED);
  /* null attributes are left out, at any depth; an array is kept as given */
  profile_is(f, "ann", "{\"email\":\"ann@example.com\",\"first_name\":\"Ann\",\"consent\":{\"sms\":false},"
                       "\"tags\":[\"vip\",null]}");
  struct contact *ct = get(f, "ann");
  assert_int_equal(ct->created_ms, T0);
  assert_int_equal(ct->n_convs, 0); /* not an event: no journey entered */
  assert_true(fx_history_has(&ct->history, "profile replaced"));
  assert_int_equal(f->core->stats.events, 0);
  assert_int_equal(f->core->stats.conv_started, 0);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 0);
  cJSON_Delete(out);
  /* the second PUT of the same contact is an update; an opt-out it does not name stays,
   * one it names as null goes */
  put_ok(f, "ann", "{}", PUT, PROFILE_PUT_UPDATED);
  profile_is(f, "ann", "{\"consent\":{\"sms\":false}}");
  put_ok(f, "ann", "{\"consent\":null}", PUT, PROFILE_PUT_UPDATED);
  profile_is(f, "ann", "{}");
}

/* PUT replaces the attributes, not the contact: its conversations and history stay. */
static void test_put_replaces_the_profile_only(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"bob\","
          "\"profile\":{\"email\":\"bob@example.com\",\"first_name\":\"Bob\",\"unsubscribed\":false}}");
  uint64_t conv_id = fx_only_conv(f, "bob")->id;
  put_ok(f, "bob", "{\"email\":\"robert@example.com\",\"plan\":{\"tier\":\"pro\"}}", PUT, PROFILE_PUT_UPDATED);
  profile_is(f, "bob", "{\"email\":\"robert@example.com\",\"plan\":{\"tier\":\"pro\"},\"unsubscribed\":false}");
  struct conv *cv = fx_only_conv(f, "bob");
  assert_int_equal(cv->id, conv_id);
  assert_int_equal(cv->status, CONV_LISTENING);
  struct contact *ct = get(f, "bob");
  assert_true(fx_history_has(&ct->history, "event signed_up id=e1"));
  assert_true(fx_history_has(&ct->history, "profile replaced"));
  assert_int_equal(f->core->stats.events, 1);
  /* the journey speaks to the new address */
  fx_advance(f, HOUR);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 2);
  assert_string_equal(fx_field(out, 1, "address"), "robert@example.com");
  cJSON_Delete(out);
}

/* RFC 7396: null removes, objects merge key by key (consent and free-form alike), anything
 * else (arrays too) replaces; what the patch leaves out stays. */
static void test_patch_merges_as_rfc_7396_says(void **state)
{
  struct fixture *f = *state;
  put_ok(f, "cy", "{\"email\":\"cy@example.com\",\"phone\":\"+4915112345678\",\"consent\":{\"email\":true,\"sms\":false},"
                  "\"address\":{\"city\":\"Lyon\",\"street\":\"Rue X\",\"geo\":{\"lat\":45}},\"tags\":[1,2],\"n\":1}",
         PUT, PROFILE_PUT_CREATED);
  put_ok(f, "cy", "{\"consent\":{\"sms\":null,\"push\":true},\"address\":{\"city\":\"Paris\",\"zip\":null,"
                  "\"geo\":{\"lon\":2}},\"tags\":[3],\"email\":null,\"first_name\":\"Cy\",\"n\":{\"a\":null,\"b\":1}}",
         PATCH, PROFILE_PUT_UPDATED);
  profile_is(f, "cy", "{\"phone\":\"+4915112345678\",\"consent\":{\"email\":true,\"push\":true},"
                      "\"address\":{\"city\":\"Paris\",\"street\":\"Rue X\",\"geo\":{\"lat\":45,\"lon\":2}},"
                      "\"tags\":[3],\"first_name\":\"Cy\",\"n\":{\"b\":1}}");
  assert_true(fx_history_has(&get(f, "cy")->history, "profile updated"));
  put_ok(f, "cy", "{}", PATCH, PROFILE_PUT_UPDATED); /* an empty patch changes nothing */
  profile_is(f, "cy", "{\"phone\":\"+4915112345678\",\"consent\":{\"email\":true,\"push\":true},"
                      "\"address\":{\"city\":\"Paris\",\"street\":\"Rue X\",\"geo\":{\"lat\":45,\"lon\":2}},"
                      "\"tags\":[3],\"first_name\":\"Cy\",\"n\":{\"b\":1}}");
}

static void test_patch_of_an_unknown_contact_is_not_found(void **state)
{
  struct fixture *f = *state;
  char err[512];
  assert_int_equal(put(f, "ghost", "{\"first_name\":\"G\"}", PATCH, err, sizeof err), PROFILE_PUT_NOT_FOUND);
  assert_non_null(strstr(err, "no such contact"));
  assert_null(get(f, "ghost"));
}

/* One wrong value of each typed attribute, and the strings and keys every event is held
 * to; `field` is what the refusal must name. */
static const struct {
  const char *body, *field;
} BAD[] = {
    {"{\"unsubscribed\":\"true\"}", "field 'profile.unsubscribed' must be true or false"},
    {"{\"unsubscribed\":1}", "field 'profile.unsubscribed' must be true or false"},
    {"{\"consent\":true}", "field 'profile.consent' must be an object"},
    {"{\"consent\":{\"email\":\"no\"}}", "field 'profile.consent.email' must be true, false or null"},
    {"{\"consent\":{\"e mail\":false}}", "field 'profile.consent' has a key"},
    {"{\"email\":7}", "field 'profile.email' must be a string"},
    {"{\"email\":\"ann\"}", "field 'profile.email' is not an e-mail address"},
    {"{\"phone\":15550100}", "field 'profile.phone' must be a string"},
    {"{\"phone\":\"555-0100\"}", "field 'profile.phone' must be E.164"},
    {"{\"timezone\":true}", "field 'profile.timezone' must be a string"},
    {"{\"timezone\":\"Mars/Olympus_Mons\"}", "field 'profile.timezone' is not an IANA time zone"},
    {"{\"first name\":\"Ann\"}", "field 'profile' has a key that is not an attribute name"},
    {"{\"bio\":\"\xff\"}", "field 'profile.bio' is not valid UTF-8"},
    {"{\"bio\":\"a\\u0000b\"}", "field 'profile.bio' holds a NUL character"},
    {"{\"bio\":{\"a\\u0001\":1}}", "field 'profile.bio' has a key holding a control character"},
    {"[1]", "the profile must be a JSON object"},
    {"\"ann\"", "the profile must be a JSON object"},
    {"{\"a\":1", "malformed JSON at byte"},
    {"", "malformed JSON at byte 1"},
    {"{\"a\":1} {}", "unexpected text after the profile at byte"},
};

/* Each bad body, by PUT and by PATCH, against the profile in place: refused naming the
 * problem, the profile and history untouched. Good attributes beside a bad one are not
 * kept either. */
static void test_every_wrong_field_is_refused_and_nothing_stored(void **state)
{
  struct fixture *f = *state;
  const char *before = "{\"email\":\"dee@example.com\",\"unsubscribed\":true,\"consent\":{\"sms\":false}}";
  put_ok(f, "dee", before, PUT, PROFILE_PUT_CREATED);
  size_t hist = get(f, "dee")->history.n;
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    for (int m = 0; m < 2; m++) {
      char body[256], err[512];
      snprintf(body, sizeof body, "%s", BAD[i].body);
      if (body[0] == '{' && body[1] == '"') /* a good attribute first: refused with the rest */
        snprintf(body, sizeof body, "{\"first_name\":\"Dee\",\"unsubscribed\":false,%s", BAD[i].body + 1);
      enum profile_put_mode mode = m ? PATCH : PUT;
      assert_int_equal(put(f, "dee", body, mode, err, sizeof err), PROFILE_PUT_REFUSED);
      if (!strstr(err, BAD[i].field))
        fail_msg("%s: error '%s' does not say '%s'", body, err, BAD[i].field);
      profile_is(f, "dee", before);
      assert_int_equal(get(f, "dee")->history.n, hist);
      /* nor is a new contact made by a refused PUT */
      assert_int_equal(put(f, "new", body, mode, err, sizeof err), PROFILE_PUT_REFUSED);
      assert_null(get(f, "new"));
    }
  }
}

/* The body's limit is an event's (limits.event_bytes), and the id's rule is an event's. */
static void test_limits_are_the_events(void **state)
{
  struct fixture *f = *state;
  size_t max = f->core->cfg->max_event_bytes, n = max + 1;
  char err[512], *body = malloc(n + 1);
  assert_non_null(body);
  memset(body, ' ', n);
  memcpy(body, "{\"a\":1}", 7); /* valid JSON, padded past the limit */
  body[n] = '\0';
  assert_int_equal(put(f, "big", body, PUT, err, sizeof err), PROFILE_PUT_TOO_LARGE);
  assert_non_null(strstr(err, "larger than"));
  assert_null(get(f, "big"));
  body[max] = '\0'; /* exactly the limit: taken */
  put_ok(f, "big", body, PUT, PROFILE_PUT_CREATED);
  free(body);
  assert_int_equal(put(f, "..", "{}", PUT, err, sizeof err), PROFILE_PUT_REFUSED);
  assert_non_null(strstr(err, "the contact id cannot be '.' or '..'"));
  assert_int_equal(put(f, "", "{}", PUT, err, sizeof err), PROFILE_PUT_REFUSED);
  assert_non_null(strstr(err, "the contact id is empty"));
}

/* The speak gate reads what a PATCH set: an opt-out stops the next message. */
static void test_the_gate_reads_a_patched_opt_out(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"eve\",\"profile\":{\"email\":\"eve@example.com\"}}");
  put_ok(f, "eve", "{\"unsubscribed\":true}", PATCH, PROFILE_PUT_UPDATED);
  fx_advance(f, HOUR);
  cJSON *out = fx_spoken(f);
  assert_int_equal(cJSON_GetArraySize(out), 1); /* the welcome only: the nudge was refused */
  cJSON_Delete(out);
  assert_true(fx_history_has(&fx_only_conv(f, "eve")->history, "refused email/nudge: the contact unsubscribed"));
}

/* What a PUT or PATCH wrote is committed: it is there after a restart. */
static void test_a_profile_put_is_durable(void **state)
{
  struct fixture *f = *state;
  put_ok(f, "fay", "{\"email\":\"fay@example.com\",\"first_name\":\"Fay\"}", PUT, PROFILE_PUT_CREATED);
  put_ok(f, "fay", "{\"first_name\":null,\"timezone\":\"Europe/Paris\"}", PATCH, PROFILE_PUT_UPDATED);
  fx_close(f);
  fx_open(f);
  profile_is(f, "fay", "{\"email\":\"fay@example.com\",\"timezone\":\"Europe/Paris\"}");
  assert_true(fx_history_has(&get(f, "fay")->history, "profile updated"));
}

#define BOTH(t)                                                                                              \
  cmocka_unit_test_setup_teardown(t, fx_setup_memory, fx_teardown),                                           \
      cmocka_unit_test_setup_teardown(t, fx_setup_lmdb, fx_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      BOTH(test_put_makes_a_contact_and_starts_nothing),
      BOTH(test_put_replaces_the_profile_only),
      BOTH(test_patch_merges_as_rfc_7396_says),
      BOTH(test_patch_of_an_unknown_contact_is_not_found),
      BOTH(test_every_wrong_field_is_refused_and_nothing_stored),
      BOTH(test_limits_are_the_events),
      BOTH(test_the_gate_reads_a_patched_opt_out),
      cmocka_unit_test_setup_teardown(test_a_profile_put_is_durable, fx_setup_lmdb, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

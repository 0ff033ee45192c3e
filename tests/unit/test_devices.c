/* A contact's push devices (devices.h, devices_put.h), on a whole core: registered and
 * removed through the API's functions, changed token by token by an event's profile (a
 * plugin's "token unregistered" receipt), refused with the field named, trimmed to the
 * newest DEVICES_MAX, kept across a profile PUT that does not name them, durable, and read
 * by the speak gate as the push channel's address. */
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
#include "devices.h"
#include "devices_put.h"
#include "profile_put.h"

static struct contact *get(struct fixture *f, const char *id)
{
  return f->core->store->ops->contact_get(f->core->store, id);
}

static enum devices_put_result reg(struct fixture *f, const char *id, const char *body, char *err, size_t len)
{
  struct contact *ct;
  err[0] = '\0';
  enum devices_put_result rc = devices_register(f->core, id, body, strlen(body), &ct, err, len);
  assert_true(rc >= 0 ? ct != NULL : ct == NULL && err[0] != '\0');
  core_flush(f->core);
  return rc;
}

static enum devices_put_result del(struct fixture *f, const char *id, const char *token, char *err, size_t len)
{
  struct contact *ct;
  enum devices_put_result rc = devices_remove(f->core, id, token, &ct, err, len);
  core_flush(f->core);
  return rc;
}

static const cJSON *device(struct fixture *f, const char *id, const char *token)
{
  struct contact *ct = get(f, id);
  return ct ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ct->profile, "devices"), token)
            : NULL;
}

static int n_devices(struct fixture *f, const char *id)
{
  return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(get(f, id)->profile, "devices"));
}

static void test_register_then_remove(void **state)
{
  struct fixture *f = *state;
  char err[512];
  assert_int_equal(reg(f, "ann", "{\"platform\":\"android\",\"token\":\"tok-a1\",\"app_id\":\"com.shop\"}", err,
                       sizeof err),
                   DEVICES_PUT_CREATED); /* the contact is made with its first device */
  assert_int_equal(reg(f, "ann", "{\"platform\":\"ios\",\"token\":\"tok-i1\"}", err, sizeof err), DEVICES_PUT_CREATED);
  const cJSON *d = device(f, "ann", "tok-a1");
  assert_string_equal(cJSON_GetObjectItem(d, "platform")->valuestring, "android");
  assert_string_equal(cJSON_GetObjectItem(d, "app_id")->valuestring, "com.shop");
  assert_non_null(cJSON_GetObjectItem(d, "last_seen")); /* the core's clock */
  assert_true(fx_history_has(&get(f, "ann")->history, "device registered android token=...tok-a1"));

  fx_advance(f, 60000);
  assert_int_equal(reg(f, "ann", "{\"platform\":\"android\",\"token\":\"tok-a1\"}", err, sizeof err),
                   DEVICES_PUT_UPDATED); /* the same token: seen again, not a second device */
  assert_int_equal(n_devices(f, "ann"), 2);
  assert_true(fx_history_has(&get(f, "ann")->history, "device seen again android"));

  assert_int_equal(del(f, "ann", "tok-a1", err, sizeof err), DEVICES_PUT_UPDATED);
  assert_null(device(f, "ann", "tok-a1"));
  assert_non_null(device(f, "ann", "tok-i1"));
  assert_int_equal(del(f, "ann", "tok-a1", err, sizeof err), DEVICES_PUT_NOT_FOUND);
  assert_string_equal(err, "the contact has no device with this token");
  assert_int_equal(del(f, "nobody", "tok-a1", err, sizeof err), DEVICES_PUT_NOT_FOUND);
  assert_int_equal(del(f, "ann", "tok-i1", err, sizeof err), DEVICES_PUT_UPDATED);
  assert_null(cJSON_GetObjectItem(get(f, "ann")->profile, "devices")); /* none left: no empty map */
}

static void test_bad_bodies_name_the_field_and_store_nothing(void **state)
{
  struct fixture *f = *state;
  static const struct {
    const char *body, *says;
  } bad[] = {
      {"[]", "the body must be a JSON object"},
      {"{\"platform\":\"android\"}", "field 'token' is missing"},
      {"{\"platform\":\"android\",\"token\":7}", "field 'token' is missing or not a string"},
      {"{\"platform\":\"symbian\",\"token\":\"t1\"}", "field 'profile.devices.t1.platform' must be \"ios\", \"android\" or \"web\""},
      {"{\"token\":\"t1\"}", "field 'profile.devices.t1.platform' is missing"},
      {"{\"platform\":\"ios\",\"token\":\"t 1\"}", "is not a push token (it holds a space"},
      {"{\"platform\":\"ios\",\"token\":\"\"}", "is not a push token (it is empty)"},
      {"{\"platform\":\"ios\",\"token\":\"t1\",\"colour\":\"red\"}", "field 'profile.devices.t1.colour' is not a device field"},
      {"{\"platform\":\"ios\",\"token\":\"t1\",\"app_id\":\"\"}", "field 'profile.devices.t1.app_id' must be a string of 1-255 bytes"},
      {"{\"platform\":\"ios\",\"token\":\"t1\",\"last_seen\":\"2026-01-01T00:00:00Z\"}", "field 'last_seen' is the core's to set"},
  };
  char err[512];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(reg(f, "bob", bad[i].body, err, sizeof err), DEVICES_PUT_REFUSED);
    if (!strstr(err, bad[i].says))
      fail_msg("%s: '%s', want '%s'", bad[i].body, err, bad[i].says);
  }
  char token[DEVICES_TOKEN_MAX + 2], body[DEVICES_TOKEN_MAX + 64];
  memset(token, 'x', sizeof token - 1);
  token[sizeof token - 1] = '\0';
  snprintf(body, sizeof body, "{\"platform\":\"ios\",\"token\":\"%s\"}", token);
  assert_int_equal(reg(f, "bob", body, err, sizeof err), DEVICES_PUT_REFUSED);
  assert_non_null(strstr(err, "longer than 1024 bytes"));
  assert_null(get(f, "bob")); /* nothing made */
}

/* An event changes one token without touching the others: how a plugin removes a token
 * its provider refused, and how an app's backend may register one. */
static void test_an_event_changes_one_token(void **state)
{
  struct fixture *f = *state;
  char err[512];
  assert_int_equal(reg(f, "cat", "{\"platform\":\"android\",\"token\":\"keep\"}", err, sizeof err), DEVICES_PUT_CREATED);
  assert_int_equal(reg(f, "cat", "{\"platform\":\"android\",\"token\":\"dead\"}", err, sizeof err), DEVICES_PUT_CREATED);
  fx_post(f, "{\"id\":\"e1\",\"type\":\"app.opened\",\"contact\":\"cat\","
             "\"profile\":{\"devices\":{\"web1\":{\"platform\":\"web\"}}}}");
  fx_post(f, "{\"id\":\"e2\",\"type\":\"push.token_removed\",\"contact\":\"cat\","
             "\"profile\":{\"devices\":{\"dead\":null}}}");
  assert_non_null(device(f, "cat", "keep"));
  assert_non_null(device(f, "cat", "web1"));
  assert_null(device(f, "cat", "dead"));
  assert_int_equal(n_devices(f, "cat"), 2);
  assert_true(fx_history_has(&get(f, "cat")->history, "event push.token_removed"));
}

/* One device more than DEVICES_MAX forgets the one seen longest ago. */
static void test_the_oldest_device_goes_first(void **state)
{
  struct fixture *f = *state;
  char err[512], body[128];
  for (int i = 0; i <= DEVICES_MAX; i++) {
    snprintf(body, sizeof body, "{\"platform\":\"android\",\"token\":\"t%d\"}", i);
    assert_int_equal(reg(f, "dan", body, err, sizeof err), DEVICES_PUT_CREATED);
    fx_advance(f, 1000);
    if (i == 0) /* t0 comes back: t1 is now the one seen longest ago */
      assert_int_equal(reg(f, "dan", "{\"platform\":\"android\",\"token\":\"t0\"}", err, sizeof err),
                       DEVICES_PUT_UPDATED);
    if (i == 1) {
      fx_advance(f, 1000);
      assert_int_equal(reg(f, "dan", "{\"platform\":\"android\",\"token\":\"t0\"}", err, sizeof err),
                       DEVICES_PUT_UPDATED);
    }
  }
  assert_int_equal(n_devices(f, "dan"), DEVICES_MAX);
  assert_null(device(f, "dan", "t1"));
  assert_non_null(device(f, "dan", "t0"));
  assert_non_null(device(f, "dan", "t10"));
}

/* A CRM's profile sync (PUT) does not drop the devices the app registered. */
static void test_a_profile_put_keeps_the_devices(void **state)
{
  struct fixture *f = *state;
  char err[512];
  struct contact *ct;
  assert_int_equal(reg(f, "eve", "{\"platform\":\"ios\",\"token\":\"i1\"}", err, sizeof err), DEVICES_PUT_CREATED);
  const char *body = "{\"first_name\":\"Eve\"}";
  assert_int_equal(profile_put(f->core, "eve", body, strlen(body), PROFILE_PUT_REPLACE, &ct, err, sizeof err),
                   PROFILE_PUT_UPDATED);
  core_flush(f->core);
  assert_non_null(device(f, "eve", "i1"));
  body = "{\"devices\":{\"i1\":{\"platform\":\"nokia\"}}}";
  assert_int_equal(profile_put(f->core, "eve", body, strlen(body), PROFILE_PUT_MERGE, &ct, err, sizeof err),
                   PROFILE_PUT_REFUSED);
  assert_non_null(strstr(err, "profile.devices.i1.platform"));
  fx_close(f); /* and it is all on disk */
  fx_open(f);
  assert_non_null(device(f, "eve", "i1"));
}

#define BOTH(t)                                                                                              \
  cmocka_unit_test_setup_teardown(t, fx_setup_memory, fx_teardown),                                           \
      cmocka_unit_test_setup_teardown(t, fx_setup_lmdb, fx_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      BOTH(test_register_then_remove),
      BOTH(test_bad_bodies_name_the_field_and_store_nothing),
      BOTH(test_an_event_changes_one_token),
      BOTH(test_the_oldest_device_goes_first),
      cmocka_unit_test_setup_teardown(test_a_profile_put_keeps_the_devices, fx_setup_lmdb, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

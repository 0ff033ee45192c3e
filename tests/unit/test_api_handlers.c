/* The handlers of api_profile.c and api_admin.c, called as the router calls them (api.h),
 * on a whole core: the answers they give (status, error code, document) and that those
 * which write wait for the commit. The server's side of request.h and api.h is stood in
 * for here: each answer is recorded, and an answer after the commit commits first. */
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
#include "http/api.h"

/* The last answer. */
static struct {
  unsigned status;
  cJSON *doc;
  int after_commit; /* given through api_after_commit* */
} A;

static void answered(unsigned status, cJSON *doc, int after_commit)
{
  assert_int_equal(A.status, 0); /* one answer per request */
  A.status = status;
  A.doc = doc;
  A.after_commit = after_commit;
}

void http_reply_json(struct http_req *rq, unsigned status, cJSON *doc)
{
  answered(status, doc, 0);
}

void http_reply_error(struct http_req *rq, unsigned status, const char *code, const char *message, size_t line)
{
  cJSON *doc = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(doc, "error");
  cJSON_AddStringToObject(e, "code", code);
  cJSON_AddStringToObject(e, "message", message);
  answered(status, doc, 0);
}

void api_after_commit_status(struct api *api, struct http_req *rq, unsigned status, cJSON *doc, const char *unstored)
{
  assert_non_null(unstored);
  assert_int_equal(core_commit(api->core), 0);
  answered(status, doc, 1);
}

void api_after_commit(struct api *api, struct http_req *rq, cJSON *doc, const char *unstored)
{
  api_after_commit_status(api, rq, 200, doc, unstored);
}

/* One request to `h` with the path's segment `arg` and `body`; the answer is in A. */
static void call(struct fixture *f, api_handler *h, const char *method, const char *arg, const char *body)
{
  struct api api = {f->core, NULL, NULL};
  struct http_req rq = {.method = method, .path = "", .query = "", .body = body, .body_len = strlen(body),
                        .peer = "127.0.0.1"};
  char *args[] = {(char *)arg, NULL};
  cJSON_Delete(A.doc);
  memset(&A, 0, sizeof A);
  h(&api, &rq, args);
  assert_int_not_equal(A.status, 0);
}

/* The same with two segments, for /v1/contacts/{id}/devices/{token}. */
static void call2(struct fixture *f, api_handler *h, const char *method, const char *a0, const char *a1)
{
  struct api api = {f->core, NULL, NULL};
  struct http_req rq = {.method = method, .path = "", .query = "", .body = "", .peer = "127.0.0.1"};
  char *args[] = {(char *)a0, (char *)a1, NULL};
  cJSON_Delete(A.doc);
  memset(&A, 0, sizeof A);
  h(&api, &rq, args);
  assert_int_not_equal(A.status, 0);
}

static const char *error_code(void)
{
  return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(A.doc, "error"), "code"));
}

static const char *error_message(void)
{
  return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(A.doc, "error"), "message"));
}

static int teardown(void **state)
{
  cJSON_Delete(A.doc);
  memset(&A, 0, sizeof A);
  return fx_teardown(state);
}

static void test_put_answers_201_then_200_with_the_contact(void **state)
{
  struct fixture *f = *state;
  call(f, api_put_contact, "PUT", "ann", "{\"email\":\"ann@example.com\"}");
  assert_int_equal(A.status, 201);
  assert_true(A.after_commit);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(A.doc, "id")), "ann");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(A.doc, "created")), "2027-01-15T08:00:00.000Z");
  cJSON *profile = cJSON_GetObjectItem(A.doc, "profile");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(profile, "email")), "ann@example.com");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(A.doc, "conversations")), 0);
  call(f, api_put_contact, "PUT", "ann", "{\"first_name\":\"Ann\"}");
  assert_int_equal(A.status, 200);
  profile = cJSON_GetObjectItem(A.doc, "profile");
  assert_null(cJSON_GetObjectItem(profile, "email"));
  call(f, api_patch_contact, "PATCH", "ann", "{\"email\":\"ann@example.com\"}");
  assert_int_equal(A.status, 200);
  assert_true(A.after_commit);
  profile = cJSON_GetObjectItem(A.doc, "profile");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(profile, "first_name")), "Ann");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(profile, "email")), "ann@example.com");
}

static void test_refusals_have_their_status_and_code(void **state)
{
  struct fixture *f = *state;
  call(f, api_patch_contact, "PATCH", "ghost", "{}");
  assert_int_equal(A.status, 404);
  assert_string_equal(error_code(), "not_found");
  call(f, api_put_contact, "PUT", "..", "{}");
  assert_int_equal(A.status, 400);
  assert_string_equal(error_code(), "bad_contact_id");
  assert_string_equal(error_message(), "the contact id in the path cannot be '.' or '..' (percent-encode the id, RFC 3986)");
  call(f, api_patch_contact, "PATCH", "a\x01", "{}");
  assert_int_equal(A.status, 400);
  assert_string_equal(error_code(), "bad_contact_id");
  call(f, api_put_contact, "PUT", "ann", "{\"phone\":\"555\"}");
  assert_int_equal(A.status, 400);
  assert_string_equal(error_code(), "bad_profile");
  assert_non_null(strstr(error_message(), "field 'profile.phone' must be E.164"));
  size_t n = f->core->cfg->max_event_bytes + 1;
  char *big = malloc(n + 1);
  memset(big, ' ', n);
  memcpy(big, "{}", 2);
  big[n] = '\0';
  call(f, api_put_contact, "PUT", "ann", big);
  free(big);
  assert_int_equal(A.status, 413);
  assert_string_equal(error_code(), "body_too_large");
  assert_null(f->core->store->ops->contact_get(f->core->store, "ann")); /* none of them made it */
}

static void test_journeys_and_reload(void **state)
{
  struct fixture *f = *state;
  call(f, api_get_journeys, "GET", NULL, "");
  assert_int_equal(A.status, 200);
  assert_false(A.after_commit);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(A.doc, "journeys")), 5);
  call(f, api_post_reload, "POST", NULL, "");
  assert_int_equal(A.status, 200);
  assert_true(A.after_commit); /* new versions are pinned before the answer goes */
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(A.doc, "refused")), 0);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(A.doc, "files")), 5);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(A.doc, "journeys")), 5);
}

/* POST /v1/contacts/{id}/devices: 201 for a new device, 200 for one seen again, 400 naming
 * the field; DELETE .../devices/{token}: 200, then 404. Each answers with the contact. */
static void test_devices_register_and_remove(void **state)
{
  struct fixture *f = *state;
  call(f, api_post_device, "POST", "ann", "{\"platform\":\"android\",\"token\":\"fcm-1\"}");
  assert_int_equal(A.status, 201);
  assert_true(A.after_commit);
  cJSON *devs = cJSON_GetObjectItem(cJSON_GetObjectItem(A.doc, "profile"), "devices");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(devs, "fcm-1"), "platform")),
                      "android");
  call(f, api_post_device, "POST", "ann", "{\"platform\":\"android\",\"token\":\"fcm-1\"}");
  assert_int_equal(A.status, 200);
  call(f, api_post_device, "POST", "ann", "{\"platform\":\"blackberry\",\"token\":\"fcm-2\"}");
  assert_int_equal(A.status, 400);
  assert_string_equal(error_code(), "bad_device");
  assert_non_null(strstr(error_message(), "profile.devices.fcm-2.platform"));
  call(f, api_post_device, "POST", "..", "{\"platform\":\"ios\",\"token\":\"x\"}");
  assert_int_equal(A.status, 400);
  call2(f, api_delete_device, "DELETE", "ann", "fcm-1");
  assert_int_equal(A.status, 200);
  assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(A.doc, "profile"), "devices"));
  call2(f, api_delete_device, "DELETE", "ann", "fcm-1");
  assert_int_equal(A.status, 404);
  assert_string_equal(error_code(), "not_found");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_answers_201_then_200_with_the_contact, fx_setup_lmdb, teardown),
      cmocka_unit_test_setup_teardown(test_refusals_have_their_status_and_code, fx_setup_lmdb, teardown),
      cmocka_unit_test_setup_teardown(test_journeys_and_reload, fx_setup_memory, teardown),
      cmocka_unit_test_setup_teardown(test_devices_register_and_remove, fx_setup_lmdb, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

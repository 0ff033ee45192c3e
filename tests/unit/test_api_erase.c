/* DELETE /v1/contacts/{id} (http/api_erase.c) as the router calls it: args[0] is the
 * decoded id. The server's answers are stood in for here (http_reply_error and
 * api_after_commit record what the handler said), so the handler is tested on the core
 * it runs on whatever the server is. */
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

/* What the handler answered: a status and error code at once, or a document held until
 * the commit. */
static struct {
  unsigned status;
  char code[64], message[256];
  char *held; /* api_after_commit's document, printed */
} said;

void http_reply_error(struct http_req *rq, unsigned status, const char *code, const char *message,
                      size_t line)
{
  said.status = status;
  snprintf(said.code, sizeof said.code, "%s", code);
  snprintf(said.message, sizeof said.message, "%s", message);
}

void api_after_commit(struct api *api, struct http_req *rq, cJSON *doc, const char *unstored)
{
  said.status = 0;
  free(said.held);
  said.held = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
}

static void forget_said(void)
{
  free(said.held);
  memset(&said, 0, sizeof said);
}

static void call(struct fixture *f, const char *id)
{
  struct api api = {.core = f->core};
  struct http_req rq = {.method = "DELETE", .path = "/v1/contacts/..."};
  char *args[] = {(char *)id, NULL};
  forget_said();
  api_delete_contact(&api, &rq, args);
}

static void test_known_contact_is_erased_once_committed(void **state)
{
  struct fixture *f = *state;
  fx_post(f, "{\"id\":\"e1\",\"type\":\"signed_up\",\"contact\":\"a/b c\",\"profile\":{\"email\":\"a@x.org\"}}");
  call(f, "a/b c");
  assert_non_null(said.held);
  assert_string_equal(said.held, "{\"erased\":\"a/b c\"}");
  core_flush(f->core);
  assert_null(f->core->store->ops->contact_get(f->core->store, "a/b c"));
  call(f, "a/b c");
  assert_null(said.held);
  assert_int_equal(said.status, 404);
  assert_string_equal(said.code, "not_found");
  forget_said();
}

/* An id no event could carry is a 400 that names the problem, and erases nothing. */
static void test_impossible_ids_are_bad_requests(void **state)
{
  struct fixture *f = *state;
  char long_id[300];
  memset(long_id, 'x', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  const char *bad[] = {".", "..", "", "a\x01" "b", "\xff\xfe", long_id};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    call(f, bad[i]);
    assert_int_equal(said.status, 400);
    assert_string_equal(said.code, "bad_contact_id");
    assert_non_null(strstr(said.message, "the contact id in the path"));
    assert_null(said.held);
  }
  assert_int_equal(f->core->stats.erased, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_known_contact_is_erased_once_committed, fx_setup_memory,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_known_contact_is_erased_once_committed, fx_setup_lmdb,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_impossible_ids_are_bad_requests, fx_setup_memory, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

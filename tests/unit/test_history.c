/* The contact's history as journeys read it, through the real core: each kind of line the
 * core writes reads back as an entry (histline.c writes and reads them), an event keeps
 * its flat data within a bound, a query filters by kind, type and time and refuses a
 * misspelt field; c:record_offer is written with the step's decision (a step that failed
 * offered nothing), seen by the same step at once, and kept across a restart. Journeys from
 * tests/unit/history_journeys. */
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
#include "histline.h"
#include "lua/lhost.h"

static struct fixture *open_asker(const char *backend)
{
  return fx_new_custom(backend, "tests/unit/history_journeys", "", "");
}

static void post(struct fixture *f, const char *contact, const char *type, const char *data)
{
  static int n;
  char json[2048];
  snprintf(json, sizeof json, "{\"id\":\"h-%d\",\"type\":\"%s\",\"contact\":\"%s\",\"data\":%s}", ++n, type,
           contact, data);
  fx_post(f, json);
}

/* The conversation's memory as JSON (the caller deletes it). */
static cJSON *memory(struct fixture *f, const char *contact)
{
  struct conv *cv = fx_only_conv(f, contact);
  cJSON *m = lhost_memory_to_json(cv->memory, cv->memory_len);
  assert_non_null(m);
  return m;
}

/* memory.answer, the last query's entries (the caller deletes it; an empty answer is an
 * empty table, so JSON's {}). */
static cJSON *answer(struct fixture *f, const char *contact)
{
  cJSON *m = memory(f, contact);
  cJSON *a = cJSON_DetachItemFromObject(m, "answer");
  cJSON_Delete(m);
  assert_non_null(a);
  return a;
}

/* Entry i's `key` as text ("" when absent), its numbers printed. */
static const char *field(cJSON *a, int i, const char *key)
{
  static char num[64];
  const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(a, i), key);
  if (cJSON_IsNumber(v)) {
    snprintf(num, sizeof num, "%.17g", v->valuedouble);
    return num;
  }
  return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_events_read_back(void **state)
{
  (void)state;
  struct fixture *f = open_asker("memory");
  fx_post(f, "{\"id\":\"h-0\",\"type\":\"hello\",\"contact\":\"ann\",\"profile\":{\"email\":\"ann@example.com\"}}");
  post(f, "ann", "order.placed",
       "{\"order_id\":\"o 1\",\"total\":42.5,\"paid\":true,\"items\":[{\"name\":\"Mug\"}],"
       "\"note\":\"a note far longer than the sixty-four bytes an entry keeps of one text value\"}");
  fx_advance(f, HOUR);
  post(f, "ann", "ask", "{\"kind\":\"event\",\"type\":\"order.placed\"}");
  cJSON *a = answer(f, "ann"); /* when it came, its type and id, and its flat data within bounds */
  assert_int_equal(cJSON_GetArraySize(a), 1);
  assert_string_equal(field(a, 0, "at"), "1800000000");
  assert_string_equal(field(a, 0, "type"), "order.placed");
  assert_string_equal(field(a, 0, "id"), "h-1");
  char *data = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "data"));
  cJSON *want = cJSON_Parse("{\"order_id\":\"o 1\",\"total\":42.5,\"paid\":true}");
  cJSON *got = cJSON_Parse(data);
  assert_true(cJSON_Compare(want, got, 1));
  cJSON_Delete(want);
  cJSON_Delete(got);
  free(data);
  cJSON_Delete(a);
  post(f, "ann", "ask", "{\"kind\":\"event\",\"type\":\"order.placed\",\"since\":\"30m\"}");
  a = answer(f, "ann");
  assert_int_equal(cJSON_GetArraySize(a), 0); /* nothing within 30 minutes */
  cJSON_Delete(a);
  post(f, "ann", "ask", "{\"kind\":[\"entered\",\"event\"],\"limit\":2}"); /* newest first */
  a = answer(f, "ann");
  assert_int_equal(cJSON_GetArraySize(a), 2);
  assert_string_equal(field(a, 0, "type"), "ask");
  assert_string_equal(field(a, 1, "type"), "ask");
  cJSON_Delete(a);
  fx_free(f);
}

static void test_messages_read_back(void **state)
{
  (void)state;
  struct fixture *f = open_asker("memory");
  fx_post(f, "{\"id\":\"m-0\",\"type\":\"hello\",\"contact\":\"bo\",\"profile\":{\"email\":\"bo@example.com\"}}");
  post(f, "bo", "speak", "{\"channel\":\"email\"}");
  post(f, "bo", "speak", "{\"channel\":\"fax\"}");
  post(f, "bo", "ask", "{\"kind\":[\"spoke\",\"refused\",\"entered\"]}");
  cJSON *a = answer(f, "bo"); /* newest first: the refusal, the message, the entry */
  assert_int_equal(cJSON_GetArraySize(a), 3);
  assert_string_equal(field(a, 0, "kind"), "refused");
  assert_string_equal(field(a, 0, "channel"), "fax");
  assert_string_equal(field(a, 0, "template"), "hi");
  assert_string_equal(field(a, 0, "journey"), "asker");
  assert_string_equal(field(a, 0, "reason"), "no channel 'fax' is configured");
  assert_string_equal(field(a, 1, "kind"), "spoke");
  assert_string_equal(field(a, 1, "channel"), "email");
  assert_int_equal(strlen(field(a, 1, "id")), 32); /* the message's id */
  assert_string_equal(field(a, 2, "kind"), "entered");
  assert_string_equal(field(a, 2, "journey"), "asker");
  cJSON_Delete(a);
  post(f, "bo", "ask", "{\"kinds\":\"spoke\"}"); /* a misspelt field fails the step */
  struct conv *cv = fx_only_conv(f, "bo");
  assert_int_equal(cv->status, CONV_FAILED);
  assert_non_null(strstr(cv->error, "c:history: unknown field 'kinds'"));
  fx_free(f);
}

static void test_offers(void **state)
{
  (void)state;
  struct fixture *f = open_asker("lmdb");
  fx_post(f, "{\"id\":\"o-0\",\"type\":\"hello\",\"contact\":\"cy\",\"profile\":{\"email\":\"cy@example.com\"}}");
  post(f, "cy", "offer", "{\"offer\":\"w10\",\"channel\":\"email\",\"template\":\"hi\"}");
  cJSON *m = memory(f, "cy");
  assert_int_equal(cJSON_GetObjectItem(m, "seen")->valueint, 1); /* its own, at once */
  cJSON_Delete(m);
  fx_close(f);
  fx_open(f);
  fx_advance(f, HOUR);
  post(f, "cy", "offer", "{\"offer\":\"w10\"}");
  m = memory(f, "cy");
  assert_int_equal(cJSON_GetObjectItem(m, "seen")->valueint, 2); /* the first, kept across the restart */
  cJSON_Delete(m);
  struct contact *ct = f->core->store->ops->contact_get(f->core->store, "cy");
  assert_true(fx_history_has(&ct->history, "offered w10 (asker) on email/hi"));
  fx_post(f, "{\"id\":\"o-9\",\"type\":\"hello\",\"contact\":\"dee\",\"profile\":{\"email\":\"dee@example.com\"}}");
  post(f, "dee", "offer_then_fail", "{\"offer\":\"w10\"}");
  assert_int_equal(fx_only_conv(f, "dee")->status, CONV_FAILED);
  ct = f->core->store->ops->contact_get(f->core->store, "dee");
  assert_false(fx_history_has(&ct->history, "offered")); /* a failed step offered nothing */
  fx_free(f);
}

/* Each line the core writes reads back as what was written. */
static void test_lines_round_trip(void **state)
{
  (void)state;
  char line[HISTLINE_MAX], buf[HISTLINE_MAX];
  struct histline e;
  histline_spoke(line, sizeof line, "sms", "cart_sms", "cart", "abc123", " segments=1 encoding=GSM-7");
  histline_parse(line, buf, sizeof buf, &e);
  assert_string_equal(e.kind, "spoke");
  assert_string_equal(e.channel, "sms");
  assert_string_equal(e.template_name, "cart_sms");
  assert_string_equal(e.journey, "cart");
  assert_string_equal(e.id, "abc123");
  histline_held(line, sizeof line, "sms", "t", "cart", "abc", "2030-01-01 08:00 Asia/Tokyo");
  histline_parse(line, buf, sizeof buf, &e);
  assert_string_equal(e.kind, "held");
  assert_string_equal(e.id, "abc");
  assert_string_equal(e.journey, "cart");
  histline_refused(line, sizeof line, "email", "t", "j", "cap reached (journey j): 2 email messages in 1d");
  histline_parse(line, buf, sizeof buf, &e);
  assert_string_equal(e.reason, "cap reached (journey j): 2 email messages in 1d");
  histline_offered(line, sizeof line, "w10", "winback", NULL, NULL);
  histline_parse(line, buf, sizeof buf, &e);
  assert_string_equal(e.offer, "w10");
  assert_string_equal(e.journey, "winback");
  assert_null(e.channel);
  histline_event(line, sizeof line, "x.y", "an id with spaces", NULL);
  histline_parse(line, buf, sizeof buf, &e);
  assert_string_equal(e.type, "x.y");
  assert_string_equal(e.id, "an id with spaces");
  assert_null(e.data);
  histline_parse("profile updated", buf, sizeof buf, &e);
  assert_string_equal(e.kind, "profile");
  /* Data: bounded, whole pairs only, always JSON. */
  cJSON *data = cJSON_CreateObject();
  for (int i = 0; i < 40; i++) {
    char k[16];
    snprintf(k, sizeof k, "key_%02d", i);
    cJSON_AddStringToObject(data, k, "value");
  }
  histline_event(line, sizeof line, "big", NULL, data);
  cJSON_Delete(data);
  histline_parse(line, buf, sizeof buf, &e);
  assert_non_null(e.data);
  assert_true(strlen(e.data) <= HISTLINE_DATA_MAX);
  cJSON *back = cJSON_Parse(e.data);
  assert_non_null(back);
  assert_true(cJSON_GetArraySize(back) > 5 && cJSON_GetArraySize(back) < 40);
  cJSON_Delete(back);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_events_read_back),
      cmocka_unit_test(test_messages_read_back),
      cmocka_unit_test(test_offers),
      cmocka_unit_test(test_lines_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The global suppression lists (suppress.c, cfg_suppress.c) and the speak gate's use of
 * them: lists from the configuration's table and from files, e-mail addresses compared in
 * any case, numbers exactly, every topic refused (transactional too) with its own reason,
 * and the configuration's errors naming the entry, or the file and line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "gate.h"
#include "suppress.h"

#define CHANNELS "channels = { email = { plugin = 'file' }, sms = { plugin = 'file', address = 'phone' }, " \
                 "push = { plugin = 'file', address = 'push_token' } }, "

/* A list file under /tmp with `text`; its path in path (64 bytes). */
static void list_file(char *path, const char *text)
{
  snprintf(path, 64, "/tmp/parley-supp-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static int load(const char *suppress, struct cfg **cfg, char *err, size_t errlen)
{
  char src[2048];
  snprintf(src, sizeof src, "return { %s suppress = %s }", CHANNELS, suppress);
  return cfg_load_string(src, strlen(src), "supp.conf.lua", cfg, err, errlen);
}

static int ask(const struct cfg *cfg, const char *profile, const char *channel, const char *topic, char *why)
{
  cJSON *p = cJSON_Parse(profile);
  assert_non_null(p);
  struct gate_ask a = {.profile = p, .channel = channel, .topic = topic};
  int r = gate_speak(cfg, &a, why, 256);
  cJSON_Delete(p);
  return r;
}

static void test_lists_refuse(void **state)
{
  (void)state;
  char path[64], conf[512], err[512] = "", why[256];
  list_file(path, "# complaints\n\nMallory@Example.COM   # from the abuse desk\n  +4915100000009\t\r\n");
  snprintf(conf, sizeof conf, "{ email = { 'abuse@example.com', 'Trent@Example.org', file = '%s' }, "
                              "sms = { '+4915100000001' }, push = { 'tok-1' } }", path);
  struct cfg *cfg = NULL;
  /* the file lists an e-mail address and a number: each channel checks its own kind */
  assert_int_equal(load(conf, &cfg, err, sizeof err), -1);
  if (!strstr(err, "suppress.email.file: ") || !strstr(err, ":4: '+4915100000009' is not an e-mail address"))
    fail_msg("got \"%s\"", err);
  unlink(path);
  list_file(path, "# complaints\n\nMallory@Example.COM   # from the abuse desk\n\n");
  snprintf(conf, sizeof conf, "{ email = { 'abuse@example.com', 'Trent@Example.org', file = '%s' }, "
                              "sms = { '+4915100000001' }, push = { 'tok-1' } }", path);
  if (load(conf, &cfg, err, sizeof err) != 0)
    fail_msg("%s", err);
  assert_int_equal(suppress_count(cfg->suppress), 5);
  /* case does not matter for e-mail, on the list or in the profile */
  assert_int_equal(ask(cfg, "{\"email\":\"ABUSE@example.com\"}", "email", NULL, why), GATE_GLOBAL_SUPPRESSED);
  assert_string_equal(why, "the contact's email is on the global suppression list for email (the configuration)");
  assert_int_equal(ask(cfg, "{\"email\":\"trent@example.org\"}", "email", "transactional", why),
                   GATE_GLOBAL_SUPPRESSED);
  assert_int_equal(ask(cfg, "{\"email\":\"mallory@example.com\"}", "email", NULL, why), GATE_GLOBAL_SUPPRESSED);
  assert_non_null(strstr(why, path)); /* the file that listed it */
  assert_int_equal(ask(cfg, "{\"email\":\"alice@example.com\"}", "email", NULL, why), GATE_OK);
  /* numbers exactly; a list is the channel's own */
  assert_int_equal(ask(cfg, "{\"phone\":\"+4915100000001\"}", "sms", "transactional", why), GATE_GLOBAL_SUPPRESSED);
  assert_int_equal(ask(cfg, "{\"phone\":\"004915100000001\"}", "sms", NULL, why), GATE_OK);
  assert_int_equal(ask(cfg, "{\"push_token\":\"tok-1\"}", "push", NULL, why), GATE_GLOBAL_SUPPRESSED);
  assert_int_equal(ask(cfg, "{\"push_token\":\"TOK-1\"}", "push", NULL, why), GATE_OK);
  assert_int_equal(ask(cfg, "{\"email\":\"abuse@example.com\",\"phone\":\"+4915100000002\"}", "sms", NULL, why), GATE_OK);
  /* the global list speaks before the contact's own suppression and past an unsubscribe */
  assert_int_equal(ask(cfg, "{\"email\":\"abuse@example.com\",\"suppressed\":{\"email\":{\"address\":"
                            "\"abuse@example.com\"}}}", "email", NULL, why), GATE_GLOBAL_SUPPRESSED);
  assert_int_equal(ask(cfg, "{\"email\":\"abuse@example.com\",\"unsubscribed\":true}", "email", "transactional", why),
                   GATE_GLOBAL_SUPPRESSED);
  assert_string_equal(gate_reason_name(GATE_GLOBAL_SUPPRESSED), "suppressed_globally");
  cfg_free(cfg);
  unlink(path);
}

/* Without a `suppress` table, nothing is listed. */
static void test_no_lists(void **state)
{
  (void)state;
  char src[512], err[256], why[256];
  struct cfg *cfg = NULL;
  snprintf(src, sizeof src, "return { %s }", CHANNELS);
  assert_int_equal(cfg_load_string(src, strlen(src), "t", &cfg, err, sizeof err), 0);
  assert_null(cfg->suppress);
  assert_int_equal(ask(cfg, "{\"email\":\"abuse@example.com\"}", "email", NULL, why), GATE_OK);
  cfg_free(cfg);
}

static void test_config_errors(void **state)
{
  (void)state;
  char bad[64];
  list_file(bad, "ok@example.com\n# fine\nnot an address\n");
  static const struct {
    const char *suppress, *want;
  } cases[] = {
      {"'x'", "suppress: must be a table such as"},
      {"{ fax = { '+4915100000001' } }", "suppress: 'fax' is not a configured channel"},
      {"{ email = 'a@example.com' }", "suppress.email: must be a table"},
      {"{ email = { 'a@example.com', 'nobody' } }", "suppress.email[2]: 'nobody' is not an e-mail address"},
      {"{ email = { 'a@@example.com' } }", "suppress.email[1]: 'a@@example.com' is not an e-mail address"},
      {"{ email = { 7 } }", "suppress.email[1]: must be an address (a string)"},
      {"{ email = { fil = '/x' } }", "suppress.email: unknown key 'fil'"},
      {"{ email = { file = 3 } }", "suppress.email.file: must be a path"},
      {"{ email = { file = '/nonexistent/list.txt' } }", "suppress.email.file: cannot read /nonexistent/list.txt"},
      {"{ sms = { '+49 151 0000' } }", "suppress.sms[1]: '+49 151 0000' is not a phone number in E.164"},
      {"{ sms = { '015100000001' } }", "is not a phone number in E.164"},
      {"{ sms = { '+1234567890123456' } }", "is not a phone number in E.164"},
      {"{ push = { 'tok en' } }", "suppress.push[1]: 'tok en' holds spaces"},
      {"{ push = { '' } }", "suppress.push[1]: an address must have 1 to 320 characters"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[512] = "";
    struct cfg *cfg = NULL;
    if (load(cases[i].suppress, &cfg, err, sizeof err) != -1 || !strstr(err, cases[i].want))
      fail_msg("%s: got \"%s\"", cases[i].suppress, err);
  }
  char conf[256], err[512] = "", want[256];
  struct cfg *cfg = NULL;
  snprintf(conf, sizeof conf, "{ email = { file = '%s' } }", bad);
  assert_int_equal(load(conf, &cfg, err, sizeof err), -1);
  snprintf(want, sizeof want, "suppress.email.file: %s:3: 'not an address' is not an e-mail address", bad);
  if (!strstr(err, want))
    fail_msg("got \"%s\"", err);
  unlink(bad);
}

/* A large list: every entry found, nothing else. */
static void test_many(void **state)
{
  (void)state;
  struct suppress_set *s = calloc(1, sizeof *s);
  assert_non_null(s);
  int src = suppress_source(s, "bulk");
  assert_int_equal(src, 0);
  for (int i = 0; i < 20000; i++) {
    char num[32];
    snprintf(num, sizeof num, "+49151%08d", i * 2);
    assert_int_equal(suppress_add(s, "sms", num, src), 0);
  }
  assert_int_equal(suppress_add(s, "sms", "+4915100000000", src), 0); /* twice: once */
  assert_int_equal(suppress_count(s), 20000);
  for (int i = 0; i < 40000; i++) {
    char num[32];
    snprintf(num, sizeof num, "+49151%08d", i);
    const char *by = suppress_find(s, "sms", SUPPRESS_PHONE, num);
    if ((by != NULL) != (i % 2 == 0))
      fail_msg("%s: %s", num, by ? by : "not listed");
  }
  assert_null(suppress_find(s, "email", SUPPRESS_PHONE, "+4915100000000"));
  suppress_free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lists_refuse),
      cmocka_unit_test(test_no_lists),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

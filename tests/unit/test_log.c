/* Log lines: addresses, phone numbers and tokens are redacted from every value, whoever
 * wrote it, and the line still reads as one record. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void expect_redacted(const char *in, const char *want)
{
  char out[256];
  log_redact(in, out, sizeof out);
  if (strcmp(out, want) != 0)
    fail_msg("log_redact(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

static void test_redaction(void **state)
{
  expect_redacted("ann@example.com", "[email]");
  expect_redacted("to=bob.smith+tag@mail.example.org ok", "to=[email] ok");
  expect_redacted("write to a@b.co.", "write to [email].");
  expect_redacted("call +4915112345678 now", "call [phone] now");
  expect_redacted("Bearer prl_0123456789ab_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "Bearer [token]");
  /* what is not one of them stays */
  expect_redacted("x@localhost", "x@localhost");
  expect_redacted("a@b", "a@b");
  expect_redacted("price +12", "price +12");
  expect_redacted("@home.example", "@home.example");
  expect_redacted("step 'start' failed", "step 'start' failed");
  char small[8];
  log_redact("ann@example.com and more", small, sizeof small);
  assert_int_equal(strlen(small), 7); /* cut short, still terminated */
}

/* Through log_kv to stderr: the message and every field are redacted. */
static void test_log_lines_hold_no_address(void **state)
{
  char path[] = "/tmp/parley-log-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  struct log lg = {.min = LOG_DEBUG};
  log_kv(&lg, LOG_WARN, "conv", "conversation failed: no reply from zoe@example.net", "contact",
         "ann@example.com", "error", "cannot reach +33612345678", (char *)NULL);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  char buf[1024] = "";
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  close(fd);
  unlink(path);
  assert_null(strstr(buf, "@example"));
  assert_null(strstr(buf, "612345678"));
  assert_non_null(strstr(buf, "contact=[email]"));
  assert_non_null(strstr(buf, "[phone]"));
  assert_int_equal(strchr(buf, '\n') - buf + 1, (long)strlen(buf)); /* one line */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_redaction),
      cmocka_unit_test(test_log_lines_hold_no_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

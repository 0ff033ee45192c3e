/* The plugin loader and host table, exercised with real shared objects: the deliberately
 * bad plugins of tests/plugins/ (each must be refused with a message that names the file
 * and the reason, and leave nothing loaded), and the real `file` and `console` channels.
 * send_done and emit_event are recorded here, standing in for the core. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dlfcn.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "store/records.h"
#include "plugin/plugin_int.h"
#include "plugin/plugin_load.h"
#include "../plugins/abi10_fields.h"

#define TEST_PLUGIN(name) PARLEY_BUILDDIR "/tests/plugins/.libs/" name ".so"
#define CHANNEL_PLUGIN(name) PARLEY_BUILDDIR "/plugins/.libs/" name ".so"

/* --- what the core would do, recorded --- */

struct recorder {
  int done_calls;
  enum parley_status done_status;
  char done_detail[128];
  char done_provider[160];
  uint64_t done_retry_after;
  enum parley_fail_reason done_reason;
  struct parley_msg *done_msg;
  int events;
  char event[512];
  int refuse_events; /* 1: emit_event fails, as for a malformed event */
};

static void rec_send_done(void *core, struct parley_msg *msg, const struct plugin_result *res)
{
  struct recorder *r = core;
  r->done_calls++;
  r->done_status = res->status;
  r->done_msg = msg;
  snprintf(r->done_detail, sizeof r->done_detail, "%s", res->detail ? res->detail : "");
  snprintf(r->done_provider, sizeof r->done_provider, "%s", res->provider_id ? res->provider_id : "");
  r->done_retry_after = res->retry_after_ms;
  r->done_reason = res->reason;
}

static int rec_emit_event(void *core, const char *json, size_t len, char *err, size_t errlen)
{
  struct recorder *r = core;
  r->events++;
  snprintf(r->event, sizeof r->event, "%.*s", (int)len, json);
  if (r->refuse_events) {
    snprintf(err, errlen, "test refuses events");
    return -1;
  }
  return 0;
}

struct fixture {
  struct log log;
  struct clock clock;
  struct ev_loop *loop;
  struct recorder rec;
  struct plugin_env env;
  char dir[64]; /* a mkdtemp scratch directory */
  char err[512];
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  /* The refusals are expected: keep the TAP output readable unless asked. */
  f->log.min = getenv("PARLEY_TEST_VERBOSE") ? LOG_DEBUG : (enum log_level)(LOG_ERROR + 1);
  f->loop = ev_loop_new(EVFLAG_AUTO);
  clock_init_loop(&f->clock, f->loop);
  f->env = (struct plugin_env){.log = &f->log,
                               .clock = &f->clock,
                               .loop = f->loop,
                               .core = &f->rec,
                               .outbox = &f->rec,
                               .send_done = rec_send_done,
                               .emit_event = rec_emit_event};
  snprintf(f->dir, sizeof f->dir, "/tmp/parley-loader-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  *state = f;
  return 0;
}

static void rm_scratch(const char *dir)
{
  static const char *const names[] = {"x.so", "out.ndjson", "receipts.ndjson"};
  char path[128];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  ev_loop_destroy(f->loop);
  rm_scratch(f->dir);
  free(f);
  return 0;
}

/* Settings as the config layer hands them over: a JSON object from the channel's table. */
static cJSON *settings(const char *json)
{
  cJSON *s = cJSON_Parse(json);
  assert_non_null(s);
  return s;
}

/* Opens `path`, expecting a refusal whose message contains `want` and the file's name. */
static void expect_refusal(struct fixture *f, const char *path, const char *json,
                           const char *want)
{
  cJSON *s = json ? settings(json) : NULL;
  struct plugin_inst *pi = (struct plugin_inst *)0x1;
  f->err[0] = '\0';
  int rc = plugin_instance_open(&f->env, "test", path, s, &pi, f->err, sizeof f->err);
  cJSON_Delete(s);
  if (rc == 0)
    plugin_instance_close(pi);
  assert_int_equal(rc, -1);
  assert_null(pi);
  if (strstr(f->err, want) == NULL || strstr(f->err, path) == NULL)
    fail_msg("refusal of %s: got \"%s\", wanted \"%s\"", path, f->err, want);
  if (getenv("PARLEY_TEST_VERBOSE"))
    fprintf(stderr, "refused: %s\n", f->err);
  /* Nothing stays loaded: the refused file is no longer mapped. */
  void *still = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (still)
    dlclose(still);
  assert_null(still);
}

static struct plugin_inst *open_ok(struct fixture *f, const char *channel, const char *path,
                                   const char *json)
{
  cJSON *s = json ? settings(json) : NULL;
  struct plugin_inst *pi = NULL;
  int rc = plugin_instance_open(&f->env, channel, path, s, &pi, f->err, sizeof f->err);
  cJSON_Delete(s);
  if (rc != 0)
    fail_msg("open %s: %s", path, f->err);
  assert_non_null(pi);
  return pi;
}

/* A message as the outbox would build it; the strings are literals, never freed. */
static void msg_init(struct parley_msg *m, const char *id)
{
  memset(m, 0, sizeof *m);
  snprintf(m->id, sizeof m->id, "%s", id);
  m->channel = (char *)"email";
  m->contact = (char *)"c-42";
  m->address = (char *)"ann@example.com";
  m->journey = (char *)"welcome";
  m->template_name = (char *)"hello";
  m->subject = (char *)"Hi Ann";
  m->text = (char *)"Hello, \"Ann\".\nWelcome!";
  m->attempt = 1;
}

/* --- refusals --- */

static void test_refuses_bad_major(void **state)
{
  expect_refusal(*state, TEST_PLUGIN("bad_major"), NULL,
                 "built for plugin ABI 2.x, this Parley speaks 1.x");
}

static void test_refuses_newer_minor(void **state)
{
  char want[256];
  snprintf(want, sizeof want,
           "plugin 'future_minor' was built for plugin ABI %d.%d, newer than this Parley's %d.%d: build it "
           "against this Parley's SDK (pkg-config parley-plugin), or upgrade Parley",
           PARLEY_ABI_MAJOR, PARLEY_ABI_MINOR + 1, PARLEY_ABI_MAJOR, PARLEY_ABI_MINOR);
  expect_refusal(*state, TEST_PLUGIN("future_minor"), NULL, want);
}

static void test_refuses_short_struct(void **state)
{
  expect_refusal(*state, TEST_PLUGIN("short_struct"), NULL, "descriptor too short for ABI v1");
}

static void test_refuses_no_entry(void **state)
{
  expect_refusal(*state, TEST_PLUGIN("no_entry"), NULL,
                 "not a Parley plugin: no symbol parley_plugin_entry");
}

static void test_refuses_init_fail(void **state)
{
  /* the plugin's own one line, through set_error */
  expect_refusal(*state, TEST_PLUGIN("init_fail"), NULL, "init failed for channel 'test': cannot reach the provider at smtp.invalid");
}

static void test_refuses_text_file(void **state)
{
  struct fixture *f = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/x.so", f->dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("this is not an ELF file\n", fp);
  fclose(fp);
  expect_refusal(f, path, NULL, "not a loadable shared object");
}

static void test_refuses_missing_file(void **state)
{
  struct fixture *f = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/nothing-here.so", f->dir);
  expect_refusal(f, path, NULL, "cannot read the file");
}

static void test_refuses_unknown_setting(void **state)
{
  struct fixture *f = *state;
  expect_refusal(f, CHANNEL_PLUGIN("console"), "{\"plugin\":\"console\",\"colour\":\"red\"}",
                 "unknown setting 'colour'");
  assert_non_null(strstr(f->err, "known settings: stream"));
}

static void test_refuses_wrong_type(void **state)
{
  struct fixture *f = *state;
  expect_refusal(f, CHANNEL_PLUGIN("file"), "{\"path\":\"/dev/null\",\"receipts\":\"yes\"}",
                 "setting 'receipts' of plugin 'file' (channel 'test'): must be a boolean, not a string");
  expect_refusal(f, TEST_PLUGIN("pending_send"), "{\"delay_ms\":1.5}",
                 "setting 'delay_ms' of plugin 'pending_send' (channel 'test'): must be an integer");
  expect_refusal(f, TEST_PLUGIN("pending_send"), "{\"delay_ms\":\"10\"}",
                 "must be an integer, not a string");
}

static void test_refuses_missing_required(void **state)
{
  expect_refusal(*state, CHANNEL_PLUGIN("file"), "{\"plugin\":\"file\"}",
                 "missing required setting 'path' for plugin 'file'");
}

static void test_refuses_unopenable_output(void **state)
{
  struct fixture *f = *state;
  char json[256];
  snprintf(json, sizeof json, "{\"path\":\"%s/no/such/dir/out.ndjson\"}", f->dir);
  expect_refusal(f, CHANNEL_PLUGIN("file"), json, "init failed");
  expect_refusal(f, CHANNEL_PLUGIN("console"), "{\"stream\":\"printer\"}", "init failed");
}

/* --- plugin_find --- */

static void test_find(void **state)
{
  struct fixture *f = *state;
  char path[512];
  assert_int_equal(plugin_find(PARLEY_BUILDDIR "/plugins", "file", path, sizeof path, f->err,
                               sizeof f->err),
                   0);
  assert_string_equal(path, CHANNEL_PLUGIN("file"));
  assert_int_equal(plugin_find(PARLEY_BUILDDIR "/plugins", "nope", path, sizeof path, f->err,
                               sizeof f->err),
                   -1);
  assert_non_null(strstr(f->err, "plugin 'nope' not found"));
  assert_int_equal(plugin_find(PARLEY_BUILDDIR "/plugins", "../plugins/file", path,
                               sizeof path, f->err, sizeof f->err),
                   -1);
  assert_non_null(strstr(f->err, "bad plugin name"));
}

/* Several folders (plugin_path, then plugin_dir): the first that holds the plugin wins,
 * and a plugin found nowhere is named with every folder looked in. */
static void test_find_in(void **state)
{
  struct fixture *f = *state;
  char path[512], tmp[] = "/tmp/parley-find-XXXXXX", shadow[600];
  assert_non_null(mkdtemp(tmp));
  snprintf(shadow, sizeof shadow, "%s/file.so", tmp);
  assert_int_equal(symlink(TEST_PLUGIN("receipts"), shadow), 0);

  const char *dirs[] = {PARLEY_BUILDDIR "/tests/plugins", PARLEY_BUILDDIR "/plugins"};
  assert_int_equal(plugin_find_in(dirs, 2, "receipts", path, sizeof path, f->err, sizeof f->err), 0);
  assert_string_equal(path, TEST_PLUGIN("receipts"));
  assert_int_equal(plugin_find_in(dirs, 2, "file", path, sizeof path, f->err, sizeof f->err), 0);
  assert_string_equal(path, CHANNEL_PLUGIN("file"));

  const char *first[] = {tmp, PARLEY_BUILDDIR "/plugins"}, *last[] = {PARLEY_BUILDDIR "/plugins", tmp};
  assert_int_equal(plugin_find_in(first, 2, "file", path, sizeof path, f->err, sizeof f->err), 0);
  assert_string_equal(path, shadow);
  assert_int_equal(plugin_find_in(last, 2, "file", path, sizeof path, f->err, sizeof f->err), 0);
  assert_string_equal(path, CHANNEL_PLUGIN("file"));

  assert_int_equal(plugin_find_in(first, 2, "nope", path, sizeof path, f->err, sizeof f->err), -1);
  assert_string_equal(path, "");
  assert_non_null(strstr(f->err, "plugin 'nope' not found: looked for nope.so (and .libs/nope.so) in"));
  assert_non_null(strstr(f->err, tmp));
  assert_non_null(strstr(f->err, ", " PARLEY_BUILDDIR "/plugins"));
  assert_int_equal(plugin_find_in(first, 2, "../plugins/file", path, sizeof path, f->err, sizeof f->err), -1);
  assert_non_null(strstr(f->err, "bad plugin name"));
  assert_int_equal(plugin_find_in(first, 0, "file", path, sizeof path, f->err, sizeof f->err), -1);

  unlink(shadow);
  rmdir(tmp);
}

/* --- the real channels --- */

static cJSON *read_json_line(const char *path)
{
  char buf[2048];
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  assert_non_null(fgets(buf, sizeof buf, fp));
  int more = fgetc(fp);
  fclose(fp);
  assert_int_equal(more, EOF); /* exactly one line */
  size_t n = strlen(buf);
  assert_true(n > 0 && buf[n - 1] == '\n');
  cJSON *j = cJSON_Parse(buf);
  assert_non_null(j);
  return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void test_file_plugin_writes_json_line(void **state)
{
  struct fixture *f = *state;
  char path[128], json[256];
  snprintf(path, sizeof path, "%s/out.ndjson", f->dir);
  snprintf(json, sizeof json, "{\"plugin\":\"file\",\"path\":\"%s\"}", path);
  struct plugin_inst *pi = open_ok(f, "email", CHANNEL_PLUGIN("file"), json);
  assert_string_equal(plugin_instance_name(pi), "file");
  assert_string_equal(plugin_instance_channel(pi), "email");

  struct parley_msg m;
  msg_init(&m, "m-1");
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_OK);
  plugin_instance_close(pi);

  cJSON *line = read_json_line(path);
  assert_string_equal(jstr(line, "id"), "m-1");
  assert_string_equal(jstr(line, "channel"), "email");
  assert_string_equal(jstr(line, "contact"), "c-42");
  assert_string_equal(jstr(line, "address"), "ann@example.com");
  assert_string_equal(jstr(line, "journey"), "welcome");
  assert_string_equal(jstr(line, "template"), "hello");
  assert_string_equal(jstr(line, "subject"), "Hi Ann");
  assert_string_equal(jstr(line, "text"), "Hello, \"Ann\".\nWelcome!");
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(line, "html")));
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(line, "attempt")), 1);
  double at = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(line, "at"));
  assert_true(at == (double)clock_now_ms(&f->clock));
  assert_int_equal(f->rec.events, 0); /* receipts default to false */
  cJSON_Delete(line);
}

/* Two channels served by one plugin file (two providers of one kind): two instances,
 * each with its own name and settings, and one closed does not disturb the other (the
 * file stays mapped while any instance of it is open). */
static void test_two_instances_of_one_plugin(void **state)
{
  struct fixture *f = *state;
  char a[128], b[128], json[256];
  snprintf(a, sizeof a, "%s/a.ndjson", f->dir);
  snprintf(b, sizeof b, "%s/b.ndjson", f->dir);
  snprintf(json, sizeof json, "{\"path\":\"%s\"}", a);
  struct plugin_inst *first = open_ok(f, "email", CHANNEL_PLUGIN("file"), json);
  snprintf(json, sizeof json, "{\"path\":\"%s\",\"receipts\":true}", b);
  struct plugin_inst *second = open_ok(f, "email_backup", CHANNEL_PLUGIN("file"), json);
  assert_ptr_not_equal(first, second);
  assert_string_equal(plugin_instance_channel(first), "email");
  assert_string_equal(plugin_instance_channel(second), "email_backup");

  struct parley_msg m1, m2;
  msg_init(&m1, "m-a");
  msg_init(&m2, "m-b");
  assert_int_equal(plugin_instance_send(first, &m1), PARLEY_OK);
  plugin_instance_close(first);
  assert_int_equal(plugin_instance_send(second, &m2), PARLEY_OK); /* still there */
  assert_int_equal(f->rec.events, 1); /* only the second emits receipts */
  plugin_instance_close(second);

  cJSON *la = read_json_line(a), *lb = read_json_line(b);
  assert_string_equal(jstr(la, "id"), "m-a");
  assert_string_equal(jstr(lb, "id"), "m-b");
  cJSON_Delete(la);
  cJSON_Delete(lb);
}

/* Lines longer than the plugin's first buffer (16 KiB) come out whole, and a short one
 * after a long one is not polluted by the long one's tail. */
static void test_file_plugin_long_lines(void **state)
{
  struct fixture *f = *state;
  char path[128], json[256];
  snprintf(path, sizeof path, "%s/long.ndjson", f->dir);
  snprintf(json, sizeof json, "{\"plugin\":\"file\",\"path\":\"%s\"}", path);
  struct plugin_inst *pi = open_ok(f, "email", CHANNEL_PLUGIN("file"), json);
  size_t n = 100000;
  char *big = malloc(n + 1);
  for (size_t i = 0; i < n; i++)
    big[i] = "ab\"<\n"[i % 5];
  big[n] = '\0';
  struct parley_msg m, s;
  msg_init(&m, "m-long");
  m.html = big;
  msg_init(&s, "m-short");
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_OK);
  assert_int_equal(plugin_instance_send(pi, &s), PARLEY_OK);
  plugin_instance_close(pi);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char *line = NULL;
  size_t cap = 0;
  assert_true(getline(&line, &cap, fp) > 0);
  cJSON *a = cJSON_Parse(line);
  assert_non_null(a);
  assert_string_equal(jstr(a, "html"), big);
  assert_true(getline(&line, &cap, fp) > 0);
  cJSON *b = cJSON_Parse(line);
  assert_non_null(b);
  assert_string_equal(jstr(b, "id"), "m-short");
  assert_true(getline(&line, &cap, fp) < 0); /* exactly two lines */
  fclose(fp);
  free(line);
  cJSON_Delete(a);
  cJSON_Delete(b);
  free(big);
}

static void test_file_plugin_receipts(void **state)
{
  struct fixture *f = *state;
  char path[128], json[256];
  snprintf(path, sizeof path, "%s/receipts.ndjson", f->dir);
  snprintf(json, sizeof json, "{\"path\":\"%s\",\"receipts\":true}", path);
  struct plugin_inst *pi = open_ok(f, "email", CHANNEL_PLUGIN("file"), json);
  struct parley_msg m;
  msg_init(&m, "m-7");
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_OK);
  assert_int_equal(f->rec.events, 1);
  assert_string_equal(f->rec.event, "{\"id\":\"m-7:delivered\",\"type\":\"email.delivered\","
                                    "\"contact\":\"c-42\",\"data\":{\"message_id\":\"m-7\"}}");
  /* A refused receipt is logged; the delivery itself still succeeded. */
  f->rec.refuse_events = 1;
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_OK);
  assert_int_equal(f->rec.events, 2);
  assert_int_equal(f->rec.done_calls, 0); /* sync statuses never go through send_done */
  plugin_instance_close(pi);
}

static void test_console_plugin(void **state)
{
  struct fixture *f = *state;
  /* stderr: stdout carries the TAP stream. */
  struct plugin_inst *pi =
      open_ok(f, "sms", CHANNEL_PLUGIN("console"), "{\"plugin\":\"console\",\"stream\":\"stderr\"}");
  struct parley_msg m;
  msg_init(&m, "m-2");
  m.channel = (char *)"sms";
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_OK);
  plugin_instance_close(pi);
}

/* --- asynchronous sends on a real libev loop --- */

static void test_pending_send_completes_later(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi = open_ok(f, "sms", TEST_PLUGIN("pending_send"), "{\"delay_ms\":5}");
  struct parley_msg m;
  msg_init(&m, "m-3");
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_PENDING);
  assert_int_equal(f->rec.done_calls, 0);
  ev_run(f->loop, 0); /* returns when the timer has fired: no watcher is left */
  assert_int_equal(f->rec.done_calls, 1);
  assert_int_equal(f->rec.done_status, PARLEY_OK);
  assert_ptr_equal(f->rec.done_msg, &m);
  assert_string_equal(f->rec.done_detail, "provider-id-m-3");
  plugin_instance_close(pi);
}

static void test_pending_send_retry(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi =
      open_ok(f, "sms", TEST_PLUGIN("pending_send"), "{\"delay_ms\":0,\"fail\":true}");
  struct parley_msg a, b;
  msg_init(&a, "m-4");
  msg_init(&b, "m-5");
  assert_int_equal(plugin_instance_send(pi, &a), PARLEY_PENDING);
  assert_int_equal(plugin_instance_send(pi, &b), PARLEY_PENDING);
  ev_run(f->loop, 0);
  assert_int_equal(f->rec.done_calls, 2);
  assert_int_equal(f->rec.done_status, PARLEY_RETRY);
  assert_string_equal(f->rec.done_detail, "provider unavailable");
  /* A second completion for a message nobody waits for is ignored, not forwarded. */
  plugin_host_table()->send_done(plugin_ctx(pi), &a, PARLEY_OK, NULL);
  assert_int_equal(f->rec.done_calls, 2);
  plugin_instance_close(pi);
}

/* Closing with a send in flight cancels and frees the timer (LeakSanitizer checks), never
 * calls send_done afterwards, and keeps the plugin mapped. */
static void test_close_cancels_timers(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi =
      open_ok(f, "sms", TEST_PLUGIN("pending_send"), "{\"delay_ms\":60000}");
  struct parley_msg m;
  msg_init(&m, "m-6");
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_PENDING);
  plugin_instance_close(pi);
  ev_run(f->loop, EVRUN_NOWAIT);
  assert_int_equal(ev_pending_count(f->loop), 0);
  assert_int_equal(f->rec.done_calls, 0);
}

/* --- host accessors --- */

static void test_contact_attr(void **state)
{
  const struct parley_host *h = plugin_host_table();
  assert_int_equal(h->abi_major, PARLEY_ABI_MAJOR);
  assert_int_equal(h->size, sizeof(struct parley_host));
  struct parley_msg m;
  msg_init(&m, "m-8");
  /* as the core makes it: the profile's JSON text, parsed on the first question */
  m.profile_json = "{\"name\":\"Ann\",\"age\":42,\"vip\":true,\"score\":1.5,"
                   "\"tags\":[\"a\"],\"gone\":null}";
  assert_string_equal(h->msg_contact_attr(&m, "name"), "Ann");
  assert_non_null(m.profile);
  assert_string_equal(h->msg_contact_attr(&m, "age"), "42");
  assert_string_equal(h->msg_contact_attr(&m, "vip"), "true");
  assert_string_equal(h->msg_contact_attr(&m, "score"), "1.5");
  assert_string_equal(h->msg_contact_attr(&m, "tags"), "[\"a\"]");
  assert_null(h->msg_contact_attr(&m, "gone"));
  assert_null(h->msg_contact_attr(&m, "missing"));
  assert_string_equal(h->msg_part(&m, "subject"), "Hi Ann");
  assert_null(h->msg_part(&m, "html"));
  assert_null(h->msg_part(&m, "body"));
  assert_string_equal(h->msg_id(&m), "m-8");
  assert_int_equal(h->msg_attempt(&m), 1);
  cJSON_Delete(m.profile);
  free(m.attr_text);
}

/* --- ABI 1.1: how a send ended --- */

/* Each 1.1 completion reaches the core with what it said; a provider id the history
 * cannot show is left out, a reason this host does not know is "other", and a second
 * completion is ignored. The sends are pending_send's, whose own answer never comes
 * (60 s, cancelled at close). */
static void test_outcomes_forwarded(void **state)
{
  struct fixture *f = *state;
  const struct parley_host *h = plugin_host_table();
  struct plugin_inst *pi = open_ok(f, "sms", TEST_PLUGIN("pending_send"), "{\"delay_ms\":60000}");
  parley_ctx *ctx = plugin_ctx(pi);
  struct parley_msg m[6];
  for (int i = 0; i < 6; i++) {
    msg_init(&m[i], "m-o");
    assert_int_equal(plugin_instance_send(pi, &m[i]), PARLEY_PENDING);
  }
  assert_true(PARLEY_HOST_HAS(h, send_delivered) && PARLEY_HOST_HAS(h, send_retry) &&
              PARLEY_HOST_HAS(h, send_failed));
  h->send_delivered(ctx, &m[0], "prov-1");
  assert_int_equal(f->rec.done_status, PARLEY_OK);
  assert_string_equal(f->rec.done_provider, "prov-1");
  h->send_delivered(ctx, &m[1], "bad\nid"); /* a control character: left out */
  assert_int_equal(f->rec.done_calls, 2);
  assert_string_equal(f->rec.done_provider, "");
  h->send_retry(ctx, &m[2], 30000, "throttled");
  assert_int_equal(f->rec.done_status, PARLEY_RETRY);
  assert_int_equal(f->rec.done_retry_after, 30000);
  assert_string_equal(f->rec.done_detail, "throttled");
  h->send_failed(ctx, &m[3], PARLEY_FAIL_BLOCKED, "carrier says no");
  assert_int_equal(f->rec.done_status, PARLEY_ERROR);
  assert_int_equal(f->rec.done_reason, PARLEY_FAIL_BLOCKED);
  assert_string_equal(f->rec.done_detail, "carrier says no");
  h->send_failed(ctx, &m[4], (enum parley_fail_reason)6, NULL); /* a later minor's */
  assert_int_equal(f->rec.done_reason, PARLEY_FAIL_OTHER);
  h->send_done(ctx, &m[5], PARLEY_OK, "prov-10"); /* 1.0: the detail is the provider id */
  assert_string_equal(f->rec.done_provider, "prov-10");
  assert_int_equal(f->rec.done_calls, 6);
  h->send_failed(ctx, &m[0], PARLEY_FAIL_REJECTED, NULL); /* nothing is pending any more */
  assert_int_equal(f->rec.done_calls, 6);
  plugin_instance_close(pi);
  assert_string_equal(plugin_fail_reason_name(PARLEY_FAIL_INVALID_ADDRESS), "invalid_address");
  assert_string_equal(plugin_fail_reason_name(PARLEY_FAIL_UNSUBSCRIBED), "unsubscribed");
  assert_string_equal(plugin_fail_reason_name(PARLEY_FAIL_BLOCKED), "blocked");
  assert_string_equal(plugin_fail_reason_name(PARLEY_FAIL_REJECTED), "rejected");
  assert_string_equal(plugin_fail_reason_name(PARLEY_FAIL_OTHER), "other");
}

/* --- ABI 1.0, kept --- */

/* Today's header lays out every 1.0 field where the 1.0 header did, and keeps every 1.0
 * constant: the structs only grew at the end. */
static void test_abi10_layout_kept(void **state)
{
  static const char *const host_names[] = {
#define X(f) #f,
      ABI10_HOST_FIELDS};
  static const size_t host_now[] = {
#undef X
#define X(f) offsetof(struct parley_host, f),
      ABI10_HOST_FIELDS};
  static const size_t plugin_now[] = {
#undef X
#define X(f) offsetof(struct parley_plugin, f),
      ABI10_PLUGIN_FIELDS};
  static const size_t spec_now[] = {
#undef X
#define X(f) offsetof(struct parley_config_spec, f),
      ABI10_SPEC_FIELDS};
#undef X
  const struct abi10_layout *old = &abi10_layout;
  for (size_t i = 0; i < sizeof host_now / sizeof host_now[0]; i++)
    if (host_now[i] != old->host_offsets[i])
      fail_msg("struct parley_host: %s moved from %zu to %zu", host_names[i], old->host_offsets[i],
               host_now[i]);
  for (size_t i = 0; i < sizeof plugin_now / sizeof plugin_now[0]; i++)
    assert_int_equal(plugin_now[i], old->plugin_offsets[i]);
  for (size_t i = 0; i < sizeof spec_now / sizeof spec_now[0]; i++)
    assert_int_equal(spec_now[i], old->spec_offsets[i]);
  assert_int_equal(old->spec_size, sizeof(struct parley_config_spec));
  assert_true(old->host_size <= sizeof(struct parley_host));
  assert_true(old->plugin_size <= sizeof(struct parley_plugin));
  assert_int_equal(old->plugin_size, PARLEY_PLUGIN_V1_SIZE);
  const int status_now[] = {PARLEY_OK, PARLEY_PENDING, PARLEY_RETRY, PARLEY_ERROR};
  const int levels_now[] = {PARLEY_LOG_DEBUG, PARLEY_LOG_INFO, PARLEY_LOG_WARN, PARLEY_LOG_ERROR};
  const int types_now[] = {PARLEY_CONFIG_STRING, PARLEY_CONFIG_INT, PARLEY_CONFIG_BOOL};
  assert_memory_equal(status_now, old->status_values, sizeof status_now);
  assert_memory_equal(levels_now, old->log_levels, sizeof levels_now);
  assert_memory_equal(types_now, old->config_types, sizeof types_now);
  assert_int_equal(old->caps[0], PARLEY_CAP_SEND);
  assert_int_equal(old->caps[1], PARLEY_CAP_RECEIPTS);
}

/* A plugin built against the 1.0 header loads and runs on this host: every accessor,
 * a timer and its cancel, a receipt and send_done, through the 1.0 layout. */
static void test_abi10_plugin_runs(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi = open_ok(f, "email", TEST_PLUGIN("abi10"), "{\"delay_ms\":2}");
  assert_int_equal(pi->desc->abi_minor, 0);
  assert_int_equal(pi->desc->size, abi10_layout.plugin_size);
  struct parley_msg m;
  msg_init(&m, "m-10");
  m.profile_json = "{\"email\":\"ann@example.com\",\"age\":7}";
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_PENDING);
  assert_int_equal(f->rec.done_calls, 0);
  ev_run(f->loop, 0); /* returns once the answer fired and cancelled its guard timer */
  assert_int_equal(f->rec.done_calls, 1);
  assert_int_equal(f->rec.done_status, PARLEY_OK);
  assert_ptr_equal(f->rec.done_msg, &m);
  assert_string_equal(f->rec.done_detail, "abi10-m-10");
  assert_int_equal(f->rec.events, 1);
  cJSON *ev = cJSON_Parse(f->rec.event);
  assert_non_null(ev);
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
  assert_string_equal(jstr(ev, "id"), "m-10:delivered");
  assert_string_equal(jstr(ev, "type"), "email.delivered");
  assert_string_equal(jstr(ev, "contact"), "c-42");
  assert_string_equal(jstr(data, "message_id"), "m-10");
  assert_string_equal(jstr(data, "address"), "ann@example.com");
  assert_string_equal(jstr(data, "journey"), "welcome");
  assert_string_equal(jstr(data, "template"), "hello");
  assert_string_equal(jstr(data, "email_attr"), "ann@example.com");
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(data, "attempt")), 1);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "has_text")));
  assert_true(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(data, "at")) ==
              (double)clock_now_ms(&f->clock));
  cJSON_Delete(ev);
  cJSON_Delete(m.profile);
  free(m.attr_text);
  plugin_instance_close(pi);
}

/* Closed with a 1.0 send pending: its timers are cancelled by the host, its shutdown
 * frees the rest, nothing fires afterwards (LeakSanitizer checks the freeing). */
static void test_abi10_plugin_closed_pending(void **state)
{
  struct fixture *f = *state;
  struct plugin_inst *pi = open_ok(f, "email", TEST_PLUGIN("abi10"), "{\"delay_ms\":60000}");
  struct parley_msg m;
  msg_init(&m, "m-11");
  assert_int_equal(plugin_instance_send(pi, &m), PARLEY_PENDING);
  plugin_instance_close(pi);
  ev_run(f->loop, EVRUN_NOWAIT);
  assert_int_equal(f->rec.done_calls, 0);
  assert_int_equal(f->rec.events, 0);
}

/* PARLEY_HOST_HAS and PARLEY_PLUGIN_HAS read the sizes: a field past `size` is absent,
 * and (for the host) so is a NULL one. */
static void test_has_macros(void **state)
{
  const struct parley_host *h = plugin_host_table();
  assert_int_equal(h->abi_major, 1);
  assert_int_equal(h->abi_minor, PARLEY_ABI_MINOR);
  assert_true(PARLEY_ABI_MINOR >= 1);
  assert_true(PARLEY_HOST_HAS(h, now_ms));
  struct parley_host old = *h; /* a 1.0 host: its table ends at now_ms */
  old.abi_minor = 0;
  old.size = (uint32_t)abi10_layout.host_size;
  assert_true(PARLEY_HOST_HAS(&old, now_ms));
  old.size = (uint32_t)offsetof(struct parley_host, now_ms);
  assert_false(PARLEY_HOST_HAS(&old, now_ms));
  old = *h;
  old.now_ms = NULL;
  assert_false(PARLEY_HOST_HAS(&old, now_ms));

  struct parley_plugin d = {.abi_major = 1, .size = PARLEY_PLUGIN_V1_SIZE};
  assert_true(PARLEY_PLUGIN_HAS(&d, shutdown)); /* NULL, but covered: the caller tests it */
  d.size = (uint32_t)offsetof(struct parley_plugin, shutdown);
  assert_false(PARLEY_PLUGIN_HAS(&d, shutdown));
  assert_true(PARLEY_PLUGIN_HAS(&d, send));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_refuses_bad_major, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_newer_minor, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_short_struct, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_no_entry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_init_fail, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_text_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_unknown_setting, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_wrong_type, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_missing_required, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuses_unopenable_output, setup, teardown),
      cmocka_unit_test_setup_teardown(test_find, setup, teardown),
      cmocka_unit_test_setup_teardown(test_find_in, setup, teardown),
      cmocka_unit_test_setup_teardown(test_file_plugin_writes_json_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_instances_of_one_plugin, setup, teardown),
      cmocka_unit_test_setup_teardown(test_file_plugin_long_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_file_plugin_receipts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_console_plugin, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_send_completes_later, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pending_send_retry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_cancels_timers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_contact_attr, setup, teardown),
      cmocka_unit_test_setup_teardown(test_outcomes_forwarded, setup, teardown),
      cmocka_unit_test(test_abi10_layout_kept),
      cmocka_unit_test_setup_teardown(test_abi10_plugin_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_abi10_plugin_closed_pending, setup, teardown),
      cmocka_unit_test(test_has_macros),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

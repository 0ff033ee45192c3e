/* Inbound routes and the signature helpers of ABI 1.1, through the host table a plugin
 * gets and the real `inbound` test plugin (tests/plugins/inbound.c) on a virtual clock:
 * HMAC-SHA256 against RFC 4231's test vectors, whole and in parts; verification of hex
 * and base64 signatures, and of everything that must not pass; the timestamp window;
 * decoding; registering routes (what is refused and said, naming the plugin and the
 * route) and serving them (answers copied, bad answers turned into failures, 405's
 * methods, a route refused once the instance is closing). The events the plugin emits
 * and the host's log lines are recorded here, standing in for the core. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "plugin/plugin_int.h"
#include "plugin/plugin_load.h"
#include "plugin/plugin_route.h"

#define INBOUND_SO PARLEY_BUILDDIR "/tests/plugins/.libs/inbound.so"
#define NOW_MS INT64_C(1700000000000)
/* "whsec_" and base64 of the 24 bytes "parley-inbound-secret-01" */
#define SECRET_B64 "cGFybGV5LWluYm91bmQtc2VjcmV0LTAx"
#define SECRET_RAW "parley-inbound-secret-01"

struct fixture {
  struct log log;
  struct clock clock;
  struct plugin_env env;
  struct plugin_inst *pi;
  const struct parley_host *host;
  int events;
  char event[1024];
  char logged[8192]; /* every record, one per line: "LEVEL msg k=v ..." */
};

static int rec_emit_event(void *ud, const char *json, size_t len, char *err, size_t errlen)
{
  struct fixture *f = ud;
  f->events++;
  snprintf(f->event, sizeof f->event, "%.*s", (int)len, json);
  return 0;
}

static void rec_log(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields)
{
  struct fixture *f = ud;
  size_t used = strlen(f->logged);
  used += (size_t)snprintf(f->logged + used, sizeof f->logged - used, "%s %s %s", log_level_name(lvl), subsys, msg);
  for (const char *k; used < sizeof f->logged && (k = va_arg(fields, const char *)) != NULL;)
    used += (size_t)snprintf(f->logged + used, sizeof f->logged - used, " %s=%s", k, va_arg(fields, const char *));
  if (used < sizeof f->logged)
    snprintf(f->logged + used, sizeof f->logged - used, "\n");
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  if (f == NULL || sodium_init() < 0)
    return -1;
  f->log = (struct log){LOG_DEBUG, rec_log, f};
  clock_init_virtual(&f->clock, NOW_MS);
  f->env = (struct plugin_env){.log = &f->log, .clock = &f->clock, .core = f, .emit_event = rec_emit_event};
  cJSON *s = cJSON_Parse("{\"secret\":\"whsec_" SECRET_B64 "\"}");
  char err[512];
  if (plugin_instance_open(&f->env, "sms", INBOUND_SO, s, &f->pi, err, sizeof err) != 0) {
    fprintf(stderr, "# %s\n", err);
    cJSON_Delete(s);
    return -1;
  }
  cJSON_Delete(s);
  f->host = plugin_host_table();
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  plugin_instance_close(f->pi);
  free(f);
  return 0;
}

/* --- HMAC-SHA256: RFC 4231, section 4 --- */

struct vector {
  const char *key_hex, *data_hex, *mac_hex;
  size_t mac_bytes; /* case 5 gives the first 128 bits only */
};

static const char KEY_131_AA[] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 131 bytes of 0xaa */

static const struct vector rfc4231[] = {
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32},
    {"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32},
    {"0102030405060708090a0b0c0d0e0f10111213141516171819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32},
    {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
     "a3b6167473100ee06e0c796c2955552b", 16},
    {KEY_131_AA,
     "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669"
     "727374",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32},
    {KEY_131_AA,
     "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920"
     "616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f"
     "20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32},
};

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
  size_t n = 0;
  assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0);
  return n;
}

static void test_hmac_rfc4231(void **state)
{
  struct fixture *f = *state;
  for (size_t i = 0; i < sizeof rfc4231 / sizeof rfc4231[0]; i++) {
    unsigned char key[200], data[200], want[32], mac[32];
    size_t klen = unhex(rfc4231[i].key_hex, key, sizeof key), dlen = unhex(rfc4231[i].data_hex, data, sizeof data);
    unhex(rfc4231[i].mac_hex, want, sizeof want);
    struct parley_bytes whole = {data, dlen};
    assert_int_equal(f->host->hmac_sha256(key, klen, &whole, 1, mac), PARLEY_OK);
    if (memcmp(mac, want, rfc4231[i].mac_bytes) != 0)
      fail_msg("RFC 4231 test case %zu: wrong MAC", i + 1);
    /* the same data in three parts, one of them empty, gives the same MAC */
    struct parley_bytes parts[] = {{data, dlen / 3}, {NULL, 0}, {data + dlen / 3, dlen - dlen / 3}};
    unsigned char again[32];
    assert_int_equal(f->host->hmac_sha256(key, klen, parts, 3, again), PARLEY_OK);
    assert_memory_equal(again, mac, 32);
    /* and the full-length ones verify as hex, either case */
    if (rfc4231[i].mac_bytes == 32) {
      char upper[65];
      for (size_t k = 0; k < 64; k++)
        upper[k] = (char)(rfc4231[i].mac_hex[k] >= 'a' ? rfc4231[i].mac_hex[k] - 32 : rfc4231[i].mac_hex[k]);
      upper[64] = '\0';
      assert_int_equal(f->host->hmac_sha256_verify(key, klen, parts, 3, rfc4231[i].mac_hex, 64, PARLEY_ENC_HEX),
                       PARLEY_OK);
      assert_int_equal(f->host->hmac_sha256_verify(key, klen, &whole, 1, upper, 64, PARLEY_ENC_HEX), PARLEY_OK);
    }
  }
}

static void test_hmac_refuses_what_is_not_a_key_or_data(void **state)
{
  struct fixture *f = *state;
  unsigned char mac[32];
  struct parley_bytes d = {"x", 1}, broken = {NULL, 3};
  memset(mac, 0x55, sizeof mac);
  assert_int_equal(f->host->hmac_sha256("", 0, &d, 1, mac), PARLEY_ERROR);
  for (size_t i = 0; i < sizeof mac; i++)
    assert_int_equal(mac[i], 0); /* zeroed, never a usable-looking MAC */
  assert_int_equal(f->host->hmac_sha256(NULL, 4, &d, 1, mac), PARLEY_ERROR);
  assert_int_equal(f->host->hmac_sha256("k", 1, NULL, 0, mac), PARLEY_ERROR);
  assert_int_equal(f->host->hmac_sha256("k", 1, &broken, 1, mac), PARLEY_ERROR);
}

/* RFC 4231 case 2 ("Jefe"), in every encoding, and what must fail. */
static void test_verify_encodings_and_forgeries(void **state)
{
  struct fixture *f = *state;
  const char *hex = rfc4231[1].mac_hex;
  unsigned char mac[32];
  unhex(hex, mac, sizeof mac);
  char b64[64], b64url[64];
  sodium_bin2base64(b64, sizeof b64, mac, 32, sodium_base64_VARIANT_ORIGINAL);
  sodium_bin2base64(b64url, sizeof b64url, mac, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  struct parley_bytes d = {"what do ya want for nothing?", 28};
  const struct parley_host *h = f->host;
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, b64, strlen(b64), PARLEY_ENC_BASE64), PARLEY_OK);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, b64, strlen(b64) - 1, PARLEY_ENC_BASE64), PARLEY_OK);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, b64url, strlen(b64url), PARLEY_ENC_BASE64URL), PARLEY_OK);
  /* forgeries and malformed signatures */
  char bad[65];
  snprintf(bad, sizeof bad, "%s", hex);
  bad[10] = bad[10] == '0' ? '1' : '0';
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, bad, 64, PARLEY_ENC_HEX), PARLEY_ERROR);
  assert_int_equal(h->hmac_sha256_verify("Jeff", 4, &d, 1, hex, 64, PARLEY_ENC_HEX), PARLEY_ERROR);
  struct parley_bytes other = {"what do ya want for nothing!", 28};
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &other, 1, hex, 64, PARLEY_ENC_HEX), PARLEY_ERROR);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, hex, 62, PARLEY_ENC_HEX), PARLEY_ERROR);  /* 31 bytes */
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, hex, 63, PARLEY_ENC_HEX), PARLEY_ERROR);  /* odd */
  snprintf(bad, sizeof bad, "%s00", hex);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, bad, 66, PARLEY_ENC_HEX), PARLEY_ERROR);  /* 33 bytes */
  snprintf(bad, sizeof bad, "%.63s ", hex);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, bad, 64, PARLEY_ENC_HEX), PARLEY_ERROR);  /* a space */
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, hex, 64, PARLEY_ENC_BASE64), PARLEY_ERROR); /* wrong enc */
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, b64, strlen(b64), PARLEY_ENC_HEX), PARLEY_ERROR);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, NULL, 0, PARLEY_ENC_HEX), PARLEY_ERROR);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, "", 0, PARLEY_ENC_HEX), PARLEY_ERROR);
  assert_int_equal(h->hmac_sha256_verify("", 0, &d, 1, hex, 64, PARLEY_ENC_HEX), PARLEY_ERROR);
  assert_int_equal(h->hmac_sha256_verify("Jefe", 4, &d, 1, hex, 64, (enum parley_encoding)9), PARLEY_ERROR);
}

static void test_decode(void **state)
{
  struct fixture *f = *state;
  unsigned char out[64];
  size_t n = 99;
  assert_int_equal(f->host->decode(SECRET_B64, strlen(SECRET_B64), PARLEY_ENC_BASE64, out, sizeof out, &n), PARLEY_OK);
  assert_int_equal(n, strlen(SECRET_RAW));
  assert_memory_equal(out, SECRET_RAW, n);
  assert_int_equal(f->host->decode("00ff", 4, PARLEY_ENC_HEX, out, sizeof out, &n), PARLEY_OK);
  assert_int_equal(n, 2);
  assert_int_equal(out[1], 0xff);
  assert_int_equal(f->host->decode("00ff", 4, PARLEY_ENC_HEX, out, 1, &n), PARLEY_ERROR); /* no room */
  assert_int_equal(f->host->decode("zz", 2, PARLEY_ENC_HEX, out, sizeof out, &n), PARLEY_ERROR);
  assert_int_equal(n, 0);
  assert_int_equal(f->host->decode("a+b/", 4, PARLEY_ENC_BASE64URL, out, sizeof out, &n), PARLEY_ERROR);
  assert_int_equal(f->host->decode("a-b_", 4, PARLEY_ENC_BASE64URL, out, sizeof out, &n), PARLEY_OK);
}

static void test_timestamp_window(void **state)
{
  struct fixture *f = *state;
  parley_ctx *ctx = plugin_ctx(f->pi);
  const struct parley_host *h = f->host;
  assert_int_equal(h->timestamp_check(ctx, "1700000000", 300), PARLEY_OK);
  assert_int_equal(h->timestamp_check(ctx, "1699999700", 300), PARLEY_OK);    /* 300 s ago */
  assert_int_equal(h->timestamp_check(ctx, "1699999699", 300), PARLEY_ERROR); /* 301 s ago: a replay */
  assert_int_equal(h->timestamp_check(ctx, "1700000300", 300), PARLEY_OK);
  assert_int_equal(h->timestamp_check(ctx, "1700000301", 300), PARLEY_ERROR); /* from the future */
  assert_int_equal(h->timestamp_check(ctx, "1699999699", 0), PARLEY_ERROR);   /* 0 is 300 */
  assert_int_equal(h->timestamp_check(ctx, "1699999701", 0), PARLEY_OK);
  assert_int_equal(h->timestamp_check(ctx, "1699999000", 1000), PARLEY_OK);
  static const char *const junk[] = {"", "-1700000000", "+1700000000", "1700000000.5", " 1700000000",
                                     "1700000000x", "0x6553f100", "1700000000000" /* ms: 13 digits */};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
    if (h->timestamp_check(ctx, junk[i], 300) != PARLEY_ERROR)
      fail_msg("timestamp '%s' accepted", junk[i]);
  assert_int_equal(h->timestamp_check(ctx, NULL, 300), PARLEY_ERROR);
  assert_int_equal(h->timestamp_check(NULL, "1700000000", 300), PARLEY_ERROR);
  f->clock.virtual_ms += 3600 * 1000; /* an hour later, the same request is stale */
  assert_int_equal(h->timestamp_check(ctx, "1700000000", 300), PARLEY_ERROR);
}

/* --- routes --- */

static void nothing(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
}

static void test_route_add_refusals_name_plugin_and_route(void **state)
{
  struct fixture *f = *state;
  parley_ctx *ctx = plugin_ctx(f->pi);
  /* init's own duplicate and malformed path were refused and said so */
  assert_non_null(strstr(f->logged, "ERROR plugin:sms route refused plugin=inbound route=POST /v1/channels/sms/events "
                                    "reason=this method and path are registered already"));
  assert_non_null(strstr(f->logged, "route=POST /v1/channels/sms/../etc reason=the path has an empty, '.' or '..'"));
  static const char *const bad_paths[] = {"", "/", "events", "/a//b", "/a/", "/a%20b", "/a b", "/./x",
                                          "/a?b", "/a#b", "/é"};
  for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++)
    if (f->host->route_add(ctx, "POST", bad_paths[i], nothing, NULL) != PARLEY_ERROR)
      fail_msg("path '%s' accepted", bad_paths[i]);
  assert_int_equal(f->host->route_add(ctx, "POST", NULL, nothing, NULL), PARLEY_ERROR);
  assert_int_equal(f->host->route_add(ctx, "post", "/x", nothing, NULL), PARLEY_ERROR);
  assert_int_equal(f->host->route_add(ctx, "HEAD", "/x", nothing, NULL), PARLEY_ERROR);
  assert_int_equal(f->host->route_add(ctx, "PO ST", "/x", nothing, NULL), PARLEY_ERROR);
  assert_int_equal(f->host->route_add(ctx, "POST", "/x", NULL, NULL), PARLEY_ERROR);
  assert_int_equal(f->host->route_add(ctx, "GET", "/status", nothing, NULL), PARLEY_ERROR);
  assert_non_null(strstr(f->logged, "route=HEAD /v1/channels/sms/x reason=HEAD is answered by the GET route"));
  assert_non_null(strstr(f->logged, "route=POST /v1/channels/sms/x reason=no handler given"));
}

/* Serves method+path with the instance; returns what it found, the answer in *a. */
static enum plugin_route_found serve(struct fixture *f, const char *method, const char *path, const char *query,
                                     const struct parley_http_header *hdrs, size_t n, const char *body,
                                     struct plugin_route_answer *a, char *allow)
{
  struct parley_route_req req = {.method = method, .path = path, .query = query ? query : "", .headers = hdrs,
                                 .n_headers = n, .body = body ? body : "", .body_len = body ? strlen(body) : 0,
                                 .peer = "127.0.0.1"};
  return plugin_route_serve(f->pi, &req, a, allow, 128);
}

static void test_route_answers_and_bad_answers(void **state)
{
  struct fixture *f = *state;
  struct plugin_route_answer a;
  char allow[128] = "";
  assert_int_equal(serve(f, "GET", "/status", NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_SERVED);
  assert_false(a.failed);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.type, "application/json");
  assert_int_equal(a.n_headers, 1); /* Content-Type is the type, not a second header */
  assert_string_equal(a.headers, "X-Handled-By");
  assert_string_equal(a.headers + strlen("X-Handled-By") + 1, "inbound");
  assert_int_equal(a.body_len, 4);
  assert_memory_equal(a.body, "\"ok\"", 4);
  plugin_route_answer_free(&a);
  assert_int_equal(serve(f, "GET", "/events", NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_OTHER_METHOD);
  assert_string_equal(allow, "POST");
  assert_int_equal(serve(f, "POST", "/status", NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_OTHER_METHOD);
  assert_string_equal(allow, "GET, HEAD");
  assert_int_equal(serve(f, "GET", "/nothing", NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_NO_PATH);
  assert_int_equal(serve(f, "GET", "/Status", NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_NO_PATH);
  static const struct {
    const char *path, *logged;
  } bad[] = {
      {"/bad-status", "route=GET /v1/channels/sms/bad-status reason=status 42 is not an answer (200..599)"},
      {"/bad-header", "route=GET /v1/channels/sms/bad-header reason=the value of header 'X-Evil' holds CR, LF"},
      {"/silent", "route handler returned without an answer, the client gets 500 plugin=inbound "
                  "route=GET /v1/channels/sms/silent"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(serve(f, "GET", bad[i].path, NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_SERVED);
    assert_true(a.failed);
    assert_null(a.body);
    if (strstr(f->logged, bad[i].logged) == NULL)
      fail_msg("no log line \"%s\" in:\n%s", bad[i].logged, f->logged);
  }
  /* an answer from outside a handler is refused: nothing runs */
  struct parley_route_req stale = {.size = sizeof stale, .method = "GET", .path = "/status"};
  struct parley_route_resp resp = {.size = sizeof resp, .status = 200};
  assert_int_equal(f->host->route_answer(plugin_ctx(f->pi), &stale, &resp), PARLEY_ERROR);
  assert_non_null(strstr(f->logged, "route answer ignored plugin=inbound reason=not the request of the running handler"));
  assert_int_equal(f->pi->calls, 0);
}

static void mark(parley_ctx *ctx, const struct parley_route_req *req, void *arg)
{
  *(int *)arg = 1;
}

/* A last segment "*" takes any one segment of unreserved characters there (a signed
 * token in a link), and nothing a client could spell another way. */
static void test_route_last_segment_any(void **state)
{
  struct fixture *f = *state;
  parley_ctx *ctx = plugin_ctx(f->pi);
  struct plugin_route_answer a;
  char allow[128] = "";
  assert_int_equal(f->host->route_add(ctx, "GET", "/t/*", nothing, NULL), PARLEY_OK);
  assert_int_equal(f->host->route_add(ctx, "GET", "/t/*", nothing, NULL), PARLEY_ERROR); /* twice */
  static const char *const bad[] = {"/t/*/x", "/t*", "/t/x*", "/**"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (f->host->route_add(ctx, "GET", bad[i], nothing, NULL) != PARLEY_ERROR)
      fail_msg("path '%s' accepted", bad[i]);
  static const char *const taken[] = {"/t/abc", "/t/aGVsbG8-_x.~", "/t/x"};
  for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
    assert_int_equal(serve(f, "GET", taken[i], NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_SERVED);
    plugin_route_answer_free(&a);
  }
  static const char *const not_taken[] = {"/t", "/t/", "/t/a/b", "/t/a%20b", "/t/..", "/t/.", "/u/abc"};
  for (size_t i = 0; i < sizeof not_taken / sizeof not_taken[0]; i++)
    if (serve(f, "GET", not_taken[i], NULL, NULL, 0, NULL, &a, allow) != PLUGIN_ROUTE_NO_PATH)
      fail_msg("path '%s' served", not_taken[i]);
  assert_int_equal(serve(f, "POST", "/t/abc", NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_OTHER_METHOD);
  assert_string_equal(allow, "GET, HEAD");
  /* a fixed path beside it wins, whatever the order they were added in */
  int fixed = 0;
  assert_int_equal(f->host->route_add(ctx, "GET", "/t/fixed", mark, &fixed), PARLEY_OK);
  assert_int_equal(serve(f, "GET", "/t/fixed", NULL, NULL, 0, NULL, &a, allow), PLUGIN_ROUTE_SERVED);
  plugin_route_answer_free(&a);
  assert_int_equal(fixed, 1);
}

/* The plugin's POST /events, signed as Standard Webhooks signs: accepted once, with an
 * event; a forged or stale one refused 401, without. */
static void test_signed_callback(void **state)
{
  struct fixture *f = *state;
  const char *body = "{\"text\":\"yes\"}";
  char ts[32], sig[128], b64[64];
  unsigned char mac[32];
  snprintf(ts, sizeof ts, "%lld", (long long)(NOW_MS / 1000));
  struct parley_bytes parts[] = {{"msg_1", 5}, {".", 1}, {ts, strlen(ts)}, {".", 1}, {body, strlen(body)}};
  assert_int_equal(f->host->hmac_sha256(SECRET_RAW, strlen(SECRET_RAW), parts, 5, mac), PARLEY_OK);
  sodium_bin2base64(b64, sizeof b64, mac, 32, sodium_base64_VARIANT_ORIGINAL);
  snprintf(sig, sizeof sig, "v1,bm90IGl0 v1,%s", b64); /* a rotated-out signature first */
  struct parley_http_header h[] = {{"Webhook-Id", "msg_1"}, {"Webhook-Timestamp", ts}, {"Webhook-Signature", sig}};
  struct plugin_route_answer a;
  char allow[128];
  assert_int_equal(serve(f, "POST", "/events", "contact=c1", h, 3, body, &a, allow), PLUGIN_ROUTE_SERVED);
  assert_int_equal(a.status, 200);
  plugin_route_answer_free(&a);
  assert_int_equal(f->events, 1);
  assert_string_equal(f->event, "{\"id\":\"msg_1\",\"type\":\"sms.replied\",\"contact\":\"c1\",\"data\":{\"text\":\"yes\"}}");
  /* the body changed by one byte */
  assert_int_equal(serve(f, "POST", "/events", "contact=c1", h, 3, "{\"text\":\"no!\"}", &a, allow),
                   PLUGIN_ROUTE_SERVED);
  assert_int_equal(a.status, 401);
  plugin_route_answer_free(&a);
  /* ten minutes later, the same request is a replay */
  f->clock.virtual_ms += 600 * 1000;
  assert_int_equal(serve(f, "POST", "/events", "contact=c1", h, 3, body, &a, allow), PLUGIN_ROUTE_SERVED);
  assert_int_equal(a.status, 401);
  assert_non_null(strstr(a.body, "stale"));
  plugin_route_answer_free(&a);
  assert_int_equal(f->events, 1);
}

/* Closing: shutdown's route_add is refused and said, and the routes are gone. */
static void test_no_route_once_closing(void **state)
{
  struct fixture *f = *state;
  plugin_instance_close(f->pi);
  f->pi = NULL;
  assert_non_null(strstr(f->logged, "route=GET /v1/channels/sms/late reason=the instance is shutting down"));
  assert_non_null(strstr(f->logged, "late route refused"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_hmac_rfc4231, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hmac_refuses_what_is_not_a_key_or_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_verify_encodings_and_forgeries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_decode, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timestamp_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_route_add_refusals_name_plugin_and_route, setup, teardown),
      cmocka_unit_test_setup_teardown(test_route_last_segment_any, setup, teardown),
      cmocka_unit_test_setup_teardown(test_route_answers_and_bad_answers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_signed_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_route_once_closing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

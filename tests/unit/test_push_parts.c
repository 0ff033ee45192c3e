/* The push plugin's parts that need no FCM, built into this test from the plugin's own
 * sources: the service account's key file read and refused (each wrong field named, never
 * a byte of the key in the reason), the OAuth assertion (a JWT whose RS256 signature
 * verifies against the test's own key, with Google's claims), what each FCM answer means,
 * and the plugin's check (what c:speak returns) through its descriptor, with a host table
 * of the test's own; the access token asked for once for a burst, kept, renewed ahead of
 * its expiry, with a host whose clock and token endpoint the test drives. The plugin as a whole runs in the daemon in integration/test_push.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push.h"

/* A key of the test's own as PKCS#8 PEM (what Google's key files hold); *pkey keeps it. */
static char *make_pem(EVP_PKEY *k)
{
  BIO *b = BIO_new(BIO_s_mem());
  char *data, *out;
  assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
  long n = BIO_get_mem_data(b, &data);
  out = strndup(data, (size_t)n);
  BIO_free(b);
  return out;
}

/* A key file's JSON with `pem` as its private_key; `drop` names a field left out. */
static char *key_file(const char *pem, const char *type, const char *drop)
{
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "type", type);
  cJSON_AddStringToObject(doc, "project_id", "shop-test");
  cJSON_AddStringToObject(doc, "private_key_id", "kid-1");
  cJSON_AddStringToObject(doc, "private_key", pem);
  cJSON_AddStringToObject(doc, "client_email", "parley@shop-test.iam.gserviceaccount.com");
  cJSON_AddStringToObject(doc, "token_uri", "https://oauth2.googleapis.com/token");
  if (drop)
    cJSON_DeleteItemFromObject(doc, drop);
  char *out = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return out;
}

/* base64url text [s, s+n) decoded into a NUL-terminated malloc'd buffer (*len bytes). */
static unsigned char *unb64(const char *s, size_t n, size_t *len)
{
  unsigned char *out = calloc(1, n + 1);
  assert_int_equal(sodium_base642bin(out, n + 1, s, n, NULL, len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
  return out;
}

static void test_assertion_verifies_with_the_key(void **state)
{
  (void)state;
  EVP_PKEY *k = EVP_RSA_gen(2048);
  char *pem = make_pem(k), *file = key_file(pem, "service_account", NULL), why[256];
  struct push_key *key;
  assert_int_equal(push_key_read(file, &key, why, sizeof why), 0);
  assert_string_equal(push_key_project(key), "shop-test");
  char *jwt = push_key_assertion(key, PUSH_SCOPE, 1800000000);
  assert_non_null(jwt);
  char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  assert_non_null(dot2);
  size_t hl, cl, sl;
  unsigned char *head = unb64(jwt, (size_t)(dot1 - jwt), &hl), *claims = unb64(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl);
  unsigned char *sig = unb64(dot2 + 1, strlen(dot2 + 1), &sl);
  cJSON *h = cJSON_Parse((char *)head), *c = cJSON_Parse((char *)claims);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(h, "alg")), "RS256");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(h, "kid")), "kid-1");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "iss")), "parley@shop-test.iam.gserviceaccount.com");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "aud")), "https://oauth2.googleapis.com/token");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(c, "scope")), PUSH_SCOPE);
  assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "iat")), 1800000000);
  assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "exp")), 1800003600);
  /* RS256 over "header.claims", with the public half of the test's key */
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
  assert_int_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
  sig[0] ^= 1; /* and a signature changed by one bit does not verify */
  EVP_MD_CTX_free(md);
  md = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
  assert_int_not_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
  EVP_MD_CTX_free(md);
  cJSON_Delete(h);
  cJSON_Delete(c);
  free(head);
  free(claims);
  free(sig);
  free(jwt);
  push_key_free(key);
  free(file);
  free(pem);
  EVP_PKEY_free(k);
}

/* Refused: `why` says so, names the field, and quotes nothing of the key. */
static void refused(const char *file, const char *says)
{
  char why[256];
  struct push_key *key = (struct push_key *)1;
  assert_int_equal(push_key_read(file, &key, why, sizeof why), -1);
  assert_null(key);
  if (!strstr(why, says))
    fail_msg("'%s', want '%s'", why, says);
  assert_null(strstr(why, "BEGIN"));
  assert_null(strstr(why, "MII"));
}

static void test_bad_key_files_are_named(void **state)
{
  (void)state;
  EVP_PKEY *rsa = EVP_RSA_gen(2048), *small = EVP_RSA_gen(1024), *ec = EVP_EC_gen("P-256");
  char *pem = make_pem(rsa), *small_pem = make_pem(small), *ec_pem = make_pem(ec);
  char *files[] = {key_file(pem, "authorized_user", NULL), key_file(pem, "service_account", "client_email"),
                   key_file(pem, "service_account", "project_id"), key_file("-----BEGIN PRIVATE KEY-----\nMIIzzz\n-----END PRIVATE KEY-----\n", "service_account", NULL),
                   key_file(small_pem, "service_account", NULL), key_file(ec_pem, "service_account", NULL)};
  refused("{not json", "the key file is not a JSON object");
  refused(files[0], "field 'type' must be \"service_account\"");
  refused(files[1], "field 'client_email' is missing");
  refused(files[2], "field 'project_id' is missing");
  refused(files[3], "field 'private_key' is not a PEM private key");
  refused(files[4], "field 'private_key' is not an RSA key of at least 2048 bits");
  refused(files[5], "field 'private_key' is not an RSA key of at least 2048 bits");
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    free(files[i]);
  free(pem);
  free(small_pem);
  free(ec_pem);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(small);
  EVP_PKEY_free(ec);
}

static enum push_outcome answer(int status, const char *body, const char *retry, struct push_answer *a)
{
  push_fcm_answer(status, body, strlen(body), retry, a);
  return a->outcome;
}

#define FCM_ERR(code, status, http, extra)                                                                    \
  "{\"error\":{\"code\":" #http ",\"message\":\"m\",\"status\":\"" status "\",\"details\":[{\"@type\":"     \
  "\"type.googleapis.com/google.firebase.fcm.v1.FcmError\",\"errorCode\":\"" code "\"}" extra "]}}"
#define ON_TOKEN                                                                                             \
  ",{\"@type\":\"type.googleapis.com/google.rpc.BadRequest\",\"fieldViolations\":[{\"field\":\"message.token\"," \
  "\"description\":\"Invalid registration token\"}]}"

static void test_fcm_answers(void **state)
{
  (void)state;
  struct push_answer a;
  assert_int_equal(answer(200, "{\"name\":\"projects/shop-test/messages/0:17\"}", NULL, &a), PUSH_SENT);
  assert_string_equal(a.id, "projects/shop-test/messages/0:17");
  assert_int_equal(answer(404, FCM_ERR("UNREGISTERED", "NOT_FOUND", 404, ""), NULL, &a), PUSH_BAD_TOKEN);
  assert_string_equal(a.code, "UNREGISTERED");
  assert_int_equal(answer(400, FCM_ERR("INVALID_ARGUMENT", "INVALID_ARGUMENT", 400, ON_TOKEN), NULL, &a), PUSH_BAD_TOKEN);
  assert_int_equal(answer(400, FCM_ERR("INVALID_ARGUMENT", "INVALID_ARGUMENT", 400, ""), NULL, &a), PUSH_REJECTED);
  assert_int_equal(answer(403, FCM_ERR("SENDER_ID_MISMATCH", "PERMISSION_DENIED", 403, ""), NULL, &a), PUSH_BAD_TOKEN);
  assert_int_equal(answer(429, FCM_ERR("QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED", 429, ""), "30", &a), PUSH_RETRY);
  assert_int_equal(a.retry_after_ms, 30000);
  assert_int_equal(answer(503, FCM_ERR("UNAVAILABLE", "UNAVAILABLE", 503, ""), "Wed, 21 Oct 2015 07:28:00 GMT", &a), PUSH_RETRY);
  assert_int_equal(a.retry_after_ms, 0);
  assert_int_equal(answer(500, FCM_ERR("INTERNAL", "INTERNAL", 500, ""), NULL, &a), PUSH_RETRY);
  assert_int_equal(answer(401, "{\"error\":{\"code\":401,\"status\":\"UNAUTHENTICATED\"}}", NULL, &a), PUSH_AUTH);
  assert_int_equal(answer(401, FCM_ERR("THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED", 401, ""), NULL, &a), PUSH_RETRY);
  assert_int_equal(answer(502, "<html>bad gateway</html>", NULL, &a), PUSH_RETRY); /* garbage */
  assert_string_equal(a.detail, "FCM answered HTTP 502 without a JSON error");
  assert_int_equal(answer(400, "garbage", NULL, &a), PUSH_REJECTED);
}

/* A message as the test's host gives it: its parts and the journey's options. */
struct fake_msg {
  const char *subject, *text;
  const char *opts[8][2];
};

static const char *fake_part(const parley_msg *msg, const char *part)
{
  const struct fake_msg *m = (const void *)msg;
  return strcmp(part, "subject") == 0 ? m->subject : strcmp(part, "text") == 0 ? m->text : NULL;
}

static const char *fake_option(const parley_msg *msg, const char *key)
{
  const struct fake_msg *m = (const void *)msg;
  for (size_t i = 0; i < 8 && m->opts[i][0]; i++)
    if (strcmp(m->opts[i][0], key) == 0)
      return m->opts[i][1];
  return NULL;
}

static const char *fake_id(const parley_msg *msg)
{
  (void)msg;
  return "0123456789abcdef0123456789abcdef";
}

/* The contact's devices, as the test's check sees them: one Android phone, unless a test
 * says otherwise. */
static const char *fake_devices = "{\"t1\":{\"platform\":\"android\"}}";

static const char *fake_attr(const parley_msg *msg, const char *key)
{
  (void)msg;
  return strcmp(key, "devices") == 0 ? fake_devices : NULL;
}

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);

/* The descriptor's check on `m`, for a channel with FCM (fcm) and APNs (apns). check only
 * asks whether each provider is there, so a stand-in for the keys will do. */
static enum parley_status checked_with(const struct fake_msg *m, int fcm, int apns, char *info, size_t cap)
{
  static struct parley_host host = {.abi_major = PARLEY_ABI_MAJOR, .abi_minor = PARLEY_ABI_MINOR,
                                    .size = sizeof(struct parley_host), .msg_part = fake_part,
                                    .msg_option = fake_option, .msg_id = fake_id, .msg_contact_attr = fake_attr};
  static char stand_in;
  const struct parley_plugin *p = parley_plugin_entry(&host);
  struct push s = {.host = &host, .priority = "high", .ttl_ms = 3600000,
                   .key = fcm ? (struct push_key *)(void *)&stand_in : NULL,
                   .apns = apns ? (struct push_apns_key *)(void *)&stand_in : NULL};
  info[0] = '\0';
  return p->check(NULL, &s, (const parley_msg *)(const void *)m, info, cap);
}

static enum parley_status checked(const struct fake_msg *m, char *info, size_t cap)
{
  return checked_with(m, 1, 0, info, cap);
}

/* The sound and badge options, checked, and where they go; a channel with APNs alone
 * refuses at speak time a contact it cannot reach. */
static void test_sound_badge_and_reach(void **state)
{
  (void)state;
  char info[300];
  struct fake_msg m = {"t", "b", {{"sound", "chime.caf"}, {"badge", "3"}}};
  assert_int_equal(checked_with(&m, 1, 1, info, sizeof info), PARLEY_OK);
  struct fake_msg bad_sound = {"t", "b", {{"sound", "../x"}}}, bad_badge = {"t", "b", {{"badge", "-1"}}};
  assert_int_equal(checked(&bad_sound, info, sizeof info), PARLEY_ERROR);
  assert_non_null(strstr(info, "the sound option must name a sound file of the app"));
  assert_int_equal(checked(&bad_badge, info, sizeof info), PARLEY_ERROR);
  assert_non_null(strstr(info, "the badge option must be a whole number from 0 to 99999"));
  assert_int_equal(checked_with(&m, 0, 1, info, sizeof info), PARLEY_ERROR); /* an Android phone, no FCM */
  assert_string_equal(info, "the contact has no device this channel reaches (its Android and web devices need "
                            "service_account, for FCM)");
  fake_devices = "{\"t1\":{\"platform\":\"android\"},\"t2\":{\"platform\":\"ios\"}}";
  assert_int_equal(checked_with(&m, 0, 1, info, sizeof info), PARLEY_OK); /* the iPhone, through APNs */
  fake_devices = "{\"t1\":{\"platform\":\"android\"}}";

  static struct parley_host host = {.abi_major = PARLEY_ABI_MAJOR, .abi_minor = PARLEY_ABI_MINOR,
                                    .size = sizeof(struct parley_host), .msg_part = fake_part,
                                    .msg_option = fake_option, .msg_id = fake_id};
  struct push s = {.host = &host, .priority = "high", .ttl_ms = 60000};
  char why[200];
  cJSON *fcm = push_fcm_message(&s, (const parley_msg *)(const void *)&m, why, sizeof why);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
                          cJSON_GetObjectItem(cJSON_GetObjectItem(fcm, "android"), "notification"), "sound")),
                      "chime.caf");
  cJSON *aps = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(fcm, "apns"), "payload"), "aps");
  assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(aps, "badge")), 3);
  struct push_apns_req r;
  assert_int_equal(push_apns_prepare(fcm, fake_id(NULL), 1800000000, &r, why, sizeof why), 0);
  assert_non_null(strstr(r.body, "\"sound\":\"chime.caf\""));
  assert_non_null(strstr(r.body, "\"badge\":3"));
  push_apns_req_free(&r);
  cJSON_Delete(fcm);
}

static void test_check_builds_and_measures(void **state)
{
  (void)state;
  char info[300];
  struct fake_msg ok = {"Your cart", "2 items wait for you", {{"image", "https://cdn.example/x.png"}, {"link", "shop://cart"}, {"data", "{\"cart\":\"42\"}"}, {"ttl", "2h"}, {"collapse_key", "cart"}}};
  assert_int_equal(checked(&ok, info, sizeof info), PARLEY_OK);
  assert_non_null(strstr(info, "{\"payload_bytes\":"));
  static const struct {
    struct fake_msg m;
    const char *says;
  } bad[] = {
      {{NULL, "", {{NULL, NULL}}}, "the message has no title (template .subject), body (.txt) nor data to send"},
      {{"t", "b", {{"image", "http://cdn.example/x.png"}}}, "the image option must be an https:// URL"},
      {{"t", "b", {{"data", "[1]"}}}, "the data option must be a JSON object of text values"},
      {{"t", "b", {{"data", "{\"n\":1}"}}}, "the data option's values must all be text"},
      {{"t", "b", {{"data", "{\"google.x\":\"1\"}"}}}, "the data option uses a key FCM or Parley reserves"},
      {{"t", "b", {{"ttl", "29d"}}}, "the ttl option must be seconds or a duration"},
      {{"t", "b", {{"ttl", "1w"}}}, "the ttl option must be seconds or a duration"},
      {{"t", "b", {{"priority", "urgent"}}}, "the priority option must be \"high\" or \"normal\""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(checked(&bad[i].m, info, sizeof info), PARLEY_ERROR);
    if (!strstr(info, bad[i].says))
      fail_msg("%zu: '%s', want '%s'", i, info, bad[i].says);
  }
  char *big = malloc(4200);
  memset(big, 'x', 4199);
  big[4199] = '\0';
  struct fake_msg large = {"t", big, {{NULL, NULL}}};
  assert_int_equal(checked(&large, info, sizeof info), PARLEY_ERROR);
  assert_non_null(strstr(info, "more than FCM's 4096"));
  big[3900] = '\0';
  assert_int_equal(checked(&large, info, sizeof info), PARLEY_OK);
  free(big);
}

/* The request body: the message, its token, the Android options as FCM spells them. */
static void test_body_for_a_device(void **state)
{
  (void)state;
  static struct parley_host host = {.abi_major = PARLEY_ABI_MAJOR, .abi_minor = PARLEY_ABI_MINOR,
                                    .size = sizeof(struct parley_host), .msg_part = fake_part,
                                    .msg_option = fake_option, .msg_id = fake_id};
  struct push s = {.host = &host, .priority = "normal", .ttl_ms = 86400000};
  struct fake_msg m = {"Hi", "there", {{"link", "https://shop.example/cart"}}};
  char why[200];
  cJSON *msg = push_fcm_message(&s, (const parley_msg *)(const void *)&m, why, sizeof why);
  assert_non_null(msg);
  char *body = push_fcm_body(msg, "tok-1", "android");
  cJSON *doc = cJSON_Parse(body), *mm = cJSON_GetObjectItem(doc, "message");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(mm, "token")), "tok-1");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(mm, "notification"), "title")), "Hi");
  cJSON *android = cJSON_GetObjectItem(mm, "android"), *data = cJSON_GetObjectItem(mm, "data");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(android, "priority")), "NORMAL");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(android, "ttl")), "86400s");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(data, "link")), "https://shop.example/cart");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(data, "parley_message_id")), fake_id(NULL));
  cJSON_Delete(doc);
  cJSON_Delete(msg);
  free(body);
}

/* The token endpoint as the test's host plays it: the requests made, answered by hand. */
static struct {
  int64_t now_ms;
  int asked;            /* token requests made */
  parley_http_cb cb;    /* the last one's callback */
  void *arg;
  int got, failed;      /* callbacks of the waiting sends */
  char bearer[64];
} T;

static int64_t t_now(parley_ctx *ctx)
{
  (void)ctx;
  return T.now_ms;
}

static parley_http *t_request(parley_ctx *ctx, const struct parley_http_req *req, parley_http_cb cb, void *arg)
{
  (void)ctx;
  assert_string_equal(req->url, "https://oauth2.googleapis.com/token");
  assert_non_null(strstr(req->body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=ey"));
  T.asked++;
  T.cb = cb;
  T.arg = arg;
  return (parley_http *)&T;
}

static void t_log(parley_ctx *ctx, enum parley_log_level level, const char *msg, ...)
{
  (void)ctx;
  (void)level;
  (void)msg;
}

static void t_answer(int status, const char *body)
{
  struct parley_http_resp r = {.size = sizeof r, .status = status, .body = body, .body_len = strlen(body)};
  parley_http_cb cb = T.cb;
  T.cb = NULL;
  cb(NULL, &r, T.arg);
}

static void t_token(struct push *p, const char *bearer, const char *error, void *arg)
{
  (void)p;
  (void)arg;
  if (error) {
    T.failed++;
    return;
  }
  T.got++;
  snprintf(T.bearer, sizeof T.bearer, "%s", bearer);
}

/* One token request for a burst of sends, the token kept until five minutes before it
 * expires, renewed then in the background (the old one still used), kept when a renewal
 * fails, and waited for again once it has expired. */
static void test_access_token_cached_and_renewed(void **state)
{
  (void)state;
  struct parley_host host = {.abi_major = PARLEY_ABI_MAJOR, .abi_minor = PARLEY_ABI_MINOR,
                             .size = sizeof(struct parley_host), .now_ms = t_now, .http_request = t_request,
                             .log = t_log};
  EVP_PKEY *k = EVP_RSA_gen(2048);
  char *pem = make_pem(k), *file = key_file(pem, "service_account", NULL), why[256];
  struct push p = {.host = &host, .timeout_ms = 1000};
  memset(&T, 0, sizeof T);
  T.now_ms = 1800000000000;
  assert_int_equal(push_key_read(file, &p.key, why, sizeof why), 0);
  for (int i = 0; i < 3; i++) /* a burst: one request, three waiting */
    assert_int_equal(push_oauth_get(&p, t_token, NULL), 0);
  assert_int_equal(T.asked, 1);
  assert_int_equal(T.got, 0);
  t_answer(200, "{\"access_token\":\"ya29.one\",\"expires_in\":3600,\"token_type\":\"Bearer\"}");
  assert_int_equal(T.got, 3);
  assert_string_equal(T.bearer, "Bearer ya29.one");
  T.now_ms += 54 * 60 * 1000; /* 54 minutes: still fresh */
  push_oauth_get(&p, t_token, NULL);
  assert_int_equal(T.asked, 1);
  assert_int_equal(T.got, 4);
  T.now_ms += 2 * 60 * 1000; /* 56 minutes: renewed in the background, the old one used meanwhile */
  push_oauth_get(&p, t_token, NULL);
  assert_int_equal(T.asked, 2);
  assert_int_equal(T.got, 5);
  assert_string_equal(T.bearer, "Bearer ya29.one");
  t_answer(400, "{\"error\":\"invalid_grant\"}"); /* a failed renewal keeps the old token */
  push_oauth_get(&p, t_token, NULL);
  assert_int_equal(T.got, 6);
  assert_string_equal(T.bearer, "Bearer ya29.one");
  assert_int_equal(T.asked, 3); /* and asks again */
  t_answer(200, "{\"access_token\":\"ya29.two\",\"expires_in\":3600}");
  push_oauth_get(&p, t_token, NULL);
  assert_string_equal(T.bearer, "Bearer ya29.two");
  T.now_ms += 61 * 60 * 1000; /* expired: the send waits for a new one */
  push_oauth_get(&p, t_token, NULL);
  assert_int_equal(T.got, 7);
  t_answer(200, "{\"access_token\":\"\",\"expires_in\":3600}"); /* garbage: the waiter is told */
  assert_int_equal(T.failed, 1);
  push_oauth_get(&p, t_token, NULL);
  push_oauth_drop(&p); /* FCM refused it: the next send asks */
  t_answer(200, "{\"access_token\":\"ya29.three\",\"expires_in\":3600}");
  assert_string_equal(T.bearer, "Bearer ya29.three");
  push_oauth_free(&p);
  push_key_free(p.key);
  free(file);
  free(pem);
  EVP_PKEY_free(k);
}

/* The APNs provider token: ES256 over "header.claims" as r || s, verifying with the team's
 * key; the same token for 40 minutes, a new one then; one refused renewed only when 20
 * minutes old. */
static void test_apns_token_verifies_and_lasts(void **state)
{
  (void)state;
  EVP_PKEY *k = EVP_EC_gen("P-256");
  char *pem = make_pem(k), why[256];
  struct push_apns_key *a;
  assert_int_equal(push_apns_key_read(pem, "ABC123DEFG", "TEAM123456", &a, why, sizeof why), 0);
  const char *jwt = push_apns_jwt(a, 1800000000);
  char *first = strdup(jwt);
  const char *dot1 = strchr(jwt, '.'), *dot2 = strchr(dot1 + 1, '.');
  size_t hl, cl, sl;
  unsigned char *head = unb64(jwt, (size_t)(dot1 - jwt), &hl), *claims = unb64(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl);
  unsigned char *raw = unb64(dot2 + 1, strlen(dot2 + 1), &sl);
  assert_string_equal((char *)head, "{\"alg\":\"ES256\",\"kid\":\"ABC123DEFG\"}");
  assert_string_equal((char *)claims, "{\"iss\":\"TEAM123456\",\"iat\":1800000000}");
  assert_int_equal(sl, 64);
  ECDSA_SIG *sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
  unsigned char *der = NULL;
  int dn = i2d_ECDSA_SIG(sig, &der);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
  assert_int_equal(EVP_DigestVerify(md, der, (size_t)dn, (const unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  assert_string_equal(push_apns_jwt(a, 1800000000 + 39 * 60), first); /* not per request */
  assert_string_not_equal(push_apns_jwt(a, 1800000000 + 40 * 60), first); /* renewed at 40 minutes */
  free(first);
  first = strdup(push_apns_jwt(a, 1800000000 + 40 * 60));
  push_apns_jwt_refused(a, 1800000000 + 45 * 60); /* refused at 5 minutes old: Apple would refuse a renewal */
  assert_string_equal(push_apns_jwt(a, 1800000000 + 45 * 60), first);
  push_apns_jwt_refused(a, 1800000000 + 61 * 60); /* refused at 21 minutes: renewed */
  assert_string_not_equal(push_apns_jwt(a, 1800000000 + 61 * 60), first);
  free(first);
  free(head);
  free(claims);
  free(raw);
  push_apns_key_free(a);
  /* refusals: an RSA key, ids that are not Apple's */
  EVP_PKEY *rsa = EVP_RSA_gen(2048);
  char *rsa_pem = make_pem(rsa);
  assert_int_equal(push_apns_key_read(rsa_pem, "ABC123DEFG", "TEAM123456", &a, why, sizeof why), -1);
  assert_string_equal(why, "apns_key is not an EC P-256 private key in PEM (the .p8 file of an APNs key)");
  assert_int_equal(push_apns_key_read(pem, "abc", "TEAM123456", &a, why, sizeof why), -1);
  assert_non_null(strstr(why, "apns_key_id and apns_team_id must be Apple's ten-character ids"));
  free(rsa_pem);
  EVP_PKEY_free(rsa);
  free(pem);
  EVP_PKEY_free(k);
}

static enum push_outcome apns(int status, const char *body, const char *retry, struct push_answer *a)
{
  push_apns_answer(status, body, strlen(body), "11111111-2222-3333-4444-555555555555", retry, a);
  return a->outcome;
}

static void test_apns_answers_and_request(void **state)
{
  (void)state;
  struct push_answer a;
  assert_int_equal(apns(200, "", NULL, &a), PUSH_SENT);
  assert_string_equal(a.id, "11111111-2222-3333-4444-555555555555");
  assert_int_equal(apns(410, "{\"reason\":\"Unregistered\",\"timestamp\":1800000000000}", NULL, &a), PUSH_BAD_TOKEN);
  assert_int_equal(apns(400, "{\"reason\":\"BadDeviceToken\"}", NULL, &a), PUSH_BAD_TOKEN);
  assert_int_equal(apns(400, "{\"reason\":\"DeviceTokenNotForTopic\"}", NULL, &a), PUSH_BAD_TOKEN);
  assert_int_equal(apns(400, "{\"reason\":\"BadCollapseId\"}", NULL, &a), PUSH_REJECTED);
  assert_int_equal(apns(413, "{\"reason\":\"PayloadTooLarge\"}", NULL, &a), PUSH_REJECTED);
  assert_int_equal(apns(403, "{\"reason\":\"ExpiredProviderToken\"}", NULL, &a), PUSH_AUTH);
  assert_int_equal(apns(429, "{\"reason\":\"TooManyRequests\"}", "5", &a), PUSH_RETRY);
  assert_int_equal(a.retry_after_ms, 5000);
  assert_int_equal(apns(503, "{\"reason\":\"ServiceUnavailable\"}", NULL, &a), PUSH_RETRY);
  assert_int_equal(apns(500, "garbage", NULL, &a), PUSH_RETRY);
  assert_string_equal(a.detail, "APNs answered HTTP 500 without a reason");

  /* the message as APNs gets it, from what FCM would get */
  cJSON *fcm = cJSON_Parse("{\"notification\":{\"title\":\"Hi\",\"body\":\"there\",\"image\":\"https://c.example/i.png\"},"
                           "\"data\":{\"link\":\"shop://cart\",\"parley_message_id\":\"0123456789abcdef0123456789abcdef\"},"
                           "\"android\":{\"priority\":\"HIGH\",\"ttl\":\"7200s\",\"collapse_key\":\"cart\"}}");
  struct push_apns_req r;
  char why[128];
  assert_int_equal(push_apns_prepare(fcm, "0123456789abcdef0123456789abcdef", 1800000000, &r, why, sizeof why), 0);
  cJSON *body = cJSON_Parse(r.body), *aps = cJSON_GetObjectItem(body, "aps");
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(aps, "alert"), "title")), "Hi");
  assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(aps, "alert"), "image"));
  assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(aps, "mutable-content")), 1);
  assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(body, "link")), "shop://cart");
  assert_string_equal(r.push_type, "alert");
  assert_string_equal(r.priority, "10");
  assert_string_equal(r.expiration, "1800007200");
  assert_string_equal(r.collapse, "cart");
  assert_string_equal(r.id, "01234567-89ab-cdef-0123-456789abcdef");
  cJSON_Delete(body);
  push_apns_req_free(&r);
  cJSON_Delete(fcm);
  fcm = cJSON_Parse("{\"data\":{\"k\":\"v\"},\"android\":{\"priority\":\"HIGH\",\"ttl\":\"0s\"}}");
  assert_int_equal(push_apns_prepare(fcm, "x", 1800000000, &r, why, sizeof why), 0);
  assert_string_equal(r.push_type, "background"); /* data only: it wakes the app, at priority 5 */
  assert_string_equal(r.priority, "5");
  assert_string_equal(r.expiration, "0");
  assert_non_null(strstr(r.body, "\"content-available\":1"));
  push_apns_req_free(&r);
  cJSON_Delete(fcm);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_assertion_verifies_with_the_key),
      cmocka_unit_test(test_bad_key_files_are_named),
      cmocka_unit_test(test_fcm_answers),
      cmocka_unit_test(test_check_builds_and_measures),
      cmocka_unit_test(test_body_for_a_device),
      cmocka_unit_test(test_access_token_cached_and_renewed),
      cmocka_unit_test(test_apns_token_verifies_and_lasts),
      cmocka_unit_test(test_apns_answers_and_request),
      cmocka_unit_test(test_sound_badge_and_reach),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

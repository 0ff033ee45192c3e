/* push: app push notifications through Firebase Cloud Messaging's HTTP v1 API, and Apple's
 * APNs directly for iOS devices when the channel has an APNs key. A message goes to every
 * device of its contact (profile.devices, registered by the app through
 * POST /v1/contacts/{id}/devices), with the service account's OAuth 2.0 access token,
 * cached and renewed before it expires (push_oauth.c). A message is built and measured when
 * the journey speaks it (check): one over FCM's 4 KiB, or with a wrong option, is refused
 * then, never later. Dead tokens are removed from the contact as FCM reports them
 * (push_fanout.c); the app reports opens and dismissals to the channel's receipts route
 * (push_receipt.c). This file is the plugin: its settings, init (which reads the key file),
 * check, send and shutdown. docs/push.md is the operator's guide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "push.h"

#define PUSH_TIMEOUT_MAX 600000 /* ms */

static const struct parley_host *host;

static const struct parley_config_spec push_config[] = {
    {"service_account", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct push, service_account),
     "the Firebase service account's key file (JSON): { file = \"/etc/parley/fcm-key.json\" }"},
    {"fcm_url", PARLEY_CONFIG_STRING, "https://fcm.googleapis.com", 0, offsetof(struct push, fcm_url),
     "FCM's base URL (https://, or http:// on loopback for a test double)"},
    {"timeout", PARLEY_CONFIG_DURATION, "10s", 0, offsetof(struct push, timeout_ms),
     "one request to FCM or to the token endpoint; a timeout is retried"},
    {"priority", PARLEY_CONFIG_STRING, "high", 0, offsetof(struct push, priority),
     "Android delivery priority unless the journey says: \"high\" (wakes the device) or \"normal\""},
    {"ttl", PARLEY_CONFIG_DURATION, "28d", 0, offsetof(struct push, ttl_ms),
     "how long FCM keeps a message for a device that is offline, unless the journey says (at most 28d)"},
    {"receipt_secret", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct push, receipt_secret),
     "signs the receipt token each message carries, for the app's opens and dismissals (at least 16 bytes; "
     "none: no receipts)"},
    {"apns_key", PARLEY_CONFIG_SECRET, NULL, 0, offsetof(struct push, apns_key),
     "the APNs signing key (the .p8 file): iOS devices then go to APNs directly, not through FCM"},
    {"apns_key_id", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct push, apns_key_id), "the APNs key's id (10 characters)"},
    {"apns_team_id", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct push, apns_team_id), "the Apple developer team's id"},
    {"apns_topic", PARLEY_CONFIG_STRING, NULL, 0, offsetof(struct push, apns_topic),
     "the iOS app's bundle id, for devices registered without an app_id"},
    {"apns_url", PARLEY_CONFIG_STRING, "https://api.push.apple.com", 0, offsetof(struct push, apns_url),
     "APNs: https://api.push.apple.com, or https://api.sandbox.push.apple.com for development builds"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Init refuses with one line for the operator (set_error), never naming a secret. */
static enum parley_status refuse(parley_ctx *ctx, const char *why)
{
  if (PARLEY_HOST_HAS(host, set_error))
    host->set_error(ctx, why);
  host->log(ctx, PARLEY_LOG_ERROR, "push channel refused", "reason", why, NULL);
  return PARLEY_ERROR;
}

static int loopback_or_https(const char *u)
{
  return (strncmp(u, "https://", 8) == 0 && u[8]) || strncmp(u, "http://127.", 11) == 0 ||
         strncmp(u, "http://localhost", 16) == 0 || strncmp(u, "http://[::1]", 12) == 0;
}

/* The settings, checked; 0, or -1 and why. */
static int settings_check(const struct push *p, char *why, size_t len)
{
  if (!loopback_or_https(p->fcm_url)) {
    snprintf(why, len, "fcm_url must be https:// (http:// only to a loopback address)");
    return -1;
  }
  if (p->timeout_ms < 1 || p->timeout_ms > PUSH_TIMEOUT_MAX) {
    snprintf(why, len, "timeout must be between 1ms and 10m");
    return -1;
  }
  if (strcmp(p->priority, "high") != 0 && strcmp(p->priority, "normal") != 0) {
    snprintf(why, len, "priority must be \"high\" or \"normal\"");
    return -1;
  }
  if (p->ttl_ms < 0 || p->ttl_ms > 28LL * 86400 * 1000) {
    snprintf(why, len, "ttl must be between 0s and 28d");
    return -1;
  }
  if (!p->service_account && !p->apns_key) {
    snprintf(why, len, "give service_account (FCM), apns_key (APNs), or both");
    return -1;
  }
  if (p->apns_key && (!p->apns_key_id || !p->apns_team_id || !p->apns_topic)) {
    snprintf(why, len, "apns_key needs apns_key_id, apns_team_id and apns_topic");
    return -1;
  }
  if (p->apns_key && strncmp(p->apns_url, "https://", 8) != 0) {
    snprintf(why, len, "apns_url must be https:// (APNs speaks HTTP/2 over TLS only)");
    return -1;
  }
  if (p->receipt_secret && strlen(p->receipt_secret) < 16) {
    snprintf(why, len, "receipt_secret must be at least 16 bytes (e.g. openssl rand -hex 32)");
    return -1;
  }
  return 0;
}

/* <fcm_url>/v1/projects/<project>/messages:send; "" without FCM. */
static char *send_url(const struct push *p)
{
  if (p->key == NULL)
    return strdup("");
  size_t n = strlen(p->fcm_url);
  while (n && p->fcm_url[n - 1] == '/')
    n--;
  const char *project = push_key_project(p->key);
  size_t cap = n + strlen(project) + 64;
  char *u = malloc(cap);
  if (u)
    snprintf(u, cap, "%.*s/v1/projects/%s/messages:send", (int)n, p->fcm_url, project);
  return u;
}

static void metrics(struct push *p, parley_ctx *ctx)
{
  p->m_sent = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "device_messages_total",
                                    "messages FCM took, one per device", NULL, 0);
  p->m_removed = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "tokens_removed_total",
                                       "device tokens FCM reported dead and removed from their contact", NULL, 0);
  p->m_failed = host->metric_register(ctx, PARLEY_METRIC_COUNTER, "failed_total",
                                      "messages no device could take, for good", NULL, 0);
}

static enum parley_status push_init(parley_ctx *ctx, void *self)
{
  struct push *p = self;
  char why[300];
  if (!PARLEY_HOST_HAS(host, http_request) || !PARLEY_HOST_HAS(host, send_failed) ||
      !PARLEY_HOST_HAS(host, metric_register) || !PARLEY_HOST_HAS(host, msg_option) ||
      !PARLEY_HOST_HAS(host, route_add) || !PARLEY_HOST_HAS(host, hmac_sha256_verify))
    return refuse(ctx, "this Parley lacks an HTTP client for plugins (plugin ABI 1.2 is needed)");
  if (sodium_init() < 0)
    return refuse(ctx, "libsodium failed to initialise");
  p->host = host;
  p->ctx = ctx;
  if (settings_check(p, why, sizeof why) < 0 ||
      (p->service_account && push_key_read(p->service_account, &p->key, why, sizeof why) < 0) ||
      (p->apns_key && push_apns_key_read(p->apns_key, p->apns_key_id, p->apns_team_id, &p->apns, why, sizeof why) < 0))
    goto fail;
  snprintf(why, sizeof why, "out of memory");
  if ((p->send_url = send_url(p)) == NULL)
    goto fail;
  snprintf(why, sizeof why, "the receipts route could not be added (see the log)");
  if (p->receipt_secret && push_receipt_routes(p) != PARLEY_OK)
    goto fail;
  metrics(p, ctx);
  host->log(ctx, PARLEY_LOG_INFO, "push channel ready", "fcm_project", p->key ? push_key_project(p->key) : "(none)",
            "apns", p->apns ? p->apns_url : "(none: iOS through FCM)", NULL);
  return PARLEY_OK;
fail:
  free(p->send_url);
  push_key_free(p->key);
  push_apns_key_free(p->apns);
  return refuse(ctx, why);
}

/* At speak time: a device to send it to, and the message as FCM and APNs will get it,
 * measured against their 4 KiB. */
static enum parley_status push_check(parley_ctx *ctx, void *self, const parley_msg *msg, char *info,
                                     size_t info_len)
{
  (void)ctx;
  const struct push *p = self;
  struct push_apns_req a = {0};
  if (push_fanout_reachable(p, msg) == 0) {
    snprintf(info, info_len, "the contact has no device this channel reaches (%s)",
             p->key ? "none registered" : "its Android and web devices need service_account, for FCM");
    return PARLEY_ERROR;
  }
  cJSON *m = push_fcm_message(p, msg, info, info_len);
  if (m == NULL || (p->apns && push_apns_prepare(m, host->msg_id(msg), 0, &a, info, info_len) < 0)) {
    cJSON_Delete(m);
    return PARLEY_ERROR;
  }
  size_t n = push_fcm_payload_size(m), na = a.body ? strlen(a.body) : 0;
  cJSON_Delete(m);
  push_apns_req_free(&a);
  if (n > PUSH_PAYLOAD_MAX || na > PUSH_PAYLOAD_MAX) {
    snprintf(info, info_len, "the notification and data take %zu bytes, more than %s's %d", n > na ? n : na,
             n > PUSH_PAYLOAD_MAX ? "FCM" : "APNs", PUSH_PAYLOAD_MAX);
    return PARLEY_ERROR;
  }
  snprintf(info, info_len, "{\"payload_bytes\":%zu}", n > na ? n : na);
  return PARLEY_OK;
}

static enum parley_status push_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  (void)ctx;
  return push_fanout_send(self, msg);
}

/* The host cancelled the requests still in flight, without calling back. */
static void push_shutdown(parley_ctx *ctx, void *self)
{
  struct push *p = self;
  (void)ctx;
  push_oauth_free(p);
  push_fanout_forget(p);
  push_key_free(p->key);
  push_apns_key_free(p->apns);
  free(p->send_url);
}

static const struct parley_plugin push_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "push",
    .version = "1.0",
    .description = "app push through FCM (HTTP v1) and APNs (HTTP/2): every device of a contact, dead tokens removed",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct push),
    .config = push_config,
    .init = push_init,
    .send = push_send,
    .shutdown = push_shutdown,
    .config_spec_size = sizeof(struct parley_config_spec),
    .check = push_check,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &push_plugin;
}

/* The host function table handed to every plugin (struct parley_host, ABI v1.1; the HTTP
 * client's functions are plugin_http.c's, config_get plugin_config.c's, the fd watchers
 * plugin_io.c's, post plugin_post.c's, the metrics plugin_metrics.c's, the inbound routes
 * plugin_route.c's, the signature helpers plugin_verify.c's).
 *
 * Plugins never call a core symbol directly (the daemon is not linked with -rdynamic):
 * everything they may do goes through these functions, which take the opaque parley_ctx
 * (really a struct plugin_inst) and translate to the core's own log, clock and loop. Each
 * function checks its arguments: a plugin bug should produce a log line, not a crash. */
#include <cJSON.h>
#include <ev.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "store/records.h"
#include "text.h"
#include "plugin_int.h"

static enum log_level map_level(enum parley_log_level lvl)
{
  switch (lvl) {
  case PARLEY_LOG_DEBUG: return LOG_DEBUG;
  case PARLEY_LOG_INFO: return LOG_INFO;
  case PARLEY_LOG_WARN: return LOG_WARN;
  default: return LOG_ERROR; /* unknown levels are loud rather than lost */
  }
}

static void host_log(parley_ctx *ctx, enum parley_log_level level, const char *msg, ...)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  va_list ap;
  va_start(ap, msg);
  log_vkv(pi ? pi->env.log : NULL, map_level(level), pi ? pi->subsys : "plugin", msg ? msg : "", ap);
  va_end(ap);
}

/* --- message accessors: plain reads of the core's struct parley_msg (store/records.h) --- */

static const char *msg_id(const parley_msg *m) { return m ? m->id : NULL; }
static const char *msg_channel(const parley_msg *m) { return m ? m->channel : NULL; }
static const char *msg_contact(const parley_msg *m) { return m ? m->contact : NULL; }
static const char *msg_address(const parley_msg *m) { return m ? m->address : NULL; }
static const char *msg_journey(const parley_msg *m) { return m ? m->journey : NULL; }
static const char *msg_template(const parley_msg *m) { return m ? m->template_name : NULL; }
static unsigned msg_attempt(const parley_msg *m) { return m ? m->attempt : 0; }

static const char *msg_part(const parley_msg *m, const char *part)
{
  if (m == NULL || part == NULL)
    return NULL;
  if (strcmp(part, "subject") == 0)
    return m->subject;
  if (strcmp(part, "text") == 0)
    return m->text;
  if (strcmp(part, "html") == 0)
    return m->html;
  return NULL;
}

/* Options are stored as JSON text of text values (lhost_options.c), parsed once, on
 * first use, like the profile. */
static const char *msg_option(const parley_msg *cm, const char *key)
{
  struct parley_msg *pm = (struct parley_msg *)cm; /* the core's own object, never const */
  if (pm == NULL || key == NULL || pm->options_json == NULL)
    return NULL;
  if (!pm->options)
    pm->options = cJSON_Parse(pm->options_json);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(pm->options, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Numbers print as integers when they are integral, so an age of 42 reads "42", not
 * "42.000000"; other values use %.17g, which round-trips a double. */
static char *render_number(double d)
{
  char buf[64];
  if (d > -9.0e15 && d < 9.0e15 && d == (double)(int64_t)d) /* false for NaN and inf */
    snprintf(buf, sizeof buf, "%" PRId64, (int64_t)d);
  else
    snprintf(buf, sizeof buf, "%.17g", d);
  return strdup(buf);
}

/* Strings are returned as stored. Anything else is rendered into the message's scratch
 * buffer, which the next call replaces: the plugin ABI promises a const char * without
 * handing ownership to the plugin, and one scratch per message bounds the memory. */
static const char *msg_contact_attr(const parley_msg *cm, const char *key)
{
  struct parley_msg *pm = (struct parley_msg *)cm; /* the core's own object, never const */
  if (pm && !pm->profile && pm->profile_json) /* parsed once, on first use */
    pm->profile = cJSON_Parse(pm->profile_json);
  if (cm == NULL || key == NULL || cm->profile == NULL)
    return NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cm->profile, key);
  if (v == NULL || cJSON_IsNull(v))
    return NULL;
  if (cJSON_IsString(v))
    return v->valuestring;
  char *text;
  if (cJSON_IsBool(v))
    text = strdup(cJSON_IsTrue(v) ? "true" : "false");
  else if (cJSON_IsNumber(v))
    text = render_number(v->valuedouble);
  else
    text = cJSON_PrintUnformatted(v); /* objects and arrays as compact JSON */
  if (text == NULL)
    return NULL;
  struct parley_msg *m = (struct parley_msg *)cm; /* the core's own object, never const */
  free(m->attr_text);
  m->attr_text = text;
  return text;
}

/* --- completion and receipts --- */

/* Every completion, whichever of the four functions the plugin called, ends here. One
 * for a message this instance does not hold is a plugin bug: a second completion, one
 * after a final status, another channel's message, or not a message at all. Forwarding
 * it would complete a message the core may have freed, or one another instance holds, so
 * it is refused before the pointer is read. */
static void complete(struct plugin_inst *pi, parley_msg *msg, const struct plugin_result *r)
{
  if (!plugin_held_take(pi, msg)) {
    log_kv(pi->env.log, LOG_ERROR, pi->subsys,
           "completion refused: not a message this channel holds (completed already, another "
           "channel's, or not a message)",
           "plugin", pi->desc->name, "channel", pi->channel, (char *)NULL);
    return;
  }
  pi->in_flight--;
  if (pi->env.send_done)
    pi->env.send_done(pi->env.outbox, msg, r);
}

/* A provider's id goes into a conversation's history, which the API and `parley inspect`
 * show: text a terminal or a JSON reader can take, and short. */
static int provider_id_ok(const char *id)
{
  size_t n = id ? strlen(id) : 0;
  return n > 0 && n <= 128 && text_utf8_ok(id, n) && !text_has_control(id, n);
}

static const char *checked_provider_id(struct plugin_inst *pi, const char *id, int loud)
{
  if (id == NULL || provider_id_ok(id))
    return id;
  log_kv(pi->env.log, loud ? LOG_WARN : LOG_DEBUG, pi->subsys,
         "provider id left out: more than 128 bytes, not UTF-8, or a control character",
         "plugin", pi->desc->name, (char *)NULL);
  return NULL;
}

/* 1.0: on success `detail` is the provider's id (when it can be one). */
static void host_send_done(parley_ctx *ctx, parley_msg *msg, enum parley_status st,
                           const char *detail)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return;
  if (st != PARLEY_OK && st != PARLEY_RETRY && st != PARLEY_ERROR) {
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "send_done with a non-final status",
           "plugin", pi->desc->name, (char *)NULL);
    st = PARLEY_RETRY; /* the message is not lost: the core tries again */
  }
  struct plugin_result r = {.status = st, .detail = detail, .reason = PARLEY_FAIL_OTHER};
  if (st == PARLEY_OK)
    r.provider_id = checked_provider_id(pi, detail, 0);
  complete(pi, msg, &r);
}

static void host_send_delivered(parley_ctx *ctx, parley_msg *msg, const char *provider_id)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return;
  struct plugin_result r = {.status = PARLEY_OK, .provider_id = checked_provider_id(pi, provider_id, 1)};
  complete(pi, msg, &r);
}

static void host_send_retry(parley_ctx *ctx, parley_msg *msg, uint64_t retry_after_ms,
                            const char *detail)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return;
  struct plugin_result r = {.status = PARLEY_RETRY, .detail = detail, .retry_after_ms = retry_after_ms};
  complete(pi, msg, &r);
}

static void host_send_failed(parley_ctx *ctx, parley_msg *msg, enum parley_fail_reason reason,
                             const char *detail)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return;
  if ((int)reason < (int)PARLEY_FAIL_OTHER || (int)reason > (int)PARLEY_FAIL_REJECTED) { /* a newer plugin's */
    log_kv(pi->env.log, LOG_DEBUG, pi->subsys, "unknown failure reason, counted as other",
           "plugin", pi->desc->name, (char *)NULL);
    reason = PARLEY_FAIL_OTHER;
  }
  struct plugin_result r = {.status = PARLEY_ERROR, .detail = detail, .reason = reason};
  complete(pi, msg, &r);
}

const char *plugin_fail_reason_name(enum parley_fail_reason reason)
{
  switch (reason) {
  case PARLEY_FAIL_INVALID_ADDRESS: return "invalid_address";
  case PARLEY_FAIL_UNSUBSCRIBED: return "unsubscribed";
  case PARLEY_FAIL_BLOCKED: return "blocked";
  case PARLEY_FAIL_REJECTED: return "rejected";
  default: return "other";
  }
}

/* Kept for run_init's refusal; outside init there is no refusal to carry it, so it is
 * logged instead. */
static void host_set_error(parley_ctx *ctx, const char *text)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL || text == NULL)
    return;
  snprintf(pi->error, sizeof pi->error, "%s", text);
  if (pi->inited)
    log_kv(pi->env.log, LOG_WARN, pi->subsys, "plugin error", "error", pi->error, (char *)NULL);
}

static enum parley_status host_emit_event(parley_ctx *ctx, const char *json, size_t len)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL)
    return PARLEY_ERROR;
  char err[256] = "";
  if (!(pi->desc->capabilities & PARLEY_CAP_RECEIPTS)) /* what it declared is what it may do */
    snprintf(err, sizeof err, "the plugin did not declare PARLEY_CAP_RECEIPTS");
  else if (json == NULL || pi->env.emit_event == NULL)
    snprintf(err, sizeof err, json ? "events are not accepted here" : "no event given");
  else if (pi->env.emit_event(pi->env.core, json, len, err, sizeof err) == 0)
    return PARLEY_OK;
  log_kv(pi->env.log, LOG_WARN, pi->subsys, "event refused", "reason",
         err[0] ? err : "unknown", (char *)NULL);
  return PARLEY_ERROR;
}

/* --- timers on the core's libev loop --- */

static void timer_unlink(struct parley_timer *t)
{
  struct plugin_inst *pi = t->pi;
  if (t->prev)
    t->prev->next = t->next;
  else
    pi->timers = t->next;
  if (t->next)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
}

static void timer_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
  struct parley_timer *t = (struct parley_timer *)w; /* w is the first member */
  struct plugin_inst *pi = t->pi;
  ev_timer_stop(loop, w);
  timer_unlink(t);
  t->firing = 1;
  pi->calls++;
  t->cb(plugin_ctx(pi), t->arg);
  pi->calls--;
  free(t);
}

static parley_timer *host_timer_start(parley_ctx *ctx, uint64_t after_ms,
                                      void (*cb)(parley_ctx *ctx, void *arg), void *arg)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL || cb == NULL || pi->env.loop == NULL)
    return NULL;
  struct parley_timer *t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->pi = pi;
  t->cb = cb;
  t->arg = arg;
  ev_timer_init(&t->w, timer_fire, (ev_tstamp)after_ms / 1000.0, 0.0);
  ev_timer_start(pi->env.loop, &t->w);
  t->next = pi->timers;
  if (pi->timers)
    pi->timers->prev = t;
  pi->timers = t;
  return t;
}

static void host_timer_cancel(parley_ctx *ctx, parley_timer *t)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL || t == NULL || t->firing)
    return; /* cancelling itself from its own callback: freed when the callback returns */
  ev_timer_stop(pi->env.loop, &t->w);
  timer_unlink(t);
  free(t);
}

void plugin_timers_cancel_all(struct plugin_inst *pi)
{
  while (pi->timers)
    host_timer_cancel(plugin_ctx(pi), pi->timers);
}

static int64_t host_now_ms(parley_ctx *ctx)
{
  struct plugin_inst *pi = plugin_inst_of(ctx);
  if (pi == NULL || pi->env.clock == NULL)
    return 0;
  return clock_now_ms(pi->env.clock);
}

static const struct parley_host host_table = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_host),
    .log = host_log,
    .msg_id = msg_id,
    .msg_channel = msg_channel,
    .msg_contact = msg_contact,
    .msg_address = msg_address,
    .msg_journey = msg_journey,
    .msg_template = msg_template,
    .msg_part = msg_part,
    .msg_attempt = msg_attempt,
    .msg_contact_attr = msg_contact_attr,
    .send_done = host_send_done,
    .emit_event = host_emit_event,
    .timer_start = host_timer_start,
    .timer_cancel = host_timer_cancel,
    .now_ms = host_now_ms,
    /* v1.1 */
    .http_request = plugin_http_request,
    .http_cancel = plugin_http_cancel,
    .http_header = plugin_http_header,
    .send_delivered = host_send_delivered,
    .send_retry = host_send_retry,
    .send_failed = host_send_failed,
    .set_error = host_set_error,
    .config_get = plugin_config_get,
    .io_start = plugin_io_start,
    .io_modify = plugin_io_modify,
    .io_stop = plugin_io_stop,
    .post = plugin_post,
    .metric_register = plugin_metric_register,
    .metric_add = plugin_metric_add,
    .metric_set = plugin_metric_set,
    .metric_observe = plugin_metric_observe,
    .route_add = plugin_route_add,
    .route_answer = plugin_route_answer,
    .route_header = plugin_route_header,
    .hmac_sha256 = plugin_hmac_sha256,
    .hmac_sha256_verify = plugin_hmac_sha256_verify,
    .timestamp_check = plugin_timestamp_check,
    .decode = plugin_decode,
    /* v1.2 */
    .contacts_find = plugin_contacts_find,
    .msg_option = msg_option,
};

const struct parley_host *plugin_host_table(void) { return &host_table; }

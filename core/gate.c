/* See gate.h. Consent is per channel, and per topic within a channel: a profile answers
 * consent.sms = false (nothing on sms but transactional), consent.sms = true (opted in to
 * every topic), or consent.sms = { marketing = true, newsletter = false }; what it does not
 * answer, the channel's policy decides (cfg.h: opt_in_topics). */
#include "gate.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "lua/lhost.h"
#include "suppress.h"
#include "store/records.h"

const char *gate_reason_name(enum gate_reason r)
{
  static const char *const names[GATE_REASONS] = {"ok",         "no_channel", "unsubscribed", "no_consent",
                                                  "no_address", "suppressed", "cap",        "channel",
                                                  "suppressed_globally"};
  return r >= 0 && r < GATE_REASONS ? names[r] : "unknown";
}

/* The contact's answer for (channel, topic): 1 in, 0 out, -1 none. */
static int answer(const cJSON *profile, const char *channel, const char *topic)
{
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(profile, "consent"), channel);
  if (cJSON_IsBool(c))
    return cJSON_IsTrue(c);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, topic);
  return cJSON_IsBool(t) ? cJSON_IsTrue(t) : -1;
}

static int consent(const struct cfg_channel *ch, int topic_index, const cJSON *profile, const char *topic,
                   char *why, size_t len)
{
  int a = answer(profile, ch->name, topic);
  if (a == 0) {
    snprintf(why, len, "no consent for %s %s", ch->name, topic);
    return GATE_NO_CONSENT;
  }
  if (a < 0 && (ch->opt_in_topics & (1u << topic_index))) {
    snprintf(why, len, "%s %s needs the contact's opt-in (consent.%s.%s = true)", ch->name, topic, ch->name, topic);
    return GATE_NO_CONSENT;
  }
  return GATE_OK;
}

static int suppressed(const struct cfg_channel *ch, const cJSON *profile, const char *address, char *why, size_t len)
{
  const cJSON *sup = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(profile, "suppressed"), ch->name);
  const cJSON *sup_addr = cJSON_GetObjectItemCaseSensitive(sup, "address");
  if (!cJSON_IsString(sup_addr) || strcmp(sup_addr->valuestring, address) != 0)
    return GATE_OK;
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(sup, "reason");
  snprintf(why, len, "the contact's %s is suppressed for %s%s%s", ch->address_attr, ch->name,
           cJSON_IsString(r) ? ": " : "", cJSON_IsString(r) ? r->valuestring : "");
  return GATE_SUPPRESSED;
}

/* The configuration's lists, then the API's: whoever holds the address, whatever the topic. */
static int listed(const struct cfg *cfg, const struct gate_ask *a, const struct cfg_channel *ch, const char *address,
                  char *why, size_t len)
{
  const char *by = suppress_find(cfg->suppress, ch->name, suppress_kind_of(ch->address_attr), address);
  if (!by)
    return a->listed && a->listed(a->listed_ud, ch->name, ch->address_attr, address, why, len) ? GATE_GLOBAL_SUPPRESSED
                                                                                             : GATE_OK;
  snprintf(why, len, "the contact's %s is on the global suppression list for %s (%s)", ch->address_attr, ch->name, by);
  return GATE_GLOBAL_SUPPRESSED;
}

int gate_counts(const struct cfg *cfg, const char *topic)
{
  int k = cfg_topic_index(cfg, topic ? topic : CFG_TOPIC_MARKETING);
  return k >= 0 && !(cfg->caps_exempt & (1u << k));
}

/* A window as the configuration wrote it, in its largest exact unit ("7d", "36h"). */
static void window_text(int64_t ms, char *out, size_t len)
{
  static const struct { int64_t ms; const char *unit; } units[] = {
      {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  size_t i = 0;
  while (ms % units[i].ms != 0)
    i++;
  snprintf(out, len, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
}

/* Whether one cap stops this message: the contact's counted messages on the cap's channel
 * (or any) within its window, from the newest back. `whose` is "" or " (journey X)". */
static int over(const struct gate_ask *a, const char *channel, int64_t max, int64_t per_ms, const char *whose,
                char *why, size_t len)
{
  if (channel && strcmp(channel, a->channel) != 0)
    return 0;
  int64_t n = 0;
  for (size_t i = a->n_touches; i-- > 0 && a->touches[i].at_ms > a->now_ms - per_ms;)
    n += a->touches[i].capped && (!channel || strcmp(a->touches[i].channel, channel) == 0);
  if (n < max)
    return 0;
  char per[32];
  window_text(per_ms, per, sizeof per);
  snprintf(why, len, "cap reached%s: %lld %s%smessages in %s", whose, (long long)max, channel ? channel : "",
           channel ? " " : "", per);
  return 1;
}

/* The configuration's caps, then the speaking journey's own. */
static int capped(const struct cfg *cfg, const struct gate_ask *a, char *why, size_t len)
{
  for (size_t c = 0; c < cfg->n_caps; c++)
    if (over(a, cfg->caps[c].channel, cfg->caps[c].max, cfg->caps[c].per_ms, "", why, len))
      return GATE_CAP;
  char whose[96];
  snprintf(whose, sizeof whose, " (journey %s)", a->journey ? a->journey : "?");
  for (size_t c = 0; c < a->n_journey_caps; c++)
    if (over(a, a->journey_caps[c].channel, a->journey_caps[c].max, a->journey_caps[c].per_ms, whose, why, len))
      return GATE_CAP;
  return GATE_OK;
}

int gate_speak(const struct cfg *cfg, const struct gate_ask *a, char *why, size_t len)
{
  const cJSON *profile = a->profile;
  const char *channel = a->channel, *topic = a->topic ? a->topic : CFG_TOPIC_MARKETING;
  int k = cfg_topic_index(cfg, topic);
  if (k < 0) {
    snprintf(why, len, "topic '%s' is not declared (marketing, transactional, or the configuration's topics)", topic);
    return -1;
  }
  const struct cfg_channel *ch = cfg_channel_find(cfg, channel);
  if (!ch) {
    snprintf(why, len, "no channel '%s' is configured", channel);
    return GATE_NO_CHANNEL;
  }
  int transactional = strcmp(topic, CFG_TOPIC_TRANSACTIONAL) == 0, r;
  if (!transactional && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(profile, "unsubscribed"))) {
    snprintf(why, len, "the contact unsubscribed");
    return GATE_UNSUBSCRIBED;
  }
  if (!transactional && (r = consent(ch, k, profile, topic, why, len)) != GATE_OK)
    return r;
  const cJSON *addr = cJSON_GetObjectItemCaseSensitive(profile, ch->address_attr);
  if (cJSON_IsObject(addr) && addr->child) /* a map of addresses: profile.devices (devices.h) */
    return gate_counts(cfg, topic) ? capped(cfg, a, why, len) : GATE_OK;
  if (!cJSON_IsString(addr) || !*addr->valuestring) {
    snprintf(why, len, "the contact has no %s for %s", ch->address_attr, channel);
    return GATE_NO_ADDRESS;
  }
  if ((r = listed(cfg, a, ch, addr->valuestring, why, len)) != GATE_OK ||
      (r = suppressed(ch, profile, addr->valuestring, why, len)) != GATE_OK)
    return r;
  return gate_counts(cfg, topic) ? capped(cfg, a, why, len) : GATE_OK;
}

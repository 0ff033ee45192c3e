/* The event a dead letter becomes (deadletter.h). */
#include "deadletter.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "plugin/plugin_load.h"
#include "timestamp.h"

/* Does `reason` name a failure the channel suppresses addresses for? Only the plugin's
 * own reasons can: "retries_exhausted" says nothing about the address. */
static int suppresses(const struct cfg_channel *ch, const char *reason)
{
  static const enum parley_fail_reason which[] = {PARLEY_FAIL_INVALID_ADDRESS, PARLEY_FAIL_UNSUBSCRIBED,
                                                  PARLEY_FAIL_BLOCKED};
  for (size_t i = 0; ch && i < sizeof which / sizeof which[0]; i++)
    if ((ch->suppress_on & (1u << which[i])) && strcmp(plugin_fail_reason_name(which[i]), reason) == 0)
      return 1;
  return 0;
}

/* profile.suppressed.<channel> in the event, applied with it: the suppression and the
 * journey's news of the failure are one change. */
static void add_suppression(const struct core *core, cJSON *ev, const struct parley_msg *m, const char *reason)
{
  char at[32];
  timestamp_format(clock_now_ms(&core->clock), at, sizeof at);
  cJSON *sup = cJSON_AddObjectToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(ev, "profile"), "suppressed"),
                                       m->channel);
  cJSON_AddStringToObject(sup, "address", m->address);
  cJSON_AddStringToObject(sup, "reason", reason);
  cJSON_AddStringToObject(sup, "at", at);
}

char *deadletter_event(const struct core *core, const struct parley_msg *m, const char *reason)
{
  char id[96], type[160];
  snprintf(id, sizeof id, "%s:failed:%lld", m->id, (long long)clock_now_ms(&core->clock));
  snprintf(type, sizeof type, "%s.failed", m->channel);
  cJSON *ev = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(ev, "data");
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", type);
  cJSON_AddStringToObject(ev, "contact", m->contact);
  cJSON_AddStringToObject(data, "message_id", m->id);
  cJSON_AddStringToObject(data, "reason", reason);
  if (m->address && m->address[0] && suppresses(cfg_channel_find(core->cfg, m->channel), reason))
    add_suppression(core, ev, m, reason);
  char *json = data ? cJSON_PrintUnformatted(ev) : NULL;
  cJSON_Delete(ev);
  return json;
}

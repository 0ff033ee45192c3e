/* Goals and their attribution (attrib.h). */
#include "attrib.h"

#include <cJSON.h>
#include <string.h>

#include "context.h"
#include "stats.h"

/* Credits the conversion to the journey's touches within the window: 1 to the latest, and
 * 1/n to each of n (in millionths; the rounding goes to the latest, so the shares add up
 * to exactly one). */
static void credit_touches(struct core *core, const struct contact *ct, const char *journey, int64_t now)
{
  int64_t since = now - core->cfg->attribution_window_ms;
  size_t n = 0;
  const struct touch *last = NULL;
  for (size_t i = 0; i < ct->n_touches; i++) {
    const struct touch *t = &ct->touches[i];
    if (t->at_ms > since && t->at_ms <= now && t->journey && strcmp(t->journey, journey) == 0)
      n++, last = t;
  }
  if (n == 0) {
    stats_count(core, journey, "conv", "-", "unattributed", 1);
    return;
  }
  const char *tmpl = last->template_name ? last->template_name : "-";
  stats_count(core, journey, "last_touch", last->channel, tmpl, 1);
  int64_t share = STATS_CREDIT_UNIT / (int64_t)n, rest = STATS_CREDIT_UNIT - share * (int64_t)n;
  for (size_t i = 0; i < ct->n_touches; i++) {
    const struct touch *t = &ct->touches[i];
    if (t->at_ms > since && t->at_ms <= now && t->journey && strcmp(t->journey, journey) == 0)
      stats_count(core, journey, "linear", t->channel, t->template_name ? t->template_name : "-",
                  share + (t == last ? rest : 0));
  }
}

void attrib_goal(struct core *core, const struct contact *ct, const struct conv *cv)
{
  stats_count(core, cv->journey, "conv", "-", "converted", 1);
  if (cv->step)
    stats_count(core, cv->journey, "step", cv->step, "converted", 1);
  for (size_t i = 0; i < cv->n_arms; i++)
    stats_count(core, cv->journey, "arm_converted", cv->arms[i].experiment, cv->arms[i].arm, 1);
  credit_touches(core, ct, cv->journey, clock_now_ms(&core->clock));
}

void attrib_outcome(struct core *core, const struct contact *ct, const struct event *ev)
{
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev->data, "message_id");
  const char *dot = strchr(ev->type, '.');
  if (!cJSON_IsString(id) || !dot || !dot[1])
    return;
  for (size_t i = ct->n_touches; i-- > 0;) {
    const struct touch *t = &ct->touches[i];
    if (!t->journey || strcmp(t->msg_id, id->valuestring) != 0)
      continue;
    const char *what = strcmp(dot + 1, "bounced") == 0 ? "failed" : dot + 1;
    stats_count(core, t->journey, "channel", t->channel, what, 1);
    return;
  }
}

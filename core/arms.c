/* Experiment arms kept with their conversation (arms.h). */
#include "arms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "stats.h"
#include "store/smap.h"

const struct conv_arm *arms_find(const struct conv *cv, const char *experiment)
{
  for (size_t i = 0; i < cv->n_arms; i++)
    if (strcmp(cv->arms[i].experiment, experiment) == 0)
      return &cv->arms[i];
  return NULL;
}

/* The arm a test forced for this contact and experiment ("contact\x1fexperiment" in
 * core->forced_arms), or NULL: the daemon never has any. */
static const char *forced(const struct core *core, const char *contact, const char *experiment)
{
  char key[600];
  if (!core->forced_arms)
    return NULL;
  snprintf(key, sizeof key, "%s" STATS_SEP "%s", contact, experiment);
  return smap_get(core->forced_arms, key);
}

int arms_record(struct core *core, struct contact *ct, struct conv *cv, const char *experiment, const char *arm,
                int holdout, char *out, size_t outlen)
{
  const struct conv_arm *had = arms_find(cv, experiment);
  if (had) {
    snprintf(out, outlen, "%s", had->arm);
    return 0;
  }
  const char *force = forced(core, ct->id, experiment);
  if (force) {
    arm = force;
    holdout = strcmp(force, "holdout") == 0;
  }
  struct conv_arm *arms = realloc(cv->arms, (cv->n_arms + 1) * sizeof *arms);
  if (arms)
    cv->arms = arms;
  char *e = strdup(experiment), *a = strdup(arm);
  if (!arms || !e || !a) {
    free(e);
    free(a);
    snprintf(out, outlen, "out of memory");
    return -1;
  }
  cv->arms[cv->n_arms++] = (struct conv_arm){e, a, holdout};
  int64_t now = clock_now_ms(&core->clock);
  size_t lim = core->cfg->history_limit;
  history_add(&cv->history, lim, now, "arm %s=%s%s", experiment, arm, holdout ? " (holdout)" : "");
  history_add(&ct->history, lim, now, "arm %s=%s%s (%s)", experiment, arm, holdout ? " (holdout)" : "",
              cv->journey);
  stats_count(core, cv->journey, "assigned", experiment, arm, 1);
  snprintf(out, outlen, "%s", arm);
  return 0;
}

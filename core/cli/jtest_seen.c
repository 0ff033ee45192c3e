/* What a test saw, kept for its expectations and its TAP lines: the messages its channels
 * would have sent, the conversations that failed and the speaks the gate refused, and what
 * its journeys logged. Each is handed over by a callback from deep in the core, with no
 * way to answer an error: what cannot be kept for want of memory is noted in t->lost, which
 * fails the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "jtest_int.h"
#include "outbox.h"

/* Room for one more of n elements of `size` bytes in p (capacity *cap): p itself, or p
 * moved, or NULL out of memory (p and *cap unchanged). */
void *jt_grow(void *p, size_t *cap, size_t n, size_t size)
{
  if (n < *cap)
    return p;
  size_t more = *cap ? *cap * 2 : 16;
  if (more > SIZE_MAX / size || !(p = realloc(p, more * size)))
    return NULL;
  *cap = more;
  return p;
}

/* *out[i] = a copy of in[i] (NULL stays NULL), for n strings. Out of memory, frees the
 * copies made, leaves every *out[i] NULL and returns -1. */
static int dup_all(char **const out[], const char *const in[], size_t n)
{
  for (size_t i = 0; i < n; i++) {
    *out[i] = in[i] ? strdup(in[i]) : NULL;
    if (in[i] && !*out[i]) {
      for (size_t k = 0; k < i; k++) {
        free(*out[k]);
        *out[k] = NULL;
      }
      return -1;
    }
  }
  return 0;
}

/* The outbox's capture sink: a message spoken. */
void jt_capture(void *ud, const struct parley_msg *m)
{
  struct jt *t = ud;
  struct jt_msg *msgs = jt_grow(t->msgs, &t->cap_msgs, t->n_msgs, sizeof *msgs);
  if (!msgs) {
    t->lost = "a message spoken";
    return;
  }
  t->msgs = msgs;
  struct jt_msg *c = &msgs[t->n_msgs];
  *c = (struct jt_msg){.at_ms = clock_now_ms(&t->core->clock)};
  char **const out[] = {&c->id,            &c->channel, &c->contact, &c->journey,
                        &c->template_name, &c->subject, &c->text,    &c->html};
  const char *const in[] = {m->id,            m->channel, m->contact, m->journey,
                            m->template_name, m->subject, m->text,    m->html};
  if (dup_all(out, in, sizeof in / sizeof in[0]) < 0)
    t->lost = "a message spoken";
  else
    t->n_msgs++;
}

static void msgs_free(struct jt *t)
{
  for (size_t i = 0; i < t->n_msgs; i++) {
    struct jt_msg *m = &t->msgs[i];
    char *fields[] = {m->id, m->channel, m->contact, m->journey, m->template_name, m->subject, m->text, m->html};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      free(fields[f]);
  }
  free(t->msgs);
  t->msgs = NULL;
  t->n_msgs = t->cap_msgs = 0;
}

/* The core's incident callback: a conversation failed, or the gate refused a speak. */
void jt_on_incident(void *ud, const struct core_incident *in)
{
  struct jt *t = ud;
  struct jt_incident *incidents = jt_grow(t->incidents, &t->cap_incidents, t->n_incidents, sizeof *incidents);
  if (!incidents) {
    t->lost = "a failure or refusal";
    return;
  }
  t->incidents = incidents;
  const struct conv *cv = in->conv;
  struct jt_incident *c = &incidents[t->n_incidents];
  *c = (struct jt_incident){.conv_id = cv->id};
  char **const out[] = {&c->contact, &c->journey, &c->step, &c->channel, &c->template_name, &c->why};
  const char *const from[] = {cv->contact, cv->journey,       cv->step ? cv->step : "",
                              in->channel, in->template_name, in->why};
  if (dup_all(out, from, sizeof from / sizeof from[0]) < 0)
    t->lost = "a failure or refusal";
  else
    t->n_incidents++;
}

static void incidents_free(struct jt *t)
{
  for (size_t i = 0; i < t->n_incidents; i++) {
    struct jt_incident *in = &t->incidents[i];
    char *fields[] = {in->contact, in->journey, in->step, in->channel, in->template_name, in->why};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
      free(fields[f]);
  }
  free(t->incidents);
  t->incidents = NULL;
  t->n_incidents = t->cap_incidents = 0;
}

/* Forgets the messages and incidents of the test that ended. */
void jt_forget(struct jt *t)
{
  msgs_free(t);
  incidents_free(t);
}

/* "# <prefix><line>" in t->notes for every line of text. Returns 0, or -1 out of memory,
 * the line dropped whole. */
int jt_note(struct jt *t, const char *prefix, const char *text)
{
  for (const char *p = text;;) {
    size_t n = strcspn(p, "\n"), start = t->notes.len;
    if (buf_add(&t->notes, "# ", 2) < 0 || buf_add(&t->notes, prefix, strlen(prefix)) < 0 ||
        buf_add(&t->notes, p, n) < 0 || buf_add(&t->notes, "\n", 1) < 0) {
      t->notes.len = start; /* the pieces of this line already added go too */
      if (t->notes.p)
        t->notes.p[start] = '\0';
      return -1;
    }
    if (!p[n])
      break;
    p += n + 1;
  }
  return 0;
}

/* The core's log during a test, from the loading of the journeys on. A journey's print
 * and c:log (subsystem "journey" at INFO, with journey= and contact= fields, or file= while
 * the file loads: lhost_api.c) become "# [journey contact] message", "# [greet.lua]
 * message", under the test; other records at WARN or above "# WARN subsystem: message
 * key=value", but for the conversations that failed, which the runner reports itself
 * (jt_on_incident); the rest is dropped. */
void jt_on_log(void *ud, enum log_level lvl, const char *subsys, const char *msg, va_list fields)
{
  struct jt *t = ud;
  const char *journey = NULL, *contact = NULL, *file = NULL;
  char text[2048], prefix[512];
  size_t used = (size_t)snprintf(text, sizeof text, "%s", msg);
  for (const char *k; (k = va_arg(fields, const char *));) {
    const char *v = va_arg(fields, const char *);
    journey = strcmp(k, "journey") == 0 ? v : journey;
    contact = strcmp(k, "contact") == 0 ? v : contact;
    file = strcmp(k, "file") == 0 && v ? v : file;
    if (used < sizeof text)
      used += (size_t)snprintf(text + used, sizeof text - used, " %s=%s", k, v ? v : "");
  }
  int rc = 0;
  if (strcmp(subsys, "journey") == 0 && lvl == LOG_INFO && (journey || file)) {
    if (journey)
      snprintf(prefix, sizeof prefix, "[%s%s%s] ", journey, contact ? " " : "", contact ? contact : "");
    else
      snprintf(prefix, sizeof prefix, "[%s] ", strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
    rc = jt_note(t, prefix, msg);
  } else if (lvl >= LOG_WARN && !(strcmp(subsys, "conv") == 0 && lvl < LOG_ERROR)) {
    snprintf(prefix, sizeof prefix, "%s %s: ", log_level_name(lvl), subsys);
    rc = jt_note(t, prefix, text);
  }
  if (rc < 0)
    t->lost = "all that the journeys logged";
}

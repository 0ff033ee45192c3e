/* The expectations of a test against what it saw: whether a message matches the pattern
 * of an expect_spoken, an incident that of an expect_failure or expect_refused, and, when
 * nothing does, what was there, for the failure message: each message with its subject
 * and the start of its text, each failure or refusal on one line. At the end of a test,
 * the failures and refusals no expectation took fail it, each named. */
#include <stdio.h>
#include <string.h>

#include "jtest_int.h"

/* ---- messages ---- */

/* What an expect_spoken may name, in the order shown. */
const char *const jt_msg_keys[] = {"channel", "contact", "journey", "template", "subject", "text", "html", NULL};

/* Exact for channel, contact, journey, template; "contains" for subject, text, html. */
int jt_msg_matches(lua_State *L, int pat, const struct jt_msg *m)
{
  static const char *const exact[] = {"channel", "contact", "journey", "template"};
  static const char *const part[] = {"subject", "text", "html"};
  const char *ex[] = {m->channel, m->contact, m->journey, m->template_name};
  const char *pa[] = {m->subject, m->text, m->html};
  int ok = 1;
  for (int i = 0; i < 4 && ok; i++) {
    if (lua_getfield(L, pat, exact[i]) != LUA_TNIL)
      ok = ex[i] && strcmp(ex[i], lua_tostring(L, -1)) == 0;
    lua_pop(L, 1);
  }
  for (int i = 0; i < 3 && ok; i++) {
    if (lua_getfield(L, pat, part[i]) != LUA_TNIL)
      ok = pa[i] && strstr(pa[i], lua_tostring(L, -1)) != NULL;
    lua_pop(L, 1);
  }
  return ok;
}

#define JT_EXCERPT_CHARS 200 /* of a message part shown in a failure */

static size_t utf8_chars(const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* "\n      text: \"Hi Ann,\\nThanks...\"", one line, the part's first JT_EXCERPT_CHARS
 * characters (whole UTF-8 characters), line breaks and tabs shown as \n and \t. */
static void add_excerpt(luaL_Buffer *b, const char *label, const char *s)
{
  size_t total = utf8_chars(s), chars = 0;
  char head[64];
  if (total > JT_EXCERPT_CHARS)
    snprintf(head, sizeof head, "\n      %s (first %d of %zu characters): \"", label, JT_EXCERPT_CHARS, total);
  else
    snprintf(head, sizeof head, "\n      %s: \"", label);
  luaL_addstring(b, head);
  for (const char *p = s; *p; p++) {
    if (((unsigned char)*p & 0xC0) != 0x80 && chars++ == JT_EXCERPT_CHARS)
      break;
    if (*p == '\n' || *p == '\t' || *p == '\r')
      luaL_addchar(b, '\\'), luaL_addchar(b, *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
    else
      luaL_addchar(b, *p);
  }
  luaL_addchar(b, '"');
}

/* Per message not yet expected, for failure messages: "email/welcome to ann (journey
 * welcome)", then its subject and the start of its text, which a marketer compares with
 * what was expected; the html too when the pattern (at index pat, 0: none) names it. */
void jt_describe_msgs(lua_State *L, int pat, luaL_Buffer *b, const struct jt *t)
{
  int any = 0, html = pat && lua_getfield(L, pat, "html") != LUA_TNIL;
  if (pat)
    lua_pop(L, 1);
  for (size_t i = 0; i < t->n_msgs; i++) {
    const struct jt_msg *m = &t->msgs[i];
    if (m->expected)
      continue;
    char line[512];
    snprintf(line, sizeof line, "\n    %s/%s to %s (journey %s)", m->channel, m->template_name, m->contact,
             m->journey);
    luaL_addstring(b, line);
    if (m->subject)
      add_excerpt(b, "subject", m->subject);
    if (m->text)
      add_excerpt(b, "text", m->text);
    if (m->html && html)
      add_excerpt(b, "html", m->html);
    any = 1;
  }
  if (!any)
    luaL_addstring(b, " nothing");
}

/* The pattern as written, {key = "value", ...}, in the order of `keys` (NULL-ended). */
void jt_pattern_text(lua_State *L, int pat, const char *const *keys, luaL_Buffer *b)
{
  int first = 1;
  luaL_addchar(b, '{');
  for (size_t i = 0; keys[i]; i++) {
    if (lua_getfield(L, pat, keys[i]) != LUA_TNIL) {
      lua_pushfstring(L, "%s%s = \"%s\"", first ? "" : ", ", keys[i], lua_tostring(L, -1));
      lua_remove(L, -2);
      luaL_addvalue(b);
      first = 0;
    } else {
      lua_pop(L, 1);
    }
  }
  luaL_addchar(b, '}');
}

/* ---- failures and refusals ---- */

/* What a pattern may name, in the order shown; the last key (the error or the reason) is
 * matched as "contains", the others exactly. */
const char *const jt_failure_keys[] = {"contact", "journey", "step", "error", NULL};
const char *const jt_refusal_keys[] = {"contact", "journey", "step", "channel", "template", "reason", NULL};

static const char *const *incident_keys(const struct jt_incident *in)
{
  return in->channel ? jt_refusal_keys : jt_failure_keys;
}

/* The incident's values in the order of incident_keys. */
static void incident_values(const struct jt_incident *in, const char *vals[6])
{
  const char *fv[] = {in->contact, in->journey, in->step, in->why};
  const char *rv[] = {in->contact, in->journey, in->step, in->channel, in->template_name, in->why};
  memcpy(vals, in->channel ? rv : fv, (in->channel ? 6 : 4) * sizeof *vals);
}

int jt_incident_matches(lua_State *L, int pat, const struct jt_incident *in)
{
  const char *const *keys = incident_keys(in);
  const char *vals[6];
  incident_values(in, vals);
  int ok = 1;
  for (size_t i = 0; keys[i] && ok; i++) {
    if (lua_getfield(L, pat, keys[i]) != LUA_TNIL)
      ok = keys[i + 1] ? strcmp(vals[i], lua_tostring(L, -1)) == 0 : strstr(vals[i], lua_tostring(L, -1)) != NULL;
    lua_pop(L, 1);
  }
  return ok;
}

/* "ann in journey boom, step start: [sms/hi: ]why", one line. */
static void incident_line(const struct jt_incident *in, char *line, size_t len)
{
  if (in->channel)
    snprintf(line, len, "%s in journey %s, step %s: %s/%s: %s", in->contact, in->journey, in->step, in->channel,
             in->template_name, in->why);
  else
    snprintf(line, len, "%s in journey %s, step %s: %s", in->contact, in->journey, in->step, in->why);
}

/* The incident as a table of the fields its pattern may name. */
void jt_push_incident(lua_State *L, const struct jt_incident *in)
{
  const char *const *keys = incident_keys(in);
  const char *vals[6];
  incident_values(in, vals);
  lua_createtable(L, 0, 6);
  for (size_t i = 0; keys[i]; i++) {
    lua_pushstring(L, vals[i]);
    lua_setfield(L, -2, keys[i]);
  }
}

/* Per failure (refusals: per refusal) not yet expected, one line each, for the failure
 * message of an expect_failure (expect_refused); " nothing" when there is none. */
void jt_describe_incidents(luaL_Buffer *b, const struct jt *t, int refusals)
{
  int any = 0;
  for (size_t i = 0; i < t->n_incidents; i++) {
    char line[2048];
    if (t->incidents[i].expected || !t->incidents[i].channel != !refusals)
      continue;
    incident_line(&t->incidents[i], line, sizeof line);
    luaL_addstring(b, "\n    ");
    luaL_addstring(b, line);
    any = 1;
  }
  if (!any)
    luaL_addstring(b, " nothing");
}

/* At the end of a test: every failure and refusal no expectation took, one line each after
 * what `why` already says. Returns how many. */
int jt_unexpected_incidents(const struct jt *t, char *why, size_t len)
{
  int n = 0;
  size_t used = strlen(why);
  for (size_t i = 0; i < t->n_incidents && used + 1 < len; i++) {
    const struct jt_incident *in = &t->incidents[i];
    char line[2048];
    if (in->expected)
      continue;
    incident_line(in, line, sizeof line);
    used += (size_t)snprintf(why + used, len - used, "%sunexpected %s: %s", used ? "\n" : "",
                             in->channel ? "refusal" : "failure", line);
    n++;
  }
  if (n && used + 1 < len)
    snprintf(why + used, len - used, "\n(when the test means it: t:expect_failure{...}, t:expect_refused{...})");
  return n;
}


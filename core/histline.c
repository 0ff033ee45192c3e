/* The lines of a contact's history, written and read back in one place (histline.h). */
#include "histline.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

/* The event's data as the line keeps it: its top-level scalars, in order, while they fit.
 * A value that would not fit is left out whole (never a cut JSON text). */
static void data_json(const cJSON *data, char *out, size_t len)
{
  out[0] = '\0';
  if (!cJSON_IsObject(data) || len < 3)
    return;
  size_t used = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, data)
  {
    int text = cJSON_IsString(v);
    if (!(text || cJSON_IsNumber(v) || cJSON_IsBool(v)) || (text && strlen(v->valuestring) > HISTLINE_DATA_TEXT))
      continue;
    cJSON *pair = cJSON_CreateObject();
    cJSON *copy = cJSON_Duplicate(v, 0);
    char *s = NULL;
    if (pair && copy && cJSON_AddItemToObject(pair, v->string, copy))
      copy = NULL, s = cJSON_PrintUnformatted(pair);
    cJSON_Delete(copy);
    cJSON_Delete(pair);
    size_t n = s ? strlen(s) - 2 : 0; /* `"k":v` without its braces */
    if (s && n > 0 && used + n + 2 < len) {
      out[used] = used ? ',' : '{';
      used++;
      memcpy(out + used, s + 1, n);
      used += n;
    }
    cJSON_free(s);
  }
  if (used) {
    out[used++] = '}';
    out[used] = '\0';
  }
}

void histline_event(char *out, size_t len, const char *type, const char *id, const cJSON *data)
{
  char kept[HISTLINE_DATA_MAX + 1];
  data_json(data, kept, sizeof kept);
  snprintf(out, len, "event %s%s%s%s%s", type, id ? " id=" : "", id ? id : "", kept[0] ? " data=" : "", kept);
}

void histline_entered(char *out, size_t len, const char *journey)
{
  snprintf(out, len, "entered %s", journey);
}

void histline_spoke(char *out, size_t len, const char *channel, const char *template_name,
                    const char *journey, const char *msg_id, const char *info)
{
  snprintf(out, len, "spoke %s/%s (%s) id=%s%s", channel, template_name, journey, msg_id, info ? info : "");
}

void histline_refused(char *out, size_t len, const char *channel, const char *template_name,
                      const char *journey, const char *reason)
{
  snprintf(out, len, "refused %s/%s (%s): %s", channel, template_name, journey, reason);
}

void histline_held(char *out, size_t len, const char *channel, const char *template_name,
                   const char *journey, const char *msg_id, const char *until_local)
{
  snprintf(out, len, "held %s/%s (%s) id=%s until %s (quiet hours)", channel, template_name, journey, msg_id,
           until_local);
}

void histline_offered(char *out, size_t len, const char *offer, const char *journey,
                      const char *channel, const char *template_name)
{
  if (channel && template_name)
    snprintf(out, len, "offered %s (%s) on %s/%s", offer, journey, channel, template_name);
  else
    snprintf(out, len, "offered %s (%s)", offer, journey);
}

/* Cuts s at the first `sep` (NUL there) and returns what follows it; NULL when absent. */
static char *cut(char *s, const char *sep)
{
  char *at = s ? strstr(s, sep) : NULL;
  if (!at)
    return NULL;
  *at = '\0';
  return at + strlen(sep);
}

/* "CHANNEL/TEMPLATE (JOURNEY)" then what follows `after` (") id=", "): ", ")"). */
static char *read_route(char *s, const char *after, struct histline *out)
{
  char *tmpl = cut(s, "/");
  char *journey = cut(tmpl, " (");
  char *rest = cut(journey, after);
  if (!rest)
    return NULL;
  out->channel = s;
  out->template_name = tmpl;
  out->journey = journey;
  return rest;
}

static void read_event(char *s, struct histline *out)
{
  char *data = strstr(s, " data={");
  if (data) {
    *data = '\0';
    out->data = data + 6;
  }
  char *id = cut(s, " id=");
  out->type = s;
  out->id = id;
}

static void read_offered(char *s, struct histline *out)
{
  char *journey = cut(s, " (");
  char *route = cut(journey, ") on ");
  if (journey && !route) {
    size_t n = strlen(journey);
    if (n && journey[n - 1] == ')')
      journey[n - 1] = '\0';
  }
  out->offer = s;
  out->journey = journey;
  if (route && (out->template_name = cut(route, "/")))
    out->channel = route;
}

void histline_parse(const char *line, char *buf, size_t len, struct histline *out)
{
  memset(out, 0, sizeof *out);
  snprintf(buf, len, "%s", line ? line : "");
  char *rest = cut(buf, " ");
  out->kind = buf;
  if (!rest)
    return;
  if (strcmp(buf, "event") == 0) {
    read_event(rest, out);
  } else if (strcmp(buf, "entered") == 0) {
    out->journey = rest;
  } else if (strcmp(buf, "spoke") == 0 || strcmp(buf, "held") == 0) {
    char *id = read_route(rest, ") id=", out);
    cut(id, " "); /* what a channel measured, or " until ..." */
    out->id = id;
  } else if (strcmp(buf, "refused") == 0) {
    out->reason = read_route(rest, "): ", out);
  } else if (strcmp(buf, "offered") == 0) {
    read_offered(rest, out);
  }
}

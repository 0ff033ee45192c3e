/* The JSON both dialects read and write: a value at a dotted path in a provider's
 * answer or webhook ("messages.0.message-id"), and the generic dialect's body template,
 * whose {{placeholders}} are replaced by JSON-escaped values (cJSON escapes them), so a
 * text with quotes or newlines can never break out of its string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "sms.h"

#define PATH_MAX_SEGMENT 64

/* One segment of `path` from *p into seg; 0, or -1 when too long. */
static int next_segment(const char **p, char *seg)
{
  size_t n = strcspn(*p, ".");
  if (n == 0 || n >= PATH_MAX_SEGMENT)
    return -1;
  memcpy(seg, *p, n);
  seg[n] = '\0';
  *p += n + ((*p)[n] == '.');
  return 0;
}

const char *sms_json_path(const struct cJSON *doc, const char *path, char *buf, size_t cap)
{
  const cJSON *v = doc;
  char seg[PATH_MAX_SEGMENT];
  if (path == NULL || *path == '\0')
    return NULL;
  for (const char *p = path; *p && v;) {
    if (next_segment(&p, seg) < 0)
      return NULL;
    if (cJSON_IsArray(v)) {
      char *end;
      long i = strtol(seg, &end, 10);
      v = *end == '\0' && i >= 0 ? cJSON_GetArrayItem(v, (int)i) : NULL;
    } else {
      v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, seg) : NULL;
    }
  }
  if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
    snprintf(buf, cap, "%s", v->valuestring);
    return buf;
  }
  if (cJSON_IsNumber(v)) {
    snprintf(buf, cap, "%.17g", v->valuedouble);
    return buf;
  }
  return NULL;
}

/* The value of {{name}} (n bytes of it), JSON-escaped without its quotes, malloc'd. */
static char *escaped(const char *const *vars, const char *name, size_t n)
{
  for (size_t i = 0; vars[i]; i += 2) {
    if (strlen(vars[i]) != n || strncmp(vars[i], name, n) != 0)
      continue;
    cJSON *s = cJSON_CreateString(vars[i + 1] ? vars[i + 1] : "");
    char *q = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    if (q == NULL)
      return NULL;
    size_t len = strlen(q);
    memmove(q, q + 1, len - 2);
    q[len - 2] = '\0';
    return q;
  }
  return NULL;
}

/* A growing buffer: append n bytes; -1 when out of memory. */
static int put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
  if (*len + n + 1 > *cap) {
    size_t want = (*len + n + 1) * 2;
    char *p = realloc(*out, want);
    if (p == NULL)
      return -1;
    *out = p;
    *cap = want;
  }
  memcpy(*out + *len, s, n);
  *len += n;
  (*out)[*len] = '\0';
  return 0;
}

char *sms_json_render(const char *tmpl, const char *const *vars, char *why, size_t len)
{
  char *out = NULL;
  size_t n = 0, cap = 0;
  const char *p = tmpl;
  if (put(&out, &n, &cap, "", 0) < 0)
    goto oom;
  for (const char *open; (open = strstr(p, "{{")) != NULL;) {
    const char *close = strstr(open + 2, "}}");
    if (close == NULL) {
      snprintf(why, len, "an unclosed {{ in the template");
      goto fail;
    }
    char *v = escaped(vars, open + 2, (size_t)(close - open - 2));
    if (v == NULL) {
      snprintf(why, len, "unknown placeholder {{%.*s}} in the template", (int)(close - open - 2), open + 2);
      goto fail;
    }
    int bad = put(&out, &n, &cap, p, (size_t)(open - p)) < 0 || put(&out, &n, &cap, v, strlen(v)) < 0;
    free(v);
    if (bad)
      goto oom;
    p = close + 2;
  }
  if (put(&out, &n, &cap, p, strlen(p)) < 0)
    goto oom;
  return out;
oom:
  snprintf(why, len, "out of memory");
fail:
  free(out);
  return NULL;
}

/* A template source over cJSON values: a contact's profile, a journey's params, and the
 * data tests and the fuzzer render with. cJSON lists are linked, so a loop reads an element
 * from the one before it rather than counting from the start each time. */
#include <cJSON.h>
#include <string.h>

#include "tmpl.h"

void tmpl_json_val(const void *node, struct tmpl_val *out)
{
  const cJSON *v = node;
  memset(out, 0, sizeof *out);
  out->h = v;
  if (v == NULL || cJSON_IsNull(v)) {
    out->kind = TMPL_NULL;
  } else if (cJSON_IsBool(v)) {
    out->kind = TMPL_BOOL;
    out->b = cJSON_IsTrue(v);
  } else if (cJSON_IsNumber(v)) {
    out->kind = TMPL_NUM;
    out->num = v->valuedouble;
  } else if (cJSON_IsString(v) && v->valuestring) {
    out->kind = TMPL_STR;
    out->s = v->valuestring;
    out->len = strlen(v->valuestring);
  } else if (cJSON_IsArray(v)) {
    out->kind = TMPL_LIST;
    out->n = (size_t)cJSON_GetArraySize(v);
  } else if (cJSON_IsObject(v)) {
    out->kind = TMPL_MAP;
  } else {
    out->kind = TMPL_OTHER;
    out->what = "raw JSON";
  }
}

int tmpl_json_field(const struct tmpl_val *in, const char *name, size_t n, struct tmpl_val *out)
{
  const cJSON *obj = in->h;
  for (const cJSON *c = obj ? obj->child : NULL; c; c = c->next)
    if (c->string && strlen(c->string) == n && memcmp(c->string, name, n) == 0) {
      tmpl_json_val(c, out);
      return 1;
    }
  return 0;
}

int tmpl_json_item(const struct tmpl_val *in, size_t i, const struct tmpl_val *prev,
                   struct tmpl_val *out)
{
  const cJSON *list = in->h;
  const cJSON *at = prev ? ((const cJSON *)prev->h)->next : cJSON_GetArrayItem(list, (int)i);
  tmpl_json_val(at, out);
  return 1;
}

static int json_field(void *ud, const struct tmpl_val *in, const char *name, size_t n,
                      struct tmpl_val *out)
{
  struct tmpl_val root;
  if (in == NULL)
    tmpl_json_val(ud, &root), in = &root;
  return tmpl_json_field(in, name, n, out);
}

static int json_item(void *ud, const struct tmpl_val *in, size_t i, const struct tmpl_val *prev,
                     struct tmpl_val *out)
{
  (void)ud;
  return tmpl_json_item(in, i, prev, out);
}

void tmpl_json_source(struct tmpl_source *src, const void *root)
{
  memset(src, 0, sizeof *src);
  src->field = json_field;
  src->item = json_item;
  src->ud = (void *)root;
}

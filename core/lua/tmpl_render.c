/* Rendering a compiled template: one pass over its nodes with a stack of contexts (the
 * elements of the sections being shown), reading values through the caller's source
 * without copying them. Nothing is allocated but the output.
 *
 * Decisions (Mustache's, with mustache.js's truthiness): a name is looked up in the
 * innermost section's element first, then outwards, then in the root; the rest of a dotted
 * name is read inside what the first part found. A section's value is falsy when it is
 * missing, null, false, an empty string, 0 or an empty list; a list repeats the section
 * once per element, any other truthy value shows it once with the value as its context. A
 * missing value outside a section's test is an error unless a fallback is written; a value
 * missing OR empty takes the fallback (a blank first name should read "Hi there", not
 * "Hi "). Fallbacks are template text, so they are not HTML-escaped. A one-line rendering
 * (TMPL_LINE) is folded after the fact, so the template's own line breaks and those of
 * values are treated alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

enum { R_OK = 0, R_OOM = -1, R_FAIL = -2 };

struct render {
  const struct tmpl *t;
  const struct tmpl_source *src;
  const struct tmpl_env *env;
  enum tmpl_mode mode;
  struct buf b;
  struct tmpl_val ctx[TMPL_MAX_DEPTH]; /* the elements of the sections being shown */
  int depth;
  char *err;
  size_t errlen;
};

static int mark(const struct render *r)
{
  return r->src->mark ? r->src->mark(r->src->ud) : 0;
}

static void release(const struct render *r, int m)
{
  if (r->src->release)
    r->src->release(r->src->ud, m);
}

static int fail(struct render *r, const struct tmpl_node *nd, const char *what)
{
  snprintf(r->err, r->errlen, "%s line %d: '%s' %s", r->t->name, nd->line, nd->text, what);
  return R_FAIL;
}

/* "items.1" is a list's first element, as Lua numbers them; 0 when `seg` is no number. */
static size_t list_index(const char *seg, size_t n)
{
  size_t at = 0;
  if (n == 0 || n > 6 || strspn(seg, "0123456789") < n)
    return 0;
  for (size_t i = 0; i < n; i++)
    at = at * 10 + (size_t)(seg[i] - '0');
  return at;
}

/* Finds the node's name: 1 found (in *out), 0 missing, R_FAIL when the source failed. */
static int resolve(struct render *r, const struct tmpl_node *nd, struct tmpl_val *out)
{
  const char *name = nd->text;
  if (name[0] == '.' && name[1] == '\0') {
    *out = r->ctx[r->depth - 1];
    return 1;
  }
  size_t n = strcspn(name, ".");
  int rc = 0;
  for (int d = r->depth - 1; d >= 0 && rc == 0; d--)
    if (r->ctx[d].kind == TMPL_MAP)
      rc = r->src->field(r->src->ud, &r->ctx[d], name, n, out);
  if (rc == 0)
    rc = r->src->field(r->src->ud, NULL, name, n, out);
  while (rc == 1 && name[n] == '.') {
    struct tmpl_val in = *out;
    name += n + 1;
    n = strcspn(name, ".");
    size_t at = list_index(name, n);
    if (in.kind == TMPL_MAP)
      rc = r->src->field(r->src->ud, &in, name, n, out);
    else if (in.kind == TMPL_LIST && at >= 1 && at <= in.n)
      rc = r->src->item(r->src->ud, &in, at - 1, NULL, out);
    else
      rc = 0;
  }
  if (rc < 0) {
    snprintf(r->err, r->errlen, "%s line %d: '%s': %s", r->t->name, nd->line, nd->text, out->what ? out->what : "cannot be read");
    return R_FAIL;
  }
  if (rc == 1 && out->kind == TMPL_NULL)
    return 0;
  return rc;
}

static int add_escaped(struct buf *b, const char *s, size_t n)
{
  const char *run = s;
  for (const char *end = s + n; s < end; s++) {
    const char *rep = NULL;
    switch (*s) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&#39;"; break;
    default: continue;
    }
    if (buf_add(b, run, (size_t)(s - run)) < 0 || buf_add(b, rep, strlen(rep)) < 0)
      return R_OOM;
    run = s + 1;
  }
  return buf_add(b, run, (size_t)(s - run));
}

static int add_value(struct render *r, const struct tmpl_node *nd, const char *s, size_t n)
{
  if (r->mode == TMPL_HTML && !nd->raw)
    return add_escaped(&r->b, s, n);
  return buf_add(&r->b, s, n);
}

static int empty_value(const struct tmpl_val *v)
{
  return v->kind == TMPL_STR && v->len == 0;
}

/* A list, a table or a function where a value was expected: says what to write instead. */
static int not_shown(struct render *r, const struct tmpl_node *nd, const struct tmpl_val *v)
{
  char why[400];
  if (v->kind == TMPL_LIST)
    snprintf(why, sizeof why, "is a list, not a value a message can show (loop over it with "
             "{{#%s}}...{{/%s}})", nd->text, nd->text);
  else if (v->kind == TMPL_MAP)
    snprintf(why, sizeof why, "is a table, not a value a message can show (use one of its "
             "fields, such as {{%s.name}})", nd->text);
  else
    snprintf(why, sizeof why, "is a %s, not a value a message can show", v->what ? v->what : "value");
  return fail(r, nd, why);
}

static int render_var(struct render *r, const struct tmpl_node *nd)
{
  struct tmpl_val v = {0};
  char num[64], why[200];
  size_t len;
  int found = resolve(r, nd, &v);
  if (found < 0)
    return found;
  if (nd->dflt && (!found || empty_value(&v)))
    return buf_add(&r->b, nd->dflt, strlen(nd->dflt));
  if (!found) {
    snprintf(r->err, r->errlen, "%s line %d: no value for '%s' (give it, or write {{%s|default}})",
             r->t->name, nd->line, nd->text, nd->text);
    return R_FAIL;
  }
  if (nd->fmt.kind != FMT_NONE) {
    char text[TMPL_MAX_FORMATTED];
    int n = tmpl_format(&nd->fmt, &v, r->env, text, why, sizeof why);
    return n < 0 ? fail(r, nd, why) : add_value(r, nd, text, (size_t)n);
  }
  const char *s = tmpl_scalar_text(&v, num, sizeof num, &len);
  return s ? add_value(r, nd, s, len) : not_shown(r, nd, &v);
}

static int truthy(const struct tmpl_val *v)
{
  switch (v->kind) {
  case TMPL_NULL: return 0;
  case TMPL_BOOL: return v->b;
  case TMPL_NUM: return v->is_int ? v->inum != 0 : v->num != 0;
  case TMPL_STR: return v->len > 0;
  case TMPL_LIST: return v->n > 0;
  default: return 1;
  }
}

static int render_range(struct render *r, size_t from, size_t to);

/* The body of a section shown with `v` as its context. */
static int render_body(struct render *r, const struct tmpl_node *nd, const struct tmpl_val *v)
{
  size_t self = (size_t)(nd - r->t->nodes);
  r->ctx[r->depth++] = *v;
  int rc = render_range(r, self + 1, nd->end);
  r->depth--;
  return rc;
}

static int render_list(struct render *r, const struct tmpl_node *nd, const struct tmpl_val *list)
{
  if (r->env && r->env->max_items && list->n > r->env->max_items) {
    char why[128];
    snprintf(why, sizeof why, "is a list of %zu elements, more than the %zu a section may show",
             list->n, r->env->max_items);
    return fail(r, nd, why);
  }
  struct tmpl_val prev = {0}, cur = {0};
  int rc = R_OK, m = mark(r);
  for (size_t i = 0; i < list->n && rc == R_OK; i++) {
    int m_item = mark(r);
    if (r->src->item(r->src->ud, list, i, i ? &prev : NULL, &cur) < 0) {
      release(r, m);
      return fail(r, nd, cur.what ? cur.what : "has an element that cannot be read");
    }
    rc = render_body(r, nd, &cur);
    prev = cur; /* a walking source reads its next element from it (a cJSON node) */
    release(r, m_item);
  }
  release(r, m);
  return rc;
}

static int render_section(struct render *r, const struct tmpl_node *nd, size_t *next)
{
  struct tmpl_val v = {0};
  int m = mark(r), rc = resolve(r, nd, &v);
  *next = nd->end;
  if (rc >= 0) {
    int show = rc == 1 && truthy(&v);
    if (nd->kind == NODE_INVERTED)
      rc = show ? R_OK : render_range(r, (size_t)(nd - r->t->nodes) + 1, nd->end);
    else if (!show)
      rc = R_OK;
    else
      rc = v.kind == TMPL_LIST ? render_list(r, nd, &v) : render_body(r, nd, &v);
  }
  release(r, m);
  return rc;
}

static int render_range(struct render *r, size_t from, size_t to)
{
  for (size_t i = from; i < to;) {
    const struct tmpl_node *nd = &r->t->nodes[i];
    int rc;
    size_t next = i + 1;
    if (nd->kind == NODE_TEXT) {
      rc = buf_add(&r->b, nd->text, nd->len);
    } else if (nd->kind == NODE_VAR) {
      int m = mark(r);
      rc = render_var(r, nd);
      release(r, m);
    } else {
      rc = render_section(r, nd, &next);
    }
    if (rc == R_OK && r->env && r->env->max_bytes && r->b.len > r->env->max_bytes) {
      snprintf(r->err, r->errlen, "%s line %d: the message grows to more than the %zu allowed (%s)",
               r->t->name, nd->line, r->env->max_bytes,
               r->env->max_bytes_name ? r->env->max_bytes_name : "bytes");
      rc = R_FAIL;
    }
    if (rc != R_OK)
      return rc;
    i = next;
  }
  return R_OK;
}

/* Bytes of the control character at s, 0 when there is none: C0 controls (CR, LF, tab...),
 * DEL, and in UTF-8 the C1 controls U+0080..U+009F (NEL among them) and the line and
 * paragraph separators U+2028/U+2029, which some mail readers also break lines at. */
static size_t control_len(const unsigned char *s)
{
  if (*s == '\0')
    return 0;
  if (*s < 0x20 || *s == 0x7f)
    return 1;
  if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
    return 2;
  if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
    return 3;
  return 0;
}

/* In place: each run of control characters becomes one space, then blanks at either end
 * go. The result never grows. */
static void fold_line(char *s)
{
  unsigned char *rd = (unsigned char *)s, *w = rd;
  size_t n;
  while (*rd) {
    if (control_len(rd) == 0) {
      *w++ = *rd++;
      continue;
    }
    while ((n = control_len(rd)) > 0)
      rd += n;
    *w++ = ' ';
  }
  while (w > (unsigned char *)s && w[-1] == ' ')
    w--;
  *w = '\0';
  size_t lead = strspn(s, " ");
  memmove(s, s + lead, strlen(s + lead) + 1);
}

int tmpl_render(const struct tmpl *t, const struct tmpl_source *src, const struct tmpl_env *env,
                enum tmpl_mode mode, char **out, char *err, size_t errlen)
{
  struct render r = {.t = t, .src = src, .env = env, .mode = mode, .err = err, .errlen = errlen};
  *out = NULL;
  int m = mark(&r);
  int rc = render_range(&r, 0, t->n_nodes);
  release(&r, m);
  if (rc == R_OK && buf_add(&r.b, "", 1) < 0) /* the NUL */
    rc = R_OOM;
  if (rc == R_OOM)
    snprintf(err, errlen, "%s: out of memory", t->name);
  if (rc != R_OK) {
    buf_free(&r.b);
    return -1;
  }
  if (mode == TMPL_LINE)
    fold_line(r.b.p);
  *out = r.b.p;
  return 0;
}

/* Compiling a template: the text becomes a flat list of nodes (literal text, a value, a
 * section that knows where it ends), so a broken template is refused once at journey load,
 * naming its line, and rendering is a single pass with no parsing.
 *
 * Decisions: `{{ name }}` trims spaces around the name, the formatter and the fallback. A
 * section, inverted section, closing or comment tag alone on its line (blanks aside) takes
 * the whole line with it, as Mustache's spec says, so a loop written one tag per line leaves
 * no blank lines. Partials ({{> x}}) and set-delimiter tags ({{=<% %>=}}) are refused:
 * journeys keep one file per part, and {{ }} is the only syntax a reader has to know. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_int.h"

struct parser {
  struct tmpl *t;
  const char *src, *end;
  int line;
  size_t open[TMPL_MAX_DEPTH]; /* node index of each open section */
  int depth;
  char *err;
  size_t errlen;
};

static int oom(struct parser *ps)
{
  snprintf(ps->err, ps->errlen, "%s: out of memory", ps->t->name);
  return -1;
}

static struct tmpl_node *add_node(struct parser *ps, enum tmpl_node_kind kind)
{
  struct tmpl *t = ps->t;
  struct tmpl_node *nn = realloc(t->nodes, (t->n_nodes + 1) * sizeof *nn);
  if (nn == NULL)
    return NULL;
  t->nodes = nn;
  memset(&nn[t->n_nodes], 0, sizeof *nn);
  nn[t->n_nodes].kind = kind;
  nn[t->n_nodes].line = ps->line;
  return &nn[t->n_nodes++];
}

static void trim(const char **s, size_t *n)
{
  while (*n > 0 && isspace((unsigned char)**s))
    (*s)++, (*n)--;
  while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
    (*n)--;
}

static char *dup_n(const char *s, size_t n)
{
  char *r = malloc(n + 1);
  if (r) {
    memcpy(r, s, n);
    r[n] = '\0';
  }
  return r;
}

/* A dotted name: segments of letters, digits, '_' and '-', or "." alone (the element). */
static int valid_name(const char *k, size_t n)
{
  if (n == 1 && k[0] == '.')
    return 1;
  if (n == 0 || n > TMPL_MAX_NAME || k[0] == '.' || k[n - 1] == '.')
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (k[i] == '.' && k[i + 1] == '.')
      return 0;
    if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '.' && k[i] != '-')
      return 0;
  }
  return 1;
}

static int bad_name(struct parser *ps, const char *tag, size_t n)
{
  snprintf(ps->err, ps->errlen, "%s line %d: bad name in '{{%.*s}}' (letters, digits, '_', '-', "
           "dots between names)", ps->t->name, ps->line, (int)(n > 80 ? 80 : n), tag);
  return -1;
}

static int add_text(struct parser *ps, const char *s, size_t n)
{
  if (n == 0)
    return 0;
  struct tmpl_node *nd = add_node(ps, NODE_TEXT);
  if (nd == NULL || (nd->text = dup_n(s, n)) == NULL)
    return oom(ps);
  nd->len = n;
  return 0;
}

/* "name|formatter|fallback": the name, then at most one formatter, then anything else is
 * the fallback (pipes and all). */
static int parse_var(struct parser *ps, const char *in, size_t n, int raw)
{
  const char *bar = memchr(in, '|', n), *name = in;
  size_t name_n = bar ? (size_t)(bar - in) : n;
  trim(&name, &name_n);
  if (!valid_name(name, name_n))
    return bad_name(ps, in, n);
  if (name_n == 1 && name[0] == '.' && ps->depth == 0) {
    snprintf(ps->err, ps->errlen, "%s line %d: {{.}} (the element) outside a section",
             ps->t->name, ps->line);
    return -1;
  }
  struct tmpl_node *nd = add_node(ps, NODE_VAR);
  if (nd == NULL || (nd->text = dup_n(name, name_n)) == NULL)
    return oom(ps);
  nd->len = name_n;
  nd->raw = raw;
  while (bar) {
    const char *seg = bar + 1, *stop = in + n;
    bar = memchr(seg, '|', (size_t)(stop - seg));
    size_t seg_n = (size_t)((bar ? bar : stop) - seg);
    trim(&seg, &seg_n);
    char why[200];
    int rc = nd->fmt.kind == FMT_NONE ? tmpl_fmt_parse(seg, seg_n, &nd->fmt, why, sizeof why) : 0;
    if (rc < 0) {
      snprintf(ps->err, ps->errlen, "%s line %d: {{%.*s}}: %s", ps->t->name, ps->line,
               (int)(n > 80 ? 80 : n), in, why);
      return -1;
    }
    if (rc == 0) { /* the fallback: the rest of the tag */
      size_t rest = (size_t)(stop - seg);
      trim(&seg, &rest);
      if ((nd->dflt = dup_n(seg, rest)) == NULL)
        return oom(ps);
      break;
    }
  }
  return 0;
}

static int open_section(struct parser *ps, const char *in, size_t n, int inverted)
{
  const char *name = in + 1;
  size_t name_n = n - 1;
  trim(&name, &name_n);
  if (!valid_name(name, name_n))
    return bad_name(ps, in, n);
  if (ps->depth == TMPL_MAX_DEPTH) {
    snprintf(ps->err, ps->errlen, "%s line %d: sections nested more than %d deep", ps->t->name,
             ps->line, TMPL_MAX_DEPTH);
    return -1;
  }
  struct tmpl_node *nd = add_node(ps, inverted ? NODE_INVERTED : NODE_SECTION);
  if (nd == NULL || (nd->text = dup_n(name, name_n)) == NULL)
    return oom(ps);
  nd->len = name_n;
  ps->open[ps->depth++] = ps->t->n_nodes - 1;
  return 0;
}

static int close_section(struct parser *ps, const char *in, size_t n)
{
  const char *name = in + 1;
  size_t name_n = n - 1;
  trim(&name, &name_n);
  if (ps->depth == 0) {
    snprintf(ps->err, ps->errlen, "%s line %d: {{/%.*s}} closes no section", ps->t->name,
             ps->line, (int)(name_n > 80 ? 80 : name_n), name);
    return -1;
  }
  struct tmpl_node *open = &ps->t->nodes[ps->open[ps->depth - 1]];
  if (open->len != name_n || memcmp(open->text, name, name_n) != 0) {
    snprintf(ps->err, ps->errlen, "%s line %d: {{/%.*s}} does not close {{%c%s}} (line %d)",
             ps->t->name, ps->line, (int)(name_n > 80 ? 80 : name_n), name,
             open->kind == NODE_SECTION ? '#' : '^', open->text, open->line);
    return -1;
  }
  open->end = ps->t->n_nodes;
  ps->depth--;
  return 0;
}

/* One tag's inside (between the braces); `triple` for {{{ }}}. */
static int parse_tag(struct parser *ps, const char *in, size_t n, int triple)
{
  const char *s = in;
  size_t k = n;
  trim(&s, &k);
  if (triple)
    return parse_var(ps, s, k, 1);
  switch (k ? s[0] : '\0') {
  case '!': return 0;
  case '#': return open_section(ps, s, k, 0);
  case '^': return open_section(ps, s, k, 1);
  case '/': return close_section(ps, s, k);
  case '&': return parse_var(ps, s + 1, k - 1, 1);
  case '>':
  case '=':
  case '{':
    snprintf(ps->err, ps->errlen, "%s line %d: '{{%c' (%s) is not supported", ps->t->name,
             ps->line, s[0], s[0] == '>' ? "a partial" : s[0] == '=' ? "new delimiters" : "a stray brace");
    return -1;
  default: return parse_var(ps, s, k, 0);
  }
}

static int blank_run(const char *from, const char *to)
{
  for (; from < to; from++)
    if (*from != ' ' && *from != '\t')
      return 0;
  return 1;
}

/* For a tag [open, after) that may stand alone: when only blanks share its line, sets
 * *cut to the line's start and *resume past its line break, and returns 1. */
static int standalone(const struct parser *ps, const char *open, const char *after,
                      const char **cut, const char **resume)
{
  const char *ls = open;
  while (ls > ps->src && ls[-1] != '\n')
    ls--;
  if (!blank_run(ls, open))
    return 0;
  const char *le = after;
  while (le < ps->end && (*le == ' ' || *le == '\t'))
    le++;
  if (le < ps->end && *le == '\r' && le + 1 < ps->end && le[1] == '\n')
    le++;
  if (le < ps->end && *le != '\n')
    return 0;
  *cut = ls;
  *resume = le < ps->end ? le + 1 : le;
  return 1;
}

static int count_lines(const char *from, const char *to)
{
  int n = 0;
  for (; from < to; from++)
    n += *from == '\n';
  return n;
}

/* One step: the text up to the next tag, then the tag. Sets *next, NULL at the end. */
static int parse_step(struct parser *ps, const char *p, const char **next)
{
  const char *open = memmem(p, (size_t)(ps->end - p), "{{", 2);
  if (open == NULL) {
    *next = NULL;
    return add_text(ps, p, (size_t)(ps->end - p));
  }
  int triple = open + 2 < ps->end && open[2] == '{';
  const char *body = open + 2 + triple;
  const char *close = memmem(body, (size_t)(ps->end - body), triple ? "}}}" : "}}", 2 + triple);
  int line_at = ps->line + count_lines(p, open);
  if (close == NULL) {
    snprintf(ps->err, ps->errlen, "%s line %d: unclosed {{%s", ps->t->name, line_at, triple ? "{" : "");
    return -1;
  }
  const char *after = close + 2 + triple, *cut = open, *resume = after;
  const char *sig = body;
  while (sig < close && isspace((unsigned char)*sig))
    sig++;
  int may_stand = !triple && sig < close && strchr("#^/!", *sig);
  if (!(may_stand && standalone(ps, open, after, &cut, &resume)))
    cut = open, resume = after;
  if (add_text(ps, p, (size_t)(cut - p)) < 0)
    return -1;
  ps->line = line_at;
  if (parse_tag(ps, body, (size_t)(close - body), triple) < 0)
    return -1;
  ps->line += count_lines(open, resume);
  *next = resume;
  return 0;
}

int tmpl_compile(const char *src, size_t len, const char *name, struct tmpl **out, char *err,
                 size_t errlen)
{
  struct tmpl *t = calloc(1, sizeof *t);
  *out = NULL;
  if (t == NULL || (t->name = strdup(name ? name : "template")) == NULL) {
    free(t);
    snprintf(err, errlen, "%s: out of memory", name ? name : "template");
    return -1;
  }
  struct parser ps = {.t = t, .src = src, .end = src + len, .line = 1, .err = err, .errlen = errlen};
  for (const char *p = src; p != NULL;)
    if (parse_step(&ps, p, &p) < 0)
      goto fail;
  if (ps.depth > 0) {
    const struct tmpl_node *open = &t->nodes[ps.open[ps.depth - 1]];
    snprintf(err, errlen, "%s line %d: {{%c%s}} is never closed (write {{/%s}})", t->name,
             open->line, open->kind == NODE_SECTION ? '#' : '^', open->text, open->text);
    goto fail;
  }
  *out = t;
  return 0;
fail:
  tmpl_free(t);
  return -1;
}

void tmpl_free(struct tmpl *t)
{
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->n_nodes; i++) {
    free(t->nodes[i].text);
    free(t->nodes[i].dflt);
    tmpl_fmt_free(&t->nodes[i].fmt);
  }
  free(t->nodes);
  free(t->name);
  free(t);
}

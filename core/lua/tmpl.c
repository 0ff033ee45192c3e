/* Templates compile to a list of parts (literal text or a variable), so a broken template
 * is refused once at journey load and rendering is a single pass with no parsing.
 *
 * Decisions: `{{ name }}` trims spaces around the name and the default; a value that is
 * missing OR empty takes the default when there is one (a blank first name should read
 * "Hi there", not "Hi "); without a default, a missing value is an error and an empty one
 * renders empty. Defaults are template text, so they are not HTML-escaped. A one-line
 * rendering (TMPL_LINE) is folded after the fact, so the template's own line breaks and
 * those of values are treated alike. */
#define _GNU_SOURCE /* memmem */
#include "tmpl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum part_kind { PART_TEXT, PART_VAR };

struct part {
  enum part_kind kind;
  char *text; /* PART_TEXT: the literal; PART_VAR: the key */
  size_t len;
  char *dflt; /* PART_VAR: the default, NULL when none */
  int line;
};

struct tmpl {
  char *name;
  struct part *parts;
  size_t n_parts;
};

static char *dup_trimmed(const char *s, size_t n)
{
  while (n > 0 && isspace((unsigned char)*s))
    s++, n--;
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  char *r = malloc(n + 1);
  if (r) {
    memcpy(r, s, n);
    r[n] = '\0';
  }
  return r;
}

static int valid_key(const char *k)
{
  if (*k == '\0')
    return 0;
  for (; *k; k++)
    if (!isalnum((unsigned char)*k) && *k != '_' && *k != '.' && *k != '-')
      return 0;
  return 1;
}

static struct part *add_part(struct tmpl *t)
{
  struct part *np = realloc(t->parts, (t->n_parts + 1) * sizeof *np);
  if (np == NULL)
    return NULL;
  t->parts = np;
  memset(&np[t->n_parts], 0, sizeof *np);
  return &np[t->n_parts++];
}

static int count_lines(const char *from, const char *to)
{
  int n = 0;
  for (; from < to; from++)
    n += *from == '\n';
  return n;
}

/* Parses the inside of one {{ ... }} into a variable part. */
static int compile_var(struct tmpl *t, const char *in, size_t n, int line, char *err,
                       size_t errlen)
{
  const char *bar = memchr(in, '|', n);
  struct part *p = add_part(t);
  if (p == NULL)
    goto oom;
  p->kind = PART_VAR;
  p->line = line;
  p->text = dup_trimmed(in, bar ? (size_t)(bar - in) : n);
  if (p->text == NULL)
    goto oom;
  p->len = strlen(p->text);
  if (bar && (p->dflt = dup_trimmed(bar + 1, n - (size_t)(bar + 1 - in))) == NULL)
    goto oom;
  if (!valid_key(p->text)) {
    snprintf(err, errlen, "%s line %d: bad variable name '{{%.*s}}'", t->name, line, (int)n,
             in);
    return -1;
  }
  return 0;
oom:
  snprintf(err, errlen, "%s: out of memory", t->name);
  return -1;
}

static int compile_text(struct tmpl *t, const char *s, size_t n, char *err, size_t errlen)
{
  if (n == 0)
    return 0;
  struct part *p = add_part(t);
  if (p == NULL || (p->text = malloc(n + 1)) == NULL) {
    snprintf(err, errlen, "%s: out of memory", t->name);
    return -1;
  }
  memcpy(p->text, s, n);
  p->text[n] = '\0';
  p->len = n;
  p->kind = PART_TEXT;
  return 0;
}

int tmpl_compile(const char *src, size_t len, const char *name, struct tmpl **out, char *err,
                 size_t errlen)
{
  struct tmpl *t = calloc(1, sizeof *t);
  if (t == NULL || (t->name = strdup(name ? name : "template")) == NULL) {
    free(t);
    snprintf(err, errlen, "%s: out of memory", name ? name : "template");
    return -1;
  }
  const char *p = src, *end = src + len;
  int line = 1;
  while (p < end) {
    const char *open = memmem(p, (size_t)(end - p), "{{", 2);
    const char *stop = open ? open : end;
    if (compile_text(t, p, (size_t)(stop - p), err, errlen) < 0)
      goto fail;
    line += count_lines(p, stop);
    if (open == NULL)
      break;
    const char *close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
    if (close == NULL) {
      snprintf(err, errlen, "%s line %d: unclosed {{", t->name, line);
      goto fail;
    }
    if (compile_var(t, open + 2, (size_t)(close - open - 2), line, err, errlen) < 0)
      goto fail;
    line += count_lines(open, close);
    p = close + 2;
  }
  *out = t;
  return 0;
fail:
  tmpl_free(t);
  return -1;
}

static int add_escaped(struct buf *b, const char *s)
{
  for (; *s; s++) {
    const char *rep = NULL;
    switch (*s) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&#39;"; break;
    }
    if (rep ? buf_add(b, rep, strlen(rep)) : buf_add(b, s, 1))
      return -1;
  }
  return 0;
}

static int render_var(const struct tmpl *t, const struct part *p, tmpl_lookup_fn lookup,
                      void *ud, int html, struct buf *b, char *err, size_t errlen)
{
  const char *v = lookup(ud, p->text);
  if (p->dflt && (v == NULL || *v == '\0'))
    return buf_add(b, p->dflt, strlen(p->dflt));
  if (v == NULL) {
    snprintf(err, errlen, "%s line %d: no value for '%s' (give it, or write {{%s|default}})",
             t->name, p->line, p->text, p->text);
    return -2;
  }
  return html ? add_escaped(b, v) : buf_add(b, v, strlen(v));
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
  unsigned char *r = (unsigned char *)s, *w = r;
  size_t n;
  while (*r) {
    if (control_len(r) == 0) {
      *w++ = *r++;
      continue;
    }
    while ((n = control_len(r)) > 0)
      r += n;
    *w++ = ' ';
  }
  while (w > (unsigned char *)s && w[-1] == ' ')
    w--;
  *w = '\0';
  size_t lead = strspn(s, " ");
  memmove(s, s + lead, strlen(s + lead) + 1);
}

int tmpl_render(const struct tmpl *t, tmpl_lookup_fn lookup, void *ud, enum tmpl_mode mode,
                char **out, char *err, size_t errlen)
{
  struct buf b = {0};
  if (buf_add(&b, "", 0) < 0)
    goto oom;
  for (size_t i = 0; i < t->n_parts; i++) {
    const struct part *p = &t->parts[i];
    int rc = p->kind == PART_TEXT ? buf_add(&b, p->text, p->len)
                                  : render_var(t, p, lookup, ud, mode == TMPL_HTML, &b, err, errlen);
    if (rc == -2) {
      free(b.p);
      return -1;
    }
    if (rc < 0)
      goto oom;
  }
  if (mode == TMPL_LINE)
    fold_line(b.p);
  *out = b.p;
  return 0;
oom:
  free(b.p);
  snprintf(err, errlen, "%s: out of memory", t->name);
  return -1;
}

void tmpl_free(struct tmpl *t)
{
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->n_parts; i++) {
    free(t->parts[i].text);
    free(t->parts[i].dflt);
  }
  free(t->parts);
  free(t->name);
  free(t);
}

/* What a compiled template is made of, shared by the parser (tmpl_parse.c), the renderer
 * (tmpl_render.c) and the formatters (tmpl_format.c). */
#ifndef PARLEY_TMPL_INT_H
#define PARLEY_TMPL_INT_H
#include <stddef.h>

#include "tmpl.h"
#include "util.h"

#define TMPL_MAX_DEPTH 16   /* sections inside sections */
#define TMPL_MAX_NAME 128   /* bytes of a dotted name */

enum tmpl_node_kind { NODE_TEXT, NODE_VAR, NODE_SECTION, NODE_INVERTED };

enum tmpl_fmt_kind {
  FMT_NONE,
  FMT_NUMBER,   /* digits: decimals */
  FMT_CURRENCY, /* code: ISO 4217 */
  FMT_DATE,
  FMT_TIME,
  FMT_DATETIME,
  FMT_PLURAL,   /* one, other: the words */
};

struct tmpl_fmt {
  enum tmpl_fmt_kind kind;
  int digits;
  char code[4];
  char *one, *other;
};

struct tmpl_node {
  enum tmpl_node_kind kind;
  int line;
  int raw;           /* NODE_VAR: {{{ }}} or {{& }}, not escaped */
  char *text;        /* NODE_TEXT: the literal; else the dotted name ("." the element) */
  size_t len;
  char *dflt;        /* NODE_VAR: the fallback, NULL when none */
  struct tmpl_fmt fmt;
  size_t end;        /* sections: the index of the node after the closing tag */
};

struct tmpl {
  char *name;
  struct tmpl_node *nodes;
  size_t n_nodes;
};

#define TMPL_MAX_WORD 100      /* bytes of a plural's word */
#define TMPL_MAX_FORMATTED 256 /* bytes of a formatted value */

/* Writes value `v` formatted by `f` into out (TMPL_MAX_FORMATTED bytes), in env's locale and
 * time zone. Returns its length, or -1 when the value cannot be formatted (why, in err:
 * "is not a number"). */
int tmpl_format(const struct tmpl_fmt *f, const struct tmpl_val *v, const struct tmpl_env *env,
                char *out, char *err, size_t errlen);
/* The text of a plain value (a number as "3" or "2.5"), into num when it must be built. */
const char *tmpl_scalar_text(const struct tmpl_val *v, char *num, size_t numlen, size_t *len);
/* Parses "currency:EUR", "plural:item:items"... into f; 1 when `s` names a formatter, 0 when
 * it does not (it is a fallback), -1 when it does but wrongly (why, in err). */
int tmpl_fmt_parse(const char *s, size_t n, struct tmpl_fmt *f, char *err, size_t errlen);
void tmpl_fmt_free(struct tmpl_fmt *f);

#endif

/* Message templates: Mustache (mustache.github.io/mustache.5.html), compiled once at journey
 * load, with two extensions after a pipe (docs/templates.md is the reference):
 *   {{name}}  {{contact.address.city}}   a value (HTML-escaped in HTML parts); missing: an error
 *   {{items.1.name}}                      a list's element, from 1 as in Lua
 *   {{{name}}}  {{& name}}                the value unescaped
 *   {{#items}}...{{/items}}               a loop over a list, or a block shown when truthy
 *   {{^items}}...{{/items}}               shown when falsy (missing, false, "", 0, empty list)
 *   {{! a comment }}
 *   {{name|friend}}                       `friend` when `name` is missing or empty
 *   {{total|currency:EUR}} {{n|number:2}} {{when|date}} {{when|time}} {{when|datetime}}
 *   {{count|plural:item:items}}           formatters, in the contact's locale and time zone
 * Partials, lambdas and set-delimiter tags are not supported and refused at compile.
 * A header part (a subject) is rendered as one line: see TMPL_LINE. */
#ifndef PARLEY_TMPL_H
#define PARLEY_TMPL_H
#include <stddef.h>

struct tmpl;

/* How a rendering writes what it produces. */
enum tmpl_mode {
  TMPL_TEXT = 0, /* as it is */
  TMPL_HTML = 1, /* values HTML-escaped, unless written {{{name}}} or {{& name}} */
  TMPL_LINE = 2, /* one header line: each run of line breaks or other control characters
                    (the template's own or a value's) becomes one space, and blanks at
                    either end go -- so no value can add a header to a mail */
};

/* What a value is, as a template sees it. */
enum tmpl_kind {
  TMPL_NULL,   /* nil / JSON null: treated as missing */
  TMPL_BOOL,   /* b */
  TMPL_NUM,    /* num, and inum when is_int */
  TMPL_STR,    /* s, len bytes; alive while the source holds the value */
  TMPL_LIST,   /* n elements, read with item() */
  TMPL_MAP,    /* fields read with field() */
  TMPL_OTHER,  /* something a message cannot show (a function...): `what` names it */
};

/* One value of the data a template is rendered with. `h` and `i` are the source's own
 * handle (a cJSON node, a Lua stack index...). */
struct tmpl_val {
  enum tmpl_kind kind;
  int b, is_int, i;
  long long inum;
  double num;
  const char *s, *what;
  size_t len, n;
  const void *h;
};

/* The data a template reads: the caller's values, walked without copying them.
 * field: sets *out to field `name` (n bytes) of map `in`, or of the root when `in` is NULL;
 *        returns 1 when found, 0 when not, -1 on a failure the source names in err.
 * item:  sets *out to element i (from 0) of list `in`; `prev` is element i-1 or NULL, for
 *        sources that walk their lists. Returns 1, or -1 on a failure.
 * mark/release: what field and item took (a Lua source pushes values) is given back with
 *        release(mark()) once a value is no longer used; either may be NULL. */
struct tmpl_source {
  int (*field)(void *ud, const struct tmpl_val *in, const char *name, size_t n,
               struct tmpl_val *out);
  int (*item)(void *ud, const struct tmpl_val *in, size_t i, const struct tmpl_val *prev,
              struct tmpl_val *out);
  int (*mark)(void *ud);
  void (*release)(void *ud, int mark);
  void *ud;
};

/* Time zones kept once read (zones.h: reading one takes a file and ~0.5 ms; a kept one
 * ~1 us): the few a journey's contacts live in. Used by one rendering at a time. */
struct zones;

/* Who the message is for and how much it may take. NULL locale: en-US; NULL timezone: UTC.
 * 0 limits: no limit. */
struct tmpl_env {
  const char *locale;   /* "de-DE", "en_GB", "fr" (docs/templates.md lists those known) */
  const char *timezone; /* an IANA name under the system's zoneinfo, such as Europe/Paris */
  struct zones *zones;  /* where zones are kept; NULL: read each time */
  size_t max_bytes;     /* output; a rendering that grows past it stops with an error */
  const char *max_bytes_name; /* the setting max_bytes comes from, for that error */
  size_t max_items;     /* elements of one list a section loops over */
};

/* `name` is used in error messages ("welcome.html line 3: unclosed {{"). */
int tmpl_compile(const char *src, size_t len, const char *name, struct tmpl **out, char *err,
                 size_t errlen);
/* Renders into a new NUL-terminated string *out (free()). Errors name the template, the
 * line and the value. */
int tmpl_render(const struct tmpl *t, const struct tmpl_source *src, const struct tmpl_env *env,
                enum tmpl_mode mode, char **out, char *err, size_t errlen);
void tmpl_free(struct tmpl *t);

/* A source over cJSON values (tmpl_json.c): ud is the root object. */
void tmpl_json_source(struct tmpl_source *src, const void *root);
/* Describes cJSON node `node` as a template value (for sources that mix cJSON with others). */
void tmpl_json_val(const void *node, struct tmpl_val *out);
/* field/item of a value described by tmpl_json_val. */
int tmpl_json_field(const struct tmpl_val *in, const char *name, size_t n, struct tmpl_val *out);
int tmpl_json_item(const struct tmpl_val *in, size_t i, const struct tmpl_val *prev,
                   struct tmpl_val *out);

#endif

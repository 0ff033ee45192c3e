/* Message templates: text with {{var}} placeholders, compiled once at journey load.
 *   {{name}}            the value of `name`; an error when there is none
 *   {{contact.city}}    dotted names are looked up as one key by the caller
 *   {{name|friend}}     `friend` when `name` has no value
 * HTML parts are rendered with values HTML-escaped; the template's own text is not. A header
 * part (a subject) is rendered as one line: see TMPL_LINE. */
#ifndef PARLEY_TMPL_H
#define PARLEY_TMPL_H
#include <stddef.h>

struct tmpl;

/* How a rendering writes what it produces. */
enum tmpl_mode {
  TMPL_TEXT = 0, /* as it is */
  TMPL_HTML = 1, /* values HTML-escaped */
  TMPL_LINE = 2, /* one header line: each run of line breaks or other control characters
                    (the template's own or a value's) becomes one space, and blanks at
                    either end go -- so no value can add a header to a mail */
};

/* Returns the value's text, or NULL when the key has none. */
typedef const char *(*tmpl_lookup_fn)(void *ud, const char *key);

/* `name` is used in error messages ("welcome.html line 3: unclosed {{"). */
int tmpl_compile(const char *src, size_t len, const char *name, struct tmpl **out, char *err,
                 size_t errlen);
/* Renders into a new NUL-terminated string *out (free()). */
int tmpl_render(const struct tmpl *t, tmpl_lookup_fn lookup, void *ud, enum tmpl_mode mode,
                char **out, char *err, size_t errlen);
void tmpl_free(struct tmpl *t);

#endif

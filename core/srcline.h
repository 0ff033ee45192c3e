/* Where a key is written in a Lua source: the configuration and the journey description
 * are tables a file returns, and a mistake found in them once they have run ("caps[1].per:
 * bad duration '3x'") is reported at the line that wrote the key, as a syntax error is.
 * A small lexer: comments and strings are skipped, so a key named in one is not taken.
 * No state. */
#ifndef PARLEY_SRCLINE_H
#define PARLEY_SRCLINE_H
#include <stddef.h>

/* A Lua lexer, just enough for a static look at a source: words, strings and punctuation,
 * with comments and blanks skipped and lines counted. */
enum srclex_tok { SRCLEX_END, SRCLEX_WORD, SRCLEX_STRING, SRCLEX_PUNCT };
struct srclex {
  const char *p, *end;
  int line;         /* of the token's end */
  const char *text; /* the token; a string's text, inside its quotes */
  size_t n;         /* its length: a punctuation is one character, or "::", "==" */
  int plain;        /* a string: short, closed on its line, without escapes */
};
void srclex_init(struct srclex *lx, const char *src, size_t len);
enum srclex_tok srclex_next(struct srclex *lx);

/* The line of `path` -- keys separated by '.', list indexes ("[1]") skipped -- each key
 * written as `key =` (not after '.' or ':'), each after the one before; from the first
 * `after_call {` or `after_call(` when after_call is given ("journey"). The line of the
 * deepest key found, or 0 when the first is not. */
int srcline_find(const char *src, size_t len, const char *after_call, const char *path);

/* The path at the start of a message ("caps[1].per: bad duration", "entry.event must
 * be"), up to ':' or a blank, copied to out; 0 when the message does not start with one. */
int srcline_path(const char *msg, char *out, size_t len);

#endif

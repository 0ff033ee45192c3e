/* A static look at a journey's source, for `parley check`: the channels it names as string
 * literals in c:speak("email", ...) and c:can_speak('sms') -- any `:speak(` or
 * `:can_speak(` call whose first argument is a literal. A small Lua lexer, enough to skip
 * comments and every other string, so a channel in a comment or a string is not a speak.
 * A channel held in a variable, or spoken by a module the journey requires, is not seen. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lhost_int.h"

/* Where the pattern ':' name '(' "literal" stands, token by token. */
enum want { WANT_COLON, WANT_METHOD, WANT_PAREN, WANT_LITERAL };

struct scan {
  const char *p, *end;
  int line;
  enum want want;
  struct lhost_channel_use *uses;
  size_t n, cap;
};

static void advance(struct scan *s, size_t k)
{
  for (; k > 0 && s->p < s->end; k--, s->p++)
    s->line += *s->p == '\n';
}

/* At '[': the level of a long bracket [[ or [==[ (>= 0), or -1 when it is not one. */
static int long_level(const struct scan *s)
{
  const char *q = s->p + 1;
  while (q < s->end && *q == '=')
    q++;
  return q < s->end && *q == '[' ? (int)(q - s->p - 1) : -1;
}

/* At ']': whether it closes a long bracket of `level` (]] or ]==]). The source is not
 * NUL-terminated: every look stays before s->end. */
static int closes_long(const struct scan *s, int level)
{
  if (s->end - s->p < level + 2 || s->p[level + 1] != ']')
    return 0;
  for (int i = 1; i <= level; i++)
    if (s->p[i] != '=')
      return 0;
  return 1;
}

/* Skips a long string or comment opened at s->p with `level` equals signs. */
static void skip_long(struct scan *s, int level)
{
  advance(s, (size_t)level + 2);
  while (s->p < s->end) {
    if (*s->p == ']' && closes_long(s, level)) {
      advance(s, (size_t)level + 2);
      return;
    }
    advance(s, 1);
  }
}

/* At "--": a long comment, or the rest of the line. */
static void skip_comment(struct scan *s)
{
  advance(s, 2);
  int level = s->p < s->end && *s->p == '[' ? long_level(s) : -1;
  if (level >= 0) {
    skip_long(s, level);
    return;
  }
  while (s->p < s->end && *s->p != '\n')
    advance(s, 1);
}

/* At a quote: skips the short string. Returns its text's length when it is plain (no
 * escape, closed on its line), else -1. */
static long skip_short(struct scan *s)
{
  char quote = *s->p;
  const char *start = s->p + 1;
  int plain = 1;
  advance(s, 1);
  while (s->p < s->end && *s->p != quote && *s->p != '\n') {
    if (*s->p == '\\') {
      plain = 0;
      advance(s, 1);
    }
    advance(s, 1);
  }
  if (s->p >= s->end || *s->p != quote)
    return -1;
  long len = (long)(s->p - start);
  advance(s, 1);
  return plain ? len : -1;
}

/* Keeps one use; returns -1 when out of memory. */
static int add_use(struct scan *s, const char *name, size_t len, int line)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    struct lhost_channel_use *nu = realloc(s->uses, cap * sizeof *nu);
    if (nu == NULL)
      return -1;
    s->uses = nu;
    s->cap = cap;
  }
  if ((s->uses[s->n].channel = strndup(name, len)) == NULL)
    return -1;
  s->uses[s->n++].line = line;
  return 0;
}

/* A word: the method's name moves the pattern on; any other word starts it again. */
static void on_word(struct scan *s)
{
  const char *w = s->p;
  while (s->p < s->end && (isalnum((unsigned char)*s->p) || *s->p == '_'))
    s->p++;
  size_t n = (size_t)(s->p - w);
  int method = (n == 5 && memcmp(w, "speak", 5) == 0) ||
               (n == 9 && memcmp(w, "can_speak", 9) == 0);
  s->want = s->want == WANT_METHOD && method ? WANT_PAREN : WANT_COLON;
}

/* A short string: the first argument of a speak is a channel. */
static int on_string(struct scan *s)
{
  const char *text = s->p + 1;
  int line = s->line;
  long len = skip_short(s);
  int wanted = s->want == WANT_LITERAL;
  s->want = WANT_COLON;
  return wanted && len > 0 ? add_use(s, text, (size_t)len, line) : 0;
}

/* Any other character: ':' (not '::' of a label) and '(' move the pattern on. */
static void on_punct(struct scan *s)
{
  char c = *s->p;
  int label = c == ':' && s->end - s->p > 1 && s->p[1] == ':';
  if (c == ':' && !label)
    s->want = WANT_METHOD;
  else if (c == '(' && s->want == WANT_PAREN)
    s->want = WANT_LITERAL;
  else
    s->want = WANT_COLON;
  advance(s, label ? 2 : 1);
}

/* One token or comment at s->p; returns -1 when out of memory. Blanks and comments
 * between the tokens of a call do not break the pattern. */
static int scan_token(struct scan *s)
{
  char c = *s->p;
  int level;
  if (isspace((unsigned char)c)) {
    advance(s, 1);
  } else if (c == '-' && s->end - s->p > 1 && s->p[1] == '-') {
    skip_comment(s);
  } else if (c == '[' && (level = long_level(s)) >= 0) {
    skip_long(s, level);
    s->want = WANT_COLON;
  } else if (c == '"' || c == '\'') {
    return on_string(s);
  } else if (isalnum((unsigned char)c) || c == '_') {
    on_word(s);
  } else {
    on_punct(s);
  }
  return 0;
}

int lhost_journey_channels(const struct journey *j, struct lhost_channel_use **out, size_t *n)
{
  struct scan s = {.p = j->source, .end = j->source + j->source_len, .line = 1};
  *out = NULL;
  *n = 0;
  while (s.p < s.end) {
    if (scan_token(&s) < 0) {
      lhost_channel_uses_free(s.uses, s.n);
      return -1;
    }
  }
  *out = s.uses;
  *n = s.n;
  return 0;
}

void lhost_channel_uses_free(struct lhost_channel_use *uses, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(uses[i].channel);
  free(uses);
}

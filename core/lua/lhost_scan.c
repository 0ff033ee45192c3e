/* A static look at a journey's source, for `parley check`: the channels it names as string
 * literals in c:speak("email", ...) and c:can_speak('sms') -- any `:speak(` or
 * `:can_speak(` call whose first argument is a literal. The lexer (srcline.h) skips
 * comments and tells strings, so a channel in a comment or a string is not a speak.
 * A channel held in a variable, or spoken by a module the journey requires, is not seen. */
#include <stdlib.h>
#include <string.h>

#include "lhost_int.h"
#include "srcline.h"

/* Where the pattern ':' name '(' "literal" stands, token by token. */
enum want { WANT_COLON, WANT_METHOD, WANT_PAREN, WANT_LITERAL };

struct scan {
  struct srclex lx;
  enum want want;
  struct lhost_channel_use *uses;
  size_t n, cap;
};

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

/* One token; returns -1 when out of memory. A method's name moves the pattern on, as do
 * ':' (not '::' of a label) and '('; a plain short string where the literal is wanted is a
 * channel; anything else starts the pattern again. Comments between the tokens of a call
 * do not break it (the lexer skips them). */
static int scan_token(struct scan *s, enum srclex_tok t)
{
  const struct srclex *lx = &s->lx;
  enum want was = s->want;
  s->want = WANT_COLON;
  if (t == SRCLEX_WORD) {
    int method = (lx->n == 5 && memcmp(lx->text, "speak", 5) == 0) ||
                 (lx->n == 9 && memcmp(lx->text, "can_speak", 9) == 0);
    if (was == WANT_METHOD && method)
      s->want = WANT_PAREN;
  } else if (t == SRCLEX_STRING) {
    if (was == WANT_LITERAL && lx->plain && lx->n > 0)
      return add_use(s, lx->text, lx->n, lx->line);
  } else if (lx->n == 1 && *lx->text == ':') {
    s->want = WANT_METHOD;
  } else if (lx->n == 1 && *lx->text == '(' && was == WANT_PAREN) {
    s->want = WANT_LITERAL;
  }
  return 0;
}

int lhost_journey_channels(const struct journey *j, struct lhost_channel_use **out, size_t *n)
{
  struct scan s = {.want = WANT_COLON};
  srclex_init(&s.lx, j->source, j->source_len);
  *out = NULL;
  *n = 0;
  for (enum srclex_tok t; (t = srclex_next(&s.lx)) != SRCLEX_END;) {
    if (scan_token(&s, t) < 0) {
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

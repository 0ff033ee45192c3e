/* Where a key is written in a Lua source (srcline.h). */
#include "srcline.h"

#include <ctype.h>
#include <string.h>

static void step(struct srclex *lx, size_t k)
{
  for (; k > 0 && lx->p < lx->end; k--, lx->p++)
    lx->line += *lx->p == '\n';
}

/* At '[': the level of a long bracket [[ or [==[, or -1. */
static int long_level(const struct srclex *lx)
{
  const char *q = lx->p + 1;
  while (q < lx->end && *q == '=')
    q++;
  return q < lx->end && *q == '[' ? (int)(q - lx->p - 1) : -1;
}

/* At ']': whether it closes a long bracket of `level` (]] or ]==]). The source is not
 * NUL-terminated: every look stays before lx->end. */
static int closes_long(const struct srclex *lx, int level)
{
  if (lx->end - lx->p < level + 2 || lx->p[level + 1] != ']')
    return 0;
  for (int i = 1; i <= level; i++)
    if (lx->p[i] != '=')
      return 0;
  return 1;
}

/* Skips a long string or comment opened at lx->p with `level` equals signs. */
static void skip_long(struct srclex *lx, int level)
{
  step(lx, (size_t)level + 2);
  while (lx->p < lx->end) {
    if (*lx->p == ']' && closes_long(lx, level)) {
      step(lx, (size_t)level + 2);
      return;
    }
    step(lx, 1);
  }
}

/* At a quote: the short string, plain when it has no escape and closes on its line. */
static void short_string(struct srclex *lx)
{
  char quote = *lx->p;
  lx->text = lx->p + 1;
  lx->plain = 1;
  step(lx, 1);
  while (lx->p < lx->end && *lx->p != quote && *lx->p != '\n') {
    if (*lx->p == '\\') {
      lx->plain = 0;
      step(lx, 1);
    }
    step(lx, 1);
  }
  lx->n = (size_t)(lx->p - lx->text);
  if (lx->p >= lx->end || *lx->p != quote)
    lx->plain = 0;
  else
    step(lx, 1);
}

/* At "--": a long comment, or the rest of the line. */
static void skip_comment(struct srclex *lx)
{
  int level;
  step(lx, 2);
  if (lx->p < lx->end && *lx->p == '[' && (level = long_level(lx)) >= 0) {
    skip_long(lx, level);
    return;
  }
  while (lx->p < lx->end && *lx->p != '\n')
    step(lx, 1);
}

void srclex_init(struct srclex *lx, const char *src, size_t len)
{
  *lx = (struct srclex){.p = src, .end = src + len, .line = 1, .text = src};
}

enum srclex_tok srclex_next(struct srclex *lx)
{
  int level;
  while (lx->p < lx->end) {
    char c = *lx->p;
    lx->text = lx->p;
    lx->plain = 0;
    if (isspace((unsigned char)c)) {
      step(lx, 1);
    } else if (c == '-' && lx->end - lx->p > 1 && lx->p[1] == '-') {
      skip_comment(lx);
    } else if (c == '[' && (level = long_level(lx)) >= 0) {
      skip_long(lx, level);
      lx->n = (size_t)(lx->p - lx->text);
      return SRCLEX_STRING;
    } else if (c == '"' || c == '\'') {
      short_string(lx);
      return SRCLEX_STRING;
    } else if (isalnum((unsigned char)c) || c == '_') {
      while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_'))
        lx->p++;
      lx->n = (size_t)(lx->p - lx->text);
      return SRCLEX_WORD;
    } else {
      lx->n = (c == ':' || c == '=') && lx->end - lx->p > 1 && lx->p[1] == c ? 2 : 1;
      step(lx, lx->n);
      return SRCLEX_PUNCT;
    }
  }
  return SRCLEX_END;
}

static int is_word(const struct srclex *lx, enum srclex_tok t, const char *w, size_t n)
{
  return t == SRCLEX_WORD && lx->n == n && memcmp(lx->text, w, n) == 0;
}

/* Moves past the first `word {` or `word(`; 0 when there is none. */
static int skip_to_call(struct srclex *lx, const char *word)
{
  size_t n = strlen(word);
  int prev_word = 0;
  for (enum srclex_tok t; (t = srclex_next(lx)) != SRCLEX_END;) {
    if (prev_word && t == SRCLEX_PUNCT && (*lx->text == '{' || *lx->text == '('))
      return 1;
    prev_word = is_word(lx, t, word, n);
  }
  return 0;
}

/* Moves past the next `key =` (not `key ==`, not after '.' or ':'); its line, or 0. */
static int find_key(struct srclex *lx, const char *key, size_t n)
{
  char before = 0;
  for (enum srclex_tok t; (t = srclex_next(lx)) != SRCLEX_END;) {
    if (is_word(lx, t, key, n) && before != '.' && before != ':') {
      int line = lx->line;
      struct srclex peek = *lx;
      if (srclex_next(&peek) == SRCLEX_PUNCT && *peek.text == '=' && peek.n == 1) {
        *lx = peek;
        return line;
      }
    }
    before = t == SRCLEX_PUNCT ? *lx->text : 0;
  }
  return 0;
}

int srcline_find(const char *src, size_t len, const char *after_call, const char *path)
{
  struct srclex lx;
  srclex_init(&lx, src, len);
  if (after_call && !skip_to_call(&lx, after_call))
    srclex_init(&lx, src, len);
  int line = 0;
  const char *k = path;
  while (*k) {
    size_t n = strcspn(k, ".[");
    if (n > 0) {
      int at = find_key(&lx, k, n);
      if (at == 0)
        return line;
      line = at;
    }
    k += n;
    if (*k == '[')
      k += strcspn(k, "]");
    if (*k)
      k++;
  }
  return line;
}

int srcline_path(const char *msg, char *out, size_t len)
{
  size_t n = 0;
  while (msg[n] && (isalnum((unsigned char)msg[n]) || strchr("_.[]", msg[n])))
    n++;
  if (n == 0 || n >= len || !(isalpha((unsigned char)msg[0]) || msg[0] == '_') || (msg[n] != ':' && msg[n] != ' '))
    return 0;
  memcpy(out, msg, n);
  out[n] = '\0';
  return 1;
}

/* Where a key is written in a Lua source (srcline.h). */
#include "srcline.h"

#include <ctype.h>
#include <string.h>

enum tok { TOK_END, TOK_WORD, TOK_STRING, TOK_PUNCT };

struct lex {
  const char *p, *end;
  int line;
  const char *text; /* the token */
  size_t n;
};

static void step(struct lex *lx, size_t k)
{
  for (; k > 0 && lx->p < lx->end; k--, lx->p++)
    lx->line += *lx->p == '\n';
}

/* At '[': the level of a long bracket [[ or [==[, or -1. */
static int long_level(const struct lex *lx)
{
  const char *q = lx->p + 1;
  while (q < lx->end && *q == '=')
    q++;
  return q < lx->end && *q == '[' ? (int)(q - lx->p - 1) : -1;
}

static void skip_long(struct lex *lx, int level)
{
  step(lx, (size_t)level + 2);
  while (lx->p < lx->end) {
    if (*lx->p == ']' && lx->end - lx->p >= level + 2 && lx->p[level + 1] == ']') {
      int i = 1;
      while (i <= level && lx->p[i] == '=')
        i++;
      if (i > level) {
        step(lx, (size_t)level + 2);
        return;
      }
    }
    step(lx, 1);
  }
}

static void skip_short(struct lex *lx)
{
  char quote = *lx->p;
  step(lx, 1);
  while (lx->p < lx->end && *lx->p != quote && *lx->p != '\n')
    step(lx, *lx->p == '\\' ? 2 : 1);
  step(lx, 1);
}

/* The next token; comments and blanks are skipped. */
static enum tok next(struct lex *lx)
{
  int level;
  while (lx->p < lx->end) {
    char c = *lx->p;
    lx->text = lx->p;
    if (isspace((unsigned char)c)) {
      step(lx, 1);
    } else if (c == '-' && lx->end - lx->p > 1 && lx->p[1] == '-') {
      step(lx, 2);
      if (lx->p < lx->end && *lx->p == '[' && (level = long_level(lx)) >= 0)
        skip_long(lx, level);
      else
        while (lx->p < lx->end && *lx->p != '\n')
          step(lx, 1);
    } else if (c == '[' && (level = long_level(lx)) >= 0) {
      skip_long(lx, level);
      return TOK_STRING;
    } else if (c == '"' || c == '\'') {
      skip_short(lx);
      return TOK_STRING;
    } else if (isalnum((unsigned char)c) || c == '_') {
      while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_'))
        lx->p++;
      lx->n = (size_t)(lx->p - lx->text);
      return TOK_WORD;
    } else {
      step(lx, 1);
      lx->n = 1;
      return TOK_PUNCT;
    }
  }
  return TOK_END;
}

static int is_word(const struct lex *lx, enum tok t, const char *w, size_t n)
{
  return t == TOK_WORD && lx->n == n && memcmp(lx->text, w, n) == 0;
}

/* Moves past the first `word {` or `word(`; 0 when there is none. */
static int skip_to_call(struct lex *lx, const char *word)
{
  size_t n = strlen(word);
  int prev_word = 0;
  for (enum tok t; (t = next(lx)) != TOK_END;) {
    if (prev_word && t == TOK_PUNCT && (*lx->text == '{' || *lx->text == '('))
      return 1;
    prev_word = is_word(lx, t, word, n);
  }
  return 0;
}

/* Moves past the next `key =` (not `key ==`, not after '.' or ':'); its line, or 0. */
static int find_key(struct lex *lx, const char *key, size_t n)
{
  char before = 0;
  for (enum tok t; (t = next(lx)) != TOK_END;) {
    if (is_word(lx, t, key, n) && before != '.' && before != ':') {
      int line = lx->line;
      struct lex peek = *lx;
      if (next(&peek) == TOK_PUNCT && *peek.text == '=' && (peek.p >= peek.end || *peek.p != '=')) {
        *lx = peek;
        return line;
      }
    }
    before = t == TOK_PUNCT ? *lx->text : 0;
  }
  return 0;
}

int srcline_find(const char *src, size_t len, const char *after_call, const char *path)
{
  struct lex lx = {src, src + len, 1, src, 0};
  if (after_call && !skip_to_call(&lx, after_call))
    lx = (struct lex){src, src + len, 1, src, 0};
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

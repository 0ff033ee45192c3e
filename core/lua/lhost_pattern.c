/* The pattern functions journeys get: string.find, string.match, string.gmatch and
 * string.gsub, written for Parley from the Lua 5.4 reference manual (§6.4, §6.4.1).
 *
 * Why not Lua's own: its matcher backtracks inside one C call, where the step budget's
 * count hook never fires, so string.find(("a"):rep(64), ("a*"):rep(32) .. "b") runs for
 * hours and stalls the daemon. This matcher counts its steps as instructions of the running
 * step, and every PATTERN_CHECK_EVERY steps looks at the instruction allowance and the
 * clock: a pattern that backtracks forever fails its step like an endless loop does.
 *
 * How it works: a backtracking matcher that reads the pattern text as it goes, with an
 * explicit stack of choices instead of recursion. An entry is pushed wherever there is
 * something to come back to: a repetition that may give back or take more characters, an
 * optional item that may be skipped, a capture to reopen or forget. Lua's matcher calls
 * itself at exactly those places and refuses a 201st nested call ("pattern too complex");
 * the stack holds as many, so the same patterns are refused and the C stack is never at
 * risk. Results, error messages, and the moment errors are raised (a malformed item only
 * when the matcher reaches it) are Lua 5.4's; tests/unit/test_pattern.c and the fuzz target
 * tests/fuzz/fuzz_pattern.c compare the two. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "lhost_int.h"

#define PATTERN_CHECK_EVERY 4096   /* steps between two looks at the budget */
#define PATTERN_MAX_CAPTURES 32    /* Lua's LUA_MAXCAPTURES */
#define PATTERN_MAX_NESTING 200    /* Lua's MAXCCALLS: its matcher's nested calls */

enum { CAP_OPEN = -1, CAP_POSITION = -2 };

struct capture {
  size_t at;    /* subject offset where it starts */
  ptrdiff_t len; /* or CAP_OPEN (not closed yet), CAP_POSITION (a "()") */
};

enum choice_kind {
  GIVE_BACK,     /* a greedy repetition (* +): retry the rest with one character fewer */
  TAKE_MORE,     /* a lazy repetition (-): retry the rest with one character more */
  SKIP_OPTIONAL, /* a ? item that matched: retry the rest without it */
  UNDO_OPEN,     /* a capture was opened: forget it */
  UNDO_CLOSE,    /* a capture was closed: reopen it */
};

struct choice {
  unsigned char kind;
  unsigned char cap; /* UNDO_CLOSE: which capture */
  size_t at;         /* subject offset: where the repetition starts (GIVE_BACK), where the
                        rest was last tried (TAKE_MORE, SKIP_OPTIONAL) */
  size_t rest;       /* the pattern offset after the item and its quantifier */
  union {
    size_t count; /* GIVE_BACK: characters the repetition still holds */
    size_t item;  /* TAKE_MORE: the pattern offset of the repeated item */
  } u;
};

struct matcher {
  lua_State *L;
  struct journey *j;
  const unsigned char *src, *pat;
  size_t src_len, pat_len;
  int fuel; /* steps left before the next look at the budget */
  int level; /* captures opened */
  int depth; /* choices on the stack */
  struct capture cap[PATTERN_MAX_CAPTURES];
  struct choice stack[PATTERN_MAX_NESTING - 1]; /* the first call is not on it */
};

/* The budget was spent: from now on the count hook fires on every instruction (as it does
 * when it kills a step itself), so a pcall cannot carry the script much further. */
static int kill_step(lua_State *L, struct journey *j)
{
  lua_Hook hook = lua_gethook(L);
  if (hook != NULL)
    lua_sethook(L, hook, lua_gethookmask(L), 1);
  return lhost_budget_raise(L, j->budget.kill);
}

/* Out of line: runs about once every PATTERN_CHECK_EVERY steps. */
static void charge(struct matcher *m, size_t steps)
{
  int64_t used = PATTERN_CHECK_EVERY - m->fuel + (int64_t)steps;
  m->fuel = PATTERN_CHECK_EVERY;
  if (m->j->budget.active && lhost_budget_spend(m->j, used) != KILL_NONE)
    kill_step(m->L, m->j);
}

static inline void spend(struct matcher *m, size_t steps)
{
  if (steps < (size_t)m->fuel)
    m->fuel -= (int)steps;
  else
    charge(m, steps);
}

/* Charges the steps not yet charged, without a look at the clock: many short calls add up
 * to what the hook (or the next check) then sees. */
static void settle(struct matcher *m)
{
  if (m->j->budget.active)
    m->j->budget.instructions += PATTERN_CHECK_EVERY - m->fuel;
  m->fuel = PATTERN_CHECK_EVERY;
}

static void matcher_init(struct matcher *m, lua_State *L, const char *s, size_t ls,
                         const char *p, size_t lp)
{
  m->L = L;
  m->j = lhost_journey_of(L);
  m->src = (const unsigned char *)s;
  m->src_len = ls;
  m->pat = (const unsigned char *)p;
  m->pat_len = lp;
  m->fuel = PATTERN_CHECK_EVERY;
  if (m->j->budget.active && m->j->budget.kill != KILL_NONE)
    kill_step(L, m->j);
}

static struct choice *push(struct matcher *m, enum choice_kind kind)
{
  if (m->depth == PATTERN_MAX_NESTING - 1)
    luaL_error(m->L, "pattern too complex");
  struct choice *c = &m->stack[m->depth++];
  c->kind = (unsigned char)kind;
  return c;
}

/* %a %c %d %g %l %p %s %u %w %x, their upper-case complements, and the deprecated %z
 * (Lua 5.4 still reads it: the zero byte). Any other letter stands for itself. */
static int class_has(int letter, int c)
{
  int in;
  switch (tolower(letter)) {
  case 'a': in = isalpha(c); break;
  case 'c': in = iscntrl(c); break;
  case 'd': in = isdigit(c); break;
  case 'g': in = isgraph(c); break;
  case 'l': in = islower(c); break;
  case 'p': in = ispunct(c); break;
  case 's': in = isspace(c); break;
  case 'u': in = isupper(c); break;
  case 'w': in = isalnum(c); break;
  case 'x': in = isxdigit(c); break;
  case 'z': in = c == 0; break;
  default: return letter == c;
  }
  return isupper(letter) ? !in : in != 0;
}

/* The members of a set run from `from` to `to` (its closing ']'): %x classes, ranges a-z
 * (a '-' first or last is itself), single characters. */
static int set_has(const unsigned char *p, size_t from, size_t to, int c)
{
  size_t i = from;
  while (i < to) {
    if (p[i] == '%') {
      if (class_has(p[i + 1], c))
        return 1;
      i += 2;
    } else if (p[i + 1] == '-' && i + 2 < to) {
      if (p[i] <= c && c <= p[i + 2])
        return 1;
      i += 3;
    } else {
      if (p[i] == c)
        return 1;
      i++;
    }
  }
  return 0;
}

/* Just past the set opening at p[at] == '['. The first member (after a '^') is taken
 * whatever it is, so "[]]" is the set of ']'; '%' escapes the next character. */
static size_t set_end(const struct matcher *m, size_t at)
{
  const unsigned char *p = m->pat;
  size_t i = at + 1;
  if (i < m->pat_len && p[i] == '^')
    i++;
  for (;;) {
    if (i >= m->pat_len)
      luaL_error(m->L, "malformed pattern (missing ']')");
    i += p[i] == '%' && i + 1 < m->pat_len ? 2 : 1;
    if (i < m->pat_len && p[i] == ']')
      return i + 1;
  }
}

/* Just past the one-character item at `at` (where its quantifier would be). */
static size_t item_end(const struct matcher *m, size_t at)
{
  if (m->pat[at] == '%') {
    if (at + 1 >= m->pat_len)
      luaL_error(m->L, "malformed pattern (ends with '%%')");
    return at + 2;
  }
  return m->pat[at] == '[' ? set_end(m, at) : at + 1;
}

/* Does the one-character item [item, end) match character c? */
static int item_has(const struct matcher *m, size_t item, size_t end, int c)
{
  const unsigned char *p = m->pat;
  switch (p[item]) {
  case '.': return 1;
  case '%': return class_has(p[item + 1], c);
  case '[':
    if (p[item + 1] == '^')
      return !set_has(p, item + 2, end - 1, c);
    return set_has(p, item + 1, end - 1, c);
  default: return p[item] == c;
  }
}

/* A set is read member by member at every test: a long one costs steps of its own. */
static inline void spend_set(struct matcher *m, size_t item, size_t end)
{
  if (end - item > 64)
    spend(m, (end - item) / 64);
}

static int item_at(struct matcher *m, size_t item, size_t end, size_t s)
{
  if (s >= m->src_len)
    return 0;
  spend_set(m, item, end);
  return item_has(m, item, end, m->src[s]);
}

/* How many characters from s on the item matches in a row. */
static size_t run_length(struct matcher *m, size_t item, size_t end, size_t s)
{
  size_t n = 0;
  while (item_at(m, item, end, s + n))
    n++;
  spend(m, n);
  return n;
}

/* The item [item, end) matched at s and has quantifier q (? * + -): pushes the choice to
 * come back to, and returns where the rest of the pattern is tried first. */
static size_t repeat(struct matcher *m, int q, size_t item, size_t end, size_t s)
{
  struct choice *c = push(m, q == '?' ? SKIP_OPTIONAL : q == '-' ? TAKE_MORE : GIVE_BACK);
  c->rest = end + 1;
  c->at = s;
  switch (q) {
  case '?':
    return s + 1;
  case '-':
    c->u.item = item;
    return s;
  case '+':
    c->at = ++s; /* the one required; the rest as for '*' */
    /* fall through */
  default:
    c->u.count = run_length(m, item, end, s);
    return s + c->u.count;
  }
}

/* One character item with its quantifier, if any. Returns 0 when it fails here. */
static int match_item(struct matcher *m, size_t *s, size_t *pc)
{
  size_t item = *pc, end = item_end(m, item);
  int q = end < m->pat_len ? m->pat[end] : 0;
  if (!item_at(m, item, end, *s)) {
    if (q != '*' && q != '?' && q != '-')
      return 0;
    *pc = end + 1; /* zero repetitions: nothing to come back to */
    return 1;
  }
  if (q == '?' || q == '*' || q == '+' || q == '-') {
    *s = repeat(m, q, item, end, *s);
    *pc = end + 1;
  } else {
    *s += 1;
    *pc = end;
  }
  return 1;
}

static void open_capture(struct matcher *m, size_t s, ptrdiff_t kind)
{
  if (m->level >= PATTERN_MAX_CAPTURES)
    luaL_error(m->L, "too many captures");
  m->cap[m->level].at = s;
  m->cap[m->level].len = kind;
  m->level++;
  push(m, UNDO_OPEN);
}

/* ')' closes the innermost capture still open. */
static void close_capture(struct matcher *m, size_t s)
{
  int l = m->level - 1;
  while (l >= 0 && m->cap[l].len != CAP_OPEN)
    l--;
  if (l < 0)
    luaL_error(m->L, "invalid pattern capture");
  m->cap[l].len = (ptrdiff_t)(s - m->cap[l].at);
  push(m, UNDO_CLOSE)->cap = (unsigned char)l;
}

/* %bxy: from an x to the y that balances it. */
static int match_balance(struct matcher *m, size_t *s, size_t *pc)
{
  size_t at = *pc;
  if (at + 3 >= m->pat_len)
    luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
  int opener = m->pat[at + 2], closer = m->pat[at + 3];
  if (*s >= m->src_len || m->src[*s] != opener)
    return 0;
  size_t depth = 1, i;
  for (i = *s + 1; i < m->src_len; i++) {
    if (m->src[i] == closer) { /* tested first: with x == y, the next x closes */
      if (--depth == 0)
        break;
    } else if (m->src[i] == opener) {
      depth++;
    }
  }
  spend(m, i - *s);
  if (i >= m->src_len)
    return 0;
  *s = i + 1;
  *pc = at + 4;
  return 1;
}

/* %f[set]: the character before s (or "\0" at the start) is not in the set and the one at
 * s (or "\0" at the end) is. */
static int match_frontier(struct matcher *m, size_t *s, size_t *pc)
{
  size_t set = *pc + 2;
  if (set >= m->pat_len || m->pat[set] != '[')
    luaL_error(m->L, "missing '[' after '%%f' in pattern");
  size_t end = set_end(m, set);
  spend_set(m, set, end);
  int before = *s > 0 ? m->src[*s - 1] : 0, here = *s < m->src_len ? m->src[*s] : 0;
  if (item_has(m, set, end, before) || !item_has(m, set, end, here))
    return 0;
  *pc = end;
  return 1;
}

/* %1-%9: the text a closed capture took, again. A position capture has no text and never
 * matches (as in Lua). */
static int match_backref(struct matcher *m, size_t *s, size_t *pc)
{
  int l = m->pat[*pc + 1] - '1';
  if (l < 0 || l >= m->level || m->cap[l].len == CAP_OPEN)
    luaL_error(m->L, "invalid capture index %%%d", l + 1);
  if (m->cap[l].len == CAP_POSITION)
    return 0;
  size_t len = (size_t)m->cap[l].len;
  if (m->src_len - *s < len)
    return 0;
  spend(m, len / 64); /* what memcmp may read */
  if (memcmp(m->src + m->cap[l].at, m->src + *s, len) != 0)
    return 0;
  *s += len;
  *pc += 2;
  return 1;
}

/* The item at *pc, at subject offset *s: advances both and returns 1, or returns 0. */
static int match_one(struct matcher *m, size_t *s, size_t *pc)
{
  size_t at = *pc;
  switch (m->pat[at]) {
  case '(':
    if (at + 1 < m->pat_len && m->pat[at + 1] == ')') {
      open_capture(m, *s, CAP_POSITION);
      *pc = at + 2;
    } else {
      open_capture(m, *s, CAP_OPEN);
      *pc = at + 1;
    }
    return 1;
  case ')':
    close_capture(m, *s);
    *pc = at + 1;
    return 1;
  case '$':
    if (at + 1 != m->pat_len)
      break; /* an ordinary character but at the very end */
    if (*s != m->src_len)
      return 0;
    *pc = at + 1;
    return 1;
  case '%':
    if (at + 1 >= m->pat_len)
      break;
    if (m->pat[at + 1] == 'b')
      return match_balance(m, s, pc);
    if (m->pat[at + 1] == 'f')
      return match_frontier(m, s, pc);
    if (m->pat[at + 1] >= '0' && m->pat[at + 1] <= '9')
      return match_backref(m, s, pc);
    break;
  }
  return match_item(m, s, pc);
}

/* Back to the latest choice with an alternative left, undoing captures on the way.
 * Returns 0 when none is left: no match at this start. */
static int backtrack(struct matcher *m, size_t *s, size_t *pc)
{
  while (m->depth > 0) {
    struct choice *c = &m->stack[m->depth - 1];
    spend(m, 1);
    switch (c->kind) {
    case UNDO_OPEN:
      m->level--;
      break;
    case UNDO_CLOSE:
      m->cap[c->cap].len = CAP_OPEN;
      break;
    case SKIP_OPTIONAL:
      m->depth--;
      *s = c->at;
      *pc = c->rest;
      return 1;
    case GIVE_BACK:
      if (c->u.count == 0)
        break;
      c->u.count--;
      *s = c->at + c->u.count;
      *pc = c->rest;
      return 1;
    case TAKE_MORE:
      if (!item_at(m, c->u.item, c->rest - 1, c->at))
        break;
      *s = ++c->at;
      *pc = c->rest;
      return 1;
    }
    m->depth--;
  }
  return 0;
}

/* The whole pattern at subject offset s. Returns 1 and where the match ends, or 0. */
static int match_from(struct matcher *m, size_t s, size_t *end)
{
  size_t pc = 0;
  m->level = 0;
  m->depth = 0;
  for (;;) {
    spend(m, 1);
    if (pc == m->pat_len) {
      *end = s;
      return 1;
    }
    if (!match_one(m, &s, &pc) && !backtrack(m, &s, &pc))
      return 0;
  }
}

/* Capture i of the match [s, e): where its text is, or (returning 1) a position capture
 * starting at *at. With no captures at all, capture 0 is the whole match. */
static int capture_span(const struct matcher *m, int i, size_t s, size_t e, size_t *at,
                        size_t *len)
{
  if (i >= m->level) {
    if (i != 0)
      luaL_error(m->L, "invalid capture index %%%d", i + 1);
    *at = s;
    *len = e - s;
    return 0;
  }
  if (m->cap[i].len == CAP_OPEN)
    luaL_error(m->L, "unfinished capture");
  *at = m->cap[i].at;
  *len = m->cap[i].len == CAP_POSITION ? 0 : (size_t)m->cap[i].len;
  return m->cap[i].len == CAP_POSITION;
}

static void push_capture(const struct matcher *m, int i, size_t s, size_t e)
{
  size_t at, len;
  if (capture_span(m, i, s, e, &at, &len))
    lua_pushinteger(m->L, (lua_Integer)at + 1);
  else
    lua_pushlstring(m->L, (const char *)m->src + at, len);
}

/* The captures, or the whole match when there are none and `whole` (find wants neither
 * then: it has pushed the positions). */
static int push_captures(const struct matcher *m, size_t s, size_t e, int whole)
{
  int n = m->level == 0 && whole ? 1 : m->level;
  luaL_checkstack(m->L, n, "too many captures");
  for (int i = 0; i < n; i++)
    push_capture(m, i, s, e);
  return n;
}

/* A 1-based position, negative from the end, as a 0-based offset (maybe past the end). */
static size_t start_offset(lua_Integer pos, size_t len)
{
  if (pos > 0)
    return (size_t)pos - 1;
  if (pos == 0 || pos < -(lua_Integer)len)
    return 0;
  return len - (size_t)-pos;
}

static int has_specials(const char *p, size_t lp)
{
  for (size_t i = 0; i < lp; i++)
    if (memchr("^$*+?.([%-", p[i], 10))
      return 1;
  return 0;
}

/* The first p in s, in time linear in ls (so it needs no budget): a short p is looked for
 * at each place its first byte is, a long one with memmem (linear, but slower to start). */
static const char *search(const char *s, size_t ls, const char *p, size_t lp)
{
  if (lp == 0)
    return s;
  if (lp > 16)
    return memmem(s, ls, p, lp);
  const char *end = s + ls, *at = s;
  while ((size_t)(end - at) >= lp && (at = memchr(at, p[0], (size_t)(end - at) - lp + 1))) {
    if (memcmp(at + 1, p + 1, lp - 1) == 0)
      return at;
    at++;
  }
  return NULL;
}

/* A pattern without special characters, or find's plain flag: a plain search. */
static int find_plain(lua_State *L, const char *s, size_t ls, size_t init, const char *p,
                      size_t lp)
{
  const char *hit = search(s + init, ls - init, p, lp);
  if (hit == NULL) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
  lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
  return 2;
}

/* The first match [*start, *end) from offset init on, or only at init when anchored. */
static int first_match(struct matcher *m, size_t init, int anchored, size_t *start,
                       size_t *end)
{
  for (size_t at = init;; at++) {
    if (match_from(m, at, end)) {
      *start = at;
      return 1;
    }
    if (anchored || at >= m->src_len)
      return 0;
  }
}

/* string.find (find = 1) and string.match: the first match from init on; a leading '^'
 * tries init only. */
static int find_or_match(lua_State *L, int find)
{
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
  if (init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || !has_specials(p, lp)))
    return find_plain(L, s, ls, init, p, lp);
  int anchored = lp > 0 && p[0] == '^', n = 0;
  size_t at, end;
  struct matcher m;
  matcher_init(&m, L, s, ls, p + anchored, lp - (size_t)anchored);
  if (!first_match(&m, init, anchored, &at, &end)) {
    luaL_pushfail(L);
    n = 1;
  } else {
    if (find) {
      lua_pushinteger(L, (lua_Integer)at + 1);
      lua_pushinteger(L, (lua_Integer)end);
      n = 2;
    }
    n += push_captures(&m, at, end, !find);
  }
  settle(&m);
  return n;
}

static int pattern_find(lua_State *L)
{
  return find_or_match(L, 1);
}

static int pattern_match(lua_State *L)
{
  return find_or_match(L, 0);
}

struct gmatch_state {
  size_t next;     /* where to look from */
  size_t last_end; /* where the last match ended: an empty match there is skipped */
  int matched;     /* last_end is set */
};

/* The iterator gmatch returns: upvalues subject, pattern, state. */
static int gmatch_next(lua_State *L)
{
  size_t ls, lp;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  struct gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
  struct matcher m;
  matcher_init(&m, L, s, ls, p, lp);
  for (size_t at = g->next; at <= ls; at++) {
    size_t end;
    if (match_from(&m, at, &end) && !(g->matched && end == g->last_end)) {
      g->next = g->last_end = end;
      g->matched = 1;
      int n = push_captures(&m, at, end, 1);
      settle(&m);
      return n;
    }
  }
  g->next = ls + 1; /* nothing more: another call need not look again */
  settle(&m);
  return 0;
}

/* string.gmatch(s, pattern [, init]): '^' is an ordinary character here (an anchor would
 * stop the iteration), as in Lua 5.4. */
static int pattern_gmatch(lua_State *L)
{
  size_t ls;
  luaL_checklstring(L, 1, &ls);
  luaL_checkstring(L, 2);
  size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
  lua_settop(L, 2);
  struct gmatch_state *g = lua_newuserdatauv(L, sizeof *g, 0);
  g->next = init > ls ? ls + 1 : init;
  g->matched = 0;
  g->last_end = 0;
  lua_pushcclosure(L, gmatch_next, 3);
  return 1;
}

/* gsub's string replacement: %0 the match, %1-%9 captures, %% a '%'. */
static void add_template(const struct matcher *m, luaL_Buffer *b, size_t s, size_t e)
{
  lua_State *L = m->L;
  size_t len, i = 0;
  const char *r = lua_tolstring(L, 3, &len);
  const char *pct;
  while ((pct = memchr(r + i, '%', len - i)) != NULL) {
    size_t k = (size_t)(pct - r);
    int c = k + 1 < len ? (unsigned char)r[k + 1] : 0;
    luaL_addlstring(b, r + i, k - i);
    if (c == '%') {
      luaL_addchar(b, '%');
    } else if (c == '0') {
      luaL_addlstring(b, (const char *)m->src + s, e - s);
    } else if (c >= '1' && c <= '9') {
      size_t at, n;
      if (capture_span(m, c - '1', s, e, &at, &n)) {
        lua_pushinteger(L, (lua_Integer)at + 1);
        luaL_addvalue(b);
      } else {
        luaL_addlstring(b, (const char *)m->src + at, n);
      }
    } else {
      luaL_error(L, "invalid use of '%c' in replacement string", '%');
    }
    i = k + 2;
  }
  luaL_addlstring(b, r + i, len - i);
}

/* Adds what replaces the match [s, e) (argument 3: string, number, table or function).
 * Returns whether the text changed: false or nil from a table or function keeps the
 * match. */
static int add_replacement(const struct matcher *m, luaL_Buffer *b, size_t s, size_t e,
                           int type)
{
  lua_State *L = m->L;
  if (type == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    lua_call(L, push_captures(m, s, e, 1), 1); /* Lua code: under the count hook */
  } else if (type == LUA_TTABLE) {
    push_capture(m, 0, s, e);
    lua_gettable(L, 3);
  } else {
    add_template(m, b, s, e);
    return 1;
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, (const char *)m->src + s, e - s);
    return 0;
  }
  if (!lua_isstring(L, -1))
    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
  return 1;
}

/* string.gsub(s, pattern, repl [, n]): returns the new text (s itself when nothing
 * changed) and the number of matches. After a match, an empty match where it ended is
 * not another one. */
static int pattern_gsub(lua_State *L)
{
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  int type = lua_type(L, 3);
  lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
  luaL_argexpected(L, type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION ||
                          type == LUA_TTABLE, 3, "string/function/table");
  int anchored = lp > 0 && p[0] == '^', changed = 0, matched = 0;
  size_t at = 0, last_end = 0;
  lua_Integer n = 0;
  struct matcher m;
  luaL_Buffer b;
  matcher_init(&m, L, s, ls, p + anchored, lp - (size_t)anchored);
  luaL_buffinit(L, &b);
  while (n < max) {
    size_t end;
    if (match_from(&m, at, &end) && !(matched && end == last_end)) {
      n++;
      changed |= add_replacement(&m, &b, at, end, type);
      at = last_end = end;
      matched = 1;
    } else if (at < ls) {
      luaL_addchar(&b, s[at++]);
    } else {
      break;
    }
    if (anchored)
      break;
  }
  if (changed) {
    luaL_addlstring(&b, s + at, ls - at);
    luaL_pushresult(&b);
  } else {
    lua_pushvalue(L, 1);
  }
  lua_pushinteger(L, n);
  settle(&m);
  return 2;
}

void lhost_pattern_install(lua_State *L)
{
  static const luaL_Reg fns[] = {{"find", pattern_find},
                                 {"match", pattern_match},
                                 {"gmatch", pattern_gmatch},
                                 {"gsub", pattern_gsub},
                                 {NULL, NULL}};
  lua_getglobal(L, "string");
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}

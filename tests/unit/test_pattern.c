/* The journeys' own pattern matcher (core/lua/lhost_pattern.c) against Lua's: every case
 * runs in a plain Lua state (Lua's string library) and in one with the journeys' find,
 * match, gmatch and gsub installed, and both must print the expected text. One case per
 * feature of the reference manual's §6.4 and §6.4.1, and every error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lhost_int.h"

/* Helpers both states get: show(...) prints values (strings quoted, numbers as Lua prints
 * them), each(f, s, c) shows every round of a generic for. */
static const char helpers[] =
    "function show(...)\n"
    "  local t = {}\n"
    "  for i = 1, select('#', ...) do\n"
    "    local v = select(i, ...)\n"
    "    t[i] = type(v) == 'string' and \"'\" .. v .. \"'\" or tostring(v)\n"
    "  end\n"
    "  return table.concat(t, ' ')\n"
    "end\n"
    "function each(f, s, c)\n"
    "  local out = {}\n"
    "  for _ = 1, 100 do\n"
    "    local r = table.pack(f(s, c))\n"
    "    if r[1] == nil then break end\n"
    "    c = r[1]\n"
    "    out[#out + 1] = show(table.unpack(r, 1, r.n))\n"
    "  end\n"
    "  local text = table.concat(out, ' | ')\n"
    "  return setmetatable({}, {__tostring = function() return text end})\n"
    "end\n";

struct pcase {
  const char *expr; /* a Lua expression */
  const char *expect; /* show() of its values, or "error: <message>" */
};

static const struct pcase cases[] = {
    /* string.find: plain search, init (negative, clipped, past the end), the plain flag */
    {"string.find('hello world', 'o w')", "5 7"},
    {"string.find('hello world', 'o', 6)", "8 8"},
    {"string.find('hello', 'l', -2)", "4 4"},
    {"string.find('hello', 'h', -10)", "1 1"},
    {"string.find('hello', 'l', 0)", "3 3"},
    {"string.find('hello', '', 10)", "nil"},
    {"string.find('hello', '', 6)", "6 5"},
    {"string.find('hello', 'o', 6)", "nil"},
    {"string.find('', '')", "1 0"},
    {"string.find('a.b', '.', 1, true)", "2 2"},
    {"string.find('a+b', '+', 1, true)", "2 2"},
    {"string.find('a+b', 'a+')", "1 1"},
    {"string.find('a(b', '(', 1, 1)", "2 2"},
    {"string.find('x^a', '^a', 1, true)", "2 3"},
    {"string.find('aaab', 'aab', 1, true)", "2 4"},
    {"string.find('abcabd', 'abd')", "4 6"},
    {"string.find(('a'):rep(40) .. 'b', ('a'):rep(20) .. 'b', 1, true)", "21 41"},
    {"string.find(('a'):rep(40), ('a'):rep(20) .. 'b', 1, true)", "nil"},
    {"string.find('ab', 'abc', 1, true)", "nil"},
    {"string.find('hello', 'l+')", "3 4"},
    {"string.find('hello', '(l)(l)')", "3 4 'l' 'l'"},
    {"string.find('hello', '()ll()')", "3 4 3 5"},
    {"string.find('abc', 'x*', 4)", "4 3"},
    {"string.find(12345, 34)", "3 4"},
    {"('hello'):find('l')", "3 3"},
    {"string.find('a\\0b', '\\0')", "2 2"},
    {"string.find('a\\0b', '[\\0]')", "2 2"},
    {"string.find('a\\0b', '%z')", "2 2"},
    {"string.find('a\\0b', '%Z+')", "1 1"},
    {"#string.match('a\\0\\0b', '%c+')", "2"},
    /* anchors */
    {"string.find('abc', '^b')", "nil"},
    {"string.find('abc', '^a')", "1 1"},
    {"string.find('abc', '^b', 2)", "2 2"},
    {"string.find('a^b', 'a^b')", "1 3"},
    {"string.find('abc', 'c$')", "3 3"},
    {"string.find('abc', 'b$')", "nil"},
    {"string.find('a$c', '$c')", "2 3"},
    {"string.find('abc', '$')", "4 3"},
    {"string.find('abc', '^$')", "nil"},
    {"string.find('', '^$')", "1 0"},
    {"string.match('a$', '.$$')", "'a$'"},
    {"string.match('a$', '$$')", "'$'"},
    {"string.match('abc', '^(.-)$')", "'abc'"},
    /* string.match */
    {"string.match('  hi there  ', '^%s*(.-)%s*$')", "'hi there'"},
    {"string.match('key = value', '(%w+)%s*=%s*(%w+)')", "'key' 'value'"},
    {"string.match('2024-01-15', '(%d+)-(%d+)-(%d+)')", "'2024' '01' '15'"},
    {"string.match('hello', '.-')", "''"},
    {"string.match('hello', 'l*')", "''"},
    {"string.match('hello', 'hel?l?')", "'hell'"},
    {"string.match('helo', 'hel?l?o')", "'helo'"},
    {"string.match('abc', '()')", "1"},
    {"string.match('hello', 'o', -1)", "'o'"},
    {"string.match('hello', 'h', 2)", "nil"},
    {"string.match('hello', '(h)(e)(l)(l)(o)')", "'h' 'e' 'l' 'l' 'o'"},
    {"string.match('hello', '((h)(e))')", "'he' 'h' 'e'"},
    {"string.match('[[x]]', '%[(.*)%]')", "'[x]'"},
    {"string.match('a,b,,c', '^(.-),(.*)$')", "'a' 'b,,c'"},
    {"string.match('aaab', 'a-b')", "'aaab'"},
    {"string.match('aaab', 'a+')", "'aaa'"},
    {"string.match('aaab', 'a+ab')", "'aaab'"},
    {"string.match('b', 'a+')", "nil"},
    {"string.match('ab', 'a*b*c?')", "'ab'"},
    {"string.match('xyz', '.+y')", "'xy'"},
    {"string.match('xyzyz', '.-y(.*)')", "'zyz'"},
    {"string.match('xyzyz', '.*y(.*)')", "'z'"},
    {"string.match('**', '**')", "'**'"},
    {"string.match('a+', '+')", "'+'"},
    {"string.match('-x', '-x')", "'-x'"},
    {"string.match('?', '?')", "'?'"},
    {"string.match('a*b', 'a%*b')", "'a*b'"},
    /* character classes, their complements, and escapes */
    {"string.gsub('aZ5 !_.~x', '%a', '#')", "'##5 !_.~#' 3"},
    {"string.gsub('aZ5 !_.~x', '%A', '#')", "'aZ######x' 6"},
    {"string.gsub('a\\tb\\1c\\127', '%c', '#')", "'a#b#c#' 3"},
    {"string.gsub('a\\tb\\1c\\127', '%C', '#')", "'#\t#\1#\177' 3"},
    {"string.gsub('a1b22', '%d', '#')", "'a#b##' 3"},
    {"string.gsub('a1b22', '%D', '#')", "'#1#22' 2"},
    {"string.gsub('a b\\tc!', '%g', '#')", "'# #\t##' 4"},
    {"string.gsub('a b\\tc!', '%G', '#')", "'a#b#c!' 2"},
    {"string.gsub('aBcD', '%l', '#')", "'#B#D' 2"},
    {"string.gsub('aBcD', '%L', '#')", "'a#c#' 2"},
    {"string.gsub('a.b,c!_', '%p', '#')", "'a#b#c##' 4"},
    {"string.gsub('a.b,c!_', '%P', '#')", "'#.#,#!_' 3"},
    {"string.gsub('a b\\tc\\nd\\re\\vf\\f', '%s', '#')", "'a#b#c#d#e#f#' 6"},
    {"string.gsub('a b\\tc', '%S', '#')", "'# #\t#' 3"},
    {"string.gsub('aBcD', '%u', '#')", "'a#c#' 2"},
    {"string.gsub('aBcD', '%U', '#')", "'#B#D' 2"},
    {"string.gsub('a_1 B', '%w', '#')", "'#_# #' 3"},
    {"string.gsub('a_1 B', '%W', '#')", "'a#1#B' 2"},
    {"string.gsub('0aFgx9', '%x', '#')", "'###gx#' 4"},
    {"string.gsub('0aFgx9', '%X', '#')", "'0aF##9' 2"},
    {"string.gsub('a\\200\\255b', '%a', '#')", "'#\310\377#' 2"},
    {"string.gsub('a\\200\\255b', '.', '#')", "'####' 4"},
    {"string.match('a.b', '%.')", "'.'"},
    {"string.match('1+1=2', '%d%+%d')", "'1+1'"},
    {"string.match('a%b', '%%')", "'%'"},
    {"string.match('yq', '%y%q')", "'yq'"},
    {"string.match('a]b', '%]')", "']'"},
    {"string.match('(x)', '%(%w%)')", "'(x)'"},
    /* sets: ranges, classes, complements, ']' and '-' and '^' as members */
    {"string.match('hello123', '[a-z]+')", "'hello'"},
    {"string.match('hello123', '[^a-z]+')", "'123'"},
    {"string.match('a-b', '[a-]+')", "'a-'"},
    {"string.match('x]y', '[]]')", "']'"},
    {"string.match(']', '[^]]')", "nil"},
    {"string.match('a]', '[^]]')", "'a'"},
    {"string.match('x^y', '[%^]')", "'^'"},
    {"string.match('x^y', '[x^]+')", "'x^'"},
    {"string.match('a1_B.', '[%w_]+')", "'a1_B'"},
    {"string.match('AbC', '[%u]+')", "'A'"},
    {"string.match('x%y', '[%%]')", "'%'"},
    {"string.match('abc-d', '[%a-]+')", "'abc-d'"},
    {"string.match('m', '[z-a]')", "nil"},
    {"string.match('+,-', '[+--]+')", "'+,-'"},
    {"string.match('hello world', '[^%s]+')", "'hello'"},
    {"string.match('aaa-bbb', '[ab]-%-')", "'aaa-'"},
    {"string.match('a]b', '[%]]')", "']'"},
    {"string.match('a-b', '[%-]')", "'-'"},
    {"string.match('A9z', '[^%l%d]')", "'A'"},
    {"string.match('xa-', '[a%-z]+')", "'a-'"},
    {"string.match('b', '[a-]')", "nil"},
    {"#string.match('\\0', '[%z]')", "1"},
    {"string.match('^', '[^^]')", "nil"},
    {"string.match('[', '[[]')", "'['"},
    /* %b balanced, %f frontier */
    {"string.match('f(a(b)c)d', '%b()')", "'(a(b)c)'"},
    {"string.match('a{b{c}d}e}', '%b{}')", "'{b{c}d}'"},
    {"string.match('((x)', '%b()')", "'(x)'"},
    {"string.match('(x', '%b()')", "nil"},
    {"string.match('aaa', '%baa')", "'aa'"},
    {"string.match('x(a)(b)', '%b()+')", "nil"},
    {"string.match('[x]y', '%b[]y')", "'[x]y'"},
    {"string.gsub('THE (quick) fox', '%f[%a]%a+', 'W')", "'W (W) W' 3"},
    {"string.find('hello', '%f[%a]')", "1 0"},
    {"string.find('hello', '%f[%W]')", "6 5"},
    {"string.find('hello', '%f[%l]', 2)", "nil"},
    {"string.gsub('THE (quick) fox', '%f[%A]', '|')", "'THE| (quick|) fox|' 3"},
    {"string.find('a\\0b', '%f[%z]')", "2 1"},
    /* back-references */
    {"string.match('say \"hi\" now', '([\"\\'])(.-)%1')", "'\"' 'hi'"},
    {"string.match('abcabc', '(abc)%1')", "'abc'"},
    {"string.find('xyzxyz', '(x)(y)z%1%2')", "1 5 'x' 'y'"},
    {"string.match('aa', '()a%1')", "nil"},
    {"string.match('abab', '(a(b))%1')", "'ab' 'b'"},
    {"string.match('aXbXc', '(X).-%1')", "'X'"},
    /* string.gmatch, with init (5.4); '^' is an ordinary character there */
    {"each(('one two three'):gmatch('%a+'))", "'one' | 'two' | 'three'"},
    {"each(('k1=v1, k2=v2'):gmatch('(%w+)=(%w+)'))", "'k1' 'v1' | 'k2' 'v2'"},
    {"each(('abc'):gmatch(''))", "'' | '' | '' | ''"},
    {"each(('abc'):gmatch('()'))", "1 | 2 | 3 | 4"},
    {"each(('hello world'):gmatch('%a+', 3))", "'llo' | 'world'"},
    {"each(('hello world'):gmatch('%a+', -5))", "'world'"},
    {"each(('hello'):gmatch('.', 10))", ""},
    {"each(('hello'):gmatch('.', -10))", "'h' | 'e' | 'l' | 'l' | 'o'"},
    {"each(('^a^a'):gmatch('^a'))", "'^a' | '^a'"},
    {"each(('abc'):gmatch('x*'))", "'' | '' | '' | ''"},
    {"each(('aaa'):gmatch('a*'))", "'aaa'"},
    {"each(('abc'):gmatch('b*'))", "'' | 'b' | ''"},
    {"each(('a,b,,c'):gmatch('([^,]*)'))", "'a' | 'b' | '' | 'c'"},
    {"each(('ab'):gmatch('.$'))", "'b'"},
    {"each(string.gmatch('x', '(x'))", "error: unfinished capture"},
    {"each(string.gmatch('x', '%'))", "error: malformed pattern (ends with '%')"},
    /* string.gsub: string replacement with %0-%9 and %%, table, function, false/nil, n */
    {"string.gsub('hello world', 'o', '0')", "'hell0 w0rld' 2"},
    {"string.gsub('hello world', '(%w+)', '<%1>')", "'<hello> <world>' 2"},
    {"string.gsub('hello world', '(%w+) (%w+)', '%2 %1')", "'world hello' 1"},
    {"string.gsub('hello', '', '-')", "'-h-e-l-l-o-' 6"},
    {"string.gsub('abc', '%w', '%0%0')", "'aabbcc' 3"},
    {"string.gsub('abc', 'b', '%%')", "'a%c' 1"},
    {"string.gsub('abc', 'b', '%1')", "'abc' 1"},
    {"string.gsub('abc', '()b', '%1')", "'a2c' 1"},
    {"string.gsub('abc', 'b', 5)", "'a5c' 1"},
    {"string.gsub('abc', 'b', 2.5)", "'a2.5c' 1"},
    {"string.gsub('hello world', '%w+', '%0 %0', 1)", "'hello hello world' 1"},
    {"string.gsub('aaa', 'a', 'b', 0)", "'aaa' 0"},
    {"string.gsub('aaa', 'a', 'b', -1)", "'aaa' 0"},
    {"string.gsub('aaa', 'a', 'b', 2.0)", "'bba' 2"},
    {"string.gsub('aaa', '^a', 'b')", "'baa' 1"},
    {"string.gsub('aaa', '^', '>')", "'>aaa' 1"},
    {"string.gsub('aaa', '$', '<')", "'aaa<' 1"},
    {"string.gsub('abc', 'x*', '-')", "'-a-b-c-' 4"},
    {"string.gsub('abc', 'b*', '-')", "'-a-c-' 3"},
    {"string.gsub('abc', '(b', 'x')", "'axc' 1"},
    {"string.gsub('b', 'a(', 'x')", "'b' 0"},
    {"string.gsub('', 'x*', 'y')", "'y' 1"},
    {"string.gsub('$name is $age', '%$(%w+)', {name = 'Ann', age = 42})", "'Ann is 42' 2"},
    {"string.gsub('$a $b', '%$(%w+)', {a = '1'})", "'1 $b' 2"},
    {"string.gsub('$a $b', '%$(%w+)', {a = false, b = 'x'})", "'$a x' 2"},
    {"string.gsub('ab', '%w', {a = 1.5})", "'1.5b' 2"},
    {"string.gsub('ab', '()', {[1] = 'x', [3] = 'y'})", "'xaby' 3"},
    {"string.gsub('ab', '%w', setmetatable({}, {__index = function(t, k) return k:upper() end}))",
     "'AB' 2"},
    {"string.gsub('abc', '%w', function(c) return c:upper() .. '.' end)", "'A.B.C.' 3"},
    {"string.gsub('abc', '%w', function(c) if c == 'b' then return nil end return 'x' end)",
     "'xbx' 3"},
    {"string.gsub('abc', '%w', function(c) return c == 'b' end)", "error: invalid replacement "
                                                                  "value (a boolean)"},
    {"string.gsub('a b', '%w', function() return 7 end)", "'7 7' 2"},
    {"string.gsub('k=v', '(%w)=(%w)', function(a, b) return b .. '=' .. a end)", "'v=k' 1"},
    {"string.gsub('abc', '()b', function(p) return p end)", "'a2c' 1"},
    {"string.gsub('abc', '', function(...) return select('#', ...) end)", "'1a1b1c1' 4"},
    {"string.gsub('hello world', 'l+', function(s) return #s end)", "'he2o wor1d' 2"},
    {"string.gsub('abc', '%w', function(c) return string.gsub(c, '.', '%0%0') end)",
     "'aabbcc' 3"},
    {"string.gsub(1.5, '%.', ',')", "'1,5' 1"},
    {"(function() local function f(s) return (s:gsub('.', f)) end return f('ab') end)()",
     "error: C stack overflow"},
    {"string.gsub('abc', '%w', function() return {} end)", "error: invalid replacement value "
                                                            "(a table)"},
    {"string.gsub('abc', '%w', {a = {}})", "error: invalid replacement value (a table)"},
    {"string.gsub('abc', '(b)', '%2')", "error: invalid capture index %2"},
    {"string.gsub('abc', 'b', '%2')", "error: invalid capture index %2"},
    {"string.gsub('abc', 'b', '%x')", "error: invalid use of '%' in replacement string"},
    {"string.gsub('abc', 'b', 'x%')", "error: invalid use of '%' in replacement string"},
    {"string.gsub('abc', '(b', '%1')", "error: unfinished capture"},
    {"string.gsub('abc', '(b', {})", "error: unfinished capture"},
    {"string.gsub('abc', 'x', '%2')", "'abc' 0"},
    /* malformed patterns: raised only when the matcher reaches the item, as Lua does */
    {"string.find('a', '%')", "error: malformed pattern (ends with '%')"},
    {"string.find('a', 'a%')", "error: malformed pattern (ends with '%')"},
    {"string.find('b', 'a%')", "nil"},
    {"string.find('a', '[a')", "error: malformed pattern (missing ']')"},
    {"string.find('a', '[a%')", "error: malformed pattern (missing ']')"},
    {"string.find('a', '[a%]')", "error: malformed pattern (missing ']')"},
    {"string.find('a', '[]')", "error: malformed pattern (missing ']')"},
    {"string.find('a', '[^]')", "error: malformed pattern (missing ']')"},
    {"string.find('b', 'a[')", "nil"},
    {"string.find('a', 'a[')", "error: malformed pattern (missing ']')"},
    {"string.find('a', '%f')", "error: missing '[' after '%f' in pattern"},
    {"string.find('a', '%fa')", "error: missing '[' after '%f' in pattern"},
    {"string.find('a', '%f[a')", "error: malformed pattern (missing ']')"},
    {"string.find('a', '%b')", "error: malformed pattern (missing arguments to '%b')"},
    {"string.find('a', '%bx')", "error: malformed pattern (missing arguments to '%b')"},
    {"string.find('', '%bxy')", "nil"},
    {"string.find('a', '(a)%2')", "error: invalid capture index %2"},
    {"string.find('a', '%0')", "error: invalid capture index %0"},
    {"string.find('aa', '(a%1)')", "error: invalid capture index %1"},
    {"string.find('b', '(a)%2')", "nil"},
    {"string.find('a', 'a)')", "nil"}, /* no special character: a plain search */
    {"string.match('a', 'a)')", "error: invalid pattern capture"},
    {"string.match('a', ')')", "error: invalid pattern capture"},
    {"string.match('ab', '(a)b)')", "error: invalid pattern capture"},
    {"string.find('a', '(a')", "error: unfinished capture"},
    {"string.find('a', '(')", "error: unfinished capture"},
    {"string.match('a', '(()')", "error: unfinished capture"},
    {"string.find('b', '(a')", "nil"},
    {"string.find(('a'):rep(40), ('()'):rep(32))", "1 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 "
                                                   "1 1 1 1 1 1 1 1 1 1 1 1"},
    {"string.find(('a'):rep(40), ('()'):rep(33))", "error: too many captures"},
    {"string.find('', ('(a)'):rep(33))", "nil"},
    /* Lua's 200 nested calls ("pattern too complex"): each '?' that matched, each
     * repetition that matched once, each capture opened or closed costs one */
    {"#string.match(('a'):rep(300), ('a?'):rep(199))", "199"},
    {"#string.match(('a'):rep(300), ('a?'):rep(200))", "error: pattern too complex"},
    {"#string.match(('a'):rep(300), ('a*'):rep(250))", "300"},
    {"#string.match(('ab'):rep(150), ('a*b*'):rep(99))", "198"},
    {"#string.match(('ab'):rep(150), ('a*b*'):rep(100))", "error: pattern too complex"},
    {"#string.match(('ab'):rep(150), ('a-b-'):rep(100))", "0"},
    {"#string.match(('ab'):rep(250), ('a-b'):rep(199))", "398"},
    {"#string.match(('ab'):rep(250), ('a-b'):rep(200))", "error: pattern too complex"},
    {"#string.match(('ab'):rep(150), ('a+b+'):rep(100))", "error: pattern too complex"},
    {"#string.match('', ('a?'):rep(300))", "0"},
    {"select('#', string.match(('a'):rep(300), ('(a)'):rep(32) .. ('a?'):rep(135)))", "32"},
    {"select('#', string.match(('a'):rep(300), ('(a)'):rep(32) .. ('a?'):rep(136)))",
     "error: pattern too complex"},
    /* arguments */
    {"string.find(nil, 'x')", "error: bad argument #1 to 'find' (string expected, got nil)"},
    {"('x'):find({})", "error: bad argument #1 to 'find' (string expected, got table)"},
    {"string.find('x', 'x', 'a')", "error: bad argument #3 to 'find' (number expected, got "
                                   "string)"},
    {"string.find('x', 'x', 1.5)", "error: bad argument #3 to 'find' (number has no integer "
                                   "representation)"},
    {"string.find('x', 'x', '1')", "1 1"},
    {"string.match('x')", "error: bad argument #2 to 'match' (string expected, got no value)"},
    {"string.gmatch('x')", "error: bad argument #2 to 'gmatch' (string expected, got no value)"},
    {"string.gmatch('x', 'x', {})", "error: bad argument #3 to 'gmatch' (number expected, got "
                                    "table)"},
    {"string.gsub('x', 'x', 'y', 'z')", "error: bad argument #4 to 'gsub' (number expected, got "
                                        "string)"},
    {"string.gsub('x', 'x')", "error: bad argument #3 to 'gsub' (string/function/table "
                              "expected, got no value)"},
    {"string.gsub('x', 'x', true)", "error: bad argument #3 to 'gsub' (string/function/table "
                                    "expected, got boolean)"},
    {"string.gsub('x', 'x', nil, 'z')", "error: bad argument #4 to 'gsub' (number expected, got "
                                        "string)"},
};

enum { NCASES = sizeof cases / sizeof cases[0] };

static struct journey own_journey; /* the matcher's budget: inactive unless a test arms it */

static int install(lua_State *L)
{
  lhost_pattern_install(L);
  return 0;
}

/* A state with Lua's libraries, and the journeys' matcher in it when `own`. */
static lua_State *state(int own)
{
  lua_State *L = luaL_newstate();
  assert_non_null(L);
  *(struct journey **)lua_getextraspace(L) = &own_journey;
  luaL_openlibs(L);
  lua_pushcfunction(L, install);
  if (own && lua_pcall(L, 0, 0, 0) != LUA_OK)
    fail_msg("install: %s", lua_tostring(L, -1));
  lua_settop(L, 0);
  if (luaL_dostring(L, helpers) != LUA_OK)
    fail_msg("helpers: %s", lua_tostring(L, -1));
  return L;
}

/* What one expression prints in state L (a malloc'd string). */
static char *eval(lua_State *L, const char *expr)
{
  char chunk[4096];
  snprintf(chunk, sizeof chunk,
           "local r = table.pack(pcall(function() return %s end))\n"
           "if not r[1] then return 'error: ' .. tostring(r[2]) end\n"
           "return show(table.unpack(r, 2, r.n))",
           expr);
  if (luaL_dostring(L, chunk) != LUA_OK)
    fail_msg("%s: %s", expr, lua_tostring(L, -1));
  const char *r = lua_tostring(L, -1), *where = strstr(r, "\"]:");
  if (strncmp(r, "error: [string ", 15) == 0 && where) { /* the caller's position */
    where += 3 + strspn(where + 3, "0123456789");
    lua_pushfstring(L, "error: %s", where + (*where == ':' ? 2 : 0));
    r = lua_tostring(L, -1);
  }
  char *out = strdup(r);
  lua_settop(L, 0);
  return out;
}

static lua_State *ref, *own;

static int setup(void **state_)
{
  (void)state_;
  ref = state(0);
  own = state(1);
  return 0;
}

static int teardown(void **state_)
{
  (void)state_;
  lua_close(ref);
  lua_close(own);
  return 0;
}

/* Lua's string library must print what the case expects (so the case says what Lua does),
 * and so must the journeys' matcher. */
static void test_case(void **state_)
{
  const struct pcase *c = *state_;
  char *want = eval(ref, c->expr), *got = eval(own, c->expr);
  int ok_ref = strcmp(want, c->expect) == 0, ok_own = strcmp(got, c->expect) == 0;
  if (!ok_ref || !ok_own)
    print_error("%s\n  expected: %s\n  Lua:      %s\n  ours:     %s\n", c->expr, c->expect,
                want, got);
  free(want);
  free(got);
  assert_true(ok_ref && ok_own);
}

/* The functions in the string table and the methods of strings are the journeys' own. */
static void test_installed(void **state_)
{
  (void)state_;
  static const char *const names[] = {"find", "match", "gmatch", "gsub"};
  for (size_t i = 0; i < 4; i++) {
    lua_getglobal(own, "string");
    lua_getfield(own, -1, names[i]);
    lua_getglobal(ref, "string");
    lua_getfield(ref, -1, names[i]);
    assert_true(lua_tocfunction(own, -1) != lua_tocfunction(ref, -1));
    lua_settop(own, 0);
    lua_settop(ref, 0);
  }
  assert_int_equal(luaL_dostring(own, "return ('x').find == string.find and "
                                      "('x').gsub == string.gsub"), LUA_OK);
  assert_true(lua_toboolean(own, -1));
  lua_settop(own, 0);
}

/* Under an armed budget, a pattern that would backtrack for hours raises the budget's error
 * and marks the step killed; an ordinary one costs instructions. */
static void test_budget(void **state_)
{
  (void)state_;
  struct lhost_budget *b = &own_journey.budget;
  memset(b, 0, sizeof *b);
  own_journey.limits.step_instructions = 1000000;
  b->active = 1;
  char *r = eval(own, "string.match(('a'):rep(40), '^a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b')");
  assert_string_equal(r, "error: instruction budget exceeded");
  assert_int_equal(b->kill, KILL_INSTRUCTIONS);
  free(r);
  /* a long set costs by its length at every test (here 20000 tests of 100000 members) */
  memset(b, 0, sizeof *b);
  b->active = 1;
  r = eval(own, "string.find(('b'):rep(20000), '[' .. ('a'):rep(100000) .. ']')");
  assert_string_equal(r, "error: instruction budget exceeded");
  free(r);
  /* once killed, every pattern call raises at once, whatever a pcall did */
  r = eval(own, "string.find('x', 'x+')");
  assert_string_equal(r, "error: instruction budget exceeded");
  free(r);
  memset(b, 0, sizeof *b);
  b->active = 1;
  r = eval(own, "select(2, string.gsub(('ab'):rep(500), '%w', '%0')) == 1000");
  assert_string_equal(r, "true");
  free(r);
  assert_true(b->instructions >= 1000);
  assert_int_equal(b->kill, KILL_NONE);
  /* the deadline too: one already past stops the next check */
  own_journey.limits.step_instructions = 0;
  b->deadline_ms = 1;
  r = eval(own, "string.match(('a'):rep(40), '^a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b')");
  assert_string_equal(r, "error: time limit exceeded");
  assert_int_equal(b->kill, KILL_TIME);
  free(r);
  memset(b, 0, sizeof *b);
}

int main(void)
{
  struct CMUnitTest tests[NCASES + 2];
  for (size_t i = 0; i < NCASES; i++) {
    struct CMUnitTest t = cmocka_unit_test_prestate(test_case, (void *)&cases[i]);
    t.name = cases[i].expr;
    tests[i] = t;
  }
  tests[NCASES] = (struct CMUnitTest)cmocka_unit_test(test_installed);
  tests[NCASES + 1] = (struct CMUnitTest)cmocka_unit_test(test_budget);
  return _cmocka_run_group_tests("pattern", tests, NCASES + 2, setup, teardown);
}

/* A contact's history in a test, read as a journey reads it: t:history(contact [, query])
 * answers what c:history would (the same query, lhost_history_push), and
 * t:expect_offered{contact =, offer = ...} fails the test unless an offer that matches was
 * recorded for the contact. Events a test posts land in the history at the virtual time. */
#include <string.h>

#include "jtest_int.h"
#include "lua/lhost.h"
#include "store/store.h"

static struct jt *self(lua_State *L, const char *method)
{
  struct jt **p = luaL_testudata(L, 1, JT_MT);
  if (!p)
    luaL_error(L, "t:%s: call it with a colon, t:%s(...), not t.%s(...)", method, method, method);
  return *p;
}

/* Newest first, as lhost_history_fn reads it. */
static const char *contact_line(void *ud, size_t i, int64_t *at_ms)
{
  const struct history *h = ud;
  if (i >= h->n)
    return NULL;
  const struct hist_entry *e = history_at(h, h->n - 1 - i);
  *at_ms = e->at_ms;
  return e->what;
}

static const struct history *history_of(struct jt *t, const char *contact)
{
  static const struct history empty;
  struct store *st = t->core->store;
  struct contact *ct = st->ops->contact_get(st, contact);
  return ct ? &ct->history : &empty;
}

/* t:history(contact [, query]) -> the entries, newest first */
static int t_history(lua_State *L)
{
  struct jt *t = self(L, "history");
  if (lua_gettop(L) > 3)
    return luaL_error(L, "t:history: takes a contact and a query, not %d arguments", lua_gettop(L) - 1);
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "t:history: the contact must be a string, not %s", luaL_typename(L, 2));
  const struct history *h = history_of(t, lua_tostring(L, 2));
  lhost_history_push(L, 3, contact_line, (void *)h, clock_now_ms(&t->core->clock), "t:history");
  return 1;
}

/* The failure of t:expect_offered, listing what the contact was offered. */
static int offered_fail(lua_State *L, struct jt *t, const char *contact, const char *offer)
{
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "offered");
  lua_setfield(L, -2, "kind");
  lhost_history_push(L, lua_gettop(L), contact_line, (void *)history_of(t, contact), clock_now_ms(&t->core->clock),
                     "t:expect_offered");
  int all = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "expected an offer of '%s' to %s; offered, newest first:", offer, contact);
  luaL_addvalue(&b);
  lua_Integer n = (lua_Integer)lua_rawlen(L, all);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, all, i);
    lua_getfield(L, -1, "offer");
    lua_getfield(L, -2, "journey");
    lua_pushfstring(L, " %s (%s)", lua_tostring(L, -2), lua_tostring(L, -1));
    lua_replace(L, -4);
    lua_pop(L, 2);
    luaL_addvalue(&b);
  }
  if (n == 0)
    luaL_addstring(&b, " nothing");
  luaL_pushresult(&b);
  luaL_where(L, 1);
  lua_insert(L, -2);
  lua_concat(L, 2);
  return lua_error(L);
}

/* t:expect_offered{contact =, offer = [, journey =, channel =, template =]} -> the newest
 * entry that matches */
static int t_expect_offered(lua_State *L)
{
  static const char *const keys[] = {"contact", "offer", "journey", "channel", "template", NULL};
  struct jt *t = self(L, "expect_offered");
  if (lua_gettop(L) != 2 || lua_type(L, 2) != LUA_TTABLE)
    return luaL_error(L, "t:expect_offered: takes one table, {contact = ..., offer = ...}");
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    size_t i = 0;
    while (keys[i] && (lua_type(L, -2) != LUA_TSTRING || strcmp(keys[i], lua_tostring(L, -2)) != 0))
      i++;
    if (!keys[i])
      return luaL_error(L, "t:expect_offered: unknown field '%s' (known: contact, offer, journey, channel, template)",
                        luaL_tolstring(L, -2, NULL));
    if (lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "t:expect_offered: field '%s' must be a string", lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 2, "contact") != LUA_TSTRING || lua_getfield(L, 2, "offer") != LUA_TSTRING)
    return luaL_error(L, "t:expect_offered: contact and offer are required");
  const char *contact = lua_tostring(L, -2);
  lua_createtable(L, 0, 5); /* the query: kind = "offered" and the fields given */
  lua_pushliteral(L, "offered");
  lua_setfield(L, -2, "kind");
  for (size_t i = 1; keys[i]; i++) {
    lua_getfield(L, 2, keys[i]);
    lua_setfield(L, -2, keys[i]);
  }
  lhost_history_push(L, lua_gettop(L), contact_line, (void *)history_of(t, contact), clock_now_ms(&t->core->clock),
                     "t:expect_offered");
  if (lua_rawgeti(L, -1, 1) == LUA_TTABLE)
    return 1;
  return offered_fail(L, t, contact, lua_tostring(L, 4));
}

void jt_history_methods(lua_State *L)
{
  lua_pushcfunction(L, t_history);
  lua_setfield(L, -2, "history");
  lua_pushcfunction(L, t_expect_offered);
  lua_setfield(L, -2, "expect_offered");
}

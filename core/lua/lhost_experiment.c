/* The host's side of experiments (sdk/lua/parley/experiment.lua): a stable number for
 * (experiment, contact) from a keyed hash, and the arm drawn kept by the core with the
 * conversation (lhost_step_in.arm). The Lua module turns the number into an arm. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "lhost_int.h"

#define EXPERIMENT_NAME_MAX 64

/* Experiment and arm names: what reports and keys can carry as they are. */
static const char *checked_name(lua_State *L, int idx, const char *method, const char *what)
{
  size_t n;
  const char *s = luaL_checklstring(L, idx, &n);
  if (n == 0 || n > EXPERIMENT_NAME_MAX || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                      "0123456789_.-") != n)
    luaL_error(L, "c:%s: %s '%s' must be 1 to %d letters, digits, '_', '.' or '-'", method, what, s,
               EXPERIMENT_NAME_MAX);
  return s;
}

/* c:experiment_hash(name) -> a number in [0, 1), the same for this contact and this
 * experiment on every machine, every restart and every version: BLAKE2b of the contact's
 * id keyed by the experiment (a key derived from its name, as BLAKE2b keys are 16 to 64
 * bytes), its first 53 bits read as a fraction. Another experiment draws independently. */
static int c_experiment_hash(lua_State *L)
{
  struct journey *j = lhost_self_check(L, "experiment_hash");
  const char *name = checked_name(L, 2, "experiment_hash", "the experiment's name");
  const char *contact = j->run.in->contact_id;
  unsigned char key[crypto_generichash_BYTES], h[8];
  char label[EXPERIMENT_NAME_MAX + 32];
  int n = snprintf(label, sizeof label, "parley.experiment:%s", name);
  crypto_generichash(key, sizeof key, (const unsigned char *)label, (size_t)n, NULL, 0);
  crypto_generichash(h, sizeof h, (const unsigned char *)contact, strlen(contact), key, sizeof key);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | h[i];
  lua_pushnumber(L, (lua_Number)(v >> 11) / 9007199254740992.0); /* 2^53 */
  return 1;
}

/* c:experiment_record(name, arm, holdout) -> the arm kept: this one, or the one the
 * conversation was given before, or one a test forced. */
static int c_experiment_record(lua_State *L)
{
  struct journey *j = lhost_self_check(L, "experiment_record");
  const char *name = checked_name(L, 2, "experiment_record", "the experiment's name");
  const char *arm = checked_name(L, 3, "experiment_record", "the arm");
  int holdout = lua_toboolean(L, 4);
  const struct lhost_step_in *in = j->run.in;
  char kept[EXPERIMENT_NAME_MAX + 64];
  if (in->arm == NULL) {
    lua_pushstring(L, arm);
    return 1;
  }
  if (in->arm(in->ud, name, arm, holdout, kept, sizeof kept) < 0)
    return luaL_error(L, "c:experiment_record: %s", kept);
  lua_pushstring(L, kept);
  return 1;
}

const luaL_Reg lhost_experiment_methods[] = {
    {"experiment_hash", c_experiment_hash},
    {"experiment_record", c_experiment_record},
    {NULL, NULL},
};

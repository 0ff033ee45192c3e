/* A whole core on a virtual clock for unit tests: a temporary data folder, the real `file`
 * plugin on the email channel, journeys from a folder, either store backend. */
#ifndef PARLEY_TEST_COREFIX_H
#define PARLEY_TEST_COREFIX_H
#include <cJSON.h>

#include "core.h"

#define T0 1800000000000LL /* virtual start: 2027-01-15 */
#define HOUR (3600 * 1000LL)

struct fixture {
  struct core *core;
  struct ev_loop *loop;
  char dir[64];
  char spoken[128];
  char journeys[128];
  const char *backend;
  char extra[512]; /* more of the configuration table ("retention = {...},"); "" by default */
  char channels[512]; /* the channels table's inside; "": the file plugin on email */
  int64_t now_ms; /* kept across a close and reopen */
};

/* A new folder; `copy_journeys`: the journeys folder is a copy of tests/unit/conv_journeys
 * inside it (tests may rewrite it), else that folder itself. Opens the core. */
struct fixture *fx_new(const char *backend, int copy_journeys);
/* The same with `extra` in the configuration table. */
struct fixture *fx_new_with(const char *backend, int copy_journeys, const char *extra);
/* Journeys from `journeys` (a folder of the source tree) and the channels `channels` (the
 * inside of the configuration's channels table: "email = { plugin = 'outcome' }"). */
struct fixture *fx_new_custom(const char *backend, const char *journeys, const char *channels,
                              const char *extra);
void fx_open(struct fixture *f);
void fx_close(struct fixture *f); /* the core only: fx_open starts it again (a restart) */
void fx_free(struct fixture *f);  /* everything, and the folder */

/* cmocka set-ups (memory or LMDB store; `copied`: a journeys folder the test may rewrite)
 * and the tear-down. */
int fx_setup_memory(void **state);
int fx_setup_lmdb(void **state);
int fx_setup_memory_copied(void **state);
int fx_setup_lmdb_copied(void **state);
int fx_teardown(void **state);

void fx_post(struct fixture *f, const char *json);
void fx_advance(struct fixture *f, int64_t ms);
/* The lines the file plugin wrote, as a JSON array. */
cJSON *fx_spoken(struct fixture *f);
const char *fx_field(cJSON *arr, int i, const char *name);
/* The contact's only conversation (asserts there is exactly one). */
struct conv *fx_only_conv(struct fixture *f, const char *contact);
int fx_history_has(const struct history *h, const char *needle);

#endif

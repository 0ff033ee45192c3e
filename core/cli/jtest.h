/* `parley test`: journey tests for marketers, on a virtual clock. A test file is Lua:
 *
 *   test("silence gets a nudge", function(t)
 *     t:event { type = "user.signed_up", contact = "ann", profile = { email = "a@x.org" } }
 *     t:expect_spoken { contact = "ann", template = "welcome" }
 *     t:advance "1d"                     -- a day passes in microseconds
 *     t:expect_spoken { template = "welcome_nudge" }
 *     t:expect_conversation { contact = "ann", journey = "welcome", step = "last_call" }
 *   end)
 *
 * Each test runs on a fresh core: the configuration's channels, the journeys beside the
 * test file (see jtest_options) with their own params (not the configuration's
 * journey_params), an in-memory store, a virtual clock, and no plugin: what a channel
 * would send is kept for the test to check. See README.md, "Testing journeys", for every
 * method. */
#ifndef PARLEY_JTEST_H
#define PARLEY_JTEST_H
#include <stddef.h>

struct jtest_options {
  const char *config_path; /* NULL: the embedded configuration */
  /* The journeys every file is tested against. NULL: each file's own, the first of
   *   - the parent of the `tests` folder holding the file, when it holds journeys;
   *   - the file's folder, when it holds journeys (*.lua other than *_test.lua);
   *   - the configuration's journeys_dir. */
  const char *journeys_dir;
  char **files; /* none: every *_test.lua in <journeys>/tests */
  size_t n_files;
};

/* Runs the test files. Prints TAP-style lines ("# journeys: DIR" before the tests of each
 * folder) and "N passed, N failed". Returns the exit code: 0 when every test passed, 1
 * when one failed, 2 when nothing could run. */
int jtest_run(const struct jtest_options *o);

#endif

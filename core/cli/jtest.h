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
 * Each test runs on a fresh core: the configuration's journeys and channels, with the
 * journeys' own params (not the configuration's journey_params), an in-memory store, a
 * virtual clock, and no plugin: what a channel would send is kept for the test to check.
 * See README.md, "Testing journeys", for every method. */
#ifndef PARLEY_JTEST_H
#define PARLEY_JTEST_H
#include <stddef.h>

/* Runs the test files (none: every *_test.lua in <journeys_dir>/tests). Prints TAP-style
 * lines and "N passed, N failed". Returns the exit code: 0 when every test passed. */
int jtest_run(const char *config_path, char **files, size_t n_files);

#endif

-- File-level state is shared by every contact of a journey version, so it is fixed once the
-- file has loaded (tests/unit/test_sandbox.c, test_file_level_state); math.random is seeded
-- per step; garbage one step leaves is not billed to the next.
local journey = require "parley.journey"

local seen = {}                 -- a file-level table: read-only to steps
local count = 0                 -- a file-level number: steps may not reassign it
local WAIT = "1h"               -- constants are fine
local helpers = { tally = function() count = count + 1 end }
local EVENTS = { "a.one", "b.two" }                        -- read through, never copied
local DEFAULTS = { name = "Ada", team = { city = "Paris" } }

return journey {
  name = "shared",
  entry = { event = "test.shared" },

  start = function(c, ev) return c:listen({ "x" }, WAIT, "start") end,
  remember = function(c) seen[c.id] = true return c:finish() end,
  bump = function(c) count = count + 1 return c:finish() end,
  bump_via_helper = function(c) helpers.tally() return c:finish() end,
  bump_then_fail = function(c) count = count + 1 error("and then it failed") end,
  read = function(c)
    c.memory.count = count
    c.memory.seen = next(seen) == nil and "empty" or "not empty"
    return c:finish()
  end,
  random = function(c)
    c.memory.r = math.random(1, 1000000000)
    c.memory.reseed = math.randomseed == nil
    return c:finish()
  end,
  listen_shared = function(c) return c:listen(EVENTS, WAIT, "start") end,
  speak_shared = function(c)
    c:speak("email", "greet", DEFAULTS)
    return c:finish()
  end,
  garbage = function(c)
    local s = ("x"):rep(3 * 1024 * 1024)
    return c:finish()
  end,
}

-- A journey with only a time budget (tests/unit/test_sandbox.c).
local journey = require "parley.journey"
return journey {
  name = "timeloop",
  start = function(c, ev) return c:finish() end,
  spin = function(c) while true do end end,
  pattern_spin = function(c) return ("a"):rep(64):find(("a*"):rep(32) .. "b") end,
}

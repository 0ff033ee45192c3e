local journey = require "parley.journey"
return journey {
  name = "bad_duration",
  entry = { event = "x", reenter_after = "7y" },
  start = function(c) return c:finish() end,
}

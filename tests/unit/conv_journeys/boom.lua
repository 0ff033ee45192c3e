-- State machine fixture: a journey whose first step fails.
local journey = require "parley.journey"

return journey {
  name = "boom",
  entry = { event = "explode" },
  start = function(c, ev)
    error("kaboom")
  end,
}

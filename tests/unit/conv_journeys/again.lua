-- State machine fixture: re-entry allowed a day after the last start.
local journey = require "parley.journey"

return journey {
  name = "again",
  entry = { event = "visited", reenter_after = "1d" },
  start = function(c, ev)
    return c:finish()
  end,
}

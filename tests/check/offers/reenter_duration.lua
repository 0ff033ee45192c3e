-- A malformed duration in the journey's description.
local journey = require "parley.journey"

return journey {
  name = "reenter_duration",
  entry = { event = "cart.updated",
            reenter_after = "3x" },
  start = function(c, ev) return c:finish() end,
}

-- Refused at load: entry.when must be a function.
local journey = require "parley.journey"

return journey {
  name = "bad_when",
  entry = { event = "plan.changed", when = "vip" },
  start = function(c, ev) return c:finish() end,
}

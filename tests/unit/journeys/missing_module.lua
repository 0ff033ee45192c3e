-- Requires a module the journeys folder does not have: the load is refused, naming it.
local journey = require "parley.journey"
local nowhere = require "lib.nowhere"

return journey {
  name = "missing_module",
  start = function(c, ev) return c:finish() end,
}

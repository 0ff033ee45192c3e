-- Fails on purpose (tests/journey_tests.sh): the step never ends, so it breaks its budget.
local journey = require "parley.journey"

return journey {
  name = "spin",
  entry = { event = "spin.asked" },

  start = function(c, ev)
    while true do end
  end,
}

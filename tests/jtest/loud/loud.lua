-- Prints a lot on purpose (tests/journey_tests.sh runs it with allocations over 5 MiB
-- refused): the runner cannot keep it all, and must say so rather than crash.
local journey = require "parley.journey"

return journey {
  name = "loud",
  entry = { event = "loud.asked" },

  start = function(c, ev)
    for _ = 1, 3 do
      print(string.rep("x", 2200000))
    end
    return c:finish()
  end,
}

-- Fails on purpose (tests/journey_tests.sh): the step raises an error once it has spoken,
-- so the conversation is parked as failed and nothing it spoke is sent.
local journey = require "parley.journey"

return journey {
  name = "boom",
  entry = { event = "boom.asked" },

  start = function(c, ev)
    c:speak("email", "hi")
    error("the cart is empty")
  end,
}

-- Refused on purpose (tests/journey_tests.sh): it texts contacts who may have no phone
-- number; the core's gate refuses those speaks and the journey carries on.
local journey = require "parley.journey"

return journey {
  name = "mute",
  entry = { event = "mute.asked" },

  start = function(c, ev)
    c:speak("sms", "hi")
    return c:finish()
  end,
}

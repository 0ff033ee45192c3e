-- Caps fixture: a journey that allows itself one text a day, whatever the configuration
-- allows, and tries two.
local journey = require "parley.journey"

return journey {
  name = "capped",
  entry = { event = "capped.hello" },
  caps = { { max = 1, per = "1d", channel = "sms" } },

  start = function(c, ev)
    c:speak("sms", "say", { text = "first" })
    c:speak("sms", "say", { text = "second" })
    return c:finish()
  end,
}

-- Suppression fixture: every "nudge" speaks one e-mail. Whether it goes out is the speak
-- gate's to say (profile.suppressed), never the journey's.
local journey = require "parley.journey"

return journey {
  name = "nudge",
  entry = { event = "nudge", reenter_after = "1s" },

  start = function(c, ev)
    c:speak("email", "hello", {})
    return c:finish()
  end,
}

-- Suppression fixture: every "ask" asks c:can_speak before a transactional e-mail, and
-- speaks only when it is told it may.
local journey = require "parley.journey"

return journey {
  name = "ask",
  entry = { event = "ask", reenter_after = "1s" },

  start = function(c, ev)
    if c:can_speak("email", "transactional") then
      c:speak("email", "hello", {}, { topic = "transactional" })
    end
    return c:finish()
  end,
}

-- A journey for `parley check` (tests/check_tests.sh): it speaks on "email" (configured),
-- on "fax" twice and 'pager' once (not configured: warned), and on a channel held in a
-- variable (not seen by a static scan). Channels in comments or other strings are no speaks.
local journey = require "parley.journey"

-- c:speak("telex", "hello") in a comment is not a speak, nor --[[ c:speak("morse", "x") ]]
local note = 'c:speak("telegraph", "hello")'

return journey {
  name = "fax_follow_up",
  entry = { event = "user.signed_up" },

  start = function(c, ev)
    c:speak("email", "hello")
    if c:can_speak("fax") then
      c:speak( "fax" , "hello", { note = note })
    end
    c:speak('pager', "hello")
    local channel = "sms"
    c:speak(channel, "hello")
    return c:finish()
  end,
}

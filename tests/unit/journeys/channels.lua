-- The static channel scan (tests/unit/test_lhost.c): which channels this file names as the
-- literal first argument of :speak( or :can_speak(, and on which line.
local journey = require "parley.journey"

--[==[ c:speak("in_long_comment", "t") ]] still the comment ]==]
local long = [[ c:speak("in_long_string", "t") ]]
local quoted = "c:speak(\"in_string\", 't')" .. 'c:can_speak("in_other_string")'

return journey {
  name = "channels",
  entry = { event = "x" },

  start = function(c, ev)
    c:speak("email", "t") -- c:speak("in_comment", "t")
    c : speak ( 'sms' ,
                "t")
    c:speak(
      "push", "t")
    if c:can_speak("fax") and c:can_speak [[not_a_call]] then goto done end
    c:speak("we\"ird", "t")          -- an escape: not a plain name
    c:speak(ev.data.channel, "t")    -- a variable: not seen
    c.speak(c, "dot_call")           -- not the c:speak( form
    ::done::
    return c:finish()
  end,
}

-- Flow control fixture: each "go" event speaks one note on the channel its data names
-- (a, b or c), then the conversation ends.
local journey = require "parley.journey"

return journey {
  name = "flow",
  entry = { event = "go" },

  start = function(c, ev)
    if ev.data.channel == "a" then
      c:speak("a", "note", {})
    elseif ev.data.channel == "b" then
      c:speak("b", "note", {})
    else
      c:speak("c", "note", {})
    end
    return c:finish()
  end,
}

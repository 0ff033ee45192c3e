-- State machine fixture: greets, waits an hour for a click, nudges on silence.
local journey = require "parley.journey"

return journey {
  name = "greet",
  entry = { event = "signed_up" },
  goal = "purchased",
  exit = "deleted",

  start = function(c, ev)
    c.memory.nudges = 0
    c.memory.plan = ev.data and ev.data.plan or "free"
    c:speak("email", "hello", { plan = c.memory.plan })
    c:speak("sms", "hello", { plan = "x" }) -- no sms channel here: refused, the step goes on
    return c:listen({ "clicked" }, "1h", "after")
  end,

  after = function(c, ev)
    if ev then
      c:speak("email", "thanks", {})
      return c:finish()
    end
    c.memory.nudges = c.memory.nudges + 1
    c:speak("email", "nudge", { n = c.memory.nudges })
    return c:listen({ "clicked" }, "1d", "after")
  end,
}

-- The control conversation of the escape suite (tests/integration/test_escapes.c): another
-- contact, another journey, that must keep being served while a bad step is stopped.
local journey = require "parley.journey"

return journey {
  name = "control",
  entry = { event = "control.ping" },
  start = function(c, ev)
    c:speak("email", "pong")
    return c:finish()
  end,
}

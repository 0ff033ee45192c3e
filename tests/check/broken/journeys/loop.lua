-- A journey whose cart template closes its loop with the wrong name.
local journey = require "parley.journey"

return journey {
  name = "loop",
  entry = { event = "cart.updated" },
  start = function(c, ev)
    c:speak("email", "cart", { items = ev.data.items })
    return c:finish()
  end,
}

-- Reload fixture: says a word from a module of the journeys folder (lib/words.lua) with a
-- template, then again an hour later; what it says shows which files a version runs.
local journey = require "parley.journey"
local words = require "lib.words"

return journey {
  name = "modular",
  entry = { event = "joined" },

  start = function(c, ev)
    c:speak("email", "hi", { word = words.greeting() })
    return c:listen({ "never" }, "1h", "later")
  end,

  later = function(c, ev)
    c:speak("email", "hi", { word = words.greeting() })
    return c:finish()
  end,
}

-- A small journey for the tests of `parley test` itself (tests/journey_tests.sh): it
-- greets a contact once, by e-mail, and remembers it did.
local journey = require "parley.journey"

print("loaded, with its templates beside it") -- once, when the journey loads

return journey {
  name = "greet",
  entry = { event = "greet.asked" },

  start = function(c, ev)
    c.memory.greeted = true
    c.memory.name = c.contact.first_name
    c.memory.visits = { count = 2, pages = { "home", "cart" }, ratio = 0.5 }
    c.memory.sparse = { [1] = "one", [5] = "five", [-2] = "minus two" }
    c.memory.weight = 2.0
    c.memory.raw = "a\0b"
    print("greeting", c.contact.first_name)
    c:log("two lines\nof log")
    c:speak("email", "hello")
    return c:finish()
  end,
}

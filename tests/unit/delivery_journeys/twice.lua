-- Delivery fixture: speaks two e-mails at once, then counts their delivery receipts.
local journey = require "parley.journey"

return journey {
  name = "twice",
  entry = { event = "signed_up" },

  start = function(c, ev)
    c.memory.receipts = 0
    c:speak("email", "first", {})
    c:speak("email", "second", {})
    return c:listen({ "email.delivered" }, "1d", "receipt")
  end,

  receipt = function(c, ev)
    c.memory.receipts = c.memory.receipts + 1
    if c.memory.receipts == 2 then
      return c:finish()
    end
    return c:listen({ "email.delivered" }, "1d", "receipt")
  end,
}

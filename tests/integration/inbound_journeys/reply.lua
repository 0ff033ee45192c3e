-- Inbound fixture: waits for the contact's reply, which reaches Parley only through the
-- sms channel's plugin route (a provider's signed callback turned into "sms.replied").
local journey = require "parley.journey"

return journey {
  name = "reply",
  entry = { event = "signed_up" },

  start = function(c, ev)
    return c:listen({ "sms.replied" }, "1d", "replied")
  end,

  replied = function(c, ev)
    if ev == nil then
      return c:finish()
    end
    c.memory.answer = ev.data.text
    return c:finish()
  end,
}

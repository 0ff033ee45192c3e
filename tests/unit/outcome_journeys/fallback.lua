-- Delivery outcomes fixture: an e-mail first; when it is dead-lettered, the journey hears
-- "email.failed" and falls back to an SMS that names the reason and the message.
local journey = require "parley.journey"

return journey {
  name = "fallback",
  entry = { event = "signed_up" },

  start = function(c, ev)
    c:speak("email", "hello", {})
    return c:listen({ "email.failed" }, "30d", "fell_back")
  end,

  fell_back = function(c, ev)
    if ev == nil then
      return c:finish()
    end
    c:speak("sms", "hello_sms", { reason = ev.data.reason, id = ev.data.message_id })
    return c:finish()
  end,
}

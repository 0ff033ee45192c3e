-- Welcome series: greet a new customer, then listen. A click or reply gets tips (they are
-- engaged); a day of silence gets a nudge; three more days of silence, a last offer.
local journey = require "parley.journey"

return journey {
  name = "welcome",
  entry = { event = "user.signed_up" },    -- once per customer
  goal = "order.placed",
  exit = "user.deleted",
  params = { follow_up_after = "1d", last_call_after = "3d" },

  start = function(c, ev)
    c.memory.signed_up_at = ev and ev.time or c:now()
    c:speak("email", "welcome")
    return c:listen({ "email.clicked", "email.replied" }, c.params.follow_up_after, "follow_up")
  end,

  follow_up = function(c, ev)
    if ev ~= nil then                       -- they clicked or replied: they are listening
      c.memory.engaged_by = ev.type
      c:speak("email", "welcome_tips")
      return c:finish()
    end
    -- silence: a short nudge, by SMS when we may text them, else by email
    local channel = c:can_speak("sms") and "sms" or "email"
    c:speak(channel, "welcome_nudge")
    c.memory.nudged_by = channel
    return c:listen({ "email.clicked", "email.replied", "sms.replied" },
                    c.params.last_call_after, "last_call")
  end,

  last_call = function(c, ev)
    if ev ~= nil then                       -- they answered the nudge: no need to push
      c.memory.engaged_by = ev.type
      c:speak("email", "welcome_tips")
      return c:finish()
    end
    c:speak("email", "welcome_offer", { code = "WELCOME10", percent = 10 })
    return c:finish()
  end,
}

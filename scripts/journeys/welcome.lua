-- Welcome series: greet a new customer, then listen. A click or reply gets tips (they are
-- engaged); a day of silence gets a nudge; three more days of silence, a last offer.
-- E-mail that cannot arrive (a hard bounce, a dead letter) falls back to one SMS when we
-- may text them; an unsubscribe ends the series; a soft bounce (a full mailbox) is no
-- answer, so the series keeps listening.
local journey = require "parley.journey"

-- What the welcome e-mail may lead to: an answer, or news that it did not arrive.
local EMAIL_NEWS = { "email.clicked", "email.replied", "email.bounced", "email.failed",
                     "email.unsubscribed" }

return journey {
  name = "welcome",
  entry = { event = "user.signed_up" },    -- once per customer
  goal = "order.placed",
  exit = "user.deleted",
  params = { follow_up_after = "1d", last_call_after = "3d" },

  start = function(c, ev)
    c.memory.signed_up_at = ev and ev.time or c:now()
    c:speak("email", "welcome")
    return c:listen(EMAIL_NEWS, c.params.follow_up_after, "follow_up")
  end,

  follow_up = function(c, ev)
    if ev ~= nil and ev.type == "email.bounced" and ev.data.kind == "soft" then
      return c:listen(EMAIL_NEWS, c.params.follow_up_after, "follow_up")
    end
    if ev ~= nil and (ev.type == "email.bounced" or ev.type == "email.failed") then
      if c:can_speak("sms") then            -- the address does not work: one text instead
        c:speak("sms", "welcome_sms")
      end
      return c:finish()
    end
    if ev ~= nil and ev.type == "email.unsubscribed" then
      return c:finish()                     -- they asked us to stop: nothing more
    end
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

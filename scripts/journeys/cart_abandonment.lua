-- Cart abandonment: a customer left items in the cart. Remind them by email; if 4 hours
-- pass in silence, nudge by SMS (or email when we may not text); if they clicked, they
-- are close: send a different nudge. Then give them a day to reply to the text.
local journey = require "parley.journey"

return journey {
  name = "cart_abandonment",
  entry = { event = "cart.updated", reenter_after = "7d" },
  goal = "order.placed",
  exit = "user.deleted",
  params = { nudge_after = "4h", reply_within = "1d" },

  start = function(c, ev)
    local items = ev.data.items or {}
    c.memory.items = items
    c.memory.total = ev.data.total
    c:speak("email", "cart_reminder", { count = #items, first = items[1] or { name = "your items" },
                                        items = items, total = ev.data.total })
    return c:listen({ "email.clicked" }, c.params.nudge_after, "nudge")
  end,

  nudge = function(c, ev)
    local count = #c.memory.items
    if ev == nil then                           -- 4 hours of silence
      if c:can_speak("sms") then
        c:speak("sms", "cart_sms", { count = count })
        c.memory.nudged_by = "sms"
      else
        c:speak("email", "cart_last_chance", { count = count })
        c.memory.nudged_by = "email"
      end
    else                                        -- they clicked but did not buy
      c:speak("email", "cart_need_help", { count = count })
      c.memory.nudged_by = "clicked"
    end
    return c:listen({ "sms.replied" }, c.params.reply_within, "finish_up")
  end,

  finish_up = function(c, ev)
    if ev == nil then return c:finish() end     -- no reply: leave them in peace
    local text = (ev.data.text or ""):upper():match("^%s*(.-)%s*$")
    if text == "STOP" then                      -- an opt-out: say nothing more
      return c:finish()
    end
    c:speak("sms", "cart_thanks")
    return c:finish()
  end,
}

-- Cart abandonment: a customer left items in the cart. Remind them by email; if 4 hours
-- pass with no click, nudge by SMS (or email when we may not text); if they clicked, they
-- are close: send a different nudge. Then give them a day to answer the text. STOP ends
-- the conversation: the sms channel has already opted the number out and confirmed it
-- (`sms.unsubscribed`), so the journey says nothing more. A text that cannot be
-- delivered (`sms.failed`: a bad number) falls back to the last-chance email.
local journey = require "parley.journey"

-- What the text may lead to: an answer, an opt-out, or news that it did not arrive.
local SMS_NEWS = { "sms.replied", "sms.unsubscribed", "sms.failed" }

return journey {
  name = "cart_abandonment",
  entry = { event = "cart.updated", reenter_after = "7d" },
  goal = "order.placed",
  exit = "user.deleted",
  params = { nudge_after = "4h", reply_within = "1d" },
  -- Whoever else writes to them: at most 2 emails a day while we chase a cart (a third,
  -- the reminder too, is refused: "cap reached"). Texts wait for the morning in the
  -- customer's own time zone (the configuration's quiet hours for sms).
  caps = { { max = 2, per = "1d", channel = "email" } },

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
    if ev ~= nil then                           -- they clicked but did not buy
      c:speak("email", "cart_need_help", { count = count })
      c.memory.nudged_by = "clicked"
      return c:finish()
    end
    -- no click: a text when we may send one (one GSM segment), else the last email
    if c:can_speak("sms") and c:speak("sms", "cart_sms", { count = count }) then
      c.memory.nudged_by = "sms"
      return c:listen(SMS_NEWS, c.params.reply_within, "after_text")
    end
    c:speak("email", "cart_last_chance", { count = count })
    c.memory.nudged_by = "email"
    return c:finish()
  end,

  after_text = function(c, ev)
    if ev == nil or ev.type == "sms.unsubscribed" then
      return c:finish()                         -- no answer, or STOP: leave them in peace
    end
    if ev.type == "sms.failed" then             -- the text did not arrive: email instead
      c:speak("email", "cart_last_chance", { count = #c.memory.items })
      c.memory.nudged_by = "email"
      return c:finish()
    end
    -- a reply; with the channel's stop_words turned off a STOP comes as one: still silence
    local text = (ev.data.text or ""):upper():match("^%s*(.-)%s*$")
    if text ~= "STOP" then
      c:speak("sms", "cart_thanks")
    end
    return c:finish()
  end,
}

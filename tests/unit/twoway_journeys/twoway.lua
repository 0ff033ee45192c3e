-- Two-way fixture: "hello" speaks on sms what the event's data says, with the options
-- the event's data gives, and reports what c:speak answered in a second message whose
-- tag is that answer ("chars=5", or the refusal's reason), so the test reads it back
-- from the delivery's provider id.
local journey = require "parley.journey"

return journey {
  name = "twoway",
  entry = { event = "hello", reenter_after = "1s" },

  start = function(c, ev)
    local ok, info = c:speak("sms", "say", { text = ev.data.text }, ev.data.options)
    local tag = ok and ("chars=" .. info.chars) or ("refused")
    c:speak("sms", "say", { text = "ok" }, { tag = tag })
    return c:finish()
  end,
}

-- State machine fixture: only contacts on the pro plan enter (entry.when); re-entry a day
-- after the last start.
local journey = require "parley.journey"

return journey {
  name = "vip",
  entry = {
    event = "plan.changed",
    when = function(contact, ev)
      if ev.data.broken then error("cannot judge this contact") end
      return contact.plan == "pro"
    end,
    reenter_after = "1d",
  },

  start = function(c, ev)
    return c:finish()
  end,
}

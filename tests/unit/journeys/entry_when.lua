-- The entry condition (tests/unit/test_lhost.c): entry.when is asked before a conversation
-- exists, with a read-only view of the contact and the event, under the step budget.
local journey = require "parley.journey"

return journey {
  name = "entry_when",
  entry = {
    event = "plan.changed",
    when = function(contact, ev)
      local d = ev.data
      if d.loop then while true do end end
      if d.boom then error("no plan given") end
      if d.write then contact.plan = "pro" end
      if d.answer ~= nil then return d.answer end -- "yes" is not a boolean
      print("entry asked for", ev.contact)
      return contact.plan == "pro" and ev.type == "plan.changed" and ev.contact == "cust-1"
             and ev.id == "e-1" and ev.time == 1700000000
    end,
    reenter_after = "1d",
  },

  start = function(c, ev)
    return c:finish()
  end,
}

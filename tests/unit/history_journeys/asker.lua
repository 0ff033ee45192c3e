-- tests/unit/test_history.c: a journey that asks its contact's history what an event
-- says (ev.data is the query), records offers, speaks, and keeps the answers in memory.
local journey = require "parley.journey"

local EVENTS = { "ask", "offer", "offer_then_fail", "speak" }

return journey {
  name = "asker",
  entry = { event = "hello" },

  start = function(c, ev)
    return c:listen(EVENTS, nil, "wait")
  end,

  wait = function(c, ev)
    if ev.type == "offer" then
      c:record_offer(ev.data.offer, ev.data.channel, ev.data.template)
      c.memory.seen = #c:history { kind = "offered", offer = ev.data.offer }
    elseif ev.type == "offer_then_fail" then
      c:record_offer(ev.data.offer)
      error("changed my mind")
    elseif ev.type == "speak" then
      c:speak(ev.data.channel, "hi")
    else
      local query = {}
      for k, v in pairs(ev.data) do query[k] = v end
      c.memory.answer = c:history(query)
    end
    return c:listen(EVENTS, nil, "wait")
  end,
}

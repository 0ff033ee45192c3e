-- Win-back: a customer who has not ordered for a while (a nightly job of yours posts
-- `customer.lapsed`) gets the best offer they may have now, chosen by arbitration from the
-- catalog below: the big spenders' 20%, the season's offer while it runs, 10%, or free
-- shipping; each offer at most so often per customer. A week of silence brings one
-- reminder, on the channel they prefer (the app, else a text, else email). An order ends
-- the conversation and counts as a conversion.
local journey = require "parley.journey"
local offers = require "parley.offers"
local history = require "parley.history"

-- A big spender: their last order, kept in their history, was worth 100 or more.
local function big_spender(c)
  local order = history.last(c, "order.placed")
  return order ~= nil and (order.data.total or 0) >= 100
end

local catalog = offers.catalog {
  { id = "winback20", channel = "email", template = "winback_20", eligible = big_spender,
    propensity = 0.2, value = 20, cap = { max = 1, per = "90d" } },
  { id = "holiday25", channel = "email", template = "winback_holiday", priority = 1,
    propensity = 0.3, value = 25, cap = { max = 1, per = "30d" },
    valid_from = "2030-12-01T00:00:00Z", valid_until = "2031-01-01T00:00:00Z" },
  { id = "winback10", propensity = 0.3, value = 10, cap = { max = 1, per = "30d" },
    channels = { { channel = "email", template = "winback_10" },
                 { channel = "sms", template = "winback_10_sms" } } },
  { id = "freeship", channel = "email", template = "winback_freeship",
    propensity = 0.5, value = 5, cap = { max = 2, per = "60d" } },
}

-- The code each offer's template shows.
local CODES = { winback20 = "COMEBACK20", holiday25 = "HOLIDAY25", winback10 = "COMEBACK10",
                freeship = "SHIPFREE" }

return journey {
  name = "winback",
  entry = { event = "customer.lapsed", reenter_after = "14d" },
  goal = "order.placed",
  exit = "user.deleted",
  params = { lapsed_after = "60d", remind_after = "7d" },

  start = function(c, ev)
    if history.last(c, "order.placed", c.params.lapsed_after) then
      return c:finish()                         -- they ordered lately: not lapsed after all
    end
    local pick = catalog:best(c)[1]
    if pick == nil then return c:finish() end   -- nothing we may offer them now
    offers.speak(c, pick, { code = CODES[pick.id] })
    c.memory.offer, c.memory.code = pick.id, CODES[pick.id]
    return c:listen({}, c.params.remind_after, "remind")
  end,

  remind = function(c, ev)
    local channel = history.first_channel(c, { "push", "sms", "email" })
    if channel then
      c:speak(channel, "winback_last_days", { code = c.memory.code })
    end
    return c:finish()
  end,
}

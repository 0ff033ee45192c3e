-- parley.offers and parley.history under parley test (tests/journey_tests.sh): a catalog
-- whose scores, priorities, caps, dates and channels the tests below pull on. The event
-- "pick" asks for ev.data.n picks (ev.data.look: without recording them) and speaks them;
-- "rank" keeps catalog:rank's answer in memory.
local journey = require "parley.journey"
local offers = require "parley.offers"
local history = require "parley.history"

-- A file-level query (read only once the file has loaded, as every file-level table).
local OPENED = { kind = "event", type = { "email.opened", "email.clicked" } }

local catalog = offers.catalog({
  { id = "high_value", channel = "email", template = "offer", value = 100, propensity = 0.1 },  -- 10
  { id = "likely", channel = "email", template = "offer", value = 20,
    propensity = function(c) return c.contact.likes or 0.4 end },                                -- 8
  { id = "vip", channel = "email", template = "offer", priority = 5, value = 1,
    eligible = function(c) return c.contact.vip == true end },                                   -- a tier above
  { id = "by_text", channels = { { channel = "push", template = "offer" }, { channel = "sms", template = "offer" } },
    value = 2, cap = { max = 1, per = "1d" } },                                                  -- 2
  { id = "later", channel = "email", template = "offer", value = 1000,
    valid_from = 1894320000 },                                                                   -- from 2030-01-11
  { id = "weighted", channel = "email", template = "offer", value = 10, weight = 0.5,
    valid_until = "2030-01-05T00:00:00Z" },                                                      -- 5, until Jan 5th
  { id = "scored", channel = "email", template = "offer", score = function(c) return c.contact.boost or 0 end },
})

-- The catalog's own scoring replaces propensity x value x weight for every offer.
local own = offers.catalog({
  { id = "small", channel = "email", template = "offer", value = 1 },
  { id = "large", channel = "email", template = "offer", value = 100 },
}, { score = function(c, offer) return offer.id == "small" and 10 or 1 end })

-- A score function that forgets to return: the step fails, naming the offer.
local broken = offers.catalog {
  { id = "forgetful", channel = "email", template = "offer", score = function(c) end },
}

return journey {
  name = "arbiter",
  entry = { event = "hello" },
  start = function(c, ev) return c:listen({ "pick", "rank", "engaged", "own", "broken" }, nil, "act") end,
  act = function(c, ev)
    if ev.type == "rank" then
      local ranked = catalog:rank(c)
      c.memory.ranked = {}
      for i, r in ipairs(ranked) do
        c.memory.ranked[i] = r.id .. (r.why and (": " .. r.why) or (" " .. r.score))
      end
    elseif ev.type == "own" then
      c.memory.own = {}
      for i, r in ipairs(own:rank(c)) do c.memory.own[i] = r.id .. " " .. r.score end
    elseif ev.type == "broken" then
      broken:best(c)
    elseif ev.type == "engaged" then
      c.memory.engaged = history.engaged(c, "email", "30d") ~= nil
      c.memory.messages = history.count_messages(c, "7d")
      c.memory.first = history.first_channel(c, { "push", "sms", "email" }) or "none"
      c.memory.opened = #c:history(OPENED)
    else
      local picks = catalog:best(c, ev.data.n or 1, { record = not ev.data.look })
      c.memory.picked = {}
      for i, p in ipairs(picks) do
        c.memory.picked[i] = p.id .. "@" .. p.channel
        if not ev.data.look then offers.speak(c, p, { id = p.id }) end
      end
    end
    return c:listen({ "pick", "rank", "engaged", "own", "broken" }, nil, "act")
  end,
}

-- An offer catalog with one mistake: a cap with a negative count
local journey = require "parley.journey"
local offers = require "parley.offers"

local catalog = offers.catalog {
  { id = "ok", channel = "email", template = "a" },
  { id = "winback10", channel = "email", template = "a", cap = { max = -1, per = "30d" } },
}

return journey {
  name = "offer_cap",
  start = function(c, ev) catalog:best(c) return c:finish() end,
}

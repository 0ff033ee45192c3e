-- An offer catalog with one mistake: a malformed duration
local journey = require "parley.journey"
local offers = require "parley.offers"

local catalog = offers.catalog {
  { id = "ok", channel = "email", template = "a" },
  { id = "winback10", channel = "email", template = "a", cap = { max = 1, per = "3x" } },
}

return journey {
  name = "offer_duration",
  start = function(c, ev) catalog:best(c) return c:finish() end,
}

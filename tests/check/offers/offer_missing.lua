-- An offer catalog with one mistake: the template is missing
local journey = require "parley.journey"
local offers = require "parley.offers"

local catalog = offers.catalog {
  { id = "ok", channel = "email", template = "a" },
  { id = "winback10", channel = "email", value = 10 },
}

return journey {
  name = "offer_missing",
  start = function(c, ev) catalog:best(c) return c:finish() end,
}

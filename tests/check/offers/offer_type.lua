-- An offer catalog with one mistake: a value that is not a number
local journey = require "parley.journey"
local offers = require "parley.offers"

local catalog = offers.catalog {
  { id = "ok", channel = "email", template = "a" },
  { id = "winback10", channel = "email", template = "a", value = "ten" },
}

return journey {
  name = "offer_type",
  start = function(c, ev) catalog:best(c) return c:finish() end,
}

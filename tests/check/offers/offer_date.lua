-- An offer catalog with one mistake: a date that is not one
local journey = require "parley.journey"
local offers = require "parley.offers"

local catalog = offers.catalog {
  { id = "ok", channel = "email", template = "a" },
  { id = "winback10", channel = "email", template = "a", valid_from = "2026-13-01T00:00:00Z" },
}

return journey {
  name = "offer_date",
  start = function(c, ev) catalog:best(c) return c:finish() end,
}

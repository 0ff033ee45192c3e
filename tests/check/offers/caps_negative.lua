-- A journey's own cap with a negative count.
local journey = require "parley.journey"

return journey {
  name = "caps_negative",
  entry = { event = "cart.updated" },
  caps = { { max = -1, per = "1d" } },
  start = function(c, ev) return c:finish() end,
}

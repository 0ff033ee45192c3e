local journey = require "parley.journey"
return journey {
  name = "bad_entry",
  entry = { event = 5 },
  start = function(c) return c:finish() end,
}

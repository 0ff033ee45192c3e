local journey = require "parley.journey"
local experiment = require "parley.experiment"

local e = experiment.define { name = "x", arms = { a = 100 }, weights = 3 }

return journey { name = "unknown_key", start = function(c, ev) return c:finish() end }

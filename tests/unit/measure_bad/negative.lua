local journey = require "parley.journey"
local experiment = require "parley.experiment"

local e = experiment.define { name = "x", arms = { a = 110, b = -10 } }

return journey { name = "negative", start = function(c, ev) return c:finish() end }

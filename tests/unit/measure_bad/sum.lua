local journey = require "parley.journey"
local experiment = require "parley.experiment"

local e = experiment.define { name = "x", arms = { a = 50, b = 45 }, holdout = 10 }

return journey { name = "sum", start = function(c, ev) return c:finish() end }

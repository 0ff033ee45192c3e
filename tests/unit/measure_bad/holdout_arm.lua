local journey = require "parley.journey"
local experiment = require "parley.experiment"

local e = experiment.define { name = "x", arms = { a = 50, holdout = 50 } }

return journey { name = "holdout_arm", start = function(c, ev) return c:finish() end }

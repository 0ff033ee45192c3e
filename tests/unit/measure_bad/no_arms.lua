local journey = require "parley.journey"
local experiment = require "parley.experiment"

local e = experiment.define { name = "x", arms = {}, holdout = 100 }

return journey { name = "no_arms", start = function(c, ev) return c:finish() end }

local journey = require "parley.journey"
local experiment = require "parley.experiment"

local e = experiment.define { name = "no spaces", arms = { a = 100 } }

return journey { name = "bad_name", start = function(c, ev) return c:finish() end }

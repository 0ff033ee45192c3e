local journey = require "parley.journey"
return journey { name = "bad_template", start = function(c) return c:finish() end }

local journey = require "parley.journey"
return journey { name = "bad_key", colour = "red", start = function(c) return c:finish() end }

local journey = require "parley.journey"
return journey { name = "syntax_error", start = function(c) return c:finish() end

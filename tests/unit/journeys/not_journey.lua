return { name = "not_journey", start = function(c) return c:finish() end }

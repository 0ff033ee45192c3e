-- Must fail (tests/journey_tests.sh): errors raised with a value that is not text still
-- fail their test with a message, and never crash the runner.

test("raises a table", function(t)
  error({ code = 42 })
end)

test("raises a table that knows how to show itself", function(t)
  error(setmetatable({}, { __tostring = function() return "a shown error" end }))
end)

-- Must fail (tests/journey_tests.sh), when memory runs out keeping what the journey printed.

test("the journey prints more than can be kept", function(t)
  t:event { type = "loud.asked", contact = "ann" }
end)

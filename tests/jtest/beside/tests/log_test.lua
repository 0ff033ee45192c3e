-- A journey's print and c:log show under the test that ran it (tests/journey_tests.sh
-- checks the lines).

test("the journey's output shows under the test", function(t)
  t:event { type = "greet.asked", contact = "ann", profile = { email = "ann@example.com", first_name = "Ann" } }
  t:expect_spoken { template = "hello" }
end)

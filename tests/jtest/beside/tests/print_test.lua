-- A test file's own print shows as a TAP comment naming the file: under the test that ran
-- it, or, at the top of the file, before the file's tests (tests/journey_tests.sh checks
-- the lines).

print("declaring the tests")

test("a test's print shows under its line", function(t)
  print("posting", 1, "event")
  t:event { type = "greet.asked", contact = "ann", profile = { email = "ann@example.com", first_name = "Ann" } }
  print("two lines\nof print")
  t:expect_spoken { template = "hello" }
end)

test("each test's under its own", function(t)
  print("in the second test")
end)

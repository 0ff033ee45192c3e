-- Tests that must fail (tests/journey_tests.sh checks the messages): a journey that broke,
-- or a speak the core refused, fails the test that did not expect it.

test("a step that raises an error fails the test", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
end)

test("a step over its instruction budget fails the test", function(t)
  t:event { type = "spin.asked", contact = "ann" }
end)

test("a refused speak fails the test", function(t)
  t:event { type = "mute.asked", contact = "bo", profile = { email = "bo@example.com" } }
end)

test("expect_failure that matches nothing names what failed", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
  t:expect_failure { contact = "ann", error = "the cart is full" }
end)

test("expect_refused that matches nothing names what was refused", function(t)
  t:event { type = "mute.asked", contact = "bo" }
  t:expect_refused { channel = "email" }
end)

test("expecting one failure does not excuse another", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
  t:event { type = "boom.asked", contact = "cy", profile = { email = "cy@example.com" } }
  t:expect_failure { contact = "ann" }
end)

test("a failed expectation also names the failure behind it", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
  t:expect_spoken { template = "hi" }
end)

test("expect_failure when nothing failed", function(t)
  t:expect_failure { journey = "boom" }
end)

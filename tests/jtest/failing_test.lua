-- Journey tests that must fail, each with a message that says why (tests/journey_tests.sh
-- checks the messages): the runner is only useful if it catches mistakes.

test("expects a message never spoken", function(t)
  t:event { type = "user.signed_up", contact = "ann", profile = { email = "ann@example.com" } }
  t:expect_spoken { template = "welcome_nudge" }
end)

test("expects the wrong step", function(t)
  t:event { type = "user.signed_up", contact = "ann", profile = { email = "ann@example.com" } }
  t:expect_conversation { contact = "ann", journey = "welcome", step = "last_call" }
end)

test("expects silence after a message", function(t)
  t:event { type = "user.signed_up", contact = "ann", profile = { email = "ann@example.com" } }
  t:expect_silence()
end)

test("posts a malformed event", function(t)
  t:event { type = "user.signed_up" }
end)

test("passes", function(t)
  t:event { type = "user.signed_up", contact = "ann", profile = { email = "ann@example.com" } }
  t:expect_spoken { template = "welcome", text = "Thanks for joining" }
end)

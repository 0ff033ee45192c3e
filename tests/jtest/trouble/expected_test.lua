-- Tests that must pass (tests/journey_tests.sh): a failure or a refusal the test expects
-- is no reason to fail it.

test("expect_failure takes the failure it names", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
  local f = t:expect_failure { contact = "ann", journey = "boom", error = "the cart is empty" }
  assert(f.step == "start" and f.contact == "ann", "the failure as a table")
  t:expect_silence()      -- what a failing step spoke is never sent
end)

test("a broken budget is a failure too", function(t)
  t:event { type = "spin.asked", contact = "ann" }
  -- the instruction budget, or the time budget on a machine too busy to spend it first
  t:expect_failure { journey = "spin", error = "budget" }
end)

test("expect_refused takes the refusal it names", function(t)
  t:event { type = "mute.asked", contact = "bo", profile = { email = "bo@example.com" } }
  local r = t:expect_refused { contact = "bo", channel = "sms", template = "hi", reason = "no phone" }
  assert(r.journey == "mute" and r.step == "start", "the refusal as a table")
  t:expect_conversation { contact = "bo", journey = "mute", status = "done" }
end)

test("expect_conversation with status failed expects that failure", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
  t:expect_conversation { contact = "ann", journey = "boom", status = "failed" }
end)

test("expect_conversation with an error expects that failure", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
  local error = t:conversation("ann", "boom").error      -- the file's path is in it
  t:expect_conversation { contact = "ann", journey = "boom", error = error }
end)

test("each failure is expected once", function(t)
  t:event { type = "boom.asked", contact = "ann", profile = { email = "ann@example.com" } }
  t:event { type = "boom.asked", contact = "cy", profile = { email = "cy@example.com" } }
  t:expect_failure { journey = "boom" }
  t:expect_failure { journey = "boom" }
end)

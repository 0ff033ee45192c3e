-- Tests of the welcome journey: `parley test` runs them on a virtual clock, so the days
-- the journey waits pass in microseconds. Run: core/parley test
-- The journey runs with its own params (1d, 3d), whatever the configuration overrides.

local ann = { email = "ann@example.com", first_name = "Ann" }

test("a new customer is welcomed by name", function(t)
  t:event { type = "user.signed_up", contact = "ann", profile = ann }
  local m = t:expect_spoken { contact = "ann", channel = "email", template = "welcome" }
  assert(m.subject:find("Ann"), "the subject greets Ann: " .. m.subject)
  t:expect_silence()
  t:expect_conversation { contact = "ann", journey = "welcome", status = "listening", step = "follow_up" }
end)

test("silence gets a nudge, then a last offer", function(t)
  t:event { type = "user.signed_up", contact = "ann", profile = ann }
  t:expect_spoken { template = "welcome" }
  t:advance "4d"          -- a day to the nudge, three more to the offer
  t:expect_spoken { contact = "ann", template = "welcome_nudge", channel = "email" }
  t:expect_spoken { contact = "ann", template = "welcome_offer", text = "WELCOME10" }
  t:expect_conversation { contact = "ann", journey = "welcome", status = "done", outcome = "finished" }
end)

test("the nudge goes by SMS when we have a phone number", function(t)
  t:event { type = "user.signed_up", contact = "bo",
            profile = { email = "bo@example.com", phone = "+15550100" } }
  t:advance "1d"
  t:expect_spoken { template = "welcome" }
  t:expect_spoken { contact = "bo", channel = "sms", template = "welcome_nudge" }
end)

test("a click takes the other branch: tips, and the journey ends", function(t)
  t:event { type = "user.signed_up", contact = "cy", profile = { email = "cy@example.com" } }
  t:event { type = "email.clicked", contact = "cy" }
  t:expect_spoken { template = "welcome" }
  t:expect_spoken { contact = "cy", template = "welcome_tips" }
  t:advance "7d"
  t:expect_silence()      -- no nudge, no offer
end)

test("an order is the goal: the conversation ends at once", function(t)
  t:event { type = "user.signed_up", contact = "di", profile = { email = "di@example.com" } }
  t:event { type = "order.placed", contact = "di" }
  t:advance "7d"
  t:expect_spoken { template = "welcome" }
  t:expect_silence()
  t:expect_conversation { contact = "di", journey = "welcome", status = "done", outcome = "goal:order.placed" }
end)

test("no consent for email: nothing is sent, and the refusal is on record", function(t)
  t:event { type = "user.signed_up", contact = "ed",
            profile = { email = "ed@example.com", consent = { email = false } } }
  t:expect_refused { contact = "ed", channel = "email", template = "welcome", reason = "no consent for email" }
  t:expect_silence()
  local c = t:conversation("ed", "welcome")
  assert(c.history[2]:find("no consent for email"), c.history[2])
end)

test("a hard bounce falls back to one SMS, and the series ends", function(t)
  t:event { type = "user.signed_up", contact = "fi",
            profile = { email = "fi@example.com", phone = "+15550101", first_name = "Fi" } }
  t:expect_spoken { template = "welcome" }
  t:event { type = "email.bounced", contact = "fi", data = { kind = "hard", status = "5.1.1" } }
  local m = t:expect_spoken { contact = "fi", channel = "sms", template = "welcome_sms" }
  assert(m.text:find("Fi"), m.text)
  t:advance "7d"
  t:expect_silence()
  t:expect_conversation { contact = "fi", journey = "welcome", status = "done", outcome = "finished" }
end)

test("a dead letter without a phone number ends the series quietly", function(t)
  t:event { type = "user.signed_up", contact = "gil", profile = { email = "gil@example.com" } }
  t:expect_spoken { template = "welcome" }
  t:event { type = "email.failed", contact = "gil", data = { reason = "invalid_address" } }
  t:advance "7d"
  t:expect_silence()
  t:expect_conversation { contact = "gil", journey = "welcome", status = "done" }
end)

test("an unsubscribe ends the series: no nudge, no offer", function(t)
  t:event { type = "user.signed_up", contact = "hu", profile = { email = "hu@example.com" } }
  t:expect_spoken { template = "welcome" }
  t:event { type = "email.unsubscribed", contact = "hu", profile = { consent = { email = false } } }
  t:advance "7d"
  t:expect_silence()
  t:expect_conversation { contact = "hu", journey = "welcome", status = "done", outcome = "finished" }
end)

test("a soft bounce is no answer: the nudge still comes", function(t)
  t:event { type = "user.signed_up", contact = "io", profile = { email = "io@example.com" } }
  t:expect_spoken { template = "welcome" }
  t:event { type = "email.bounced", contact = "io", data = { kind = "soft", status = "4.2.2" } }
  t:advance "1d"
  t:expect_spoken { contact = "io", template = "welcome_nudge" }
end)

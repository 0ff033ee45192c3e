-- Tests of the newsletter welcome series and its A/B test: `parley test` runs them on a
-- virtual clock. t:force_arm puts a subscriber in an arm; unforced, the arm comes from the
-- subscriber's id, the same every time.

local function subscribe(t, id, name)
  t:event { type = "newsletter.subscribed", contact = id, profile = { email = id .. "@example.com", first_name = name } }
end

test("arm a welcomes by name, arm b leads with the discount", function(t)
  t:force_arm { experiment = "newsletter_subject", contact = "ann", arm = "a" }
  t:force_arm { experiment = "newsletter_subject", contact = "bo", arm = "b" }
  subscribe(t, "ann", "Ann")
  subscribe(t, "bo", "Bo")
  t:expect_arm { experiment = "newsletter_subject", contact = "ann", arm = "a" }
  t:expect_arm { experiment = "newsletter_subject", contact = "bo", arm = "b" }
  local a = t:expect_spoken { contact = "ann", template = "nl_welcome" }
  local b = t:expect_spoken { contact = "bo", template = "nl_welcome" }
  assert(a.subject == "Welcome to the newsletter, Ann!", a.subject)
  assert(b.subject == "10% off your first order, Bo", b.subject)
  local c = t:conversation("bo", "newsletter_welcome")
  assert(c.history[2] == "arm newsletter_subject=b", c.history[2])
end)

test("the holdout gets nothing, and its order counts for the holdout", function(t)
  t:force_arm { experiment = "newsletter_subject", contact = "cy", arm = "holdout" }
  subscribe(t, "cy", "Cy")
  t:advance "5d"
  t:expect_silence()
  t:event { type = "order.placed", contact = "cy" }
  t:expect_conversation { contact = "cy", journey = "newsletter_welcome", status = "done", outcome = "goal:order.placed" }
  local arms = t:stats("newsletter_welcome").experiments.newsletter_subject
  assert(arms.holdout.assigned == 1 and arms.holdout.converted == 1 and arms.holdout.conversion_rate == 1,
         "the holdout converted")
  assert(arms.a == nil and arms.b == nil, "no one else was assigned")
end)

test("every subscriber is in one arm, drawn from their id: about a tenth held out", function(t)
  for i = 1, 200 do subscribe(t, "s" .. i) end
  local arms = t:stats("newsletter_welcome").experiments.newsletter_subject
  local held = arms.holdout and arms.holdout.assigned or 0
  assert(arms.a.assigned + arms.b.assigned + held == 200, "each in one arm")
  assert(held >= 8 and held <= 35, "about 10% held out: " .. held)
  assert(#t:spoken() == 200 - held, "one welcome each, none for the holdout")
  subscribe(t, "ann", "Ann")
  t:expect_arm { experiment = "newsletter_subject", contact = "ann", arm = "holdout" } -- ann is always held out
end)

test("silence brings the picks; the order is credited to both messages", function(t)
  t:force_arm { experiment = "newsletter_subject", contact = "di", arm = "a" }
  subscribe(t, "di", "Di")
  local m = t:expect_spoken { contact = "di", template = "nl_welcome" }
  t:event { type = "email.delivered", contact = "di", data = { message_id = m.id } }
  t:event { type = "email.opened", contact = "di", data = { message_id = m.id } }
  t:advance "3d"
  t:expect_spoken { contact = "di", template = "nl_picks" }
  t:event { type = "order.placed", contact = "di" }
  local s = t:stats("newsletter_welcome")
  assert(s.entered == 1 and s.converted == 1, "one entered, one converted")
  assert(s.steps.start.entered == 1 and s.steps.start.spoken == 1, "start spoke the welcome")
  assert(s.steps.picks.timed_out == 1 and s.steps.picks.spoken == 1, "three days of silence, the picks")
  assert(s.steps.done.converted == 1 and s.steps.done.waiting == 0, "converted while waiting at done")
  assert(s.channels.email.delivered == 1 and s.channels.email.opened == 1, "the receipts, for email")
  assert(s.attribution.last_touch["email/nl_picks"] == 1, "last touch: the picks")
  assert(s.attribution.linear["email/nl_welcome"] == 0.5 and s.attribution.linear["email/nl_picks"] == 0.5,
         "linear: half each")
  assert(s.experiments.newsletter_subject.a.converted == 1, "arm a converted")
end)

test("a click ends the series early: no picks", function(t)
  t:force_arm { experiment = "newsletter_subject", contact = "ed", arm = "b" }
  subscribe(t, "ed", "Ed")
  t:expect_spoken { contact = "ed", template = "nl_welcome" }
  t:event { type = "email.clicked", contact = "ed" }
  t:advance "5d"
  t:expect_silence()
  local s = t:stats("newsletter_welcome")
  assert(s.steps.start.waiting == 0 and s.steps.done.waiting == 1, "now waiting at done")
end)

-- parley.offers' arbitration and parley.history's questions, on the arbiter journey (see
-- its file). Every test starts at 2030-01-01T09:00Z.

local function memory(t, contact) return t:conversation(contact, "arbiter").memory end

local function ranked(t, contact)
  t:event { type = "rank", contact = contact }
  return table.concat(memory(t, contact).ranked, ", ")
end

test("default scoring: propensity x value x weight, best first; what is held back says why", function(t)
  t:event { type = "hello", contact = "ann", profile = { email = "ann@example.com" } }
  assert(ranked(t, "ann") == "high_value 10.0, likely 8.0, weighted 5.0, scored 0, vip: not eligible, "
    .. "by_text: no channel: push: the contact has no devices for push; sms: the contact has no phone for sms, "
    .. "later: not valid yet", ranked(t, "ann"))
  t:expect_silence()
end)

test("best(c, 2) records and speaks the two best", function(t)
  t:event { type = "hello", contact = "ann", profile = { email = "ann@example.com" } }
  t:event { type = "pick", contact = "ann", data = { n = 2 } }
  t:expect_spoken { contact = "ann", subject = "Offer high_value" }
  t:expect_spoken { contact = "ann", subject = "Offer likely" }
  t:expect_offered { contact = "ann", offer = "high_value", journey = "arbiter", channel = "email", template = "offer" }
  t:expect_offered { contact = "ann", offer = "likely" }
  assert(#t:history("ann", { kind = "offered" }) == 2)
end)

test("a higher priority wins whatever the score; a propensity function reads the contact", function(t)
  t:event { type = "hello", contact = "vi", profile = { email = "vi@example.com", vip = true } }
  t:event { type = "pick", contact = "vi", data = { n = 1 } }
  t:expect_spoken { contact = "vi", subject = "Offer vip" }
  t:event { type = "hello", contact = "li", profile = { email = "li@example.com", likes = 0.9, boost = 17 } }
  t:event { type = "pick", contact = "li", data = { n = 2 } }
  t:expect_spoken { contact = "li", subject = "Offer likely" }   -- 18
  t:expect_spoken { contact = "li", subject = "Offer scored" }   -- its own score: 17
end)

test("the first channel the contact can be spoken to carries it; its cap holds it back after", function(t)
  t:event { type = "hello", contact = "bo", profile = { phone = "+4915100000002" } }
  t:event { type = "pick", contact = "bo", data = { n = 3 } }
  t:expect_spoken { contact = "bo", channel = "sms", subject = nil, text = "Our offer: by_text\n" }
  t:expect_silence()                                              -- the others are email only
  assert(table.concat(memory(t, "bo").picked, ",") == "by_text@sms")
  assert(ranked(t, "bo"):find("by_text: cap reached: 1 in 1d", 1, true), ranked(t, "bo"))
  t:advance "1d"
  assert(ranked(t, "bo"):find("^by_text 2"), ranked(t, "bo"))
end)

test("record = false only looks", function(t)
  t:event { type = "hello", contact = "cy", profile = { email = "cy@example.com" } }
  t:event { type = "pick", contact = "cy", data = { n = 1, look = true } }
  assert(memory(t, "cy").picked[1] == "high_value@email")
  assert(#t:history("cy", { kind = "offered" }) == 0)
  t:expect_silence()
end)

test("validity dates: an offer comes in at valid_from and goes at valid_until", function(t)
  t:event { type = "hello", contact = "dee", profile = { email = "dee@example.com" } }
  t:advance "4d"                                                 -- Jan 5th: weighted has gone
  assert(ranked(t, "dee"):find("weighted: no longer valid", 1, true), ranked(t, "dee"))
  t:advance "6d"                                                 -- Jan 11th: later has come
  assert(ranked(t, "dee"):find("^later 1000"), ranked(t, "dee"))
end)

test("history: engaged by email lately, messages this week, the preferred channel", function(t)
  t:event { type = "hello", contact = "eve", profile = { email = "eve@example.com", phone = "+4915100000005" } }
  t:event { type = "engaged", contact = "eve" }
  local m = memory(t, "eve")
  assert(m.engaged == false and m.messages == 0 and m.first == "sms", "nothing yet; sms before email")
  t:event { type = "pick", contact = "eve", data = { n = 1 } }
  t:expect_spoken { subject = "Offer high_value" }
  t:event { type = "email.opened", contact = "eve" }
  t:event { type = "engaged", contact = "eve" }
  m = memory(t, "eve")
  assert(m.engaged == true and m.messages == 1, "opened an email, one message")
  assert(m.opened == 1, "a file-level query with a list is read as it shows")
  t:advance "31d"
  t:event { type = "engaged", contact = "eve" }
  m = memory(t, "eve")
  assert(m.engaged == false and m.messages == 0, "a month later: neither")
end)

test("a catalog's own score replaces the default; a score that is not a number fails the step", function(t)
  t:event { type = "hello", contact = "fi", profile = { email = "fi@example.com" } }
  t:event { type = "own", contact = "fi" }
  assert(table.concat(memory(t, "fi").own, ", ") == "small 10, large 1", table.concat(memory(t, "fi").own, ", "))
  t:event { type = "broken", contact = "fi" }
  t:expect_failure { contact = "fi", error = "offer 'forgetful': a score function returned nil, not a number" }
  t:expect_silence()
end)

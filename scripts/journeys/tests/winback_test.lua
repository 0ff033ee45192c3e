-- Tests of the win-back journey (see welcome_test.lua for how to run them). Every test
-- starts at 2030-01-01T09:00Z on the virtual clock.

local ann = { email = "ann@example.com", first_name = "Ann" }

test("a lapsed customer gets the best offer they may have, recorded in their history", function(t)
  t:event { type = "customer.lapsed", contact = "ann", profile = ann }
  local m = t:expect_spoken { contact = "ann", channel = "email", template = "winback_10",
                              subject = "Come back for 10% off, Ann" }
  assert(m.text:find("COMEBACK10", 1, true), m.text)
  local o = t:expect_offered { contact = "ann", offer = "winback10", journey = "winback",
                               channel = "email", template = "winback_10" }
  assert(o.at == t:now(), "offered now: " .. tostring(o.at))
  assert(#t:history("ann", { kind = "offered" }) == 1, "one offer, not more")
end)

test("a big spender's last order, kept in the history, earns the 20% offer", function(t)
  t:event { type = "order.placed", contact = "bo", profile = { email = "bo@example.com" },
            data = { order_id = "o-1", total = 150, items = { { name = "Teapot" } } } }
  local order = t:history("bo", { kind = "event", type = "order.placed" })[1]
  assert(order.data.total == 150 and order.data.order_id == "o-1", "the order's data is kept")
  assert(order.data.items == nil, "lists are not kept")
  t:advance "90d"
  t:event { type = "customer.lapsed", contact = "bo" }
  t:expect_spoken { contact = "bo", template = "winback_20" }
  t:expect_offered { contact = "bo", offer = "winback20" }
end)

test("an order within lapsed_after: not lapsed after all, nothing is said", function(t)
  t:event { type = "order.placed", contact = "cy", profile = { email = "cy@example.com" }, data = { total = 20 } }
  t:advance "30d"
  t:event { type = "customer.lapsed", contact = "cy" }
  t:expect_silence()
  assert(#t:history("cy", { kind = "offered" }) == 0)
end)

test("per-offer caps: within 30 days the next best offer, after them the best again", function(t)
  t:event { type = "customer.lapsed", contact = "ann", profile = ann }
  t:expect_spoken { template = "winback_10" }
  t:advance "7d"
  t:expect_spoken { template = "winback_last_days" }
  t:advance "13d"                                  -- day 20: winback10 is capped (1 in 30d)
  t:event { type = "customer.lapsed", contact = "ann" }
  t:expect_spoken { contact = "ann", template = "winback_freeship" }
  t:expect_offered { contact = "ann", offer = "freeship" }
  t:advance "7d"
  t:expect_spoken { template = "winback_last_days" }
  t:advance "14d"                                  -- day 41: winback10 again
  t:event { type = "customer.lapsed", contact = "ann" }
  t:expect_spoken { contact = "ann", template = "winback_10" }
  assert(#t:history("ann", { kind = "offered", offer = "winback10" }) == 2)
  assert(#t:history("ann", { kind = "offered", offer = "winback10", since = "30d" }) == 1)
end)

test("a season's offer wins while it is valid, by its priority", function(t)
  t:advance "334d"                                 -- 2030-12-01T09:00Z
  t:event { type = "customer.lapsed", contact = "ann", profile = ann }
  t:expect_spoken { contact = "ann", template = "winback_holiday" }
  t:expect_offered { contact = "ann", offer = "holiday25" }
end)

test("no email: the offer goes by text, the channel the offer allows next", function(t)
  t:event { type = "customer.lapsed", contact = "dee", profile = { phone = "+4915100000003" } }
  local m = t:expect_spoken { contact = "dee", channel = "sms", template = "winback_10_sms" }
  assert(m.text:find("COMEBACK10", 1, true), m.text)
  t:expect_offered { contact = "dee", offer = "winback10", channel = "sms" }
end)

test("nobody to speak to: no offer made, none recorded", function(t)
  t:event { type = "customer.lapsed", contact = "eve", profile = { first_name = "Eve" } }
  t:expect_silence()
  assert(#t:history("eve", { kind = "offered" }) == 0)
  t:expect_conversation { contact = "eve", journey = "winback", status = "done" }
end)

test("a week of silence: one reminder, on the app when they have it", function(t)
  t:event { type = "customer.lapsed", contact = "fay",
            profile = { email = "fay@example.com", phone = "+4915100000004",
                        devices = { ["tok-1"] = { platform = "android" } } } }
  t:expect_spoken { template = "winback_10" }
  t:advance "7d"
  local m = t:expect_spoken { contact = "fay", channel = "push", template = "winback_last_days" }
  assert(m.text:find("COMEBACK10", 1, true), m.text)
  t:expect_silence()
end)

test("an order ends the conversation as a conversion: no reminder", function(t)
  t:event { type = "customer.lapsed", contact = "ann", profile = ann }
  t:expect_spoken { template = "winback_10" }
  t:advance "2d"
  t:event { type = "order.placed", contact = "ann", data = { total = 30 } }
  t:expect_conversation { contact = "ann", journey = "winback", status = "done", outcome = "goal:order.placed" }
  t:advance "7d"
  t:expect_silence()
end)

-- Quiet hours and time zones under `parley test` (tests/journey_tests.sh runs this with
-- jtest/quiet/parley.conf.lua, where sms has quiet hours from 21:00 to 08:00): the shipped
-- cart journey's text falls at 22:00 in Tokyo and waits for 08:00 there; the same text in
-- Berlin's afternoon goes at once. Every test starts at 2030-01-01T09:00Z.

local cart = { items = { { name = "Mug", price = 3 } } }

test("a text due at night in the contact's zone waits for the morning", function(t)
  t:event { type = "cart.updated", contact = "cy", data = cart,
            profile = { email = "cy@example.com", phone = "+4915100000002", timezone = "Asia/Tokyo" } }
  t:expect_spoken { template = "cart_reminder" }
  t:advance "4h"              -- 22:00 in Tokyo: the text is held
  t:expect_silence()
  t:advance "599m"            -- 07:59
  t:expect_silence()
  t:advance "2m"              -- 08:01
  t:expect_spoken { channel = "sms", template = "cart_sms" }
end)

test("the configuration's zone when the profile has none", function(t)
  t:event { type = "cart.updated", contact = "dee", data = cart,
            profile = { email = "dee@example.com", phone = "+4915100000003" } }
  t:expect_spoken { template = "cart_reminder" }
  t:advance "4h"              -- 14:00 in Berlin
  t:expect_spoken { channel = "sms", template = "cart_sms" }
end)

-- Tests of the cart abandonment journey (see welcome_test.lua for how to run them).

local cart = { items = { { name = "Teapot", price = 30 }, { name = "Cups", price = 12 } }, total = 42 }
local cy = { email = "cy@example.com", phone = "+4915100000002" }

test("a cart left behind gets a reminder that names it", function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }
  local m = t:expect_spoken { contact = "cy", channel = "email", template = "cart_reminder",
                              subject = "You left 2 items in your cart" }
  assert(m.text:find("- Teapot, €30.00\n- Cups, €12.00\nTotal: €42.00", 1, true), m.text)
  assert(m.html:find("<li><strong>Cups</strong>, €12.00</li>", 1, true), m.html)
  t:expect_conversation { contact = "cy", journey = "cart_abandonment", step = "nudge" }
end)

test("the reminder lists the cart in the contact's language, escaped in HTML", function(t)
  local items = { { name = "Tea & <Co>", price = 1234.5 }, { name = "Cups" } }
  t:event { type = "cart.updated", contact = "dee", data = { items = items },
            profile = { email = "dee@example.com", locale = "de-DE" } }
  local m = t:expect_spoken { contact = "dee", template = "cart_reminder",
                              subject = "You left 2 items in your cart" }
  assert(m.text:find("\n%- Tea & <Co>, 1%.234,50 €\n%- Cups\n$"), m.text)
  assert(not m.text:find("Total"), m.text)          -- no total given: the section is skipped
  assert(m.html:find("<strong>Tea &amp; &lt;Co&gt;</strong>, 1.234,50 €</li>", 1, true), m.html)
  t:event { type = "cart.updated", contact = "eve", data = { items = { { name = "Mug" } } },
            profile = { email = "eve@example.com" } }
  t:expect_spoken { contact = "eve", subject = "You left 1 item in your cart", text = "- Mug\n" }
end)

test("no click: one short text after four hours, then nothing more", function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }
  t:advance "3h"
  t:expect_spoken { template = "cart_reminder" }
  t:expect_silence()      -- not yet
  t:advance "1h"
  local m = t:expect_spoken { contact = "cy", channel = "sms", template = "cart_sms" }
  assert(#m.text <= 160 and not m.text:find("[^\n -~]"), "one GSM segment: " .. m.text)
  assert(m.text:find("Reply STOP to opt out\n?$"), m.text)
  t:expect_conversation { contact = "cy", journey = "cart_abandonment", step = "after_text" }
  t:advance "2d"
  t:expect_silence()
  t:expect_conversation { contact = "cy", journey = "cart_abandonment", status = "done" }
end)

test("a click gets the offer of help instead of a text", function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }
  t:event { type = "email.clicked", contact = "cy" }
  t:expect_spoken { template = "cart_reminder" }
  t:expect_spoken { contact = "cy", channel = "email", template = "cart_need_help" }
  t:advance "2d"
  t:expect_silence()
end)

test("STOP ends the conversation: the channel opted the number out, the journey says nothing",
     function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }
  t:advance "4h"
  t:event { type = "sms.unsubscribed", contact = "cy",
            data = { keyword = "STOP", address = "+4915100000002" } }
  t:expect_spoken { template = "cart_reminder" }
  t:expect_spoken { template = "cart_sms" }
  t:expect_silence()
  t:expect_conversation { contact = "cy", journey = "cart_abandonment", status = "done" }
end)

test("a text that did not arrive falls back to the last-chance email", function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }
  t:advance "4h"
  t:event { type = "sms.failed", contact = "cy", data = { reason = "undelivered" } }
  t:expect_spoken { template = "cart_reminder" }
  t:expect_spoken { template = "cart_sms" }
  t:expect_spoken { contact = "cy", channel = "email", template = "cart_last_chance" }
  t:expect_conversation { contact = "cy", journey = "cart_abandonment", status = "done" }
end)

test("a reply is thanked once; a bare STOP as a reply is not", function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }
  t:event { type = "cart.updated", contact = "di", profile = { email = "di@example.com", phone = "+4915100000003" }, data = cart }
  t:advance "4h"
  t:event { type = "sms.replied", contact = "cy", data = { text = "Is the teapot blue?" } }
  t:event { type = "sms.replied", contact = "di", data = { text = " stop " } }
  t:expect_spoken { contact = "cy", template = "cart_reminder" }
  t:expect_spoken { contact = "cy", template = "cart_sms" }
  t:expect_spoken { contact = "cy", channel = "sms", template = "cart_thanks" }
  t:expect_spoken { contact = "di", template = "cart_reminder" }
  t:expect_spoken { contact = "di", template = "cart_sms" }
  t:expect_silence()
end)

test("no phone: the last-chance email instead of a text", function(t)
  t:event { type = "cart.updated", contact = "ed", profile = { email = "ed@example.com" }, data = cart }
  t:advance "4h"
  t:expect_spoken { template = "cart_reminder" }
  t:expect_spoken { contact = "ed", channel = "email", template = "cart_last_chance" }
  t:expect_conversation { contact = "ed", journey = "cart_abandonment", status = "done" }
end)

test("ordering ends the conversation, and a new cart within a week starts none", function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }
  t:event { type = "order.placed", contact = "cy" }
  t:advance "2d"
  t:event { type = "cart.updated", contact = "cy", data = cart }
  t:expect_spoken { template = "cart_reminder" }
  t:expect_silence()
  t:advance "6d"          -- a week after the first cart: they may enter again
  t:event { type = "cart.updated", contact = "cy", data = cart }
  t:expect_spoken { template = "cart_reminder" }
end)

-- The rules the core enforces, whoever speaks: quiet hours (the shipped configuration holds
-- texts from 21:00 to 08:00 in the customer's own time zone) and the journey's cap of two
-- emails a day. Every test starts at 2030-01-01T09:00Z.

test("the text due at night in the customer's time zone is held until their morning", function(t)
  t:event { type = "cart.updated", contact = "yu", data = cart,
            profile = { email = "yu@example.com", phone = "+81901234567", timezone = "Asia/Tokyo" } }
  t:expect_spoken { template = "cart_reminder" }
  t:advance "4h"                                   -- 22:00 in Tokyo: the text waits
  t:expect_silence()
  local held = t:history("yu", { kind = "held" })[1]
  assert(held and held.channel == "sms" and held.template == "cart_sms", "the history says it was held")
  t:expect_conversation { contact = "yu", journey = "cart_abandonment", step = "after_text" }
  t:advance "599m"                                 -- 07:59 in Tokyo
  t:expect_silence()
  t:advance "2m"                                   -- 08:01: it goes
  t:expect_spoken { contact = "yu", channel = "sms", template = "cart_sms" }
end)

test("the same text in the customer's afternoon goes at once", function(t)
  t:event { type = "cart.updated", contact = "cy", profile = cy, data = cart }  -- no zone: UTC
  t:advance "4h"                                   -- 13:00 UTC
  t:expect_spoken { template = "cart_reminder" }
  t:expect_spoken { contact = "cy", channel = "sms", template = "cart_sms" }
end)

test("a third email in a day is refused by the cap, with its reason", function(t)
  t:event { type = "user.signed_up", contact = "al", profile = { email = "al@example.com" } }
  t:event { type = "email.clicked", contact = "al" }           -- the welcome series' tips
  t:expect_spoken { template = "welcome" }
  t:expect_spoken { template = "welcome_tips" }
  t:event { type = "cart.updated", contact = "al", data = cart }
  local reason = "cap reached (journey cart_abandonment): 2 email messages in 1d"
  t:expect_refused { contact = "al", channel = "email", reason = reason }
  local r = t:history("al", { kind = "refused" })[1]
  assert(r.template == "cart_reminder" and r.journey == "cart_abandonment" and r.reason == reason,
         "the history keeps the refusal and its reason")
  t:advance "4h"                                   -- no phone: the last-chance email, refused too
  t:expect_refused { contact = "al", channel = "email", reason = reason }
  t:expect_silence()
end)

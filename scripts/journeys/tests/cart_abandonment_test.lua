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

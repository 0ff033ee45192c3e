-- Tests that must fail (tests/journey_tests.sh checks the messages): every t: method
-- refuses a bad argument, naming the method, the field and what is wrong, rather than
-- crashing the runner or ignoring it.

local function greet(t)
  t:event { type = "greet.asked", contact = "ann", profile = { email = "ann@example.com", first_name = "Ann" } }
end

test("expect_spoken: a boolean pattern value", function(t)
  greet(t)
  t:expect_spoken { template = true }
end)

test("expect_spoken: a table pattern value", function(t)
  greet(t)
  t:expect_spoken { text = { "Hello" } }
end)

test("expect_spoken: a misspelt field", function(t)
  greet(t)
  t:expect_spoken { templat = "nothing like it" }
end)

test("expect_spoken: a value without a name", function(t)
  greet(t)
  t:expect_spoken { "hello" }
end)

test("expect_spoken: called with a dot", function(t)
  greet(t)
  t.expect_spoken { template = "hello" }
end)

test("event: a function in the data", function(t)
  t:event { type = "greet.asked", contact = "ann", data = { cart = { items = { print } } } }
end)

test("event: a misspelt field", function(t)
  t:event { type = "greet.asked", contact = "ann", profil = { email = "ann@example.com" } }
end)

test("event: a NUL in the contact, which would cut it short", function(t)
  t:event { type = "greet.asked", contact = "ann\0evil" }
end)

test("event: not a table", function(t)
  t:event "greet.asked"
end)

test("advance: a number", function(t)
  t:advance(90)
end)

test("advance: two durations", function(t)
  t:advance("1d", "2d")
end)

test("advance: too far", function(t)
  t:advance "9223372036854775000ms"
end)

test("now: an argument", function(t)
  t:now "utc"
end)

test("expect_silence: a pattern, as if it filtered", function(t)
  t:expect_silence { contact = "bo" }
end)

test("conversation: no contact", function(t)
  greet(t)
  t:conversation()
end)

test("conversation: a journey that is not a string", function(t)
  greet(t)
  t:conversation("ann", { "greet" })
end)

test("expect_conversation: a misspelt field", function(t)
  greet(t)
  t:expect_conversation { contact = "ann", stauts = "done" }
end)

test("expect_conversation: a boolean value", function(t)
  greet(t)
  t:expect_conversation { contact = "ann", status = true }
end)

test("expect_conversation: no contact", function(t)
  greet(t)
  t:expect_conversation { journey = "greet" }
end)

test("expect_failure: not a table", function(t)
  t:expect_failure "boom"
end)

test("expect_refused: a number value", function(t)
  t:expect_refused { channel = 5 }
end)

test("spoken: an argument", function(t)
  t:spoken "email"
end)

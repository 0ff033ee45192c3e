-- In the very folder of its journeys: `parley test` loads greet.lua from here (and never
-- takes a *_test.lua file for a journey).

test("the journey in the test's own folder is the one tested", function(t)
  t:event { type = "greet.asked", contact = "bo", profile = { email = "bo@example.com" } }
  t:expect_spoken { contact = "bo", journey = "greet", template = "hello", text = "Hello there" }
end)

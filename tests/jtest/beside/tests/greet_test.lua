-- In a `tests` folder beside its journeys: `parley test` loads the journeys of the parent
-- folder (greet.lua), whatever the configuration's journeys_dir.

test("the journey beside the tests folder is the one tested", function(t)
  t:event { type = "greet.asked", contact = "ann", profile = { email = "ann@example.com", first_name = "Ann" } }
  t:expect_spoken { contact = "ann", journey = "greet", template = "hello", text = "Hello Ann" }
  t:expect_conversation { contact = "ann", journey = "greet", status = "done" }
end)

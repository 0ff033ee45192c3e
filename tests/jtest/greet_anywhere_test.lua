-- Kept away from its journeys (this folder holds none): `parley test` falls back to the
-- configuration's journeys_dir, where greet does not exist, unless --journeys names the
-- folder (tests/journey_tests.sh runs it both ways).

test("the journey named by --journeys is the one tested", function(t)
  t:event { type = "greet.asked", contact = "cy", profile = { email = "cy@example.com" } }
  t:expect_spoken { contact = "cy", journey = "greet", template = "hello" }
end)

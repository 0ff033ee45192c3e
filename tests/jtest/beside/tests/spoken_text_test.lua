-- A test that must fail (tests/journey_tests.sh): its expect_spoken names words the text
-- does not have, and the failure shows the subject and the start of the text compared.

test("expects words the message does not have", function(t)
  t:event { type = "greet.asked", contact = "ann", profile = { email = "ann@example.com", first_name = "Ann" } }
  t:expect_spoken { template = "hello", text = "Goodbye" }
end)

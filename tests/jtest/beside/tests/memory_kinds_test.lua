-- t:conversation(...).memory holds exactly what the journey kept: numbered keys stay
-- numbers, a float stays a float, a string keeps the bytes after a NUL.

test("the memory keeps every kind of value as the journey stored it", function(t)
  t:event { type = "greet.asked", contact = "ann", profile = { email = "ann@example.com", first_name = "Ann" } }
  t:expect_spoken { template = "hello" }
  local m = t:conversation("ann", "greet").memory
  assert(m.sparse[1] == "one" and m.sparse[5] == "five" and m.sparse[-2] == "minus two",
         "numbered keys are numbers")
  assert(m.sparse["5"] == nil, "a numbered key is not text")
  assert(math.type(m.weight) == "float", "2.0 is a float, not " .. tostring(math.type(m.weight)))
  assert(m.raw == "a\0b", "the bytes after a NUL are kept")
end)

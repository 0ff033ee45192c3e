-- t:conversation(...).memory: what the journey keeps in c.memory, as a Lua table.

test("the memory of a conversation is a table", function(t)
  t:event { type = "greet.asked", contact = "ann", profile = { email = "ann@example.com", first_name = "Ann" } }
  t:expect_spoken { template = "hello" }
  local m = t:conversation("ann", "greet").memory
  assert(type(m) == "table", "memory is a table, not " .. type(m))
  assert(m.greeted == true, "a boolean")
  assert(m.name == "Ann", "a string")
  assert(math.type(m.visits.count) == "integer" and m.visits.count == 2, "an integer, nested")
  assert(m.visits.ratio == 0.5, "a float")
  assert(#m.visits.pages == 2 and m.visits.pages[1] == "home" and m.visits.pages[2] == "cart", "a list")
end)

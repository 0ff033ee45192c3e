-- What one step may make outside its Lua state (tests/unit/test_sandbox.c, test_output_caps):
-- messages, their rendered size, and the conversation's memory. Also the library functions
-- the sandbox replaces, used as a journey would.
local journey = require "parley.journey"

return journey {
  name = "output",
  entry = { event = "test.output" },

  start = function(c, ev) return c:finish() end,
  speak_many = function(c)
    for i = 1, 4 do c:speak("email", "note", { text = "n" .. i }) end
    return c:finish()
  end,
  speak_three = function(c)
    for i = 1, 3 do c:speak("email", "note", { text = "n" .. i }) end
    return c:finish()
  end,
  speak_big = function(c)
    c:speak("email", "note", { text = ("x"):rep(2000) })
    return c:finish()
  end,
  memory_big = function(c)
    c.memory.blob = ("x"):rep(2000)
    return c:finish()
  end,
  -- long inside one C call: the count hook never fires, the clock is read on return
  slow_c = function(c)
    local s = ("ab"):rep(50000000)
    return c:finish()
  end,
  tables = function(c)
    local t = { "a", "b", "c" }
    table.insert(t, "d")
    table.insert(t, 1, "z")
    assert(table.concat(t, ",") == "z,a,b,c,d")
    assert(table.concat(t, "-", 2, 3) == "a-b" and table.concat({}, "x") == "" and table.concat({ 1, 2.5 }) == "12.5")
    assert(table.remove(t, 1) == "z" and table.remove(t) == "d" and #t == 3)
    assert(table.remove({}) == nil)
    local m = table.move({ 1, 2, 3 }, 1, 3, 2)
    assert(m[1] == 1 and m[2] == 1 and m[3] == 2 and m[4] == 3)
    local d = table.move({ 1, 2, 3 }, 2, 3, 1, {})
    assert(d[1] == 2 and d[2] == 3 and d[3] == nil)
    local s = { 5, 3, 9, 1, 7, 3 }
    table.sort(s)
    assert(table.concat(s, " ") == "1 3 3 5 7 9")
    table.sort(s, function(a, b) return a > b end)
    assert(table.concat(s, " ") == "9 7 5 3 3 1")
    local a, b = table.unpack({ 1, 2, 3 }, 2)
    assert(a == 2 and b == 3)
    assert(not pcall(table.concat, { {} }))
    assert(not pcall(table.insert, {}, 5, "x"))
    assert(("ab"):rep(2, "-") == "ab-ab" and string.rep("x", 0) == "")
    local ok = pcall(setmetatable, {}, { __index = {} })
    assert(ok)
    return c:finish()
  end,
}

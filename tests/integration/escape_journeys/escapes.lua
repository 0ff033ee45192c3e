-- Hostile and careless journey code, one case per event (tests/integration/test_escapes.c):
-- each must fail only its own conversation, with a clear reason, within its budget.
local journey = require "parley.journey"

local count = 0

local cases = {
  loop = function(c) while true do end end,
  pcall_loop = function(c) while true do pcall(function() while true do end end) end end,
  finalizer = function(c)
    setmetatable({}, { __gc = function() while true do end end })
    error("x")
  end,
  rep_nothing = function(c)
    local s = string.rep("", math.maxinteger, "")
    error("rep returned " .. #s .. " bytes at once")
  end,
  concat_c_index = function(c)
    table.concat(setmetatable({}, { __index = tostring, __len = function() return math.maxinteger end }))
  end,
  move_c_newindex = function(c)
    table.move({}, 1, math.maxinteger - 1, 2, setmetatable({}, { __newindex = rawequal }))
  end,
  sort_fake_len = function(c)
    table.sort(setmetatable({}, { __index = tostring, __len = function() return 1 << 40 end }), rawequal)
  end,
  unpack_many = function(c) table.unpack({}, 1, 1 << 40) end,
  pattern_find = function(c) string.find(("a"):rep(64), ("a*"):rep(32) .. "b") end,
  pattern_gsub = function(c) (("a"):rep(64)):gsub(("a*"):rep(32) .. "b", "x") end,
  tostring_error = function(c)
    error(setmetatable({}, { __tostring = function() while true do end end }))
  end,
  close_loop = function(c)
    local x <close> = setmetatable({}, { __close = function() while true do end end })
    error("x")
  end,
  big_messages = function(c)
    local text = ("x"):rep(100 * 1000)
    for i = 1, 1000 do c:speak("email", "note", { text = text }) end
  end,
  many_messages = function(c)
    for i = 1, 1000 do c:speak("email", "note", { text = "hi" }) end
  end,
  big_memory = function(c) c.memory.blob = ("x"):rep(100 * 1000) end,
  file_level = function(c) count = count + 1 end,
  memory_bomb = function(c)
    local t = {}
    for i = 1, math.maxinteger do t[i] = ("x"):rep(1000) .. i end
  end,
}

return journey {
  name = "escapes",
  entry = { event = "escape.try" },
  start = function(c, ev)
    cases[ev.data.case](c)
    return c:finish()
  end,
}

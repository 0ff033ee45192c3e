-- Sandbox escapes, one step each (tests/unit/test_sandbox.c). Every escape step would
-- return c:finish() if its trick worked; the test expects it to fail instead, and the
-- `ok` step to run fine on the same state right after.
local journey = require "parley.journey"

local kept_c -- an upvalue shared by every conversation of this state

-- An offer catalog: read only to steps, as every file-level table.
local catalog = require("parley.offers").catalog { { id = "o", channel = "email", template = "t" } }

local function finish(c) return c:finish() end

return journey {
  name = "escape",
  entry = { event = "test.escape" },

  start = function(c, ev) return c:listen({ "x" }, "1h", "ok") end,
  ok = function(c, ev)
    c.memory.n = (c.memory.n or 0) + 1
    local s = ("ok"):rep(3) .. string.upper("x") .. table.concat({ 1, 2 }, ",")
    assert(s == "okokokX1,2")
    assert(math.random(1, 6) >= 1)
    assert(utf8.char(72) == "H")
    return c:listen({ "x" }, "1h", "ok")
  end,

  io = function(c) local f = io.open("/etc/passwd") return finish(c) end,
  os = function(c) os.exit(1) return finish(c) end,
  debug = function(c) debug.sethook() return finish(c) end,
  package = function(c) package.loadlib("libc.so.6", "system") return finish(c) end,
  load = function(c) load("return 1")() return finish(c) end,
  loadstring = function(c) loadstring("return 1")() return finish(c) end,
  dofile = function(c) dofile("/etc/passwd") return finish(c) end,
  loadfile = function(c) loadfile("/etc/passwd") return finish(c) end,
  collectgarbage = function(c) collectgarbage("stop") return finish(c) end,
  string_dump = function(c) local b = string.dump(finish) return finish(c) end,
  string_dump_method = function(c) local b = ("").dump(finish) return finish(c) end,
  require_in_step = function(c) require "binmod" return finish(c) end,
  require_dotdot = function(c) require "..parley.journey" return finish(c) end,
  require_slash = function(c) require "/etc/passwd" return finish(c) end,
  require_stdlib = function(c) require "io" return finish(c) end,

  rawset_G = function(c) rawset(_G, "x", 1) return finish(c) end,
  rawset_ENV = function(c) rawset(_ENV, "x", 1) return finish(c) end,
  setmetatable_G = function(c) setmetatable(_G, nil) x = 1 return finish(c) end,
  getmetatable_G = function(c) getmetatable(_G).__newindex = nil x = 1 return finish(c) end,
  new_global = function(c) x = 1 return finish(c) end,
  overwrite_global = function(c) print = function() end return finish(c) end,
  undeclared_read = function(c) if undeclared_thing then end return finish(c) end,
  string_mt_index = function(c) getmetatable("").__index = {} return finish(c) end,
  string_mt_upper = function(c) getmetatable("").__index.upper = nil return finish(c) end,
  string_mt_set = function(c) setmetatable("", {}) return finish(c) end,
  string_rep_nil = function(c) string.rep = nil return finish(c) end,
  table_insert_ro = function(c) table.insert(string, 1) return finish(c) end,
  sdk_write = function(c) local j = require "parley.journey" j.version = "x" return finish(c) end,
  sdk_mt = function(c) setmetatable(require "parley.journey", nil) return finish(c) end,
  time_write = function(c) local t = require "parley.time" t.duration = print return finish(c) end,
  offer_write = function(c) catalog.offers[1].value = 1e9 return finish(c) end,
  catalog_write = function(c) catalog.best = function() end return finish(c) end,

  loop = function(c) while true do end end,
  pcall_loop = function(c)
    while true do pcall(function() while true do end end) end
  end,
  concat_growth = function(c)
    local s = "x"
    while true do s = s .. s end
  end,
  table_growth = function(c)
    local t, i = {}, 0
    while true do i = i + 1 t[i] = { i } end
  end,
  pcall_alloc = function(c)
    local ok = pcall(function() return ("x"):rep(1 << 30) end)
    return finish(c) -- caught the memory error: the step must fail all the same
  end,
  recursion = function(c)
    local function f(n) return 1 + f(n + 1) end
    return f(1)
  end,
  -- C code the count hook cannot see into, and code Lua runs with hooks off
  gc_finalizer = function(c)
    setmetatable({}, { __gc = function() while true do end end })
    error("the finalizer was accepted")
  end,
  tostring_error = function(c)
    error(setmetatable({}, { __tostring = function() while true do end end }))
  end,
  close_loop = function(c)
    local x <close> = setmetatable({}, { __close = function() while true do end end })
    error("x")
  end,
  rep_nothing = function(c)
    local s = string.rep("", math.maxinteger, "")
    assert(s == "" and ("x"):rep(3, ",") == "x,x,x")
    error("rep returned at once")
  end,
  concat_c_index = function(c)
    local t = setmetatable({}, { __index = tostring, __len = function() return math.maxinteger end })
    return table.concat(t)
  end,
  move_c_newindex = function(c)
    table.move({}, 1, math.maxinteger - 1, 2, setmetatable({}, { __newindex = rawequal }))
    return finish(c)
  end,
  sort_fake_len = function(c)
    table.sort(setmetatable({}, { __index = tostring, __len = function() return 1 << 40 end }), rawequal)
    return finish(c)
  end,
  insert_fake_len = function(c)
    local t = setmetatable({}, { __index = tostring, __newindex = rawequal,
                                 __len = function() return math.maxinteger - 1 end })
    table.insert(t, 1, "x")
    return finish(c)
  end,
  remove_fake_len = function(c)
    local t = setmetatable({}, { __index = tostring, __newindex = rawequal,
                                 __len = function() return math.maxinteger - 1 end })
    table.remove(t, 1)
    return finish(c)
  end,
  unpack_many = function(c)
    table.unpack(setmetatable({}, { __index = tostring }), 1, 1 << 30)
    return finish(c)
  end,
  -- Lua's own pattern functions backtrack inside C, where the count hook never fires:
  -- each of these would run for hours (the journey gets a matcher that counts its steps)
  pattern_find = function(c)
    string.find(("a"):rep(64), ("a*"):rep(32) .. "b")
    return finish(c)
  end,
  pattern_match = function(c)
    local m = ("a"):rep(64):match(("a?"):rep(40) .. ("a*"):rep(16) .. "b")
    return finish(c)
  end,
  pattern_gmatch = function(c)
    for m in ("ab"):rep(40):gmatch((".-"):rep(24) .. "c") do end
    return finish(c)
  end,
  pattern_gsub = function(c)
    local s = ("x"):rep(64):gsub(("(x*)"):rep(20) .. "%1y", "%2")
    return finish(c)
  end,
  pattern_pcall = function(c)
    for i = 1, 1000 do pcall(string.find, ("a"):rep(64), ("a*"):rep(32) .. "b") end
    return finish(c)
  end,
  contact_write = function(c) c.contact.x = 1 return finish(c) end,
  contact_nested_write = function(c) c.contact.address.city = "x" return finish(c) end,
  params_write = function(c) c.params.wait = "0s" return finish(c) end,
  keep_c = function(c) kept_c = c return finish(c) end,
  use_kept_c = function(c) kept_c:speak("email", "x") return finish(c) end,
}

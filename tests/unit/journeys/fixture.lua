-- The journey API, step by step (tests/unit/test_lhost.c).
local journey = require "parley.journey"

local function same(a, b, path)
  path = path or "memory"
  if type(a) ~= type(b) then error(path .. ": type " .. type(a) .. " ~= " .. type(b)) end
  if type(a) == "number" and math.type(a) ~= math.type(b) then
    error(path .. ": " .. math.type(a) .. " ~= " .. math.type(b))
  end
  if type(a) ~= "table" then
    if a ~= b then error(path .. ": " .. tostring(a) .. " ~= " .. tostring(b)) end
    return
  end
  for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
  for k in pairs(b) do if a[k] == nil then error(path .. "." .. tostring(k) .. " is extra") end end
end

local function sample()
  local deep = {}
  local t = deep
  for i = 1, 30 do t.n = {} t = t.n end -- 32 tables deep counting memory: the limit
  return {
    yes = true, no = false,
    int = 42, neg = -7, big = math.maxinteger, small = math.mininteger,
    float = 0.1, whole_float = 3.0, huge = 1e300, negf = -2.5,
    text = "héllo", bytes = "a\0b\255c", empty = "",
    list = { 1, "two", 3.5, { x = 1 } },
    sparse = { [5] = "x", [10] = "y" },
    mixed = { 1, 2, name = "n" },
    none = {},
    nested = { a = { b = { c = "deep" } } },
    deep = deep,
  }
end

local SHOP = { open = true, hours = { "9-17", "10-14" } } -- file-level: read through its view

return journey {
  name = "fixture",
  entry = { event = "fixture.start", reenter_after = "90m" },
  goal = { "order.placed", "subscription.started" },
  exit = "user.deleted",
  migrate = true,
  params = { wait = "4h", greeting = "Hello", limit = 3 },

  start = function(c, ev)
    return c:listen({ "a", "b" }, c.params.wait, "check")
  end,

  keep = function(c, ev)
    for k, v in pairs(sample()) do c.memory[k] = v end
    return c:finish()
  end,
  check = function(c, ev)
    same(sample(), c.memory)
    return c:listen({}, nil, "start")
  end,
  keep_list = function(c, ev)               -- memory used as a list: kept as an array
    c.memory[1], c.memory[2] = "first", "second"
    return c:finish()
  end,
  check_list = function(c, ev)
    assert(c.memory[1] == "first" and c.memory[2] == "second" and #c.memory == 2)
    return c:finish()
  end,
  context = function(c, ev)
    c.memory.now = c:now()
    c.memory.id, c.memory.journey, c.memory.step = c.id, c.journey, c.step
    c.memory.ev = { id = ev.id, type = ev.type, contact = ev.contact, time = ev.time,
                    item = ev.data.item, qty = ev.data.qty }
    c.memory.name = c.contact.first_name
    c.memory.limit = c.params.limit
    print("context step", 1, true)
    c:log("logged from a step")
    return c:listen({ "x" }, 90, "start")
  end,
  silence = function(c, ev)
    c.memory.silent = ev == nil
    return c:finish()
  end,
  speak_all = function(c, ev)
    local ok = c:speak("email", "greet", {
      name = "Ada & <Bob>", n = 3, f = 2.5, flag = true, count = 4.0, item = { name = "Hat" },
      list = { "first" },
    })
    c.memory.ok = ok
    local sms_ok, why = c:speak("sms", "short", { n = 1 })
    c.memory.sms_ok, c.memory.why = sms_ok, why
    local can, why2 = c:can_speak("sms")
    c.memory.can, c.memory.why2 = can, why2
    return c:finish()
  end,

  fn_in_memory = function(c) c.memory.cart = { cb = function() end } return c:finish() end,
  cycle_in_memory = function(c) local t = {} t.self = t c.memory.t = t return c:finish() end,
  deep_memory = function(c)
    local t = c.memory
    for i = 1, 40 do t.n = {} t = t.n end
    return c:finish()
  end,
  bad_key_memory = function(c) c.memory[true] = 1 return c:finish() end,
  userdata_memory = function(c) c.memory.d = c:finish() return c:finish() end,
  contact_in_memory = function(c) c.memory.p = c.contact return c:finish() end,
  memory_not_table = function(c) c.memory = 5 return c:finish() end,
  no_decision = function(c) c:finish() end,
  wrong_decision = function(c) return "done" end,
  listen_unknown = function(c) return c:listen({}, "1h", "nope") end,
  listen_bad_duration = function(c) return c:listen({}, "5y", "start") end,
  listen_bad_events = function(c) return c:listen({ "a", 5 }, "1h", "start") end,
  speak_cart = function(c, ev)                 -- lists and tables, the event's and our own
    c:speak("email", "cart", { items = ev.data.items, none = {}, shop = SHOP, when = 1798124700,
                               extra = { { name = "Bag", price = 3, qty = 1 } } })
    return c:finish()
  end,
  speak_long_list = function(c)
    local items = {}
    for i = 1, 1001 do items[i] = { name = "x", price = 1, qty = 1 } end
    c:speak("email", "cart", { items = items, none = {}, shop = SHOP, when = 0, extra = {} })
    return c:finish()
  end,
  speak_meta_var = function(c) c:speak("sms", "short", { n = setmetatable({}, {}) }) return c:finish() end,
  speak_unknown = function(c) c:speak("email", "nope") return c:finish() end,
  speak_missing_var = function(c) c:speak("email", "greet", {}) return c:finish() end,
  speak_table_var = function(c) c:speak("sms", "short", { n = {} }) return c:finish() end,
  speak_then_fail = function(c) c:speak("sms", "short", { n = 1 }) error("boom") end,
  runtime_error = function(c)
    local t = nil
    return t.x
  end,
}

-- Modules of the journeys folder: lib.helper is required at the top, as it must be. A step
-- may require it again (it is loaded: the same module), not a module not loaded yet.
-- module_error and sdk_error fail inside a module and inside the SDK: their errors name
-- those files relative to their folders.
local journey = require "parley.journey"
local helper = require "lib.helper"

return journey {
  name = "modules",

  start = function(c, ev)
    c:speak("email", "hi", { word = helper.word() })
    return c:finish()
  end,

  again = function(c, ev)
    local same = require "lib.helper"
    c:speak("email", "hi", { word = same.word() })
    return c:finish()
  end,

  late = function(c, ev)
    require "lib.other"
    return c:finish()
  end,

  module_error = function(c, ev)
    helper.fail()
    return c:finish()
  end,

  sdk_error = function(c, ev)
    journey(setmetatable({}, { __index = function() error("no spec here") end }))
    return c:finish()
  end,
}

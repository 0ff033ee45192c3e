-- Requires a module that is a precompiled chunk (binmod.lua): the load must be refused.
local journey = require "parley.journey"
local binmod = require "binmod"

return journey {
  name = "binary_module",
  start = function(c, ev) return c:finish() end,
}

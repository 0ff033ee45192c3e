-- A module of the journeys folder, required by modular.lua.
return {
  greeting = function() return "hello" end,
}

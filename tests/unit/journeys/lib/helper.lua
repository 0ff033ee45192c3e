-- A module of the journeys folder, required by modules.lua.
local M = {}

function M.word()
  return "from the module"
end

function M.fail()
  error("the helper failed")
end

return M

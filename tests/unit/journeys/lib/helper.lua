-- A module of the journeys folder, required by modules.lua.
local M = {}

function M.word()
  return "from the module"
end

return M

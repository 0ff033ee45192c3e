-- A module of the journeys folder that modules.lua requires only from a step (refused).
return {}

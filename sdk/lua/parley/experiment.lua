--[[ parley.experiment -- A/B/n tests with a holdout, the same arm for a customer every time.

Define the experiment at the top of the journey file, draw a customer's arm in a step:

    local journey = require "parley.journey"
    local experiment = require "parley.experiment"

    local subject = experiment.define {
      name = "welcome_subject",            -- letters, digits, '_', '.', '-' (64 at most)
      arms = { a = 45, b = 45 },           -- weights, in percent
      holdout = 10,                        -- percent who get nothing (optional, 0 by default)
    }                                      -- arms and holdout add up to 100

    return journey {
      name = "welcome",
      entry = { event = "user.signed_up" },
      goal = "order.placed",               -- conversions are counted per arm
      start = function(c, ev)
        local arm = subject:assign(c)      -- "a", "b" or "holdout"
        if arm ~= "holdout" then
          c:speak("email", "welcome_" .. arm)
        end
        return c:listen({ "email.clicked" }, "3d", "follow_up")
      end,
      follow_up = function(c, ev) return c:finish() end,
    }

HOW AN ARM IS DRAWN. exp:assign(c) asks Parley for a number in [0, 1) that depends only on
the experiment's name and the customer's id (BLAKE2b of the id, keyed by the name): the
same customer gets the same number on every machine, after every restart, in every
version of the journey, and in another journey that defines the same experiment. Another
experiment draws independently. The holdout takes the bottom of the range, then each arm
its weight, arms in the order of their names; so changing the arms' weights never moves a
customer in or out of the holdout, and renaming the experiment draws everyone anew.

WHAT IS KEPT. The arm is recorded with the conversation: its history and the customer's
show "arm welcome_subject=b", the journey's stats count it (`parley stats`, GET
/v1/journeys/{name}/stats: assigned, converted and the conversion rate of each arm, the
holdout's too, to compare). A conversation keeps the first arm it was given for an
experiment: a later exp:assign(c) in another step returns the same one.

THE HOLDOUT gets nothing from the experiment: the step checks `arm == "holdout"` and does
not speak (it may still listen, so the goal it reaches is counted for the holdout).

MISTAKES are found when the journey loads (`parley check` reports them, naming the file
and the line of experiment.define): weights that do not add up to 100 with the holdout, a
negative weight, no arms, an arm named "holdout", a bad name.

TESTING: `parley test` can force an arm and assert one (README, "Testing journeys"):
    t:force_arm { experiment = "welcome_subject", contact = "ann", arm = "b" }
    t:expect_arm { experiment = "welcome_subject", contact = "ann", arm = "b" }
--]]

local M = { version = "1.0" }

local NAME = "^[%w_.%-]+$"

-- Raised without a position: M.define raises it again at the line of the journey file
-- that called it.
local function fail(name, msg)
  error(("experiment '%s': %s"):format(name or "?", msg), 0)
end

local function check_name(name)
  if type(name) ~= "string" or #name == 0 or #name > 64 or not name:match(NAME) then
    fail(tostring(name), "name must be 1 to 64 letters, digits, '_', '.' or '-'")
  end
end

-- The arms as a list sorted by name: the order the draw walks them in.
local function check_arms(name, arms)
  if type(arms) ~= "table" then fail(name, "arms must be a table of weights: arms = { a = 50, b = 50 }") end
  local list = {}
  for arm, weight in pairs(arms) do
    if type(arm) ~= "string" or #arm > 64 or not arm:match(NAME) then
      fail(name, ("arm %s must be named with letters, digits, '_', '.' or '-'"):format(tostring(arm)))
    end
    if arm == "holdout" then fail(name, "an arm cannot be named 'holdout': use holdout = <percent>") end
    if type(weight) ~= "number" or weight ~= weight then
      fail(name, ("arms.%s must be a weight in percent (got %s)"):format(arm, type(weight)))
    end
    if weight < 0 then fail(name, ("arms.%s is negative (%s): weights are 0 to 100"):format(arm, weight)) end
    list[#list + 1] = { name = arm, weight = weight }
  end
  if #list == 0 then fail(name, "no arms: arms = { a = 50, b = 50 }") end
  table.sort(list, function(x, y) return x.name < y.name end)
  return list
end

local Experiment = {}
Experiment.__index = Experiment
Experiment.__metatable = false

-- exp:assign(c) -> the arm's name, or "holdout"; kept with the conversation.
function Experiment:assign(c)
  local x = c:experiment_hash(self.name) * 100
  local arm = "holdout"
  if x >= self.holdout then
    local at = self.holdout
    arm = self.order[#self.order].name -- what rounding leaves at the very top
    for _, a in ipairs(self.order) do
      at = at + a.weight
      if x < at then arm = a.name break end
    end
  end
  local kept = c:experiment_record(self.name, arm, arm == "holdout")
  if kept ~= "holdout" and self.arms[kept] == nil then
    error(("experiment '%s': arm '%s' (recorded before, or forced by a test) is not one of its arms")
          :format(self.name, kept), 2)
  end
  return kept
end

local function build(spec)
  if type(spec) ~= "table" then fail(nil, "experiment.define { ... } expects a table") end
  for k in pairs(spec) do
    if k ~= "name" and k ~= "arms" and k ~= "holdout" then
      fail(spec.name, ("unknown key '%s' (known: name, arms, holdout)"):format(tostring(k)))
    end
  end
  check_name(spec.name)
  local name = spec.name
  local order = check_arms(name, spec.arms)
  local holdout = spec.holdout or 0
  if type(holdout) ~= "number" or holdout ~= holdout or holdout < 0 or holdout > 100 then
    fail(name, "holdout must be a percentage from 0 to 100")
  end
  local total, arms = holdout, {}
  for _, a in ipairs(order) do
    total = total + a.weight
    arms[a.name] = a.weight
  end
  if math.abs(total - 100) > 1e-9 then
    fail(name, ("the weights add up to %s with the holdout; they must add up to 100"):format(total))
  end
  return setmetatable({ name = name, arms = arms, holdout = holdout, order = order }, Experiment)
end

-- experiment.define { name =, arms =, holdout = } checks the definition and returns the
-- experiment; a mistake is an error at the caller's line.
function M.define(spec)
  local ok, exp = pcall(build, spec)
  if not ok then error(exp, 2) end
  return exp
end

return M

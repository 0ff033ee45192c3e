-- An A/B/n test with a holdout, for test_measure.c: the arm speaks, a click brings a
-- second message, an order is the goal.
local journey = require "parley.journey"
local experiment = require "parley.experiment"

local exp = experiment.define { name = "ab_subject", arms = { a = 45, b = 45 }, holdout = 10 }

return journey {
  name = "ab",
  entry = { event = "signed_up" },
  goal = "order.placed",
  start = function(c, ev)
    local arm = exp:assign(c)
    if arm ~= "holdout" then c:speak("email", "hello", { arm = arm }) end
    return c:listen({ "email.clicked" }, "1h", "next")
  end,
  next = function(c, ev)
    if ev ~= nil then c:speak("email", "again") end
    return c:listen({}, "1d", "done")
  end,
  done = function(c, ev)
    return c:finish()
  end,
}

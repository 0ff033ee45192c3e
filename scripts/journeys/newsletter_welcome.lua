-- Newsletter welcome series, with an A/B test of the first e-mail's subject and a holdout.
-- A new subscriber gets a welcome, then the week's picks three days later unless they
-- clicked already. Arm "a" of the subject test greets by name, arm "b" leads with the
-- discount; one subscriber in ten is held out and gets nothing from the series, so the
-- orders of the holdout say what the series adds: compare the arms' conversion rates with
-- the holdout's in `parley stats newsletter_welcome` (or GET
-- /v1/journeys/newsletter_welcome/stats).
local journey = require "parley.journey"
local experiment = require "parley.experiment"

local subject = experiment.define {
  name = "newsletter_subject",
  arms = { a = 45, b = 45 },
  holdout = 10,
}

return journey {
  name = "newsletter_welcome",
  entry = { event = "newsletter.subscribed" },   -- once per subscriber
  goal = "order.placed",                          -- a conversion, per arm and holdout
  exit = { "user.deleted", "newsletter.unsubscribed" },
  params = { picks_after = "3d", measure_for = "14d" },

  start = function(c, ev)
    local arm = subject:assign(c)
    if arm == "holdout" then          -- no message; an order in the next two weeks still counts
      return c:listen({}, c.params.measure_for, "done")
    end
    c:speak("email", "nl_welcome", { discount_first = arm == "b" })
    return c:listen({ "email.clicked" }, c.params.picks_after, "picks")
  end,

  picks = function(c, ev)
    if ev == nil then                 -- no click yet: the week's picks
      c:speak("email", "nl_picks")
    end
    return c:listen({}, c.params.measure_for, "done")
  end,

  done = function(c, ev)
    return c:finish()
  end,
}

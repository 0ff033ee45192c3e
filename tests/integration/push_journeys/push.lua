-- Push fixture: pushes the text of each "notify" event (data.times over) to the contact's
-- devices on the channel data.channel names ("push" by default; with the event's data.options, when it gives some, as the journey's options), and listens for
-- what the channel reports back, keeping the last of it in memory. A later "notify" pushes
-- again in the same conversation.
local journey = require "parley.journey"

local NEWS = { "notify", "push.token_removed", "push.failed", "push.opened", "push.dismissed", "app.failed" }

local function speak(c, ev)
  local text = string.rep(ev.data.text, ev.data.times or 1)
  local ok, info = c:speak(ev.data.channel or "push", "hello", { text = text }, ev.data.options)
  c.memory.spoke = ok and true or false
  if type(info) == "table" then
    c.memory.payload_bytes = info.payload_bytes
  elseif info ~= nil then
    c.memory.refusal = tostring(info)
  end
end

return journey {
  name = "push",
  entry = { event = "notify" },

  start = function(c, ev)
    speak(c, ev)
    return c:listen(NEWS, "1h", "heard")
  end,

  heard = function(c, ev)
    if ev == nil then
      return c:finish()
    end
    if ev.type == "notify" then
      speak(c, ev)
    else
      c.memory.last = ev.type
      c.memory.reason = ev.data.reason
      c.memory.about = ev.data.message_id
    end
    return c:listen(NEWS, "1h", "heard")
  end,
}

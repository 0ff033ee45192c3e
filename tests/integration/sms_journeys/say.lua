-- SMS fixture: speaks the text of each "say" event on the sms channel (with the event's
-- max_segments, when it gives one, as the journey's option), and listens for what the
-- channel reports back, keeping the last of it in memory. A later "say" speaks again in
-- the same conversation.
local journey = require "parley.journey"

local NEWS = { "say", "sms.replied", "sms.delivered", "sms.failed", "sms.unsubscribed", "sms.resubscribed" }

local function speak(c, ev)
  local options = nil
  if ev.data.max_segments then
    options = { max_segments = ev.data.max_segments }
  end
  local ok, info = c:speak("sms", "say", { text = ev.data.text }, options)
  c.memory.spoke = ok and true or false
  if type(info) == "table" then
    c.memory.segments = info.segments
    c.memory.encoding = info.encoding
  elseif info ~= nil then
    c.memory.refusal = tostring(info)
  end
end

return journey {
  name = "say",
  entry = { event = "say" },

  start = function(c, ev)
    speak(c, ev)
    return c:listen(NEWS, "1h", "heard")
  end,

  heard = function(c, ev)
    if ev == nil then
      return c:finish()
    end
    if ev.type == "say" then
      speak(c, ev)
    else
      c.memory.last = ev.type
      if ev.data.text then
        c.memory.reply = ev.data.text
      end
    end
    return c:listen(NEWS, "1h", "heard")
  end,
}

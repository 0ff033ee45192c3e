--[[ parley.history -- branch on what a customer did and was told.

Every customer has a history: the events they sent, the journeys they entered, the
messages spoken to them (or refused, or held for quiet hours) and the offers made to them,
newest last, at most `limits.history` entries (100 by default; the oldest fall off).
A step reads it with c:history, and this module asks the questions marketers ask:

    local history = require "parley.history"

    start = function(c, ev)
      if history.engaged(c, "email", "30d") then        -- opened or clicked an email lately
        c:speak("email", "new_arrivals", {})
      end
      if history.count_messages(c, "7d") >= 3 then      -- enough for this week
        return c:finish()
      end
      local order = history.last(c, "order.placed")     -- the last order, or nil
      if order and c:now() - order.at > 90 * 86400 then -- more than 90 days ago
        local channel = history.first_channel(c, { "push", "sms", "email" })
        if channel then c:speak(channel, "we_miss_you", { total = order.data.total }) end
      end
      return c:finish()
    end

THE QUERY underneath, c:history([query]), returns a list of entries, NEWEST FIRST:
    c:history{ kind = "event", type = "email.clicked", since = "30d" }
    -> { { at = 1796083200, kind = "event", type = "email.clicked", id = "evt-9", data = {} }, ... }
Each field of the query narrows it; a value may be a list (any of them matches):
    kind      "event", "entered", "spoke", "refused", "held", "offered" ("profile" for a
              profile set through the API; any other line's first word)
    type      an event's type: "order.placed", { "email.opened", "email.clicked" }
    channel, template, journey   of a message (spoke, refused, held) or an offer
    offer     an offer's id (kind "offered", written by c:record_offer / parley.offers)
    reason    a refusal's reason
    since     only entries of the last "30d" (a duration, or seconds; one exactly 30
              days old is out, as the caps count)
    limit     at most this many (the newest)
An entry has `at` (seconds since 1970: when Parley wrote it, on the clock journeys see) and
the fields of its kind: an event its `type`, `id` and `data`; a message its `channel`,
`template`, `journey` (and `id`, the message's); a refusal its `reason`; an offer its
`offer` (and `channel`, `template` when recorded). A misspelt field is an error, not a
query that matches everything.

WHAT AN EVENT KEEPS of its data: its top-level text (64 bytes at most each), numbers and
true/false, as many as fit in 200 bytes; lists and nested tables are left out. Send what a
later question needs at the top: { order_id = "o-1", total = 42.5, currency = "EUR" }.
The waking event is in the history already when its step runs; what a step speaks is
written when it returns (a later step sees it); the offers it records it sees at once.

Answers are only as long as the history: with `limits.history = 100`, a customer who sent
100 events since cannot be asked about an older one. Raise the limit in the configuration
for journeys that look far back.
--]]

local M = { version = "1.0" }

local ENGAGED = { "opened", "clicked", "replied" }

-- history.engaged(c, channel [, within]) -> the newest "<channel>.opened", ".clicked" or
-- ".replied" event (within "30d" by default), or nil. `channel` may be nil: any channel's.
function M.engaged(c, channel, within)
  local types = {}
  for _, channel_name in ipairs(channel and { channel } or { "email", "sms", "push" }) do
    for _, what in ipairs(ENGAGED) do types[#types + 1] = channel_name .. "." .. what end
  end
  return c:history{ kind = "event", type = types, since = within or "30d", limit = 1 }[1]
end

-- history.count_messages(c, within [, channel]) -> how many messages were spoken to the
-- customer within "7d" (held ones too: they go when quiet hours end), by every journey.
function M.count_messages(c, within, channel)
  return #c:history{ kind = "spoke", since = within, channel = channel }
end

-- history.last(c, event_type [, within]) -> the newest event of that type (its `at`,
-- `id` and `data`), or nil.
function M.last(c, event_type, within)
  return c:history{ kind = "event", type = event_type, since = within, limit = 1 }[1]
end

-- history.count(c, query) -> how many entries match (the query of c:history).
function M.count(c, query)
  return #c:history(query)
end

-- history.first_channel(c, channels [, topic]) -> the first channel of the list the
-- customer can be spoken to on now (c:can_speak: configured, an address, consent for the
-- topic, no cap reached, not suppressed), or nil and why each was refused:
--   history.first_channel(c, { "push", "sms", "email" }, "marketing")
--   -- "push" when they have the app's token, else "sms" when they allow it, else "email"
function M.first_channel(c, channels, topic)
  local why = {}
  for _, channel in ipairs(channels) do
    local ok, reason = c:can_speak(channel, topic)
    if ok then return channel end
    why[#why + 1] = channel .. ": " .. tostring(reason)
  end
  return nil, table.concat(why, "; ")
end

return M

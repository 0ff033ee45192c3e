--[[ parley.offers -- an offer catalog and next-best-action.

Declare the offers at the top of a journey file; a step asks the catalog for the best
offers for this customer now, and speaks them:

    local journey = require "parley.journey"
    local offers  = require "parley.offers"

    local catalog = offers.catalog {
      { id = "winback10",                       -- unique in the catalog; names the offer
                                                -- in the history, in caps and in tests
        channels = { { channel = "email", template = "winback_10" },
                     { channel = "sms",   template = "winback_10_sms" } },
                                                -- tried in order: the first the customer can
                                                -- be spoken to on (c:can_speak) carries it;
                                                -- or one: channel = "email", template = "..."
        topic      = "marketing",               -- the messages' topic (consent, caps)
        eligible   = function(c) return c.contact.country == "FR" end,  -- optional
        propensity = 0.3,                       -- how likely they take it (0..1), or a
                                                -- function(c, offer) -> number
        value      = 10,                        -- what it is worth when taken
        weight     = 1,                         -- the business's thumb on the scale
        priority   = 0,                         -- a tier: a higher priority wins whatever
                                                -- the scores (default 0)
        cap        = { max = 1, per = "30d" },  -- at most 1 offer of it in 30 days to a
                                                -- customer (or caps = { {...}, {...} })
        valid_from = "2026-11-01T00:00:00Z",    -- RFC 3339, or seconds since 1970
        valid_until = "2026-12-31T23:59:59Z",   -- (either may be left out)
      },
      { id = "freeship", channel = "email", template = "free_shipping", value = 4 },
    }

    return journey {
      name = "winback", entry = { event = "customer.lapsed" },
      start = function(c, ev)
        local pick = catalog:best(c)[1]          -- the best eligible offer, or nil
        if pick then offers.speak(c, pick, { first_name = c.contact.first_name }) end
        return c:finish()
      end,
    }

ARBITRATION. catalog:best(c, n, options) returns up to n picks (n left out: 1), best
first: the offers that are valid now, eligible, under their caps and with a channel the
customer can be spoken to on, ordered by priority, then score, then their order in the
catalog. The default score is propensity x value x weight (each 1 when left out); an offer
may set its own `score` (a number, or a function(c, offer) -> number), and the catalog
may replace the default for every offer:
    local catalog = offers.catalog({ ... }, { score = function(c, offer) return offer.value end })
A pick is { id =, channel =, template =, topic =, score =, offer = <the catalog's entry> }.

RECORDING. best() records each pick in the customer's history ("offered winback10
(winback) on email/winback_10", through c:record_offer) with the step's decision: a step
that fails offered nothing. Per-offer caps count these entries, across journeys and
restarts, so speak the pick right after choosing it: offers.speak(c, pick, vars) is
c:speak(pick.channel, pick.template, vars, { topic = pick.topic }). best(c, n,
{ record = false }) only looks. catalog:rank(c) lists every offer with its score and,
for those left out, why (`why`: "not valid before ...", "cap reached: 1 in 30d", "not
eligible", "no channel: email: unsubscribed"), for logs and tests.

Caps count what the history holds: see parley.history for its bound (limits.history).
In tests, t:expect_offered{ contact = "ann", offer = "winback10" } asserts an offer.

MISTAKES are refused when the journey file loads, naming the file and line of
offers.catalog: a missing id or template, an unknown field, a field of the wrong type, a
date that is not RFC 3339 ("2026-13-01"), a malformed duration ("3x"), a cap with a
negative count, two offers with one id.
--]]

local time = require "parley.time"

local M = { version = "1.0" }

local KNOWN = {
  id = true, channel = true, template = true, channels = true, topic = true, eligible = true,
  propensity = true, value = true, weight = true, score = true, priority = true, cap = true,
  caps = true, valid_from = true, valid_until = true, description = true,
}

local function fail(msg) error(msg, 0) end

local function check_number_or_function(o, where, field)
  local v = o[field]
  if v ~= nil and type(v) ~= "number" and type(v) ~= "function" then
    fail(("%s: %s must be a number or a function(c, offer) (got %s)"):format(where, field, type(v)))
  end
  return v
end

local function check_route(where, channel, template)
  if type(channel) ~= "string" or channel == "" then
    fail(where .. ": channel must be a channel's name, such as \"email\"")
  end
  if type(template) ~= "string" or template == "" then
    fail(where .. ": template must be a template's name")
  end
  return { channel = channel, template = template }
end

-- channel + template, or channels = { { channel =, template = }, ... }: always a list.
local function check_channels(o, where)
  if o.channels ~= nil then
    if o.channel ~= nil or o.template ~= nil then
      fail(where .. ": give channels, or channel and template, not both")
    end
    if type(o.channels) ~= "table" or #o.channels == 0 then
      fail(where .. ": channels must be a list such as { { channel = \"email\", template = \"offer\" } }")
    end
    local out = {}
    for i, route in ipairs(o.channels) do
      if type(route) ~= "table" then fail(("%s: channels[%d] must be a table"):format(where, i)) end
      out[i] = check_route(("%s: channels[%d]"):format(where, i), route.channel, route.template)
    end
    return out
  end
  if o.channel == nil then fail(where .. ": channel and template (or channels) are required") end
  return { check_route(where, o.channel, o.template) }
end

local function check_caps(o, where)
  local caps = o.caps
  if o.cap ~= nil then
    if caps ~= nil then fail(where .. ": give cap or caps, not both") end
    caps = { o.cap }
  end
  if caps == nil then return {} end
  if type(caps) ~= "table" then fail(where .. ": caps must be a list such as { { max = 1, per = \"30d\" } }") end
  local out = {}
  for i, cap in ipairs(caps) do
    local at = o.cap ~= nil and where .. ": cap" or ("%s: caps[%d]"):format(where, i)
    if type(cap) ~= "table" then fail(at .. ' must be a table such as { max = 1, per = "30d" }') end
    for k in pairs(cap) do
      if k ~= "max" and k ~= "per" then fail(("%s has an unknown key '%s' (known: max, per)"):format(at, tostring(k))) end
    end
    if math.type(cap.max) ~= "integer" or cap.max < 0 then
      fail(("%s.max must be a whole number of offers, 0 or more (got %s)"):format(at, tostring(cap.max)))
    end
    local per, why = time.duration(cap.per)
    if per == nil then fail(("%s.per: %s"):format(at, why)) end
    if per <= 0 then fail(at .. '.per must be longer than 0, such as "30d"') end
    out[i] = { max = cap.max, per = per, per_text = tostring(cap.per) }
  end
  return out
end

local function check_date(o, where, field)
  if o[field] == nil then return nil end
  local at, why = time.date(o[field])
  if at == nil then fail(("%s: %s: %s"):format(where, field, why)) end
  return at
end

local function ordinal(i)
  local suffix = (i % 100 >= 11 and i % 100 <= 13) and "th"
    or ({ "st", "nd", "rd" })[i % 10] or "th"
  return i .. suffix
end

local function check_offer(o, i)
  local where = ("offer %d"):format(i)
  if type(o) ~= "table" then fail(where .. " must be a table: { id = \"...\", channel = \"...\", template = \"...\" }") end
  if type(o.id) ~= "string" or o.id == "" or o.id:find("[%s()/]") then
    fail(where .. ": id is required: a name without spaces, '/' or parentheses")
  end
  where = ("offer '%s' (the %s)"):format(o.id, ordinal(i))
  for k in pairs(o) do
    if not KNOWN[k] then
      fail(("%s: unknown field '%s' (known: id, channel, template, channels, topic, eligible, "
            .. "propensity, value, weight, score, priority, cap, caps, valid_from, valid_until, description)")
           :format(where, tostring(k)))
    end
  end
  if o.topic ~= nil and type(o.topic) ~= "string" then fail(where .. ": topic must be a topic's name") end
  if o.eligible ~= nil and type(o.eligible) ~= "function" then
    fail(where .. ": eligible must be a function(c, offer) that returns true or false")
  end
  for _, field in ipairs { "value", "weight", "priority" } do
    if o[field] ~= nil and type(o[field]) ~= "number" then
      fail(("%s: %s must be a number (got %s)"):format(where, field, type(o[field])))
    end
  end
  local offer = {
    id = o.id, routes = check_channels(o, where), topic = o.topic, eligible = o.eligible,
    propensity = check_number_or_function(o, where, "propensity"), value = o.value or 1,
    weight = o.weight or 1, score = check_number_or_function(o, where, "score"),
    priority = o.priority or 0, caps = check_caps(o, where), description = o.description,
    valid_from = check_date(o, where, "valid_from"), valid_until = check_date(o, where, "valid_until"),
  }
  if offer.valid_from and offer.valid_until and offer.valid_from >= offer.valid_until then
    fail(where .. ": valid_from must come before valid_until")
  end
  return offer
end

local function check_catalog(list, options)
  if type(list) ~= "table" or #list == 0 then
    fail("takes a list of offers: offers.catalog { { id = \"...\", ... }, ... }")
  end
  options = options or {}
  if type(options) ~= "table" then fail("the options must be a table: { score = function(c, offer) ... end }") end
  for k in pairs(options) do
    if k ~= "score" then fail(("unknown option '%s' (known: score)"):format(tostring(k))) end
  end
  if options.score ~= nil and type(options.score) ~= "function" then
    fail("option score must be a function(c, offer) -> number")
  end
  local offers, seen = {}, {}
  for i, o in ipairs(list) do
    local offer = check_offer(o, i)
    if seen[offer.id] then fail(("two offers are named '%s'"):format(offer.id)) end
    seen[offer.id] = true
    offers[i] = offer
  end
  for k in pairs(list) do
    if math.type(k) ~= "integer" or k < 1 or k > #list then
      fail("takes a list of offers (no named keys; options go in the second argument)")
    end
  end
  return { offers = offers, score = options.score }
end

local function value_of(v, c, offer)
  if type(v) == "function" then v = v(c, offer) end
  if type(v) ~= "number" or v ~= v then
    error(("offer '%s': a score function returned %s, not a number"):format(offer.id, tostring(v)), 0)
  end
  return v
end

local function default_score(c, offer)
  local propensity = offer.propensity == nil and 1 or value_of(offer.propensity, c, offer)
  return propensity * offer.value * offer.weight
end

local function score_of(catalog, c, offer)
  if offer.score ~= nil then return value_of(offer.score, c, offer) end
  if catalog.score then return value_of(catalog.score, c, offer) end
  return default_score(c, offer)
end

-- Why the offer may not be made now (nil: it may), and the route that would carry it.
local function hold_back(c, offer, now)
  if offer.valid_from and now < offer.valid_from then return "not valid yet" end
  if offer.valid_until and now >= offer.valid_until then return "no longer valid" end
  for _, cap in ipairs(offer.caps) do
    local n = #c:history{ kind = "offered", offer = offer.id, since = cap.per }
    if n >= cap.max then return ("cap reached: %d in %s"):format(cap.max, cap.per_text) end
  end
  if offer.eligible then
    local ok = offer.eligible(c, offer)
    if ok ~= true and ok ~= false then
      error(("offer '%s': eligible returned %s, not true or false"):format(offer.id, tostring(ok)), 0)
    end
    if not ok then return "not eligible" end
  end
  local refused = {}
  for _, route in ipairs(offer.routes) do
    local ok, why = c:can_speak(route.channel, offer.topic)
    if ok then return nil, route end
    refused[#refused + 1] = route.channel .. ": " .. tostring(why)
  end
  return "no channel: " .. table.concat(refused, "; ")
end

-- catalog:rank(c) -> every offer, best first: { id, score, channel, template, topic,
-- offer } for those that may be made now, { id, why, offer } after them.
local function rank(self, c)
  local now, ranked, held = c:now(), {}, {}
  for i, offer in ipairs(self.offers) do
    local why, route = hold_back(c, offer, now)
    if why then
      held[#held + 1] = { id = offer.id, why = why, offer = offer }
    else
      ranked[#ranked + 1] = { id = offer.id, score = score_of(self, c, offer), channel = route.channel,
                              template = route.template, topic = offer.topic, offer = offer, order = i }
    end
  end
  table.sort(ranked, function(a, b)
    if a.offer.priority ~= b.offer.priority then return a.offer.priority > b.offer.priority end
    if a.score ~= b.score then return a.score > b.score end
    return a.order < b.order
  end)
  for _, h in ipairs(held) do ranked[#ranked + 1] = h end
  return ranked
end

-- catalog:best(c [, n [, { record = false }]]) -> up to n picks, best first (see above).
local function best(self, c, n, options)
  n = n or 1
  if math.type(n) ~= "integer" or n < 1 then error("catalog:best: n must be a whole number, 1 or more", 2) end
  local record = not (options and options.record == false)
  local picks = {}
  for _, r in ipairs(self:rank(c)) do
    if #picks == n or r.why then break end
    r.order = nil
    picks[#picks + 1] = r
    if record then c:record_offer(r.id, r.channel, r.template) end
  end
  return picks
end

-- offers.catalog(list [, options]) -> a catalog; mistakes are errors at the caller's line.
-- A plain table (its methods are fields): kept in a file-level local, it becomes read only
-- when the journey has loaded, as every file-level table does, so no step can change an
-- offer for the customers after it.
function M.catalog(list, options)
  local ok, catalog = pcall(check_catalog, list, options)
  if not ok then error("offers.catalog: " .. catalog, 2) end
  catalog.rank, catalog.best = rank, best
  return catalog
end

-- offers.speak(c, pick, vars) -> what c:speak returns
function M.speak(c, pick, vars)
  return c:speak(pick.channel, pick.template, vars or {}, { topic = pick.topic })
end

return M

--[[ parley.journey -- describe a customer journey.

A journey is one Lua file in the journeys folder. It returns the result of `journey { ... }`:

    local journey = require "parley.journey"

    return journey {
      name  = "cart_abandonment",          -- unique, used in reports and configuration
      entry = { event = "cart.updated",    -- the event that starts a conversation
                when = function(contact, ev)  -- optional: who may enter (ENTRY CONDITION below)
                  return contact.country == "FR"
                end,
                reenter_after = "7d" },    -- the same customer may start again 7 days after
                                           -- they last started (leave it out: a customer
                                           -- enters only once)
      goal  = "order.placed",              -- ends the conversation and counts a conversion
                                           -- (one event type, or a list of them)
      exit  = { "user.deleted" },          -- ends the conversation without a conversion
      migrate = false,                     -- true: when this file is reloaded (SIGHUP), a
                                           -- conversation already running moves to the new
                                           -- version's step of the same name when it next
                                           -- wakes; false: it ends on the version it began
      params = { nudge_after = "4h" },     -- settings operations may override in the
                                           -- configuration without editing this file
      caps = { { max = 1, per = "1d", channel = "sms" } },
                                           -- optional: this journey's own fatigue caps, on
                                           -- top of the configuration's (a speak past one
                                           -- is refused: "cap reached (journey ...)");
                                           -- every journey's messages count toward them

      start = function(c, ev) ... end,     -- the first step (required)
      nudge = function(c, ev) ... end,     -- any other step: every function is a step
    }

DURATIONS are written "500ms", "90s", "15m", "4h", "7d", "2w", or a plain number of seconds.

ENTRY CONDITION. `entry.when = function(contact, ev) ... end` is asked when the entry event
arrives, BEFORE any conversation exists. `contact` is the customer's profile (read only,
like c.contact) and `ev` the event (as a step sees it). Return true to let the customer in,
false to leave them out. A customer left out has not entered: nothing is counted against
`reenter_after`, and they enter on a later event once `when` says yes. Return exactly true
or false: any other value (nil too: a forgotten `return`), an error, or a broken budget
keeps the customer out and writes a warning to the log naming the journey, the customer
and the error. `when` has no `c`: it cannot speak, listen or keep memory. Prefer it to
checking in `start` and returning c:finish(): that conversation has started, and counts
as a start.

A STEP is a function(c, ev). `ev` is the event that woke the conversation:
    ev.type      "email.clicked"           ev.id       the event's unique id
    ev.contact   the customer's id          ev.time     when it happened (seconds since 1970)
    ev.data      the event's details, a table (empty when the event has none)
or `nil` when nobody answered before the deadline (the silence is an answer too).

A step decides, and says what it decided by RETURNING one of:
    return c:listen({ "email.clicked", "email.replied" }, "2d", "follow_up")
        -- wait for one of these events, for at most 2 days (nil: no limit), then run
        -- the step `follow_up` (with the event, or with nil when the 2 days passed)
    return c:finish()
        -- the conversation is over

What a step can do with `c`, the conversation:
    c:speak(channel, template, vars)  render the template for a channel of the configuration
                                      ("email", "sms", ...); returns true, or false and a
                                      reason when it may not go: the channel is not
                                      configured, the customer has no address for it
                                      (email, phone, ...), unsubscribed, gave no consent
                                      for it (consent = { sms = false }) or for the topic
                                      (options.topic, "marketing" by default; README,
                                      "Topics and consent"), or a fatigue cap is reached
                                      (caps), or that address
                                      is suppressed (it bounced). What a step spoke
                                      leaves when the step returns its decision; a step that
                                      fails sends nothing. `parley check` warns of a channel
                                      named here, c:speak("fax", ...), that the configuration
                                      does not define; one held in a variable,
                                      c:speak(channel, ...), it cannot see: that one is only
                                      refused when the step runs
    c:speak(channel, template, vars, options)
                                      the same, with options for the channel (a flat table
                                      of text, numbers, true/false: { max_segments = 2 });
                                      each channel's documentation lists those it reads.
                                      A channel may measure the message when it is spoken:
                                      then c:speak returns true and what it measured,
                                        local ok, info = c:speak("sms", "reminder", {}, { max_segments = 2 })
                                        -- ok == true, info.segments == 1, info.encoding == "GSM-7"
                                      or false and its reason ("the text needs 3 segments,
                                      more than the 2 allowed"); under `parley test` there
                                      are no plugins, so c:speak returns true alone
    c:can_speak(channel [, topic])    true, or false and the same reason: ask before choosing
    c:history{ kind =, type =, since = "30d", ... }
                                      the customer's history, newest first: events, journeys
                                      entered, messages spoken, refused or held, offers made
                                      (parley.history has the questions marketers ask)
    c:record_offer(offer [, channel, template])
                                      note an offer made, in the history with this step's
                                      decision (parley.offers does it for its catalogs)
    c.memory                          a table the journey keeps between steps (plain values:
                                      text, numbers, true/false, tables of those)
    c.contact                         the customer's profile (read only): c.contact.first_name
    c.params                          the params above, after configuration overrides (read only)
    c:now()                           the current time, seconds since 1970 (use it, not os.time)
    c:log(message)                    write a line to Parley's log (print works too);
                                      `parley test` shows it under the test
    c.id, c.journey, c.step           the conversation's id, this journey's name, this step
    c:experiment_hash(name)           a number in [0, 1) fixed for this customer and that
                                      experiment name; c:experiment_record(name, arm,
                                      holdout) keeps the arm with the conversation. What
                                      parley.experiment is built on: use exp:assign(c)

TEMPLATES live in a folder named like the journey file, next to it: for
journeys/welcome.lua, the template "welcome" is journeys/welcome/welcome.subject,
welcome.txt (the text version) and welcome.html. They are Mustache
(https://mustache.github.io/mustache.5.html); docs/templates.md is the whole reference:
    {{name}}                    a value from `vars`, then {{contact.first_name}} from the
                                profile and {{params.nudge_after}} from the params; dotted
                                names walk nested tables ({{first.name}})
    {{{name}}} {{& name}}       unescaped (HTML parts escape every other value)
    {{#items}}- {{name}}{{/items}}   a loop over a list (each element's fields in scope,
                                {{.}} the element), or a block shown when the value is truthy
    {{^items}}Empty{{/items}}   shown when falsy: missing, nil, false, "", 0, an empty list
    {{! a comment }}
    {{name|friend}}             "friend" when there is no value, or an empty one
    {{total|currency:EUR}} {{n|number:2}} {{count|plural:item:items}}
    {{when|date}} {{when|time}} {{when|datetime}}
Formatters write in the contact's `locale` profile attribute (de-DE: "1.234,50 €"; en-US by
default) and show times (seconds since 1970, or RFC 3339 text) in the contact's `timezone`
(UTC by default). A section tag alone on its line takes the line with it. Pass lists and
tables as they are: c:speak("email", "cart_reminder", { items = ev.data.items }). A missing
value without a fallback or a section around it stops the step with an error naming the
template, line and name: better no message than "Hi {{first_name}}". A broken template
(an unclosed section, a bad formatter) refuses the journey when it loads, naming file and
line. A subject is always one line: the file's trailing newline is not part of it, and a
line break or other control character a value brings in (a first name "Ann\r\nBcc: ...")
becomes a space.
A push (the "push" channel, docs/push.md) takes its title from the .subject and its body
from the .txt; its image, deep link and data are options:
    c:speak("push", "cart_reminder", { items = ev.data.items },
            { link = "shop://cart", image = "https://cdn.example/cart.png", ttl = "4h" })
and it goes to every device the contact registered; listen for "push.opened" as for
"email.clicked".

MODULES: code shared by journeys goes in modules of the journeys folder: `local util =
require "lib.util"` loads journeys/lib/util.lua (its value is read only). Require them at
the top of the file: modules are loaded when the journey file loads. A step may require a
module already loaded (it gets the same one), never a new one: that stops the step with
"require 'x': modules are loaded when the journey file loads; move the require to the top
of the file". A module and the templates belong to the journey's version: change one and
a reload makes a new version, while conversations already running keep the module and
templates they started with. The parley.* modules are Parley's own: they come with the
installed Parley, not with the version.

EXPERIMENTS: `local experiment = require "parley.experiment"` defines an A/B/n test with a
holdout at the top of the file and draws a customer's arm in a step (`exp:assign(c)`); its
own documentation is at the top of parley/experiment.lua. Every journey's stats (per step,
per channel, per arm, the conversions credited to its messages) are in `parley stats`.

TESTING: put scenarios in journeys/tests/<name>_test.lua and run `parley test`: days pass
in microseconds on a virtual clock and nothing is sent. For example:
    test("silence gets a nudge", function(t)
      t:event { type = "cart.updated", contact = "ann",
                profile = { email = "a@x.org", phone = "+15550100" }, data = { items = {} } }
      t:advance "4h"
      t:expect_spoken { contact = "ann", template = "cart_sms" }
    end)
(README.md, "Testing journeys", lists every method of `t`.)

THE SANDBOX: a journey is plain Lua without files, network, os or debug. Helper functions
belong in `local`s; globals cannot be created or changed once the file is loaded. Each step
has a budget of instructions and time, and the journey (all its conversations together) a
memory cap; a step that breaks one stops with an error and its conversation is parked,
never the other customers'.
--]]

local time = require "parley.time"

local M = { version = "1.0" }

local KNOWN = {
  name = true, entry = true, goal = true, exit = true, migrate = true, params = true,
  description = true, caps = true,
}

-- `return journey { ... }` is a tail call, so no line of the journey file is left on the
-- stack to point at: the error carries no position, and Parley prefixes the file's name
-- (relative to the journeys folder).
local function fail(spec_name, msg)
  error(("journey '%s': %s"):format(spec_name or "?", msg), 0)
end

-- goal / exit: one event type or a list of them; always handed on as a list.
local function event_list(name, field, v)
  if v == nil then return {} end
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then
    fail(name, field .. " must be an event type or a list of event types")
  end
  local out = {}
  for i = 1, #v do
    if type(v[i]) ~= "string" then
      fail(name, ("%s[%d] must be an event type string"):format(field, i))
    end
    out[i] = v[i]
  end
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then
      fail(name, field .. " must be a list of event types (no named keys)")
    end
  end
  return out
end

local function check_duration(name, field, v)
  if v ~= nil and type(v) ~= "string" and type(v) ~= "number" then
    fail(name, field .. ' must be a duration like "7d" or a number of seconds')
  end
  local _, why = time.duration(v)
  if v ~= nil and why then fail(name, field .. ": " .. why) end -- "3x": at load, at its line
  return v
end

local function check_entry(name, entry)
  if entry == nil then return nil end
  if type(entry) ~= "table" then
    fail(name, 'entry must be a table: entry = { event = "cart.updated" }')
  end
  for k in pairs(entry) do
    if k ~= "event" and k ~= "when" and k ~= "reenter_after" then
      fail(name, ("entry has an unknown key '%s' (known: event, when, reenter_after)")
                 :format(tostring(k)))
    end
  end
  if type(entry.event) ~= "string" then fail(name, "entry.event must be a string") end
  if entry.when ~= nil and type(entry.when) ~= "function" then
    fail(name, "entry.when must be a function(contact, ev) that returns true or false")
  end
  return { event = entry.event, when = entry.when,
           reenter_after = check_duration(name, "entry.reenter_after", entry.reenter_after) }
end

local function check_params(name, params)
  if params == nil then return {} end
  if type(params) ~= "table" then fail(name, "params must be a table") end
  local out = {}
  for k, v in pairs(params) do
    if type(k) ~= "string" then fail(name, "params keys must be names") end
    local t = type(v)
    if t ~= "string" and t ~= "number" and t ~= "boolean" then
      fail(name, ("params.%s must be a string, a number or true/false"):format(k))
    end
    out[k] = v
  end
  return out
end

-- caps = { { max = 1, per = "1d", channel = "sms" }, ... }: tighter than the configuration's.
local function check_caps(name, caps)
  if caps == nil then return {} end
  if type(caps) ~= "table" then fail(name, 'caps must be a list such as { { max = 1, per = "1d" } }') end
  local out = {}
  for i = 1, #caps do
    local cap, where = caps[i], ("caps[%d]"):format(i)
    if type(cap) ~= "table" then fail(name, where .. ' must be a table such as { max = 1, per = "1d" }') end
    for k in pairs(cap) do
      if k ~= "max" and k ~= "per" and k ~= "channel" then
        fail(name, ("%s has an unknown key '%s' (known: max, per, channel)"):format(where, tostring(k)))
      end
    end
    if math.type(cap.max) ~= "integer" or cap.max < 0 then
      fail(name, where .. ".max must be a whole number of messages, 0 or more")
    end
    if cap.per == nil then fail(name, where .. '.per is required: a duration like "1d"') end
    if cap.channel ~= nil and type(cap.channel) ~= "string" then
      fail(name, where .. ".channel must be a channel's name (left out: every channel)")
    end
    out[i] = { max = cap.max, per = check_duration(name, where .. ".per", cap.per), channel = cap.channel }
  end
  for k in pairs(caps) do
    if math.type(k) ~= "integer" or k < 1 or k > #caps then fail(name, "caps must be a list (no named keys)") end
  end
  return out
end

local SPEC_MT = { __name = "parley.journey", __metatable = false }

-- journey { ... } checks the description and returns what Parley loads.
local function build(spec)
  if type(spec) ~= "table" then
    error("journey '?': journey { ... } expects a table", 0)
  end
  local name = spec.name
  if type(name) ~= "string" or name == "" then
    error("journey '?': name must be a non-empty string", 0)
  end
  local steps = {}
  for k, v in pairs(spec) do
    if type(v) == "function" then
      if type(k) ~= "string" then fail(name, "a step must have a name") end
      steps[k] = v
    elseif not KNOWN[k] then
      fail(name, ("unknown key '%s' (known: name, entry, goal, exit, migrate, params, caps; "
                  .. "steps are functions)"):format(tostring(k)))
    end
  end
  if steps.start == nil then
    fail(name, "a journey needs a start step: start = function(c, ev) ... end")
  end
  if spec.migrate ~= nil and type(spec.migrate) ~= "boolean" then
    fail(name, "migrate must be true or false")
  end
  if spec.description ~= nil and type(spec.description) ~= "string" then
    fail(name, "description must be a string")
  end
  return setmetatable({
    name = name,
    entry = check_entry(name, spec.entry),
    goal = event_list(name, "goal", spec.goal),
    exit = event_list(name, "exit", spec.exit),
    migrate = spec.migrate == true,
    params = check_params(name, spec.params),
    caps = check_caps(name, spec.caps),
    steps = steps,
  }, SPEC_MT)
end

return setmetatable(M, { __call = function(_, spec) return build(spec) end })

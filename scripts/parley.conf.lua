-- Parley's embedded default configuration: what `parley serve` runs without -c.
-- It serves the demo: HTTP on 127.0.0.1:8025, data under ./var, the shipped plugins and
-- journeys, every channel printed on the console. Copy it to start your own.
--
-- The file is Lua. It may use `env("NAME", default)` (the environment), and `srcdir` and
-- `builddir` (the source and build trees Parley was built from, for configurations used
-- while developing Parley); it must return a table. Unknown keys are refused, so a typo
-- never goes unnoticed.

return {
  listen = { address = "127.0.0.1", port = tonumber(env("PARLEY_PORT", "8025")) },
  data_dir = "./var",
  log_level = "info",

  -- Parley's own folders. Left out, as here, each is found from where the running binary
  -- is: installed (make install), under its prefix, as below; run from the build tree
  -- (core/parley), that tree's plugins/, scripts/journeys and sdk/lua.
  -- plugin_dir = "<prefix>/lib/parley",               -- the shipped plugins: NAME.so, then .libs/NAME.so
  -- plugin_path = { "/opt/acme/parley-plugins" },     -- more plugin folders, searched in order before plugin_dir
  -- journeys_dir = "<prefix>/share/parley/journeys",  -- every *.lua there is a journey (not *_test.lua)
  -- sdk_dir = "<prefix>/share/parley/lua",            -- where require "parley.journey" is found

  -- The sandbox of every journey: per step, and per journey version.
  -- What one step may make outside its Lua state: messages, the size of each rendered
  -- message (subject, text and HTML together), and the conversation's memory (encoded).
  lua = { step_instructions = 10000000, step_ms = 250, memory_mb = 64,
          step_speaks = 20, message_bytes = 256 * 1024, conversation_memory_bytes = 256 * 1024 },

  -- Input limits of the HTTP API and the stores. A request is applied in one go on the
  -- loop every other request shares: batch_events bounds how long one request can hold
  -- the others (README, "Limits": about 40 ms for 1,000 events).
  limits = {
    body_bytes = 1024 * 1024,      -- one request
    event_bytes = 64 * 1024,       -- one event (one NDJSON line)
    batch_events = 1000,           -- events in one request
    dedupe_window = 1000000,       -- event ids remembered to drop re-posts
    history = 100,                 -- history entries kept per contact and conversation
  },

  -- The HTTP server. auth = "tokens": every /v1 request carries `Authorization: Bearer
  -- TOKEN` (parley token create). auth = "none" is for a demo on this machine only: it is
  -- refused on any address but loopback, and said at start. A client's header and body
  -- must each arrive within their timeout (counted from their first byte, not reset by
  -- each byte); a kept-alive connection with nothing asked is closed after idle_timeout.
  http = { auth = "none", public_healthz = true, public_metrics = true,
           max_connections = 4096, max_connections_per_address = 64,
           header_timeout = "10s", body_timeout = "30s", idle_timeout = "30s" },

  -- The HTTP client plugins share (the webhook channel's, a provider's API). Certificates
  -- are always verified against the system's store; ca_file names a PEM file of more CA
  -- certificates to trust besides it (a private provider's CA), such as
  -- ca_file = "/etc/parley/private-ca.pem".
  http_client = {},

  -- How long what has ended is kept: ended conversations (from their end) and history
  -- entries (from when written). false keeps them for ever. Swept a little at a time.
  retention = { conversations = "90d", history = "365d" },

  -- The store: "lmdb" (durable, under data_dir/store) or "memory" (lost at exit). The LMDB
  -- file may grow to map_size_mb (about 1 KiB per waiting conversation); past it, new
  -- events are refused with 503 until it is raised.
  -- sync: when a write is answered. "commit" (the default): once it is flushed to disk;
  -- a thread flushes while the loop goes on with the next requests, and the requests that
  -- arrive during one flush share the next. "interval": at commit, before the flush; the
  -- thread flushes at least every sync_interval (1ms to 10s, default 10ms). A crash of the
  -- daemon loses nothing acknowledged either way; a crash of the machine (power loss) may
  -- lose, in "interval" mode, what was acknowledged in the last sync_interval and the
  -- flush then under way.
  store = { backend = "lmdb", map_size_mb = 4096, sync = "commit", sync_interval = "10ms" },

  -- Delivery: retries back off exponentially (with jitter) from retry_base to retry_max.
  -- At a stop, sends still with plugins get shutdown_grace to end before they are left to
  -- the next start.
  delivery = { max_attempts = 8, retry_base = "1s", retry_max = "1h", shutdown_grace = "5s" },

  -- Channels a journey speaks on, each served by one plugin instance. `address` names the
  -- profile attribute holding the contact's address (default: email->email, sms->phone,
  -- push->devices, the contact's map of push tokens); `suppress_on` lists the permanent failures of a send that suppress
  -- the contact's address on the channel (default { "invalid_address", "unsubscribed" };
  -- "blocked" may be added; {} turns it off). Flow control, the core's, per channel:
  -- `rate` (messages a second, a number above 0; absent: no limit), `burst` (messages at
  -- once, an integer >= 1; default: rate rounded up) and `max_in_flight` (messages the
  -- plugin holds, handed over and not yet answered; default 100). Messages that must wait
  -- stay queued, and a slow channel never delays another. `consent` is the channel's
  -- policy for what a contact has not answered (profile.consent): "opt_out" (the default:
  -- spoken to until they opt out) or "opt_in" (only after consent.<channel> = true), for
  -- every topic or per topic: consent = { marketing = "opt_in" }. Transactional messages
  -- need no consent. `quiet_hours = { from = "21:00", to = "08:00" }`: a message spoken in
  -- that window of the contact's local day (its profile's timezone, else `timezone` below)
  -- waits until it ends, then goes (transactional ones go at once). Every other key is a
  -- setting of the plugin.
  --   email = { plugin = "email", rate = 10, burst = 20, max_in_flight = 50, ... }
  channels = {
    email = { plugin = "console" },
    sms = { plugin = "console", quiet_hours = { from = "21:00", to = "08:00" } },  -- no texts at night
    push = { plugin = "console" },
    -- Each message POSTed as signed JSON to a service of yours (docs/webhook.md):
    -- hooks = { plugin = "webhook", url = "https://hooks.example.com/parley",
    --           secret = { env = "PARLEY_HOOKS_SECRET" } },  -- whsec_<base64 of 24-64 bytes>
    -- Real email over SMTP, with one-click unsubscribe (docs/email.md):
    -- email = { plugin = "email", url = "smtp://smtp.shop.example:587",  -- STARTTLS required
    --           username = "parley", password = { file = "/etc/parley/smtp.password" },
    --           from = "Shop <hello@shop.example>", reply_to = "help@shop.example",
    --           bounce_domain = "bounces.shop.example",           -- VERP Return-Path
    --           public_url = "https://parley.shop.example",        -- for unsubscribe links
    --           signing_key = { file = "/etc/parley/email.key" },  -- 32+ bytes
    --           rate = 10, max_in_flight = 20 },
    -- Real two-way SMS through Kannel's sendsms, with replies, receipts and STOP (docs/sms.md):
    -- sms = { plugin = "sms", dialect = "kannel",
    --         url = "http://127.0.0.1:13013/cgi-bin/sendsms",
    --         username = "parley", password = { file = "/etc/parley/kannel.password" },
    --         from = "+4930123456",                            -- or an id such as "Shop"
    --         public_url = "https://parley.shop.example",      -- for delivery reports
    --         inbound_secret = { file = "/etc/parley/sms.secret" },  -- 16+ bytes
    --         max_segments = 3, rate = 5 },
    -- ... or through a JSON provider: dialect = "generic", url = "https://api.provider.example/sms",
    --         api_key = { env = "PARLEY_SMS_KEY" }, headers = { "Authorization: Bearer {{api_key}}" },
    --         id_path = "messages.0.id", error_path = "error.message" (docs/sms.md, Generic dialect)
    -- App push through Firebase Cloud Messaging (and APNs for iOS, with apns_key, apns_key_id,
    -- apns_team_id, apns_topic) to every device of a contact (docs/push.md):
    -- push = { plugin = "push", service_account = { file = "/etc/parley/fcm-key.json" },
    --          receipt_secret = { file = "/etc/parley/push-receipt.secret" },  -- 16+ bytes
    --          priority = "high", ttl = "1d", rate = 500 },
  },

  -- Topics a message may have (c:speak's option `topic`) besides "marketing" (the default)
  -- and "transactional" (receipts, codes: past opt-outs and unsubscribes, never past a
  -- suppression): lower-case names a contact can consent to one by one.
  topics = {},

  -- Fatigue caps: at most `max` messages on `channel` (left out: on every channel) within
  -- any `per`, counted from each contact's own record (a restart does not reset them).
  -- A speak past a cap is refused ("cap reached: 3 email messages in 7d"). Messages of
  -- the `exempt` topics (default { "transactional" }) are neither counted nor capped.
  --   caps = { { max = 3, per = "7d", channel = "email" }, { max = 5, per = "7d" } },
  caps = {},

  -- The time zone of a contact whose profile has no `timezone` (an IANA name the system
  -- knows): quiet hours are counted in it.
  timezone = "UTC",

  -- A goal is credited to the messages its journey spoke to the contact this far back,
  -- last touch and linear (`parley stats`, GET /v1/journeys/{name}/stats); 0: no credit.
  attribution_window = "7d",

  -- Global suppression lists: per channel, addresses never messaged whoever holds them,
  -- whatever the topic (transactional too); listed here and/or in a `file` of one address
  -- a line ('#' comments). E-mail addresses match in any case, numbers in E.164 exactly.
  -- Read at start (a changed list takes a restart); a malformed entry is an error naming
  -- it (and its file:line).
  --   suppress = { email = { "abuse@example.com", file = "/etc/parley/email-suppressed.txt" },
  --                sms = { "+4915112345678" } },

  -- Signed plugins only: the public keys (parley keygen) plugins must be signed by
  -- (parley plugin sign). Empty: signatures are not required.
  plugin_keys = {},

  -- Journey parameters, overriding the defaults a journey declares in `params`.
  -- Shortened here so the 5-minute tour sees the follow-ups in seconds, not days.
  journey_params = {
    welcome = { follow_up_after = "20s", last_call_after = "40s" },
    cart_abandonment = { nudge_after = "15s", reply_within = "30s" },
  },
}

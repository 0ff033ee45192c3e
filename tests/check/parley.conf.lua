-- `parley check` of a journey that speaks on channels this configuration does not define
-- (tests/check_tests.sh). Only the email channel exists here.
return {
  log_level = "info",
  plugin_dir = builddir .. "/plugins",
  journeys_dir = srcdir .. "/tests/check/journeys",
  sdk_dir = srcdir .. "/sdk/lua",
  store = { backend = "memory" },
  channels = {
    email = { plugin = "console" },
  },
}

-- `parley check` of a journey whose template does not compile (tests/check_tests.sh): the
-- check fails, naming the template file and line.
return {
  log_level = "info",
  plugin_dir = builddir .. "/plugins",
  journeys_dir = srcdir .. "/tests/check/broken/journeys",
  sdk_dir = srcdir .. "/sdk/lua",
  store = { backend = "memory" },
  channels = {
    email = { plugin = "console" },
  },
}

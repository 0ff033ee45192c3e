return {
  channels = { email = { plugin = "console" }, sms = { plugin = "console", quiet_hours = { from = "21:00", to = "08:00" } } },
  timezone = "Europe/Berlin",
}

/* A two-way channel reduced to what ABI 1.2 adds: `check` measures a message when a
 * journey speaks it (its text's length in characters, refused above `max_chars`, a
 * setting the journey's option max_chars overrides) and `send` delivers it at once, the
 * journey's option "tag" as the provider id, so a test sees that the option reached the
 * send. The host's contacts_find is called by the tests through this instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <parley/plugin.h>

static const struct parley_host *host;

struct twoway {
  int64_t max_chars; /* setting */
};

static const struct parley_config_spec twoway_config[] = {
    {"max_chars", PARLEY_CONFIG_INT, "20", 0, offsetof(struct twoway, max_chars),
     "the longest text, in characters"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* UTF-8 characters: bytes that do not continue a sequence. */
static long characters(const char *s)
{
  long n = 0;
  for (; s && *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

static enum parley_status twoway_check(parley_ctx *ctx, void *self, const parley_msg *msg, char *info,
                                       size_t info_len)
{
  (void)ctx;
  const struct twoway *t = self;
  const char *opt = host->msg_option(msg, "max_chars");
  long max = opt ? strtol(opt, NULL, 10) : (long)t->max_chars;
  long n = characters(host->msg_part(msg, "text"));
  if (n > max) {
    snprintf(info, info_len, "the text has %ld characters, more than the %ld allowed", n, max);
    return PARLEY_ERROR;
  }
  snprintf(info, info_len, "{\"chars\":%ld,\"id\":\"%s\"}", n, host->msg_id(msg));
  return PARLEY_OK;
}

static enum parley_status twoway_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  (void)self;
  const char *tag = host->msg_option(msg, "tag");
  host->send_delivered(ctx, msg, tag ? tag : "untagged");
  return PARLEY_PENDING;
}

static enum parley_status twoway_init(parley_ctx *ctx, void *self)
{
  (void)self;
  if (!PARLEY_HOST_HAS(host, msg_option) || !PARLEY_HOST_HAS(host, contacts_find)) {
    host->set_error(ctx, "this Parley is too old for the twoway plugin (ABI 1.2 needed)");
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static const struct parley_plugin twoway_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "twoway",
    .version = "1.0.0",
    .description = "measures messages when spoken (ABI 1.2 check) and delivers them at once",
    .capabilities = PARLEY_CAP_SEND,
    .instance_size = sizeof(struct twoway),
    .config = twoway_config,
    .init = twoway_init,
    .send = twoway_send,
    .config_spec_size = sizeof(struct parley_config_spec),
    .check = twoway_check,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &twoway_plugin;
}

/* console: the demo channel. Prints every message it is asked to deliver on stdout (or
 * stderr), one readable block per message, so a journey can be watched from a terminal
 * without an SMTP server or an SMS gateway. The HTML part is left out: it is unreadable
 * in a terminal and the text part says the same. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <parley/plugin.h>

static const struct parley_host *host;

struct console {
  const char *stream; /* setting: "stdout" or "stderr" */
  FILE *out;
};

static const struct parley_config_spec console_config[] = {
    {"stream", PARLEY_CONFIG_STRING, "stdout", 0, offsetof(struct console, stream),
     "where to print: \"stdout\" or \"stderr\""},
    {NULL, 0, NULL, 0, 0, NULL},
};

static enum parley_status console_init(parley_ctx *ctx, void *self)
{
  struct console *c = self;
  if (strcmp(c->stream, "stdout") == 0)
    c->out = stdout;
  else if (strcmp(c->stream, "stderr") == 0)
    c->out = stderr;
  else {
    host->log(ctx, PARLEY_LOG_ERROR, "stream must be \"stdout\" or \"stderr\"", "stream",
              c->stream, NULL);
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

static enum parley_status console_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct console *c = self;
  const char *subject = host->msg_part(msg, "subject");
  const char *text = host->msg_part(msg, "text");
  /* One locked block, so two channels printing to the same stream never interleave. */
  flockfile(c->out);
  fprintf(c->out, "--- %s message %s (attempt %u) ---\n", or_dash(host->msg_channel(msg)),
          or_dash(host->msg_id(msg)), host->msg_attempt(msg));
  fprintf(c->out, "channel:  %s\n", or_dash(host->msg_channel(msg)));
  fprintf(c->out, "contact:  %s\n", or_dash(host->msg_contact(msg)));
  fprintf(c->out, "address:  %s\n", or_dash(host->msg_address(msg)));
  fprintf(c->out, "journey:  %s  template: %s\n", or_dash(host->msg_journey(msg)),
          or_dash(host->msg_template(msg)));
  if (subject)
    fprintf(c->out, "subject:  %s\n", subject);
  if (text)
    fprintf(c->out, "\n%s%s", text, text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
  fputs("---\n", c->out);
  int bad = fflush(c->out) != 0 || ferror(c->out);
  funlockfile(c->out);
  if (bad) {
    host->log(ctx, PARLEY_LOG_WARN, "could not write the message", "stream", c->stream, NULL);
    clearerr(c->out);
    return PARLEY_RETRY;
  }
  return PARLEY_OK;
}

static const struct parley_plugin console_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "console",
    .version = "1.0.0",
    .description = "prints messages on the terminal (demo and development)",
    .capabilities = PARLEY_CAP_SEND,
    .instance_size = sizeof(struct console),
    .config = console_config,
    .init = console_init,
    .send = console_send,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &console_plugin;
}

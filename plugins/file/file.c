/* file: appends one JSON line per message to a file (NDJSON), for audits, tests and
 * pipelines that tail a file. With `receipts = true` it also confirms each message back
 * into Parley as a "<channel>.delivered" event, like a real provider's delivery receipt,
 * which makes it the smallest complete example of the receipt loop.
 *
 * Writes to a local file are short and are done directly on the loop: a plugin talking to
 * a network must not do this (use the host's timers and, later, its async I/O). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <parley/plugin.h>

static const struct parley_host *host;

struct file_channel {
  const char *path; /* setting, required */
  int receipts;     /* setting, default false */
  int fd;
  char *line;       /* reused for every line: grows to the longest message seen */
  size_t line_cap;
};

static const struct parley_config_spec file_config[] = {
    {"path", PARLEY_CONFIG_STRING, NULL, 1, offsetof(struct file_channel, path),
     "file to append one JSON line per message to (its directory must exist)"},
    {"receipts", PARLEY_CONFIG_BOOL, "false", 0, offsetof(struct file_channel, receipts),
     "emit a <channel>.delivered event after each message is written"},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Opened once, O_APPEND: each line then lands whole at the end even if another process
 * appends to the same file. The parent directory is not created: a typo in the path
 * should fail loudly at start, not scatter files. */
static enum parley_status file_init(parley_ctx *ctx, void *self)
{
  struct file_channel *f = self;
  f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (f->fd < 0) {
    host->log(ctx, PARLEY_LOG_ERROR, "cannot open the output file", "path", f->path, "error",
              strerror(errno), NULL);
    return PARLEY_ERROR;
  }
  return PARLEY_OK;
}

static void file_shutdown(parley_ctx *ctx, void *self)
{
  struct file_channel *f = self;
  if (f->fd >= 0)
    close(f->fd);
  f->fd = -1;
  free(f->line);
  f->line = NULL;
}

/* NULL becomes JSON null, so every line has the same fields. Values are referenced, not
 * copied: they outlive the object, which lives only while one line is printed. */
static void add_str(cJSON *o, const char *key, const char *value)
{
  cJSON_AddItemToObject(o, key, value ? cJSON_CreateStringReference(value) : cJSON_CreateNull());
}

/* Prints into the channel's reusable buffer (one allocation per channel, not per line);
 * a message longer than the buffer doubles it. Returns the line, or NULL when out of memory. */
static char *render_line(parley_ctx *ctx, struct file_channel *f, parley_msg *msg)
{
  cJSON *o = cJSON_CreateObject();
  if (o == NULL)
    return NULL;
  add_str(o, "id", host->msg_id(msg));
  add_str(o, "channel", host->msg_channel(msg));
  add_str(o, "contact", host->msg_contact(msg));
  add_str(o, "address", host->msg_address(msg));
  add_str(o, "journey", host->msg_journey(msg));
  add_str(o, "template", host->msg_template(msg));
  add_str(o, "subject", host->msg_part(msg, "subject"));
  add_str(o, "text", host->msg_part(msg, "text"));
  add_str(o, "html", host->msg_part(msg, "html"));
  cJSON_AddNumberToObject(o, "attempt", host->msg_attempt(msg));
  cJSON_AddNumberToObject(o, "at", (double)host->now_ms(ctx));
  char *line = NULL;
  for (;;) {
    if (f->line_cap && cJSON_PrintPreallocated(o, f->line, (int)f->line_cap - 1, 0)) {
      line = f->line; /* one byte kept for the newline */
      break;
    }
    size_t cap = f->line_cap ? f->line_cap * 2 : 16384;
    char *n = cap <= (1u << 30) ? realloc(f->line, cap) : NULL;
    if (n == NULL)
      break;
    f->line = n;
    f->line_cap = cap;
  }
  cJSON_Delete(o);
  return line;
}

/* One write() per line: with O_APPEND that keeps lines whole. A short write (disk full)
 * leaves a torn line, which readers skip as unparsable; the message is retried. */
static enum parley_status write_line(parley_ctx *ctx, struct file_channel *f, char *line)
{
  size_t len = strlen(line);
  line[len] = '\n'; /* replaces the NUL: the buffer is not used as a string again */
  ssize_t n;
  do
    n = write(f->fd, line, len + 1);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)(len + 1))
    return PARLEY_OK;
  host->log(ctx, PARLEY_LOG_ERROR, "cannot append to the output file", "path", f->path,
            "error", n < 0 ? strerror(errno) : "short write", NULL);
  return PARLEY_RETRY;
}

/* The receipt a real provider would send later. Its id is derived from the message id,
 * so the core deduplicates it when the message is delivered twice (at least once). */
static void emit_receipt(parley_ctx *ctx, parley_msg *msg)
{
  const char *id = host->msg_id(msg);
  const char *channel = host->msg_channel(msg);
  char event_id[128], type[128];
  snprintf(event_id, sizeof event_id, "%s:delivered", id ? id : "");
  snprintf(type, sizeof type, "%s.delivered", channel ? channel : "file");
  cJSON *ev = cJSON_CreateObject();
  cJSON *data = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "id", event_id);
  cJSON_AddStringToObject(ev, "type", type);
  add_str(ev, "contact", host->msg_contact(msg));
  add_str(data, "message_id", id);
  cJSON_AddItemToObject(ev, "data", data);
  char *json = cJSON_PrintUnformatted(ev);
  cJSON_Delete(ev);
  if (json == NULL || host->emit_event(ctx, json, strlen(json)) != PARLEY_OK)
    host->log(ctx, PARLEY_LOG_WARN, "delivery receipt not accepted", "message_id", id, NULL);
  cJSON_free(json);
}

static enum parley_status file_send(parley_ctx *ctx, void *self, parley_msg *msg)
{
  struct file_channel *f = self;
  char *line = render_line(ctx, f, msg);
  if (line == NULL)
    return PARLEY_RETRY; /* out of memory: transient */
  enum parley_status st = write_line(ctx, f, line);
  if (st == PARLEY_OK && f->receipts)
    emit_receipt(ctx, msg);
  return st;
}

static const struct parley_plugin file_plugin = {
    .abi_major = PARLEY_ABI_MAJOR,
    .abi_minor = PARLEY_ABI_MINOR,
    .size = sizeof(struct parley_plugin),
    .name = "file",
    .version = "1.0.0",
    .description = "appends one JSON line per message to a file",
    .capabilities = PARLEY_CAP_SEND | PARLEY_CAP_RECEIPTS,
    .instance_size = sizeof(struct file_channel),
    .config = file_config,
    .init = file_init,
    .send = file_send,
    .shutdown = file_shutdown,
};

PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h);
PARLEY_EXPORT const struct parley_plugin *parley_plugin_entry(const struct parley_host *h)
{
  host = h;
  return &file_plugin;
}

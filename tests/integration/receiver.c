/* Runs tests/webhook_receiver.py with Debian's python3 and reads what it noted. */
#include "receiver.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

int receiver_start(struct receiver *r, const char *dir)
{
  int fds[2];
  snprintf(r->log, sizeof r->log, "%s/receiver.jsonl", dir);
  if (pipe(fds) < 0)
    return -1;
  r->pid = fork();
  if (r->pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl("/usr/bin/python3", "python3", PARLEY_SRCDIR "/tests/webhook_receiver.py", RECEIVER_SECRET,
          r->log, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  r->port = 0;
  if (f == NULL || fscanf(f, "%d", &r->port) != 1)
    r->port = 0;
  if (f)
    fclose(f);
  else
    close(fds[0]);
  if (r->port <= 0) {
    receiver_stop(r);
    return -1;
  }
  return 0;
}

void receiver_stop(struct receiver *r)
{
  if (r->pid > 0) {
    kill(r->pid, SIGTERM);
    waitpid(r->pid, NULL, 0);
  }
  r->pid = 0;
}

/* Lines whose `key` is `value`. */
static cJSON *select_lines(const struct receiver *r, const char *key, const char *value)
{
  cJSON *out = cJSON_CreateArray();
  FILE *f = fopen(r->log, "r");
  char line[4096];
  while (f && fgets(line, sizeof line, f)) {
    cJSON *o = cJSON_Parse(line);
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
      cJSON_AddItemToArray(out, o);
    else
      cJSON_Delete(o);
  }
  if (f)
    fclose(f);
  return out;
}

cJSON *receiver_seen(const struct receiver *r, const char *id)
{
  return select_lines(r, "id", id);
}

cJSON *receiver_wait(const struct receiver *r, const char *contact, int n, long ms)
{
  for (long waited = 0;; waited += 50) {
    cJSON *arr = select_lines(r, "contact", contact);
    if (cJSON_GetArraySize(arr) >= n || waited >= ms)
      return arr;
    cJSON_Delete(arr);
    h_sleep_ms(50);
  }
}

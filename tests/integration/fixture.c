/* The channels' integration tests' shared fixtures (fixture.h). */
#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

int fx_server_start(struct fx_server *s, const char *script, const char *arg)
{
  char path[512];
  int fds[2];
  snprintf(path, sizeof path, "%s/tests/%s", PARLEY_SRCDIR, script);
  s->port = 0;
  if (pipe(fds) < 0)
    return -1;
  s->pid = fork();
  if (s->pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl("/usr/bin/python3", "python3", path, s->log, arg, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  if (f == NULL || fscanf(f, "%d", &s->port) != 1)
    s->port = 0;
  if (f)
    fclose(f);
  return s->port > 0 ? 0 : -1;
}

void fx_server_stop(struct fx_server *s)
{
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
  }
  s->pid = 0;
}

cJSON *fx_lines_wait(const char *path, int (*keep)(const cJSON *line, const void *arg), const void *arg, int n,
                     long ms)
{
  static char line[1 << 16];
  for (long waited = 0;; waited += 50) {
    cJSON *out = cJSON_CreateArray();
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
      cJSON *o = cJSON_Parse(line);
      if (o && keep(o, arg))
        cJSON_AddItemToArray(out, o);
      else
        cJSON_Delete(o);
    }
    if (f)
      fclose(f);
    if (cJSON_GetArraySize(out) >= n || waited >= ms)
      return out;
    cJSON_Delete(out);
    h_sleep_ms(50);
  }
}

int fx_write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  return f && fprintf(f, "%s\n", text) > 0 && fclose(f) == 0 ? 0 : -1;
}

int fx_history_says(const struct daemon *d, const char *contact, const char *needle, long ms)
{
  for (long waited = 0; waited <= ms; waited += 100) {
    long status;
    cJSON *ct = h_get_contact(d, contact, &status);
    char *text = cJSON_PrintUnformatted(ct);
    int found = text && strstr(text, needle) != NULL;
    free(text);
    cJSON_Delete(ct);
    if (found)
      return 1;
    h_sleep_ms(100);
  }
  return 0;
}

void fx_say_as(const struct daemon *d, const char *id, const char *contact, const char *phone, const char *text)
{
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "id", id);
  cJSON_AddStringToObject(ev, "type", "say");
  cJSON_AddStringToObject(ev, "contact", contact);
  cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "profile"), "phone", phone);
  cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "data"), "text", text);
  char *json = cJSON_PrintUnformatted(ev);
  cJSON_Delete(h_post(d, json, 200));
  cJSON_free(json);
  cJSON_Delete(ev);
}

void fx_say(const struct daemon *d, const char *contact, const char *phone, const char *text)
{
  char id[64];
  snprintf(id, sizeof id, "say-%s", contact);
  fx_say_as(d, id, contact, phone, text);
}

/* `parley backup`, `parley replay`, `parley send` and `parley erase` (see admin.h). The
 * last three call the daemon over HTTP with the token in PARLEY_TOKEN, when it is set. */
#include "admin.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "inspect.h"
#include "store/store.h"
#include "util.h"

/* ---- backup ---- */

/* A backup goes into a new or empty folder: LMDB would refuse an existing data.mdb
 * anyway, but an operator pointing at the wrong folder should hear it before anything is
 * written. *created says whether the folder is still to be made. */
static int check_target(const char *dir, int *created, char *err, size_t errlen)
{
  DIR *d = opendir(dir);
  *created = 0;
  if (!d && errno == ENOENT) {
    *created = 1;
    return 0;
  }
  if (!d) {
    snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return -1;
  }
  int empty = 1;
  for (struct dirent *e; empty && (e = readdir(d));)
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  if (!empty)
    snprintf(err, errlen, "%s is not empty: a backup goes into a new or empty folder", dir);
  return empty ? 0 : -1;
}

static void human_size(char *buf, size_t cap, double bytes)
{
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
    bytes /= 1024;
    u++;
  }
  snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

/* Copies the store, or leaves nothing behind: a half-written data.mdb is not a backup. */
static int copy_store(const struct cfg *cfg, const char *dir, int created, char *err, size_t errlen)
{
  struct store *st = inspect_open_store(cfg, err, errlen);
  if (!st)
    return -1;
  int rc = store_lmdb_backup(st, dir, err, errlen);
  st->ops->close(st);
  if (rc < 0) {
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    unlink(data);
    if (created)
      rmdir(dir);
  }
  return rc;
}

int admin_backup(const char *config_path, const char *dir)
{
  char err[8192];
  int created;
  struct cfg *cfg = cfg_load(config_path, err, sizeof err);
  if (!cfg || check_target(dir, &created, err, sizeof err) < 0 ||
      copy_store(cfg, dir, created, err, sizeof err) < 0) {
    fprintf(stderr, "parley backup: %s\n", err);
    cfg_free(cfg);
    return 1;
  }
  char data[4200], size[32] = "?";
  struct stat sb;
  snprintf(data, sizeof data, "%s/data.mdb", dir);
  if (stat(data, &sb) == 0)
    human_size(size, sizeof size, (double)sb.st_size);
  printf("backup of %s/store written to %s (%s)\n"
         "to start a daemon from it, copy %s to <data_dir>/store (here: %s/store) while that\n"
         "daemon is stopped\n",
         cfg->data_dir, data, size, dir, cfg->data_dir);
  cfg_free(cfg);
  return 0;
}

/* ---- replay ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
  return buf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* The daemon's base URL from its configuration. A wildcard listen address is reached
 * on loopback; an IPv6 address is bracketed. */
static int daemon_base(const struct cfg *cfg, char *url, size_t cap, char *err, size_t errlen)
{
  const char *host = cfg->listen_address;
  if (cfg->listen_port == 0) {
    snprintf(err, errlen, "listen.port is 0 in the configuration: the daemon's port is not known");
    return -1;
  }
  if (strcmp(host, "0.0.0.0") == 0)
    host = "127.0.0.1";
  else if (strcmp(host, "::") == 0)
    host = "::1";
  snprintf(url, cap, strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host, cfg->listen_port);
  return 0;
}

/* The request's headers: its type and, when PARLEY_TOKEN is set, the bearer token. The
 * token goes into the header and nowhere else (never into a message). NULL with err
 * when the token cannot be a header's value. */
static struct curl_slist *headers(const char *ctype, char *err, size_t errlen)
{
  char line[1200];
  const char *token = getenv("PARLEY_TOKEN");
  snprintf(line, sizeof line, "Content-Type: %s", ctype);
  struct curl_slist *hdr = curl_slist_append(NULL, line);
  if (!hdr || !token || !*token)
    return hdr;
  int ok = strlen(token) < 1024;
  for (const unsigned char *p = (const unsigned char *)token; ok && *p; p++)
    ok = *p > ' ' && *p < 0x7f;
  struct curl_slist *more = NULL;
  if (ok) {
    snprintf(line, sizeof line, "Authorization: Bearer %s", token);
    more = curl_slist_append(hdr, line);
    memset(line, 0, sizeof line);
  }
  if (!more) {
    snprintf(err, errlen, "%s",
             ok ? "out of memory" : "PARLEY_TOKEN is not a token (too long, or holds a space or a control character)");
    curl_slist_free_all(hdr);
  }
  return more;
}

/* What to try after a 401 or 403 (the daemon's own message says what was wrong). */
static const char *auth_hint(long status)
{
  if (status == 401)
    return getenv("PARLEY_TOKEN") && *getenv("PARLEY_TOKEN")
               ? "; PARLEY_TOKEN holds a token this daemon does not take (parley token list)"
               : "; set PARLEY_TOKEN to a token (parley token create)";
  if (status == 403)
    return "; PARLEY_TOKEN's token lacks the scope (parley token list)";
  return "";
}

/* Asks the daemon: `method` on `url` with `data` (NULL: no body) of type `ctype`.
 * Returns the HTTP status, or 0 with err when no answer came. */
static long call(const char *method, const char *url, const char *data, size_t len, const char *ctype,
                 struct buf *b, char *err, size_t errlen)
{
  char cerr[CURL_ERROR_SIZE] = "";
  long status = 0;
  struct curl_slist *hdr = headers(ctype, err, errlen);
  if (!hdr)
    return 0;
  CURL *c = curl_easy_init();
  if (!c) {
    snprintf(err, errlen, "libcurl failed to initialise");
    curl_slist_free_all(hdr);
    return 0;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (data) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_COULDNT_CONNECT)
    snprintf(err, errlen, "no daemon answers at %s: is `parley serve` running with this configuration?", url);
  else if (rc != CURLE_OK)
    snprintf(err, errlen, "%s: %s", url, *cerr ? cerr : curl_easy_strerror(rc));
  else
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  curl_slist_free_all(hdr);
  return status;
}

static long post(const char *url, const char *data, size_t len, const char *ctype, struct buf *b, char *err,
                 size_t errlen)
{
  return call("POST", url, data, len, ctype, b, err, errlen);
}

/* Prints the daemon's answer: a line on success, its error message otherwise. */
static int report_replay(const char *id, long status, const char *body)
{
  cJSON *doc = cJSON_Parse(body ? body : "");
  int rc = 0;
  if (status == 200) {
    cJSON *ch = cJSON_GetObjectItem(doc, "channel");
    printf("replayed %s: queued for delivery on %s\n", id,
           cJSON_IsString(ch) ? ch->valuestring : "its channel");
  } else {
    cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "message");
    fprintf(stderr, "parley replay: %s: %s (HTTP %ld%s)\n", id,
            cJSON_IsString(msg) ? msg->valuestring : (body && *body ? body : "no answer"), status,
            auth_hint(status));
    rc = 1;
  }
  cJSON_Delete(doc);
  return rc;
}

static int replay(const struct cfg *cfg, const char *msg_id, char *err, size_t errlen)
{
  char base[512], url[1024];
  if (daemon_base(cfg, base, sizeof base, err, errlen) < 0)
    return -1;
  char *esc = curl_easy_escape(NULL, msg_id, 0);
  if (!esc) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  snprintf(url, sizeof url, "%s/v1/outbox/%s/replay", base, esc);
  curl_free(esc);
  struct buf b = {0};
  long status = post(url, "", 0, "application/json", &b, err, errlen);
  int rc = status ? report_replay(msg_id, status, b.p) : -1;
  buf_free(&b);
  return rc;
}

int admin_replay(const char *config_path, const char *msg_id)
{
  char err[8192];
  struct cfg *cfg = cfg_load(config_path, err, sizeof err);
  if (!cfg) {
    fprintf(stderr, "parley replay: %s\n", err);
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = replay(cfg, msg_id, err, sizeof err);
  if (rc < 0)
    fprintf(stderr, "parley replay: %s\n", err);
  curl_global_cleanup();
  cfg_free(cfg);
  return rc == 0 ? 0 : 1;
}

/* ---- send ---- */

/* Reads a whole file (or stdin for "-"), bounded by the daemon's body limit
 * (limits.body_bytes): what the daemon would refuse is refused here. */
static char *read_input(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
  if (strcmp(path, "-") == 0)
    return util_read_stream(stdin, "stdin", max, len, err, errlen);
  return util_read_file(path, max, len, err, errlen);
}

static int report_send(long status, const char *body)
{
  cJSON *doc = cJSON_Parse(body ? body : "");
  int rc = 0;
  if (status == 200) {
    printf("accepted %d, applied %d, duplicates %d\n", (int)cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "accepted")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "applied")),
           (int)cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "duplicates")));
  } else {
    cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "message");
    fprintf(stderr, "parley send: %s (HTTP %ld; nothing was applied%s)\n",
            cJSON_IsString(msg) ? msg->valuestring : (body && *body ? body : "no answer"), status,
            auth_hint(status));
    rc = 1;
  }
  cJSON_Delete(doc);
  return rc;
}

int admin_send(const char *config_path, const char *path)
{
  char err[8192], base[512], url[1024];
  struct cfg *cfg = cfg_load(config_path, err, sizeof err);
  size_t len = 0;
  char *data = NULL;
  int rc = -1;
  if (cfg && daemon_base(cfg, base, sizeof base, err, sizeof err) == 0 &&
      (data = read_input(path, cfg->max_body_bytes, &len, err, sizeof err))) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(url, sizeof url, "%s/v1/events", base);
    struct buf b = {0};
    long status = post(url, data, len, "application/x-ndjson", &b, err, sizeof err);
    rc = status ? report_send(status, b.p) : -1;
    buf_free(&b);
    curl_global_cleanup();
  }
  if (rc < 0)
    fprintf(stderr, "parley send: %s\n", err);
  free(data);
  cfg_free(cfg);
  return rc == 0 ? 0 : 1;
}

/* ---- erase ---- */

/* The daemon's error message, or the body itself when it is not one of ours. */
static const char *error_message(const cJSON *doc, const char *body)
{
  const cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "message");
  return cJSON_IsString(msg) ? msg->valuestring : (body && *body ? body : "no answer");
}

/* A line on success; otherwise the daemon's own message ("no such contact" for a 404 of
 * the route, another for a daemon without it), on stderr. */
static int report_erase(const char *id, long status, const char *body)
{
  cJSON *doc = cJSON_Parse(body ? body : "");
  if (status == 200)
    printf("erased %s: profile, conversations, history and messages\n", id);
  else
    fprintf(stderr, "parley erase: %s: %s (HTTP %ld; nothing was erased%s)\n", id, error_message(doc, body),
            status, auth_hint(status));
  cJSON_Delete(doc);
  return status == 200 ? 0 : 1;
}

static int erase(const struct cfg *cfg, const char *id, char *err, size_t errlen)
{
  char base[512], url[2048];
  if (daemon_base(cfg, base, sizeof base, err, errlen) < 0)
    return -1;
  char *esc = curl_easy_escape(NULL, id, 0); /* every byte but A-Z a-z 0-9 - . _ ~ as %XX */
  if (!esc) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  snprintf(url, sizeof url, "%s/v1/contacts/%s", base, esc);
  curl_free(esc);
  struct buf b = {0};
  long status = call("DELETE", url, NULL, 0, "application/json", &b, err, errlen);
  int rc = status ? report_erase(id, status, b.p) : -1;
  buf_free(&b);
  return rc;
}

int admin_erase(const char *config_path, const char *contact)
{
  char err[8192];
  struct cfg *cfg = cfg_load(config_path, err, sizeof err);
  if (!cfg) {
    fprintf(stderr, "parley erase: %s\n", err);
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = erase(cfg, contact, err, sizeof err);
  if (rc < 0)
    fprintf(stderr, "parley erase: %s\n", err);
  curl_global_cleanup();
  cfg_free(cfg);
  return rc == 0 ? 0 : 1;
}

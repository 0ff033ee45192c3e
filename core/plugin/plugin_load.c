/* The plugin loader: find a channel plugin, dlopen it, check its descriptor against ABI v1,
 * apply the channel's settings through the plugin's declarative config spec, run init.
 *
 * Everything a third party hands us is checked before it is trusted, and every refusal
 * says which file and why, so an integrator can fix their plugin from one log line. A
 * refused plugin leaves nothing behind: no handle, no memory. */
#include <cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "plugin_sign.h"
#include "plugin_int.h"

/* Every refusal is formatted by one function: "<path>: <reason>". */
static int refuse(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
  char reason[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  if (err && errlen)
    snprintf(err, errlen, "plugin %s: %s", path, reason);
  return -1;
}

/* Returns NULL when `path` is a readable regular file, else why not. Checked before dlopen
 * because dlopen's own message for a missing file is easy to misread as a missing
 * dependency. */
static const char *unreadable(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0)
    return strerror(errno);
  if (!S_ISREG(st.st_mode))
    return "not a regular file";
  if (access(path, R_OK) != 0)
    return strerror(errno);
  return NULL;
}

/* A plugin name comes from the configuration file; it must not climb out of the plugin
 * directory ("../../tmp/evil") or name a hidden file. */
static int valid_name(const char *name)
{
  if (name == NULL || name[0] == '\0' || name[0] == '.')
    return 0;
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == '\\')
      return 0;
  return 1;
}

int plugin_find(const char *dir, const char *name, char *path, size_t pathlen, char *err,
                size_t errlen)
{
  if (!valid_name(name)) {
    snprintf(err, errlen, "bad plugin name '%s' (a plain file name is expected)",
             name ? name : "(null)");
    return -1;
  }
  /* Installed layout first, then libtool's build-tree layout, so an in-tree daemon finds
   * the plugins `make` just built. */
  static const char *const subdirs[] = {"", "/.libs"};
  for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
    int n = snprintf(path, pathlen, "%s%s/%s.so", dir, subdirs[i], name);
    if (n > 0 && (size_t)n < pathlen && unreadable(path) == NULL)
      return 0;
  }
  snprintf(err, errlen, "plugin '%s' not found: looked for %s/%s.so and %s/.libs/%s.so", name,
           dir, name, dir, name);
  if (pathlen)
    path[0] = '\0';
  return -1;
}

/* The first folder of `dirs` holding the plugin, each looked at as plugin_find does. */
int plugin_find_in(const char *const *dirs, size_t ndirs, const char *name, char *path,
                   size_t pathlen, char *err, size_t errlen)
{
  char one[512];
  if (!valid_name(name))
    return plugin_find("", name, path, pathlen, err, errlen); /* the same refusal */
  for (size_t i = 0; i < ndirs; i++)
    if (plugin_find(dirs[i], name, path, pathlen, one, sizeof one) == 0)
      return 0;
  int n = snprintf(err, errlen, "plugin '%s' not found: looked for %s.so (and .libs/%s.so) in", name,
                   name, name);
  for (size_t i = 0; i < ndirs && n > 0 && (size_t)n < errlen; i++) {
    int w = snprintf(err + n, errlen - (size_t)n, "%s %s", i ? "," : "", dirs[i]);
    n = w < 0 ? -1 : n + w;
  }
  if (ndirs == 0 && n > 0 && (size_t)n < errlen)
    snprintf(err + n, errlen - (size_t)n, " no folder");
  if (pathlen)
    path[0] = '\0';
  return -1;
}

/* --- descriptor checks --- */

static int check_descriptor(const struct parley_plugin *d, const char *path, char *err,
                            size_t errlen)
{
  if (d == NULL)
    return refuse(err, errlen, path, "%s returned NULL", PARLEY_PLUGIN_ENTRY_SYMBOL);
  /* abi_major first: a v2 descriptor may be laid out differently, so nothing after the
   * three leading fields may be read. */
  if (d->abi_major != PARLEY_ABI_MAJOR)
    return refuse(err, errlen, path, "built for plugin ABI %u.x, this Parley speaks %u.x",
                  (unsigned)d->abi_major, (unsigned)PARLEY_ABI_MAJOR);
  /* A newer minor may have added descriptor fields (callbacks) this host would never
   * call, and its plugin may count on host functions this host lacks: refused, saying
   * what to do, rather than run half-understood. */
  if (d->abi_minor > PARLEY_ABI_MINOR)
    return refuse(err, errlen, path,
                  "plugin '%.64s' was built for plugin ABI %u.%u, newer than this Parley's %u.%u: build it "
                  "against this Parley's SDK (pkg-config parley-plugin), or upgrade Parley",
                  d->size >= PARLEY_PLUGIN_V1_SIZE && d->name ? d->name : "?", (unsigned)d->abi_major,
                  (unsigned)d->abi_minor, (unsigned)PARLEY_ABI_MAJOR, (unsigned)PARLEY_ABI_MINOR);
  /* Only what `size` covers is read: a 1.0 descriptor ends at shutdown; a field added
   * later is read only when PARLEY_PLUGIN_HAS says the plugin has it. */
  if (d->size < PARLEY_PLUGIN_V1_SIZE)
    return refuse(err, errlen, path,
                  "descriptor too short for ABI v1 (%" PRIu32 " bytes, at least %zu expected)",
                  d->size, (size_t)PARLEY_PLUGIN_V1_SIZE);
  if (d->name == NULL || d->name[0] == '\0')
    return refuse(err, errlen, path, "descriptor has no name");
  if (d->init == NULL)
    return refuse(err, errlen, path, "plugin '%s' has no init callback", d->name);
  if ((d->capabilities & PARLEY_CAP_SEND) && d->send == NULL)
    return refuse(err, errlen, path, "plugin '%s' declares PARLEY_CAP_SEND but has no send",
                  d->name);
  return 0;
}

/* A configuration names a plugin by its file; logs and errors name it by its descriptor.
 * When the two differ (a copied or renamed .so), the operator is told which is which. */
static void warn_if_renamed(const struct plugin_inst *pi, const struct plugin_env *env, const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strcspn(base, ".");
  if (strlen(pi->desc->name) == n && strncmp(base, pi->desc->name, n) == 0)
    return;
  log_kv(env->log, LOG_WARN, pi->subsys, "the plugin's name differs from its file's", "plugin", pi->desc->name,
         "path", path, (char *)NULL);
}

/* --- open / close --- */

static void inst_free(struct plugin_inst *pi)
{
  plugin_held_clear(pi);
  plugin_post_free(pi);
  plugin_config_free(pi);
  free(pi->self);
  free(pi->subsys);
  free(pi->channel);
  free(pi->path);
  free(pi);
}

/* Refusal after dlopen: undo everything, including the handle. */
static int open_fail(struct plugin_inst *pi)
{
  if (pi->dl)
    dlclose(pi->dl);
  inst_free(pi);
  return -1;
}

static struct plugin_inst *inst_new(const struct plugin_env *env, const char *channel,
                                    const char *path)
{
  struct plugin_inst *pi = calloc(1, sizeof *pi);
  if (pi == NULL)
    return NULL;
  pi->env = *env;
  plugin_post_init(pi);
  pi->channel = strdup(channel);
  pi->path = strdup(path);
  size_t n = strlen("plugin:") + strlen(channel) + 1;
  pi->subsys = malloc(n);
  if (pi->channel == NULL || pi->path == NULL || pi->subsys == NULL) {
    inst_free(pi);
    return NULL;
  }
  snprintf(pi->subsys, n, "plugin:%s", channel);
  return pi;
}

/* dlopen and ask the entry point for the descriptor. RTLD_NOW so an unresolved symbol is
 * a refusal now rather than a crash at the first send; RTLD_LOCAL so two plugins' symbols
 * never interpose on each other. */
static int load_descriptor(struct plugin_inst *pi, char *err, size_t errlen)
{
  char fdpath[64];
  dlerror();
  if (pi->verified_fd >= 0) /* the bytes whose signature was checked, not a later file */
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", pi->verified_fd);
  pi->dl = dlopen(pi->verified_fd >= 0 ? fdpath : pi->path, RTLD_NOW | RTLD_LOCAL);
  if (pi->dl == NULL) {
    const char *why = dlerror();
    return refuse(err, errlen, pi->path, "not a loadable shared object: %s",
                  why ? why : "unknown dlopen error");
  }
  dlerror();
  void *sym = dlsym(pi->dl, PARLEY_PLUGIN_ENTRY_SYMBOL);
  if (sym == NULL)
    return refuse(err, errlen, pi->path, "not a Parley plugin: no symbol %s",
                  PARLEY_PLUGIN_ENTRY_SYMBOL);
  parley_plugin_entry_fn entry;
  memcpy(&entry, &sym, sizeof entry); /* ISO C forbids casting void * to a function pointer */
  pi->calls++;
  pi->desc = entry(plugin_host_table());
  pi->calls--;
  return check_descriptor(pi->desc, pi->path, err, errlen);
}

static int run_init(struct plugin_inst *pi, char *err, size_t errlen)
{
  pi->calls++;
  enum parley_status st = pi->desc->init(plugin_ctx(pi), pi->self);
  pi->calls--;
  if (st != PARLEY_OK) {
    /* init may have started timers, requests or watchers, or posted, before failing;
     * none may outlive the handle, and none is called back (parley/plugin.h). */
    plugin_post_close(pi, 0);
    plugin_timers_cancel_all(pi);
    plugin_http_cancel_all(pi);
    plugin_io_stop_all(pi);
    plugin_metrics_release(pi);
    plugin_routes_free(pi);
    if (pi->error[0])
      return refuse(err, errlen, pi->path, "init failed for channel '%s': %s", pi->channel, pi->error);
    return refuse(err, errlen, pi->path, "init failed for channel '%s' (status %d; see the "
                  "plugin's log lines above)", pi->channel, (int)st);
  }
  pi->inited = 1;
  return 0;
}

int plugin_instance_open(const struct plugin_env *env, const char *channel, const char *path,
                         const cJSON *settings, struct plugin_inst **out, char *err,
                         size_t errlen)
{
  *out = NULL;
  const char *why = unreadable(path);
  if (why)
    return refuse(err, errlen, path, "cannot read the file: %s", why);
  struct plugin_inst *pi = inst_new(env, channel, path);
  if (pi == NULL)
    return refuse(err, errlen, path, "out of memory");
  pi->verified_fd = -1;
  if (env->n_trusted_keys) { /* before dlopen runs any of its code */
    char sigerr[512];
    pi->verified_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (pi->verified_fd < 0 ||
        plugin_verify_fd(pi->verified_fd, path, env->trusted_keys, env->n_trusted_keys, sigerr, sizeof sigerr) < 0) {
      if (pi->verified_fd < 0)
        snprintf(sigerr, sizeof sigerr, "cannot open: %s", strerror(errno));
      else
        close(pi->verified_fd);
      refuse(err, errlen, path, "%s", sigerr);
      return open_fail(pi);
    }
  }
  int loaded = load_descriptor(pi, err, errlen);
  if (pi->verified_fd >= 0) {
    close(pi->verified_fd);
    pi->verified_fd = -1;
  }
  if (loaded != 0)
    return open_fail(pi);
  size_t size = pi->desc->instance_size;
  pi->self = calloc(1, size ? size : 1);
  if (pi->self == NULL) {
    refuse(err, errlen, path, "cannot allocate %zu bytes for the instance", size);
    return open_fail(pi);
  }
  char bad[768];
  if (plugin_config_apply(pi, settings, bad, sizeof bad) != 0) {
    refuse(err, errlen, path, "%s", bad);
    return open_fail(pi);
  }
  if (run_init(pi, err, errlen) != 0)
    return open_fail(pi);
  warn_if_renamed(pi, env, path);
  char abi[24];
  snprintf(abi, sizeof abi, "%u.%u", (unsigned)pi->desc->abi_major, (unsigned)pi->desc->abi_minor);
  log_kv(env->log, LOG_INFO, pi->subsys, "plugin loaded", "plugin", pi->desc->name, "version",
         pi->desc->version ? pi->desc->version : "?", "abi", abi, "path", path, (char *)NULL);
  *out = pi;
  return 0;
}

enum parley_status plugin_instance_send(struct plugin_inst *pi, struct parley_msg *msg)
{
  if (pi->desc->send == NULL) {
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "plugin cannot send", "plugin", pi->desc->name,
           (char *)NULL);
    return PARLEY_ERROR;
  }
  /* Held before the call: a plugin may call send_done from inside send. */
  if (plugin_held_add(pi, msg) < 0) {
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "out of memory handing a message over, retrying",
           "plugin", pi->desc->name, (char *)NULL);
    return PARLEY_RETRY;
  }
  pi->in_flight++;
  pi->calls++;
  enum parley_status st = pi->desc->send(plugin_ctx(pi), pi->self, msg);
  pi->calls--;
  if (st == PARLEY_PENDING)
    return st;
  if (plugin_held_take(pi, msg)) /* not completed inside send: its status is the answer */
    pi->in_flight--;
  if (st != PARLEY_OK && st != PARLEY_RETRY && st != PARLEY_ERROR) {
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "send returned an unknown status, retrying",
           "plugin", pi->desc->name, (char *)NULL);
    st = PARLEY_RETRY;
  }
  return st;
}

/* The plugin sees a message it does not hold: its handle is only good during the call.
 * What it writes is made one clean line, so a sloppy answer cannot break the history. */
enum parley_status plugin_instance_check(struct plugin_inst *pi, const struct parley_msg *msg,
                                         char *info, size_t infolen)
{
  info[0] = '\0';
  if (!PARLEY_PLUGIN_HAS(pi->desc, check) || pi->desc->check == NULL)
    return PARLEY_OK;
  pi->calls++;
  enum parley_status st = pi->desc->check(plugin_ctx(pi), pi->self, (parley_msg *)msg, info, infolen);
  pi->calls--;
  info[infolen - 1] = '\0';
  for (char *p = info; *p; p++)
    if ((unsigned char)*p < 0x20)
      *p = ' ';
  if (st != PARLEY_OK && st != PARLEY_ERROR) {
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "check returned an unknown status, refusing",
           "plugin", pi->desc->name, (char *)NULL);
    snprintf(info, infolen, "the %s plugin's check failed", pi->desc->name);
    return PARLEY_ERROR;
  }
  return st;
}

const char *plugin_instance_name(const struct plugin_inst *pi) { return pi->desc->name; }
const char *plugin_instance_channel(const struct plugin_inst *pi) { return pi->channel; }

void plugin_instance_close(struct plugin_inst *pi)
{
  if (pi == NULL)
    return;
  /* Closing from inside one of the plugin's own callbacks would free memory and unmap
   * code that is still on the stack; leaking is the only safe answer to that core bug. */
  if (pi->calls > 0) {
    log_kv(pi->env.log, LOG_ERROR, pi->subsys, "close from inside a plugin callback, leaked",
           "plugin", pi->desc->name, (char *)NULL);
    return;
  }
  /* What was posted runs first (a post that returned PARLEY_OK always runs), and posts
   * are refused from here on. Then timers, HTTP requests, fd watchers and routes: none
   * may call into a plugin being shut down, and shutdown may not register a route. */
  plugin_post_close(pi, 1);
  pi->closing = 1;
  plugin_routes_free(pi);
  plugin_timers_cancel_all(pi);
  plugin_http_cancel_all(pi);
  plugin_io_stop_all(pi);
  if (pi->inited && pi->desc->shutdown) {
    pi->calls++;
    pi->desc->shutdown(plugin_ctx(pi), pi->self);
    pi->calls--;
    plugin_timers_cancel_all(pi); /* shutdown should not start any, but be sure */
    plugin_http_cancel_all(pi);
    plugin_io_stop_all(pi);
  }
  plugin_metrics_release(pi); /* after shutdown, which may still update them */
  if (pi->in_flight == 0) {
    dlclose(pi->dl);
  } else {
    /* The plugin may still hold a completion somewhere we cannot see; unmapping its code
     * could turn that into a jump into nothing. Keep the handle. */
    char n[32];
    snprintf(n, sizeof n, "%u", pi->in_flight);
    log_kv(pi->env.log, LOG_WARN, pi->subsys,
           "closed with messages in flight; plugin stays mapped, the messages will be retried",
           "plugin", pi->desc->name, "in_flight", n, (char *)NULL);
  }
  inst_free(pi);
}

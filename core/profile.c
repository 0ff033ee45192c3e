/* The typed profile attributes and how an event changes a profile (see profile.h). */
#include "profile.h"

#include <cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices.h"
#include "text.h"

#define PROFILE_MAX_KEY 64
#define PROFILE_MAX_EMAIL 254 /* RFC 5321: a forward path holds at most 256, brackets included */
#define PROFILE_MAX_LOCAL 64
#define PROFILE_MAX_ZONE 64

static const char NAME_CHARS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
/* The characters of IANA zone names ("America/Port-au-Prince", "Etc/GMT+5"): no '.', so
 * no name can be "..", and none is absolute (checked apart). */
static const char ZONE_CHARS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-";

/* Attribute and channel names: templates and journeys address them as contact.first_name. */
static int name_ok(const char *k)
{
  size_t len = strlen(k);
  return len >= 1 && len <= PROFILE_MAX_KEY && strspn(k, NAME_CHARS) == len;
}

static int fail(char *err, size_t errlen, const char *field, const char *why)
{
  snprintf(err, errlen, "field 'profile.%s' %s", field, why);
  return -1;
}

/* A sane check, not RFC 5322: something a channel could deliver to and a person could have
 * typed. One '@', a local part, a domain with a dot inside it, nothing that would split
 * or hide an address in a header (spaces, control characters). */
static int email_ok(const char *s)
{
  size_t len = strlen(s);
  const char *at = strchr(s, '@'), *domain = at ? at + 1 : NULL;
  if (len > PROFILE_MAX_EMAIL || !at || at == s || (size_t)(at - s) > PROFILE_MAX_LOCAL ||
      strchr(domain, '@') || strchr(s, ' ') || text_has_control(s, len))
    return 0;
  size_t dlen = strlen(domain);
  return dlen >= 3 && domain[0] != '.' && domain[dlen - 1] != '.' && strchr(domain, '.') &&
         !strstr(domain, "..");
}

/* E.164: a '+', a country code (never starting with 0) and the number, 8-15 digits. */
static int phone_ok(const char *s)
{
  if (s[0] != '+')
    return 0;
  size_t digits = strspn(s + 1, "0123456789");
  return s[1] != '0' && s[1 + digits] == '\0' && digits >= 8 && digits <= 15;
}

/* A zone is a TZif file under the zoneinfo folder. The name keeps to the characters of
 * IANA names, with no empty part and no leading '/', so it never leads outside the folder;
 * the file's magic tells a zone from the folder's other files (leapseconds, SECURITY). */
static int timezone_ok(const char *name)
{
  size_t len = strlen(name);
  if (!len || len > PROFILE_MAX_ZONE || strspn(name, ZONE_CHARS) != len || name[0] == '/' ||
      name[len - 1] == '/' || strstr(name, "//"))
    return 0;
  char path[sizeof PROFILE_ZONEINFO + PROFILE_MAX_ZONE + 1], magic[4];
  snprintf(path, sizeof path, "%s/%s", PROFILE_ZONEINFO, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return 0;
  struct stat st;
  int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, sizeof magic) == sizeof magic &&
           memcmp(magic, "TZif", 4) == 0;
  close(fd);
  return ok;
}

static int check_text(const cJSON *v, const char *field, int (*ok)(const char *), const char *why,
                      char *err, size_t errlen)
{
  if (!cJSON_IsString(v))
    return fail(err, errlen, field, "must be a string");
  return ok(v->valuestring) ? 0 : fail(err, errlen, field, why);
}

static int check_email(const cJSON *v, char *err, size_t errlen)
{
  return check_text(v, "email", email_ok,
                    "is not an e-mail address (one '@', a dot in the domain, no spaces or control "
                    "characters, at most 254 bytes)",
                    err, errlen);
}

static int check_phone(const cJSON *v, char *err, size_t errlen)
{
  return check_text(v, "phone", phone_ok, "must be E.164: '+' and 8-15 digits, such as +4915112345678",
                    err, errlen);
}

static int check_timezone(const cJSON *v, char *err, size_t errlen)
{
  return check_text(v, "timezone", timezone_ok,
                    "is not an IANA time zone (such as Europe/Paris) known under " PROFILE_ZONEINFO, err,
                    errlen);
}

static int check_unsubscribed(const cJSON *v, char *err, size_t errlen)
{
  return cJSON_IsBool(v) ? 0 : fail(err, errlen, "unsubscribed", "must be true or false (null removes it)");
}

/* consent.<channel> = { <topic> = true | false | null }: the answers per topic. */
static int check_topics(const cJSON *c, char *err, size_t errlen)
{
  for (const cJSON *t = c->child; t; t = t->next) {
    if (!name_ok(t->string)) {
      snprintf(err, errlen, "field 'profile.consent.%s' has a key that is not a topic name: '%.*s'", c->string,
               text_clip(t->string, 64), t->string);
      return -1;
    }
    if (!cJSON_IsBool(t) && !cJSON_IsNull(t)) {
      snprintf(err, errlen, "field 'profile.consent.%s.%s' must be true, false or null", c->string, t->string);
      return -1;
    }
  }
  return 0;
}

static int check_consent(const cJSON *v, char *err, size_t errlen)
{
  if (!cJSON_IsObject(v))
    return fail(err, errlen, "consent",
                "must be an object of channel: true, false or {topic: true or false}, such as "
                "{\"sms\": false, \"email\": {\"newsletter\": true}}");
  for (const cJSON *c = v->child; c; c = c->next) {
    if (!name_ok(c->string)) {
      snprintf(err, errlen,
               "field 'profile.consent' has a key that is not a channel name (1-64 bytes: letters, "
               "digits, '_', '-'): '%.*s'",
               text_clip(c->string, 64), c->string);
      return -1;
    }
    if (cJSON_IsObject(c) && check_topics(c, err, errlen) < 0)
      return -1;
    if (!cJSON_IsBool(c) && !cJSON_IsNull(c) && !cJSON_IsObject(c)) {
      snprintf(err, errlen, "field 'profile.consent.%s' must be true, false or null, or an object of "
                            "topic: true or false", c->string);
      return -1;
    }
  }
  return 0;
}

/* suppressed.<channel> = {"address": ..., "reason": ..., "at": ...}: set by the core when
 * a send fails for good (cfg.h: suppress_on) or by whoever knows better (a plugin's bounce
 * event, an operator); null lifts it. The address is what the gate compares, so a contact
 * who gives a new address can be spoken to again. */
static int check_suppression(const cJSON *c, char *err, size_t errlen)
{
  const char *why = NULL;
  const cJSON *addr = cJSON_GetObjectItemCaseSensitive(c, "address");
  if (!cJSON_IsObject(c))
    why = "must be an object such as {\"address\": \"ann@example.com\", \"reason\": \"invalid_address\"}, or null";
  else if (!cJSON_IsString(addr) || !addr->valuestring[0])
    why = "needs 'address', the suppressed address (a string)";
  for (const cJSON *f = why ? NULL : c->child; f && !why; f = f->next)
    if (strcmp(f->string, "address") != 0 && strcmp(f->string, "reason") != 0 && strcmp(f->string, "at") != 0)
      why = "may hold only 'address', 'reason' and 'at'";
    else if (!cJSON_IsString(f))
      why = "holds strings only ('address', 'reason', 'at')";
  if (why)
    snprintf(err, errlen, "field 'profile.suppressed.%s' %s", c->string, why);
  return why ? -1 : 0;
}

static int check_suppressed(const cJSON *v, char *err, size_t errlen)
{
  if (!cJSON_IsObject(v))
    return fail(err, errlen, "suppressed", "must be an object of channel: suppression, such as "
                                           "{\"email\": {\"address\": \"ann@example.com\"}}");
  for (const cJSON *c = v->child; c; c = c->next) {
    if (!name_ok(c->string)) {
      snprintf(err, errlen, "field 'profile.suppressed' has a key that is not a channel name: '%.*s'",
               text_clip(c->string, 64), c->string);
      return -1;
    }
    if (!cJSON_IsNull(c) && check_suppression(c, err, errlen) < 0)
      return -1;
  }
  return 0;
}

static const struct typed {
  const char *name;
  int (*check)(const cJSON *v, char *err, size_t errlen);
} TYPED[] = {
    {"consent", check_consent},   {"email", check_email},
    {"phone", check_phone},       {"timezone", check_timezone},
    {"unsubscribed", check_unsubscribed}, {"suppressed", check_suppressed},
    {"devices", devices_check},
};

int profile_check(const cJSON *changes, char *err, size_t errlen)
{
  for (const cJSON *it = changes->child; it; it = it->next) {
    if (!name_ok(it->string)) {
      snprintf(err, errlen,
               "field 'profile' has a key that is not an attribute name (1-64 bytes: letters, digits, "
               "'_', '-'): '%.*s'",
               text_clip(it->string, 64), it->string);
      return -1;
    }
    if (cJSON_IsNull(it))
      continue;
    for (size_t i = 0; i < sizeof TYPED / sizeof TYPED[0]; i++)
      if (strcmp(it->string, TYPED[i].name) == 0 && TYPED[i].check(it, err, errlen) < 0)
        return -1;
  }
  return 0;
}

static void set_item(cJSON *obj, const char *key, cJSON *v)
{
  if (cJSON_GetObjectItemCaseSensitive(obj, key))
    cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
  else
    cJSON_AddItemToObject(obj, key, v);
}

/* consent.<channel> as topics: an answer for one topic never drops another's. */
static void merge_topics(cJSON *topics, const cJSON *changes)
{
  for (const cJSON *t = changes->child; t; t = t->next) {
    if (cJSON_IsNull(t))
      cJSON_DeleteItemFromObjectCaseSensitive(topics, t->string);
    else
      set_item(topics, t->string, cJSON_Duplicate(t, 1));
  }
}

/* consent and suppressed are maps of channel -> answer: a change for one channel never
 * drops another's. devices is a map of token -> device, merged the same way. */
static void merge_by_channel(cJSON *profile, const cJSON *changes)
{
  const char *key = changes->string;
  cJSON *map = cJSON_GetObjectItemCaseSensitive(profile, key);
  if (!cJSON_IsObject(map)) { /* none yet (or kept from before the attribute was typed) */
    if (!(map = cJSON_CreateObject()))
      return;
    set_item(profile, key, map);
  }
  for (const cJSON *c = changes->child; c; c = c->next) {
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(map, c->string);
    if (cJSON_IsNull(c))
      cJSON_DeleteItemFromObjectCaseSensitive(map, c->string);
    else if (cJSON_IsObject(c) && cJSON_IsObject(cur) && strcmp(key, "consent") == 0)
      merge_topics(cur, c);
    else
      set_item(map, c->string, cJSON_Duplicate(c, 1));
    if (cJSON_IsObject(cur = cJSON_GetObjectItemCaseSensitive(map, c->string)) && !cur->child)
      cJSON_DeleteItemFromObjectCaseSensitive(map, c->string);
  }
  if (!map->child)
    cJSON_DeleteItemFromObjectCaseSensitive(profile, key);
}

void profile_merge(cJSON *profile, const cJSON *changes)
{
  for (const cJSON *it = changes ? changes->child : NULL; it; it = it->next) {
    if (cJSON_IsNull(it))
      cJSON_DeleteItemFromObjectCaseSensitive(profile, it->string);
    else if (strcmp(it->string, "consent") == 0 || strcmp(it->string, "suppressed") == 0)
      merge_by_channel(profile, it);
    else if (strcmp(it->string, "devices") == 0) { /* token by token, as suppressed (devices.h) */
      merge_by_channel(profile, it);
      devices_trim(cJSON_GetObjectItemCaseSensitive(profile, "devices"));
    }
    else
      set_item(profile, it->string, cJSON_Duplicate(it, 1));
  }
}

/* RFC 7396, section 2, with the target's missing or non-object values read as {} (the
 * profile itself is always an object). An object set is a copy of the patch's with its own
 * nulls applied, so no null member reaches the profile at any depth. */
int profile_merge_patch(cJSON *profile, const cJSON *patch)
{
  for (const cJSON *p = patch->child; p; p = p->next) {
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(profile, p->string);
    if (cJSON_IsNull(p)) {
      cJSON_DeleteItemFromObjectCaseSensitive(profile, p->string);
      continue;
    }
    if (cJSON_IsObject(p) && cJSON_IsObject(cur)) {
      if (profile_merge_patch(cur, p) < 0)
        return -1;
      continue;
    }
    cJSON *v = cJSON_IsObject(p) ? cJSON_CreateObject() : cJSON_Duplicate(p, 1);
    if (!v || (cJSON_IsObject(p) && profile_merge_patch(v, p) < 0)) {
      cJSON_Delete(v);
      return -1;
    }
    set_item(profile, p->string, v);
  }
  return 0;
}

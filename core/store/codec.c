/* MessagePack records. Each is an array: [format, fields...]; optional strings are nil.
 * Profiles are kept as JSON text: they come in as JSON and go out as JSON. */
#include "codec.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpcheck.h"

#define CODEC_FORMAT 1

static void pack_str(msgpack_packer *pk, const char *s)
{
  if (!s) {
    msgpack_pack_nil(pk);
    return;
  }
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void pack_json(msgpack_packer *pk, const cJSON *j)
{
  char *text = j ? cJSON_PrintUnformatted(j) : NULL;
  pack_str(pk, text);
  free(text);
}

static void pack_ids(msgpack_packer *pk, const uint64_t *ids, size_t n)
{
  msgpack_pack_array(pk, n);
  for (size_t i = 0; i < n; i++)
    msgpack_pack_uint64(pk, ids[i]);
}

static void pack_history(msgpack_packer *pk, const struct history *h)
{
  msgpack_pack_array(pk, h->n * 2);
  for (size_t i = 0; i < h->n; i++) {
    const struct hist_entry *e = history_at(h, i);
    msgpack_pack_int64(pk, e->at_ms);
    pack_str(pk, e->what);
  }
}

int store_encode_contact(const struct contact *c, msgpack_sbuffer *out)
{
  msgpack_sbuffer_clear(out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 10);
  msgpack_pack_int(&pk, CODEC_FORMAT);
  pack_str(&pk, c->id);
  pack_json(&pk, c->profile);
  msgpack_pack_int64(&pk, c->created_ms);
  pack_ids(&pk, c->convs, c->n_convs);
  pack_ids(&pk, c->active, c->n_active);
  msgpack_pack_array(&pk, c->n_starts * 2);
  for (size_t i = 0; i < c->n_starts; i++) {
    pack_str(&pk, c->starts[i].journey);
    msgpack_pack_int64(&pk, c->starts[i].at_ms);
  }
  pack_history(&pk, &c->history);
  msgpack_pack_array(&pk, c->n_touches * 2); /* the 9th field; earlier records have 8 */
  for (size_t i = 0; i < c->n_touches; i++) {
    msgpack_pack_int64(&pk, c->touches[i].at_ms);
    pack_str(&pk, c->touches[i].channel);
  }
  msgpack_pack_array(&pk, c->n_touches * 4); /* the 10th: what attribution reads of each */
  for (size_t i = 0; i < c->n_touches; i++) {
    const struct touch *t = &c->touches[i];
    pack_str(&pk, t->journey);
    pack_str(&pk, t->template_name);
    pack_str(&pk, t->msg_id[0] ? t->msg_id : NULL);
    msgpack_pack_int(&pk, t->capped);
  }
  return out->data ? 0 : -1;
}

int store_encode_conv(const struct conv *cv, msgpack_sbuffer *out)
{
  msgpack_sbuffer_clear(out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 15);
  msgpack_pack_int(&pk, CODEC_FORMAT);
  pack_str(&pk, cv->contact);
  pack_str(&pk, cv->journey);
  msgpack_pack_uint32(&pk, cv->journey_version);
  pack_str(&pk, cv->step);
  msgpack_pack_bin(&pk, cv->memory_len);
  msgpack_pack_bin_body(&pk, cv->memory ? cv->memory : "", cv->memory_len);
  msgpack_pack_array(&pk, cv->n_listen);
  for (size_t i = 0; i < cv->n_listen; i++)
    pack_str(&pk, cv->listening_for[i]);
  msgpack_pack_int64(&pk, cv->deadline_ms);
  msgpack_pack_int(&pk, (int)cv->status);
  pack_str(&pk, cv->outcome);
  pack_str(&pk, cv->error);
  msgpack_pack_int64(&pk, cv->started_ms);
  msgpack_pack_int64(&pk, cv->updated_ms);
  pack_history(&pk, &cv->history);
  msgpack_pack_array(&pk, cv->n_arms * 3); /* the 15th field; earlier records have 14 */
  for (size_t i = 0; i < cv->n_arms; i++) {
    pack_str(&pk, cv->arms[i].experiment);
    pack_str(&pk, cv->arms[i].arm);
    msgpack_pack_int(&pk, cv->arms[i].holdout);
  }
  return out->data ? 0 : -1;
}

int store_encode_msg(const struct parley_msg *m, msgpack_sbuffer *out)
{
  msgpack_sbuffer_clear(out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 18);
  msgpack_pack_int(&pk, CODEC_FORMAT);
  pack_str(&pk, m->id);
  pack_str(&pk, m->channel);
  pack_str(&pk, m->contact);
  pack_str(&pk, m->address);
  pack_str(&pk, m->journey);
  pack_str(&pk, m->template_name);
  pack_str(&pk, m->subject);
  pack_str(&pk, m->text);
  pack_str(&pk, m->html);
  pack_str(&pk, m->profile_json);
  msgpack_pack_uint64(&pk, m->conv_id);
  msgpack_pack_unsigned_int(&pk, m->attempt);
  msgpack_pack_int(&pk, (int)m->state);
  msgpack_pack_int64(&pk, m->due_ms);
  pack_str(&pk, m->last_error);
  msgpack_pack_int64(&pk, m->created_ms); /* the 17th field; earlier records have 16 */
  pack_str(&pk, m->options_json);         /* the 18th; earlier records have none */
  return out->data ? 0 : -1;
}

/* ---- decoding: a cursor over the record's top-level array ---- */

struct rd {
  const msgpack_object *items;
  uint32_t n, at;
  int bad;
  const char *what; /* the first field that did not read */
};

static const msgpack_object *next(struct rd *r, const char *what)
{
  if (r->bad || r->at >= r->n) {
    if (!r->bad)
      r->what = what;
    r->bad = 1;
    return NULL;
  }
  return &r->items[r->at++];
}

static int64_t rd_int(struct rd *r, const char *what)
{
  const msgpack_object *o = next(r, what);
  if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    return (int64_t)o->via.u64;
  if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    return o->via.i64;
  if (o) {
    r->bad = 1;
    r->what = what;
  }
  return 0;
}

/* A copy of an optional string field (NULL for nil). */
static char *rd_str(struct rd *r, const char *what)
{
  const msgpack_object *o = next(r, what);
  if (!o || o->type == MSGPACK_OBJECT_NIL)
    return NULL;
  if (o->type != MSGPACK_OBJECT_STR) {
    r->bad = 1;
    r->what = what;
    return NULL;
  }
  /* msgpack-c gives an empty string a NULL pointer */
  return o->via.str.size ? strndup(o->via.str.ptr, o->via.str.size) : strdup("");
}

static const msgpack_object *rd_array(struct rd *r, const char *what)
{
  const msgpack_object *o = next(r, what);
  if (o && o->type != MSGPACK_OBJECT_ARRAY) {
    r->bad = 1;
    r->what = what;
    return NULL;
  }
  return o;
}

static cJSON *rd_json(struct rd *r, const char *what)
{
  char *text = rd_str(r, what);
  cJSON *j = text ? cJSON_Parse(text) : NULL;
  if (text && !j) {
    r->bad = 1;
    r->what = what;
  }
  free(text);
  return j;
}

static void rd_history(struct rd *r, struct history *h)
{
  const msgpack_object *a = rd_array(r, "history");
  if (!a)
    return;
  struct rd sub = {a->via.array.ptr, a->via.array.size, 0, 0, NULL};
  size_t n = a->via.array.size / 2;
  for (size_t i = 0; i < n && !sub.bad; i++) {
    int64_t at = rd_int(&sub, "history time");
    char *what = rd_str(&sub, "history entry");
    if (what)
      history_add(h, n, at, "%s", what);
    free(what);
  }
  if (sub.bad) {
    r->bad = 1;
    r->what = sub.what;
  }
}

static void rd_ids(struct rd *r, const char *what, uint64_t **ids, size_t *n, size_t *cap)
{
  const msgpack_object *a = rd_array(r, what);
  if (!a)
    return;
  struct rd sub = {a->via.array.ptr, a->via.array.size, 0, 0, NULL};
  for (uint32_t i = 0; i < a->via.array.size && !sub.bad; i++) {
    uint64_t id = (uint64_t)rd_int(&sub, what);
    if (!sub.bad && ids_push(ids, n, cap, id) < 0)
      sub.bad = 1;
  }
  if (sub.bad) {
    r->bad = 1;
    r->what = what;
  }
}

static void rd_starts(struct rd *r, struct contact *c)
{
  const msgpack_object *a = rd_array(r, "starts");
  if (!a)
    return;
  struct rd sub = {a->via.array.ptr, a->via.array.size, 0, 0, NULL};
  size_t n = a->via.array.size / 2;
  c->starts = calloc(n ? n : 1, sizeof *c->starts);
  for (size_t i = 0; i < n && !sub.bad; i++) {
    char *journey = rd_str(&sub, "starts");
    int64_t at = rd_int(&sub, "starts");
    if (!journey) {
      sub.bad = 1;
      break;
    }
    c->starts[c->n_starts++] = (struct journey_start){journey, at};
  }
  if (sub.bad || a->via.array.size % 2) {
    r->bad = 1;
    r->what = "starts";
  }
}

/* Opens an array field of records of `stride` values each: its cursor in *sub and how
 * many records it holds; 0 when absent or malformed (then `r` is marked bad). */
static size_t rd_records(struct rd *r, const char *what, uint32_t stride, struct rd *sub)
{
  const msgpack_object *a = rd_array(r, what);
  *sub = (struct rd){NULL, 0, 0, 0, NULL};
  if (!a)
    return 0;
  if (a->via.array.size % stride) {
    r->bad = 1;
    r->what = what;
    return 0;
  }
  *sub = (struct rd){a->via.array.ptr, a->via.array.size, 0, 0, NULL};
  return a->via.array.size / stride;
}

/* A record that did not read (or no room for it) marks the field bad. */
static void rd_records_end(struct rd *r, const char *what, int bad)
{
  if (bad) {
    r->bad = 1;
    r->what = what;
  }
}

static void rd_touches(struct rd *r, struct contact *c)
{
  struct rd sub;
  size_t n = rd_records(r, "touches", 2, &sub);
  c->touches = calloc(n ? n : 1, sizeof *c->touches);
  for (size_t i = 0; i < n && !sub.bad && c->touches; i++) {
    int64_t at = rd_int(&sub, "touches");
    char *channel = rd_str(&sub, "touches");
    if (!channel)
      sub.bad = 1;
    else
      c->touches[c->n_touches++] = (struct touch){.at_ms = at, .channel = channel, .capped = 1};
  }
  rd_records_end(r, "touches", sub.bad || !c->touches);
}

/* The 10th field: each touch's journey, template, message id and whether it is capped (a
 * record of 9 fields kept only capped touches, and nothing more of them). */
static void rd_touch_details(struct rd *r, struct contact *c)
{
  struct rd sub;
  size_t n = rd_records(r, "touch details", 4, &sub);
  for (size_t i = 0; i < c->n_touches && i < n && !sub.bad; i++) {
    struct touch *t = &c->touches[i];
    t->journey = rd_str(&sub, "touch details");
    t->template_name = rd_str(&sub, "touch details");
    char *id = rd_str(&sub, "touch details");
    if (id && strlen(id) < sizeof t->msg_id)
      strcpy(t->msg_id, id);
    free(id);
    t->capped = rd_int(&sub, "touch details") != 0;
  }
  rd_records_end(r, "touch details", sub.bad || (!r->bad && n != c->n_touches));
}

/* Unpacks `buf` and checks the record's shape: an array of `fields` led by our format.
 * A record has `fields` fields, or as few as `min_fields` when it was written before the
 * last ones were added (r->n says how many it has). */
static int open_record_n(msgpack_unpacked *up, const char *buf, size_t len, uint32_t min_fields,
                         uint32_t fields, struct rd *r, char *err, size_t errlen)
{
  size_t off = 0;
  msgpack_unpacked_init(up);
  if (!mpcheck_plausible(buf, len) || msgpack_unpack_next(up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
      up->data.type != MSGPACK_OBJECT_ARRAY || up->data.via.array.size < min_fields ||
      up->data.via.array.size > fields) {
    snprintf(err, errlen, "not a record of %u fields", fields);
    return -1;
  }
  *r = (struct rd){up->data.via.array.ptr, up->data.via.array.size, 0, 0, NULL};
  int64_t format = rd_int(r, "format");
  if (r->bad || format != CODEC_FORMAT) {
    snprintf(err, errlen, "record format %lld, this Parley reads %d", (long long)format, CODEC_FORMAT);
    return -1;
  }
  return 0;
}

static int close_record(msgpack_unpacked *up, struct rd *r, char *err, size_t errlen)
{
  msgpack_unpacked_destroy(up);
  if (r->bad)
    snprintf(err, errlen, "field '%s' is malformed", r->what ? r->what : "?");
  return r->bad ? -1 : 0;
}

struct contact *store_decode_contact(const char *buf, size_t len, char *err, size_t errlen)
{
  msgpack_unpacked up;
  struct rd r;
  if (open_record_n(&up, buf, len, 8, 10, &r, err, errlen) < 0) {
    msgpack_unpacked_destroy(&up);
    return NULL;
  }
  struct contact *c = calloc(1, sizeof *c);
  c->id = rd_str(&r, "id");
  c->profile = rd_json(&r, "profile");
  c->created_ms = rd_int(&r, "created");
  rd_ids(&r, "conversations", &c->convs, &c->n_convs, &c->cap_convs);
  rd_ids(&r, "active", &c->active, &c->n_active, &c->cap_active);
  rd_starts(&r, c);
  rd_history(&r, &c->history);
  if (r.n > 8)
    rd_touches(&r, c);
  if (r.n > 9)
    rd_touch_details(&r, c);
  if (!c->id || !c->profile)
    r.bad = 1;
  if (close_record(&up, &r, err, errlen) < 0) {
    contact_record_free(c);
    return NULL;
  }
  return c;
}

static void rd_memory(struct rd *r, struct conv *cv)
{
  const msgpack_object *o = next(r, "memory");
  if (!o)
    return;
  if (o->type != MSGPACK_OBJECT_BIN) {
    r->bad = 1;
    r->what = "memory";
    return;
  }
  cv->memory_len = o->via.bin.size;
  cv->memory = cv->memory_len ? malloc(cv->memory_len) : NULL;
  if (cv->memory_len)
    memcpy(cv->memory, o->via.bin.ptr, cv->memory_len);
}

static void rd_listen(struct rd *r, struct conv *cv)
{
  const msgpack_object *a = rd_array(r, "listening_for");
  if (!a)
    return;
  struct rd sub = {a->via.array.ptr, a->via.array.size, 0, 0, NULL};
  cv->listening_for = calloc(a->via.array.size ? a->via.array.size : 1, sizeof *cv->listening_for);
  for (uint32_t i = 0; i < a->via.array.size; i++) {
    char *s = rd_str(&sub, "listening_for");
    if (s)
      cv->listening_for[cv->n_listen++] = s;
  }
  r->bad |= sub.bad;
}

/* The 15th field: the experiment arms, three values each. */
static void rd_arms(struct rd *r, struct conv *cv)
{
  struct rd sub;
  size_t n = rd_records(r, "arms", 3, &sub);
  cv->arms = calloc(n ? n : 1, sizeof *cv->arms);
  for (size_t i = 0; i < n && !sub.bad && cv->arms; i++) {
    struct conv_arm *arm = &cv->arms[cv->n_arms++];
    arm->experiment = rd_str(&sub, "arms");
    arm->arm = rd_str(&sub, "arms");
    arm->holdout = rd_int(&sub, "arms") != 0;
    sub.bad |= !arm->experiment || !arm->arm;
  }
  rd_records_end(r, "arms", sub.bad || !cv->arms);
}

struct conv *store_decode_conv(uint64_t id, const char *buf, size_t len, char *err, size_t errlen)
{
  msgpack_unpacked up;
  struct rd r;
  if (open_record_n(&up, buf, len, 14, 15, &r, err, errlen) < 0) {
    msgpack_unpacked_destroy(&up);
    return NULL;
  }
  struct conv *cv = calloc(1, sizeof *cv);
  cv->id = id;
  cv->contact = rd_str(&r, "contact");
  cv->journey = rd_str(&r, "journey");
  cv->journey_version = (uint32_t)rd_int(&r, "journey_version");
  cv->step = rd_str(&r, "step");
  rd_memory(&r, cv);
  rd_listen(&r, cv);
  cv->deadline_ms = rd_int(&r, "deadline");
  int64_t st = rd_int(&r, "status");
  cv->status = (enum conv_status)st;
  cv->outcome = rd_str(&r, "outcome");
  cv->error = rd_str(&r, "error");
  cv->started_ms = rd_int(&r, "started");
  cv->updated_ms = rd_int(&r, "updated");
  rd_history(&r, &cv->history);
  if (r.n > 14)
    rd_arms(&r, cv);
  if (!cv->contact || !cv->journey || st < CONV_LISTENING || st > CONV_FAILED)
    r.bad = 1;
  if (close_record(&up, &r, err, errlen) < 0) {
    conv_record_free(cv);
    return NULL;
  }
  return cv;
}

struct parley_msg *store_decode_msg(const char *buf, size_t len, char *err, size_t errlen)
{
  msgpack_unpacked up;
  struct rd r;
  if (open_record_n(&up, buf, len, 16, 18, &r, err, errlen) < 0) {
    msgpack_unpacked_destroy(&up);
    return NULL;
  }
  struct parley_msg *m = calloc(1, sizeof *m);
  char *id = rd_str(&r, "id");
  if (id && strlen(id) < sizeof m->id)
    strcpy(m->id, id);
  else
    r.bad = 1;
  free(id);
  m->channel = rd_str(&r, "channel");
  m->contact = rd_str(&r, "contact");
  m->address = rd_str(&r, "address");
  m->journey = rd_str(&r, "journey");
  m->template_name = rd_str(&r, "template");
  m->subject = rd_str(&r, "subject");
  m->text = rd_str(&r, "text");
  m->html = rd_str(&r, "html");
  m->profile_json = rd_str(&r, "profile");
  m->conv_id = (uint64_t)rd_int(&r, "conversation");
  m->attempt = (unsigned)rd_int(&r, "attempt");
  m->state = (enum msg_state)rd_int(&r, "state");
  m->due_ms = rd_int(&r, "due");
  m->last_error = rd_str(&r, "last_error");
  m->created_ms = r.n > 16 ? rd_int(&r, "created") : m->due_ms; /* a 16-field record: its first due time */
  m->options_json = r.n > 17 ? rd_str(&r, "options") : NULL;
  if (!m->channel || !m->contact)
    r.bad = 1;
  if (close_record(&up, &r, err, errlen) < 0) {
    msg_record_free(m);
    return NULL;
  }
  return m;
}

int store_msg_is_for(const char *buf, size_t len, const char *contact)
{
  msgpack_unpacked up;
  struct rd r;
  char err[80];
  int rc = -1;
  if (open_record_n(&up, buf, len, 16, 18, &r, err, sizeof err) == 0) {
    next(&r, "id");
    next(&r, "channel");
    const msgpack_object *o = next(&r, "contact");
    size_t n = strlen(contact);
    if (o && o->type == MSGPACK_OBJECT_STR)
      rc = o->via.str.size == n && (n == 0 || memcmp(o->via.str.ptr, contact, n) == 0);
  }
  msgpack_unpacked_destroy(&up);
  return rc;
}

/* The embedded default store: one LMDB environment with named databases
 *   contacts   contact id            -> contact record
 *   convs      conv id (u64 BE)      -> conversation record
 *   timers     due ms + conv id (BE) -> ""      (listening conversations with a deadline)
 *   events     event id              -> seq      (the dedupe window)
 *   event_log  seq (u64 BE)          -> event id (oldest first, for eviction)
 *   outbox     message id            -> message record
 *   journeys   name \0 version (BE)  -> source   (every version still in use)
 *   meta       name                  -> value    (id sequences, counters, active counts,
 *                                                 where the retention walks stand)
 *   index      opaque key            -> ""       (the core's contact index: addr.h)
 *   stats      text key              -> i64 BE   (journey stats: stats.h)
 * One write transaction is open per batch (group commit): records read in it are decoded
 * once into a cache, written through on *_put, and the cache is dropped at commit. */
#include <cJSON.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smap.h"
#include "store.h"
#include "codec.h"

enum { DB_CONTACTS, DB_CONVS, DB_TIMERS, DB_EVENTS, DB_EVENT_LOG, DB_OUTBOX, DB_JOURNEYS, DB_META,
       DB_INDEX, DB_NOTES, DB_STATS, DB_COUNT };
static const char *const db_names[DB_COUNT] = {"contacts",  "convs",  "timers",   "events", "event_log",
                                               "outbox",    "journeys", "meta",   "index",  "notes",
                                               "stats"};

/* A cached conversation and the deadline its timers entry has in this transaction, so a
 * put knows which index key to replace without reading it back. */
struct cached_conv {
  struct conv *cv;
  int64_t indexed_due; /* 0: no timers entry */
  int noted;           /* notes of it were read from DB_NOTES: a put deletes them */
};

struct store_lmdb {
  struct store base;
  MDB_env *env;
  MDB_dbi dbi[DB_COUNT];
  MDB_txn *txn;
  int read_only;
  int no_index;    /* read-only, on a store written before the index existed */
  int no_notes;    /* read-only, on a store written before notes existed */
  uint32_t note_seq; /* tells apart notes of one conversation in one millisecond */
  int no_stats;    /* read-only, on a store written before journey stats existed */
  int failed;      /* a write in this batch failed: commit must refuse */
  char why[256];
  int dirty;
  struct smap contacts;   /* id -> struct contact* */
  struct smap convs;      /* decimal id -> struct cached_conv* */
  uint64_t next_conv;     /* meta "next_conv" */
  uint64_t next_seq, oldest_seq;
  uint64_t walk_conv;        /* meta "walk_conv": the last conversation walked (0: none) */
  char walk_contact[512];    /* meta "walk_contact": the last contact walked (LMDB keys are */
  size_t walk_contact_len;   /*   at most 511 bytes); 0: none */
  size_t window;
  msgpack_sbuffer buf;
  int deferred_sync;      /* commits are not flushed; lm_sync does it (another thread) */
  uint64_t committed;     /* the LMDB transaction id of the last commit that wrote */
  MDB_txn *durable;       /* lm_sync's: a reader on the last flushed snapshot (see lm_sync) */
};

#define LM(s) ((struct store_lmdb *)(s))

static void put_be64(unsigned char *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* Records a failed operation; the batch will not commit. Returns -1. */
static int fail(struct store_lmdb *l, const char *what, int rc)
{
  if (!l->failed)
    snprintf(l->why, sizeof l->why, "%s: %s", what, mdb_strerror(rc));
  l->failed = 1;
  return -1;
}

static int begin(struct store_lmdb *l)
{
  if (l->txn)
    return 0;
  int rc = mdb_txn_begin(l->env, NULL, l->read_only ? MDB_RDONLY : 0, &l->txn);
  if (rc) {
    l->txn = NULL;
    return fail(l, "begin transaction", rc);
  }
  return 0;
}

static int db_put(struct store_lmdb *l, int db, const void *k, size_t klen, const void *v, size_t vlen)
{
  if (l->read_only)
    return fail(l, "write", EACCES);
  if (begin(l) < 0)
    return -1;
  MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
  int rc = mdb_put(l->txn, l->dbi[db], &key, &val, 0);
  if (rc)
    return fail(l, db_names[db], rc);
  l->dirty = 1;
  return 0;
}

static int db_del(struct store_lmdb *l, int db, const void *k, size_t klen)
{
  if (begin(l) < 0)
    return -1;
  MDB_val key = {klen, (void *)k};
  int rc = mdb_del(l->txn, l->dbi[db], &key, NULL);
  if (rc && rc != MDB_NOTFOUND)
    return fail(l, db_names[db], rc);
  l->dirty = 1;
  return 0;
}

/* 1 and the value (valid until the transaction ends), 0 when absent, -1 on error. */
static int db_get(struct store_lmdb *l, int db, const void *k, size_t klen, MDB_val *val)
{
  if (begin(l) < 0)
    return -1;
  MDB_val key = {klen, (void *)k};
  int rc = mdb_get(l->txn, l->dbi[db], &key, val);
  if (rc == MDB_NOTFOUND)
    return 0;
  return rc ? fail(l, db_names[db], rc) : 1;
}

static int meta_put_u64(struct store_lmdb *l, const char *name, uint64_t v)
{
  unsigned char b[8];
  put_be64(b, v);
  return db_put(l, DB_META, name, strlen(name), b, 8);
}

static uint64_t meta_get_u64(struct store_lmdb *l, const char *name, uint64_t dflt)
{
  MDB_val v;
  return db_get(l, DB_META, name, strlen(name), &v) == 1 && v.mv_size == 8 ? get_be64(v.mv_data) : dflt;
}

static void free_cached_conv(void *p)
{
  struct cached_conv *cc = p;
  conv_record_free(cc->cv);
  free(cc);
}

static void free_contact(void *p)
{
  contact_record_free(p);
}

/* ---- contacts ---- */

/* The cached record of contact id[0..len), read and decoded on first use: 1, 0 when
 * absent, -1 when malformed (not latched here: a walk skips it, a get fails the batch). */
static int contact_load(struct store_lmdb *l, const char *id, struct contact **out)
{
  MDB_val v;
  char err[160];
  if ((*out = smap_get(&l->contacts, id)))
    return 1;
  int rc = db_get(l, DB_CONTACTS, id, strlen(id), &v);
  if (rc != 1)
    return rc;
  if (!(*out = store_decode_contact(v.mv_data, v.mv_size, err, sizeof err)))
    return -1;
  smap_put(&l->contacts, id, *out);
  return 1;
}

static struct contact *lm_contact_get(struct store *s, const char *id)
{
  struct store_lmdb *l = LM(s);
  struct contact *c;
  if (contact_load(l, id, &c) < 0 && !l->failed) {
    char what[200];
    snprintf(what, sizeof what, "contact %.40s", id);
    fail(l, what, MDB_CORRUPTED);
  }
  return c;
}

static struct contact *lm_contact_create(struct store *s, const char *id, int64_t now_ms)
{
  struct contact *c = calloc(1, sizeof *c);
  c->id = strdup(id);
  c->profile = cJSON_CreateObject();
  c->created_ms = now_ms;
  smap_put(&LM(s)->contacts, id, c);
  return c;
}

static int lm_contact_put(struct store *s, struct contact *c)
{
  struct store_lmdb *l = LM(s);
  if (store_encode_contact(c, &l->buf) < 0)
    return fail(l, "encode contact", ENOMEM);
  return db_put(l, DB_CONTACTS, c->id, strlen(c->id), l->buf.data, l->buf.size);
}

/* ---- the dedupe window ---- */

static int lm_event_seen(struct store *s, const char *event_id)
{
  struct store_lmdb *l = LM(s);
  MDB_val v;
  size_t n = strlen(event_id);
  int rc = db_get(l, DB_EVENTS, event_id, n, &v);
  if (rc != 0)
    return rc == 1;
  unsigned char seq[8];
  put_be64(seq, l->next_seq++);
  db_put(l, DB_EVENTS, event_id, n, seq, 8);
  db_put(l, DB_EVENT_LOG, seq, 8, event_id, n);
  while (l->next_seq - l->oldest_seq > l->window) { /* forget the oldest id */
    put_be64(seq, l->oldest_seq++);
    if (db_get(l, DB_EVENT_LOG, seq, 8, &v) == 1) {
      char old[256];
      size_t on = v.mv_size < sizeof old ? v.mv_size : sizeof old - 1;
      memcpy(old, v.mv_data, on);
      db_del(l, DB_EVENTS, old, on);
      db_del(l, DB_EVENT_LOG, seq, 8);
    }
  }
  return 0;
}

/* ---- conversations and their deadline index ---- */

static int64_t index_due(const struct conv *cv)
{
  return cv->status == CONV_LISTENING && cv->deadline_ms > 0 ? cv->deadline_ms : 0;
}

static void timer_key(unsigned char k[16], int64_t due, uint64_t id)
{
  put_be64(k, (uint64_t)due);
  put_be64(k + 8, id);
}

static void conv_key(char key[24], uint64_t id)
{
  snprintf(key, 24, "%llu", (unsigned long long)id);
}

static struct cached_conv *cache_conv(struct store_lmdb *l, struct conv *cv, int64_t indexed)
{
  char key[24];
  struct cached_conv *cc = malloc(sizeof *cc);
  cc->cv = cv;
  cc->indexed_due = indexed;
  cc->noted = 0;
  conv_key(key, cv->id);
  smap_put(&l->convs, key, cc);
  return cc;
}

/* ---- notes: history lines of a conversation written apart from it (store.h conv_note) ----
 * Key: conversation id, time, sequence (big-endian, so one conversation's notes are
 * adjacent and in order); value: the line. */
#define NOTE_KEY 20

/* Calls fn on each note of conversation `id` (its key and value), in order; a cursor
 * deletes when `del`. 0, or an LMDB error. */
static int notes_each(struct store_lmdb *l, uint64_t id, int del, void (*fn)(void *, MDB_val *, MDB_val *),
                      void *ud)
{
  MDB_cursor *cur;
  unsigned char prefix[8];
  put_be64(prefix, id);
  MDB_val k = {8, prefix}, v;
  if (begin(l) < 0)
    return MDB_BAD_TXN;
  int rc = mdb_cursor_open(l->txn, l->dbi[DB_NOTES], &cur);
  if (rc)
    return rc;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != NOTE_KEY || memcmp(k.mv_data, prefix, 8) != 0)
      break;
    if (fn)
      fn(ud, &k, &v);
    if (del && (rc = mdb_cursor_del(cur, 0)))
      break;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

struct note_merge {
  struct history *h;
  int n;
};

static void merge_note(void *ud, MDB_val *k, MDB_val *v)
{
  struct note_merge *m = ud;
  /* no bound here: the core's next history_add, or the retention sweep, applies it */
  history_add(m->h, m->h->n + 1, (int64_t)get_be64((unsigned char *)k->mv_data + 8), "%.*s", (int)v->mv_size,
              (const char *)v->mv_data);
  m->n++;
}

/* Appends the notes of cc's conversation to its history: 0 or an LMDB error. */
static int notes_merge(struct store_lmdb *l, struct cached_conv *cc)
{
  struct note_merge m = {&cc->cv->history, 0};
  if (l->no_notes)
    return 0;
  int rc = notes_each(l, cc->cv->id, 0, merge_note, &m);
  cc->noted = m.n > 0;
  return rc;
}

/* The conversation's notes are in its record now (or it is gone): they go. */
static int notes_drop(struct store_lmdb *l, uint64_t id)
{
  if (l->no_notes || l->read_only)
    return 0;
  int rc = notes_each(l, id, 1, NULL, NULL);
  return rc ? fail(l, "notes", rc) : 0;
}

/* The cached record of conversation `id`, read and decoded on first use, its notes
 * merged: 1, 0 when absent, -1 when malformed (not latched here: a walk skips it, a get
 * fails the batch). */
static int conv_load(struct store_lmdb *l, uint64_t id, struct cached_conv **out)
{
  char key[24], err[160];
  unsigned char k[8];
  MDB_val v;
  conv_key(key, id);
  if ((*out = smap_get(&l->convs, key)))
    return 1;
  put_be64(k, id);
  int rc = db_get(l, DB_CONVS, k, 8, &v);
  if (rc != 1)
    return rc;
  struct conv *cv = store_decode_conv(id, v.mv_data, v.mv_size, err, sizeof err);
  if (!cv)
    return -1;
  *out = cache_conv(l, cv, index_due(cv));
  if ((rc = notes_merge(l, *out)))
    return fail(l, "notes", rc);
  return 1;
}

static struct cached_conv *conv_cached(struct store_lmdb *l, uint64_t id)
{
  struct cached_conv *cc;
  int rc = conv_load(l, id, &cc);
  if (rc < 0 && !l->failed)
    fail(l, "conversation record", MDB_CORRUPTED);
  return rc == 1 ? cc : NULL;
}

static struct conv *lm_conv_get(struct store *s, uint64_t id)
{
  struct cached_conv *cc = conv_cached(LM(s), id);
  return cc ? cc->cv : NULL;
}

static int lm_conv_put(struct store *s, struct conv *cv)
{
  struct store_lmdb *l = LM(s);
  struct cached_conv *cc = conv_cached(l, cv->id);
  unsigned char k[16];
  int64_t due = index_due(cv);
  if (cc && cc->indexed_due != due) {
    if (cc->indexed_due) {
      timer_key(k, cc->indexed_due, cv->id);
      db_del(l, DB_TIMERS, k, 16);
    }
    if (due) {
      timer_key(k, due, cv->id);
      db_put(l, DB_TIMERS, k, 16, "", 0);
    }
    cc->indexed_due = due;
  }
  if (store_encode_conv(cv, &l->buf) < 0)
    return fail(l, "encode conversation", ENOMEM);
  put_be64(k, cv->id);
  if (cc && cc->noted) {
    if (notes_drop(l, cv->id) < 0)
      return -1;
    cc->noted = 0;
  }
  return db_put(l, DB_CONVS, k, 8, l->buf.data, l->buf.size);
}

/* A conversation of this batch takes the line at once; any other gets a note. */
static int lm_conv_note(struct store *s, uint64_t id, int64_t at_ms, const char *line, size_t limit)
{
  struct store_lmdb *l = LM(s);
  char key[24];
  unsigned char k[NOTE_KEY];
  struct cached_conv *cc;
  conv_key(key, id);
  if ((cc = smap_get(&l->convs, key))) {
    history_add(&cc->cv->history, limit, at_ms, "%s", line);
    return lm_conv_put(s, cc->cv);
  }
  MDB_val v;
  put_be64(k, id);
  int rc = limit == 0 ? 0 : db_get(l, DB_CONVS, k, 8, &v); /* a note never outlives its conversation */
  if (rc != 1)
    return rc;
  put_be64(k + 8, (uint64_t)at_ms);
  uint32_t seq = l->note_seq++;
  memcpy(k + 16, (unsigned char[4]){seq >> 24, seq >> 16, seq >> 8, seq}, 4);
  return db_put(l, DB_NOTES, k, sizeof k, line, strlen(line));
}

static struct conv *lm_conv_create(struct store *s, struct contact *c, const char *journey,
                                   uint32_t version, int64_t now_ms)
{
  struct store_lmdb *l = LM(s);
  struct conv *cv = conv_record_new(c, l->next_conv, journey, version, now_ms);
  if (!cv) {
    fail(l, "conversation", ENOMEM); /* the contact's lists may be half-changed: drop the batch */
    return NULL;
  }
  l->next_conv++;
  cache_conv(l, cv, 0);
  l->dirty = 1;
  return cv;
}

/* A record that cannot be decoded is deleted all the same (its deadline entry, unknown,
 * stays: conv_fire_due stops at it and says so, as it would have before). */
static int lm_conv_del(struct store *s, uint64_t id)
{
  struct store_lmdb *l = LM(s);
  struct cached_conv *cc;
  unsigned char k[16];
  char key[24];
  if (l->read_only)
    return fail(l, "delete", EACCES);
  if (conv_load(l, id, &cc) == 1 && cc->indexed_due) {
    timer_key(k, cc->indexed_due, id);
    db_del(l, DB_TIMERS, k, 16);
  }
  conv_key(key, id);
  if (cc)
    free_cached_conv(smap_del(&l->convs, key));
  put_be64(k, id);
  if (notes_drop(l, id) < 0)
    return -1;
  return db_del(l, DB_CONVS, k, 8);
}

/* Every outbox message for `contact`, queued or dead. Messages are keyed by their random
 * id, so this reads the whole outbox (undelivered messages and dead letters: delivered
 * ones are gone), looking only at each record's contact field. */
static int erase_msgs(struct store_lmdb *l, const char *contact)
{
  MDB_cursor *cur;
  MDB_val k, v;
  int rc = mdb_cursor_open(l->txn, l->dbi[DB_OUTBOX], &cur);
  if (rc)
    return fail(l, "outbox", rc);
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (store_msg_is_for(v.mv_data, v.mv_size, contact) != 1)
      continue;
    if ((rc = mdb_cursor_del(cur, 0)))
      break;
    l->dirty = 1;
  }
  mdb_cursor_close(cur);
  return rc && rc != MDB_NOTFOUND ? fail(l, "outbox", rc) : 0;
}

static int lm_contact_erase(struct store *s, const char *id)
{
  struct store_lmdb *l = LM(s);
  if (l->read_only)
    return fail(l, "erase", EACCES);
  struct contact *c = lm_contact_get(s, id);
  if (!c)
    return l->failed ? -1 : 0;
  for (size_t i = 0; i < c->n_convs; i++)
    lm_conv_del(s, c->convs[i]);
  free_contact(smap_del(&l->contacts, id));
  db_del(l, DB_CONTACTS, id, strlen(id));
  erase_msgs(l, id);
  return l->failed ? -1 : 1;
}

/* The key after the walk's position in `db` (the first when `pos` is empty): 0 and the
 * key, or MDB_NOTFOUND at the end. The position itself may be gone (deleted since). */
static int key_after(struct store_lmdb *l, int db, const void *pos, size_t len, MDB_val *key)
{
  MDB_cursor *cur;
  MDB_val v;
  if (begin(l) < 0)
    return MDB_NOTFOUND;
  int rc = mdb_cursor_open(l->txn, l->dbi[db], &cur);
  if (rc)
    return rc;
  *key = (MDB_val){len, (void *)pos};
  rc = mdb_cursor_get(cur, key, &v, len ? MDB_SET_RANGE : MDB_FIRST);
  if (rc == 0 && len && key->mv_size == len && memcmp(key->mv_data, pos, len) == 0)
    rc = mdb_cursor_get(cur, key, &v, MDB_NEXT);
  mdb_cursor_close(cur);
  return rc;
}

static int lm_conv_walk(struct store *s, struct conv **out)
{
  struct store_lmdb *l = LM(s);
  unsigned char pos[8];
  MDB_val key;
  struct cached_conv *cc;
  put_be64(pos, l->walk_conv);
  if (key_after(l, DB_CONVS, pos, l->walk_conv ? 8 : 0, &key) || key.mv_size != 8) {
    l->walk_conv = 0;
    return 0;
  }
  l->walk_conv = get_be64(key.mv_data);
  if (conv_load(l, l->walk_conv, &cc) != 1)
    return -1;
  *out = cc->cv;
  return 1;
}

static int lm_contact_walk(struct store *s, struct contact **out)
{
  struct store_lmdb *l = LM(s);
  MDB_val key;
  char id[sizeof l->walk_contact];
  if (key_after(l, DB_CONTACTS, l->walk_contact, l->walk_contact_len, &key) ||
      key.mv_size >= sizeof l->walk_contact) {
    l->walk_contact_len = 0;
    return 0;
  }
  memcpy(l->walk_contact, key.mv_data, key.mv_size);
  l->walk_contact_len = key.mv_size;
  memcpy(id, key.mv_data, key.mv_size);
  id[key.mv_size] = '\0';
  return contact_load(l, id, out) == 1 ? 1 : -1;
}

/* ---- the core's index (addr.h): keys only, scanned by prefix ---- */

static int lm_index_put(struct store *s, const void *key, size_t len)
{
  return db_put(LM(s), DB_INDEX, key, len, "", 0);
}

static int lm_index_del(struct store *s, const void *key, size_t len)
{
  return LM(s)->no_index ? 0 : db_del(LM(s), DB_INDEX, key, len);
}

static int lm_index_scan(struct store *s, const void *prefix, size_t len,
                         int (*each)(void *ud, const void *key, size_t len), void *ud)
{
  struct store_lmdb *l = LM(s);
  MDB_cursor *cur;
  MDB_val k = {len, (void *)prefix}, v;
  if (l->no_index)
    return 0;
  if (begin(l) < 0 || mdb_cursor_open(l->txn, l->dbi[DB_INDEX], &cur))
    return -1;
  int n = 0, rc = mdb_cursor_get(cur, &k, &v, len ? MDB_SET_RANGE : MDB_FIRST);
  for (; rc == 0 && k.mv_size >= len && memcmp(k.mv_data, prefix, len) == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    n++;
    if (each(ud, k.mv_data, k.mv_size) != 0)
      break;
  }
  mdb_cursor_close(cur);
  return rc == 0 || rc == MDB_NOTFOUND ? n : fail(l, "index", rc);
}

/* ---- journey stats (stats.h): counters by text key ---- */

static int lm_tally_add(struct store *s, const char *key, int64_t delta)
{
  struct store_lmdb *l = LM(s);
  MDB_val v;
  size_t len = strlen(key);
  int r = db_get(l, DB_STATS, key, len, &v);
  if (r < 0)
    return -1;
  unsigned char b[8];
  put_be64(b, (uint64_t)((r == 1 && v.mv_size == 8 ? (int64_t)get_be64(v.mv_data) : 0) + delta));
  return db_put(l, DB_STATS, key, len, b, 8);
}

static int lm_tally_scan(struct store *s, const char *lo, const char *hi,
                         int (*each)(void *ud, const char *key, int64_t val), void *ud)
{
  struct store_lmdb *l = LM(s);
  MDB_cursor *cur;
  MDB_val k = {strlen(lo), (void *)lo}, v;
  size_t hilen = hi ? strlen(hi) : 0;
  char key[512];
  if (l->no_stats)
    return 0;
  if (begin(l) < 0 || mdb_cursor_open(l->txn, l->dbi[DB_STATS], &cur))
    return -1;
  int n = 0, rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    size_t m = k.mv_size < hilen ? k.mv_size : hilen;
    int cmp = hi ? memcmp(k.mv_data, hi, m) : -1;
    if (hi && (cmp > 0 || (cmp == 0 && k.mv_size >= hilen)))
      break;
    if (k.mv_size >= sizeof key || v.mv_size != 8)
      continue;
    memcpy(key, k.mv_data, k.mv_size);
    key[k.mv_size] = '\0';
    n++;
    if (each(ud, key, (int64_t)get_be64(v.mv_data)) != 0)
      break;
  }
  mdb_cursor_close(cur);
  return rc == 0 || rc == MDB_NOTFOUND ? n : fail(l, "stats", rc);
}

static int lm_meta_get(struct store *s, const char *name, char *out, size_t outlen)
{
  MDB_val v;
  int r = db_get(LM(s), DB_META, name, strlen(name), &v);
  if (r != 1)
    return r;
  size_t n = v.mv_size < outlen ? v.mv_size : outlen - 1;
  memcpy(out, v.mv_data, n);
  out[n] = '\0';
  return 1;
}

static int lm_meta_put(struct store *s, const char *name, const char *text)
{
  return db_put(LM(s), DB_META, name, strlen(name), text, strlen(text));
}

static int lm_deadline_next(struct store *s, int64_t *due_ms, uint64_t *conv_id)
{
  struct store_lmdb *l = LM(s);
  MDB_cursor *cur;
  MDB_val k, v;
  if (begin(l) < 0 || mdb_cursor_open(l->txn, l->dbi[DB_TIMERS], &cur))
    return 0;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  mdb_cursor_close(cur);
  if (rc || k.mv_size != 16)
    return 0;
  *due_ms = (int64_t)get_be64(k.mv_data);
  *conv_id = get_be64((unsigned char *)k.mv_data + 8);
  return 1;
}

/* ---- outbox ---- */

static int lm_msg_put(struct store *s, const struct parley_msg *m)
{
  struct store_lmdb *l = LM(s);
  if (store_encode_msg(m, &l->buf) < 0)
    return fail(l, "encode message", ENOMEM);
  return db_put(l, DB_OUTBOX, m->id, strlen(m->id), l->buf.data, l->buf.size);
}

static int lm_msg_del(struct store *s, const char *id)
{
  return db_del(LM(s), DB_OUTBOX, id, strlen(id));
}

static int lm_msg_each(struct store *s, void (*cb)(void *ud, struct parley_msg *m), void *ud)
{
  struct store_lmdb *l = LM(s);
  MDB_cursor *cur;
  MDB_val k, v;
  if (begin(l) < 0 || mdb_cursor_open(l->txn, l->dbi[DB_OUTBOX], &cur))
    return -1;
  int n = 0;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    char err[160];
    struct parley_msg *m = store_decode_msg(v.mv_data, v.mv_size, err, sizeof err);
    if (m) {
      cb(ud, m);
      n++;
    }
  }
  mdb_cursor_close(cur);
  return n;
}

static int lm_msg_get(struct store *s, const char *id, struct parley_msg **out)
{
  struct store_lmdb *l = LM(s);
  MDB_val v;
  char err[160];
  if (db_get(l, DB_OUTBOX, id, strlen(id), &v) != 1)
    return 0;
  *out = store_decode_msg(v.mv_data, v.mv_size, err, sizeof err);
  return *out ? 1 : -1;
}

/* name \0 version: all versions of a journey sort together, oldest first. */
static size_t journey_key(unsigned char *k, size_t cap, const char *name, uint32_t version)
{
  size_t n = strlen(name);
  if (n + 5 > cap)
    n = cap - 5;
  memcpy(k, name, n);
  k[n] = 0;
  for (int i = 0; i < 4; i++)
    k[n + 1 + i] = (unsigned char)(version >> (24 - 8 * i));
  return n + 5;
}

static int lm_journey_put(struct store *s, const char *name, uint32_t version, const char *src, size_t len)
{
  unsigned char k[300];
  return db_put(LM(s), DB_JOURNEYS, k, journey_key(k, sizeof k, name, version), src, len);
}

static int lm_journey_get(struct store *s, const char *name, uint32_t version, char **src, size_t *len)
{
  unsigned char k[300];
  MDB_val v;
  if (db_get(LM(s), DB_JOURNEYS, k, journey_key(k, sizeof k, name, version), &v) != 1)
    return 0;
  *src = malloc(v.mv_size + 1);
  memcpy(*src, v.mv_data, v.mv_size);
  (*src)[v.mv_size] = '\0';
  *len = v.mv_size;
  return 1;
}

static int lm_journey_del(struct store *s, const char *name, uint32_t version)
{
  unsigned char k[300];
  return db_del(LM(s), DB_JOURNEYS, k, journey_key(k, sizeof k, name, version));
}

static uint32_t lm_journey_latest(struct store *s, const char *name)
{
  struct store_lmdb *l = LM(s);
  unsigned char k[300];
  size_t klen = journey_key(k, sizeof k, name, UINT32_MAX), plen = klen - 4;
  MDB_cursor *cur;
  MDB_val key = {klen, k}, v;
  if (begin(l) < 0 || mdb_cursor_open(l->txn, l->dbi[DB_JOURNEYS], &cur))
    return 0;
  int rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
  rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &key, &v, MDB_LAST) : mdb_cursor_get(cur, &key, &v, MDB_PREV);
  uint32_t version = 0;
  if (rc == 0 && key.mv_size == klen && memcmp(key.mv_data, k, plen) == 0) {
    const unsigned char *p = (const unsigned char *)key.mv_data + plen;
    version = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  }
  mdb_cursor_close(cur);
  return version;
}

static int64_t lm_active_add(struct store *s, const char *name, uint32_t version, int64_t delta)
{
  char key[300];
  snprintf(key, sizeof key, "active:%s#%u", name, version);
  int64_t n = (int64_t)meta_get_u64(LM(s), key, 0) + delta;
  if (delta)
    meta_put_u64(LM(s), key, (uint64_t)n);
  return n;
}

static int lm_counters_get(struct store *s, uint64_t *vals, size_t n)
{
  struct store_lmdb *l = LM(s);
  MDB_val v;
  memset(vals, 0, n * sizeof *vals);
  if (db_get(l, DB_META, "counters", 8, &v) != 1)
    return 0;
  for (size_t i = 0; i < n && (i + 1) * 8 <= v.mv_size; i++)
    vals[i] = get_be64((unsigned char *)v.mv_data + i * 8);
  return 0;
}

static int lm_counters_put(struct store *s, const uint64_t *vals, size_t n)
{
  unsigned char b[STORE_COUNTERS * 8];
  n = n < STORE_COUNTERS ? n : STORE_COUNTERS;
  for (size_t i = 0; i < n; i++)
    put_be64(b + i * 8, vals[i]);
  return db_put(LM(s), DB_META, "counters", 8, b, n * 8);
}

/* ---- batches ---- */

static void drop_cache(struct store_lmdb *l)
{
  smap_clear(&l->contacts, free_contact);
  smap_clear(&l->convs, free_cached_conv);
}

/* Where the retention walks stood at the last commit. */
static void read_walks(struct store_lmdb *l)
{
  MDB_val v;
  l->walk_conv = meta_get_u64(l, "walk_conv", 0);
  l->walk_contact_len = 0;
  if (db_get(l, DB_META, "walk_contact", 12, &v) == 1 && v.mv_size < sizeof l->walk_contact) {
    memcpy(l->walk_contact, v.mv_data, v.mv_size);
    l->walk_contact_len = v.mv_size;
  }
}

static void lm_abort(struct store *s)
{
  struct store_lmdb *l = LM(s);
  if (l->txn)
    mdb_txn_abort(l->txn);
  l->txn = NULL;
  drop_cache(l);
  l->failed = l->dirty = 0;
  /* the sequences handed out in the dropped batch are read back from disk */
  if (begin(l) == 0) {
    l->next_conv = meta_get_u64(l, "next_conv", 1);
    l->next_seq = meta_get_u64(l, "next_seq", 0);
    l->oldest_seq = meta_get_u64(l, "oldest_seq", 0);
    read_walks(l);
    mdb_txn_abort(l->txn);
    l->txn = NULL;
  }
}

static int lm_commit(struct store *s, char *err, size_t errlen)
{
  struct store_lmdb *l = LM(s);
  if (!l->txn) {
    drop_cache(l);
    return 0;
  }
  if (l->dirty && !l->read_only) {
    meta_put_u64(l, "next_conv", l->next_conv);
    meta_put_u64(l, "next_seq", l->next_seq);
    meta_put_u64(l, "oldest_seq", l->oldest_seq);
    meta_put_u64(l, "walk_conv", l->walk_conv);
    db_put(l, DB_META, "walk_contact", 12, l->walk_contact, l->walk_contact_len);
  }
  uint64_t id = (uint64_t)mdb_txn_id(l->txn);
  int wrote = l->dirty;
  int rc = l->failed ? -1 : mdb_txn_commit(l->txn);
  if (rc == 0) {
    if (wrote)
      l->committed = id;
    l->txn = NULL;
    drop_cache(l);
    l->dirty = 0;
    return 0;
  }
  if (!l->failed)
    snprintf(l->why, sizeof l->why, "commit: %s", mdb_strerror(rc));
  else
    mdb_txn_abort(l->txn);
  l->txn = NULL;
  snprintf(err, errlen, "%s", l->why);
  lm_abort(s);
  return -1;
}

static uint64_t lm_committed(const struct store *s)
{
  return LM(s)->committed;
}

/* Flushes every commit made so far to disk (fdatasync), from a thread of its own while
 * the loop goes on committing (the environment is opened with MDB_NOSYNC). A read
 * transaction taken before the flush pins the snapshot it flushes: until the next flush
 * has finished, LMDB may not reuse (overwrite) a page of that snapshot, so the last one on
 * disk stays whole while later commits are written. Touches only the environment and
 * `durable`, never the loop's write transaction. */
static int lm_sync(struct store *s, uint64_t *upto, char *err, size_t errlen)
{
  struct store_lmdb *l = LM(s);
  MDB_txn *snap;
  int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &snap);
  if (rc) {
    snprintf(err, errlen, "flush: %s", mdb_strerror(rc));
    return -1;
  }
  uint64_t id = (uint64_t)mdb_txn_id(snap);
  rc = mdb_env_sync(l->env, 1);
  if (rc) {
    mdb_txn_abort(snap);
    snprintf(err, errlen, "flush: %s", mdb_strerror(rc));
    return -1;
  }
  if (l->durable)
    mdb_txn_abort(l->durable);
  l->durable = snap;
  *upto = id;
  return 0;
}

static int lm_dirty(const struct store *s)
{
  return LM(s)->dirty;
}

static void lm_close(struct store *s)
{
  struct store_lmdb *l = LM(s);
  if (l->txn)
    mdb_txn_abort(l->txn);
  if (l->durable)
    mdb_txn_abort(l->durable);
  if (l->env && l->deferred_sync && !l->read_only)
    mdb_env_sync(l->env, 1); /* what the last flush did not reach */
  smap_free(&l->contacts, free_contact);
  smap_free(&l->convs, free_cached_conv);
  msgpack_sbuffer_destroy(&l->buf);
  if (l->env)
    mdb_env_close(l->env);
  free(l);
}

int store_lmdb_backup(struct store *s, const char *dir, char *err, size_t errlen)
{
  if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
    snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return -1;
  }
  int rc = mdb_env_copy2(LM(s)->env, dir, MDB_CP_COMPACT);
  if (rc) {
    snprintf(err, errlen, "backup to %s: %s", dir, mdb_strerror(rc));
    return -1;
  }
  return 0;
}

static const struct store_ops lmdb_ops = {
    .contact_get = lm_contact_get,
    .contact_create = lm_contact_create,
    .contact_put = lm_contact_put,
    .event_seen = lm_event_seen,
    .conv_create = lm_conv_create,
    .conv_get = lm_conv_get,
    .conv_put = lm_conv_put,
    .conv_note = lm_conv_note,
    .conv_del = lm_conv_del,
    .contact_erase = lm_contact_erase,
    .contact_walk = lm_contact_walk,
    .conv_walk = lm_conv_walk,
    .deadline_next = lm_deadline_next,
    .msg_put = lm_msg_put,
    .msg_del = lm_msg_del,
    .msg_each = lm_msg_each,
    .msg_get = lm_msg_get,
    .journey_put = lm_journey_put,
    .journey_get = lm_journey_get,
    .journey_del = lm_journey_del,
    .journey_latest = lm_journey_latest,
    .active_add = lm_active_add,
    .counters_get = lm_counters_get,
    .counters_put = lm_counters_put,
    .index_put = lm_index_put,
    .index_del = lm_index_del,
    .index_scan = lm_index_scan,
    .meta_get = lm_meta_get,
    .meta_put = lm_meta_put,
    .tally_add = lm_tally_add,
    .tally_scan = lm_tally_scan,
    .commit = lm_commit,
    .abort = lm_abort,
    .dirty = lm_dirty,
    .committed = lm_committed,
    .sync = lm_sync,
    .close = lm_close,
};

/* A daemon's commits are written without a flush (MDB_NOSYNC; the meta page then goes
 * through the same descriptor, so one fdatasync covers both): lm_sync flushes them. */
static unsigned env_flags(const struct store_lmdb_options *o)
{
  if (o->read_only)
    return MDB_NOTLS | MDB_RDONLY;
  return MDB_NOTLS | (o->deferred_sync ? MDB_NOSYNC : 0);
}

static int open_env(struct store_lmdb *l, const struct store_lmdb_options *o, char *err, size_t errlen)
{
  int rc;
  if (!o->read_only && mkdir(o->dir, 0750) < 0 && errno != EEXIST) {
    snprintf(err, errlen, "store %s: %s", o->dir, strerror(errno));
    return -1;
  }
  if ((rc = mdb_env_create(&l->env)) || (rc = mdb_env_set_maxdbs(l->env, DB_COUNT)) ||
      (rc = mdb_env_set_mapsize(l->env, o->map_size)) ||
      (rc = mdb_env_open(l->env, o->dir, env_flags(o), 0640))) {
    snprintf(err, errlen, "store %s: %s", o->dir, mdb_strerror(rc));
    return -1;
  }
  int dead = 0;
  mdb_reader_check(l->env, &dead); /* readers left by crashed processes */
  MDB_txn *txn;
  if ((rc = mdb_txn_begin(l->env, NULL, o->read_only ? MDB_RDONLY : 0, &txn))) {
    snprintf(err, errlen, "store %s: %s", o->dir, mdb_strerror(rc));
    return -1;
  }
  for (int i = 0; i < DB_COUNT && rc == 0; i++) {
    rc = mdb_dbi_open(txn, db_names[i], o->read_only ? 0 : MDB_CREATE, &l->dbi[i]);
    if (rc == MDB_NOTFOUND && i == DB_INDEX && o->read_only) /* older store: nothing indexed */
      rc = 0, l->no_index = 1;
    if (rc == MDB_NOTFOUND && i == DB_NOTES && o->read_only) /* older store: no notes */
      rc = 0, l->no_notes = 1;
    if (rc == MDB_NOTFOUND && i == DB_STATS && o->read_only) /* older store: nothing counted */
      rc = 0, l->no_stats = 1;
  }
  if (rc == 0)
    rc = mdb_txn_commit(txn);
  else
    mdb_txn_abort(txn);
  if (rc) {
    snprintf(err, errlen, "store %s: %s", o->dir,
             rc == MDB_NOTFOUND ? "not a Parley store (or never written)" : mdb_strerror(rc));
    return -1;
  }
  return 0;
}

struct store *store_lmdb_open(const struct store_lmdb_options *o, char *err, size_t errlen)
{
  struct store_lmdb *l = calloc(1, sizeof *l);
  if (!l) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  l->base.ops = &lmdb_ops;
  l->read_only = o->read_only;
  l->window = o->dedupe_window ? o->dedupe_window : 1;
  l->deferred_sync = o->deferred_sync && !o->read_only;
  msgpack_sbuffer_init(&l->buf);
  if (open_env(l, o, err, errlen) < 0) {
    lm_close(&l->base);
    return NULL;
  }
  /* A daemon killed before its last flush left commits that may not be on disk yet; what
   * this one answers from them (a duplicate's 200) must be. */
  if (l->deferred_sync)
    mdb_env_sync(l->env, 1);
  lm_abort(&l->base); /* reads the sequences */
  return &l->base;
}

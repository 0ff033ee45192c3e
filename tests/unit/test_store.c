/* The store layer: bounded histories, the hash map, the record codec, and the LMDB backend
 * (dedupe window, deadline order, journey versions, batches that commit or drop whole);
 * erasure and the retention walks on both backends. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "cfg.h"
#include "outbox.h"
#include "store/smap.h"
#include "store/store.h"
#include "store/codec.h"

static void test_history_grows_then_drops_the_oldest(void **state)
{
  struct history h = {0};
  for (int i = 0; i < 7; i++)
    history_add(&h, 5, i, "entry %d", i);
  assert_int_equal(h.n, 5);
  assert_string_equal(history_at(&h, 0)->what, "entry 2");
  assert_string_equal(history_at(&h, 4)->what, "entry 6");
  assert_int_equal(history_at(&h, 4)->at_ms, 6);
  assert_null(history_at(&h, 5));
  history_add(&h, 3, 7, "entry 7"); /* a lower limit keeps the newest */
  assert_int_equal(h.n, 3);
  assert_string_equal(history_at(&h, 0)->what, "entry 5");
  assert_string_equal(history_at(&h, 2)->what, "entry 7");
  history_free(&h);
}

/* Retention by age: entries older than the cut go wherever they are in the ring (a clock
 * that stepped back leaves one out of order), the rest keep their order. */
static void test_history_forgets_by_age(void **state)
{
  struct history h = {0};
  for (int i = 0; i < 7; i++)
    history_add(&h, 5, i * 10, "entry %d", i); /* the ring wrapped: 2..6 are left */
  history_add(&h, 5, 5, "late clock");          /* 3..6, then one written at 5 */
  assert_int_equal(h.n, 5);
  assert_int_equal(history_forget_before(&h, 40), 2); /* entry 3 (30) and the late one (5) */
  assert_int_equal(h.n, 3);
  assert_string_equal(history_at(&h, 0)->what, "entry 4");
  assert_string_equal(history_at(&h, 1)->what, "entry 5");
  assert_string_equal(history_at(&h, 2)->what, "entry 6");
  assert_int_equal(history_forget_before(&h, 40), 0);
  history_add(&h, 5, 70, "entry 7");
  assert_string_equal(history_at(&h, 3)->what, "entry 7");
  assert_int_equal(history_forget_before(&h, 1000), 4);
  assert_int_equal(h.n, 0);
  history_add(&h, 5, 80, "entry 8");
  assert_int_equal(h.n, 1);
  assert_string_equal(history_at(&h, 0)->what, "entry 8");
  history_free(&h);
}

static void test_smap(void **state)
{
  struct smap m = {0};
  char key[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(smap_put(&m, key, (void *)(intptr_t)(i + 1)), 0);
  }
  for (int i = 0; i < 1000; i += 2) {
    snprintf(key, sizeof key, "k%d", i);
    assert_int_equal((intptr_t)smap_del(&m, key), i + 1);
  }
  assert_int_equal(m.n, 500);
  assert_null(smap_get(&m, "k0"));
  assert_int_equal((intptr_t)smap_get(&m, "k999"), 1000);
  smap_clear(&m, NULL);
  assert_int_equal(m.n, 0);
  assert_null(smap_get(&m, "k999"));
  assert_int_equal(smap_put(&m, "again", (void *)1), 0);
  assert_int_equal((intptr_t)smap_get(&m, "again"), 1);
  smap_free(&m, NULL);
}

/* smap_next visits every entry once, passing over deleted ones. */
static void test_smap_walk(void **state)
{
  struct smap m = {0};
  char key[16];
  int seen[300] = {0};
  for (int i = 0; i < 300; i++) {
    snprintf(key, sizeof key, "k%d", i);
    smap_put(&m, key, (void *)(intptr_t)(i + 1));
  }
  for (int i = 0; i < 300; i += 3) {
    snprintf(key, sizeof key, "k%d", i);
    smap_del(&m, key);
  }
  size_t pos = 0, n = 0;
  for (void *v; (v = smap_next(&m, &pos)); n++)
    seen[(intptr_t)v - 1]++;
  assert_int_equal(n, 200);
  for (int i = 0; i < 300; i++)
    assert_int_equal(seen[i], i % 3 ? 1 : 0);
  assert_int_equal(pos, m.cap);
  assert_null(smap_next(&m, &pos));
  smap_free(&m, NULL);
}

static void test_codec_round_trips(void **state)
{
  msgpack_sbuffer buf;
  msgpack_sbuffer_init(&buf);
  char err[160];

  struct conv cv = {.id = 42, .contact = "c1", .journey = "welcome", .journey_version = 3, .step = "nudge",
                    .memory = "\x81\xa1k\x01", .memory_len = 4, .deadline_ms = 1800000000123LL,
                    .status = CONV_LISTENING, .started_ms = 5, .updated_ms = 6};
  char *listen[] = {"email.clicked", "sms.replied"};
  cv.listening_for = listen;
  cv.n_listen = 2;
  history_add(&cv.history, 10, 7, "spoke email/welcome");
  assert_int_equal(store_encode_conv(&cv, &buf), 0);
  struct conv *back = store_decode_conv(42, buf.data, buf.size, err, sizeof err);
  assert_non_null(back);
  assert_string_equal(back->journey, "welcome");
  assert_int_equal(back->journey_version, 3);
  assert_memory_equal(back->memory, cv.memory, 4);
  assert_int_equal(back->n_listen, 2);
  assert_string_equal(back->listening_for[1], "sms.replied");
  assert_int_equal(back->deadline_ms, cv.deadline_ms);
  assert_string_equal(history_at(&back->history, 0)->what, "spoke email/welcome");
  assert_null(back->error);
  conv_record_free(back);
  history_free(&cv.history);

  struct parley_msg m = {.id = "abc", .channel = "sms", .contact = "c1", .text = "hi", .attempt = 2,
                         .state = MSG_DEAD, .due_ms = 9, .last_error = "gateway down"};
  m.profile_json = "{\"phone\":\"+1555\"}";
  assert_int_equal(store_encode_msg(&m, &buf), 0);
  struct parley_msg *mb = store_decode_msg(buf.data, buf.size, err, sizeof err);
  assert_non_null(mb);
  assert_string_equal(mb->id, "abc");
  assert_null(mb->html);
  assert_int_equal(mb->state, MSG_DEAD);
  assert_string_equal(mb->last_error, "gateway down");
  assert_string_equal(mb->profile_json, m.profile_json);
  msg_record_free(mb);

  /* a contact: every conversation, the active ones, the last start per journey */
  struct contact c = {.id = "c1", .created_ms = 5};
  c.profile = cJSON_Parse("{\"email\":\"a@b.c\"}");
  struct conv *c1 = conv_record_new(&c, 1, "welcome", 1, 100);
  struct conv *c2 = conv_record_new(&c, 2, "cart", 1, 200);
  struct conv *c3 = conv_record_new(&c, 3, "welcome", 2, 300);
  contact_conv_ended(&c, 1);
  assert_int_equal(store_encode_contact(&c, &buf), 0);
  struct contact *cb = store_decode_contact(buf.data, buf.size, err, sizeof err);
  assert_non_null(cb);
  assert_int_equal(cb->n_convs, 3);
  assert_int_equal(cb->n_active, 2);
  assert_int_equal(cb->active[0], 2);
  assert_int_equal(cb->active[1], 3);
  int64_t at;
  assert_int_equal(contact_last_start(cb, "welcome", &at), 1);
  assert_int_equal(at, 300);
  assert_int_equal(contact_last_start(cb, "nope", &at), 0);
  assert_string_equal(cJSON_GetObjectItem(cb->profile, "email")->valuestring, "a@b.c");
  contact_record_free(cb);
  conv_record_free(c1);
  conv_record_free(c2);
  conv_record_free(c3);
  cJSON_Delete(c.profile);
  free(c.convs);
  free(c.active);
  for (size_t i = 0; i < c.n_starts; i++)
    free(c.starts[i].journey);
  free(c.starts);

  /* malformed records are refused with a reason, never half-read */
  assert_null(store_decode_conv(1, "\x93\x01\x02\x03", 4, err, sizeof err));
  assert_non_null(strstr(err, "not a record of 15 fields"));
  assert_null(store_decode_contact("\xc1", 1, err, sizeof err));
  msgpack_sbuffer_destroy(&buf);
}

struct lm {
  char dir[64];
  struct store *s;
};

static struct lm *lm_open(size_t window)
{
  struct lm *l = calloc(1, sizeof *l);
  strcpy(l->dir, "/tmp/parley-store-XXXXXX");
  assert_non_null(mkdtemp(l->dir));
  char err[256];
  struct store_lmdb_options o = {l->dir, 64u << 20, window, 0, 0};
  l->s = store_lmdb_open(&o, err, sizeof err);
  if (!l->s)
    fail_msg("%s", err);
  return l;
}

static void lm_close(struct lm *l)
{
  char cmd[128];
  l->s->ops->close(l->s);
  snprintf(cmd, sizeof cmd, "rm -rf %s", l->dir);
  assert_int_equal(system(cmd), 0);
  free(l);
}

static void commit(struct store *s)
{
  char err[256];
  if (s->ops->commit(s, err, sizeof err) < 0)
    fail_msg("commit: %s", err);
}

/* A flusher thread beside the committing one (the daemon's store.sync): marks grow only
 * with commits that wrote, a flush reaches at least what was committed before it began,
 * and what was committed is there after a reopen. */
struct flusher {
  struct store *s;
  volatile int stop;
  int flushes, failed, went_back;
  uint64_t reached;
};

static void *flush_loop(void *arg)
{
  struct flusher *f = arg;
  char err[256];
  while (!f->stop) {
    uint64_t upto = 0;
    if (f->s->ops->sync(f->s, &upto, err, sizeof err) < 0)
      f->failed++;
    f->went_back += upto < f->reached; /* counted here, asserted on the test's thread */
    f->reached = upto;
    f->flushes++;
  }
  return NULL;
}

static void test_lmdb_deferred_flushes(void **state)
{
  struct lm *l = calloc(1, sizeof *l);
  strcpy(l->dir, "/tmp/parley-store-XXXXXX");
  assert_non_null(mkdtemp(l->dir));
  char err[256], id[32];
  struct store_lmdb_options o = {l->dir, 64u << 20, 100000, 0, 1};
  l->s = store_lmdb_open(&o, err, sizeof err);
  assert_non_null(l->s);
  const struct store_ops *ops = l->s->ops;
  assert_non_null(ops->committed);
  assert_non_null(ops->sync);
  uint64_t before = ops->committed(l->s);
  assert_int_equal(ops->event_seen(l->s, "nothing"), 0);
  commit(l->s);
  uint64_t first = ops->committed(l->s);
  assert_true(first > before);
  assert_int_equal(ops->event_seen(l->s, "nothing"), 1); /* a batch that only read */
  commit(l->s);
  assert_true(ops->committed(l->s) == first);
  struct flusher f = {.s = l->s};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, flush_loop, &f), 0);
  for (int i = 0; i < 300; i++) {
    snprintf(id, sizeof id, "ev-%d", i);
    assert_int_equal(ops->event_seen(l->s, id), 0);
    commit(l->s);
  }
  uint64_t last = ops->committed(l->s);
  assert_true(last >= first + 300);
  f.stop = 1;
  pthread_join(t, NULL);
  assert_int_equal(f.failed, 0);
  assert_int_equal(f.went_back, 0);
  assert_true(f.flushes > 0);
  uint64_t upto = 0;
  assert_int_equal(ops->sync(l->s, &upto, err, sizeof err), 0);
  assert_true(upto == last); /* a flush after the last commit reaches it */
  ops->close(l->s);
  struct store_lmdb_options again = {l->dir, 64u << 20, 100000, 0, 0};
  l->s = store_lmdb_open(&again, err, sizeof err);
  assert_non_null(l->s);
  assert_int_equal(l->s->ops->event_seen(l->s, "ev-299"), 1);
  assert_int_equal(l->s->ops->event_seen(l->s, "nothing"), 1);
  commit(l->s);
  lm_close(l);
}

static void test_lmdb_dedupe_window_forgets_the_oldest(void **state)
{
  struct lm *l = lm_open(3);
  const struct store_ops *o = l->s->ops;
  assert_int_equal(o->event_seen(l->s, "a"), 0);
  assert_int_equal(o->event_seen(l->s, "b"), 0);
  commit(l->s);
  assert_int_equal(o->event_seen(l->s, "a"), 1);
  assert_int_equal(o->event_seen(l->s, "c"), 0);
  assert_int_equal(o->event_seen(l->s, "d"), 0); /* window of 3: "a" falls out */
  commit(l->s);
  assert_int_equal(o->event_seen(l->s, "b"), 1);
  assert_int_equal(o->event_seen(l->s, "a"), 0);
  commit(l->s);
  lm_close(l);
}

static void test_lmdb_deadlines_in_order_and_batches_drop_whole(void **state)
{
  struct lm *l = lm_open(10);
  const struct store_ops *o = l->s->ops;
  struct contact *c = o->contact_create(l->s, "c1", 1);
  int64_t due[] = {300, 100, 200};
  uint64_t ids[3];
  for (int i = 0; i < 3; i++) {
    struct conv *cv = o->conv_create(l->s, c, "j", 1, 1);
    cv->status = CONV_LISTENING;
    cv->deadline_ms = due[i];
    ids[i] = cv->id;
    o->conv_put(l->s, cv);
  }
  o->contact_put(l->s, c);
  commit(l->s);
  int64_t when;
  uint64_t id;
  assert_int_equal(o->deadline_next(l->s, &when, &id), 1);
  assert_int_equal(when, 100);
  assert_int_equal(id, ids[1]);
  /* a changed deadline moves in the index */
  struct conv *cv = o->conv_get(l->s, ids[1]);
  cv->deadline_ms = 400;
  o->conv_put(l->s, cv);
  assert_int_equal(o->deadline_next(l->s, &when, &id), 1);
  assert_int_equal(when, 200);
  /* dropped: the change never happened, and the id sequence is not burnt */
  o->abort(l->s);
  assert_int_equal(o->deadline_next(l->s, &when, &id), 1);
  assert_int_equal(when, 100);
  c = o->contact_get(l->s, "c1");
  assert_non_null(c);
  assert_int_equal(c->n_convs, 3);
  assert_int_equal(o->conv_create(l->s, c, "j", 1, 1)->id, ids[2] + 1);
  o->abort(l->s);
  lm_close(l);
}

static void test_lmdb_journey_versions(void **state)
{
  struct lm *l = lm_open(10);
  const struct store_ops *o = l->s->ops;
  assert_int_equal(o->journey_latest(l->s, "welcome"), 0);
  o->journey_put(l->s, "welcome", 1, "v1", 2);
  o->journey_put(l->s, "welcome", 2, "v2", 2);
  o->journey_put(l->s, "welcome_back", 7, "other", 5); /* a name sharing the prefix */
  commit(l->s);
  assert_int_equal(o->journey_latest(l->s, "welcome"), 2);
  assert_int_equal(o->journey_latest(l->s, "welcome_back"), 7);
  char *src;
  size_t len;
  assert_int_equal(o->journey_get(l->s, "welcome", 1, &src, &len), 1);
  assert_string_equal(src, "v1");
  free(src);
  assert_int_equal(o->active_add(l->s, "welcome", 1, 2), 2);
  assert_int_equal(o->active_add(l->s, "welcome", 1, -1), 1);
  o->journey_del(l->s, "welcome", 2);
  commit(l->s);
  assert_int_equal(o->journey_latest(l->s, "welcome"), 1);
  assert_int_equal(o->active_add(l->s, "welcome", 1, 0), 1);
  lm_close(l);
}

/* A store of either backend, in `dir` for LMDB. */
static struct store *open_store(const char *backend, const char *dir)
{
  if (strcmp(backend, "memory") == 0)
    return store_mem_open(10);
  char err[256];
  struct store_lmdb_options o = {dir, 64u << 20, 10, 0, 0};
  struct store *s = store_lmdb_open(&o, err, sizeof err);
  if (!s)
    fail_msg("%s", err);
  return s;
}

static void remove_dir(const char *dir)
{
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* Contact `id`: a conversation listening until `due` (ids[0]) and an ended one (ids[1]),
 * and one history entry. */
static void make_contact(struct store *s, const char *id, int64_t due, uint64_t ids[2])
{
  const struct store_ops *o = s->ops;
  struct contact *c = o->contact_create(s, id, 1);
  struct conv *cv = o->conv_create(s, c, "j", 1, 1);
  cv->status = CONV_LISTENING;
  cv->step = strdup("wait");
  cv->deadline_ms = due;
  ids[0] = cv->id;
  o->conv_put(s, cv);
  cv = o->conv_create(s, c, "j", 1, 1);
  cv->status = CONV_DONE;
  cv->outcome = strdup("finished");
  contact_conv_ended(c, cv->id);
  ids[1] = cv->id;
  o->conv_put(s, cv);
  history_add(&c->history, 10, 1, "event x");
  o->contact_put(s, c);
}

static void put_msg(struct store *s, const char *id, const char *contact, enum msg_state st)
{
  struct parley_msg m = {.channel = "email", .contact = (char *)contact, .state = st};
  snprintf(m.id, sizeof m.id, "%s", id);
  s->ops->msg_put(s, &m);
}

static void list_msg(void *ud, struct parley_msg *m)
{
  strcat(ud, m->id);
  strcat(ud, " ");
  msg_record_free(m);
}

/* What is left of bob, and of the outbox, after ann was erased. */
static void assert_only_bob(struct store *s, int durable, const uint64_t bob[2])
{
  const struct store_ops *o = s->ops;
  int64_t due;
  uint64_t id;
  assert_int_equal(o->deadline_next(s, &due, &id), 1);
  assert_int_equal(due, 200);
  assert_int_equal(id, bob[0]);
  struct contact *c = o->contact_get(s, "bob");
  assert_non_null(c);
  assert_int_equal(c->n_convs, 2);
  assert_int_equal(c->history.n, 1);
  assert_non_null(o->conv_get(s, bob[1]));
  char msgs[64] = "";
  o->msg_each(s, list_msg, msgs);
  assert_string_equal(msgs, durable ? "m2 m4 " : ""); /* the memory store keeps no outbox */
}

/* contact_erase: the contact, its conversations, their deadlines and its messages (queued
 * and dead) go; another contact's stay; LMDB drops an erasure with its batch. */
static void check_erase(const char *backend)
{
  char dir[64] = "/tmp/parley-store-XXXXXX";
  assert_non_null(mkdtemp(dir));
  int durable = strcmp(backend, "lmdb") == 0;
  struct store *s = open_store(backend, dir);
  const struct store_ops *o = s->ops;
  uint64_t ann[2], bob[2];
  make_contact(s, "ann", 100, ann);
  make_contact(s, "bob", 200, bob);
  put_msg(s, "m1", "ann", MSG_QUEUED);
  put_msg(s, "m2", "bob", MSG_QUEUED);
  put_msg(s, "m3", "ann", MSG_DEAD);
  put_msg(s, "m4", "bob", MSG_DEAD);
  commit(s);
  assert_int_equal(o->contact_erase(s, "ann"), 1);
  assert_int_equal(o->contact_erase(s, "nobody"), 0);
  commit(s);
  assert_null(o->contact_get(s, "ann"));
  assert_null(o->conv_get(s, ann[0]));
  assert_null(o->conv_get(s, ann[1]));
  assert_only_bob(s, durable, bob);
  if (durable) { /* a dropped batch takes its erasure with it */
    assert_int_equal(o->contact_erase(s, "bob"), 1);
    assert_null(o->contact_get(s, "bob"));
    o->abort(s);
    assert_only_bob(s, durable, bob);
  }
  struct contact *c = o->contact_create(s, "ann", 5); /* the same id again: a new contact */
  o->contact_put(s, c);
  commit(s);
  c = o->contact_get(s, "ann");
  assert_int_equal(c->n_convs, 0);
  assert_int_equal(c->history.n, 0);
  commit(s);
  o->close(s);
  remove_dir(dir);
}

static void test_erase_memory(void **state)
{
  check_erase("memory");
}

static void test_erase_lmdb(void **state)
{
  check_erase("lmdb");
}

/* One pass of each walk: every record once, deleted ones passed over, then 0, and the
 * next call starts a new pass. */
static void check_one_pass(struct store *s, size_t contacts, size_t convs, uint64_t first_conv)
{
  const struct store_ops *o = s->ops;
  struct conv *cv;
  struct contact *c;
  size_t n = 0;
  uint64_t last = 0;
  while (o->conv_walk(s, &cv) == 1) {
    assert_true(cv->id > last); /* in id order on both backends */
    last = cv->id;
    n++;
  }
  assert_int_equal(n, convs);
  assert_int_equal(o->conv_walk(s, &cv), 1);
  assert_int_equal(cv->id, first_conv);
  while (o->conv_walk(s, &cv) == 1)
    ;
  char names[64] = "";
  for (n = 0; o->contact_walk(s, &c) == 1; n++)
    names[c->id[1] - '0'] = 1;
  assert_int_equal(n, contacts);
  for (size_t i = 0; i < contacts; i++)
    assert_int_equal(names[i], 1);
  assert_int_equal(o->contact_walk(s, &c), 1); /* a new pass */
  while (o->contact_walk(s, &c) == 1)
    ;
}

static void check_walks(const char *backend)
{
  char dir[64] = "/tmp/parley-store-XXXXXX", id[8];
  assert_non_null(mkdtemp(dir));
  struct store *s = open_store(backend, dir);
  const struct store_ops *o = s->ops;
  uint64_t ids[2];
  for (int i = 0; i < 3; i++) {
    snprintf(id, sizeof id, "c%d", i);
    make_contact(s, id, 100 + i, ids);
  }
  commit(s);
  check_one_pass(s, 3, 6, 1);
  struct contact *c = o->contact_get(s, "c0");
  contact_conv_forget(c, 1);
  o->contact_put(s, c);
  o->conv_del(s, 1);
  commit(s);
  c = o->contact_get(s, "c0");
  assert_int_equal(c->n_convs, 1);
  check_one_pass(s, 3, 5, 2);
  o->close(s);
  remove_dir(dir);
}

/* Entries of the LMDB store's named DB `name` in `dir`, read by LMDB itself. */
static size_t lmdb_entries(const char *dir, const char *name)
{
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_stat st;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
  assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
  assert_int_equal(mdb_stat(txn, dbi, &st), 0);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return st.ms_entries;
}

/* The history's lines, oldest first, joined by '|'. */
static void history_text(const struct conv *cv, char *out, size_t len)
{
  out[0] = '\0';
  for (size_t i = 0; i < cv->history.n; i++) {
    const struct hist_entry *e = history_at(&cv->history, i);
    snprintf(out + strlen(out), len - strlen(out), "%s%s@%lld", i ? "|" : "", e->what, (long long)e->at_ms);
  }
}

/* conv_note: a line for a conversation not in the batch is written apart and is part of
 * its history from then on (once, in order, after a reopen too); a put folds it into the
 * record; a conversation of the batch takes it at once; a deleted conversation's notes go
 * with it, and a note for a missing one is not kept. */
static void check_notes(const char *backend)
{
  char dir[64] = "/tmp/parley-store-XXXXXX", text[512];
  assert_non_null(mkdtemp(dir));
  struct store *s = open_store(backend, dir);
  const struct store_ops *o = s->ops;
  uint64_t ids[2];
  make_contact(s, "n0", 100, ids);
  history_add(&o->conv_get(s, ids[0])->history, 10, 5, "spoke email/w id=m1");
  o->conv_put(s, o->conv_get(s, ids[0]));
  commit(s);
  assert_int_equal(o->conv_note(s, ids[0], 7, "delivered email/w id=m1", 10), 0);
  assert_int_equal(o->conv_note(s, ids[0], 7, "delivered email/w id=m2", 10), 0);
  assert_int_equal(o->conv_note(s, 999, 7, "delivered email/w id=m3", 10), 0); /* no such conversation */
  commit(s);
  history_text(o->conv_get(s, ids[0]), text, sizeof text);
  assert_string_equal(text, "spoke email/w id=m1@5|delivered email/w id=m1@7|delivered email/w id=m2@7");
  commit(s); /* read, not put: the notes stay notes, and are read once again */
  history_text(o->conv_get(s, ids[0]), text, sizeof text);
  assert_string_equal(text, "spoke email/w id=m1@5|delivered email/w id=m1@7|delivered email/w id=m2@7");
  struct conv *cv = o->conv_get(s, ids[0]);
  history_add(&cv->history, 10, 9, "woken by x");
  o->conv_put(s, cv); /* folded into the record: no note is left to be read twice */
  assert_int_equal(o->conv_note(s, ids[0], 11, "delivered email/w id=m4", 10), 0); /* in the batch */
  commit(s);
  if (strcmp(backend, "lmdb") == 0) {
    o->close(s);
    s = open_store(backend, dir);
    o = s->ops;
  }
  history_text(o->conv_get(s, ids[0]), text, sizeof text);
  assert_string_equal(text, "spoke email/w id=m1@5|delivered email/w id=m1@7|delivered email/w id=m2@7|"
                            "woken by x@9|delivered email/w id=m4@11");
  commit(s);
  assert_int_equal(o->conv_note(s, ids[1], 12, "delivered email/w id=m5", 10), 0);
  commit(s);
  int lmdb = strcmp(backend, "lmdb") == 0;
  if (lmdb)
    assert_int_equal(lmdb_entries(dir, "notes"), 1); /* m5's: m1 and m2's were folded */
  o->conv_del(s, ids[1]);
  commit(s);
  assert_null(o->conv_get(s, ids[1]));
  o->close(s);
  if (lmdb)
    assert_int_equal(lmdb_entries(dir, "notes"), 0);
  remove_dir(dir);
}

static void test_notes_memory(void **state)
{
  check_notes("memory");
}

static void test_notes_lmdb(void **state)
{
  check_notes("lmdb");
}

static void test_walks_memory(void **state)
{
  check_walks("memory");
}

/* LMDB keeps where the walks stand with each commit: a restart goes on from there, and a
 * dropped batch goes back to it. */
static void test_walks_lmdb_resume(void **state)
{
  char dir[64] = "/tmp/parley-store-XXXXXX", id[8];
  assert_non_null(mkdtemp(dir));
  check_walks("lmdb");
  struct store *s = open_store("lmdb", dir);
  const struct store_ops *o = s->ops;
  uint64_t ids[2];
  struct conv *cv;
  struct contact *c;
  for (int i = 0; i < 3; i++) {
    snprintf(id, sizeof id, "c%d", i);
    make_contact(s, id, 100 + i, ids);
  }
  commit(s);
  for (int i = 0; i < 3; i++)
    assert_int_equal(o->conv_walk(s, &cv), 1);
  assert_int_equal(o->contact_walk(s, &c), 1);
  assert_string_equal(c->id, "c0");
  o->event_seen(s, "e1"); /* something to commit */
  commit(s);
  o->close(s);
  s = open_store("lmdb", dir);
  o = s->ops;
  assert_int_equal(o->conv_walk(s, &cv), 1);
  assert_int_equal(cv->id, 4);
  assert_int_equal(o->contact_walk(s, &c), 1);
  assert_string_equal(c->id, "c1");
  o->event_seen(s, "e2");
  commit(s);
  assert_int_equal(o->conv_walk(s, &cv), 1);
  assert_int_equal(cv->id, 5);
  o->abort(s);
  assert_int_equal(o->conv_walk(s, &cv), 1);
  assert_int_equal(cv->id, 5);
  o->abort(s);
  o->close(s);
  remove_dir(dir);
}

/* Retries wait base * 2^(attempt-1), capped, each time a random 50-100% of that. */
static void test_backoff_doubles_with_jitter_and_caps(void **state)
{
  struct outbox_policy p = {.retry_base_ms = 1000, .retry_max_ms = 60000};
  int64_t lo[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  int64_t hi[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (unsigned a = 1; a <= 9; a++) {
    int64_t min = INT64_MAX, max = 0;
    for (int i = 0; i < 200; i++) {
      int64_t d = outbox_backoff_ms(&p, a);
      min = d < min ? d : min;
      max = d > max ? d : max;
    }
    if (min < lo[a - 1] || max > hi[a - 1])
      fail_msg("attempt %u: waits %lld..%lld, want within %lld..%lld", a, (long long)min, (long long)max,
               (long long)lo[a - 1], (long long)hi[a - 1]);
    assert_true(max > min); /* jitter: not every wait the same */
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_history_grows_then_drops_the_oldest),
      cmocka_unit_test(test_history_forgets_by_age),
      cmocka_unit_test(test_smap),
      cmocka_unit_test(test_smap_walk),
      cmocka_unit_test(test_codec_round_trips),
      cmocka_unit_test(test_lmdb_dedupe_window_forgets_the_oldest),
      cmocka_unit_test(test_lmdb_deadlines_in_order_and_batches_drop_whole),
      cmocka_unit_test(test_lmdb_journey_versions),
      cmocka_unit_test(test_lmdb_deferred_flushes),
      cmocka_unit_test(test_erase_memory),
      cmocka_unit_test(test_erase_lmdb),
      cmocka_unit_test(test_notes_memory),
      cmocka_unit_test(test_notes_lmdb),
      cmocka_unit_test(test_walks_memory),
      cmocka_unit_test(test_walks_lmdb_resume),
      cmocka_unit_test(test_backoff_doubles_with_jitter_and_caps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

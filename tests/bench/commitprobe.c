/* commitprobe: what one durable LMDB commit costs on this disk, for `make bench` to hold
 * the daemon's latency against. In a fresh environment in DIR (default LMDB settings:
 * each commit flushes the data, then writes the meta page synchronously), N transactions
 * (default 2000) each put one 300-byte record under a new key; each mdb_txn_commit is
 * timed. Prints one JSON object: {"commits":N,"p50":..,"p90":..,"p99":..,"max":..} in ms.
 *
 *   commitprobe DIR [N]
 *
 * Exits 0, or 2 with a message on stderr when the environment cannot be used. */
#define _GNU_SOURCE
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(const double *v, long n, double p)
{
  long i = (long)(p / 100.0 * (double)n);
  return v[i < n ? i : n - 1];
}

static int fail(const char *what, int rc)
{
  fprintf(stderr, "commitprobe: %s: %s\n", what, mdb_strerror(rc));
  return 2;
}

int main(int argc, char **argv)
{
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: commitprobe DIR [COMMITS]\n");
    return 2;
  }
  long n = argc == 3 ? strtol(argv[2], NULL, 10) : 2000;
  if (n < 1 || n > 1000000) {
    fprintf(stderr, "commitprobe: COMMITS must be 1..1000000\n");
    return 2;
  }
  mkdir(argv[1], 0750);
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *txn;
  int rc;
  if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, (size_t)256 << 20)) ||
      (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0640)))
    return fail(argv[1], rc);
  if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) ||
      (rc = mdb_txn_commit(txn)))
    return fail("open", rc);
  double *lat = malloc((size_t)n * sizeof *lat);
  if (!lat) {
    fprintf(stderr, "commitprobe: out of memory\n");
    return 2;
  }
  char value[300];
  memset(value, 'x', sizeof value);
  for (long i = 0; i < n; i++) {
    char key[32];
    MDB_val k = {(size_t)snprintf(key, sizeof key, "k%09ld", i), key}, v = {sizeof value, value};
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) || (rc = mdb_put(txn, dbi, &k, &v, 0)))
      return fail("put", rc);
    double t0 = now_ms();
    if ((rc = mdb_txn_commit(txn)))
      return fail("commit", rc);
    lat[i] = now_ms() - t0;
  }
  mdb_env_close(env);
  qsort(lat, (size_t)n, sizeof *lat, cmp);
  printf("{\"commits\":%ld,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}\n", n, pct(lat, n, 50),
         pct(lat, n, 90), pct(lat, n, 99), lat[n - 1]);
  free(lat);
  return 0;
}

/* `parley inspect`: what the daemon knows of one contact (profile, conversations, history,
 * its messages in the outbox), or every dead letter, read from the LMDB store opened
 * read-only. LMDB readers in another process see the last committed state without
 * blocking the daemon, so this works beside a running `parley serve`. */
#ifndef PARLEY_INSPECT_H
#define PARLEY_INSPECT_H
#include <stddef.h>

struct cfg;
struct store;

struct inspect_options {
  const char *config_path; /* NULL: the embedded default */
  const char *contact;     /* the contact to show, or NULL with dead_letters */
  int dead_letters;        /* list every dead letter instead */
  int json;                /* one JSON document on stdout instead of text */
};

/* Opens the daemon's store (<data_dir>/store) read-only. Returns NULL with err. */
struct store *inspect_open_store(const struct cfg *cfg, char *err, size_t errlen);
/* Runs the command. Returns the exit code: 0, or 1 (unknown contact, unreadable store;
 * the reason is on stderr). */
int inspect_run(const struct inspect_options *o);

#endif

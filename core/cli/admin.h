/* Operator commands beside a running daemon:
 *   parley backup DIR   a consistent, compacted copy of the LMDB store, taken while the
 *                       daemon serves (an LMDB read snapshot); a daemon starts from it once
 *                       DIR is copied to <data_dir>/store.
 *   parley replay ID    asks the daemon (POST /v1/outbox/{id}/replay on the configured
 *                       listen address) to deliver a dead letter again.
 *   parley send FILE    posts FILE (one JSON event or NDJSON; "-" reads stdin) to the
 *                       daemon's POST /v1/events, all or nothing, and prints the answer.
 *   parley erase ID     asks the daemon (DELETE /v1/contacts/{id}, the id percent-encoded)
 *                       to erase a contact; 1 when it has no such contact.
 * replay, send and erase carry `Authorization: Bearer $PARLEY_TOKEN` when PARLEY_TOKEN is
 * set (a token of `parley token create`); the token is never printed.
 * Each returns the process exit code and explains a failure once, on stderr. */
#ifndef PARLEY_ADMIN_H
#define PARLEY_ADMIN_H

int admin_backup(const char *config_path, const char *dir);
int admin_replay(const char *config_path, const char *msg_id);
int admin_send(const char *config_path, const char *path);
int admin_erase(const char *config_path, const char *contact);

#endif

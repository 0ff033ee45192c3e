/* A real Kannel SMS gateway for the integration tests: bearerbox and smsbox from Debian's
 * `kannel` package, started on free loopback ports with a generated kannel.conf, and the
 * test itself as the SMS centre behind them.
 *
 * The SMS centre is Kannel's `smsc = fake` connector: bearerbox listens on a loopback port
 * and speaks a line protocol to one client, `<from> <to> <type> <data>\n`. The harness is
 * that client (Kannel's own `fakesmsc` program only injects the MOs it was started with,
 * and bearerbox takes one client at a time, so the test holds the connection itself):
 *   - what bearerbox sends (MT) arrives as lines: `text <raw UTF-8>` for GSM-7 (coding 0),
 *     `ucs-2 <url-encoded UTF-16BE>` for UCS-2 (coding 2), `data <url-encoded>` for 8-bit,
 *     `udh <url-encoded UDH> data <url-encoded part>` for each part of a long message
 *     (the part's coding is not on the line: the harness reads it from bearerbox's access
 *     log, one "Sent SMS" line per message, in order);
 *   - a line the test writes is an MO: `text <UTF-8>` (coding 0), `ucs2 <url-encoded
 *     UTF-16BE>`; smsbox has `mo-recode = true`, so a UCS-2 MO reaches the sms-service
 *     recoded to UTF-8 (coding 0, charset UTF-8).
 *
 * Delivery reports (DLRs): with `dlr-mask`, bearerbox itself reports 8 (SMSC accepted,
 * answer "ACK/") when the message is written to the fake SMSC, and the fake connector
 * reports 1 (delivered, empty answer) right after; for a long message, one of each for the
 * whole message, in either order. The fake SMSC cannot report a failure; a number under
 * KANNEL_REFUSED_PREFIX is refused by the routing instead (the fake connector has it as
 * `denied-prefix`): sendsms answers 403 "Not routable. Do not try again." and smsbox calls
 * the dlr-url with 16 (answer "NACK/no SMSC"). These are Kannel's own reports, none is made
 * up by the test.
 *
 * The contract with the `sms` plugin (dialect "kannel"), channel `sms` in the tests:
 *   MT:  GET <kannel_sendsms_url>?username=&password=&from=&to=&text=&charset=UTF-8
 *        &coding=0|2&dlr-mask=31&dlr-url=<public_url>/v1/channels/<channel>/kannel/dlr
 *        ?r=<the channel's reference>&t=<its signature>&status=%d&answer=%A  (E.164, '+')
 *        202 "0: Accepted for delivery" or "3: Queued for later delivery": accepted;
 *        403 "Not routable. Do not try again.": refused for good; 4xx other: refused;
 *        no connection or 5xx: try again later.
 *   MO:  GET <public_url>/v1/channels/<channel>/kannel/mo?secret=<inbound secret>&from=%p
 *        &to=%P&text=%b&coding=%c&charset=%C&id=%I&time=%T
 *        (%b, not %a: %a collapses runs of white space; with mo-recode %b is UTF-8 for GSM
 *        and UCS-2 MOs alike; %T is Unix time, %t would be Kannel's local time). The
 *        sms-service answers nothing to the phone (max-messages = 0, omit-empty = true).
 * kannel_mo_url() writes that MO URL; CONTRACT.md at the top of the tree says the same. */
#ifndef PARLEY_TEST_KANNEL_H
#define PARLEY_TEST_KANNEL_H
#include <stddef.h>
#include <sys/types.h>

#define KANNEL_BEARERBOX "/usr/sbin/bearerbox"
#define KANNEL_SMSBOX "/usr/sbin/smsbox"
/* Numbers starting with this are refused by Kannel's routing (see above). */
#define KANNEL_REFUSED_PREFIX "+999"
#define KANNEL_MAX_PARTS 8
#define KANNEL_TEXT_MAX 2048

struct kannel_opts {
  const char *mo_url;   /* the sms-service get-url (Kannel escapes included); required */
  const char *username; /* the sendsms-user; NULL: "parley" */
  const char *password; /* NULL: "kannel-test-password" */
};

/* One part of a message as it reached the SMS centre. */
struct kannel_part {
  unsigned char udh[16]; /* the user data header; udh_len 0: a single message */
  size_t udh_len;
  int ref, total, seq;   /* from the concatenation element of the UDH */
  unsigned char data[512]; /* as decoded from the line */
  size_t len;
};

/* One message (MT) as it reached the SMS centre, its parts put together. */
struct kannel_mt {
  char from[40], to[40];
  int coding;                  /* 0 GSM-7, 1 8-bit, 2 UCS-2 */
  char text[KANNEL_TEXT_MAX];  /* the whole text, decoded to UTF-8 */
  int nparts;
  struct kannel_part parts[KANNEL_MAX_PARTS];
};

struct kannel {
  char dir[64], conf[128], access_log[128];
  char username[64], password[64];
  int admin_port, box_port, smsc_port, sendsms_port;
  pid_t bearerbox, smsbox;
  int smsc_fd;                /* the harness's end of the fake SMSC connection; -1: none */
  char *in;                   /* bytes read from it, not yet taken as messages */
  size_t in_len, in_cap;
  long sent_taken;            /* "Sent SMS" lines of the access log already matched */
  struct kannel_part pending[KANNEL_MAX_PARTS]; /* parts of a long message still coming */
  int npending;
};

/* Writes kannel.conf into a fresh temporary folder, starts bearerbox, connects as the SMS
 * centre, starts smsbox and waits until Kannel reports both online. 0, or -1 (the logs are
 * printed). */
int kannel_start(struct kannel *k, const struct kannel_opts *o);
/* The sendsms URL, for the plugin's `url` (no query). */
const char *kannel_sendsms_url(const struct kannel *k, char *out, size_t cap);
/* The contract's MO URL for a daemon at `public_url` (no trailing '/'). */
void kannel_mo_url(char *out, size_t cap, const char *public_url, const char *channel, const char *secret);
/* The next message that reached the SMS centre, waiting up to `ms`. 0, or -1 (nothing came,
 * or what came does not parse: said on stderr). */
int kannel_wait_mt(struct kannel *k, long ms, struct kannel_mt *out);
/* Whether nothing more reached the SMS centre within `ms` (1), or something did (0). */
int kannel_quiet(struct kannel *k, long ms);
/* A reply from the phone `from` to `to`: GSM text when `text` is printable ASCII, UCS-2
 * otherwise. 0, or -1 (not connected). */
int kannel_send_mo(struct kannel *k, const char *from, const char *to, const char *text);
/* Stops bearerbox and smsbox (SIGTERM, waited for): sendsms refuses connections until
 * kannel_resume, which starts them again on the same ports and configuration (the same
 * spool folder) and reconnects the SMS centre. What bearerbox wrote to the SMS centre
 * before it went is kept for kannel_wait_mt. 0, or -1. */
int kannel_stop(struct kannel *k);
int kannel_resume(struct kannel *k);
/* Kills what it started (by PID) and removes the folder. */
void kannel_free(struct kannel *k);
void kannel_dump_logs(const struct kannel *k);

#endif

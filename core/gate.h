/* The speak gate: the core's rules on whether a message may go to a contact on a channel
 * about a topic, asked by c:speak and c:can_speak, which no journey can get around. */
#ifndef PARLEY_GATE_H
#define PARLEY_GATE_H
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct lhost_cap;
struct touch;

/* Why a speak was refused: counted per reason in /metrics. */
enum gate_reason {
  GATE_OK = 0,
  GATE_NO_CHANNEL,   /* no such channel is configured */
  GATE_UNSUBSCRIBED, /* the contact unsubscribed from everything but transactional */
  GATE_NO_CONSENT,   /* opted out of the channel or the topic, or not opted in where it must */
  GATE_NO_ADDRESS,   /* no address for the channel */
  GATE_SUPPRESSED,   /* that address is suppressed on the channel (bounced, STOP) */
  GATE_CAP,          /* a fatigue cap is reached */
  GATE_CHANNEL,      /* the channel's plugin refused the message (its check) */
  GATE_GLOBAL_SUPPRESSED, /* the address is on the channel's global suppression list (suppress.h) */
  GATE_REASONS
};

/* "no_consent" ... as /metrics labels them. */
const char *gate_reason_name(enum gate_reason r);

/* What is asked: may `channel` carry a message about `topic` (NULL: marketing) to the
 * contact with `profile` and these counted messages (struct contact's touches), now? */
struct gate_ask {
  const cJSON *profile;
  const char *channel, *topic;
  const struct touch *touches;
  size_t n_touches;
  int64_t now_ms;
  const char *journey;                  /* the journey speaking, and its own caps */
  const struct lhost_cap *journey_caps;
  size_t n_journey_caps;
  /* The API's suppression list (supdb.h): 1 with the words in why when `address` is on it
   * for `channel`; NULL: no such list (the configuration's lists are asked all the same). */
  int (*listed)(void *ud, const char *channel, const char *address_attr, const char *address, char *why,
                size_t len);
  void *listed_ud;
};

/* The rules, in order: channel, unsubscribed, consent, address, the global suppression
 * lists (the configuration's, then the API's; every topic, transactional too), the contact's suppression, caps.
 * GATE_OK, or a reason with `why` in words ("no consent for sms marketing"); -1 with `why`
 * when the topic is not one the configuration declares (the journey's mistake, not a
 * refusal). An address attribute holding an object (profile.devices: push tokens) is an
 * address when it has a member; its devices are the plugin's to pick, so the lists and
 * the suppression, which name one address, do not apply to it. */
int gate_speak(const struct cfg *cfg, const struct gate_ask *a, char *why, size_t len);
/* Whether a message about `topic` counts against the caps (it is not exempt). */
int gate_counts(const struct cfg *cfg, const char *topic);

#endif

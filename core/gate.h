/* The speak gate: the core's rules on whether a message may go to a contact on a channel
 * about a topic, asked by c:speak and c:can_speak, which no journey can get around. */
#ifndef PARLEY_GATE_H
#define PARLEY_GATE_H
#include <cJSON.h>
#include <stddef.h>

struct cfg;

/* Why a speak was refused: counted per reason in /metrics. */
enum gate_reason {
  GATE_OK = 0,
  GATE_NO_CHANNEL,   /* no such channel is configured */
  GATE_UNSUBSCRIBED, /* the contact unsubscribed from everything but transactional */
  GATE_NO_CONSENT,   /* opted out of the channel or the topic, or not opted in where it must */
  GATE_NO_ADDRESS,   /* no address for the channel */
  GATE_SUPPRESSED,   /* that address is suppressed on the channel (bounced, STOP) */
  GATE_CHANNEL,      /* the channel's plugin refused the message (its check) */
  GATE_REASONS
};

/* "no_consent" ... as /metrics labels them. */
const char *gate_reason_name(enum gate_reason r);

/* The rules, in order: channel, unsubscribed, consent, address, suppression. GATE_OK, or a
 * reason with `why` in words ("no consent for sms marketing"); -1 with `why` when the
 * topic is not one the configuration declares (the journey's mistake, not a refusal).
 * `topic` NULL is marketing. */
int gate_speak(const struct cfg *cfg, const cJSON *profile, const char *channel, const char *topic,
               char *why, size_t len);

#endif

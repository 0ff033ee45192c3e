/* The lines of a contact's history: written here and read back here, so the writer and
 * the reader cannot drift. A line stays readable text (parley inspect and the API show it
 * as it is) and reads back as a structured entry for the journeys' c:history and for
 * `parley test`:
 *   event TYPE[ id=ID][ data=JSON]                      (histline_event)
 *   entered JOURNEY                                     (histline_entered)
 *   spoke CHANNEL/TEMPLATE (JOURNEY) id=ID[ info...]    (histline_spoke)
 *   refused CHANNEL/TEMPLATE (JOURNEY): REASON          (histline_refused)
 *   held CHANNEL/TEMPLATE (JOURNEY) id=ID until LOCAL (quiet hours)   (histline_held)
 *   offered OFFER (JOURNEY)[ on CHANNEL/TEMPLATE]       (histline_offered)
 * Any other line ("profile updated", a kind a later version writes) reads back with its
 * first word as its kind. No state. */
#ifndef PARLEY_HISTLINE_H
#define PARLEY_HISTLINE_H
#include <stddef.h>
#include <stdint.h>

typedef struct cJSON cJSON;

/* The longest line kept (history_add cuts a longer one). */
#define HISTLINE_MAX 512
/* What an event line keeps of the event's data: its top-level text, numbers and
 * true/false ("total", "currency", "order_id"), text of at most HISTLINE_DATA_TEXT bytes,
 * as many as fit in HISTLINE_DATA_MAX bytes of JSON; lists and nested objects are left
 * out. Bounded, so a history of `limits.history` lines stays small. */
#define HISTLINE_DATA_MAX 200
#define HISTLINE_DATA_TEXT 64

/* Each writes one line in out (HISTLINE_MAX bytes): */
void histline_event(char *out, size_t len, const char *type, const char *id, const cJSON *data);
void histline_entered(char *out, size_t len, const char *journey);
void histline_spoke(char *out, size_t len, const char *channel, const char *template_name,
                    const char *journey, const char *msg_id, const char *info);
void histline_refused(char *out, size_t len, const char *channel, const char *template_name,
                      const char *journey, const char *reason);
void histline_held(char *out, size_t len, const char *channel, const char *template_name,
                   const char *journey, const char *msg_id, const char *until_local);
void histline_offered(char *out, size_t len, const char *offer, const char *journey,
                      const char *channel, const char *template_name);

/* One line read back. Every field points into the caller's buffer; NULL when the line
 * has none. `kind` is never NULL ("event", "spoke", ..., or the line's first word). */
struct histline {
  const char *kind;
  const char *type;    /* event */
  const char *id;      /* event, spoke, held: the event's or the message's id */
  const char *data;    /* event: the JSON object kept of its data */
  const char *channel; /* spoke, refused, held, offered (when on a channel) */
  const char *template_name;
  const char *journey; /* entered, spoke, refused, held, offered */
  const char *reason;  /* refused */
  const char *offer;   /* offered */
};

/* Reads `line` into *out, cutting a copy of it in buf (at least HISTLINE_MAX bytes). */
void histline_parse(const char *line, char *buf, size_t len, struct histline *out);

#endif

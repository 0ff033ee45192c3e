/* Checks on text that comes from outside (events, request paths): UTF-8 well-formedness,
 * control characters, and the NULs a JSON parser turns into the end of a C string. No
 * state. */
#ifndef PARLEY_TEXT_H
#define PARLEY_TEXT_H
#include <stddef.h>

/* 1 when s[0..len) is well-formed UTF-8: no overlong form, no surrogate, nothing above
 * U+10FFFF, no sequence cut short. Else 0. */
int text_utf8_ok(const char *s, size_t len);
/* 1 when the well-formed UTF-8 s[0..len) holds a control character: C0 (NUL included),
 * DEL or C1 (U+0080-U+009F). Else 0. */
int text_has_control(const char *s, size_t len);
/* The length of the longest prefix of the well-formed UTF-8 s that is at most max bytes
 * and does not cut a character in two: for quoting it in a message ("%.*s"). */
int text_clip(const char *s, size_t max);
/* The position, counted from 0 in order of appearance (object keys included), of the
 * first string of the JSON text json[0..len) that holds a NUL, escaped (\u0000) or raw; -1
 * when none does. Meant for text a JSON parser has accepted. */
long text_json_nul_string(const char *json, size_t len);

#endif

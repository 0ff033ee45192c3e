/* The harness as Kannel's fake SMS centre (see kannel.h for the line protocol): messages
 * bearerbox sends are read, their parts put together and decoded to UTF-8; replies from
 * phones are written back. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "kannel.h"
#include "kannel_int.h"

int ksmsc_connect(struct kannel *k)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)k->smsc_port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  k->smsc_fd = fd;
  return 0;
}

void ksmsc_close(struct kannel *k)
{
  if (k->smsc_fd >= 0)
    close(k->smsc_fd);
  k->smsc_fd = -1;
}

/* Waits up to `ms` for bytes and appends them to k->in: the count, 0 (none), -1 (the
 * connection ended: closed here). */
static ssize_t fill(struct kannel *k, long ms)
{
  struct pollfd p = {.fd = k->smsc_fd, .events = POLLIN};
  if (k->smsc_fd < 0 || poll(&p, 1, (int)ms) <= 0)
    return 0;
  if (k->in_cap - k->in_len < 4096) {
    k->in_cap = k->in_cap * 2 + 8192;
    k->in = realloc(k->in, k->in_cap);
    if (k->in == NULL)
      abort();
  }
  ssize_t n = read(k->smsc_fd, k->in + k->in_len, k->in_cap - k->in_len - 1);
  if (n <= 0) {
    ksmsc_close(k);
    return -1;
  }
  k->in_len += (size_t)n;
  return n;
}

void ksmsc_drain(struct kannel *k)
{
  while (fill(k, 0) > 0)
    ;
}

/* The first complete line of k->in (malloc'd, without its '\n'), taken out; NULL: none. */
static char *take_line(struct kannel *k)
{
  char *nl = k->in ? memchr(k->in, '\n', k->in_len) : NULL;
  if (nl == NULL)
    return NULL;
  size_t len = (size_t)(nl - k->in);
  char *line = malloc(len + 1);
  if (line == NULL)
    abort();
  memcpy(line, k->in, len);
  line[len] = '\0';
  memmove(k->in, nl + 1, k->in_len - len - 1);
  k->in_len -= len + 1;
  return line;
}

/* Whether `line` starts a message: `<from> <to> <type> `, with a type bearerbox writes. */
static int is_header(const char *line)
{
  static const char *const types[] = {"text ", "ucs-2 ", "data ", "udh "};
  const char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
  if (sp1 == NULL || sp2 == NULL || sp1 == line || sp2 == sp1 + 1)
    return 0;
  for (const char *c = line; c < sp2; c++)
    if (c != sp1 && strchr("+0123456789", *c) == NULL)
      return 0;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (strncmp(sp2 + 1, types[i], strlen(types[i])) == 0)
      return 1;
  return 0;
}

/* A GSM text with a line break arrives as several lines: the ones that do not start a
 * message are joined back to `line` (bearerbox writes a message in one go, so they are
 * already here when the first one is). */
static char *join_continuations(struct kannel *k, char *line)
{
  for (;;) {
    char *nl = k->in ? memchr(k->in, '\n', k->in_len) : NULL;
    if (nl == NULL)
      return line;
    *nl = '\0';
    int header = is_header(k->in);
    *nl = '\n';
    if (header)
      return line;
    char *next = take_line(k);
    size_t a = strlen(line), b = strlen(next);
    line = realloc(line, a + b + 2);
    if (line == NULL)
      abort();
    line[a] = '\n';
    memcpy(line + a + 1, next, b + 1);
    free(next);
  }
}

static int hexval(int c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Kannel's URL encoding ('+' a space) into `out`; the length, or -1 (malformed, too long). */
static long url_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (i + 2 >= n || hi < 0 || lo < 0)
        return -1;
      c = hi * 16 + lo;
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    if (len == cap)
      return -1;
    out[len++] = (unsigned char)c;
  }
  return (long)len;
}

/* UTF-16BE (surrogate pairs included) to UTF-8. 0, or -1 (odd length, lone surrogate,
 * too long). */
static int utf16_to_utf8(const unsigned char *in, size_t n, char *out, size_t cap)
{
  size_t len = 0;
  if (n % 2)
    return -1;
  for (size_t i = 0; i < n; i += 2) {
    unsigned long cp = (unsigned long)in[i] << 8 | in[i + 1];
    if (cp >= 0xD800 && cp < 0xDC00 && i + 3 < n) {
      unsigned long lo = (unsigned long)in[i + 2] << 8 | in[i + 3];
      if (lo < 0xDC00 || lo > 0xDFFF)
        return -1;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      return -1;
    }
    if (len + 5 > cap)
      return -1;
    if (cp < 0x80) {
      out[len++] = (char)cp;
    } else if (cp < 0x800) {
      out[len++] = (char)(0xC0 | cp >> 6);
      out[len++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out[len++] = (char)(0xE0 | cp >> 12);
      out[len++] = (char)(0x80 | (cp >> 6 & 0x3F));
      out[len++] = (char)(0x80 | (cp & 0x3F));
    } else {
      out[len++] = (char)(0xF0 | cp >> 18);
      out[len++] = (char)(0x80 | (cp >> 12 & 0x3F));
      out[len++] = (char)(0x80 | (cp >> 6 & 0x3F));
      out[len++] = (char)(0x80 | (cp & 0x3F));
    }
  }
  out[len] = '\0';
  return 0;
}

/* The concatenation element of a UDH (8- or 16-bit reference). 0, or -1 (none). */
static int udh_concat(struct kannel_part *p)
{
  size_t i = 1, end = (size_t)p->udh[0] + 1;
  if (p->udh_len < 1 || end > p->udh_len)
    return -1;
  while (i + 2 <= end) {
    int iei = p->udh[i], len = p->udh[i + 1];
    const unsigned char *v = p->udh + i + 2;
    if (i + 2 + (size_t)len > end)
      return -1;
    if (iei == 0x00 && len == 3) {
      p->ref = v[0], p->total = v[1], p->seq = v[2];
      return p->total > 0 && p->seq >= 1 && p->seq <= p->total ? 0 : -1;
    }
    if (iei == 0x08 && len == 4) {
      p->ref = v[0] << 8 | v[1], p->total = v[2], p->seq = v[3];
      return p->total > 0 && p->seq >= 1 && p->seq <= p->total ? 0 : -1;
    }
    i += 2 + (size_t)len;
  }
  return -1;
}

/* One line bearerbox wrote: `from`, `to` and the part into `mt`/`part`; its coding as the
 * type says (-1 for a part of a long message: not on the line). 0, or -1. */
static int parse_line(const char *line, struct kannel_mt *mt, struct kannel_part *part, int *coding)
{
  const char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
  const char *type = sp2 ? sp2 + 1 : NULL, *rest = type ? strchr(type, ' ') : NULL;
  long n;
  if (rest == NULL || (size_t)(sp1 - line) >= sizeof mt->from || (size_t)(sp2 - sp1 - 1) >= sizeof mt->to)
    return -1;
  snprintf(mt->from, sizeof mt->from, "%.*s", (int)(sp1 - line), line);
  snprintf(mt->to, sizeof mt->to, "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
  rest++;
  memset(part, 0, sizeof *part);
  if (strncmp(type, "text ", 5) == 0) {
    if (strlen(rest) > sizeof part->data)
      return -1;
    memcpy(part->data, rest, part->len = strlen(rest));
    return *coding = 0;
  }
  if (strncmp(type, "udh ", 4) == 0) {
    const char *data = strstr(rest, " data ");
    if (data == NULL || (n = url_decode(rest, (size_t)(data - rest), part->udh, sizeof part->udh)) < 0)
      return -1;
    part->udh_len = (size_t)n;
    rest = data + 6;
    *coding = -1;
    if (udh_concat(part) < 0)
      return -1;
  } else if (strncmp(type, "ucs-2 ", 6) == 0) {
    *coding = 2;
  } else if (strncmp(type, "data ", 5) == 0) {
    *coding = 1;
  } else {
    return -1;
  }
  if ((n = url_decode(rest, strlen(rest), part->data, sizeof part->data)) < 0)
    return -1;
  part->len = (size_t)n;
  return 0;
}

/* The coding bearerbox logged for the next message it sent ("Sent SMS" lines of the
 * access log, in order), waiting until `deadline`; checks the numbers match. 0, or -1. */
static int logged_coding(struct kannel *k, const struct kannel_mt *mt, long deadline, int *coding)
{
  static const char tag[] = "Sent SMS [coding:";
  char line[512], from[64], to[64];
  for (;;) {
    FILE *f = fopen(k->access_log, "r");
    long seen = 0;
    while (f && fgets(line, sizeof line, f)) {
      if (strncmp(line, tag, sizeof tag - 1) != 0 || seen++ < k->sent_taken)
        continue;
      fclose(f);
      k->sent_taken++;
      if (sscanf(line + sizeof tag - 1, "%d] [from:%63[^]]] [to:%63[^]]]", coding, from, to) != 3 ||
          strcmp(from, mt->from) != 0 || strcmp(to, mt->to) != 0) {
        fprintf(stderr, "# kannel: the access log's next sent message is not %s to %s: %s", mt->from, mt->to, line);
        return -1;
      }
      if (*coding < 0)
        *coding = 0; /* DC_UNDEF: sent as GSM-7 */
      return 0;
    }
    if (f)
      fclose(f);
    if (h_now_ms() >= deadline) {
      fprintf(stderr, "# kannel: bearerbox never logged the message to %s as sent\n", mt->to);
      return -1;
    }
    h_sleep_ms(20);
  }
}

/* The message's parts (in order) as UTF-8 text, by its coding. 0, or -1. */
static int decode_text(struct kannel_mt *mt)
{
  unsigned char all[KANNEL_MAX_PARTS * sizeof mt->parts[0].data];
  size_t len = 0;
  for (int i = 0; i < mt->nparts; i++) {
    memcpy(all + len, mt->parts[i].data, mt->parts[i].len);
    len += mt->parts[i].len;
  }
  if (mt->coding == 2)
    return utf16_to_utf8(all, len, mt->text, sizeof mt->text);
  if (len >= sizeof mt->text)
    return -1;
  memcpy(mt->text, all, len); /* GSM-7 reaches the fake SMSC as Kannel holds it: UTF-8 */
  mt->text[len] = '\0';
  return 0;
}

/* A part of a long message joins the others; when all are here they become `mt`'s parts,
 * in order. 1 (complete), 0 (more to come), -1 (more parts than the harness holds). */
static int gather(struct kannel *k, const struct kannel_part *part, struct kannel_mt *mt)
{
  int have = 0;
  if (part->total > KANNEL_MAX_PARTS || k->npending >= KANNEL_MAX_PARTS)
    return -1;
  k->pending[k->npending++] = *part;
  for (int i = 0; i < k->npending; i++)
    have += k->pending[i].ref == part->ref;
  if (have < part->total)
    return 0;
  mt->nparts = 0;
  for (int seq = 1; seq <= part->total; seq++)
    for (int i = 0; i < k->npending; i++)
      if (k->pending[i].ref == part->ref && k->pending[i].seq == seq)
        mt->parts[mt->nparts++] = k->pending[i];
  int kept = 0;
  for (int i = 0; i < k->npending; i++)
    if (k->pending[i].ref != part->ref)
      k->pending[kept++] = k->pending[i];
  k->npending = kept;
  return mt->nparts == part->total ? 1 : -1;
}

/* The next whole message among the lines already read: 1 (in `mt`, `coding` as its
 * line says or -1), 0 (none yet), -1 (a line that does not parse). */
static int next_message(struct kannel *k, struct kannel_mt *mt, int *coding)
{
  char *line;
  while ((line = take_line(k)) != NULL) {
    struct kannel_part part;
    line = join_continuations(k, line);
    int rc = parse_line(line, mt, &part, coding);
    if (rc < 0)
      fprintf(stderr, "# kannel: the fake SMSC got a line the harness cannot read: %s\n", line);
    free(line);
    if (rc < 0)
      return -1;
    if (part.udh_len == 0) {
      mt->parts[0] = part;
      mt->nparts = 1;
      return 1;
    }
    if ((rc = gather(k, &part, mt)) != 0)
      return rc;
  }
  return 0;
}

int kannel_wait_mt(struct kannel *k, long ms, struct kannel_mt *out)
{
  long deadline = h_now_ms() + ms;
  int coding, logged, rc;
  memset(out, 0, sizeof *out);
  while ((rc = next_message(k, out, &coding)) == 0) {
    long left = deadline - h_now_ms();
    if (left <= 0) {
      fprintf(stderr, "# kannel: no message reached the fake SMSC within %ld ms\n", ms);
      return -1;
    }
    if (k->smsc_fd < 0)
      h_sleep_ms(left < 50 ? left : 50);
    else
      fill(k, left < 100 ? left : 100);
  }
  if (rc < 0 || logged_coding(k, out, deadline + 2000, &logged) < 0)
    return -1;
  if (coding >= 0 && coding != logged) {
    fprintf(stderr, "# kannel: the fake SMSC got coding %d, bearerbox logged %d\n", coding, logged);
    return -1;
  }
  out->coding = logged;
  if (decode_text(out) < 0) {
    fprintf(stderr, "# kannel: the message to %s does not decode as coding %d\n", out->to, out->coding);
    return -1;
  }
  return 0;
}

int kannel_quiet(struct kannel *k, long ms)
{
  long deadline = h_now_ms() + ms;
  for (long left = ms; left > 0; left = deadline - h_now_ms()) {
    if (k->smsc_fd < 0)
      h_sleep_ms(left);
    else
      fill(k, left);
  }
  return k->npending == 0 && (k->in == NULL || memchr(k->in, '\n', k->in_len) == NULL);
}

/* UTF-8 to URL-encoded UTF-16BE, every byte as %XX. 0, or -1 (not UTF-8, too long). */
static int utf8_to_ucs2_url(const char *s, char *out, size_t cap)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t len = 0;
  while (*p) {
    unsigned long cp;
    int more = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
    if (more < 0)
      return -1;
    cp = more == 0 ? *p : *p & (0x3F >> more);
    for (int i = 1; i <= more; i++) {
      if ((p[i] & 0xC0) != 0x80)
        return -1;
      cp = cp << 6 | (p[i] & 0x3F);
    }
    p += more + 1;
    unsigned units[2] = {(unsigned)cp, 0};
    int n = 1;
    if (cp >= 0x10000) {
      units[0] = 0xD800 + (unsigned)((cp - 0x10000) >> 10);
      units[1] = 0xDC00 + (unsigned)((cp - 0x10000) & 0x3FF);
      n = 2;
    }
    for (int i = 0; i < n; i++) {
      if (len + 7 > cap)
        return -1;
      len += (size_t)snprintf(out + len, cap - len, "%%%02X%%%02X", units[i] >> 8, units[i] & 0xFF);
    }
  }
  out[len] = '\0';
  return 0;
}

int kannel_send_mo(struct kannel *k, const char *from, const char *to, const char *text)
{
  static char line[8192];
  int ascii = 1;
  size_t len;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    ascii &= *p >= 0x20 && *p < 0x7F;
  if (k->smsc_fd < 0)
    return -1;
  if (ascii) {
    len = (size_t)snprintf(line, sizeof line, "%s %s text %s\n", from, to, text);
  } else {
    len = (size_t)snprintf(line, sizeof line, "%s %s ucs2 ", from, to);
    if (len >= sizeof line || utf8_to_ucs2_url(text, line + len, sizeof line - len - 1) < 0)
      return -1;
    len = strlen(line);
    line[len++] = '\n';
  }
  if (len >= sizeof line)
    return -1;
  for (size_t off = 0; off < len;) {
    ssize_t n = send(k->smsc_fd, line + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    off += (size_t)n;
  }
  return 0;
}

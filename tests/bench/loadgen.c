/* loadgen: the load generator of `make bench`. Plain sockets, HTTP/1.1 keep-alive, a few
 * connections driven by one ppoll loop (nanosecond timeouts, which the open-loop mode
 * needs). Every response must be `200` with `"applied"` equal to the events sent (ids
 * and contacts are unique per run); anything else is counted as a failure, never as
 * throughput.
 *
 *   loadgen -p PORT -m batch  -n EVENTS -b PER_REQUEST [-c CONNS]   events/s, NDJSON bodies
 *   loadgen -p PORT -m single -n REQUESTS [-c CONNS]                 closed loop, req/s
 *   loadgen -p PORT -m rate   -r REQ_PER_S -t SECONDS [-c CONNS]     open loop, latency
 *   loadgen -p PORT -m probe  -u PATH -t SECONDS [-r PER_S]          GET latency, e.g. of
 *                                                                    /healthz under load
 *
 *   loadgen -p PORT -m get -u PATH [-w SECONDS]                      GET until 200 (or give up
 *                                                                    after SECONDS); prints the body
 *   loadgen -m port                                                  prints a free loopback port
 *
 * Common: -s FIRST (contact/event number to start at, default 1), -i ID_PREFIX (event ids
 * are ID_PREFIX-<n>), -k CONTACT_PREFIX (contacts are CONTACT_PREFIX<n>, default "b"),
 * -T LIMIT (give up after LIMIT seconds, default 600), -q (no progress on stderr),
 * -z ZONE (each profile also carries "timezone":"ZONE", so quiet hours are computed in it).
 * Event <n>: {"id":"<ID_PREFIX>-<n>","type":"user.signed_up","contact":"b<n>",
 * "profile":{"email":"b<n>@example.com"}}: it starts a `welcome` conversation that speaks
 * one e-mail and then waits.
 *
 * In `rate` mode request i is *scheduled* at t0 + i/R and its latency runs from that
 * time, not from when a connection was free to send it: a stalled server therefore shows
 * up in the percentiles instead of silently lowering the offered load (no coordinated
 * omission). Latencies in the other modes run from the actual send.
 *
 * `probe` sends GET PATH on one keep-alive connection for SECONDS, one request at a time
 * and at most PER_S a second (default 200): the next goes 1/PER_S after the last was sent,
 * or as soon as its answer is in when that took longer. Every answer must be `200` (the
 * body is not read). It measures how long the server keeps a cheap request waiting while
 * another client loads it; run it beside a `batch`.
 *
 * Prints one JSON object on stdout; exits 0 when every request succeeded, 1 when some
 * failed or the time limit was hit, 2 on a usage or setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256

enum mode { MODE_BATCH, MODE_SINGLE, MODE_RATE, MODE_PROBE, MODE_GET, MODE_PORT };
static const char *const mode_names[] = {"batch", "single", "rate", "probe"};

struct conn {
  int fd;
  int busy;        /* a request is in flight */
  char *req;       /* the whole request: head and body */
  size_t req_len, req_off;
  char *resp;      /* the response as it arrives */
  size_t resp_len, resp_cap;
  long events;     /* events in the request in flight */
  int64_t t_sched; /* when the request was due (rate) or sent (otherwise), ns */
};

static struct {
  enum mode mode;
  const char *host;
  int port;
  long n;        /* events (batch) or requests (single) */
  long per_req;  /* events per request */
  int conns;
  double rate, seconds, limit;
  long first;
  const char *id_prefix, *contact_prefix;
  int quiet;
  const char *path;
  double wait;
  const char *zone; /* NULL: profiles carry no timezone */
} opt = {MODE_BATCH, "127.0.0.1", 0, 0, 1, 0, 0, 0, 600, 1, "bench", "b", 0, "/healthz", 0, NULL};

static struct {
  long next_event;               /* next event number to put in a request (0-based) */
  long req_total, req_issued, req_done;
  long ok, failed, reconnects;
  long events_ok;
  int64_t last_send;             /* when the last request went (probe) */
  double *lat_ms;                /* one per completed request */
  long n_lat;
  char first_error[256];
} st;

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loadgen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(2);
}
__attribute__((format(printf, 1, 2))) static void note_error(const char *fmt, ...)
{
  if (st.first_error[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st.first_error, sizeof st.first_error, fmt, ap);
  va_end(ap);
}

static int open_conn(struct conn *c)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
  if (inet_pton(AF_INET, opt.host, &a.sin_addr) != 1)
    die("bad host %s (an IPv4 address)", opt.host);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* Blocking connect on loopback is immediate; then non-blocking for the loop. */
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  return 0;
}

/* Appends event number k (1-based as posted) to buf at *len; buf has room. */
static size_t put_event(char *buf, long k)
{
  return (size_t)sprintf(buf,
                         "{\"id\":\"%s-%ld\",\"type\":\"user.signed_up\",\"contact\":\"%s%ld\","
                         "\"profile\":{\"email\":\"%s%ld@example.com\"%s%s%s}}\n",
                         opt.id_prefix, k, opt.contact_prefix, k, opt.contact_prefix, k,
                         opt.zone ? ",\"timezone\":\"" : "", opt.zone ? opt.zone : "", opt.zone ? "\"" : "");
}

/* Builds the next request on c: `events` events from st.next_event on. */
static void build_request(struct conn *c, long events)
{
  size_t per = 160 + 3 * strlen(opt.contact_prefix) + strlen(opt.id_prefix) + (opt.zone ? 16 + strlen(opt.zone) : 0);
  size_t need = 256 + (size_t)events * per;
  free(c->req);
  c->req = malloc(need);
  if (!c->req)
    die("out of memory");
  char *body = c->req + 256; /* the head is written in front once the length is known */
  size_t blen = 0;
  for (long i = 0; i < events; i++)
    blen += put_event(body + blen, opt.first + st.next_event + i);
  st.next_event += events;
  char head[256];
  int hlen = snprintf(head, sizeof head,
                      "POST /v1/events HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      opt.host, opt.port, events > 1 ? "application/x-ndjson" : "application/json",
                      blen);
  memmove(c->req, head, (size_t)hlen);
  memmove(c->req + hlen, body, blen);
  c->req_len = (size_t)hlen + blen;
  c->req_off = 0;
  c->resp_len = 0;
  c->events = events;
  c->busy = 1;
}

/* Builds a GET of opt.path on c (probe): keep-alive, no body, no events. */
static void build_get(struct conn *c)
{
  free(c->req);
  int len = asprintf(&c->req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", opt.path, opt.host, opt.port);
  if (len < 0)
    die("out of memory");
  c->req_len = (size_t)len;
  c->req_off = 0;
  c->resp_len = 0;
  c->events = 0;
  c->busy = 1;
}

static void finish(struct conn *c, int ok, int64_t t_done)
{
  c->busy = 0;
  st.req_done++;
  if (ok) {
    st.ok++;
    st.events_ok += c->events;
    st.lat_ms[st.n_lat++] = (double)(t_done - c->t_sched) / 1e6;
  } else {
    st.failed++;
  }
}

/* The connection broke or the server closed it: the request in flight failed. */
static void reset_conn(struct conn *c, const char *why)
{
  if (c->busy) {
    note_error("request failed: %s", why);
    finish(c, 0, now_ns());
  }
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  st.reconnects++;
}

static const char *find_header(const char *head, size_t hlen, const char *name)
{
  size_t nl = strlen(name);
  for (const char *p = head; p && p < head + hlen; p = memchr(p, '\n', (size_t)(head + hlen - p))) {
    if (*p == '\n')
      p++;
    if ((size_t)(head + hlen - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
      return p + nl + 1;
  }
  return NULL;
}

/* Parses c->resp. Returns 1 when a whole response is there (and records it), 0 when more is
 * needed, -1 on a protocol error. */
static int parse_response(struct conn *c)
{
  if (c->resp_len < 4)
    return 0;
  c->resp[c->resp_len] = '\0';
  char *end = strstr(c->resp, "\r\n\r\n");
  if (!end)
    return 0;
  size_t hlen = (size_t)(end - c->resp) + 4;
  int status = 0;
  if (sscanf(c->resp, "HTTP/1.%*d %d", &status) != 1)
    return -1;
  const char *cl = find_header(c->resp, hlen, "Content-Length");
  if (!cl)
    return -1; /* the daemon answers from buffers, always with a length */
  size_t blen = strtoul(cl, NULL, 10);
  if (c->resp_len < hlen + blen)
    return 0;
  if (c->resp_len > hlen + blen)
    return -1; /* no pipelining: nothing may follow */
  int64_t t = now_ns();
  const char *body = c->resp + hlen;
  int ok = status == 200;
  if (!ok) {
    note_error("status %d: %.200s", status, body);
  } else if (opt.mode != MODE_PROBE) {
    const char *ap = strstr(body, "\"applied\":");
    long applied = ap ? strtol(ap + 10, NULL, 10) : -1;
    if (applied != c->events) {
      ok = 0;
      note_error("applied %ld of the events sent: %.200s", applied, body);
    }
  }
  finish(c, ok, t);
  if (c->req_off < c->req_len) { /* answered before the whole body was sent (413): */
    reset_conn(c, "answered early"); /* the rest of it must not become the next request */
    return 1;
  }
  const char *conn_hdr = find_header(c->resp, hlen, "Connection");
  if (conn_hdr) {
    size_t vlen = strcspn(conn_hdr, "\r\n");
    char v[64];
    snprintf(v, sizeof v, "%.*s", (int)(vlen < 63 ? vlen : 63), conn_hdr);
    if (strcasestr(v, "close"))
      reset_conn(c, "closed by the server"); /* not busy any more: no failure counted */
  }
  return 1;
}

static void on_readable(struct conn *c)
{
  for (;;) {
    if (c->resp_cap - c->resp_len < 4096 + 1) {
      size_t ncap = c->resp_cap ? c->resp_cap * 2 : 16384;
      char *nb = realloc(c->resp, ncap);
      if (!nb)
        die("out of memory");
      c->resp = nb;
      c->resp_cap = ncap;
    }
    ssize_t r = read(c->fd, c->resp + c->resp_len, c->resp_cap - c->resp_len - 1);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (r <= 0) {
      reset_conn(c, r == 0 ? "connection closed by the server" : strerror(errno));
      return;
    }
    if (!c->busy) {
      reset_conn(c, "unexpected bytes from the server");
      return;
    }
    c->resp_len += (size_t)r;
    int p = parse_response(c);
    if (p < 0) {
      reset_conn(c, "malformed response");
      return;
    }
    if (p > 0)
      return;
  }
}

static void on_writable(struct conn *c)
{
  while (c->req_off < c->req_len) {
    ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (w < 0) {
      reset_conn(c, strerror(errno));
      return;
    }
    c->req_off += (size_t)w;
  }
}

/* Prints s inside a JSON string: the little escaping our own text needs (control
 * characters are left out). */
static void put_json_chars(const char *s)
{
  for (const char *p = s; *p; p++)
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if ((unsigned char)*p >= 0x20)
      putchar(*p);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p)
{
  if (st.n_lat == 0)
    return 0;
  long i = (long)(p / 100.0 * (double)st.n_lat + 0.5) - 1;
  if (i < 0)
    i = 0;
  if (i >= st.n_lat)
    i = st.n_lat - 1;
  return st.lat_ms[i];
}

/* Prints a loopback port that was free a moment ago (the kernel's pick for port 0). */
static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
    die("cannot find a free port: %s", strerror(errno));
  close(fd);
  printf("%d\n", ntohs(a.sin_port));
  return 0;
}

/* One blocking GET on a fresh connection: the status (0 if the connection failed), the
 * body in *body (malloc'd). Bounded by a 10 s receive timeout. */
static int get_once(const char *path, char **body)
{
  struct conn c = {.fd = -1};
  *body = NULL;
  if (open_conn(&c) < 0)
    return 0;
  fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) & ~O_NONBLOCK);
  struct timeval tv = {10, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char req[1024];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", path,
                   opt.host, opt.port);
  int status = 0;
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap);
  if (buf && write(c.fd, req, (size_t)n) == n) {
    ssize_t r;
    while ((r = read(c.fd, buf + len, cap - len - 1)) > 0) {
      len += (size_t)r;
      if (cap - len < 4096) {
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
          break;
        buf = nb;
      }
    }
    buf[len] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end && sscanf(buf, "HTTP/1.%*d %d", &status) == 1)
      *body = strdup(end + 4);
  }
  free(buf);
  close(c.fd);
  return status;
}

/* GET until 200 or `opt.wait` seconds passed (every 2 ms): exit 0 and the body on 200. */
static int get_until_ok(void)
{
  int64_t t0 = now_ns(), until = t0 + (int64_t)(opt.wait * 1e9);
  for (;;) {
    char *body;
    int status = get_once(opt.path, &body);
    if (status == 200 || now_ns() >= until) {
      if (body)
        fputs(body, stdout);
      if (status != 200)
        fprintf(stderr, "loadgen: GET %s: %s %d after %.1f s\n", opt.path, status ? "status" : "no answer",
                status, (double)(now_ns() - t0) / 1e9);
      free(body);
      return status == 200 ? 0 : 1;
    }
    free(body);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
}

/* When the next request may go: at its place in the open loop's schedule (rate); 1/RATE
 * after the last one went (probe: one slow answer delays the next probe, it does not
 * bunch the ones after it); otherwise at once. */
static int64_t next_due(int64_t t0, double interval_ns, int64_t now)
{
  if (opt.mode == MODE_RATE)
    return t0 + (int64_t)((double)st.req_issued * interval_ns);
  if (opt.mode == MODE_PROBE)
    return st.req_issued ? st.last_send + (int64_t)interval_ns : t0;
  return now;
}

static void usage(void)
{
  fprintf(stderr,
          "usage: loadgen -p PORT -m batch|single|rate [-n N] [-b PER_REQUEST] [-c CONNS]\n"
          "               [-r RATE] [-t SECONDS] [-s FIRST] [-i ID_PREFIX] [-k CONTACT_PREFIX]\n"
          "               [-h 127.0.0.1] [-T LIMIT_SECONDS] [-q] [-z ZONE]\n"
          "       loadgen -p PORT -m probe [-u PATH] -t SECONDS [-r PER_SECOND] [-T LIMIT_SECONDS]\n"
          "       loadgen -p PORT -m get [-u PATH] [-w SECONDS]\n"
          "       loadgen -m port\n");
  exit(2);
}

int main(int argc, char **argv)
{
  int o;
  while ((o = getopt(argc, argv, "p:m:n:b:c:r:t:s:i:k:h:T:qu:w:z:")) != -1) {
    switch (o) {
    case 'p': opt.port = atoi(optarg); break;
    case 'm':
      if (strcmp(optarg, "batch") == 0)
        opt.mode = MODE_BATCH;
      else if (strcmp(optarg, "single") == 0)
        opt.mode = MODE_SINGLE;
      else if (strcmp(optarg, "rate") == 0)
        opt.mode = MODE_RATE;
      else if (strcmp(optarg, "probe") == 0)
        opt.mode = MODE_PROBE;
      else if (strcmp(optarg, "get") == 0)
        opt.mode = MODE_GET;
      else if (strcmp(optarg, "port") == 0)
        opt.mode = MODE_PORT;
      else
        usage();
      break;
    case 'n': opt.n = atol(optarg); break;
    case 'b': opt.per_req = atol(optarg); break;
    case 'c': opt.conns = atoi(optarg); break;
    case 'r': opt.rate = atof(optarg); break;
    case 't': opt.seconds = atof(optarg); break;
    case 's': opt.first = atol(optarg); break;
    case 'i': opt.id_prefix = optarg; break;
    case 'k': opt.contact_prefix = optarg; break;
    case 'h': opt.host = optarg; break;
    case 'T': opt.limit = atof(optarg); break;
    case 'q': opt.quiet = 1; break;
    case 'u': opt.path = optarg; break;
    case 'w': opt.wait = atof(optarg); break;
    case 'z': opt.zone = optarg; break;
    default: usage();
    }
  }
  if (optind != argc)
    usage();
  if (opt.mode == MODE_PORT)
    return free_port();
  if (opt.port <= 0 || opt.port > 65535)
    usage();
  if (!opt.quiet && !isatty(2))
    opt.quiet = 1; /* progress only on a terminal */
  signal(SIGPIPE, SIG_IGN);
  if (opt.mode == MODE_GET)
    return get_until_ok();
  if (opt.mode != MODE_BATCH)
    opt.per_req = 1;
  if (opt.per_req < 1)
    usage();
  if (opt.mode == MODE_PROBE) {
    if (opt.rate <= 0)
      opt.rate = 200;
    if (opt.seconds <= 0 || opt.conns > 1)
      usage();
    opt.per_req = 0;
    opt.conns = 1;
    /* At most this many: a slow answer leaves fewer (the count is set again at the end). */
    st.req_total = (long)(opt.rate * opt.seconds) + 1;
  } else if (opt.mode == MODE_RATE) {
    if (opt.rate <= 0 || opt.seconds <= 0)
      usage();
    st.req_total = (long)(opt.rate * opt.seconds + 0.5);
    if (!opt.conns)
      opt.conns = 32;
  } else {
    if (opt.n <= 0)
      usage();
    st.req_total = (opt.n + opt.per_req - 1) / opt.per_req;
    if (!opt.conns)
      opt.conns = opt.mode == MODE_BATCH ? 2 : 4;
  }
  if (opt.conns < 1 || opt.conns > MAX_CONNS)
    usage();
  long total_events = opt.mode == MODE_BATCH ? opt.n : st.req_total;
  st.lat_ms = calloc((size_t)st.req_total + 1, sizeof *st.lat_ms);
  static struct conn conns[MAX_CONNS];
  for (int i = 0; i < opt.conns; i++)
    if (open_conn(&conns[i]) < 0)
      die("cannot connect to the daemon: %s", strerror(errno));

  const int64_t t0 = now_ns();
  const int64_t limit_at = t0 + (int64_t)(opt.limit * 1e9);
  const double interval_ns = opt.mode == MODE_RATE || opt.mode == MODE_PROBE ? 1e9 / opt.rate : 0;
  const int64_t probe_end = t0 + (int64_t)(opt.seconds * 1e9);
  int64_t next_progress = t0 + 1000000000;
  int timed_out = 0, consecutive_connect_failures = 0;
  struct pollfd pfd[MAX_CONNS];
  int pidx[MAX_CONNS];

  while (st.req_done < st.req_total) {
    int64_t now = now_ns();
    if (now >= limit_at) {
      timed_out = 1;
      break;
    }
    if (opt.mode == MODE_PROBE && now >= probe_end && st.req_done == st.req_issued)
      break; /* the time is over and the last probe answered */
    /* Hand out requests to idle connections: in the open loop, only those already due. */
    for (int i = 0; i < opt.conns && st.req_issued < st.req_total; i++) {
      struct conn *c = &conns[i];
      if (c->busy)
        continue;
      int64_t due = next_due(t0, interval_ns, now);
      if (due > now || (opt.mode == MODE_PROBE && now >= probe_end))
        break;
      if (c->fd < 0 && open_conn(c) < 0) {
        if (++consecutive_connect_failures > 100) {
          note_error("cannot reconnect: %s", strerror(errno));
          timed_out = 1;
          goto done;
        }
        continue;
      }
      consecutive_connect_failures = 0;
      if (opt.mode == MODE_PROBE) {
        build_get(c);
      } else {
        long left = total_events - st.next_event;
        build_request(c, left < opt.per_req ? left : opt.per_req);
      }
      c->t_sched = opt.mode == MODE_RATE ? due : now;
      st.last_send = now;
      st.req_issued++;
      on_writable(c);
    }
    int nfd = 0;
    for (int i = 0; i < opt.conns; i++) {
      if (conns[i].fd < 0 || !conns[i].busy)
        continue;
      pfd[nfd].fd = conns[i].fd;
      pfd[nfd].events = POLLIN | (conns[i].req_off < conns[i].req_len ? POLLOUT : 0);
      pfd[nfd].revents = 0;
      pidx[nfd++] = i;
    }
    /* Sleep until I/O, the next scheduled request, or at most 100 ms. */
    int64_t wait = 100000000;
    if (opt.mode == MODE_RATE && st.req_issued < st.req_total) {
      int64_t due = t0 + (int64_t)((double)st.req_issued * interval_ns) - now_ns();
      if (due < wait)
        wait = due < 0 ? 0 : due;
    } else if (opt.mode == MODE_PROBE && !conns[0].busy) { /* busy: only its answer matters */
      int64_t due = next_due(t0, interval_ns, 0);
      due = (due < probe_end ? due : probe_end) - now_ns();
      if (due < wait)
        wait = due < 0 ? 0 : due;
    }
    struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
    int r = ppoll(pfd, (nfds_t)nfd, &ts, NULL);
    if (r < 0 && errno != EINTR)
      die("poll: %s", strerror(errno));
    for (int k = 0; r > 0 && k < nfd; k++) {
      if (!pfd[k].revents)
        continue;
      struct conn *c = &conns[pidx[k]];
      if (pfd[k].revents & POLLOUT)
        on_writable(c);
      if (c->fd >= 0 && (pfd[k].revents & (POLLIN | POLLERR | POLLHUP)))
        on_readable(c);
    }
    now = now_ns();
    if (!opt.quiet && now >= next_progress) {
      fprintf(stderr, "\r\033[K  %s: %ld/%ld requests, %ld failed, %.0f events/s", mode_names[opt.mode],
              st.req_done, st.req_total, st.failed, (double)st.events_ok / ((double)(now - t0) / 1e9));
      next_progress = now + 1000000000;
    }
  }
done:;
  double secs = (double)(now_ns() - t0) / 1e9;
  if (opt.mode == MODE_PROBE)
    st.req_total = st.req_issued; /* the probes sent, not the most there could have been */
  if (!opt.quiet)
    fprintf(stderr, "\r\033[K");
  long unanswered = st.req_total - st.req_done;
  qsort(st.lat_ms, (size_t)st.n_lat, sizeof *st.lat_ms, cmp_double);
  double mean = 0;
  for (long i = 0; i < st.n_lat; i++)
    mean += st.lat_ms[i];
  mean = st.n_lat ? mean / (double)st.n_lat : 0;
  printf("{\"mode\":\"%s\",\"connections\":%d,\"events_per_request\":%ld,\"requests\":%ld,"
         "\"ok\":%ld,\"failed\":%ld,\"unanswered\":%ld,\"reconnects\":%ld,\"events_ok\":%ld,"
         "\"seconds\":%.3f,\"events_per_s\":%.1f,\"requests_per_s\":%.1f,",
         mode_names[opt.mode], opt.conns, opt.per_req, st.req_total, st.ok, st.failed, unanswered,
         st.reconnects, st.events_ok, secs, (double)st.events_ok / secs, (double)st.ok / secs);
  if (opt.mode == MODE_RATE)
    printf("\"offered_per_s\":%.1f,", opt.rate);
  if (opt.mode == MODE_PROBE) {
    printf("\"path\":\"");
    put_json_chars(opt.path);
    printf("\",\"most_per_s\":%.1f,", opt.rate);
  }
  printf("\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,"
         "\"max\":%.3f},\"timed_out\":%s,\"first_error\":\"",
         mean, pct(50), pct(90), pct(99), pct(99.9), st.n_lat ? st.lat_ms[st.n_lat - 1] : 0.0,
         timed_out ? "true" : "false");
  put_json_chars(st.first_error);
  printf("\"}\n");
  for (int i = 0; i < opt.conns; i++) {
    if (conns[i].fd >= 0)
      close(conns[i].fd);
    free(conns[i].req);
    free(conns[i].resp);
  }
  free(st.lat_ms);
  return st.failed || unanswered || timed_out ? 1 : 0;
}

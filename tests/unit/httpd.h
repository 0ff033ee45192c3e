/* A tiny HTTP/1.1 server for tests of HTTP clients, in the test's own process: loopback, an
 * ephemeral port, a thread per connection, keep-alive. Each answer carries `X-Conn: N`,
 * the number of the connection it came on (1 for the first accepted), so a test can tell
 * how many connections its requests used. Paths:
 *   /echo            200; the request's body back, X-Method: its method, X-Echo-Test: the
 *                    value of its X-Test header
 *   /status/NNN      status NNN, body "status NNN"; ?retry_after=S adds Retry-After: S
 *   /slow/MS         200 "slow", MS milliseconds later
 *   /big/N           200, N bytes of 'x'
 *   anything else    404 */
#ifndef PARLEY_TEST_HTTPD_H
#define PARLEY_TEST_HTTPD_H

struct httpd;

/* NULL when it cannot listen. */
struct httpd *httpd_start(void);
int httpd_port(const struct httpd *d);
/* Connections accepted so far. */
unsigned httpd_accepted(struct httpd *d);
/* Cuts every connection, waits for every thread, frees. */
void httpd_stop(struct httpd *d);

#endif

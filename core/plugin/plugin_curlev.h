/* libcurl's multi interface driven by a libev loop: curl says which sockets to watch and
 * when to wake it (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION); an ev_io per socket
 * and one ev_timer tell it what happened (curl_multi_socket_action). No polling, no
 * thread. This file knows transfers only as easy handles: what they are for is the
 * caller's (plugin_http.c). Private to core/plugin/. */
#ifndef PARLEY_PLUGIN_CURLEV_H
#define PARLEY_PLUGIN_CURLEV_H
#include <curl/curl.h>

struct ev_loop;
struct plugin_curlev;

/* Called on the loop when a transfer ended (`rc` is curl's result), after the handle was
 * taken out of the multi: the callee may clean it up, add others or remove others. */
typedef void (*plugin_curlev_done)(void *ud, CURL *easy, CURLcode rc);

/* A multi handle on `loop`. NULL when curl cannot make one (out of memory). */
struct plugin_curlev *plugin_curlev_open(struct ev_loop *loop, plugin_curlev_done done, void *ud);
/* The multi handle, for its options (connection limits, multiplexing). */
CURLM *plugin_curlev_multi(struct plugin_curlev *cl);
/* Start a transfer. 0, or -1 when curl refused it (the handle stays the caller's). Never
 * calls `done` before it returns. */
int plugin_curlev_add(struct plugin_curlev *cl, CURL *easy);
/* Stop a transfer that has not ended; `done` is not called for it. */
void plugin_curlev_remove(struct plugin_curlev *cl, CURL *easy);
/* Close every connection, stop the watchers, free the multi. No transfer may be left. */
void plugin_curlev_close(struct plugin_curlev *cl);

#endif

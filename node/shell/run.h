/* run.h - the libuv shell around the engine: `tlpmesh run` and `tlpmesh status`.
 *
 * run_node() loads the config and key file, opens the store, listens on TCP, serves the control
 * socket and drives the node core (node/core/node.h: engine, gossip, communities): every socket
 * event goes to the engine with the loop's cached time (uv_now, one value per loop turn), each
 * loop turn runs node_turn(), bytes the engine sends are queued per connection and written once
 * per loop turn, and one timer is armed at node_next_deadline(). SIGINT/SIGTERM
 * close every session with CLOSE(SHUTDOWN) and exit; SIGHUP (or control "reload") re-reads the
 * config's peers (and reopens the log file). Each connect, refusal and disconnect is one line of
 * the log (node/shell/log.h: stderr or LogFile, text or JSON), in text:
 *   TIMESTAMP LEVEL tlpmesh: EVENT peer=KEY_B64|- name=NAME addr=HOST:PORT: DETAIL
 * With an [HTTP] section the node also serves TAXII, /metrics and /healthz (node/shell/http.h).
 *
 * Ownership: everything run_node() creates it also frees before returning.
 */
#ifndef TLPMESH_NODE_RUN_H
#define TLPMESH_NODE_RUN_H

#include <stdbool.h>
#include <stdio.h>

/* Runs the node in the foreground until SIGINT/SIGTERM. Returns the exit code: 0 after a clean
 * shutdown, 2 for a config or key problem, 1 for a runtime failure (store, listen). */
struct http_ui;
/* ui: the web console the HTTP server serves under /ui/ (node/console/console.h), or NULL. */
int run_node(const char *config_path, const struct http_ui *ui);

/* Asks the running node (through its control socket) for its status and prints it to out: an
 * aligned table, or with json one JSON object on one line. Returns 0, or 1 if the node does not
 * answer, 2 for a config problem. */
int run_status_print(const char *config_path, bool json, FILE *out);

#endif

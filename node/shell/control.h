/* control.h - the node's control socket: JSON lines over a Unix socket (docs/PROTOCOL.md).
 *
 * The running node listens on a Unix socket (config Control, default DATA_DIR/control.sock,
 * mode 0600: whoever can use it controls the node). A client writes one JSON object per line and
 * gets one JSON object per line back:
 *   {"cmd":"status"}        -> {"ok":true, "key":..., "network":..., "peers":[...], ...}
 *   {"cmd":"reload"}        -> {"ok":true, "peers":N} after re-reading the config's peers
 *   {"cmd":"records-added"} -> {"ok":true} (hook: wakes gossip after local publishing)
 *   {"cmd":"holds","id":HEX} -> {"ok":true, "peers":{KEY:"sent"|"received"|"announced"|
 *                               "not-known"}}: what gossip knows of each peer's copy
 *   anything else           -> {"ok":false, "error":"..."}
 * The server side runs on the node's libuv loop and hands each parsed request to a handler; the
 * client side (control_request) is plain blocking I/O with a timeout, for the CLI.
 *
 * Ownership: struct control_server is caller-owned; control_listen() starts it, control_close()
 * starts closing its handles (finished by the loop) and unlinks the socket. Handlers return a new
 * reference the server releases. control_request() gives the caller a new reference in *resp.
 */
#ifndef TLPMESH_NODE_CONTROL_H
#define TLPMESH_NODE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "proto/errors.h"
#include "proto/limits.h"

/* Error codes: X(name, value, message), range ERRORS_BASE_CONTROL in proto/errors.h; the
 * comments say when each happens. */
#define CONTROL_ERRORS(X)                                                                          \
    /* no node listening on the socket */                                                          \
    X(CONTROL_E_CONNECT, ERRORS_BASE_CONTROL - 0,                                                  \
      "node not running (cannot connect to its control socket)")                                   \
    /* read/write failed or the node hung up */                                                    \
    X(CONTROL_E_IO, ERRORS_BASE_CONTROL - 1, "control socket read/write failed")                   \
    /* no answer within the timeout */                                                             \
    X(CONTROL_E_TIMEOUT, ERRORS_BASE_CONTROL - 2, "node did not answer in time")                   \
    /* the answer is not one JSON object on one line */                                            \
    X(CONTROL_E_PROTOCOL, ERRORS_BASE_CONTROL - 3, "node sent a malformed answer")                 \
    /* socket path too long for sockaddr_un */                                                     \
    X(CONTROL_E_PATH, ERRORS_BASE_CONTROL - 4, "control socket path too long")                     \
    /* another node is already listening on the socket */                                          \
    X(CONTROL_E_BUSY, ERRORS_BASE_CONTROL - 5, "another node is running with this control socket") \
    /* cannot create or bind the socket */                                                         \
    X(CONTROL_E_LISTEN, ERRORS_BASE_CONTROL - 6, "cannot create the control socket")

enum control_err {
    CONTROL_OK = 0,
    CONTROL_ERRORS(ERRORS_ENUM)
};

const char *control_strerror(int err);

/* Returns a new JSON object answering req (never NULL). */
typedef json_t *(*control_handler)(void *ctx, const json_t *req);

struct control_client;

struct control_server {
    uv_pipe_t pipe;
    uv_loop_t *loop;
    control_handler handler;
    void *ctx;
    char path[LIMIT_PATH_BYTES];
    struct control_client *clients[LIMIT_CONTROL_CLIENTS];
    bool listening;
};

/* Binds path (a stale socket left by a dead node is replaced; a live one is CONTROL_E_BUSY) with
 * mode 0600 and starts accepting. why gets a one-line reason on failure. */
int control_listen(struct control_server *srv, uv_loop_t *loop, const char *path,
                   control_handler handler, void *ctx, char *why, size_t why_len);

/* Stops listening, drops clients, unlinks the socket. The loop finishes closing the handles. */
void control_close(struct control_server *srv);

/* Sends req as one line to the node at path and waits up to timeout_ms for one answer line. */
int control_request(const char *path, const json_t *req, json_t **resp, int timeout_ms);

#endif

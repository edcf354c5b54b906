/* fuzz_control.c - raw bytes into the node's control socket server (node/shell/control.c): a
 * real control_listen() on the harness's libuv loop, on a Unix socket in a temporary directory.
 * Each input is one client connection that writes the input and waits for one answer per line.
 *
 * The node's own handler (run_on_control) needs a running node; here the handler echoes the
 * request it was given, so what is fuzzed is the server's part: line framing, the line limit,
 * JSON parsing, refusing non-objects, writing answers.
 *
 * Invariants: every '\n'-terminated line gets exactly one answer line, in order; each answer is
 * one JSON object with a boolean "ok"; ok is true exactly when the line is a JSON object
 * (jansson, as the server uses it), and then the echo equals that object: the handler saw exactly
 * the request. Nothing leaks across clients (LeakSanitizer, at the end of each input).
 */
#include <jansson.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_sock.h"
#include "node/shell/control.h"

static uv_loop_t loop;
static struct control_server server;
static char dir[64], path[96];
static bool started;

static json_t *echo(void *ctx, const json_t *req)
{
    (void)ctx;
    FUZZ_CHECK(json_is_object(req));
    return json_pack("{s:b, s:O}", "ok", 1, "echo", (json_t *)req);
}

static void stop_server(void)
{
    control_close(&server);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    rmdir(dir);
}

static void start(void)
{
    char why[256];
    snprintf(dir, sizeof dir, "/tmp/tlpmesh-fuzz-XXXXXX");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/control.sock", dir);
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    if (control_listen(&server, &loop, path, echo, NULL, why, sizeof why) != CONTROL_OK) {
        fprintf(stderr, "fuzz_control: %s\n", why);
        abort();
    }
    started = true;
    atexit(stop_server);
}

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++)
        lines++;
    return lines;
}

static bool all_answered(void *ctx, const struct fuzz_buf *out)
{
    return count_lines(out->p, out->n) >= *(size_t *)ctx;
}

/* Checks answer line `ans` against request line `line`. */
static void check_answer(const char *line, size_t len, const char *ans, size_t ans_len)
{
    json_t *req = json_loadb(line, len, 0, NULL);
    json_t *resp = json_loadb(ans, ans_len, 0, NULL);
    json_t *ok = json_object_get(resp, "ok");
    FUZZ_CHECK(json_is_object(resp) && json_is_boolean(ok));
    FUZZ_CHECK(json_is_true(ok) == json_is_object(req));
    if (json_is_true(ok))
        FUZZ_CHECK(json_equal(json_object_get(resp, "echo"), req));
    json_decref(req);
    json_decref(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct fuzz_buf out;
    const char *in = (const char *)data, *ans;
    size_t lines, left;
    int fd;

    if (!started)
        start();
    /* A line the server cuts (LIMIT_CONTROL_LINE) ends the connection: not what this checks. */
    if (size >= LIMIT_CONTROL_LINE)
        return 0;
    lines = count_lines(in, size);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    fuzz_sock_exchange(&loop, fd, data, size, false, all_answered, &lines, &out);
    FUZZ_CHECK(count_lines(out.p, out.n) == lines);
    ans = out.p;
    left = size;
    for (size_t i = 0; i < lines; i++) {
        const char *nl = memchr(in, '\n', left), *anl = strchr(ans, '\n');
        check_answer(in, (size_t)(nl - in), ans, (size_t)(anl - ans));
        left -= (size_t)(nl + 1 - in);
        in = nl + 1;
        ans = anl + 1;
    }
    free(out.p);
    return 0;
}

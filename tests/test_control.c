/* test_control.c - the control socket's file handling (review regression tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/shell/control.h"
#include "tests/support/ts_dir.h"

static json_t *handler(void *ctx, const json_t *req)
{
    (void)ctx;
    (void)req;
    return json_pack("{s:b}", "ok", 1);
}

/* A regular file at the Control path is the operator's: refused, never unlinked. */
static void regular_file_not_replaced(void **state)
{
    (void)state;
    char *dir = ts_dir_new("control");
    char path[128], why[256] = "", buf[16] = "";
    snprintf(path, sizeof path, "%s/precious", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("keep me", f);
    fclose(f);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct control_server srv;
    assert_int_equal(control_listen(&srv, &loop, path, handler, NULL, why, sizeof why),
                     CONTROL_E_LISTEN);
    char want[256];
    snprintf(want, sizeof want, "control socket %s: exists and is not a socket; not replacing it",
             path);
    assert_string_equal(why, want);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "keep me");
    assert_int_equal(uv_loop_close(&loop), 0);
    unlink(path);
    ts_dir_free(dir);
}

/* The socket is 0600 even under a permissive umask, and a stale one is replaced. */
static void socket_mode_0600(void **state)
{
    (void)state;
    char *dir = ts_dir_new("control");
    char path[128], why[256] = "";
    snprintf(path, sizeof path, "%s/control.sock", dir);
    mode_t old = umask(0);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    for (int round = 0; round < 2; round++) { /* round 1 finds round 0's socket left behind */
        struct control_server srv;
        assert_int_equal(control_listen(&srv, &loop, path, handler, NULL, why, sizeof why),
                         CONTROL_OK);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        control_close(&srv);
        assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
        /* leave a stale socket file for the next round */
        if (round == 0) {
            assert_int_equal(mknod(path, S_IFSOCK | 0600, 0), 0);
        }
    }
    umask(old);
    assert_int_equal(uv_loop_close(&loop), 0);
    ts_dir_free(dir);
}

/* A hub's status: an answer larger than a request line (about 0.8 KB for each of 2,000 peers),
 * which the CLI once refused as malformed at LIMIT_CONTROL_LINE. */
static json_t *big_handler(void *ctx, const json_t *req)
{
    (void)ctx;
    (void)req;
    char pad[768];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = 0;
    json_t *peers = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(peers, json_string(pad));
    return json_pack("{s:o}", "peers", peers);
}

struct big_server {
    uv_loop_t loop;
    uv_async_t stop;
    struct control_server srv;
};

static void on_stop(uv_async_t *a)
{
    struct big_server *b = a->data;
    control_close(&b->srv);
    uv_close((uv_handle_t *)a, NULL);
}

static void serve(void *arg)
{
    struct big_server *b = arg;
    uv_run(&b->loop, UV_RUN_DEFAULT);
}

static void answer_larger_than_a_line(void **state)
{
    (void)state;
    char *dir = ts_dir_new("control");
    char path[128], why[256] = "";
    snprintf(path, sizeof path, "%s/control.sock", dir);
    struct big_server b;
    assert_int_equal(uv_loop_init(&b.loop), 0);
    assert_int_equal(control_listen(&b.srv, &b.loop, path, big_handler, NULL, why, sizeof why),
                     CONTROL_OK);
    assert_int_equal(uv_async_init(&b.loop, &b.stop, on_stop), 0);
    b.stop.data = &b;
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, serve, &b), 0);
    json_t *req = json_pack("{s:s}", "cmd", "status"), *resp = NULL;
    const int rc = control_request(path, req, &resp, 30000);
    uv_async_send(&b.stop);
    uv_thread_join(&t);
    assert_int_equal(rc, CONTROL_OK);
    const json_t *peers = json_object_get(resp, "peers");
    assert_int_equal(json_array_size(peers), 2000);
    assert_int_equal(strlen(json_string_value(json_array_get(peers, 1999))), 767);
    assert_true(2000 * 767 > LIMIT_CONTROL_LINE);
    json_decref(req);
    json_decref(resp);
    assert_int_equal(uv_loop_close(&b.loop), 0);
    ts_dir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regular_file_not_replaced),
        cmocka_unit_test(socket_mode_0600),
        cmocka_unit_test(answer_larger_than_a_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

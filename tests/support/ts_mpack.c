/* ts_mpack.c - an independent msgpack writer for the record tests (ts_mpack.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ts_mpack.h"

void ts_mp_put(struct ts_mp_buf *b, const void *p, size_t n)
{
    assert_true(n <= sizeof b->b - b->n);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

void ts_mp_byte(struct ts_mp_buf *b, uint8_t c)
{
    ts_mp_put(b, &c, 1);
}

void ts_mp_be(struct ts_mp_buf *b, uint64_t v, unsigned width)
{
    for (unsigned i = width; i > 0; i--)
        ts_mp_byte(b, (uint8_t)(v >> (8 * (i - 1))));
}

void ts_mp_uint(struct ts_mp_buf *b, uint64_t v)
{
    if (v < 0x80) {
        ts_mp_byte(b, (uint8_t)v);
    } else if (v <= UINT8_MAX) {
        ts_mp_byte(b, 0xcc), ts_mp_be(b, v, 1);
    } else if (v <= UINT16_MAX) {
        ts_mp_byte(b, 0xcd), ts_mp_be(b, v, 2);
    } else if (v <= UINT32_MAX) {
        ts_mp_byte(b, 0xce), ts_mp_be(b, v, 4);
    } else {
        ts_mp_byte(b, 0xcf), ts_mp_be(b, v, 8);
    }
}

void ts_mp_strn(struct ts_mp_buf *b, const char *s, size_t n)
{
    if (n < 32) {
        ts_mp_byte(b, (uint8_t)(0xa0 | n));
    } else if (n <= UINT8_MAX) {
        ts_mp_byte(b, 0xd9), ts_mp_be(b, n, 1);
    } else {
        ts_mp_byte(b, 0xda), ts_mp_be(b, n, 2);
    }
    ts_mp_put(b, s, n);
}

void ts_mp_str(struct ts_mp_buf *b, const char *s)
{
    ts_mp_strn(b, s, strlen(s));
}

void ts_mp_bin32(struct ts_mp_buf *b, const uint8_t k[32])
{
    ts_mp_byte(b, 0xc4), ts_mp_byte(b, 32), ts_mp_put(b, k, 32);
}

void ts_mp_array(struct ts_mp_buf *b, unsigned n)
{
    if (n < 16)
        ts_mp_byte(b, (uint8_t)(0x90 | n));
    else
        ts_mp_byte(b, 0xdc), ts_mp_be(b, n, 2);
}

struct ts_mp_buf *ts_mp_field_val(struct ts_mp_fields *fs, uint64_t key)
{
    for (unsigned i = 0; i < fs->n; i++) {
        if (fs->f[i].key == key) {
            fs->f[i].val.n = 0;
            return &fs->f[i].val;
        }
    }
    fail_msg("no field %llu", (unsigned long long)key);
    return NULL;
}

struct ts_mp_buf *ts_mp_add_field(struct ts_mp_fields *fs, uint64_t key)
{
    assert_true(fs->n < 16);
    struct ts_mp_field *f = &fs->f[fs->n++];
    f->key = key;
    f->val.n = 0;
    return &f->val;
}

void ts_mp_drop_field(struct ts_mp_fields *fs, uint64_t key)
{
    for (unsigned i = 0; i < fs->n; i++) {
        if (fs->f[i].key == key) {
            memmove(&fs->f[i], &fs->f[i + 1], (fs->n - i - 1) * sizeof fs->f[0]);
            fs->n--;
            return;
        }
    }
    fail_msg("no field %llu", (unsigned long long)key);
}

void ts_mp_assemble(const struct ts_mp_fields *fs, struct ts_mp_buf *out)
{
    out->n = 0;
    unsigned entries = fs->n + fs->trailer_entries;
    if (fs->map16)
        ts_mp_byte(out, 0xde), ts_mp_be(out, entries, 2);
    else
        ts_mp_byte(out, (uint8_t)(0x80 | entries));
    for (unsigned i = 0; i < fs->n; i++) {
        ts_mp_uint(out, fs->f[i].key);
        ts_mp_put(out, fs->f[i].val.b, fs->f[i].val.n);
    }
    ts_mp_put(out, fs->trailer.b, fs->trailer.n);
}

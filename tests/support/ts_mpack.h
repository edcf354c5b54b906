/* ts_mpack.h - an independent msgpack writer for the record tests (module prefix ts_mp_).
 *
 * Bodies for the decoder tests are written here, independent of proto's encoder, so that every
 * non-canonical variant is one explicit change to a canonical body. ts_mp_uint, ts_mp_strn and
 * ts_mp_array write the shortest header (as canonical records must); anything else is written
 * byte by byte with ts_mp_byte and ts_mp_be. A record is a struct ts_mp_fields, a list of (key,
 * value bytes) entries, so that a test can change, add or drop one entry; ts_mp_assemble writes
 * the map. Every call fails the running cmocka test when a buffer or the entry list is full or a
 * key is missing.
 */
#ifndef TLPMESH_TESTS_TS_MPACK_H
#define TLPMESH_TESTS_TS_MPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"

struct ts_mp_buf {
    uint8_t b[LIMIT_RECORD_BYTES + 256];
    size_t n;
};

void ts_mp_put(struct ts_mp_buf *b, const void *p, size_t n);
void ts_mp_byte(struct ts_mp_buf *b, uint8_t c);
/* v big-endian in width bytes. */
void ts_mp_be(struct ts_mp_buf *b, uint64_t v, unsigned width);
void ts_mp_uint(struct ts_mp_buf *b, uint64_t v);
void ts_mp_strn(struct ts_mp_buf *b, const char *s, size_t n);
void ts_mp_str(struct ts_mp_buf *b, const char *s);
void ts_mp_bin32(struct ts_mp_buf *b, const uint8_t k[32]);
void ts_mp_array(struct ts_mp_buf *b, unsigned n);

/* A record as a list of (key, value bytes) entries, so that tests can change one entry. */
struct ts_mp_field {
    uint64_t key;
    struct ts_mp_buf val;
};

struct ts_mp_fields {
    unsigned n;
    struct ts_mp_field f[16];
    bool map16;               /* write the map header as map16 (non-minimal) */
    struct ts_mp_buf trailer; /* bytes after the entries */
    unsigned trailer_entries; /* map entries written in trailer, counted in the header */
};

/* The value of entry key, emptied for the caller to write again. */
struct ts_mp_buf *ts_mp_field_val(struct ts_mp_fields *fs, uint64_t key);
/* A new, empty entry key at the end. */
struct ts_mp_buf *ts_mp_add_field(struct ts_mp_fields *fs, uint64_t key);
void ts_mp_drop_field(struct ts_mp_fields *fs, uint64_t key);
/* The map: its header (fixmap, or map16 when fs->map16), the entries in order, the trailer. */
void ts_mp_assemble(const struct ts_mp_fields *fs, struct ts_mp_buf *out);

#endif

/* ts_sample.h - the sample records of the record tests (module prefix ts_sample_).
 *
 * One record of each kind, twice: as a struct (ts_sample_indicator ...) and as the same record
 * written entry by entry with the independent writer (ts_sample_indicator_fields ...), whose
 * assembled map is the canonical body of the struct. Every sample is signed by the origin
 * ts_sample_origin (bytes 0x10..0x2f) and created at TS_SAMPLE_CREATED (plus a few ms per kind).
 */
#ifndef TLPMESH_TESTS_TS_SAMPLE_H
#define TLPMESH_TESTS_TS_SAMPLE_H

#include <stdint.h>

#include "proto/record.h"
#include "tests/support/ts_mpack.h"

#define TS_SAMPLE_CREATED     1700000000000ULL
#define TS_SAMPLE_VALID_UNTIL (TS_SAMPLE_CREATED + 30ULL * 86400 * 1000)
#define TS_WHY_LEN            512 /* of the why buffers the decoder fills */

void ts_sample_origin(uint8_t k[32]);
void ts_sample_indicator(struct proto_record *r);
/* The same record as ts_sample_indicator(), written entry by entry; likewise for the others. */
void ts_sample_indicator_fields(struct ts_mp_fields *fs);
void ts_sample_revocation(struct proto_record *r);
void ts_sample_revocation_fields(struct ts_mp_fields *fs);
void ts_sample_sighting(struct proto_record *r);
void ts_sample_sighting_fields(struct ts_mp_fields *fs);
void ts_sample_roster(struct proto_record *r);
void ts_sample_roster_fields(struct ts_mp_fields *fs);
/* A roster member [key of byte b repeated, org] into v. */
void ts_sample_member(struct ts_mp_buf *v, uint8_t b, const char *org);
/* proto_record_decode of the assembled fields; why gets TS_WHY_LEN bytes. */
int ts_sample_decode(const struct ts_mp_fields *fs, char *why);

#endif

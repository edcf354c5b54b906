/* test_errcodes.c - every module's negative error codes are distinct and named (review
 * regression test).
 *
 * Callers pass codes up through several layers (engine_strerror also names session codes,
 * cli_records picks store_strerror or proto_strerror by range), so two modules sharing a value
 * print the wrong reason. Everything here is generated from the modules' code lists
 * (FOO_ERRORS, see proto/errors.h): the owner() switch does not compile when two codes are equal
 * (a duplicate case label is an error), and the tests check the ranges and the messages. A module
 * with a new code list adds one line to MODULES.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/atomicfile.h"
#include "crypto/keys.h"
#include "crypto/noise.h"
#include "node/config/config.h"
#include "node/console/console.h"
#include "node/core/community.h"
#include "node/core/engine.h"
#include "node/core/gossip.h"
#include "node/core/peerscore.h"
#include "node/core/recon.h"
#include "node/core/session.h"
#include "node/formats/export.h"
#include "node/formats/import.h"
#include "node/formats/stixmap.h"
#include "node/formats/taxii.h"
#include "node/formats/timefmt.h"
#include "node/formats/warninglist.h"
#include "node/shell/control.h"
#include "node/shell/http.h"
#include "node/shell/log.h"
#include "proto/errors.h"
#include "proto/record.h"
#include "simnet/sim.h"
#include "store/store.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* M(prefix, PREFIX): prefix##_strerror names the codes of PREFIX##_ERRORS, based at
 * ERRORS_BASE_##PREFIX. */
#define MODULES(M)                                                                                 \
    M(proto, PROTO)                                                                                \
    M(keys, KEYS)                                                                                  \
    M(atomicfile, ATOMICFILE)                                                                      \
    M(noise, NOISE)                                                                                \
    M(store, STORE)                                                                                \
    M(config, CONFIG)                                                                              \
    M(control, CONTROL)                                                                            \
    M(session, SESSION)                                                                            \
    M(engine, ENGINE)                                                                              \
    M(community, COMMUNITY)                                                                        \
    M(recon, RECON)                                                                                \
    M(gossip, GOSSIP)                                                                              \
    M(peerscore, PEERSCORE)                                                                        \
    M(sim, SIM)                                                                                    \
    M(stixmap, STIXMAP)                                                                            \
    M(warninglist, WARNINGLIST)                                                                    \
    M(log, LOG)                                                                                    \
    M(taxii, TAXII)                                                                                \
    M(http, HTTP)                                                                                  \
    M(timefmt, TIMEFMT)                                                                            \
    M(export, EXPORT)                                                                              \
    M(import, IMPORT)                                                                              \
    M(console, CONSOLE)

#define OWNER_CASE(name, value, message) case name:
#define OWNER(prefix, PREFIX)                                                                      \
    PREFIX##_ERRORS(OWNER_CASE)                                                                    \
    return #prefix;

/* The module a code belongs to; "" for 0 and unknown codes. */
static const char *owner(int err)
{
    switch (err) {
        MODULES(OWNER)
    default:
        return "";
    }
}

#define CODE(name, value, message) name,
#define MESSAGE(name, value, message) message,
#define LISTS(prefix, PREFIX)                                                                      \
    static const int prefix##_codes[] = {PREFIX##_ERRORS(CODE)};                                   \
    static const char *const prefix##_messages[] = {PREFIX##_ERRORS(MESSAGE)};
MODULES(LISTS)

struct module {
    const char *name;
    int base;
    const char *(*strerror_fn)(int err);
    const int *codes;
    const char *const *messages;
    size_t n;
};

#define ENTRY(prefix, PREFIX)                                                                      \
    {#prefix,         ERRORS_BASE_##PREFIX, prefix##_strerror, prefix##_codes,                     \
     prefix##_messages, ARRAY_LEN(prefix##_codes)},
static const struct module modules[] = {MODULES(ENTRY)};

/* Each module owns [base - ERRORS_SPAN + 1, base]; no two of those ranges meet. */
static void ranges_do_not_overlap(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(modules); i++) {
        assert_true(modules[i].base < 0);
        for (size_t j = i + 1; j < ARRAY_LEN(modules); j++) {
            const int gap = modules[i].base - modules[j].base;
            if (gap < ERRORS_SPAN && gap > -ERRORS_SPAN)
                fail_msg("%s and %s: bases %d and %d are closer than ERRORS_SPAN", modules[i].name,
                         modules[j].name, modules[i].base, modules[j].base);
        }
    }
}

/* Every code lies in its module's range, the codes count down from the base without a gap (a
 * new code takes the next one), and owner() names that module. */
static void codes_lie_in_their_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(modules); i++) {
        const struct module *m = &modules[i];
        assert_true(m->n > 0);
        for (size_t k = 0; k < m->n; k++) {
            if (m->codes[k] > m->base || m->codes[k] <= m->base - ERRORS_SPAN)
                fail_msg("%s: code %d outside [%d, %d]", m->name, m->codes[k],
                         m->base - ERRORS_SPAN + 1, m->base);
            assert_int_equal(m->codes[k], m->base - (int)k);
            assert_string_equal(owner(m->codes[k]), m->name);
        }
    }
}

/* Each *_strerror gives every code of its list that code's message, and no two codes of one
 * module share a message (an operator could not tell them apart). */
static void strerror_knows_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(modules); i++) {
        const struct module *m = &modules[i];
        /* The last code of the range stays free (n < ERRORS_SPAN, and codes count down from
         * the base), so it gets the "unknown" text. */
        assert_true(m->n < ERRORS_SPAN);
        const char *unknown = m->strerror_fn(m->base - (ERRORS_SPAN - 1));
        for (size_t k = 0; k < m->n; k++) {
            assert_string_equal(m->strerror_fn(m->codes[k]), m->messages[k]);
            assert_string_not_equal(m->messages[k], unknown);
            for (size_t l = k + 1; l < m->n; l++)
                assert_string_not_equal(m->messages[k], m->messages[l]);
        }
    }
}

/* The codes that collided before the review renumbered timefmt, export and import. */
static void formerly_colliding_codes_have_one_owner(void **state)
{
    (void)state;
    assert_string_equal(owner(SESSION_E_FRAME), "session");
    assert_string_equal(owner(TIMEFMT_E_SYNTAX), "timefmt");
    assert_string_equal(owner(COMMUNITY_E_NOMEM), "community");
    assert_string_equal(owner(EXPORT_E_IO), "export");
    assert_string_equal(owner(LOG_E_OPEN), "log");
    assert_string_equal(owner(IMPORT_E_IO), "import");
    assert_string_equal(owner(0), "");
}

/* engine_strerror() falls back to session_strerror(): both name their own codes; ERRORS_OF
 * tells a caller which strerror to pick. */
static void strerror_names_own_codes(void **state)
{
    (void)state;
    assert_true(ERRORS_OF(STORE, STORE_E_NOTFOUND) && ERRORS_OF(STORE, STORE_E_IO));
    assert_false(ERRORS_OF(STORE, PROTO_E_MALFORMED) || ERRORS_OF(STORE, CONFIG_E_IO));
    assert_string_equal(engine_strerror(SESSION_E_FIRST),
                        "first frame is not a 32-byte handshake message");
    assert_string_not_equal(export_strerror(EXPORT_E_IO), "unknown export error");
    assert_string_equal(import_strerror(IMPORT_E_IO), "cannot read the input");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ranges_do_not_overlap),
        cmocka_unit_test(codes_lie_in_their_range),
        cmocka_unit_test(strerror_knows_every_code),
        cmocka_unit_test(formerly_colliding_codes_have_one_owner),
        cmocka_unit_test(strerror_names_own_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

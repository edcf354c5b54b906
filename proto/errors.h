/* errors.h - every module's range of negative error codes, and the shape of its code list.
 *
 * Callers pass codes up through several layers (engine_strerror also names session codes,
 * cli_records picks store_strerror or proto_strerror by range), so two modules sharing a value
 * would print the wrong reason. Each module therefore owns ERRORS_SPAN codes from its base down:
 * module M's codes are ERRORS_BASE_M - 0 ... ERRORS_BASE_M - (ERRORS_SPAN - 1). A new module takes
 * a free base here; tests/test_errcodes.c checks that the ranges do not overlap, that every code
 * lies in its module's range and that every *_strerror names all its codes.
 *
 * A module lists its codes once, in libuv's X-macro style (UV_ERRNO_MAP), next to its public API:
 *
 *     #define FOO_ERRORS(X)                                                    \
 *         X(FOO_E_NOMEM, ERRORS_BASE_FOO - 0, "out of memory")                \
 *         X(FOO_E_IO, ERRORS_BASE_FOO - 1, "cannot read the file")
 *
 *     enum foo_err { FOO_OK = 0, FOO_ERRORS(ERRORS_ENUM) };
 *
 * and its foo_strerror() is the switch FOO_ERRORS(ERRORS_CASE) plus its own texts for 0 and for
 * unknown codes. The enum and the messages cannot drift apart, and the values never change: tests
 * and scripts match on both. Header only; no I/O.
 */
#ifndef TLPMESH_PROTO_ERRORS_H
#define TLPMESH_PROTO_ERRORS_H

/* One enumerator of a code list. */
#define ERRORS_ENUM(name, value, message) name = (value),

/* One case of a *_strerror switch. */
#define ERRORS_CASE(name, value, message)                                                          \
    case name:                                                                                     \
        return message;

/* Whether err is one of module's codes (module: PROTO, STORE...), for a caller that passes codes
 * of two modules on and must pick the strerror that names it. */
#define ERRORS_OF(module, err)                                                                     \
    ((int)(err) <= (int)ERRORS_BASE_##module &&                                                    \
     (int)(err) > (int)ERRORS_BASE_##module - (int)ERRORS_SPAN)

enum errors_base {
    ERRORS_SPAN = 50, /* codes per module */

    ERRORS_BASE_PROTO = -100,        /* proto/record.h */
    ERRORS_BASE_KEYS = -200,         /* crypto/keys.h */
    ERRORS_BASE_ATOMICFILE = -250,   /* crypto/atomicfile.h */
    ERRORS_BASE_NOISE = -300,        /* crypto/noise.h */
    ERRORS_BASE_STORE = -400,        /* store/store.h */
    ERRORS_BASE_CONFIG = -500,       /* node/config/config.h */
    ERRORS_BASE_CONTROL = -600,      /* node/shell/control.h */
    ERRORS_BASE_SESSION = -700,      /* node/core/session.h */
    ERRORS_BASE_ENGINE = -750,       /* node/core/engine.h */
    ERRORS_BASE_COMMUNITY = -800,    /* node/core/community.h */
    ERRORS_BASE_RECON = -900,        /* node/core/recon.h */
    ERRORS_BASE_GOSSIP = -1000,      /* node/core/gossip.h */
    ERRORS_BASE_PEERSCORE = -1050,   /* node/core/peerscore.h */
    ERRORS_BASE_SIM = -1100,         /* simnet/sim.h */
    ERRORS_BASE_STIXMAP = -1700,     /* node/formats/stixmap.h */
    ERRORS_BASE_WARNINGLIST = -1800, /* node/formats/warninglist.h */
    ERRORS_BASE_LOG = -1900,         /* node/shell/log.h */
    ERRORS_BASE_TAXII = -1950,       /* node/formats/taxii.h */
    ERRORS_BASE_HTTP = -2000,        /* node/shell/http.h */
    ERRORS_BASE_TIMEFMT = -2100,     /* node/formats/timefmt.h */
    ERRORS_BASE_EXPORT = -2200,      /* node/formats/export.h */
    ERRORS_BASE_IMPORT = -2300,      /* node/formats/import.h */
    ERRORS_BASE_CONSOLE = -2400,     /* node/console/console.h */
    ERRORS_BASE_SUCCESSION = -2500,  /* proto/succession.h */
};

#endif

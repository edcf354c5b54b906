/* limits.h - every limit of tlpmesh, in one place.
 *
 * WireGuard keeps its limits in one enum so that a reviewer can see at a glance what a peer can
 * make a node allocate, queue or compute. Do the same: any new bound (size, count, rate, time)
 * goes here with a one-line reason, never as a literal in code.
 *
 * Add to your module's section only; keep names LIMIT_<WHAT>.
 */
#ifndef TLPMESH_PROTO_LIMITS_H
#define TLPMESH_PROTO_LIMITS_H

enum limits {
    /* --- keys and hashes (fixed by the algorithms) --- */
    LIMIT_KEY_BYTES = 32,      /* Ed25519 / X25519 public keys, seeds */
    LIMIT_SIG_BYTES = 64,      /* Ed25519 signature */
    LIMIT_ID_BYTES = 32,       /* record id = BLAKE2b-256(body) */
    LIMIT_PUBKEY_B64_LEN = 44, /* base64 text of a 32-byte key, as WireGuard shows it */

    /* --- records (proto/) --- */
    LIMIT_RECORD_BYTES = 8192,       /* encoded body; a signed record is sig || body */
    LIMIT_VALUE_BYTES = 2048,        /* indicator value: long URLs exist, megabyte ones are abuse */
    LIMIT_TYPE_BYTES = 32,           /* indicator type name (MISP attribute type) */
    LIMIT_TAGS = 16,                 /* tags per indicator */
    LIMIT_TAG_BYTES = 128,           /* one tag: MISP machine tags can be long */
    LIMIT_COMMENT_BYTES = 1024,      /* free text comment / revocation reason */
    LIMIT_NAME_BYTES = 64,           /* community and organisation names */
    LIMIT_AUDIENCE_COMMUNITIES = 16, /* communities named in one record's audience */
    LIMIT_AUDIENCE_RECIPIENTS = 64,  /* recipient node keys in one record's audience */
    LIMIT_ROSTER_MEMBERS = 256,      /* members of one community roster */
    LIMIT_CLOCK_SKEW_MS = 5 * 60 * 1000, /* refuse records created further in the future */

    /* --- store (store/) --- */
    LIMIT_STORE_MAPSIZE_INITIAL_MB = 64, /* LMDB map; grows by doubling on MDB_MAP_FULL */
    LIMIT_STORE_MAPSIZE_MAX_MB = 65536,  /* refuse to grow past 64 GiB */
    LIMIT_STORE_BATCH = 4096,            /* records committed in one write transaction */
    LIMIT_STORE_DBS = 16,                /* LMDB named databases */

    /* --- config (node/) --- */
    LIMIT_CONFIG_BYTES = 1 << 20, /* a config file larger than 1 MiB is refused */
    LIMIT_CONFIG_LINE = 1024,     /* longest config line */
    LIMIT_PEERS = 256,            /* configured peers */
    LIMIT_PEER_COMMUNITIES = 16,  /* communities declared for one peer */
    LIMIT_TRUSTED_ROSTER_OWNERS = 32,
    LIMIT_PATH_BYTES = 4096,
};

#endif

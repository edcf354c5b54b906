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
    LIMIT_RULE_BYTES = 6144,         /* detection rule text (yara, sigma, snort, suricata): most
                                        single rules are smaller, and an 8 KiB body still holds
                                        tags, a comment and an audience beside it */
    LIMIT_VALUE_BYTES = LIMIT_RULE_BYTES, /* indicator value of any type (a record's value field,
                                        every value buffer): the largest type's limit */
    LIMIT_VALUE_PLAIN_BYTES = 2048,  /* a value that is not a rule: long URLs exist, megabyte ones
                                        are abuse */
    LIMIT_TYPE_BYTES = 32,           /* indicator type name (MISP attribute type) */
    LIMIT_TAGS = 16,                 /* tags per indicator */
    LIMIT_TAG_BYTES = 128,           /* one tag: MISP machine tags can be long */
    LIMIT_COMMENT_BYTES = 1024,      /* free text comment / revocation reason */
    LIMIT_NAME_BYTES = 64,           /* community and organisation names */
    LIMIT_AUDIENCE_COMMUNITIES = 16, /* communities named in one record's audience */
    LIMIT_AUDIENCE_RECIPIENTS = 64,  /* recipient node keys in one record's audience */
    LIMIT_ROSTER_MEMBERS = 256,      /* members of one roster record (one chunk of a version) */
    LIMIT_ROSTER_CHUNKS = 128,       /* records of one roster version: 10,000 members with 64-byte
                                        organisation names (81 fit one 8 KB body) */
    LIMIT_CLOCK_SKEW_MS = 5 * 60 * 1000, /* refuse records created further in the future */

    /* --- crypto (crypto/) --- */
    LIMIT_KEY_FILE_BYTES = LIMIT_PUBKEY_B64_LEN + 1, /* key file: 44 base64 chars + optional '\n' */

    /* --- store (store/) --- */
    LIMIT_STORE_MAPSIZE_INITIAL_MB = 64, /* LMDB map; grows by doubling on MDB_MAP_FULL */
    LIMIT_STORE_MAPSIZE_MAX_MB = 65536,  /* refuse to grow past 64 GiB */
    LIMIT_STORE_MAPSIZE_MIN_MB = 1,      /* [Node] StoreMapInitialMB floor: LMDB needs a few pages,
                                            and a smaller map only means more doublings */
    LIMIT_STORE_BATCH = 4096,            /* records committed in one write transaction */
    LIMIT_STORE_BULK_DIRTY_PAGES = 65536, /* a bulk write (store_bulk_put) commits once its
                                           transaction holds about this many dirty pages (256 MiB
                                           of 4 KiB pages, in memory until the commit; LMDB
                                           spills to the file past MDB_IDL_UM_MAX, 128 Ki) */
    LIMIT_STORE_DBS = 16,                /* LMDB named databases */
    LIMIT_STORE_PEER_BLOB_BYTES = 4096,  /* per-peer state blob: cursors and counters, not data */
    LIMIT_STORE_META_KEY_BYTES = 64,     /* meta key name */
    LIMIT_STORE_META_VALUE_BYTES = 4096, /* meta value (node info) */
    LIMIT_STORE_RESIZE_RETRIES = 8,      /* re-reads of a map another process keeps growing */
    LIMIT_PRUNE_BATCH = 1024,            /* expired records removed per prune transaction: one
                                            commit stays short on the loop thread */
    LIMIT_PRUNE_INTERVAL_MS = 60 * 1000, /* the node prunes this often (sooner while a full
                                            batch was found) */
    LIMIT_PRUNE_GRACE_MS = 24 * 60 * 60 * 1000, /* an expired indicator stays this long: lookups
                                            and exports can still show it, dedupe still knows it */
    LIMIT_STORE_DISK_LOW_BYTES = 1 << 20, /* a failed commit with less free space than this (or
                                            this close to RLIMIT_FSIZE) is a full disk: LMDB
                                            writes up to 64 pages at once and calls a short
                                            write EIO */
    LIMIT_STORE_CHECK_LISTED = 1000,     /* problems check-store prints one by one; the rest are
                                            counted */
    LIMIT_STORE_CHECK_CHUNK = 1024,      /* entries check-store reads in one read transaction
                                            (~50 ms of signature checks): a long check of a
                                            running node's store never pins old pages for long,
                                            so the map does not grow for it */

    /* --- config (node/) --- */
    LIMIT_CONFIG_BYTES = 1 << 20, /* a config file larger than 1 MiB is refused */
    LIMIT_CONFIG_LINE = 1024,     /* longest config line */
    LIMIT_PEERS = 2048,           /* configured peers: a national hub (OPERATIONS.md "A hub") */
    LIMIT_PEER_COMMUNITIES = 16,  /* communities declared for one peer */
    LIMIT_TRUSTED_ROSTER_OWNERS = 32,
    LIMIT_PATH_BYTES = 4096,
    LIMIT_CONFIG_ENTRY_BYTES = 196, /* "Key = Value" without its comment: Debian's inih has a
                                       200-byte line buffer (3 bytes for CR, LF, NUL) */
    LIMIT_CONFIG_HOST_BYTES = 253,  /* host in Listen/Endpoint: the longest DNS name */
    LIMIT_CONFIG_DIAGS = 64,        /* problems kept per config_load; the rest are counted */
    LIMIT_CONFIG_DIAG_BYTES = 320,  /* one "FILE:LINE: message" */

    /* --- import, STIX mapping, warninglists (node/formats/import.c, stixmap.c, warninglist.c) ---
     * */
    LIMIT_STIX_PATTERN_BYTES = 16384,  /* one indicator pattern: a few long URLs OR-ed */
    LIMIT_STIX_PATTERN_TERMS = 64,     /* comparisons in one pattern */
    LIMIT_IMPORT_FILE_BYTES = 256 << 20, /* one input file (a big MISP event or STIX bundle) */
    LIMIT_IMPORT_ITEMS = 1 << 21,      /* candidates in one import: a large feed, not a dump */
    LIMIT_IMPORT_FEED_EVENTS = 1 << 16, /* events in one MISP feed manifest */
    LIMIT_IMPORT_CSV_COLUMNS = 256,    /* fields in one CSV line */
    LIMIT_IMPORT_INVALID_LISTED = 20,  /* invalid values listed one by one in the summary */
    LIMIT_IMPORT_BATCH = LIMIT_STORE_BATCH, /* records per import transaction: one durable commit
                                          rewrites the B-tree pages it touches, so the biggest
                                          batch the store takes writes least per record (36 KiB
                                          each in memory while the batch fills: 144 MiB) */
    LIMIT_IMPORT_SIGNERS = 64,         /* threads signing one import batch (one per core) */
    LIMIT_IMPORT_SIGN_MIN = 64,        /* records per extra signer: below, a thread costs more */
    LIMIT_WARNINGLIST_FILES = 64,      /* --warninglist files plus the default directory */
    LIMIT_WARNINGLIST_ENTRIES = 1 << 22, /* entries over all lists (top-1M lists exist) */
    LIMIT_WARNINGLIST_NAME_BYTES = 256, /* a list's "name", kept for messages */

    /* --- sharing gate (node/core/gate.h) --- */
    LIMIT_GATE_MEMBERSHIPS = 64, /* communities one node is known to belong to (config + rosters) */

    /* --- communities (node/core/community.h) --- */
    LIMIT_COMMUNITY_ROSTERS = 1024, /* (owner, name) rosters one community table holds */
    LIMIT_COMMUNITY_MEMBERS = 10000, /* members of one roster version across its chunks: a
                                        national hub's community of constituents */
    LIMIT_COMMUNITY_TABLE_MEMBERS = 65536, /* members of all rosters one table holds (~6 MiB) */
    LIMIT_COMMUNITY_RECORDS = 65536, /* stored roster records (every version, every chunk) one
                                        table build reads, ~180 bytes each while it runs: the
                                        store keeps superseded versions, and 1,000 edits of a
                                        64-chunk roster fit; more is refused, not guessed at */

    /* --- channel and engine (node/core/session.c, node/core/engine.c, node/shell/run.c) --- */
    LIMIT_FRAME_BYTES = 65535,          /* one Noise message; the length prefix is 2 bytes */
    LIMIT_HANDSHAKE_MS = 10 * 1000,     /* connect + handshake + HELLO must finish by then */
    LIMIT_HALF_OPEN = 64,               /* inbound connections not yet authenticated */
    LIMIT_HS_RATE_PER_S = 2,            /* new inbound connections per IP address per second */
    LIMIT_HS_RATE_BURST = 10,           /* ... with this burst */
    LIMIT_RATE_ADDRS = 1024,            /* IP addresses the rate limiter remembers */
    LIMIT_RATE_V6_PREFIX = 64,          /* IPv6 addresses are rate-limited per /64 (one host) */
    /* The half-open table is shared (engine_admit.c, docs/PROTOCOL.md "Handshake floods"): */
    LIMIT_HALF_OPEN_PER_ADDR = 4,       /* half-opens of one host (IPv4, IPv6 /64): a partner
                                           has one dial in flight; a few nodes behind one NAT */
    LIMIT_HALF_OPEN_V4_GROUP = 24,      /* when full, the subnet holding most half-opens loses
                                           one first: an IPv4 /24, the smallest routed block */
    LIMIT_HALF_OPEN_V6_GROUP = 48,      /* ... an IPv6 /48, the usual site allocation */
    LIMIT_ACCEPTS_PER_TURN = 16,        /* inbound connections taken per loop turn, then the
                                           accepted ones are read: <= LIMIT_HALF_OPEN / 4, so
                                           a half-open survives the next turns' accepts */
    LIMIT_LISTEN_BACKLOG = 4096,        /* the kernel's queue of connections not yet accepted
                                           (capped by net.core.somaxconn): a full queue drops a
                                           partner's SYN, and 128 filled with 1,000 attackers */
    LIMIT_KEEPALIVE_MS = 15 * 1000,     /* send KEEPALIVE after this much send silence */
    LIMIT_DEAD_MS = 60 * 1000,          /* close a session after this much receive silence */
    LIMIT_BACKOFF_MIN_MS = 1000,        /* first redial delay */
    LIMIT_BACKOFF_MAX_MS = 5 * 60 * 1000, /* redial delay cap (doubles with jitter up to this) */
    LIMIT_REKEY_MESSAGES = 1 << 20,     /* each direction rekeys after this many messages */
    LIMIT_REKEY_MS = 10 * 60 * 1000,    /* ... and at least this often (REKEY message) */
    LIMIT_PEER_SENDQ_BYTES = 8 << 20,   /* bytes queued towards one connection */
    LIMIT_CONNS = 2 * LIMIT_PEERS + LIMIT_HALF_OPEN, /* one session + one dial per peer + inbound */
    LIMIT_CONTROL_LINE = 1 << 16,       /* one control-socket request line */
    LIMIT_CONTROL_ANSWER = 4 << 20,     /* one answer line the CLI reads: status of LIMIT_PEERS
                                           peers, about 0.8 KiB a peer (1.5 MiB at 2000) */
    LIMIT_CONTROL_CLIENTS = 16,         /* concurrent control-socket clients */
    LIMIT_CONTROL_TIMEOUT_MS = 5000,    /* CLI waits this long for the node's answer */
    LIMIT_SHUTDOWN_MS = 2000,           /* flushing CLOSE frames on exit; then sockets are cut */

    /* --- gossip (node/core/gossip*.c, docs/PROTOCOL.md "Gossip") --- */
    LIMIT_GOSSIP_CANDIDATES = 8192,    /* received records being verified or waiting for commit */
    LIMIT_GOSSIP_COPIES_PER_ID = 2,    /* copies of one id with different signatures in flight */
    LIMIT_GOSSIP_COMMIT_BATCH = LIMIT_STORE_BATCH, /* records per commit: a durable commit
                                          waits ms on fsync, so one turn's records share one */
    /* A commit writes every page its records land on, about a leaf each of the store's two
       random-key trees plus the branches above and the commit's own pages, however few records
       it holds: a catch-up committing what each short commit left queued wrote 20-41 KiB a
       record (docs/PERFORMANCE.md "Group commits of a bulk transfer"). So while one source has
       at least this many records received and not yet committed, the next commit waits until
       they are verified or LIMIT_GOSSIP_COMMIT_WAIT_MS has passed (gossip_commit.c). */
    LIMIT_GOSSIP_COMMIT_MIN = 1024,
    LIMIT_GOSSIP_COMMIT_WAIT_MS = 50,  /* the most a commit waits for it: about the time two cores
                                          take to verify LIMIT_GOSSIP_COMMIT_MIN records */
    LIMIT_GOSSIP_RECENT = 16384,       /* known-by table: recent ids and which peers have them */
    LIMIT_GOSSIP_WANTS = 16384,        /* short ids being fetched */
    LIMIT_GOSSIP_WANT_PER_PEER = 4096, /* WANT ids outstanding towards one peer */
    LIMIT_GOSSIP_WANT_TRIES = 3,       /* announcers asked for one id before reconciliation */
    LIMIT_WANT_TIMEOUT_MS = 2000,      /* then the next announcer is asked */
    LIMIT_ANNOUNCE_TICK_MS = 30,       /* announcements leave in batches 30-60 ms after commit */
    LIMIT_GOSSIP_ANNOUNCE_QUEUE = 16384, /* committed records waiting to be announced */
    LIMIT_GOSSIP_PUSH_QUEUE = 1 << 17, /* ids queued to be sent in full to one peer (4 MiB) */
    LIMIT_GOSSIP_BACKLOG_BYTES = 2 << 20, /* stop feeding a connection holding this much unsent
                                             (below LIMIT_PEER_SENDQ_BYTES, which closes it) */
    LIMIT_GOSSIP_DRAIN_RECORDS = 1024, /* records sent to one peer per flush: loop turns stay short */
    LIMIT_GOSSIP_OWN_RANGES = 256,     /* seq ranges this node committed, not yet passed by the
                                          local scan (allocated as needed, up to this) */
    LIMIT_RECON_INTERVAL_MS = 60 * 1000, /* reconciliation with each peer this often */
    LIMIT_RECON_REQ_MIN_MS = 5 * 1000, /* a peer's RECON_REQ starts a round at most this often */
    LIMIT_RECON_ROUND_MIN_MS = 5 * 1000, /* rounds with one peer start at most this often, since
                                            each reads the whole store on the loop (1 s
                                            of CPU at 500,000 records, spread over its
                                            turns): the initiator waits, the
                                            responder allows LIMIT_RECON_PEER_ROUNDS ahead */
    LIMIT_RECON_PEER_ROUNDS = 4,  /* rounds a peer may start ahead of that pace (network jitter);
                                     one more closes the session (PEERSCORE_E_RECON_ROUNDS) */
    LIMIT_RECON_START_DELAY_MS = 250,  /* after a session opens: a simultaneous dial settles first,
                                          so one session, not two, carries the catch-up */
    LIMIT_SHORT_ID_BYTES = 8,          /* a short id (ANNOUNCE, WANT): the first 8 bytes of an id;
                                          id tables hash this prefix (store/idindex.h) */
    LIMIT_HASH_KEY_BYTES = 16,         /* SipHash key of the id tables: random, so that crafted
                                          ids cannot make probe chains */
    LIMIT_SIGNED_RECORD_BYTES = LIMIT_SIG_BYTES + LIMIT_RECORD_BYTES, /* sig || body: one
                                          gossip item, behind a u16 length prefix */
    LIMIT_GOSSIP_SCAN_CHUNK = 4096,    /* ids the local scan reads per store iteration: the ids
                                          are copied out, since store callbacks may not call it */
    LIMIT_RECON_BUILD_CHUNK = 1024,    /* records a reconciliation set build reads per store
                                          iteration, one iteration per loop turn (about 2 ms at
                                          500,000 records): gated there from their bytes, their
                                          revocation looked up after (no store calls inside) */
    LIMIT_RECON_SORT_RUN = 1024,       /* the set's sort: runs this long sorted at once, then
                                          merged (gossip_recon_set.c) */
    LIMIT_RECON_SORT_STEP = 1 << 16,   /* items the sort moves per loop turn (under 1 ms) */
    LIMIT_RECON_REVOKED_LOAD = 1 << 18, /* revocations (and distrusted origins) a set build
                                          loads at once to check its records against (64 bytes
                                          each, 16 MiB at most); a store with more is checked one
                                          record at a time */
    LIMIT_GOSSIP_SHORT_HITS = 4,       /* records kept per short-id lookup: 64-bit collisions are
                                          rare, and only an origin grinding its own records can
                                          make more */
    LIMIT_SESSION_BUF_KEEP_BYTES = 4096, /* a session's receive buffer larger than this is freed
                                          after its frame: each would keep its largest frame */
    LIMIT_GOSSIP_QUEUE_KEEP = 8,       /* ids a push queue starts with; an emptied queue larger
                                          than this gives its memory back (most stay near empty:
                                          64 were 16 KiB of a simulated node's 8 peers) */
    LIMIT_GOSSIP_LOG_BYTES = 256,      /* one gossip log line, before the shell adds its fields */
    LIMIT_GOSSIP_TREES = 4096,         /* relay trees (origin, tlp, communities) and who pruned each:
                                          the oldest is forgotten, and its next record floods */
    LIMIT_GOSSIP_TREE_FANOUT = 5,      /* peers a relay pushes a tree's record to in full besides
                                          those that grafted it (the rest get the announcement) */

    /* --- HTTP, TAXII, metrics, logs (node/shell/http.c, taxii.c, metrics.c, log.c) --- */
    LIMIT_HTTP_CLIENTS = 64,          /* [Client] credentials in the config */
    LIMIT_HTTP_SECRET_BYTES = 256,    /* one client secret (password or token) */
    LIMIT_HTTP_CONNS = 256,           /* concurrent HTTP connections per listener: room for four
                                         addresses at LIMIT_HTTP_CONNS_PER_ADDR */
    LIMIT_HTTP_REQUEST_BYTES = 16384, /* request line + headers; more is answered 431 */
    LIMIT_HTTP_RESPONSE_HEAD_BYTES = 4096, /* MHD connection memory beyond the request, so a
                                            * request at the limit still gets its answer */
    LIMIT_HTTP_TIMEOUT_S = 30,        /* idle HTTP connection is closed after this */
    LIMIT_HTTP_QUERY_PARAMS = 32,     /* query parameters in one request */
    LIMIT_HTTP_CONNS_PER_ADDR = 64,   /* connections from one address: a poller needs a few, a
                                         NAT of readers some more; one address cannot take all */
    LIMIT_HTTP_HEAD_TIMEOUT_S = 5,    /* a request's line and headers must be in within this of
                                         its connection or its request line (slowloris); a far
                                         TLS-terminating proxy still sends a head in well under */
    LIMIT_HTTP_SWEEP_MS = 500,        /* head deadlines are checked this often: a cut comes at
                                         most this late */

    /* --- the web console (node/console/, docs/OPERATIONS.md "Console") --- */
    LIMIT_CONSOLE_SESSIONS = 64,       /* signed-in sessions at once; the least recently used
                                          goes when a new one needs its place */
    LIMIT_CONSOLE_SESSION_IDLE_S = 1800, /* a session unused this long is over */
    LIMIT_CONSOLE_SESSION_MAX_S = 43200, /* and any session after this, used or not (12 h) */
    LIMIT_CONSOLE_TOKEN_BYTES = 32,    /* random bytes of a session or pre-session token */
    LIMIT_CONSOLE_FORM_BYTES = 16384,  /* one form's POST body (413 beyond): a 6 KiB rule
                                          url-encoded fits */
    LIMIT_CONSOLE_FORM_DISCARD_BYTES = 1048576, /* a chunked body past the form limit is read
                                          and dropped up to this, then answered 413 (Debian 12's
                                          MHD queues no answer mid-upload); beyond, the
                                          connection is closed */
    LIMIT_CONSOLE_FORM_FIELDS = 48,    /* fields in one form (400 beyond) */
    LIMIT_CONSOLE_SIGNIN_ADDRS = 256,  /* source addresses whose failed sign-ins are counted;
                                          the oldest entry goes first */
    LIMIT_CONSOLE_SIGNIN_NAMES = 1024, /* (address, user name) pairs whose failed sign-ins are
                                          counted; the oldest entry goes first */
    LIMIT_CONSOLE_SIGNIN_FAILS = 5,    /* failed sign-ins for one user name from one address
                                          per window; 429 for that name beyond (behind a proxy
                                          every analyst shares one address) */
    LIMIT_CONSOLE_SIGNIN_ADDR_FAILS = 50, /* failed sign-ins from one address per window, any
                                          names (against spraying); 429 for all beyond */
    LIMIT_CONSOLE_SIGNIN_WINDOW_S = 300, /* the window of both */
    LIMIT_CONSOLE_PAGE_ROWS = 50,      /* search results per page */
    LIMIT_CONSOLE_SCAN_RECORDS = 200000, /* records one search page may examine (on a pool
                                          thread): a filter that matches little stops there and
                                          says so */
    LIMIT_HTTP_JOBS = 1,              /* TAXII pages built at once off the loop: one of libuv's
                                         pool threads, the others stay with signature checks */
    LIMIT_TAXII_PAGE_DEFAULT = 1000,  /* MaxPageSize when the config sets none */
    LIMIT_TAXII_PAGE_MAX = 10000,     /* largest MaxPageSize the config may set */
    LIMIT_TAXII_SCAN_RECORDS = 200000, /* records examined for one page; then more=true */
    LIMIT_TAXII_MATCH_VALUES = 64,    /* comma-separated values in one match[...] filter */
    LIMIT_TAXII_MAX_CONTENT = 1 << 20, /* max_content_length advertised (we accept no bodies) */
    LIMIT_LOG_LINE_BYTES = 8192,      /* one log line; longer fields are cut */
    LIMIT_LOG_FIELDS = 16,            /* key=value fields in one log line */
    LIMIT_LOG_REFUSED_PER_S = 10,     /* lines a second for connections refused before a key
                                         was shown: a flood must not fill the disk */

    /* --- exports, TAXII paging, engine addresses (node/formats/taxii.c, export.h,
           node/cli/cli_export.c, node/core/engine.h) --- */
    LIMIT_TAXII_SCAN_BATCH = 64,       /* candidates copied out of one read transaction */
    LIMIT_TAXII_ID_CANDIDATES = 8,     /* records sharing the 6 fixed id bytes of one STIX UUID */
    LIMIT_TAXII_PATH_SEGMENTS = 8,     /* segments of a request path; the longest route has 6 */
    LIMIT_EXPORT_FILES = 16,           /* fixed files of one directory format (suricata's 14; a
                                          misp-feed adds the events of other origins:
                                          export_dir_files) */
    LIMIT_EXPORT_FILE_NAME_BYTES = 64, /* the name of one of them, with its NUL */
    LIMIT_EXPORT_EVERY_MIN_MS = 1000,  /* shortest `export --every`: each pass reads the store */
    LIMIT_ENGINE_HOST_BYTES = 256,     /* a peer's host with its NUL (DNS names are <= 253) */
    LIMIT_ENGINE_ADDR_BYTES = 64,      /* "[v6 address]:port" with its NUL */

    /* --- set reconciliation (node/core/recon.c, docs/PROTOCOL.md "Reconciliation") --- */
    LIMIT_RECON_BUCKETS = 16,        /* sub-ranges a mismatched range splits into: log16 rounds */
    LIMIT_RECON_LIST_ITEMS = 16,     /* a range this small is sent as its id list, not split */
    LIMIT_RECON_ROUNDS = 4096,       /* messages one side answers per session; then it gives up */
    LIMIT_RECON_MSG_BYTES = 60000,   /* one message, under LIMIT_FRAME_BYTES with headroom */
    LIMIT_RECON_MSG_MIN = 256,       /* smallest message cap that still guarantees progress */
    LIMIT_RECON_RANGES = 8192,       /* ranges in one message (a 60000-byte one holds < 6000) */
    LIMIT_RECON_ITEMS = 1 << 24,     /* items one side reconciles in one session */
    LIMIT_RECON_NEEDS = 1 << 22,     /* ids one side learns it lacks in one session */
    LIMIT_RECON_FLIGHT_BYTES = 4 << 20, /* one side's turn (a flight of messages), written at
                                           once, sent while the connection keeps under
                                           LIMIT_GOSSIP_BACKLOG_BYTES (the rest as it drains) */
    LIMIT_RECON_LEAF_ITEMS = 12,     /* the last split aims at buckets this small: with a few
                                        differences they still fit one list (16) */
    LIMIT_RECON_BUCKETS_MAX = 64,    /* buckets of that last split: one split level less below
                                        12 x 64 items, for 64 fingerprints instead of 16 */

    /* --- issue 11: sharing an operator can audit (node/cli) --- */
    LIMIT_ID_PREFIX_MIN_HEX = 8,     /* shortest record id prefix show/revoke/sight accept */
    LIMIT_ID_SHORT_HEX = 16,         /* hex digits of the ids list and query print */
    LIMIT_ID_CANDIDATES_LISTED = 8,  /* records an ambiguous prefix error names */
    LIMIT_LIST_MAX = 1 << 24,        /* the largest list --limit */
    LIMIT_EXPORT_LEFT_REASONS = 4,   /* distinct reasons an export counts values it left out */

    /* --- issue 11 (live): query finds the ranges that contain an address --- */
    LIMIT_IP_PREFIXES = 129,              /* prefix lengths of an IPv6 address: /0 to /128 */
    LIMIT_STORE_FIND_VALUES = 2 * 129,    /* keys of one store_find_values: ip-src and ip-dst
                                             at every prefix length of an IPv6 address */
    /* --- issue 12: per-peer budgets and penalties (node/core/peerscore.h, gossip_recv.c,
           engine_penalty.c, docs/PROTOCOL.md "Budgets"). Each budget is a token bucket: a burst,
           then a refill per second. An honest peer stays far inside each; the attacks of issue
           12 (100,000 unknown messages, 5,000,000 replays, 340,000 out-of-audience records in
           12 s) empty one within a second. --- */
    LIMIT_PEER_UNKNOWN_BURST = 64,     /* messages of unknown types: a later version sends a new
                                          type only to a peer whose HELLO capabilities ask */
    LIMIT_PEER_UNKNOWN_PER_S = 1,      /* ... refill: such a message is never useful to us */
    LIMIT_PEER_UNKNOWN_TOKEN_BYTES = 4096, /* an unknown message costs 1 token + 1 per 4 KiB:
                                          a few 1 MB bodies spend the budget as fast as many */
    LIMIT_PEER_DUP_BURST = 65536,      /* unasked duplicates: a restarted relay pushing its
                                          recent records again, copies crossing each other, stay
                                          far below this (scripts/soak found 16384 too tight) */
    LIMIT_PEER_DUP_PER_S = 1024,       /* ... refill, and every new record from the peer gives
                                          one back: the budget is also a 1:1 ratio */
    LIMIT_PEER_DUP_REPLAY_COST = 16,   /* a duplicate of an id the peer is known to hold (it sent
                                          or was sent it): a replay, never a crossing */
    LIMIT_PEER_SUCCESSION_COST = 16,   /* duplicate tokens a relayed succession statement that
                                          changes nothing costs (one this node holds, or about a
                                          key it does not trust): two signature checks each; a
                                          peer's whole table (LIMIT_SUCCESSIONS) at session open
                                          is a quarter of LIMIT_PEER_DUP_BURST */
    LIMIT_PEER_TIME_BURST = 1024,      /* expired or future records: a relay with a skewed clock
                                          or records expiring in transit */
    LIMIT_PEER_TIME_PER_S = 16,        /* ... refill */
    LIMIT_PEER_GATE_BURST = 1024,      /* out-of-audience records: views differ for a while
                                          (a roster on its way, a reload on one side) */
    LIMIT_PEER_GATE_PER_S = 16,        /* ... refill */
    LIMIT_PEER_UNASKED_BURST = 16384,  /* records neither wanted from the peer nor sent within a
                                          reconciliation with it: its own eager pushes, which it
                                          paces (LIMIT_GOSSIP_PUSH_*) below this */
    LIMIT_PEER_UNASKED_PER_S = 2048,   /* ... refill: twice the sender's pacing */
    LIMIT_PEER_RECON_GRACE_MS = 2 * LIMIT_RECON_INTERVAL_MS, /* the haves a peer's rounds
                                          named (our needs) count as asked for this long after its
                                          last reconciliation message or one of those haves:
                                          the haves of a round drain after it, and the next
                                          round comes LIMIT_RECON_INTERVAL_MS after its end */
    LIMIT_PEER_RECON_QUIET_MS = 5 * 1000, /* ...but hold off our next round only while they
                                          keep coming: the count is of what the peer's set
                                          named, and a have it does not send after all (its
                                          gate asked again when writing) never comes; a count
                                          that never reached 0 held every round off for the
                                          whole grace (test_mesh) */
    LIMIT_GOSSIP_PUSH_BURST = 8192,    /* own records pushed in full to one peer at once; more
                                          wait for a reconciliation round (asked) */
    LIMIT_GOSSIP_PUSH_PER_S = 1024,    /* ... refill: half the receiver's unasked budget */
    LIMIT_PENALTY_MIN_MS = 10 * 1000,  /* first back-off of a penalized key: a mistaken penalty
                                          of an honest peer costs it 10 s and a reconciliation */
    LIMIT_PENALTY_MAX_MS = 60 * 60 * 1000, /* back-off cap (doubles per penalty): a hostile
                                          partner reconnects at most once an hour */
    LIMIT_PENALTY_FORGIVE_MS = 24 * 60 * 60 * 1000, /* a day without a penalty: the next one
                                          starts again at LIMIT_PENALTY_MIN_MS */
    /* Fair ingest across peers (gossip_verify.c, node/shell/verifier.c): verify jobs are small
       and queued per sending peer; a free pool thread takes the next job of the next peer in
       turn, so a record of a quiet peer waits for about one job, not for a flooder's backlog. */
    LIMIT_GOSSIP_JOB_RECORDS = 32,     /* records in one verify job: ~1.5 ms of Ed25519 */
    /* ... and at the commit (node/core/commitq.h): verified records wait per source and are
       committed in turn, so a quiet peer's record goes into the next commit; while more than
       one source delivers, commits stay small, so the commit it waits for is short too. */
    LIMIT_GOSSIP_COMMIT_QUANTUM = LIMIT_GOSSIP_JOB_RECORDS, /* records per source per round */
    LIMIT_GOSSIP_COMMIT_SHARED = 64,  /* records per commit and source while shared (at least 64
                                          a commit): ~10 ms a commit under a flood (256: ~28 ms,
                                          honest p99 x19; 4096: ~100 ms) */
    LIMIT_GOSSIP_COMMIT_SHARED_MS = 1000, /* shared this long after a push from a second source */
    LIMIT_VERIFY_INLINE_RECORDS = 2,   /* records checked on the loop thread per loop ms
                                          (node/shell/verifyq.h): a quiet peer's small job skips
                                          the pool's answer, a loop turn (and its commit) under a
                                          flood; ~50 us a record, so at most ~10 % of the loop */
    LIMIT_GOSSIP_JOBS_OUT = 64,        /* jobs handed to io.verify at once: on a busy machine the
                                          loop thread gives results back late, and 8 left the pool
                                          threads idle (ingest 0.6 x verify; 64: 1.2) */
    /* Recent activity (node/core/activity.h): records in, out, published and refused per minute,
       for `status --json` and the console's chart; 16 bytes a minute in every gossip. */
    LIMIT_ACTIVITY_MINUTES = 60,       /* minutes kept: the last hour */
    LIMIT_ACTIVITY_MINUTE_MS = 60 * 1000, /* one bucket */
    /* Keys that change (issue 13 point 6, proto/succession.h, docs/PROTOCOL.md "Key succession"). */
    LIMIT_SUCCESSION_BYTES = 234,      /* one statement: 106-byte body + two Ed25519 signatures */
    LIMIT_KEY_GRACE_MS = 7 * 24 * 60 * 60 * 1000, /* after a rotation's time its old key is still
                                          accepted for handshakes this long: a partner that was
                                          offline for a week still meets the node, which dials it
                                          with the old key until then (KeyGrace lowers it) */
    LIMIT_KEY_GRACE_MIN_MS = 1000,     /* KeyGrace floor (tests use 2 s) */
    LIMIT_SUCCESSIONS = 1024,          /* statements a node keeps: 4 per configured peer; each
                                          replaces a key, so a peer rotating monthly fits 20 years
                                          of chain in its share before `peer replace-key` */
    LIMIT_SUCCESSION_CHAIN = 64,       /* links followed from a configured key to its current one */
    LIMIT_SUCCESSION_PER_MSG = 64,     /* statements in one SUCCESSION message (15 KB) */
};

/* an honest peer's table, relayed whole at every session open, stays inside the budget */
_Static_assert(LIMIT_SUCCESSIONS * LIMIT_PEER_SUCCESSION_COST <= LIMIT_PEER_DUP_BURST / 4,
               "LIMIT_PEER_SUCCESSION_COST");

#endif

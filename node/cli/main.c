/* main.c - tlpmesh: dispatch to a command, --help, --version. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/cli/cli.h"

#ifndef TLPMESH_VERSION
#define TLPMESH_VERSION "0.0.0"
#endif

const struct cli_command cli_commands[] = {
    {"keygen", cli_keygen, "create a node key file and print its public identity",
     "usage: tlpmesh keygen -o FILE\n"
     "  Writes a new random key (mode 0600; never overwrites) and prints the public identity\n"
     "  (base64, 44 characters) to share with partner nodes.\n"
     "example: tlpmesh keygen -o /etc/tlpmesh/node.key\n"},
    {"pubkey", cli_pubkey, "print the public identity of a key file",
     "usage: tlpmesh pubkey FILE\n"
     "example: tlpmesh pubkey /etc/tlpmesh/node.key\n"},
    {"key", cli_key, "change this node's key: rotate it, or recover it after a theft",
     "usage: tlpmesh key rotate -c CONF\n"
     "       tlpmesh key recovery-init -o FILE\n"
     "       tlpmesh key recover -c CONF --recovery-key FILE --since RFC3339|DURATION\n"
     "  rotate: a new node key and a statement signed by the old and the new key; partners\n"
     "  that trust the old key accept the new one without a config change. The old key stays\n"
     "  in KEYFILE.prev for KeyGraceSeconds. Restart the node to use the new key.\n"
     "  recovery-init: an offline recovery key; prints the RecoveryKey line partners put in\n"
     "  this node's [Peer] section.\n"
     "  recover: the node key was stolen: a new key vouched for by the recovery key; partners\n"
     "  refuse the stolen key and hide what it signed from --since on.\n"
     "example: tlpmesh key rotate -c /etc/tlpmesh/tlpmesh.conf\n"},
    {"init", cli_init, "create key, config and data directory for a new node",
     "usage: tlpmesh init DIR --org NAME --network NAME [--listen HOST:PORT]\n"
     "  Creates DIR/node.key, DIR/tlpmesh.conf and DIR/data; prints the config path and the\n"
     "  public identity. Never overwrites an existing node.\n"
     "example: tlpmesh init /var/lib/tlpmesh --org CERT-EE --network eu-cert-mesh --listen 0.0.0.0:7400\n"},
    {"check-config", cli_check_config, "validate a config file, printing every problem",
     "usage: tlpmesh check-config -c FILE\n"
     "  Prints each problem as FILE:LINE: message. Exit 0 when valid, 2 otherwise.\n"
     "example: tlpmesh check-config -c /etc/tlpmesh/tlpmesh.conf\n"},
    {"publish", cli_publish, "sign and store a new indicator (prints its id)",
     "usage: tlpmesh publish -c CONF --type T --value V|--value-file FILE|-\n"
     "         --tlp clear|green|amber|amber+strict|red\n"
     "         [--community NAME]... [--to PUBKEY]... [--valid-until RFC3339|DURATION]\n"
     "         [--confidence 0-100] [--tag T]... [--comment TEXT] [--warninglist FILE]...\n"
     "         [--force] [--json]\n"
     "  Types (MISP's names): ip-src ip-dst ip-src|port ip-dst|port domain hostname\n"
     "  hostname|port url email-src email-dst email-subject md5 sha1 sha256 sha512 filename\n"
     "  ssdeep tlsh imphash ja3-fingerprint-md5 jarm-fingerprint x509-fingerprint-sha1\n"
     "  x509-fingerprint-sha256 AS mutex regkey regkey|value user-agent vulnerability btc,\n"
     "  and rules: yara sigma snort suricata (--value-file: the rule file, byte for byte).\n"
     "  RED needs at least one --to. Default validity: 30d for IPs (with or without a port),\n"
     "  90d for names, URLs, e-mail, user agents, AS numbers and wallets, 365d for hashes,\n"
     "  fingerprints, file names, registry keys, mutexes, CVEs and rules; confidence 50.\n"
     "  Publishing the same type, value, TLP and audience again while it is valid prints the\n"
     "  existing id and adds nothing.\n"
     "  A value on a MISP warninglist (--warninglist FILE, and DataDir/../warninglists/*.json)\n"
     "  is refused with exit 1 unless --force.\n"
     "  The audience is the author's: a part of it that cannot receive the record today (a\n"
     "  --to peer whose ceiling is below the TLP or whom the gate refuses, a --to key that is\n"
     "  no peer when no peer may receive the record to pass it on, a --community no config\n"
     "  or trusted roster defines) is still published, with one warning line on stderr each\n"
     "  naming why (--json: {\"id\", \"new\", \"warnings\": [...]}).\n"
     "example: tlpmesh publish -c tlpmesh.conf --type ip-dst --value 203.0.113.7 --tlp amber \\\n"
     "           --community energy-isac --valid-until 14d --tag phishing --comment 'C2 of campaign X'\n"},
    {"query", cli_query, "find live records by indicator value",
     "usage: tlpmesh query -c CONF VALUE [--exact] [--json]\n"
     "  VALUE is normalised for every type that accepts it (203.0.113.7, Example.COM., ...).\n"
     "  For an IP address the ranges (CIDR) that contain it follow, most specific first, under\n"
     "  a line that says so (--json: \"contains\": ADDRESS); --exact: the value only.\n"
     "  Exit 0 when found, 1 when not.\n"
     "example: tlpmesh query -c tlpmesh.conf evil.example.com\n"},
    {"show", cli_show, "show one record by id",
     "usage: tlpmesh show -c CONF ID [--explain] [--json]\n"
     "  ID: 64 hex digits, or any unique prefix of at least 8 (list and query print 16).\n"
     "  --explain adds the gate's verdict towards every configured peer and client (as\n"
     "  tlpmesh explain ID prints it).\n"
     "example: tlpmesh show -c tlpmesh.conf 3f2a9c01e9d47b22\n"},
    {"list", cli_list, "list live records",
     "usage: tlpmesh list -c CONF [--type T] [--tlp L] [--since RFC3339|DURATION] [--all] [--json]\n"
     "         [--limit N]\n"
     "  Oldest first; --limit N stops after N records (stderr says when more match).\n"
     "  --tlp L lists records at level L; --since 2h lists records created in the last two hours;\n"
     "  --all also lists revoked and expired records (marked as such).\n"
     "example: tlpmesh list -c tlpmesh.conf --type sha256 --since 7d --json\n"},
    {"revoke", cli_revoke, "revoke a record this node published",
     "usage: tlpmesh revoke -c CONF ID [--reason TEXT]\n"
     "  Signs a revocation; revoked records are no longer returned, exported or forwarded.\n"
     "  ID: 64 hex digits, or any unique prefix of at least 8.\n"
     "example: tlpmesh revoke -c tlpmesh.conf 3f2a9c01e9d47b22 --reason 'false positive: CDN address'\n"},
    {"run", cli_run, "run the node in the foreground until SIGINT/SIGTERM",
     "usage: tlpmesh run -c CONF [--log-format text|json] [--log-file PATH]\n"
     "         [--log-level info|debug]\n"
     "  Logs one line per event to stderr, or to PATH (SIGHUP reopens it for logrotate);\n"
     "  these options win over the config's LogFormat and LogFile. --log-level debug also\n"
     "  logs each record or id the gate keeps from a peer (record id, peer, verdict).\n"
     "example: tlpmesh run -c /etc/tlpmesh/tlpmesh.conf --log-format json\n"},
    {"status", cli_status, "show a running node's identity and peers",
     "usage: tlpmesh status -c CONF [--json]\n"
     "example: tlpmesh status -c tlpmesh.conf\n"},
    {"reload", cli_reload, "make the running node re-read its config (as SIGHUP does)",
     "usage: tlpmesh reload -c CONF\n"
     "  Asks the node over its control socket to re-read CONF: peers, ceilings, relations,\n"
     "  communities, trusted roster owners, clients, Anonymous and the log settings apply at\n"
     "  once; it prints the peer count and the settings that need a restart (Listen, [HTTP]\n"
     "  Listen, MetricsListen, Network, DataDir, KeyFile, Control). A config with problems is\n"
     "  refused and the node keeps its running one. Exit 0 reloaded, 1 refused or no node\n"
     "  running, 2 the config has problems (each printed as FILE:LINE: message).\n"
     "example: tlpmesh reload -c /etc/tlpmesh/cert-a.conf\n"},
    {"peer", cli_peer, "add, remove or list peers (add and remove take effect in a running node)",
     "usage: tlpmesh peer add -c CONF --key PUBKEY --endpoint HOST:PORT --org NAME\n"
     "                        [--community NAME]... [--max-tlp LEVEL] [--relation partner|client]\n"
     "       tlpmesh peer remove -c CONF PUBKEY\n"
     "       tlpmesh peer replace-key -c CONF OLDKEY NEWKEY\n"
     "       tlpmesh peer list -c CONF [--json]   (the config's peers; status shows sessions)\n"
     "example: tlpmesh peer add -c tlpmesh.conf --key jx8B...= --endpoint 192.0.2.10:7400 --org CERT-FI\n"},
    {"export", cli_export, "write live records, through the TLP gate, in a SOC tool's format",
     "usage: tlpmesh export -c CONF --format FORMAT -o PATH [--max-tlp LEVEL] [--type T]...\n"
     "         [--since RFC3339|DURATION] [--stix-tlp1] [--every DURATION] [--mode OCTAL]\n"
     "         [--group NAME|GID]\n"
     "  Formats: zeek (Intel framework file), suricata (directory of dataset lists + rules),\n"
     "  suricata-iprep (directory: categories.txt, reputation.list), csv (MISP CSV), hosts,\n"
     "  stix (STIX 2.1 bundle), misp-feed (directory: manifest.json, hashes.csv, one event\n"
     "  per TLP level, tagged with that level), text.\n"
     "  Only live records the gate lets go to this node's own organisation appear, up to\n"
     "  --max-tlp (default amber); RED needs --max-tlp red and this node among the recipients.\n"
     "  Files are replaced atomically, and only regular files (never a device, FIFO or\n"
     "  symlink); -o - writes a single-file format to standard output. Files get mode 0640\n"
     "  less the umask, or --mode, and --group for a Zeek or Suricata of another user.\n"
     "  Records a format cannot carry (a CIDR range in Suricata's ip dataset, a type no file\n"
     "  takes) are counted on stderr with the reason.\n"
     "  --stix-tlp1 uses TLP 1.0 marking ids (OpenCTI).\n"
     "  --every 5m keeps running and re-exports when records arrive or expire, until\n"
     "  SIGINT/SIGTERM.\n"
     "example: tlpmesh export -c tlpmesh.conf --format zeek -o /opt/zeek/intel/tlpmesh.txt \\\n"
     "           --max-tlp amber --every 5m\n"},
    {"import", cli_import, "sign and store indicators from a MISP, STIX, CSV or text file",
     "usage: tlpmesh import -c CONF --format misp|misp-feed|stix|csv|text FILE|DIR [--tlp L]\n"
     "         [--community NAME]... [--to PUBKEY]... [--column N|NAME] [--type T]\n"
     "         [--include-non-ids] [--warninglist FILE]... [--force] [--dry-run] [--json]\n"
     "         [--widen-audience]\n"
     "  misp: one event ({\"Event\": ...}); misp-feed: a directory with manifest.json;\n"
     "  stix: a STIX 2.1 bundle of indicators; csv: --column (number from 1 or header name)\n"
     "  with --type or a \"type\" column; text: one value per line with --type, # comments.\n"
     "  TLP comes from the source (MISP tlp: tags, STIX markings); --tlp is the default when\n"
     "  it has none and a floor otherwise (the more restrictive wins). Without --tlp, entries\n"
     "  without a TLP are skipped and counted; a file where none has one is refused.\n"
     "  misp also takes MISP restSearch output; text: 'VALUE # note' makes note the comment.\n"
     "  Skipped and invalid entries are counted on stderr; --json prints a summary object.\n"
     "  Values on a warninglist are skipped unless --force. --dry-run stores nothing.\n"
     "  An indicator this node holds (any origin) is never re-published with a lower TLP or a\n"
     "  wider audience, nor one from a tlpmesh export wider than its origin's audience: skipped\n"
     "  and counted, unless --widen-audience. A record of a tlpmesh export held here is\n"
     "  already present.\n"
     "example: tlpmesh import -c tlpmesh.conf --format misp event.json --community energy-isac\n"},
    {"community", cli_community, "create and change this node's community rosters; show rosters",
     "usage: tlpmesh community create -c CONF NAME [--tlp clear|green|amber|amber+strict]\n"
     "                                 [--member PUBKEY=ORG]... [--members-file FILE]\n"
     "       tlpmesh community add-member -c CONF NAME --key PUBKEY --org ORG\n"
     "       tlpmesh community remove-member -c CONF NAME --key PUBKEY\n"
     "       tlpmesh community show -c CONF [NAME] [--json]\n"
     "  create signs version 1 of a roster owned by this node, which is a member itself; each\n"
     "  change signs the next version. Only a roster's owner can change it. A roster goes to the\n"
     "  community itself (default --tlp green). Other nodes count it only if their config has\n"
     "  TrustRosterOwner = this node's key. show lists every known roster, trusted or not.\n"
     "  --members-file: one PUBKEY=ORG a line ('#' comments). Up to 10000 members; a roster\n"
     "  too large for one record is signed as chunks that count once all are held.\n"
     "example: tlpmesh community create -c tlpmesh.conf eu-energy --member jx8B...=CERT-FI\n"},
    {"sight", cli_sight, "report that a live indicator was seen (prints the sighting's id)",
     "usage: tlpmesh sight -c CONF ID [--count N] [--first-seen T] [--last-seen T]\n"
     "  T is an RFC 3339 time or a duration ago (2h). Defaults: count 1, last seen now, first\n"
     "  seen = last seen. The sighting gets the record's TLP and audience: it goes only where\n"
     "  the record may go. tlpmesh show ID lists the sightings per organisation.\n"
     "  ID: 64 hex digits, or any unique prefix of at least 8.\n"
     "example: tlpmesh sight -c tlpmesh.conf 3f2a9c01e9d47b22 --count 12 --first-seen 24h\n"},
    {"explain", cli_explain, "why a record does or does not reach a peer, client or export",
     "usage: tlpmesh explain -c CONF ID [--peer KEY|NAME | --client NAME | --export\n"
     "         [--max-tlp LEVEL]] [--json]\n"
     "  Asks the forwarding gate itself, as the sending path would, and prints its verdict\n"
     "  and the rule that decided it in the words of docs/SHARING.md, e.g.\n"
     "    deny: link ceiling amber < red (MaxTLP in tlpmesh.conf line 14)\n"
     "    allow: AMBER, CERT-FI is in community energy-isac (roster v3 by CERT-EE)\n"
     "  and whether the party is known to hold the record already.\n"
     "  --peer: a [Peer] by key, Name or (unique) Organisation; --client: a [Client] (TAXII\n"
     "  reader) by Name; --export: this node's own exports (--max-tlp as for export, default\n"
     "  amber). Without a party: one line per configured peer and client.\n"
     "  ID: 64 hex digits, or any unique prefix of at least 8. tlpmesh show ID --explain\n"
     "  prints the same table. --json: one object per party.\n"
     "  Exit 0 allow (without a party: the gate allows at least one), 1 deny (or no such\n"
     "  record), 2 usage.\n"
     "example: tlpmesh explain -c tlpmesh.conf 3f2a9c01e9d47b22 --peer CERT-FI\n"},
    {"backup", cli_backup, "write a consistent, compacted copy of the store (node may run)",
     "usage: tlpmesh backup -c CONF FILE [--force]\n"
     "  Copies the store in DataDir to FILE from one snapshot, leaving free pages out (LMDB's\n"
     "  compacting copy); a running node goes on ingesting meanwhile. FILE is written through\n"
     "  FILE.tmp and renamed, so it is a whole copy or absent; an existing FILE is refused\n"
     "  unless --force. tlpmesh restore puts it back; tlpmesh check-store can check it there.\n"
     "example: tlpmesh backup -c /etc/tlpmesh/tlpmesh.conf /var/backups/tlpmesh-$(date +%F).mdb\n"},
    {"restore", cli_restore, "put a backup in place as the store (node stopped)",
     "usage: tlpmesh restore -c CONF FILE\n"
     "  Refused while the node runs (its control socket answers) or any process has the store\n"
     "  open. FILE is copied into DataDir/restore.tmp/, opened (a backup of the previous schema\n"
     "  is migrated) and checked as check-store does; only a clean copy replaces the store.\n"
     "  The store it replaces stays as DataDir/store.mdb.before-restore.\n"
     "example: tlpmesh restore -c /etc/tlpmesh/tlpmesh.conf /var/backups/tlpmesh-2026-12-01.mdb\n"},
    {"check-store", cli_check_store, "verify every record and index entry of the store",
     "usage: tlpmesh check-store -c CONF [--json]\n"
     "  Works with the node running (one snapshot) or stopped. Checks every record's id,\n"
     "  canonical encoding and signature and that its index entries exist; every index entry\n"
     "  (seq, byvalue, bytime, revoked, sighted, rosters, expiry) against its record; the seq\n"
     "  index without gaps; revocations against their targets. Prints one line per problem\n"
     "  (\"problem: ...\") and the counts. Exit 0 clean, 1 problems (or no store), 2 usage.\n"
     "example: tlpmesh check-store -c /etc/tlpmesh/tlpmesh.conf\n"},
    {NULL, NULL, NULL, NULL},
};

/* Where cli_error writes while a caller captures (the console, on the loop thread). */
static char *capture_buf;
static size_t capture_cap;

void cli_error_capture(char *buf, size_t cap)
{
    capture_buf = buf;
    capture_cap = cap;
    if (buf && cap)
        buf[0] = '\0';
}

bool cli_error_capturing(void)
{
    return capture_buf != NULL;
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (capture_buf) { /* the first error is the one that says what was wrong */
        if (capture_cap && !capture_buf[0])
            vsnprintf(capture_buf, capture_cap, fmt, ap);
        va_end(ap);
        return;
    }
    fprintf(stderr, "tlpmesh %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_usage(const char *cmd, FILE *out)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, cmd) == 0)
            fputs(c->usage, out);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

uint64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_help(FILE *out)
{
    fputs("tlpmesh - a federated peer-to-peer threat-indicator mesh with enforced TLP 2.0\n\n"
          "usage: tlpmesh COMMAND [options]    (tlpmesh COMMAND --help for details)\n\n"
          "commands:\n",
          out);
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-13s %s\n", c->name, c->summary);
    fputs("\nexample: tlpmesh init ./node-a --org CERT-A --network demo-mesh\n"
          "         tlpmesh publish -c ./node-a/tlpmesh.conf --type domain --value evil.example "
          "--tlp green\n",
          out);
}

int main(int argc, char **argv)
{
    /* A file size limit (RLIMIT_FSIZE) must fail the write (EFBIG: the store says "no space
     * left on device"), not kill the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("tlpmesh %s\n", TLPMESH_VERSION);
        return CLI_OK;
    }
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, argv[1]) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(c->usage, stdout);
            return CLI_OK;
        }
        return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "tlpmesh: unknown command '%s' (try tlpmesh --help)\n", argv[1]);
    return CLI_USAGE;
}

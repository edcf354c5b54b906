/* cli_keys.c - keygen, pubkey: the node identity from the operator's side. */
#include <getopt.h>
#include <stdio.h>

#include "crypto/keys.h"
#include "node/cli/cli.h"

/* Prints the public identity operators exchange, and wipes the secrets. */
static int print_identity(struct keys_identity *id)
{
    char b64[LIMIT_PUBKEY_B64_LEN + 1];
    keys_pubkey_to_b64(id->sign_pk, b64);
    keys_identity_wipe(id);
    printf("%s\n", b64);
    return CLI_OK;
}

int cli_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        if (c != 'o')
            return cli_bad_option("keygen", argv, c);
        out = optarg;
    }
    if (!out || optind != argc) {
        cli_error("keygen", "expected -o FILE and nothing else (see tlpmesh keygen --help)");
        return CLI_USAGE;
    }
    struct keys_identity id;
    int rc = keys_file_generate(out, &id);
    if (rc != KEYS_OK) {
        cli_error("keygen", "%s: %s", out, keys_strerror(rc));
        return CLI_FAIL;
    }
    return print_identity(&id);
}

int cli_pubkey(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        cli_error("pubkey", "expected exactly one key file (see tlpmesh pubkey --help)");
        return CLI_USAGE;
    }
    struct keys_identity id;
    char why[512] = "";
    int rc = keys_file_load(argv[1], &id, why, sizeof why);
    if (rc != KEYS_OK) {
        cli_error("pubkey", "%s", why[0] ? why : keys_strerror(rc));
        return CLI_FAIL;
    }
    return print_identity(&id);
}

/* main.c - tlpmesh-simnet: command line (docs/SIMNET.md). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simnet/sim.h"

/* A thousand simulated nodes' state is ~0.5 GB touched at random, so with 4 KiB pages most
 * accesses also miss the TLB (measured: 20% of the run). glibc (2.35+) backs malloc with
 * transparent huge pages only when told so at start-up, through GLIBC_TUNABLES: the program
 * re-executes itself once with it set. A tunables setting of the user's own is left alone. */
static void ask_huge_pages(char **argv)
{
    if (getenv("GLIBC_TUNABLES") != NULL || setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1))
        return;
    execv("/proc/self/exe", argv); /* returns only on failure: run on with small pages */
}

/* Memory handed back to the kernel comes back as fresh huge pages that it must zero (2 MiB per
 * fault): keep freed memory in the heap and serve large blocks from it too. */
static void keep_memory(void)
{
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tlpmesh-simnet [--scenario FILE] [--KNOB VALUE ...] [--json] [--svg FILE]\n"
            "                      [--progress]\n"
            "knobs (docs/SIMNET.md): --nodes N --degree D --records R --seed S\n"
            "  --tlp-mix clear:40,green:30,amber:20,amber+strict:5,red:5\n"
            "  --topology random|smallworld|hubs|file:PATH --hubs H --rewire P\n"
            "  --latency MS --jitter MS --bandwidth KBITS --loss P --dup P --reorder P\n"
            "  --link A-B:latency=..,jitter=..,bandwidth=..,loss=..\n"
            "  --communities K --memberships M --orgs O --clients P --low-ceiling P\n"
            "  --start MS --publish-span MS --publishers N --settle MS --max-time MS\n"
            "  --record-pad BYTES\n"
            "  --resolution MS (clock step, default 1)\n"
            "  --byzantine NODE:forge+relabel+replay+audience+flood  --at 'TIME ACTION ARGS'\n"
            "  --baseline flood|none --verify-cache on|off --oracle-announce on|off --trace FILE\n"
            "  --threads N (default: one per core; results do not depend on it)\n"
            "Flags after --scenario override the file. Exit 0: ok; 1: the oracle failed or no\n"
            "quiescence; 2: usage.\n");
}

int main(int argc, char **argv)
{
    ask_huge_pages(argv);
    keep_memory();
    struct sim_scenario sc;
    scenario_init(&sc);
    bool json = false, progress = false;
    const char *svg = NULL;
    int rc = SIM_OK;
    for (int i = 1; i < argc && rc == SIM_OK; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            scenario_free(&sc);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--progress") == 0) {
            progress = true;
        } else if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "tlpmesh-simnet: %s: expected --KNOB VALUE\n", a);
            rc = SIM_E_USAGE;
        } else if (strcmp(a, "--svg") == 0) {
            svg = argv[++i];
        } else if (strcmp(a, "--scenario") == 0) {
            rc = scenario_load(&sc, argv[++i]);
        } else {
            rc = scenario_set(&sc, a + 2, argv[i + 1], a);
            i++;
        }
    }
    if (rc != SIM_OK) {
        usage(stderr);
        scenario_free(&sc);
        return 2;
    }
    scenario_finish(&sc);
    struct sim_result res;
    rc = sim_run(&sc, &res, progress);
    if (rc == SIM_OK || rc == SIM_E_ORACLE || rc == SIM_E_STALL) {
        if (json)
            report_json(&sc, &res, stdout);
        else
            report_text(&sc, &res, stdout);
        if (svg != NULL && report_svg(&sc, &res, svg) < 0 && rc == SIM_OK)
            rc = SIM_E_IO;
    }
    if (rc != SIM_OK)
        fprintf(stderr, "tlpmesh-simnet: %s%s%s\n", sim_strerror(rc), res.oracle_msg[0] ? ": " : "",
                res.oracle_msg);
    sim_result_free(&res);
    scenario_free(&sc);
    return rc == SIM_OK ? 0 : rc == SIM_E_USAGE ? 2 : 1;
}

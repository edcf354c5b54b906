#!/usr/bin/env bash
# The main job, end to end on this machine: set up, build, then start a live mesh of six nodes in
# four organisations on 127.0.0.1, publish one indicator at each TLP level on CERT-A's hub, and
# print which node received which record, checked against what the TLP rules allow. Then revoke
# one record and watch every holder drop it. Everything lives in a temp dir; every node process
# is stopped and the dir removed on exit, also on error or Ctrl-C. Every wait has a deadline and
# fails loudly, printing the nodes' logs.
#
#   bash scripts/demo.sh                      # build in ./build, run the demo
#   TLPMESH_BUILD=build-x bash scripts/demo.sh  # use another build directory
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${TLPMESH_BUILD:-build}
DEADLINE=${TLPMESH_DEMO_DEADLINE:-30} # seconds any one wait may take
bash scripts/setup.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target tlpmesh >/dev/null
T=$PWD/$BUILD/tlpmesh

demo=$(mktemp -d /tmp/tlpmesh-demo.XXXXXX)
declare -A pid=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null || true; done
    for n in "${!pid[@]}"; do wait "${pid[$n]}" 2>/dev/null || true; done
    rm -rf "$demo"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() {
    printf '\ndemo: FAILED: %s\n' "$*" >&2
    for n in "${names[@]}"; do
        printf -- '--- log of %s ---\n' "$n" >&2
        tail -n 15 "$demo/$n.log" >&2 2>/dev/null || true
    done
    exit 1
}
# until SECONDS-DEADLINE WHAT CMD...: runs CMD every 50 ms until it succeeds; fails loudly after
# the deadline.
until_ok() {
    local what=$1 end=$((SECONDS + DEADLINE)); shift
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || fail "no $what after ${DEADLINE}s"
        sleep 0.05 # polling interval, not synchronisation: the command decides
    done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# name:organisation; a-hub is CERT-A's hub, grid a constituent (client) of CERT-A.
nodes=(a-hub:CERT-A a-soc:CERT-A grid:GridCo b-cert:CERT-B c-cert:CERT-C d-cert:CERT-D)
names=()
declare -A key conf port org
say "Six nodes, four organisations (keys are generated; nothing is shared but public keys)"
for n in "${nodes[@]}"; do
    name=${n%%:*}
    names+=("$name")
    org[$name]=${n#*:}
    port[$name]=$(free_port)
    out=$($T init "$demo/$name" --org "${org[$name]}" --network demo-mesh \
        --listen "127.0.0.1:${port[$name]}")
    conf[$name]=$demo/$name/tlpmesh.conf
    key[$name]=$(awk '/^public/ {print $2}' <<<"$out")
    printf '  %-7s %-7s %s\n' "$name" "${org[$name]}" "${key[$name]}"
done

# link A B CEILING_AB CEILING_BA [--relation client]: both sides allow and dial each other; the
# options describe B as A sees it.
links=()
link() {
    local a=$1 b=$2 cab=$3 cba=$4; shift 4
    $T peer add -c "${conf[$a]}" --key "${key[$b]}" --endpoint "127.0.0.1:${port[$b]}" \
        --org "${org[$b]}" --name "$b" --max-tlp "$cab" "$@" >/dev/null
    $T peer add -c "${conf[$b]}" --key "${key[$a]}" --endpoint "127.0.0.1:${port[$a]}" \
        --org "${org[$a]}" --name "$a" --max-tlp "$cba" >/dev/null
    links+=("$a:$b")
}
say "Links (the ceiling each side sets for the other)"
link a-hub a-soc red red
link a-hub grid red amber --relation client
link a-hub b-cert red red
link a-hub c-cert green amber
link b-cert d-cert amber amber
cat <<'TXT'
  a-soc ==red== a-hub --red---- grid (client of CERT-A: only the TLP rules hold it back)
                  |  \--green-- c-cert (a-hub lets only GREEN go there)
                 red
                  |
                b-cert --amber-- d-cert
TXT

say "Community 'energy-isac': a roster signed by a-hub with a-hub and b-cert; everyone trusts a-hub"
$T community create -c "${conf[a-hub]}" energy-isac --member "${key[b-cert]}=CERT-B" >/dev/null
for n in "${names[@]}"; do
    [ "$n" = a-hub ] || sed -i "/^\[Node\]/a TrustRosterOwner = ${key[a-hub]}" "${conf[$n]}"
done

# start_all: starts every node; returns 1 (after stopping them) when a port was taken between
# picking it and binding it, so the caller picks new ports and tries again.
answers() { $T status -c "${conf[$1]}" >/dev/null 2>&1; }
start_all() {
    local n
    for n in "${names[@]}"; do
        $T run -c "${conf[$n]}" 2>>"$demo/$n.log" &
        pid[$n]=$!
    done
    for n in "${names[@]}"; do
        local end=$((SECONDS + DEADLINE))
        until answers "$n"; do
            if ! kill -0 "${pid[$n]}" 2>/dev/null; then
                grep -q 'address already in use' "$demo/$n.log" || fail "node $n exited"
                for m in "${names[@]}"; do kill "${pid[$m]}" 2>/dev/null || true; done
                for m in "${names[@]}"; do wait "${pid[$m]}" 2>/dev/null || true; done
                pid=()
                return 1
            fi
            [ "$SECONDS" -lt "$end" ] || fail "node $n does not answer after ${DEADLINE}s"
            sleep 0.05
        done
    done
}
move_ports() {
    local n m old
    for n in "${names[@]}"; do
        old=${port[$n]}
        port[$n]=$(free_port)
        for m in "${names[@]}"; do
            sed -i "s/ 127\.0\.0\.1:$old\$/ 127.0.0.1:${port[$n]}/" "${conf[$m]}"
        done
    done
}
say "Starting the mesh"
for try in 1 2 3 4; do
    start_all && break
    [ "$try" -lt 4 ] || fail "no free ports after $try tries"
    echo "  a port was taken meanwhile; trying new ones"
    move_ports
done
connected() { # connected A B: A reports a live session with B
    $T status -c "${conf[$1]}" --json 2>/dev/null | python3 -c '
import json, sys
st = json.load(sys.stdin)
sys.exit(0 if any(p["key"] == sys.argv[1] and p["state"] == "connected" for p in st["peers"]) else 1)
' "${key[$2]}"
}
for l in "${links[@]}"; do
    until_ok "session ${l/:/ - }" connected "${l%%:*}" "${l#*:}"
    until_ok "session ${l/:/ - }" connected "${l#*:}" "${l%%:*}"
done
echo "  ${#names[@]} nodes running, ${#links[@]} links connected"
knows_roster() { $T community show -c "${conf[$1]}" 2>/dev/null | grep -q energy-isac; }
until_ok "roster at b-cert" knows_roster b-cert
until_ok "roster at a-soc" knows_roster a-soc
echo "  the roster reached b-cert (a member) and a-soc (CERT-A) by reconciliation"
$T status -c "${conf[a-hub]}"

say "Publishing on a-hub: one indicator at each TLP level"
C=${conf[a-hub]}
# TLP, value as a node normalises it, expected holders (from docs/SHARING.md, by hand)
recs=(
    "CLEAR|203.0.113.7|a-hub a-soc grid b-cert c-cert d-cert"
    "GREEN|login-portal.example.com|a-hub a-soc b-cert"
    "AMBER|https://evil.example.net/dl/payload.exe|a-hub a-soc grid b-cert"
    "AMBER+STRICT|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855|a-hub a-soc b-cert"
    "RED|ceo-office@example.org|a-hub b-cert"
)
$T publish -c "$C" --type ip-dst --value 203.0.113.7 --tlp clear --tag scanner >/dev/null
$T publish -c "$C" --type domain --value Login-Portal.Example.COM. --tlp green \
    --community energy-isac >/dev/null
$T publish -c "$C" --type url --value 'HTTPS://Evil.Example.NET/dl/payload.exe' --tlp amber \
    --community energy-isac >/dev/null
$T publish -c "$C" --type sha256 \
    --value E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 \
    --tlp amber+strict --community energy-isac >/dev/null
$T publish -c "$C" --type email-src --value ceo-office@example.org --tlp red \
    --to "${key[b-cert]}" >/dev/null
echo "  GREEN, AMBER and AMBER+STRICT name the community energy-isac; RED names b-cert only"

# table: prints who holds each record (query exit 0 = holds a live copy); returns 1 unless every
# cell is what the rules say.
table() {
    local r tlp value want n cell good=0
    printf '  %-13s' "TLP"
    for n in "${names[@]}"; do printf '%-8s' "$n"; done
    printf '\n'
    for r in "${recs[@]}"; do
        IFS='|' read -r tlp value want <<<"$r"
        printf '  %-13s' "$tlp"
        for n in "${names[@]}"; do
            if $T query -c "${conf[$n]}" "$value" >/dev/null 2>&1; then cell=yes; else cell=-; fi
            case " $want " in
            *" $n "*) [ "$cell" = yes ] || { cell='MISSING'; good=1; } ;;
            *) [ "$cell" = - ] || { cell='LEAKED!'; good=1; } ;;
            esac
            printf '%-8s' "$cell"
        done
        printf '\n'
    done
    return $good
}
gossip_counters() {
    for n in "${names[@]}"; do
        $T status -c "${conf[$n]}" --json | python3 -c '
import json, sys
print(json.dumps([p["gossip"] for p in json.load(sys.stdin)["peers"]], sort_keys=True))'
    done
}
# quiet: gossip counters unchanged over one polling interval (nothing is still on its way)
quiet() {
    local a b
    a=$(gossip_counters) && sleep 0.2 && b=$(gossip_counters) && [ "$a" = "$b" ]
}
until_ok "convergence to the expected table" table >/dev/null
until_ok "quiet mesh" quiet

say "Who received what"
table || fail "a record reached a node the rules exclude, or missed one they allow"
cat <<'TXT'

  CLEAR         everyone, relayed through a-hub and b-cert
  GREEN         community members (b-cert) and CERT-A's own nodes (a-soc); not c-cert (ceiling
                green, but not a member), d-cert (b-cert may not pass it on) or grid
  AMBER         as GREEN, plus grid: a client of CERT-A, whose hub is in the audience
  AMBER+STRICT  community and CERT-A only: clients do not get it
  RED           b-cert alone: the only named recipient
TXT

say "Revoking the CLEAR record on a-hub: every holder drops it"
id=$($T query -c "$C" 203.0.113.7 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
$T revoke -c "$C" "$id" --reason 'demo: false positive' >/dev/null
revoked_everywhere() {
    local n
    for n in "${names[@]}"; do
        ! $T query -c "${conf[$n]}" 203.0.113.7 >/dev/null 2>&1 || return 1
    done
}
until_ok "revocation at every node" revoked_everywhere
for n in "${names[@]}"; do
    state=$($T show -c "${conf[$n]}" "$id" | awk '$1 == "state" {print $2}')
    printf '  %-7s %s\n' "$n" "$state"
done

say "Per-peer counters on a-hub (records sent, received, duplicates, refused by the TLP gate)"
$T status -c "${conf[a-hub]}"

#!/usr/bin/env bash
# The main job, end to end on this machine: set up, build, then start a live mesh of six nodes in
# four organisations on 127.0.0.1, publish one indicator at each TLP level on CERT-A's hub, and
# print which node received which record. Everything lives in a temp dir and is removed after.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
T=$PWD/build/tlpmesh

demo=$(mktemp -d /tmp/tlpmesh-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$demo"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
base=$((20000 + RANDOM % 20000)) # a free-looking port range, so two demos can run at once

# name  organisation  port-offset
nodes=(a-hub:CERT-A:1 a-soc:CERT-A:2 grid:GridCo:3 b-cert:CERT-B:4 c-cert:CERT-C:5 d-cert:CERT-D:6)
declare -A key conf port org
say "Six nodes, four organisations (keys are generated; nothing is shared but public keys)"
for n in "${nodes[@]}"; do
    IFS=: read -r name o off <<<"$n"
    port[$name]=$((base + off))
    org[$name]=$o
    out=$($T init "$demo/$name" --org "$o" --network demo-mesh --listen "127.0.0.1:${port[$name]}")
    conf[$name]=$demo/$name/tlpmesh.conf
    key[$name]=$(awk '/^public/ {print $2}' <<<"$out")
    printf '  %-7s %-7s %s\n' "$name" "$o" "${key[$name]}"
done

# link A B [options for B as seen from A] -- both sides add each other (options apply A->B)
link() {
    local a=$1 b=$2; shift 2
    $T peer add -c "${conf[$a]}" --key "${key[$b]}" --endpoint "127.0.0.1:${port[$b]}" \
        --org "${org[$b]}" --name "$b" "$@" >/dev/null
    $T peer add -c "${conf[$b]}" --key "${key[$a]}" --endpoint "127.0.0.1:${port[$a]}" \
        --org "${org[$a]}" --name "$a" --max-tlp amber+strict >/dev/null
}
say "Links: a-hub is CERT-A's hub; grid is a constituent (client) of CERT-A; c-cert only takes GREEN"
link a-hub a-soc --max-tlp red
link a-hub grid --relation client
link a-hub b-cert --max-tlp red
link a-hub c-cert --max-tlp green
link b-cert d-cert
echo "  a-soc = a-hub, a-hub - grid (client), a-hub - b-cert, a-hub - c-cert (ceiling green), b-cert - d-cert"

say "Community 'energy-isac' (roster signed by a-hub): a-hub, b-cert"
$T community create -c "${conf[a-hub]}" energy-isac --member "${key[b-cert]}=CERT-B" >/dev/null
for n in b-cert d-cert a-soc grid c-cert; do
    sed -i "/^\[Node\]/a TrustRosterOwner = ${key[a-hub]}" "${conf[$n]}"
done

say "Starting the mesh"
for n in "${nodes[@]}"; do
    name=${n%%:*}
    $T run -c "${conf[$name]}" 2>"$demo/$name.log" &
    pids+=($!)
done
connected() { $T status -c "${conf[$1]}" --json 2>/dev/null | grep -o '"state":"connected"' | wc -l; }
for want in a-hub:4 b-cert:2; do
    n=${want%%:*}; k=${want##*:}
    for _ in $(seq 100); do [ "$(connected "$n")" -ge "$k" ] && break; sleep 0.1; done
done
$T status -c "${conf[a-hub]}"

say "Publishing on a-hub: one indicator at each TLP level"
C=${conf[a-hub]}
declare -a recs=(
    "CLEAR        ip-dst 203.0.113.7"
    "GREEN        domain login-portal.example.com"
    "AMBER        url https://evil.example.net/dl/payload.exe"
    "AMBER+STRICT sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    "RED          email-src ceo-office@example.org"
)
$T publish -c "$C" --type ip-dst --value 203.0.113.7 --tlp clear --tag scanner >/dev/null
$T publish -c "$C" --type domain --value Login-Portal.Example.COM. --tlp green --community energy-isac >/dev/null
$T publish -c "$C" --type url --value 'HTTPS://Evil.Example.NET/dl/payload.exe' --tlp amber --community energy-isac >/dev/null
$T publish -c "$C" --type sha256 --value E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 --tlp amber+strict --community energy-isac >/dev/null
$T publish -c "$C" --type email-src --value ceo-office@example.org --tlp red --to "${key[b-cert]}" >/dev/null
echo "  GREEN, AMBER and AMBER+STRICT name the community energy-isac; RED names b-cert only"

# Wait until the expected set has arrived (the mesh settles in well under a second on loopback).
for _ in $(seq 50); do
    $T query -c "${conf[d-cert]}" 203.0.113.7 >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 0.5 # let anything that should NOT arrive have its chance to (it must not)

say "Who received what"
printf '%-13s' "TLP"
for n in "${nodes[@]}"; do printf '%-9s' "${n%%:*}"; done
printf '\n'
for r in "${recs[@]}"; do
    read -r tlp _ value <<<"$r"
    printf '%-13s' "$tlp"
    for n in "${nodes[@]}"; do
        if $T query -c "${conf[${n%%:*}]}" "$value" >/dev/null 2>&1; then printf '%-9s' "yes"; else printf '%-9s' "-"; fi
    done
    printf '\n'
done
cat <<'TXT'

  CLEAR         everyone, relayed through a-hub and b-cert
  GREEN         community members and CERT-A's own nodes (a-soc); not c-cert, d-cert or grid
  AMBER         as GREEN, plus grid: a client of CERT-A, whose hub is in the audience
  AMBER+STRICT  community and CERT-A only: clients do not get it
  RED           b-cert alone: the only named recipient
TXT

say "Per-peer counters on a-hub (sent, received, duplicates, refused by the TLP gate)"
$T status -c "${conf[a-hub]}"

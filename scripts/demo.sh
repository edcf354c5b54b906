#!/usr/bin/env bash
# The main job, end to end on this machine: set up, build, then run a demo node in a temp dir:
# create its identity and config, publish indicators at every TLP level, query and list them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
T=./build/tlpmesh

demo=$(mktemp -d /tmp/tlpmesh-demo.XXXXXX)
trap 'rm -rf "$demo"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A node for CERT-A on the demo mesh"
run $T init "$demo/cert-a" --org CERT-A --network demo-mesh --listen 127.0.0.1:7401 | sed 's/^/  /'
conf="$demo/cert-a/tlpmesh.conf"
partner=$($T keygen -o "$demo/partner.key")
echo "  (a partner node's public key, for a RED record: $partner)"

say "Publish one indicator at each TLP level"
run $T publish -c "$conf" --type ip-dst --value 203.0.113.7 --tlp clear --tag scanner
run $T publish -c "$conf" --type domain --value 'Login-Portal.Example.COM.' --tlp green \
    --valid-until 14d --comment 'phishing kit'
run $T publish -c "$conf" --type url --value 'HTTPS://Evil.Example.NET/dl/payload.exe' \
    --tlp amber --community energy-isac --confidence 80
run $T publish -c "$conf" --type sha256 \
    --value E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 --tlp amber+strict
run $T publish -c "$conf" --type email-src --value ceo-office@Example.ORG --tlp red --to "$partner"

say "Publishing the same indicator again adds nothing (same id)"
run $T publish -c "$conf" --type ip-dst --value 203.0.113.7 --tlp clear --tag scanner

say "Query by value (normalised: Login-Portal.Example.COM. = login-portal.example.com)"
run $T query -c "$conf" login-portal.example.com

say "List everything this node holds"
run $T list -c "$conf"

say "Revoke the CLEAR address (false positive): it is no longer live"
id=$($T query -c "$conf" --json 203.0.113.7 | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/' | head -n1)
run $T revoke -c "$conf" "$id" --reason 'false positive: shared CDN address'
run $T query -c "$conf" 203.0.113.7 || echo "  (exit $?: not found, as expected)"

say "Bad input is refused with a clear message and changes nothing"
run $T publish -c "$conf" --type ip-dst --value 10.0.0.300 --tlp green || echo "  (exit $?)"
run $T publish -c "$conf" --type domain --value example.com --tlp purple || echo "  (exit $?)"

say "Machine-readable output: one JSON object per line"
run $T list -c "$conf" --json --tlp amber

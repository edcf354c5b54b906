#!/bin/sh
# a hub: 2,000 configured peers, 1,000 live sessions over loopback, then ingest from 999 of them:
# 50 records each with --quick, 100 with --full (issue 15 point 1)
set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
records=50
[ "$1" = full ] && records=100
"$2/tlpmesh-hubload" "$2/tlpmesh" "$dir" 2000 1000 "$records" 2>"$dir/log" || { tail -5 "$dir/log" >&2; exit 1; }
grep '^tlpmesh-hubload:' "$dir/log" >&2 || true

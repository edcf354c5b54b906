#!/bin/sh
# a hub: 2,000 configured peers, 1,000 live sessions over loopback (issue 15 point 1)
set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$2/tlpmesh-hubload" "$2/tlpmesh" "$dir" 2000 1000 2>"$dir/log" || { tail -5 "$dir/log" >&2; exit 1; }

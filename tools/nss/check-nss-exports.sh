#!/bin/bash
# Compares the dynamic symbols libnss_w2wesher.so.2 defines with its version script.
set -eu
so=$1 map=$2
exp=$(sed -n 's/^[[:space:]]*\(_nss_w2wesher_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort -u)
got=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
if [ -z "$exp" ] || [ "$exp" != "$got" ]; then
    echo "exports of $so differ from $map:"
    diff <(echo "$exp") <(echo "$got") || true
    exit 1
fi
echo "exports match: $(echo "$got" | wc -l) symbols"

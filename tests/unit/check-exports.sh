#!/bin/bash
# Compares the dynamic symbols libw2wesher.so defines with its version script.
set -eu
so=$1 map=$2
exp=$(sed -n 's/^[[:space:]]*\(w2w_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort -u)
got=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@.*//' | grep -v '^W2WESHER_' | sort -u)
if [ "$exp" != "$got" ]; then
    echo "exports differ from $map:"
    diff <(echo "$exp") <(echo "$got") 2>/dev/null || { echo "expected:"; echo "$exp"; echo "got:"; echo "$got"; }
    exit 1
fi
echo "exports match: $(echo "$got" | wc -l) symbols"

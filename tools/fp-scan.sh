#!/bin/sh
# fp-scan.sh -- the false-positive cost of the keyword matcher, measured
# with a real word list: every word of a dictionary and every tweet its
# annotators labelled "neither" (not hate, not offensive) is judged offline
# by `modqd -e -` against the entries of the LDNOOBW English list, and the
# words and tweets flagged are counted.
#
# Usage, from the repository root, no make needed once modqd is built:
#
#	tools/fp-scan.sh [modqd]
#
# modqd defaults to build/modqd.  The corpus is read in place from
# ../shared/corpus (or $CORPUS), never copied; the dictionary is
# /usr/share/dict/words (or $DICT; Debian's wamerican).  Prints:
#
#	dict: N of M words flagged
#	neither: N of M tweets flagged (P%)
#
# Set FP_SHOW=1 to print the flagged words and tweets too.
set -eu

modqd=${1:-build/modqd}
corpus=${CORPUS:-../shared/corpus}
dict=${DICT:-/usr/share/dict/words}
list=$corpus/ldnoobw_en.txt
csv=$corpus/davidson_labeled_data.csv

for f in "$modqd" "$list" "$csv" "$dict"; do
	[ -e "$f" ] || { echo "fp-scan: $f: not found" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
list=$(cd "$(dirname "$list")" && pwd)/$(basename "$list")
printf 'keywords: ({ name = "ldnoobw"; action = "reject"; file = "%s"; });\n' \
    "$list" >"$tmp/fp.conf"

# The tweets of class 2 ("neither"), one a line (line breaks as spaces).
python3 - "$csv" >"$tmp/neither.txt" <<'PY'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        if row["class"] == "2":
            print(" ".join(row["tweet"].split()))
PY
grep -v '^$' "$dict" >"$tmp/dict.txt"

for set in dict neither; do
	"$modqd" -c "$tmp/fp.conf" -e - <"$tmp/$set.txt" >"$tmp/$set.out"
	paste "$tmp/$set.out" "$tmp/$set.txt" | grep -v '^approve' \
	    >"$tmp/$set.hit" || true
	total=$(wc -l <"$tmp/$set.txt")
	hit=$(wc -l <"$tmp/$set.hit")
	if [ "$set" = dict ]; then
		echo "dict: $hit of $total words flagged"
	else
		echo "neither: $hit of $total tweets flagged" \
		    "($(echo "scale=2; 100 * $hit / $total" | bc)%)"
	fi
	[ -z "${FP_SHOW:-}" ] || cut -f 3,5 "$tmp/$set.hit"
done

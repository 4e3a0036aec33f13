#!/usr/bin/env bash
#
# lint.sh -- modqd -n's dictionary check and -W: an entry that also matches
# ordinary words warns (exit 0) or, with -W, fails (exit 1); an entry that
# matches only its own forms is silent; no dictionary is said once.  Also
# the one run that shows a config's errors and its entries' compile errors
# together, and \b in a regex entry.  No Redis.
# Usage: tests/lint.sh [BUILD_DIR]   (default: build)
#
# Runs on a small dictionary of its own (MODQD_DICT) for exact output, and
# once on /usr/share/dict/words when it is installed (wamerican).
# It prints "N passed, N failed" and exits 1 if anything failed.
#
set -u

BUILD=${1:-build}
MODQD=$(cd "$(dirname "$BUILD/modqd")" && pwd)/modqd
TOP=$(cd "$(dirname "$0")/.." && pwd)

. "$TOP/tests/lib.sh"
suite_init lint

# Run modqd with the arguments: stdout in $OUT, stderr in $ERR, status $RC.
run() {
	"$MODQD" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# A dictionary: capitalised words (names) and possessives are skipped.
printf '%s\n' ass "ass's" asses behead beheaded beheading cement class \
    comment content count Cantor "count's" kill yourself >"$TMP/dict"
export MODQD_DICT=$TMP/dict

section "1 warnings: -n warns and passes, -W fails"
write_conf "$TMP/cnt.conf" <<CONF
keywords: ( { name = "k"; action = "hold";
              words = [ "ass", "c*nt", "kill yourself" ]; } );
CONF
run -n -c "$TMP/cnt.conf"
check_eq "-n: a warning: exit 0" "$RC" 0
check_eq "-n: the warning" "$ERR" \
    "$TMP/cnt.conf:2: warning: \"c*nt\" also matches cement, comment, content (+1 more)"
check_eq "-n: configuration OK" "$OUT" "configuration OK"
run -W -n -c "$TMP/cnt.conf"
check_eq "-W -n: a warning: exit 1" "$RC" 1
check_eq "-W -n: the warning, then the verdict" "$ERR" \
    "$TMP/cnt.conf:2: warning: \"c*nt\" also matches cement, comment, content (+1 more)
configuration has warnings"
check_eq "-W -n: nothing on standard output" "$OUT" ""

section "2 silent: own forms (stem*: ed, ing; a regex's whole words), the allow list"
write_conf "$TMP/own.conf" <<CONF
keywords: ( { name = "k"; action = "hold";
              words = [ "ass", "kill yourself", "behead*", "/\\bass(es)?\\b/" ]; },
            { name = "w"; action = "hold"; words = [ "c*nt" ]; } );
allow = [ "cement", "comment", "content", "count" ];
CONF
run -W -n -c "$TMP/own.conf"
check_eq "-W -n: own forms and allowed words: exit 0" "$RC:$ERR" "0:"
check_eq "-W -n: configuration OK" "$OUT" "configuration OK"
write_conf "$TMP/some.conf" <<CONF
keywords: ( { name = "w"; action = "hold"; words = [ "c*nt" ]; } );
allow = [ "cement" ];
CONF
run -n -c "$TMP/some.conf"
check_eq "-n: an allowed word is no false positive" "$RC:$ERR" \
    "0:$TMP/some.conf:1: warning: \"c*nt\" also matches comment, content, count"

section "3 no dictionary"
MODQD_DICT=$TMP/none run -W -n -c "$TMP/cnt.conf"
check_eq "no dictionary: exit 0" "$RC" 0
check_eq "no dictionary: said once" "$ERR" \
    "modqd: no dictionary ($TMP/none): install wamerican to check entries against ordinary words"
run -W -c "$TMP/cnt.conf"
check_eq "-W without -n: usage, exit 2" "$RC" 2

section "4 every error at once"
write_conf "$TMP/bad.conf" <<'CONF'
queue: { colour = 3; };
keywords: ( { name = "k"; action = "hold";
              words = [ "fine", "/(a)\\1/", "/[\\b]x/" ]; } );
CONF
run -n -c "$TMP/bad.conf"
check_eq "config and entry errors: exit 1" "$RC" 1
check_eq "config errors first, then entry errors" "$ERR" \
    "$TMP/bad.conf:1: unknown option queue.colour
$TMP/bad.conf:3: bad regular expression /(a)\\1/: back-references (\\1, \\k<name>) cannot be run: write the repeated text out, or one entry per text (Hyperscan: Back-references are unsupported.)
$TMP/bad.conf:3: regular expression /[\\b]x/: \\b inside a character class is a backspace or an error, never a word edge: write \\b outside the class"

section "5 \\b in a regex entry"
write_conf "$TMP/edge.conf" <<'CONF'
keywords: ( { name = "k"; action = "hold"; words = [ "/\\bass\\b/", "/\\Bxx/" ]; } );
CONF
run -c "$TMP/edge.conf" -e "you ass" "class" "assess" "boxxx"
check_eq "-e: \\b and \\B" "$OUT" "hold	k	k:\"ass\"	-
approve	-	-	-
approve	-	-	-
hold	k	k:\"boxxx\"	-"

section "6 the system dictionary"
if [ -r /usr/share/dict/words ]; then
	unset MODQD_DICT
	T0=$(now_ms)
	run -n -c "$TMP/cnt.conf"
	T1=$(now_ms)
	check_eq "system dictionary: exit 0" "$RC" 0
	check_match "system dictionary: c*nt warns" "$ERR" \
	    "^$TMP/cnt.conf:2: warning: \"c\\*nt\" also matches [a-z]+, [a-z]+, [a-z]+ \\(\\+[0-9]+ more\\)$"
	check_range "system dictionary: ms taken" $((T1 - T0)) 0 5000
	echo "   system dictionary: $(wc -l </usr/share/dict/words) words in $((T1 - T0)) ms"
else
	echo "   no /usr/share/dict/words: skipped"
fi

summary

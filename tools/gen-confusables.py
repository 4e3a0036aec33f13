#!/usr/bin/python3
#
# Generate rules/confusables.inc: the table behind confusables_latin() in
# rules/confusables.c, which maps a code point that looks like a Latin
# letter to that letter.  Only the data is generated; the code that searches
# it is written by hand in rules/confusables.c.
#
# Run with Debian's /usr/bin/python3 (it needs python3-icu and libutf8proc2):
#
#	/usr/bin/python3 tools/gen-confusables.py [-v] [-o rules/confusables.inc]
#
# The normaliser looks a code point up only after utf8proc has applied
# compatibility decomposition and case folding and dropped combining marks,
# so the keys are exactly the letters that survive that step: every letter
# of the BMP and SMP is pushed through the same utf8proc call, and what comes
# out as one non-ASCII letter is a candidate.
#
# A candidate's letter comes from ICU's UTS #39 skeletons, first match wins:
#   1. skeleton(c) is the skeleton of an ASCII letter ("а" -> "a");
#   2. the same once nonspacing marks are removed from the skeleton
#      ("ø" -> "o\u0338" -> "o");
#   3. skeleton(upper(c)) is the skeleton of an ASCII letter, because case
#      folding has turned look-alikes of capitals into lower case
#      ("н" -> "Н" -> "H");
#   4. the same with nonspacing marks removed ("қ" -> "Қ" -> "K\u0329");
#   5. c shares its (single code point) skeleton with letters that steps 1-4
#      mapped, and they agree ("ʜ" has the skeleton of "н");
#   6. its name is "LATIN LETTER SMALL CAPITAL X", "LATIN SMALL LETTER
#      DOTLESS X" or "MODIFIER LETTER SMALL/CAPITAL X".
# A letter whose own skeleton is a digit ("б" looks like "6") is not mapped:
# digits are never turned into letters, and neither are their look-alikes.
#
# General categories come from utf8proc, as the caller sees them; upper case
# and names come from ICU. The two must carry the same Unicode version.

import argparse
import collections
import ctypes
import os
import re
import string
import sys

import icu

import gentable

OUTPUT = os.path.join(gentable.ROOT, "rules", "confusables.inc")
SCRIPT = "tools/gen-confusables.py"

# utf8proc_option_t bits, from utf8proc.h.
UTF8PROC_COMPAT = 1 << 2
UTF8PROC_DECOMPOSE = 1 << 4
UTF8PROC_CASEFOLD = 1 << 10
UTF8PROC_STRIPMARK = 1 << 13
NORMALISE = (UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |
    UTF8PROC_STRIPMARK)

# utf8proc_category_t values.
CAT_LU, CAT_LO, CAT_MN, CAT_ME = 1, 5, 6, 8

NAME_RULE = re.compile(r"^(?:LATIN LETTER SMALL CAPITAL|"
    r"LATIN SMALL LETTER DOTLESS|MODIFIER LETTER (?:SMALL|CAPITAL)) ([A-Z])$")

# Mappings the normaliser relies on: the generator refuses to write a table
# that lost one of them.
EXPECT = {
    # Cyrillic
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
    "і": "i", "ѕ": "s", "ј": "j", "к": "k", "м": "m", "н": "h", "т": "t",
    "в": "b",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t",
    "υ": "u",
    # small capitals
    "ʜ": "h", "ɪ": "i", "ᴛ": "t", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d",
    "ᴇ": "e", "ɢ": "g", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n",
    "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w",
    "ʏ": "y", "ᴢ": "z",
    # Latin
    "ı": "i", "ɑ": "a",
    # Armenian; Cherokee (case folding turns Cherokee into capitals)
    "օ": "o", "ս": "u", "հ": "h", "Ꭺ": "a", "Ꭼ": "e", "Ꮃ": "w",
}


class Utf8proc:
    """The normalisation the caller applies, from the same library."""

    def __init__(self):
        self.lib = ctypes.CDLL("libutf8proc.so.2")
        self.libc = ctypes.CDLL(None)
        self.lib.utf8proc_map.restype = ctypes.c_ssize_t
        self.lib.utf8proc_map.argtypes = [ctypes.c_char_p,
            ctypes.c_ssize_t, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int]
        self.lib.utf8proc_category.restype = ctypes.c_int
        self.lib.utf8proc_category.argtypes = [ctypes.c_int32]
        self.lib.utf8proc_version.restype = ctypes.c_char_p
        self.lib.utf8proc_unicode_version.restype = ctypes.c_char_p
        self.libc.free.argtypes = [ctypes.c_void_p]
        self.version = self.lib.utf8proc_version().decode()
        self.unicode = self.lib.utf8proc_unicode_version().decode()

    def normalise(self, s):
        b = s.encode("utf-8")
        p = ctypes.c_void_p()
        n = self.lib.utf8proc_map(b, len(b), ctypes.byref(p), NORMALISE)
        if n < 0:
            return None
        r = ctypes.string_at(p, n).decode("utf-8")
        self.libc.free(p)
        return r

    def category(self, ch):
        return self.lib.utf8proc_category(ord(ch))

    def is_letter(self, ch):
        return CAT_LU <= self.category(ch) <= CAT_LO

    def is_nonspacing(self, ch):
        return self.category(ch) in (CAT_MN, CAT_ME)


class Table:
    """Derive { code point: latin letter } from ICU's skeletons."""

    def __init__(self, u, verbose):
        self.u = u
        self.verbose = verbose
        self.spoof = icu.SpoofChecker()
        self.lower = {}
        self.upper = {}
        for x in string.ascii_lowercase:
            self.lower.setdefault(self.skeleton(x), x)
            self.upper.setdefault(self.skeleton(x.upper()), x)
        self.map = {}

    def skeleton(self, s):
        return self.spoof.getSkeleton(0, s)

    def strip(self, s):
        return "".join(ch for ch in s if not self.u.is_nonspacing(ch))

    def find(self, skel, first, second):
        return first.get(skel) or second.get(skel)

    def candidates(self):
        """Letters as the caller sees them: normalised, one code point."""
        found = set()
        for cp in range(0x80, 0x20000):
            if 0xd800 <= cp < 0xe000:
                continue
            ch = chr(cp)
            if not self.u.is_letter(ch):
                continue
            c = self.u.normalise(ch)
            if c is None or len(c) != 1 or ord(c) < 0x80:
                continue
            if not self.u.is_letter(c):
                continue
            if self.u.normalise(c) != c:
                sys.exit("%s: U+%04X is not stable under "
                    "normalisation" % (SCRIPT, ord(c)))
            found.add(c)
        return sorted(found)

    def by_skeleton(self, c):
        """Steps 1-4."""
        s = self.skeleton(c)
        up = str(icu.UnicodeString(c).toUpper())
        su = self.skeleton(up)
        steps = (
            ("skeleton", s, self.lower, self.upper),
            ("skeleton-marks", self.strip(s), self.lower, self.upper),
            ("upper", su, self.upper, self.lower),
            ("upper-marks", self.strip(su), self.upper, self.lower),
        )
        for why, skel, first, second in steps:
            x = self.find(skel, first, second)
            if x:
                return x, "%s %r" % (why, skel)
        return None, None

    def looks_like_digit(self, c):
        s = self.skeleton(c)
        return all(ch in string.digits for ch in s)

    def build(self):
        cands = self.candidates()
        self.ncandidates = len(cands)
        todo = []
        for c in cands:
            if self.looks_like_digit(c):
                self.note(c, None, "skeleton %r is a digit" %
                    self.skeleton(c))
                continue
            x, why = self.by_skeleton(c)
            if x:
                self.set(c, x, why)
            else:
                todo.append(c)
        self.by_class(todo)
        for c in todo:
            if c in self.map:
                continue
            m = NAME_RULE.match(icu.Char.charName(c))
            if m:
                self.set(c, m.group(1).lower(), "name")

    def by_class(self, todo):
        """Step 5: share the letter of same-skeleton letters."""
        peers = collections.defaultdict(set)
        for c, x in self.map.items():
            peers[self.skeleton(c)].add(x)
        for c in todo:
            s = self.skeleton(c)
            if len(s) != 1 or len(peers[s]) != 1:
                continue
            self.set(c, next(iter(peers[s])), "class %r" % s)

    def set(self, c, x, why):
        self.map[c] = x
        self.note(c, x, why)

    def note(self, c, x, why):
        if self.verbose:
            print("U+%04X %s -> %s  %s  (%s)" % (ord(c), c, x or "-",
                icu.Char.charName(c), why), file=sys.stderr)

    def check(self):
        bad = []
        for c, x in EXPECT.items():
            k = self.u.normalise(c)
            if self.map.get(k) != x:
                bad.append("%s U+%04X -> %s, want %s" % (c, ord(k),
                    self.map.get(k), x))
        for c, x in self.map.items():
            if ord(c) < 0x80 or x not in string.ascii_lowercase:
                bad.append("U+%04X -> %r" % (ord(c), x))
            if not self.u.is_letter(c):
                bad.append("U+%04X is not a letter" % ord(c))
        if bad:
            sys.exit("%s: bad table:\n\t%s" % (SCRIPT,
                "\n\t".join(bad)))


def emit(table, u):
    out = [gentable.header(SCRIPT, [
        "From the UTS #39 confusables data in ICU %s (Unicode %s), read" %
        (icu.ICU_VERSION, icu.UNICODE_VERSION),
        "through its spoof checker's skeletons, and utf8proc %s (Unicode "
        "%s)." % (u.version, u.unicode)], "rules/confusables.c")]
    out.append("/* %d entries, sorted by code point. */\n" % len(table.map))
    out.append("static const struct confusable confusables_table[] = {\n")
    for c in sorted(table.map, key=ord):
        out.append("\t{0x%04x, '%s'}, /* %s */\n" % (ord(c), table.map[c],
            icu.Char.charName(c)))
    out.append("};\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(
        description="generate rules/confusables.inc")
    ap.add_argument("-o", dest="output", default=OUTPUT)
    ap.add_argument("-v", dest="verbose", action="store_true",
        help="print every decision to stderr")
    args = ap.parse_args()

    u = Utf8proc()
    if u.unicode.split(".")[:2] != icu.UNICODE_VERSION.split(".")[:2]:
        sys.exit("%s: ICU has Unicode %s, utf8proc %s" % (SCRIPT,
            icu.UNICODE_VERSION, u.unicode))
    table = Table(u, args.verbose)
    table.build()
    table.check()

    gentable.write(SCRIPT, args.output, emit(table, u))
    print("%s: %d of %d candidate letters mapped, wrote %s" % (SCRIPT,
        len(table.map), table.ncandidates, args.output), file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
#
# Generate rules/entities.inc: the table behind entities_lookup() in
# rules/entities.c, the HTML5 named character references ("&amp;",
# "&NotEqualTilde;") and the one or two code points each stands for.  Only
# the data is generated; the code that searches it is written by hand in
# rules/entities.c.
#
#	/usr/bin/python3 tools/gen-entities.py [-o rules/entities.inc]
#
# The data is Python's html.entities.html5, a copy of the WHATWG list. Only
# the names written with a ';' are kept, without it; the legacy forms that
# may omit it ("&amp") are the caller's business.

import argparse
import html.entities
import os
import sys

import gentable

OUTPUT = os.path.join(gentable.ROOT, "rules", "entities.inc")
SCRIPT = "tools/gen-entities.py"


def entities():
    """Return [(name bytes, [code points])], in memcmp-then-length order."""
    table = []
    for key, value in html.entities.html5.items():
        if not key.endswith(";"):
            continue
        name = key[:-1].encode("ascii")
        cps = [ord(ch) for ch in value]
        if not name or not name.isalnum() or not 1 <= len(cps) <= 2 or \
            0 in cps:
            sys.exit("%s: unexpected entity %r -> %r" % (SCRIPT, key,
                value))
        table.append((name, cps))
    # bytes compare as memcmp() over the common length, shorter first.
    table.sort()
    return table


def emit(table):
    out = [gentable.header(SCRIPT, [
        "From html.entities.html5 of Python %d.%d (the WHATWG HTML named" %
        sys.version_info[:2],
        "character references), names that end in ';'."], "rules/entities.c")]
    out.append("#define ENTITIES_MAXLEN %d\n\n" %
        max(len(name) for name, _ in table))
    out.append("/* %d entries, sorted by memcmp() over the common length, "
        "shorter first. */\n" % len(table))
    out.append("static const struct entity entities_table[] = {\n")
    for name, cps in table:
        cps = cps + [0] * (2 - len(cps))
        out.append('\t{"%s", %d, {0x%04x, 0x%04x}},\n' % (name.decode(),
            len(name), cps[0], cps[1]))
    out.append("};\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description="generate rules/entities.inc")
    ap.add_argument("-o", dest="output", default=OUTPUT)
    args = ap.parse_args()

    table = entities()
    gentable.write(SCRIPT, args.output, emit(table))
    print("%s: %d entities, wrote %s" % (SCRIPT, len(table), args.output),
        file=sys.stderr)


if __name__ == "__main__":
    main()

#!/bin/sh
# Write a C file defining NAME[] (the bytes of FILE, NUL-terminated) and
# NAME_len, so the daemon carries its Redis Functions library inside it.
set -eu
name=$1
file=$2
printf '/* Generated from %s by tools/embed.sh; do not edit. */\n' "$file"
printf '#include <stddef.h>\n\n'
printf 'extern const char %s[];\nextern const size_t %s_len;\n\n' "$name" "$name"
printf 'const char %s[] = {\n' "$name"
od -An -v -tx1 "$file" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1, /g' -e 's/^/\t/'
printf '\t0x00\n};\nconst size_t %s_len = sizeof(%s) - 1;\n' "$name" "$name"

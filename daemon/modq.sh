#!/bin/sh
echo "modq: not yet" >&2
exit 1

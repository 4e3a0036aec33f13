#!/usr/bin/env python3
#
# site.py -- how a news site talks to modq, in one small file to copy from.
#
# modq moderates comments.  The site does three things, all through Redis:
#
#   push    add every new comment to the stream modq:incoming (XADD);
#   follow  read what modqd decided from the stream modq:decisions, with a
#           consumer group of the site's own, and act on each decision;
#   edit, delete
#           an edit is the same comment id sent again with the new body
#           (modq judges it again); a delete is one call, FCALL modq_delete.
#
# Needs Python 3 and redis-py only (Debian: apt-get install python3-redis).
#
#   site.py [-s SOCKET | -H HOST -p PORT] [-n DB] COMMAND ...
#   site.py push ID BODY [--author A] [--thread T] [--ip IP]
#   site.py edit ID BODY [--author A] [--thread T] [--ip IP]
#   site.py delete ID [--by NAME] [--note TEXT]
#   site.py follow [--group site] [--consumer web-1] [--count N] [--timeout S]
#
# push and edit print the stream entry's id, as XADD returns it.  follow
# prints one line per decision, "ID STATUS ACTION [REASONS]", and stops
# after N decisions (--count) or S seconds without one (--timeout); its
# exit status is 1 when it stopped before N.  The password, if any, is
# taken from the environment variable REDISCLI_AUTH, as redis-cli does.

import argparse
import os
import sys
import time

import redis


def connect(args):
    """One connection to the Redis server that modqd reads."""
    return redis.Redis(unix_socket_path=args.socket, host=args.host,
                       port=args.port, db=args.db, username=args.user,
                       password=os.environ.get("REDISCLI_AUTH"),
                       decode_responses=True)


def push(r, args):
    """Add a comment (new, retried or edited) to the incoming stream.

    modq tells the three apart by the comment id and the fields:
    - an id it has not seen is a new comment: it is judged;
    - the same id with the very same fields is a retry (the site timed out
      and sent it again): acknowledged, no new decision, nothing counted;
    - the same id with another body (or other fields) is an edit: judged
      again; the record modq:c:<id> is replaced and gains "revision".
    So always build the fields the same way, in the same order, and send
    every field again with an edit: the new record has only what it sent.
    """
    fields = {"id": args.id}
    for name in ("author", "ip", "thread"):  # optional; rate rules key on them
        value = getattr(args, name)
        if value:
            fields[name] = value
    fields["body"] = args.body  # the text as the author wrote it
    # XADD <prefix>:<stream> * id ... author ... ip ... thread ... body ...
    entry_id = r.xadd(f"{args.prefix}:{args.stream}", fields)
    print(entry_id)
    return 0


def delete(r, args):
    """Delete a comment: FCALL modq_delete 0 ID BY [NOTE].

    The record keeps its status "deleted" but loses the body; a "deleted"
    decision follows.  Deleting before modqd has judged the comment is
    fine: the delete wins, and the comment is never judged.
    """
    extra = [args.note] if args.note else []
    if r.fcall("modq_delete", 0, args.id, args.by, *extra) == 1:
        print(f"deleted {args.id}")
    else:
        print(f"{args.id} was deleted before")
    return 0


def log(message):
    print(f"site.py: {message}", file=sys.stderr, flush=True)


def apply_decision(fields):
    """Do what the site does for one decision; return the action's name.

    A decisions entry has the fields id, status, reasons (rule names,
    space-separated) and by (modqd or a moderator).  An id can have several
    decisions (held, then approved by a moderator; an edit; a delete): they
    come in order, and the latest one is the one that holds.  Each action
    must be safe to do twice: after a crash the entry comes again.
    """
    status = fields.get("status")
    if status == "approved":
        # Show the comment under its article.
        return "publish"
    if status == "held":
        # Keep it hidden (its author may see it as "awaiting moderation");
        # a moderator's approved or rejected decision will follow.
        return "hide-pending"
    if status == "rejected":
        # Keep it hidden.  reasons says which rules fired.
        return "hide"
    if status == "deleted":
        # Remove it from the page and from every cache.
        return "remove"
    if status == "error":
        # modq could not judge the entry the site sent (no body, bad UTF-8,
        # too large, ...): reasons is one word for the kind, stream_id the
        # entry's id as XADD returned it.  A bug of the site: log it and
        # tell the author the comment could not be posted.
        log(f"comment {fields.get('id', '-')} could not be judged: "
            f"{fields.get('reasons')} "
            f"(stream entry {fields.get('stream_id')})")
        return "show-error"
    return "ignore"  # a status this site does not know yet


def follow(r, args):
    """Follow modq:decisions with the site's consumer group."""
    key = f"{args.prefix}:decisions"
    # The group starts at 0, the beginning of the stream: a group created
    # at $ would miss every decision made before it existed.  Creating it
    # again is harmless (BUSYGROUP); each web worker is one consumer.
    try:
        r.xgroup_create(key, args.group, id="0", mkstream=True)
    except redis.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise
    done = 0
    last = time.monotonic()  # when the last decision came
    # First the entries this consumer was given and did not acknowledge
    # (it stopped before XACK), read from "0"; then new ones, from ">".
    start = "0"
    while args.count is None or done < args.count:
        want = 100 if args.count is None else min(100, args.count - done)
        if args.timeout is None:
            block_ms = 5000
        else:
            left = args.timeout - (time.monotonic() - last)
            if left <= 0:
                break
            block_ms = max(1, int(left * 1000))
        reply = r.xreadgroup(args.group, args.consumer, {key: start},
                             count=want, block=block_ms)
        entries = reply[0][1] if reply else []
        if start == "0" and not entries:
            start = ">"
            continue
        for entry_id, fields in entries:
            if fields:  # None: trimmed from the stream before it was read
                action = apply_decision(fields)
                words = [fields.get("id", "-"), fields.get("status"), action,
                         fields.get("reasons")]
                print(" ".join(w for w in words if w), flush=True)
                done += 1
                last = time.monotonic()
            # Acknowledge only once the decision is handled.
            r.xack(key, args.group, entry_id)
    return 0 if args.count is None or done >= args.count else 1


def main():
    p = argparse.ArgumentParser(description="A news site's modq client.")
    p.add_argument("-s", dest="socket", help="Redis unix socket")
    p.add_argument("-H", dest="host", default="127.0.0.1")
    p.add_argument("-p", dest="port", type=int, default=6379)
    p.add_argument("-n", dest="db", type=int, default=0)
    p.add_argument("--user", help="Redis ACL user (password: REDISCLI_AUTH)")
    p.add_argument("--prefix", default="modq", help="redis.prefix of modqd")
    p.add_argument("--stream", default="incoming",
                   help="queue.stream of modqd (the key is PREFIX:STREAM)")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("push", "edit"):
        c = sub.add_parser(name, help=f"{name} a comment")
        c.add_argument("id")
        c.add_argument("body")
        c.add_argument("--author")
        c.add_argument("--thread")
        c.add_argument("--ip")
        c.set_defaults(run=push)  # an edit is a push of the same id
    c = sub.add_parser("delete", help="delete a comment")
    c.add_argument("id")
    c.add_argument("--by", default="site", help="who deleted it")
    c.add_argument("--note")
    c.set_defaults(run=delete)
    c = sub.add_parser("follow", help="print and acknowledge decisions")
    c.add_argument("--group", default="site")
    c.add_argument("--consumer", default="web-1")
    c.add_argument("--count", type=int, help="stop after N decisions")
    c.add_argument("--timeout", type=float,
                   help="stop after S seconds without a decision")
    c.set_defaults(run=follow)
    args = p.parse_args()
    try:
        return args.run(connect(args), args)
    except redis.RedisError as e:
        log(f"redis: {e}")
        return 2


if __name__ == "__main__":
    sys.exit(main())

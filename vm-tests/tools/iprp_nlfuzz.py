#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Random generic-netlink requests to the iprp family.

    iprp_nlfuzz.py COUNT SEED

Each request draws: a command (the family's, unknown ones, 0 and 255), a
genl version, netlink flags (ACK, DUMP, REPLACE/EXCL/CREATE/APPEND bits), and
a body of random attributes: known and unknown types, NLA_F_NESTED and
NLA_F_NET_BYTEORDER flags, well-typed values near the policy's bounds,
wrong lengths (0..300 bytes), nests up to 3 deep, attribute headers whose
length lies, and truncated messages. Well-typed capacities stay <= 65536 so
the fuzzer does not spend the VM's memory on legitimately huge tables.

Prints one JSON line: how many requests got which errno (0 = accepted),
dump replies, and socket errors. Any exception other than an errno reply is
a failure (exit 1). The kernel side is judged by dmesg in the test.
"""
import errno
import json
import random
import socket
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from iprp_genl import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, Genl, nla, uapi  # noqa: E402

# Numbers from the UAPI header generated from the YNL spec.
UAPI = uapi()
A_MAX = UAPI["IPRP_A_MAX"]
CMD_MAX = UAPI["IPRP_CMD_MAX"]
U32S = (0, 1, 9, 10, 15, 16, 17, 49, 50, 99, 100, 1000, 10000, 10001, 60000, 60001,
        65535, 65536, 1 << 20, (1 << 20) + 1, (1 << 22) + 1, 3600000, 3600001,
        86400000, 86400001, 0x7FFFFFFF, 0xFFFFFFFF)
ADDRS = ("10.0.0.100", "10.0.0.11", "0.0.0.0", "127.0.0.1", "224.0.0.1",
         "255.255.255.255", "240.0.0.1", "10.0.0.12")
# Table sizes: well-typed values stay <= 65536 (see the docstring).
CAPACITIES = tuple(UAPI[n] for n in ("IPRP_A_CAPACITY", "IPRP_A_CLIENT_CAPACITY",
                                     "IPRP_A_REDIR_CAPACITY", "IPRP_A_COUNT"))
DUMPS = tuple(UAPI[n] for n in ("IPRP_CMD_GET_SERVICE", "IPRP_CMD_GET_BINDING",
                                "IPRP_CMD_GET_FLOW"))


def value(rnd, t):
    """A payload for attribute type t: usually well-typed, often not."""
    k = rnd.randrange(10)
    if k == 0:
        return b""
    if k == 1:
        return bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 300)))
    if k == 2:
        return bytes(rnd.getrandbits(8) for _ in range(rnd.choice((1, 2, 3, 5, 6, 7, 8, 12))))
    if k == 3:
        return rnd.choice(("iprp", "", "x" * 200)).encode() + b"\0"
    if k == 4:
        return struct.pack("B", rnd.choice((0, 1, 2, 3, 6, 17, 255)))
    if k == 5:
        return struct.pack("H", rnd.choice((0, 1, 80, 8080, 65535)))
    if k == 6:
        return socket.inet_aton(rnd.choice(ADDRS))
    if k == 7:
        return struct.pack("Q", rnd.getrandbits(64))
    v = rnd.choice(U32S)
    if t in CAPACITIES and 65536 < v <= 1 << 22:
        v = 65536
    return struct.pack("I", v)


def body(rnd, depth=0):
    out = b""
    for _ in range(rnd.randrange(0, 9)):
        t = rnd.choice((rnd.randrange(0, A_MAX + 1), rnd.randrange(0, A_MAX + 1),
                        rnd.randrange(A_MAX + 1, 64), rnd.randrange(0, 0x4000)))
        if depth < 3 and rnd.randrange(6) == 0:
            p = body(rnd, depth + 1)
            t |= 0x8000 if rnd.randrange(3) else 0
        else:
            p = value(rnd, t)
            if rnd.randrange(20) == 0:
                t |= rnd.choice((0x8000, 0x4000, 0xC000))
        a = nla(t, p)
        if rnd.randrange(25) == 0:
            # An attribute header whose length lies (too short or too long).
            a = struct.pack("HH", rnd.choice((0, 1, 3, 4, len(a) + 4, 0xFFFF)), t) + a[4:]
        out += a
    return out


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rnd = random.Random(seed)
    g = Genl()
    errs = {}
    dumps = 0
    for _ in range(count):
        # Mostly the family's commands (unknown ones are refused early and
        # teach little); dumps mostly where the command has a dumpit.
        k = rnd.randrange(16)
        cmd = rnd.randrange(CMD_MAX + 1, 32) if k == 0 else 255 if k == 1 else \
            rnd.randrange(0, CMD_MAX + 1)
        flags = NLM_F_REQUEST | NLM_F_ACK
        if rnd.randrange(10 if cmd in DUMPS else 16) == 0 or (cmd in DUMPS and rnd.randrange(2)):
            flags |= NLM_F_DUMP
        if rnd.randrange(4) == 0:
            flags |= rnd.choice((0x100, 0x200, 0x400, 0x800, 0x500))
        b = body(rnd)
        if rnd.randrange(30) == 0:
            b = b[:rnd.randrange(0, len(b) + 1)]
        version = rnd.choice((1, 1, 1, 0, 2, 255))
        try:
            replies, e = g.raw(g.fam, cmd, b, flags, version)
        except OSError as x:
            # A reply too big for the buffer etc.: count, reopen, go on.
            k = "oserror-" + errno.errorcode.get(x.errno, str(x.errno))
            errs[k] = errs.get(k, 0) + 1
            g = Genl()
            continue
        dumps += len(replies)
        en = 0
        if e is not None:
            en = -struct.unpack_from("i", e[1], 16)[0]
        name = errno.errorcode.get(en, str(en)) if en else "ok"
        errs[name] = errs.get(name, 0) + 1
    print(json.dumps({"requests": count, "seed": seed, "replies": dumps, "result": errs}))


if __name__ == "__main__":
    main()

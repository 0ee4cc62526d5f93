#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw generic-netlink requests to the iprp family.

For what iprpctl cannot send: missing attributes, out-of-range values past
the CLI's checks, test-only commands, fuzzing. As a program:

    iprp_genl.py CMD TYPE:FMT:VALUE...   (FMT a struct code, or "ip")

sends one request with NLM_F_ACK and prints
"errno N miss M offs O msg TEXT" on stderr. CMD and TYPE are numbers or
names from include/uapi/linux/iprp.h (IPRP_CMD_*, IPRP_A_*), read from the
header (generated from the YNL spec include/uapi/linux/iprp.yaml by make
ynl-gen) so scripts never hard-code them.
"""
import os
import re
import socket
import struct
import sys

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "../../include/uapi/linux/iprp.h")


def uapi(path=HEADER):
    """Values of the enumerators of every enum in the UAPI header, and of
    its integer #defines (IPRP_A_MAX, IPRP_CMD_MAX, ...)."""
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    out = {}
    for body in re.findall(r"enum\s+\w+\s*{(.*?)}", text, flags=re.S):
        value = -1
        for item in body.split(","):
            item = item.strip()
            if not item:
                continue
            name, _, expr = item.partition("=")
            expr = expr.strip()
            # Enumerator values are literals or shifts ("1 << 0").
            if re.fullmatch(r"[0-9xa-fA-F]+(\s*<<\s*[0-9]+)?", expr):
                value = eval(expr)  # noqa: S307 - checked by the pattern
            elif expr:
                value = out[expr]
            else:
                value += 1
            out[name.strip()] = value
    # "#define IPRP_A_MAX (__IPRP_A_MAX - 1)" and plain numbers.
    for name, expr in re.findall(r"#define\s+(\w+)\s+(.+)", text):
        m = re.fullmatch(r"\(?\s*(\w+)\s*-\s*1\s*\)?", expr.strip())
        if expr.strip().isdigit():
            out[name] = int(expr)
        elif m and m.group(1) in out:
            out[name] = out[m.group(1)] - 1
    return out


def number(token, names=None):
    if token.lstrip("-").isdigit():
        return int(token)
    return (names or uapi())[token]

NETLINK_GENERIC, NETLINK_EXT_ACK, SOL_NETLINK = 16, 11, 270
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3


def nla(t, payload):
    n = 4 + len(payload)
    return struct.pack("HH", n, t) + payload + b"\0" * ((4 - n % 4) % 4)


def attrs(buf):
    while len(buf) >= 4:
        n, t = struct.unpack_from("HH", buf)
        if n < 4:
            break
        yield t & 0x3FFF, buf[4:n]
        buf = buf[(n + 3) & ~3:]


def parse_error(fl, r):
    """errno, missing attribute, offset and message of an NLMSG_ERROR."""
    err = -struct.unpack_from("i", r, 16)[0]
    # TLVs after: error (4), then the request's header (16) or, unless
    # capped (NLM_F_CAPPED), the whole request
    tl = 20 + (16 if fl & 0x100 else struct.unpack_from("I", r, 20)[0])
    out = {"errno": err, "miss": "-", "offs": "-", "msg": ""}
    if fl & 0x200:  # NLM_F_ACK_TLVS
        for t, p in attrs(r[tl:]):
            if t == 1:
                out["msg"] = p.rstrip(b"\0").decode(errors="replace")
            if t == 2:
                out["offs"] = struct.unpack("I", p)[0]
            if t == 5:
                out["miss"] = struct.unpack("I", p)[0]
    return out


class Genl:
    def __init__(self, family="iprp"):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.seq = 0
        replies, _ = self.raw(0x10, 3, nla(2, family.encode() + b"\0"))
        self.fam = None
        for t, p in attrs(replies[0][20:]) if replies else []:
            if t == 1:
                self.fam = struct.unpack("H", p[:2])[0]
        if self.fam is None:
            raise OSError(f"generic netlink family {family} not found")

    def raw(self, ty, cmd, body, flags=NLM_F_REQUEST | NLM_F_ACK, version=1):
        """Sends one message; returns (replies, (flags, error message))."""
        self.seq += 1
        msg = struct.pack("BBH", cmd, version, 0) + body
        self.s.send(struct.pack("IHHII", 16 + len(msg), ty, flags, self.seq, 0) + msg)
        replies = []
        while True:
            buf = self.s.recv(1 << 20)
            while len(buf) >= 16:
                ln, mty, fl, mseq = struct.unpack_from("IHHI", buf)
                if ln < 16:
                    return replies, None
                m, buf = buf[:ln], buf[(ln + 3) & ~3:]
                if mseq != self.seq:
                    continue
                if mty == NLMSG_ERROR:
                    return replies, (fl, m)
                if mty == NLMSG_DONE:
                    return replies, None
                replies.append(m)

    def req(self, cmd, body=b"", dump=False):
        """Returns (replies, errno info dict or None for success)."""
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if dump else 0)
        replies, e = self.raw(self.fam, cmd, body, flags)
        if e is None:
            return replies, None
        info = parse_error(*e)
        return replies, (info if info["errno"] else None)


def encode(args):
    names = uapi()
    body = b""
    for a in args:
        t, f, v = a.split(":")
        payload = socket.inet_aton(v) if f == "ip" else struct.pack(f, int(v))
        body += nla(number(t, names), payload)
    return body


def main():
    g = Genl()
    _, e = g.req(number(sys.argv[1]), encode(sys.argv[2:]))
    out = e or {"errno": 0, "miss": "-", "offs": "-", "msg": ""}
    print("errno {errno} miss {miss} offs {offs} msg {msg}".format(**out), file=sys.stderr)


if __name__ == "__main__":
    main()

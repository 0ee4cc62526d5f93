#!/usr/bin/env python3
"""Answers every protocol-99 packet this namespace receives with ICMP
destination unreachable, code 2 (protocol), as the stack of a host without
IPRP does. The test VM loads the module into its one kernel, so a namespace
without a role (the legacy client L) would otherwise drop REQs silently.

    legacy_host.py      prints "ready", then runs until killed
"""
import socket
import struct


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF


def main():
    # A raw socket gets a copy of each protocol-99 packet (with its IP
    # header) before the protocol handler sees it.
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, 99)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("ready", flush=True)
    while True:
        pkt, (src, _) = rx.recvfrom(65535)
        quoted = pkt[:(pkt[0] & 0x0F) * 4 + 8]
        icmp = struct.pack("!BBHI", 3, 2, 0, 0) + quoted
        icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
        tx.sendto(icmp, (src, 0))
        print("unreachable to", src, flush=True)


main()

#!/usr/bin/env python3
"""Answers every protocol-99 packet this namespace receives with ICMP
destination unreachable, code 2 (protocol), as the stack of a host without
IPRP does. The test VM loads the module into its one kernel, so a namespace
without a role (the legacy client L) would otherwise drop REQs silently.

    legacy_host.py      prints "ready", then runs until killed
"""
import socket

from iprp_forge import prot_unreachable


def main():
    # A raw socket gets a copy of each protocol-99 packet (with its IP
    # header) before the protocol handler sees it.
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, 99)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("ready", flush=True)
    while True:
        pkt, (src, _) = rx.recvfrom(65535)
        tx.sendto(prot_unreachable(pkt[:(pkt[0] & 0x0F) * 4 + 8]), (src, 0))
        print("unreachable to", src, flush=True)


main()

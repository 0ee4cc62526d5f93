#!/usr/bin/env python3
"""Sends forged IPRP (protocol 99) messages with a spoofed source address.

    iprp_forge.py SRC DST TYPE PROTO CPORT SPORT REPLICA KEY|random COUNT
                  [grant LIFETIME TOKEN|random]
                                              with a GRANT extension item
                                              (docs/protocol.md): a grant,
                                              or with LIFETIME 0 a revocation
    iprp_forge.py --junk SRC DST COUNT SEED   random type and length 0..1500
    iprp_forge.py --replay PCAP COUNT         every protocol-99 packet of an
                                              Ethernet pcap, COUNT times, as
                                              captured (source included)
    iprp_forge.py --unreach SRC VIP CLIENT PROTO SPORT COUNT
                                              ICMP protocol unreachable from
                                              SRC to VIP, each quoting a REQ
                                              VIP -> CLIENT with a random
                                              client port

Used by the attack and flood tests; raw IP_HDRINCL socket, so it needs root
in the attacker's namespace. Prints how many packets it sent.
"""
import random
import socket
import struct
import sys

TYPES = {"req": 1, "chk": 2, "cfm": 3, "alm": 4}


def ip_packet(src, dst, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0,
                      64, 99, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return hdr + payload  # the kernel fills in the header checksum


def replay(s, path, count):
    """Re-sends the captured IPv4 protocol-99 packets; prints how many of
    each message type went out."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    assert struct.unpack(endian + "I", data[20:24])[0] == 1, "not an Ethernet capture"
    pkts, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ip = frame[14:]
        if frame[12:14] == b"\x08\x00" and len(ip) >= 36 and ip[9] == 99:
            pkts.append(ip[:struct.unpack("!H", ip[2:4])[0]])
    sent = {}
    for _ in range(count):
        for p in pkts:
            s.sendto(p, (socket.inet_ntoa(p[16:20]), 0))
            ty = {v: k for k, v in TYPES.items()}.get(struct.unpack("!H", p[20:22])[0], "?")
            sent[ty] = sent.get(ty, 0) + 1
    print(" ".join(f"{k} {v}" for k, v in sorted(sent.items())))


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF


def prot_unreachable(quoted):
    """The ICMP message (no IP header) a stack without a handler for the
    quoted packet's protocol sends: destination unreachable, code 2,
    quoting the packet's IP header and first 8 bytes (`quoted`)."""
    icmp = struct.pack("!BBHI", 3, 2, 0, 0) + quoted
    return icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]


def unreach(s, src, vip, client, proto, sport, count):
    """ICMP destination unreachable, code 2 (protocol), as a host without
    IPRP would answer a REQ: quotes the REQ's IP header and first 8 bytes."""
    rnd = random.Random(4242)
    count = int(count)
    packets = []
    for i in range(count):
        req = struct.pack("!HHHH", TYPES["req"], int(proto), rnd.randrange(1024, 65536), int(sport))
        quoted = ip_packet(vip, client, req + bytes(8), i)[:28]
        icmp = prot_unreachable(quoted)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), i & 0xFFFF, 0, 64, 1, 0,
                          socket.inet_aton(src), socket.inet_aton(vip))
        packets.append(hdr + icmp)
    for p in packets:
        s.sendto(p, (vip, 0))
    print(count)


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    if sys.argv[1] == "--junk":
        src, dst, count, seed = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        rnd = random.Random(seed)
        for i in range(count):
            n = rnd.randrange(0, 1481)
            body = bytearray(rnd.getrandbits(8) for _ in range(min(n, 16)))
            body += bytes(n - len(body))
            if n >= 4 and rnd.random() < 0.5:
                # Half of them look plausible: a known type and TCP/UDP.
                body[0:4] = struct.pack("!HH", rnd.randrange(0, 6), rnd.choice((6, 17, 1)))
            s.sendto(ip_packet(src, dst, bytes(body), i), (dst, 0))
        print(count)
        return
    if sys.argv[1] == "--replay":
        replay(s, sys.argv[2], int(sys.argv[3]))
        return
    if sys.argv[1] == "--unreach":
        unreach(s, *sys.argv[2:8])
        return
    src, dst, ty, proto, cport, sport, replica, key, count = sys.argv[1:10]
    rnd = random.Random(12345)
    count = int(count)
    grant = sys.argv[10:13]
    if grant:
        assert len(grant) == 3 and grant[0] == "grant", "expected: grant LIFETIME TOKEN|random"
        lifetime = int(grant[1])
        tokens = ([rnd.getrandbits(32) for _ in range(count)] if grant[2] == "random"
                  else [int(grant[2])] * count)
        exts = [struct.pack("!BBII", 1, 8, lifetime, t) for t in tokens]
    else:
        exts = [b""] * count
    # Build everything first: under TCG the per-packet Python work, not the
    # syscall, would otherwise bound the rate.
    body = struct.pack("!HHHH4s", TYPES[ty], int(proto), int(cport), int(sport),
                       socket.inet_aton(replica))
    keys = ([rnd.getrandbits(32) for _ in range(count)] if key == "random" else [int(key)] * count)
    packets = [ip_packet(src, dst, body + k.to_bytes(4, "big") + e, 0)
               for k, e in zip(keys, exts)]
    addr = (dst, 0)
    send = s.sendto
    for p in packets:
        send(p, addr)
    print(count)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A redirector that knows only ../shared/SPEC.md, the paper's protocol
(16-byte messages, nothing after them, no capability mark), written from
it alone, in user space: the module's interoperability peer.

    paper_redirector.py VIP PORT REPLICA

Sees TCP SYNs to VIP:PORT on eth0 (an AF_PACKET socket: the test drops
them at the host's input with nftables, so its own stack does not answer),
sends REQ(TCP, client port, PORT, REPLICA, key 0) from VIP to the client
and forwards the SYN to REPLICA, destination rewritten, through a raw
socket. A CHK to VIP naming a SENT flow and REPLICA confirms it with a CFM
that echoes the key; a repeated CHK with that key gets the same CFM; any
other CHK gets an ALM that echoes it. A SYN of a SENT flow is forwarded
with a duplicate REQ, of a CONFIRMED flow with a duplicate CFM. Bytes after
a message's 16 are ignored. Prints "ready", then one line per event.
"""
import select
import socket
import struct
import sys

from iprp_forge import checksum

REQ, CHK, CFM, ALM = 1, 2, 3, 4
ETH_P_IP = 0x0800


def forward(tx, ip, replica):
    """The IP packet `ip` (a TCP segment) sent to `replica` instead: the
    destination and the TCP checksum (over the new pseudo-header) change."""
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    seg = bytearray(ip[ihl:total])
    seg[16:18] = b"\0\0"
    src, dst = ip[12:16], socket.inet_aton(replica)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    seg[16:18] = struct.pack("!H", checksum(pseudo + bytes(seg)))
    hdr = bytearray(ip[:ihl])
    hdr[16:20] = dst
    hdr[10:12] = b"\0\0"  # the kernel fills in the IP checksum
    tx.sendto(bytes(hdr) + bytes(seg), (replica, 0))


def main():
    vip, port, replica = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    sniff.bind(("eth0", ETH_P_IP))
    msgs = socket.socket(socket.AF_INET, socket.SOCK_RAW, 99)
    msgs.bind((vip, 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    # (client address, client port) -> [state, key]
    flows = {}

    def send(ty, client, cport, key):
        m = struct.pack("!HHHH4sI", ty, 6, cport, port, socket.inet_aton(replica), key)
        msgs.sendto(m, (client, 0))
        print({REQ: "REQ", CFM: "CFM", ALM: "ALM"}[ty], "to", client, cport, flush=True)

    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([sniff, msgs], [], [])
        if sniff in ready:
            ip, (_, _, pkttype, _, _) = sniff.recvfrom(65535)
            ihl = (ip[0] & 0x0F) * 4
            # Arriving (not our own), TCP, to VIP:PORT, SYN without ACK.
            if (pkttype != socket.PACKET_OUTGOING and len(ip) >= ihl + 20 and ip[9] == 6
                    and ip[16:20] == socket.inet_aton(vip)
                    and struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] == port
                    and ip[ihl + 13] & 0x12 == 0x02):
                client = socket.inet_ntoa(ip[12:16])
                cport = struct.unpack("!H", ip[ihl:ihl + 2])[0]
                state, key = flows.setdefault((client, cport), ["SENT", 0])
                forward(tx, ip, replica)
                print("SYN from", client, cport, "forwarded,", state, flush=True)
                send(REQ if state == "SENT" else CFM, client, cport, key)
        if msgs in ready:
            pkt, (client, _) = msgs.recvfrom(65535)
            ihl = (pkt[0] & 0x0F) * 4
            m = pkt[ihl:]
            if len(m) < 16 or pkt[16:20] != socket.inet_aton(vip):
                continue
            ty, proto, cport, sport, rep, key = struct.unpack("!HHHH4sI", m[:16])
            if ty != CHK or proto != 6 or sport != port:
                continue
            flow = flows.get((client, cport))
            ok = flow is not None and rep == socket.inet_aton(replica) and (
                flow[0] == "SENT" or flow[1] == key)
            if ok:
                flows[(client, cport)] = ["CONFIRMED", key]
                send(CFM, client, cport, key)
            else:
                # An ALM echoes the CHK's fields.
                m2 = struct.pack("!HHHH4sI", ALM, proto, cport, sport, rep, key)
                msgs.sendto(m2, (client, 0))
                print("ALM to", client, cport, flush=True)


main()

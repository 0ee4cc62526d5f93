#!/usr/bin/env python3
"""A client that knows only ../shared/SPEC.md, the paper's protocol
(16-byte messages; it ignores whatever follows them), written from it
alone, in user space, with its own minimal TCP: the module's
interoperability peer on the client side.

    paper_client.py ADDR VIP PORT PATH

Opens a TCP connection from ADDR to VIP:PORT with raw sockets (the test
drops TCP to ADDR at the namespace's input with nftables, so the kernel,
which knows nothing of this connection, does not reset it), answers the
redirector's REQ with a CHK carrying a random key, takes the CFM that
echoes it, and then talks to the replica directly: the segments it sends
to VIP go to the replica, those from the replica count as the
redirector's. Sends "GET PATH HTTP/1.0" and prints the response body to
stdout; on stderr, one line per protocol event, including how many bytes
followed the 16 of each message.
"""
import os
import random
import select
import socket
import struct
import sys

from iprp_forge import checksum
import time

REQ, CHK, CFM, ALM = 1, 2, 3, 4
ETH_P_IP = 0x0800
SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Tcp:
    def __init__(self, src, cport):
        self.src, self.cport = src, cport
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    def send(self, dst, dport, seq, ack, flags, payload=b""):
        hdr = struct.pack("!HHIIBBHHH", self.cport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = (socket.inet_aton(self.src) + socket.inet_aton(dst)
                  + struct.pack("!BBH", 0, 6, len(hdr) + len(payload)))
        csum = checksum(pseudo + hdr + payload)
        seg = hdr[:16] + struct.pack("!H", csum) + hdr[18:] + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), random.getrandbits(16), 0,
                         64, 6, 0, socket.inet_aton(self.src), socket.inet_aton(dst))
        self.tx.sendto(ip + seg, (dst, 0))


def main():
    me, vip, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rnd = random.Random(os.getpid())
    cport = rnd.randrange(40000, 60000)
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    sniff.bind(("eth0", ETH_P_IP))
    msgs = socket.socket(socket.AF_INET, socket.SOCK_RAW, 99)
    tcp = Tcp(me, cport)
    isn = rnd.getrandbits(32)
    # The binding: replica, key, confirmed.
    replica, key, confirmed = None, 0, False
    server_isn = None
    body = bytearray()
    rcv_next = None
    request_sent = False
    done = False
    last_syn = 0.0
    deadline = time.time() + 20
    while not done and time.time() < deadline:
        if server_isn is None and time.time() - last_syn > 1.0:
            # The SYN (and its retransmissions) goes to the redirector.
            tcp.send(vip, port, isn, 0, SYN)
            last_syn = time.time()
            log("SYN to", vip, port, "from port", cport)
        ready, _, _ = select.select([sniff, msgs], [], [], 0.2)
        if msgs in ready:
            pkt, (src, _) = msgs.recvfrom(65535)
            ihl = (pkt[0] & 0x0F) * 4
            m = pkt[ihl:]
            if len(m) >= 16 and src == vip:
                ty, proto, mc, ms, rep, k = struct.unpack("!HHHH4sI", m[:16])
                extra = len(m) - 16
                if (proto, mc, ms) == (6, cport, port):
                    rep = socket.inet_ntoa(rep)
                    if ty == REQ and replica is None:
                        replica, key = rep, rnd.getrandbits(32) or 1
                        log("REQ naming", replica, "+", extra, "bytes; CHK with key", key)
                    if ty == REQ and replica == rep and not confirmed:
                        chk = struct.pack("!HHHH4sI", CHK, 6, cport, port,
                                          socket.inet_aton(replica), key)
                        msgs.sendto(chk, (vip, 0))
                    elif ty == CFM and replica == rep and k == key:
                        if not confirmed:
                            log("CFM with our key +", extra, "bytes: confirmed")
                        confirmed = True
                    elif ty == ALM and replica == rep and k == key and not confirmed:
                        log("ALM: binding deleted")
                        replica = None
        if sniff in ready:
            ip, (_, _, pkttype, _, _) = sniff.recvfrom(65535)
            ihl = (ip[0] & 0x0F) * 4
            if (pkttype == socket.PACKET_OUTGOING or ip[9] != 6 or replica is None
                    or socket.inet_ntoa(ip[12:16]) != replica):
                continue
            sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", ip[ihl:ihl + 14])
            if (sport, dport) != (port, cport):
                continue
            total = struct.unpack("!H", ip[2:4])[0]
            payload = ip[ihl + (off >> 4) * 4:total]
            if flags & SYN and flags & ACK and server_isn is None:
                server_isn = seq
                rcv_next = seq + 1
                log("SYN-ACK from", replica)
            elif rcv_next is not None and seq == rcv_next and (payload or flags & FIN):
                body += payload
                rcv_next = seq + len(payload) + (1 if flags & FIN else 0)
                tcp.send(replica, port, isn + 1 + len(request(path)), rcv_next, ACK)
                if flags & FIN:
                    tcp.send(replica, port, isn + 1 + len(request(path)), rcv_next, FIN | ACK)
                    done = True
        if confirmed and server_isn is not None and not request_sent:
            # Translated: everything for the redirector goes to the replica.
            tcp.send(replica, port, isn + 1, rcv_next, ACK)
            tcp.send(replica, port, isn + 1, rcv_next, PSH | ACK, request(path))
            request_sent = True
            log("request sent to", replica)
    if not done:
        log("no complete response (confirmed", confirmed, ")")
        sys.exit(1)
    head, _, content = bytes(body).partition(b"\r\n\r\n")
    log(head.split(b"\r\n")[0].decode())
    sys.stdout.buffer.write(content)


def request(path):
    return ("GET %s HTTP/1.0\r\n\r\n" % path).encode()


main()

"""This machine's round-trip floor: two processes exchanging a 40-byte message over loopback TCP
(blocking sockets, TCP_NODELAY), as a SELECT 1 through odbcd must at least. Prints p50 and p99
in microseconds over 19,000 exchanges after 1,000 warm-up ones. Usage: python pingpong.py"""

import os
import socket
import time

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
port = listener.getsockname()[1]
if os.fork() == 0:
    peer, _ = listener.accept()
    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while peer.recv(100):
        peer.sendall(b"x" * 40)
    os._exit(0)
client = socket.create_connection(("127.0.0.1", port))
client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
times = []
for _ in range(20000):
    began = time.perf_counter_ns()
    client.sendall(b"y" * 40)
    client.recv(100)
    times.append(time.perf_counter_ns() - began)
times = sorted(times[1000:])
print(f"pingpong p50 {times[len(times) // 2] / 1000:.1f} us, p99 {times[int(len(times) * 0.99)] / 1000:.1f} us")
client.close()
os.wait()

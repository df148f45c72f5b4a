"""``encordfs emulator serve`` and ``encordfs emulator add-key``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from .auth import DEFAULT_OWNER, Role, register_key
from .faults import FaultConfig, FaultConfigError

FAULT_FLAGS = {
    "latency_ms": ("--fault-latency-ms", float, "added latency before every API answer"),
    "blob_latency_ms": ("--fault-blob-latency-ms", float, "added time to first byte of signed-URL answers"),
    "error_rate": ("--fault-error-rate", float, "fraction of requests answered 500/503"),
    "rate_429": ("--fault-429-rate", float, "fraction of requests answered 429 with Retry-After"),
    "retry_after": ("--fault-retry-after", int, "Retry-After seconds sent with injected 429s"),
    "drop_rate": ("--fault-drop-rate", float, "fraction of connections closed without an answer"),
    "drop_after_rate": ("--fault-drop-after-rate", float, "fraction processed in full whose answer is lost"),
    "slow_body_bps": ("--fault-slow-body-bps", int, "cap on response body bytes per second"),
    "scope": ("--fault-scope", str, "which requests the rates hit: all, api or blobs"),
    "seed": ("--fault-seed", int, "seed for the fault dice (reproducible runs)"),
}


def register(sub: Any) -> None:
    emulator = sub.add_parser("emulator", help="the Encord-compatible storage emulator")
    commands = emulator.add_subparsers(dest="emulator_command", required=True)

    serve = commands.add_parser("serve", help="serve Encord's v2 storage API from a data directory")
    serve.add_argument("--data", type=Path, required=True, help="data directory (SQLite database and blobs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port (the real one is printed)")
    serve.add_argument("--sample-data", action="store_true", help="load the demo tree if the store is empty")
    serve.add_argument("--signed-url-ttl", type=int, default=3600, metavar="SECONDS")
    serve.add_argument("--request-log", type=Path, metavar="FILE", help="append one JSON line per request")
    serve.add_argument(
        "--integration", action="append", default=[], metavar="UUID=DIR",
        help="serve DIR as the bucket of integration UUID for private-data imports (repeatable)",
    )
    serve.add_argument("--job-delay", type=float, default=0.0, metavar="SECONDS", help="keep upload jobs PENDING this long")
    serve.add_argument("--job-unit-seconds", type=float, default=0.0, metavar="SECONDS",
                       help="each unit of an upload job takes this long; polls show the progress")
    serve.add_argument("--reencode-delay", type=float, default=0.0, metavar="SECONDS")
    serve.add_argument("--recursive-summaries", action="store_true",
                       help="folder summaries count everything below a folder (default: its direct contents)")
    serve.add_argument("--max-poll-seconds", type=float, default=20.0, help="longest hold of an upload-job long poll")
    serve.add_argument("--unique-folder-names", action="store_true", help="409 on a duplicate folder name under one parent")
    for name, (flag, kind, text) in FAULT_FLAGS.items():
        serve.add_argument(flag, dest=f"fault_{name}", type=kind, default=None, help=f"{text} (env ENCORDFS_FAULT_{name.upper()})")
    serve.set_defaults(func=run_serve)

    add_key = commands.add_parser("add-key", help="register an OpenSSH ed25519 public key")
    add_key.add_argument("--data", type=Path, required=True)
    add_key.add_argument("public_key_file", type=Path, metavar="PUBKEY_FILE")
    add_key.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    add_key.add_argument("--owner", default=DEFAULT_OWNER, help="the e-mail shown as owner of what this key creates")
    add_key.set_defaults(func=run_add_key)


def _integrations(specs: list[str]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for spec in specs:
        uuid, sep, directory = spec.partition("=")
        if not sep or not Path(directory).is_dir():
            raise SystemExit(f"--integration wants UUID=DIR with an existing DIR, got {spec!r}")
        try:
            found[str(UUID(uuid))] = Path(directory).resolve()
        except ValueError:
            raise SystemExit(f"--integration: {uuid!r} is not a UUID") from None
    return found


def _fault_config(args: argparse.Namespace) -> FaultConfig:
    try:
        knobs = FaultConfig.from_env(os.environ)
        flags = {name: getattr(args, f"fault_{name}") for name in FAULT_FLAGS}
        knobs.update({name: value for name, value in flags.items() if value is not None})
        return FaultConfig.from_mapping(knobs)
    except FaultConfigError as exc:
        raise SystemExit(f"bad fault setting: {exc}") from None


def run_serve(args: argparse.Namespace) -> int:
    from .app import build_app, open_emulator
    from .context import Settings
    from .request_log import redact_every_log_line
    from .server import serve

    redact_every_log_line()
    settings = Settings(
        integrations=_integrations(args.integration),
        job_delay_seconds=args.job_delay,
        job_unit_seconds=args.job_unit_seconds,
        reencode_delay_seconds=args.reencode_delay,
        recursive_summaries=args.recursive_summaries,
        unique_folder_names=args.unique_folder_names,
        max_poll_seconds=args.max_poll_seconds,
    )
    emulator = open_emulator(args.data, settings, args.signed_url_ttl)
    if args.sample_data:
        from .samples import load_samples

        load_samples(emulator.store)
    try:
        serve(build_app(emulator, _fault_config(args), args.request_log), args.host, args.port)
    finally:
        emulator.store.close()
    return 0


def run_add_key(args: argparse.Namespace) -> int:
    from .store import Store

    args.data.mkdir(parents=True, exist_ok=True)
    store = Store(args.data)
    try:
        keyid = register_key(store, args.public_key_file, Role(args.role), args.owner)
    except (OSError, ValueError) as exc:
        print(f"cannot register {args.public_key_file}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"registered key {keyid} ({args.role})")
    return 0

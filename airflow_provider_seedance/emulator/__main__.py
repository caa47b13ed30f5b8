"""``seedance-emulator`` / ``python -m airflow_provider_seedance.emulator``: run the emulator."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import re
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_seedance.emulator import API_KEY_ENV, DEFAULT_PORT
from airflow_provider_seedance.emulator.config import MUTABLE_FIELDS, EmulatorConfig
from airflow_provider_seedance.emulator.faults import Fault, parse_fault_spec

FAULTS_ENV = "SEEDANCE_EMULATOR_FAULTS"
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str) -> int:
    """``500MB`` -> 500_000_000, ``1MiB`` -> 1_048_576, ``1234`` -> 1234."""
    match = _SIZE_RE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r}")
    number, unit = match.group(1), (match.group(2) or "").lower()
    binary = "i" in unit
    letter = unit[:1] if unit[:1] in "kmgt" and unit else ""
    factor = (1024 ** ("kmgt".index(letter) + 1)) if binary and letter else _UNITS[letter]
    return int(float(number) * factor)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_parser() -> argparse.ArgumentParser:
    """The CLI; every setting's default is :class:`.EmulatorConfig`'s."""
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="seedance-emulator",
        description="Local emulator of the Seedance 2.0 reference-to-video APIs "
        "(fal.ai, Oxen.ai, AIHubMax, BytePlus ModelArk / Volcengine Ark).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback only by default)")
    parser.add_argument(
        "--allow-non-loopback", action="store_true", help="allow binding a non-loopback --host (unsafe)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 = pick a free one)")
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file once listening")
    parser.add_argument(
        "--api-key", default=None, help=f"accepted API key (env {API_KEY_ENV}; default {defaults.api_key!r})"
    )
    for flag, name, kind, text in (
        ("--queue-seconds", "queue_seconds", float, "time a job spends queued"),
        ("--run-seconds", "run_seconds", float, "time a job spends running"),
        ("--video-ttl", "video_ttl_seconds", float, "lifetime of media URLs in seconds"),
        ("--video-size", "video_size_bytes", parse_size, "pad served videos to this size, e.g. 500MB"),
    ):
        default = getattr(defaults, name)
        parser.add_argument(flag, dest=name, type=kind, default=default, help=f"{text} (default {default})")
    for flag, name, action, text in (
        ("--manual-clock", "manual_clock", "store_true", "freeze the clock; advance via API"),
        (
            "--render-videos",
            "render_videos",
            "store_true",
            "serve a short H.264 take drawn for each request (seed, prompt, aspect ratio, audio) "
            "instead of the 64x64 sample clip",
        ),
        (
            "--no-fetch-references",
            "fetch_references",
            "store_false",
            "do not fetch loopback reference URLs on submit (see docs/emulator.md)",
        ),
    ):
        parser.add_argument(flag, dest=name, action=action, default=getattr(defaults, name), help=text)
    parser.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--ssl-keyfile", help="private key for --ssl-certfile")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ROUTE:KIND[:STATUS][:key=value...]",
        help=f"inject a fault, repeatable (also env {FAULTS_ENV}, space separated), "
        "e.g. fal.status:status:503:times=2, media:truncate, fal.submit:delay:delay=5",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not is_loopback(args.host) and not args.allow_non_loopback:
        parser.error(f"refusing to listen on non-loopback host {args.host!r} without --allow-non-loopback")
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        parser.error("--ssl-certfile and --ssl-keyfile go together")
    specs = list(args.fault) + os.environ.get(FAULTS_ENV, "").split()
    try:
        faults: list[Fault] = [parse_fault_spec(spec) for spec in specs]
    except ValueError as exc:
        parser.error(str(exc))

    import uvicorn  # heavy imports only once arguments are valid

    from airflow_provider_seedance.emulator.app import create_app

    config = EmulatorConfig(
        api_key=args.api_key or os.environ.get(API_KEY_ENV) or EmulatorConfig.api_key,
        **{name: getattr(args, name) for name in MUTABLE_FIELDS},
    )
    app = create_app(config)
    for fault in faults:
        app.state.add_initial_fault(fault)

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sys.exit(f"seedance-emulator: cannot bind {args.host}:{args.port}: {exc}")
    sock.listen(2048)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    uv_config = uvicorn.Config(
        app,
        host=args.host,
        port=port,
        log_level=args.log_level,
        access_log=False,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        timeout_keep_alive=30,
        backlog=2048,
        lifespan="off",
    )
    server = uvicorn.Server(uv_config)
    scheme = "https" if args.ssl_certfile else "http"
    if args.port_file:
        args.port_file.write_text(str(port))
    print(f"seedance-emulator listening on {scheme}://{args.host}:{port}", file=sys.stderr, flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()

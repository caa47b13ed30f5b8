"""``make demo``: run ``seedance_marketing_daily`` on real Airflow against the local emulators.

Starts the Seedance emulator, the strict GCS emulator and Airflow (api-server, scheduler,
dag-processor, triggerer; SQLite + LocalExecutor; everything on 127.0.0.1) under ``.demo/``,
triggers the DAG through the REST API, waits for it, prints the archived ``gs://`` URIs, copies
one clip to ``.demo/output/`` and stops everything it started. Nothing costs money: no request
leaves this machine.

    .venv/bin/python scripts/demo.py                 # run once, then stop
    .venv/bin/python scripts/demo.py --keep-running  # ... then keep the UI up until Ctrl-C
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from scripts.demo_run import clear, download, hold, run_demo, say  # noqa: E402
from scripts.stack import Stack  # noqa: E402

DAG_ID = "seedance_marketing_daily"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=REPO_ROOT / ".demo", help="working directory")
    parser.add_argument("--keep-running", action="store_true", help="keep the stack up until Ctrl-C")
    parser.add_argument("--port", type=int, default=28080, help="Airflow api-server port")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the run")
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    home: Path = args.home.resolve()
    clear(home, "airflow", "logs", "output")
    stack = Stack(home, api_port=args.port, queue_seconds=2, run_seconds=6, poll_interval=1)

    def steps() -> int:
        say("starting the Seedance emulator, the GCS emulator and Airflow (logs in .demo/logs/) ...")
        stack.start()
        say(
            f"reference media in the GCS emulator: {stack.references_uri}/ (brand.png, motion.mp4, voice.wav)"
        )
        say(f"Airflow is up after {time.monotonic() - t0:.0f} s; triggering {DAG_ID}")
        run_id = stack.trigger(DAG_ID)
        result = stack.wait_for_run(DAG_ID, run_id, timeout=args.timeout)
        if result.state != "success":
            say(f"run {run_id} ended {result.state}; task logs:")
            print(stack.task_logs_tail(DAG_ID), flush=True)
            return 1
        renders = sorted(t["map_index"] for t in result.task_instances if t["task_id"] == "render")
        deferred = sum("deferred" in result.seen_states.get(("render", i), set()) for i in renders)
        say(
            f"run {run_id} succeeded in {result.seconds:.0f} s "
            f"({deferred}/{len(renders)} renders waited in the triggerer)"
        )
        uris = [stack.xcom(DAG_ID, run_id, "archive", i) for i in renders]
        for uri in uris:
            say(f"archived {uri}")
        say(f"archived {stack.xcom(DAG_ID, run_id, 'archive_loop')} (the 5 s product loop, image-to-video)")
        local = home / "output" / uris[0].rsplit("/", 1)[-1]
        size = download(stack, uris[0], local)
        say(f"copied {uris[0]} to {local} ({size} bytes)")
        if args.keep_running:
            say(f"Airflow UI: {stack.api_url}  user: {stack.username}  password: {stack.password}")
            hold()
        return 0

    return run_demo(stack, steps, t0)


if __name__ == "__main__":
    sys.exit(main())

"""``make demo-grid``: a small seed grid on real Airflow, its contact sheet, a choice, a publish.

Starts the Seedance emulator (rendering a real take per request: ``--render-videos``), the strict
GCS emulator and Airflow under ``.demo/grid/`` (everything on 127.0.0.1), triggers
``seedance_seed_grid_backfill`` with 1 prompt x 2 seeds x 2 aspect ratios, waits for the review
step, writes the contact sheet(s) to ``.demo/output/`` and prints where to look.

* Without ``--keep-running`` the demo answers the review step itself through the REST API
  (take ``--choose N``, default 1, as a person would in "Required actions"), waits for the
  publish, copies the published take to ``.demo/output/`` and stops everything.
* With ``--keep-running`` it leaves the choice to you: open the printed "Required actions" URL
  (or the run's "Takes" tab), choose a take; the demo reports the published object and keeps
  the UI up until Ctrl-C.

    .venv/bin/python scripts/demo_grid.py
    .venv/bin/python scripts/demo_grid.py --keep-running
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from scripts.demo_run import clear, download, hold, run_demo, say  # noqa: E402
from scripts.stack import Stack, StackError  # noqa: E402

DAG_ID = "seedance_seed_grid_backfill"
CONF = {
    "prompts": ["@Image1 spins slowly on a marble pedestal, soft studio light"],
    "seeds": [11, 42],
    "aspect_ratios": ["16:9", "9:16"],
    "prefix": "demo-grid",
}


def wait_for_state(stack: Stack, run_id: str, task_id: str, states: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        ti = stack.task_instance(DAG_ID, run_id, task_id)
        if ti["state"] in states:
            return str(ti["state"])
        run = stack.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}").json()
        if run["state"] == "failed":
            raise StackError(f"run failed:\n{stack.task_logs_tail(DAG_ID, 20)}")
        if time.monotonic() > deadline:
            raise StackError(f"{task_id} is {ti['state']!r} after {timeout:.0f} s")
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=REPO_ROOT / ".demo" / "grid", help="working directory")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / ".demo" / "output", help="where files go")
    parser.add_argument("--keep-running", action="store_true", help="you choose in the UI; stop with Ctrl-C")
    parser.add_argument("--choose", type=int, default=1, help="take number the demo chooses (default 1)")
    parser.add_argument("--port", type=int, default=28080, help="Airflow api-server port")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for each step")
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    home: Path = args.home.resolve()
    output: Path = args.output.resolve()
    clear(home, "airflow", "logs")
    output.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        home, api_port=args.port, queue_seconds=1, run_seconds=2, poll_interval=1, render_videos=True
    )

    def steps() -> int:
        say(f"starting the emulators and Airflow (logs in {home / 'logs'}) ...")
        stack.start()
        say(f"Airflow is up after {time.monotonic() - t0:.0f} s; triggering {DAG_ID} (4 takes)")
        run_id = stack.trigger(DAG_ID, conf=CONF)
        wait_for_state(stack, run_id, "review", {"awaiting_input", "deferred"}, args.timeout)
        sheet = stack.xcom(DAG_ID, run_id, "contact_sheet")
        for uri in sheet["sheet_uris"]:
            local = output / uri.rsplit("/", 1)[-1]
            download(stack, uri, local)
            say(f"contact sheet: {local}  ({uri})")
        run_path = quote(run_id, safe="")
        say(f"review page:       {sheet['review_url']}")
        say(f"'Takes' tab:       {stack.api_url}/dags/{DAG_ID}/runs/{run_path}/plugin/seedance-takes")
        say(f"choose a take:     {stack.api_url}/dags/{DAG_ID}/runs/{run_path}/tasks/review/required_actions")
        say(f"log in as {stack.username} / {stack.password}; options: {', '.join(sheet['options'])}")
        if not args.keep_running:
            choice = sheet["options"][args.choose - 1]
            path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_path}/taskInstances/review/-1/hitlDetails"
            stack.api("PATCH", path, json={"chosen_options": [choice], "params_input": {}})
            say(f"answered the review step over REST: {choice}")
        else:
            say("waiting for your choice (Ctrl-C to stop) ...")
        state = wait_for_state(
            stack,
            run_id,
            "publish",
            {"success", "failed", "skipped", "upstream_failed"},
            10**9 if args.keep_running else args.timeout,
        )
        if state != "success":
            say(f"publish ended {state}:\n{stack.task_logs_tail(DAG_ID, 20)}")
            return 1
        published = stack.xcom(DAG_ID, run_id, "publish")
        local = output / ("published-" + published["uri"].rsplit("/", 1)[-1])
        download(stack, published["uri"], local)
        say(f"published {published['choice']} (chosen by {published['reviewer']}) as {published['uri']}")
        say(f"copied it to {local}")
        if args.keep_running:
            hold()
        return 0

    return run_demo(stack, steps, t0)


if __name__ == "__main__":
    sys.exit(main())

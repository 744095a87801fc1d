"""Tracking benchmark: Steward against MLflow, on local SQLite and over HTTP, in one run.

    bench/peers/setup.sh                      # once: MLflow 3.x in bench/.venvs/mlflow
    .venv/bin/python bench/tracking.py        # both tools, both modes, prints the table
    .venv/bin/python bench/tracking.py --only mlflow --json mlflow.json

Workloads (sizes from issue 2, "Performance"), the same for both tools:
  single         2,000 single log_metric calls in one run; timed: the loop plus ending the
                 run (the final flush of a buffering SDK)
  batch          10,000 metrics in one run: MLflow's log_batch in chunks of 1,000 (its limit),
                 Steward's log_metrics_batch in one call; timed: the calls plus ending the run
  create_search  200 runs with 10 params and 10 metrics each, then one search over them

Every client runs in a fresh subprocess with its own environment, so settings are read
fresh: MLflow's in bench/.venvs/mlflow (bench/peers/mlflow_tracking.py), Steward's in this
interpreter (`bench/tracking.py client ...`). Over HTTP each tool's server is started here
on a free loopback port with its own SQLite file, and stopped afterwards. Database creation
and migrations happen before any timer starts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_BIN = ROOT / "bench" / ".venvs" / "mlflow" / "bin"
MLFLOW_PEER = ROOT / "bench" / "peers" / "mlflow_tracking.py"
STEWARD_CLI = Path(sys.executable).with_name("steward")

MODES = ("local", "http")
HEALTH_PATH = {"mlflow": "/health", "steward": "/healthz"}
# Required speed-up of Steward over MLflow, per mode and workload (issue 2).
BARS = {
    "local": {"single": 100.0, "batch": 20.0, "create_search": 20.0},
    "http": {"single": 20.0, "batch": 20.0, "create_search": 20.0},
}
SERVER_START_TIMEOUT_S = 180.0
CLIENT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Sizes:
    single: int = 2000
    batch: int = 10000
    chunk: int = 1000
    runs: int = 200

    def as_args(self) -> list[str]:
        return [f"--{key}={value}" for key, value in asdict(self).items()]


QUICK = Sizes(single=200, batch=2000, chunk=1000, runs=20)


def value(i: int) -> float:
    """The metric value used by both tools (same as bench/peers/mlflow_tracking.py)."""
    return math.sin(i) * 0.5 + 0.5


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any STEWARD_/MLFLOW_ settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "MLFLOW_"))}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"server not ready at {url} after {SERVER_START_TIMEOUT_S:.0f} s:\n{tail(log)}"
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and the workers it forked: its own process group, nothing else."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def server(cmd: list[str], *, env: Mapping[str, str], cwd: Path, health_url: str) -> Iterator[None]:
    log = cwd / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(health_url, proc, log)
            yield
        finally:
            stop(proc)


def run_client(cmd: list[str], *, env: Mapping[str, str], cwd: Path, out: Path) -> dict[str, Any]:
    log = cwd / "client.log"
    with log.open("wb") as stream:
        done = subprocess.run(
            cmd, env=dict(env), cwd=cwd, stdout=stream, stderr=subprocess.STDOUT,
            timeout=CLIENT_TIMEOUT_S, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"client exited with {done.returncode}:\n{tail(log)}")
    return dict(json.loads(out.read_text()))


# --------------------------------------------------------------------------- MLflow half


def mlflow_result(mode: str, workdir: Path, sizes: Sizes) -> dict[str, Any]:
    python = MLFLOW_BIN / "python"
    if not python.exists():
        raise RuntimeError(f"no MLflow venv at {python.parent.parent}; run bench/peers/setup.sh")
    cwd = workdir / f"mlflow-{mode}"
    cwd.mkdir(parents=True)
    out = cwd / "result.json"
    env = clean_env()
    if mode == "local":
        uri = f"sqlite:///{cwd / 'mlflow.db'}"
        return run_client(
            client_cmd(python, MLFLOW_PEER, mode, uri, out, sizes), env=env, cwd=cwd, out=out
        )
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    cmd = [
        str(MLFLOW_BIN / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{cwd / 'mlflow-server.db'}",
        "--artifacts-destination", str(cwd / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with server(cmd, env=env, cwd=cwd, health_url=uri + HEALTH_PATH["mlflow"]):
        result = run_client(
            client_cmd(python, MLFLOW_PEER, mode, uri, out, sizes), env=env, cwd=cwd, out=out
        )
    return {**result, "server": " ".join(cmd[1:])}


def client_cmd(
    python: Path, script: Path, mode: str, uri: str, out: Path, sizes: Sizes
) -> list[str]:
    return [
        str(python),
        str(script),
        "--mode",
        mode,
        "--tracking-uri",
        uri,
        "--out",
        str(out),
        *sizes.as_args(),
    ]


# --------------------------------------------------------------------------- Steward half


def steward_result(mode: str, workdir: Path, sizes: Sizes) -> dict[str, Any]:
    cwd = workdir / f"steward-{mode}"
    cwd.mkdir(parents=True)
    out = cwd / "result.json"
    this = Path(__file__).resolve()
    if mode == "local":
        env = clean_env(STEWARD_HOME=str(cwd / ".steward"))
        cmd = [
            sys.executable,
            str(this),
            "client",
            "--mode",
            mode,
            "--out",
            str(out),
            *sizes.as_args(),
        ]
        return run_client(cmd, env=env, cwd=cwd, out=out)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = clean_env(STEWARD_HOME=str(cwd / "server-home"))
    server_cmd = [str(STEWARD_CLI), "server", "--host", "127.0.0.1", "--port", str(port)]
    client_env = clean_env(STEWARD_HOME=str(cwd / "client-home"), STEWARD_TRACKING_URL=url)
    cmd = [sys.executable, str(this), "client", "--mode", mode, "--out", str(out), *sizes.as_args()]
    with server(server_cmd, env=server_env, cwd=cwd, health_url=url + HEALTH_PATH["steward"]):
        result = run_client(cmd, env=client_env, cwd=cwd, out=out)
    return {**result, "server": " ".join(server_cmd[1:])}


# The Steward workloads below run inside the `client` subprocess and use only the public
# SDK (`import steward`). Each mirrors the function of the same name in mlflow_tracking.py.


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def steward_single(steward: Any, count: int) -> dict[str, Any]:
    steward.set_experiment("bench-single")
    run = steward.start_run(name="single")

    def work() -> None:
        with run:  # leaving the block ends the run and flushes the buffer: timed
            for i in range(count):
                steward.log_metric("loss", value(i), step=i)

    seconds, _ = timed(work)
    last = steward.get_run(run.id).metrics.get("loss")
    return {
        "count": count,
        "last_ok": last == value(count - 1),
        "seconds": seconds,
        "per_s": count / seconds,
    }


def steward_batch(steward: Any, count: int) -> dict[str, Any]:
    steward.set_experiment("bench-batch")
    metrics = [(f"m{i % 10}", value(i), i // 10) for i in range(count)]
    run = steward.start_run(name="batch")

    def work() -> None:
        with run:
            steward.log_metrics_batch(metrics)

    seconds, _ = timed(work)
    last = steward.get_run(run.id).metrics.get("m9")
    return {
        "count": count,
        "last_ok": last == value(count - 1),
        "seconds": seconds,
        "per_s": count / seconds,
    }


def steward_create_and_search(steward: Any, runs: int) -> dict[str, Any]:
    steward.set_experiment("bench-search")

    def create() -> None:
        for r in range(runs):
            with steward.start_run(name=f"run-{r}"):
                steward.log_params({f"p{k}": r * 100 + k for k in range(10)})
                steward.log_metrics({f"m{k}": value(r * 100 + k) for k in range(10)})

    create_s, _ = timed(create)
    search_s, found = timed(
        lambda: steward.search_runs(experiment="bench-search", max_results=1000)
    )
    filtered_s, top = timed(
        lambda: steward.search_runs(
            experiment="bench-search",
            filter="metrics.m0 > 0.5",
            order_by=["metrics.m1 DESC"],
            max_results=10,
        )
    )
    return {
        "create": {"count": runs, "seconds": create_s, "runs_per_s": runs / create_s},
        "search": {"count": len(found), "seconds": search_s},
        "search_filtered": {"count": len(top), "seconds": filtered_s},
        "seconds": create_s + search_s,
    }


def client_main(args: argparse.Namespace) -> int:
    import steward  # imported here: settings come from this subprocess's environment

    # Warm-up outside every timer: creates and migrates the database, or reaches the server.
    steward.set_experiment("bench-warmup")
    result = {
        "tool": "steward",
        "version": steward.__version__,
        "python": platform.python_version(),
        "mode": args.mode,
        "single": steward_single(steward, args.single),
        "batch": steward_batch(steward, args.batch),
        "create_search": steward_create_and_search(steward, args.runs),
    }
    args.out.write_text(json.dumps(result, indent=2))
    return 0


# --------------------------------------------------------------------------- report


def attempt(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A half that fails is reported as an error, so the other half's figures still print."""
    try:
        return fn()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def figure(result: dict[str, Any], workload: str) -> str:
    if "error" in result:
        return "error"
    if workload == "create_search":
        part = result[workload]
        create_s, search_s = part["create"]["seconds"], part["search"]["seconds"]
        return f"{part['seconds']:.3f} s ({create_s:.2f} + {search_s:.3f})"
    part = result[workload]
    return f"{part['per_s']:,.0f}/s ({part['seconds']:.2f} s)"


def seconds(result: dict[str, Any], workload: str) -> float | None:
    if "error" in result or workload not in result:
        return None
    return float(result[workload]["seconds"])


def report(results: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for mode, by_tool in results.items():
        mlflow, steward = (
            by_tool.get("mlflow", {"error": "skipped"}),
            by_tool.get("steward", {"error": "skipped"}),
        )
        for workload, bar in BARS[mode].items():
            base, ours = seconds(mlflow, workload), seconds(steward, workload)
            ratio = base / ours if base is not None and ours else None
            rows.append(
                {
                    "mode": mode, "workload": workload, "mlflow": figure(mlflow, workload),
                    "steward": figure(steward, workload), "ratio": ratio, "bar": bar,
                    "meets_bar": None if ratio is None else ratio >= bar,
                }
            )  # fmt: skip
    return rows


def print_table(rows: list[dict[str, Any]], results: dict[str, dict[str, dict[str, Any]]]) -> None:
    header = (
        f"{'mode':<6} {'workload':<14} {'MLflow':>28} {'Steward':>28} {'ratio':>8} {'bar':>6}  ok"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.1f}x"
        ok = {None: "-", True: "yes", False: "NO"}[row["meets_bar"]]
        print(
            f"{row['mode']:<6} {row['workload']:<14} {row['mlflow']:>28} {row['steward']:>28} "
            f"{ratio:>8} {row['bar']:>5.0f}x  {ok}"
        )
    for mode, by_tool in results.items():
        for tool, result in by_tool.items():
            if "error" in result:
                print(f"\n{tool} ({mode}) failed:\n{result['error']}")


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def bench_main(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else Sizes()
    tools = ["mlflow", "steward"] if args.only == "both" else [args.only]
    run_half = {"mlflow": mlflow_result, "steward": steward_result}
    with tempfile.TemporaryDirectory(prefix="steward-bench-") as tmp:
        workdir = Path(tmp)
        results: dict[str, dict[str, dict[str, Any]]] = {}
        for mode in args.modes:
            results[mode] = {}
            for tool in tools:
                print(f"running {tool} ({mode})...", file=sys.stderr, flush=True)
                results[mode][tool] = attempt(partial(run_half[tool], mode, workdir, sizes))
    rows = report(results)
    print(f"\nTracking benchmark: sizes {asdict(sizes)}; machine {machine()}\n")
    print_table(rows, results)
    if args.json:
        document = {"machine": machine(), "sizes": asdict(sizes), "results": results, "rows": rows}
        args.json.write_text(json.dumps(document, indent=2))
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command")
    client = commands.add_parser("client", help="internal: run Steward's workloads in this process")
    client.add_argument("--mode", choices=MODES, required=True)
    client.add_argument("--out", type=Path, required=True)
    for key, default in asdict(Sizes()).items():
        client.add_argument(f"--{key}", type=int, default=default)
    parser.add_argument("--only", choices=["both", "mlflow", "steward"], default="both")
    parser.add_argument(
        "--modes", type=lambda s: s.split(","), default=list(MODES), help="local,http"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke test, not figures"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"--modes accepts {', '.join(MODES)}; got {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.command == "client":
        return client_main(args)
    return bench_main(args)


if __name__ == "__main__":
    raise SystemExit(main())

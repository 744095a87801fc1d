"""Serving benchmark: Steward vs `mlflow models serve` vs a bare FastAPI app, in one run.

    bench/peers/setup.sh                       # once: MLflow 3.x in bench/.venvs/mlflow
    apt-get install -y wrk                     # once: the load generator
    .venv/bin/python bench/serving.py          # prints the table; --json FILE keeps the figures

One scikit-learn LogisticRegression on 20 numeric features, trained here, registered in a
fresh Steward home with its inferred contract, and exported to an MLflow model directory
(with a signature) by MLflow's own venv. Every server gets the same single-row
`POST /invocations` body in MLflow's `dataframe_split` format, from wrk (one thread) on
127.0.0.1, one server process each:

  mlflow        `mlflow models serve --env-manager local --workers 1`
  bare_pandas   FastAPI + uvicorn: `await request.json()`, a DataFrame, `model.predict`
  bare_numpy    the same app building a NumPy array in training column order instead
  steward       `steward serve --endpoint bench`: contract check, router, metrics and the
                prediction log on (the default)
  steward_nolog the same with `--no-log-predictions`

Figures are the median over `--rounds` rounds, servers interleaved within each round so a
busy neighbour on a shared machine hits them alike. Then, on `steward` under concurrency 16,
the endpoint's alias is moved `--swaps` times (promotions and rollbacks) and wrk counts the
failed requests. Servers cache bytecode under bench/.work/serving/pycache, so start-up is
measured warm, as on a deployed machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Module level: FastAPI resolves the handler's `Request` annotation in this module's globals.
from fastapi import FastAPI, Request

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work" / "serving"
MLFLOW_BIN = ROOT / "bench" / ".venvs" / "mlflow" / "bin"
MLFLOW_EXPORT = ROOT / "bench" / "peers" / "mlflow_serving_export.py"
STEWARD_SERVE = "import typer; from steward.cli.serve import serve; typer.run(serve)"
FEATURES = [f"f{i}" for i in range(20)]
SERVERS = ("mlflow", "bare_pandas", "bare_numpy", "steward", "steward_nolog")
START_TIMEOUT_S = 300.0
BARS = {
    "c16_vs_mlflow": 10.0,
    "c16_vs_bare": 0.8,
    "c1_p50_ms": 1.0,
    "c1_p99_ms": 5.0,
    "logging_cost": 0.10,
    "logging_cost_cpu": 0.10,
}


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class World:
    home: Path
    model_path: Path
    mlflow_dir: Path
    body: str


def build_world() -> World:
    """Train, register (two versions, alias, endpoint) and export the model; nothing timed."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from steward import registry
    from steward.config import Settings
    from steward.contracts import infer_contract
    from steward.store import open_store

    home = WORK / "home" / ".steward"
    shutil.rmtree(home.parent, ignore_errors=True)
    rng = np.random.default_rng(20)
    frame = pd.DataFrame(rng.normal(size=(5000, len(FEATURES))), columns=FEATURES)
    labels = (frame.to_numpy() @ rng.normal(size=len(FEATURES)) > 0).astype(int)
    champion = LogisticRegression(C=1.0).fit(frame, labels)
    challenger = LogisticRegression(C=0.05).fit(frame, labels)
    store = open_store(Settings(home=home, actor="bench"))
    contract = infer_contract(frame, name="bench").to_dict()
    for model in (champion, challenger):
        registry.register_model(
            store, "bench", model, sample_input=frame.head(5), contract=contract, actor="bench"
        )
    registry.set_alias(store, "bench", "champion", 1, actor="bench")
    registry.create_endpoint(
        store,
        "bench",
        environment="production",
        model_name="bench",
        alias="champion",
        actor="bench",
    )
    store.close()
    model_path = WORK / "model.pkl"
    model_path.write_bytes(pickle.dumps(champion, protocol=5))
    sample = WORK / "sample.json"
    sample.write_text(json.dumps({"columns": FEATURES, "data": frame.head(5).to_numpy().tolist()}))
    mlflow_dir = WORK / "mlflow-model"
    subprocess.run(
        [
            str(MLFLOW_BIN / "python"),
            str(MLFLOW_EXPORT),
            str(model_path),
            str(sample),
            str(mlflow_dir),
        ],
        check=True,
        env=child_env(),
    )
    row = [round(float(v), 6) for v in frame.iloc[7]]
    body = json.dumps({"dataframe_split": {"columns": FEATURES, "data": [row]}})
    return World(home, model_path, mlflow_dir, body)


def move_alias(home: Path, version: int) -> None:
    from steward import registry
    from steward.config import Settings
    from steward.store import open_store

    store = open_store(Settings(home=home, actor="bench"))
    try:
        registry.set_alias(store, "bench", "champion", version, actor="bench")
    finally:
        store.close()


# --------------------------------------------------------------------------- servers


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(WORK / "pycache"), **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(
    name: str, world: World, port: int, extra: tuple[str, ...] = ()
) -> tuple[list[str], dict[str, str], str]:
    """The command, environment and readiness path of one server."""
    if name == "mlflow":
        command = [
            str(MLFLOW_BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            str(world.mlflow_dir),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--env-manager",
            "local",
            "--workers",
            "1",
        ]
        env = child_env(PATH=f"{MLFLOW_BIN}:{os.environ.get('PATH', '')}")
        return command, env, "/ping"
    if name.startswith("bare"):
        mode = name.split("_", 1)[1]
        command = [sys.executable, __file__, "serve-bare", str(world.model_path), str(port), mode]
        return command, child_env(), "/ping"
    command = [
        sys.executable,
        "-c",
        STEWARD_SERVE,
        "--endpoint",
        "bench",
        "--port",
        str(port),
        "--poll-interval",
        "1.0",
    ]
    if name == "steward_nolog":
        command.append("--no-log-predictions")
    command.extend(extra)
    return command, child_env(STEWARD_HOME=str(world.home)), "/readyz"


@dataclass(frozen=True)
class Server:
    url: str
    start_s: float  # from launch to its first 200 on the readiness path
    pid: int


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, frontier = {pid}, [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        family.update(children)
        frontier = children
    return sum(times.get(member, 0.0) for member in family)


@contextmanager
def running(name: str, world: World, extra: tuple[str, ...] = ()) -> Iterator[Server]:
    """Start a server; yield it once it answers its readiness path."""
    port = free_port()
    command, env, ready_path = server_command(name, world, port, extra)
    log = (WORK / f"{name}.log").open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while not is_ready(url + ready_path):
            if process.poll() is not None or time.perf_counter() - started > START_TIMEOUT_S:
                raise RuntimeError(f"{name} did not start; see {log.name}")
            time.sleep(0.05)
        yield Server(url, time.perf_counter() - started, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Load:
    rps: float
    requests: int
    failed: int
    p50_ms: float | None
    p99_ms: float | None


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, script: Path, *, connections: int, duration_s: float) -> Load:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{math.ceil(duration_s)}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"{url}/invocations",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> Load:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    failed = 0
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        failed += int(non_2xx[1])
    if sockets := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        failed += sum(int(n) for n in sockets.groups())
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    return Load(rps, requests, failed, _ms(percentiles.get("50")), _ms(percentiles.get("99")))


def _ms(text: str | None) -> float | None:
    if text is None:
        return None
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def lua_script(body: str) -> Path:
    path = WORK / "invocations.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{body}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


# --------------------------------------------------------------------------- scenarios


def measure(world: World, names: tuple[str, ...], rounds: int, duration_s: float) -> dict[str, Any]:
    script = lua_script(world.body)
    results: dict[str, dict[str, list[Any]]] = {
        n: {"c16": [], "c1": [], "start_s": [], "cpu_us": []} for n in names
    }
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for name in names:
            servers[name] = server = stack.enter_context(running(name, world))
            results[name]["start_s"].append(server.start_s)
            check_answer(name, server.url, world.body)
            wrk(server.url, script, connections=4, duration_s=2)  # warm-up
        for round_index in range(rounds):
            for name in names:
                server = servers[name]
                cpu_before = tree_cpu_s(server.pid)
                c16 = wrk(server.url, script, connections=16, duration_s=duration_s)
                cpu = tree_cpu_s(server.pid) - cpu_before
                results[name]["c16"].append(c16)
                results[name]["cpu_us"].append(cpu / c16.requests * 1e6)
                c1 = wrk(server.url, script, connections=1, duration_s=duration_s)
                results[name]["c1"].append(c1)
            print(
                f"round {round_index + 1}/{rounds}: "
                + ", ".join(f"{n} {results[n]['c16'][-1].rps:.0f} req/s" for n in names),
                flush=True,
            )
    return {name: summarise(result) for name, result in results.items()}


def check_answer(name: str, url: str, body: str) -> None:
    """Every server must answer the benchmark's request correctly before it is timed."""
    request = urllib.request.Request(
        f"{url}/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    if list(answer) != ["predictions"] or len(answer["predictions"]) != 1:
        raise RuntimeError(f"{name} answered {answer!r} instead of one prediction")


def summarise(result: dict[str, list[Any]]) -> dict[str, Any]:
    c16, c1 = result["c16"], result["c1"]
    return {
        "c16_rps": statistics.median(load.rps for load in c16),
        "c16_rps_rounds": [round(load.rps, 1) for load in c16],
        "c16_p99_ms": statistics.median(load.p99_ms or 0.0 for load in c16),
        "c1_rps": statistics.median(load.rps for load in c1),
        "c1_p50_ms": statistics.median(load.p50_ms or 0.0 for load in c1),
        "c1_p99_ms": statistics.median(load.p99_ms or 0.0 for load in c1),
        "cpu_us_per_request": statistics.median(result["cpu_us"]),
        "failed": sum(load.failed for load in (*c16, *c1)),
        "start_s": result["start_s"][0],
    }


def logging_pairs(world: World, pairs: int, duration_s: float) -> dict[str, Any]:
    """The prediction log's cost, from back-to-back pairs of runs with and without it.

    Pairs cancel most of a shared machine's drift; the ratio is taken within each pair and
    the median over pairs is reported, in throughput and in server CPU per request.
    """
    script = lua_script(world.body)
    throughput, cpu = [], []
    shutil.rmtree(WORK / "pairs", ignore_errors=True)
    fresh = ("--predictions-dir", str(WORK / "pairs"))  # nothing left to compact at start
    with running("steward", world, fresh) as on, running("steward_nolog", world) as off:
        for server in (on, off):
            wrk(server.url, script, connections=4, duration_s=2)
        for index in range(pairs):
            measured = {}
            for server in (on, off) if index % 2 == 0 else (off, on):
                before = tree_cpu_s(server.pid)
                load = wrk(server.url, script, connections=16, duration_s=duration_s)
                measured[server.pid] = (load.rps, (tree_cpu_s(server.pid) - before) / load.requests)
            throughput.append(1 - measured[on.pid][0] / measured[off.pid][0])
            cpu.append(measured[on.pid][1] / measured[off.pid][1] - 1)
    return {
        "throughput_cost": statistics.median(throughput),
        "cpu_cost": statistics.median(cpu),
        "throughput_cost_pairs": [round(x, 3) for x in throughput],
        "cpu_cost_pairs": [round(x, 3) for x in cpu],
    }


def swaps_under_load(world: World, swaps: int, gap_s: float) -> dict[str, Any]:
    """Move the endpoint's alias `swaps` times while wrk drives concurrency 16."""
    script = lua_script(world.body)
    duration_s = swaps * gap_s + 3
    with running("steward", world) as server:
        url = server.url
        outcome: dict[str, Load] = {}
        load = threading.Thread(
            target=lambda: outcome.setdefault(
                "load", wrk(url, script, connections=16, duration_s=duration_s)
            )
        )
        load.start()
        time.sleep(1.0)
        for index in range(swaps):
            move_alias(world.home, 2 if index % 2 == 0 else 1)
            time.sleep(gap_s)
        load.join()
        per_version = served_versions(url)
    move_alias(world.home, 1)
    result = outcome["load"]
    return {
        "swaps": swaps,
        "requests": result.requests,
        "failed": result.failed,
        "rps": result.rps,
        "answered_by_version": per_version,
    }


def served_versions(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    pattern = (
        r'steward_serving_requests_total\{path="/invocations",route="primary",'
        r'status="200",version="([^"]+)"\} ([\d.e+]+)'
    )
    for version, count in re.findall(pattern, text):
        found[version] = float(count)
    return found


def start_up(world: World, repeats: int = 5) -> dict[str, float]:
    """Seconds from launching `steward serve --endpoint bench` to a 200 on /readyz (warm),
    and the CPU seconds the process used by then."""
    shutil.rmtree(WORK / "start-up", ignore_errors=True)
    times, cpu = [], []
    for index in range(repeats):
        # A fresh prediction log each time: compacting what earlier runs left is background
        # work, not start-up.
        fresh = ("--predictions-dir", str(WORK / "start-up" / str(index)))
        with running("steward", world, fresh) as server:
            times.append(server.start_s)
            cpu.append(tree_cpu_s(server.pid))
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "median_cpu_s": statistics.median(cpu),
    }


# --------------------------------------------------------------------------- report


def report(
    figures: dict[str, Any], swaps: dict[str, Any] | None, logging: dict[str, Any] | None
) -> dict[str, Any]:
    steward = figures.get("steward")
    mlflow = figures.get("mlflow")
    bare = max(
        (figures[n] for n in ("bare_pandas", "bare_numpy") if n in figures),
        key=lambda f: f["c16_rps"],
        default=None,
    )
    checks: dict[str, Any] = {}
    if steward and mlflow:
        checks["c16_vs_mlflow"] = steward["c16_rps"] / mlflow["c16_rps"]
    if steward and bare:
        checks["c16_vs_bare"] = steward["c16_rps"] / bare["c16_rps"]
    if steward:
        checks["c1_p50_ms"] = steward["c1_p50_ms"]
        checks["c1_p99_ms"] = steward["c1_p99_ms"]
    if logging is not None:
        checks["logging_cost"] = logging["throughput_cost"]
        checks["logging_cost_cpu"] = logging["cpu_cost"]
    print("\nserver          c16 req/s   c16 p99 ms   c1 p50 ms   c1 p99 ms   cpu us/req   failed")
    for name, f in figures.items():
        print(
            f"{name:<15} {f['c16_rps']:>9.0f} {f['c16_p99_ms']:>12.2f} {f['c1_p50_ms']:>11.2f}"
            f" {f['c1_p99_ms']:>11.2f} {f['cpu_us_per_request']:>12.0f} {f['failed']:>8}"
        )
    print()
    for key, value in checks.items():
        bar = BARS[key]
        is_met = value >= bar if key.startswith("c16") else value <= bar
        print(f"{key:<15} {value:>8.3f}   bar {bar:<6} {'met' if is_met else 'MISSED'}")
    if swaps is not None:
        print(f"swaps under load: {swaps}")
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=6, help="logging on/off run pairs")
    parser.add_argument("--swap-gap", type=float, default=1.5, help="seconds between swaps")
    parser.add_argument("--only", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")
    WORK.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    world = build_world()
    figures = measure(world, tuple(args.only), args.rounds, args.duration)
    swaps = swaps_under_load(world, args.swaps, args.swap_gap) if "steward" in args.only else None
    started = start_up(world) if "steward" in args.only else None
    both = {"steward", "steward_nolog"} <= set(args.only)
    logging = logging_pairs(world, args.pairs, args.duration) if both else None
    checks = report(figures, swaps, logging)
    print(f"logging pairs: {logging}")
    print(f"start-up (warm): {started}")
    machine = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()}
    print(f"machine: {machine}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "figures": figures,
                    "swaps": swaps,
                    "start_up": started,
                    "logging": logging,
                    "checks": checks,
                    "machine": machine,
                },
                indent=2,
            )
        )


# --------------------------------------------------------------------------- the bare peer


def serve_bare(model_path: str, port: str, mode: str) -> None:
    """A FastAPI app as a team would write it by hand around the same pickled model."""
    import warnings

    import numpy as np
    import pandas as pd
    import uvicorn

    model = pickle.loads(Path(model_path).read_bytes())
    names = [str(name) for name in model.feature_names_in_]
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    app = FastAPI()

    @app.post("/invocations")
    async def invocations(request: Request) -> dict[str, Any]:
        split = (await request.json())["dataframe_split"]
        if mode == "numpy":
            order = [split["columns"].index(name) for name in names]
            features: Any = np.asarray(split["data"], dtype=np.float64)[:, order]
        else:
            features = pd.DataFrame(split["data"], columns=split["columns"])
        return {"predictions": model.predict(features).tolist()}

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve-bare":
        serve_bare(*sys.argv[2:5])
    else:
        main()

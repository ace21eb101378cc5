#!/usr/bin/env python3
"""Runs one swf-bench workload against a single swfd node, a 3-node swfd cluster and moto_server, each
first at full speed (peak, closed loop) and then paced at half of that peak (latency under load), and
writes the results as a markdown table and a PNG plot into docs/benchmarks.md (between the bench markers)
and docs/bench/. Started by scripts/bench.sh, which builds the binaries and installs moto."""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60.0, ok=lambda code: code == 200):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if ok(r.status):
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Procs:
    """Processes started for one target; stopped (and their data removed) on exit."""

    def __init__(self):
        self.procs, self.dirs = [], []

    def start(self, args, log):
        self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        return self.procs[-1]

    def tempdir(self):
        d = tempfile.mkdtemp(prefix="swf-bench-")
        self.dirs.append(d)
        return d

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def start_swfd(procs, swfd, nodes, out):
    grpc = [free_port() for _ in range(nodes)]
    http = [free_port() for _ in range(nodes)]
    members = ",".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(grpc))
    for i in range(nodes):
        args = [swfd, "--node-id", str(i + 1), "--data-dir", procs.tempdir(),
                "--http-addr", f"127.0.0.1:{http[i]}", "--grpc-addr", f"127.0.0.1:{grpc[i]}"]
        if nodes > 1:
            args += ["--initial-members", members]
        procs.start(args, open(out / f"swfd-{nodes}n-{i + 1}.log", "w"))
    endpoints = [f"http://127.0.0.1:{p}" for p in http]
    for e in endpoints:
        wait_http(e + "/ready")
    return endpoints


def start_moto(procs, moto, out):
    port = free_port()
    procs.start([moto, "-H", "127.0.0.1", "-p", str(port)], open(out / "moto.log", "w"))
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(endpoint + "/moto-api/", ok=lambda c: c < 500)
    return [endpoint]


def bench(swf_bench, endpoints, label, report, args, rate=None):
    cmd = [swf_bench, "--endpoint", ",".join(endpoints), "--duration", str(args.duration),
           "--concurrency", str(args.concurrency), "--workload", args.workload,
           "--report", str(report), "--label", label, "--quiet"]
    if rate:
        cmd += ["--rate", f"{rate:.1f}"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(report.read_text())


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, r in results.items():
        t = [x["t"] for x in r["peak"]["timeline"]]
        a.plot(t, [x["workflows"] for x in r["peak"]["timeline"]], label=name)
        half = r.get("half")
        if half:
            b.plot([x["t"] for x in half["timeline"]], [x["p99_ms"] for x in half["timeline"]], label=name)
    a.set_title("Peak throughput (closed loop)")
    a.set_xlabel("seconds")
    a.set_ylabel("workflows / s")
    a.set_yscale("log")
    a.legend()
    b.set_title("p99 call latency at half of peak")
    b.set_xlabel("seconds")
    b.set_ylabel("ms")
    b.set_yscale("log")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(results):
    rows = ["| target | workflows/s (peak) | calls/s (peak) | p50 / p99 ms at peak | rate at half peak "
            "(wf/s) | p50 / p99 / p999 ms at half peak | errors |",
            "|---|---:|---:|---|---:|---|---:|"]
    for name, r in results.items():
        p, h = r["peak"], r.get("half") or {}
        hl = h.get("latency_ms", {})
        rows.append(
            f"| {name} | {p['workflows_per_sec']:.1f} | {p['calls_per_sec']:.0f} | "
            f"{p['latency_ms']['p50']:.2f} / {p['latency_ms']['p99']:.2f} | "
            f"{h.get('workflows_per_sec', 0):.1f} | "
            f"{hl.get('p50', 0):.2f} / {hl.get('p99', 0):.2f} / {hl.get('p999', 0):.2f} | "
            f"{p['errors'] + h.get('errors', 0)} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swfd", required=True)
    ap.add_argument("--swf-bench", required=True)
    ap.add_argument("--moto", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--moto-concurrency", type=int, default=4)
    ap.add_argument("--workload", default="simple")
    ap.add_argument("--skip-moto", action="store_true")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    targets = [("swfd, 1 node", 1), ("swfd, 3-node cluster", 3)]
    if not args.skip_moto:
        targets.append(("moto_server", 0))
    results = {}
    for name, nodes in targets:
        procs = Procs()
        try:
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            if nodes:
                endpoints = start_swfd(procs, args.swfd, nodes, out)
                run_args = args
            else:
                endpoints = start_moto(procs, args.moto, out)
                # moto serves one request at a time; more drivers only queue.
                run_args = argparse.Namespace(**{**vars(args), "concurrency": args.moto_concurrency})
            peak = bench(args.swf_bench, endpoints, name, out / f"{slug}-peak.json", run_args)
            half_rate = peak["workflows_per_sec"] / 2
            half = None
            if half_rate > 0:
                half = bench(args.swf_bench, endpoints, name, out / f"{slug}-half.json", run_args,
                             rate=half_rate)
            results[name] = {"peak": peak, "half": half}
        finally:
            procs.stop()

    md = [f"Run on {time.strftime('%Y-%m-%d')}: {machine()}. Workload `{args.workload}`, "
          f"{args.duration} s measured per run after a 2 s warm-up, {args.concurrency} closed-loop drivers "
          f"for swfd" + ("" if args.skip_moto else f", {args.moto_concurrency} for moto_server")
          + "; the half-peak run paces starts at half the peak rate with the same drivers. "
          "swf-bench runs on the same machine and shares its cores.", "", table(results), ""]
    if "moto_server" in results and results["moto_server"]["peak"]["workflows_per_sec"] > 0:
        ratio = results["swfd, 1 node"]["peak"]["workflows_per_sec"] / results["moto_server"]["peak"][
            "workflows_per_sec"]
        md.append(f"swfd on one node completes {ratio:.0f}× as many workflows per second as moto_server.")
        md.append("")
    docs_png = ROOT / "docs" / "bench" / f"{args.workload}.png"
    docs_png.parent.mkdir(parents=True, exist_ok=True)
    plot(results, out / f"{args.workload}.png")
    md.append(f"![throughput and latency](bench/{args.workload}.png)")
    text = "\n".join(md)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    if not args.no_docs:
        shutil.copy(out / f"{args.workload}.png", docs_png)
        doc = ROOT / "docs" / "benchmarks.md"
        body = doc.read_text()
        block = f"{BEGIN}\n{text}\n{END}"
        if BEGIN in body and END in body:
            body = body[: body.index(BEGIN)] + block + body[body.index(END) + len(END):]
        else:
            body = body.rstrip() + "\n\n## Side by side with moto_server (scripts/bench.sh)\n\n" + block + "\n"
        doc.write_text(body)


if __name__ == "__main__":
    sys.exit(main())

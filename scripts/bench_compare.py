#!/usr/bin/env python3
"""Runs swf-bench workloads against a single swfd node, a 3-node swfd cluster and moto_server, each
first at full speed (peak, closed loop) and then paced at half of that peak (latency under load), and
writes the results as a markdown table and a PNG plot into docs/benchmarks.md (between the bench markers)
and docs/bench/. Started by scripts/bench.sh, which builds the binaries and installs moto.

With --baseline-swfd a second swfd binary (an older build) is benched back to back with --swfd in the
same run, on one node and on the cluster, and the summary gives new / baseline and each one's ratio to
moto_server; --repeat runs every target again (alternating which binary goes first). Several workloads
(--workload simple,sfn) run on the same started targets, and the summary gives sfn / simple per target.
--idle-polls N measures one node's RSS while N idle long polls are held."""

import argparse
import functools
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


@functools.lru_cache(maxsize=None)
def has_admin_listener(swfd):
    """Whether this swfd build has the admin listener of its own (`--admin-addr`); older ones do not."""
    try:
        out = subprocess.run([swfd, "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "--admin-addr" in out


def start_swfd(procs, swfd, nodes, out):
    grpc = [free_port() for _ in range(nodes)]
    http = [free_port() for _ in range(nodes)]
    members = ",".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(grpc))
    for i in range(nodes):
        args = [swfd, "--node-id", str(i + 1), "--data-dir", procs.tempdir(),
                "--http-addr", f"127.0.0.1:{http[i]}", "--grpc-addr", f"127.0.0.1:{grpc[i]}"]
        if nodes > 1:
            args += ["--initial-members", members]
        if has_admin_listener(swfd):
            # Each node its own admin listener (the default port would collide on one machine).
            args += ["--admin-addr", f"127.0.0.1:{free_port()}"]
        procs.start(args, open(out / f"swfd-{nodes}n-{i + 1}.log", "w"))
    endpoints = [f"http://127.0.0.1:{p}" for p in http]
    for e in endpoints:
        wait_http(e + "/ready")
    return endpoints


def settle(secs=3.0):
    """Lets the disk settle after a target's data was removed: its dirty pages written back and the
    freed blocks discarded before the next target starts, which otherwise pays for them in its synced
    log appends (one build's 3-node peak spread by 9 % over two runs without this and by 1.4 % over
    three with it; docs/benchmarks.md, session 21)."""
    os.sync()
    time.sleep(secs)


def start_moto(procs, moto, out):
    port = free_port()
    procs.start([moto, "-H", "127.0.0.1", "-p", str(port)], open(out / "moto.log", "w"))
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(endpoint + "/moto-api/", ok=lambda c: c < 500)
    return [endpoint]


def cpu_secs(pids):
    """User + system CPU seconds the processes have used so far, from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def bench(swf_bench, endpoints, label, report, args, rate=None, pids=()):
    cmd = [swf_bench, "--endpoint", ",".join(endpoints), "--duration", str(args.duration),
           "--concurrency", str(args.concurrency), "--workload", args.workload,
           "--report", str(report), "--label", label, "--quiet"]
    if rate:
        cmd += ["--rate", f"{rate:.1f}"]
    print("+", " ".join(cmd), flush=True)
    cpu0 = cpu_secs(pids)
    subprocess.run(cmd, check=True)
    cpu = cpu_secs(pids) - cpu0
    result = json.loads(report.read_text())
    if pids and result["workflows_per_sec"] > 0:
        # The server's CPU over the whole run (warm-up and wind-down included) per workflow, estimated
        # with the measured rate over warm-up plus measurement: less machine-dependent than throughput
        # on a shared machine.
        done = result["workflows_per_sec"] * (args.duration + 2)
        result["server_cpu_ms_per_workflow"] = cpu * 1000 / done
    return result


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


def rss_mib(pid):
    """Resident set size of a process, MiB, from /proc (None once it is gone)."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def open_fds(pid):
    """How many files (sockets included) the process has open."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


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


def table(results, rounds=False):
    """One row per target (and per round when `rounds`); `results` maps a target to its list of runs."""
    unit = "completed/s"
    rows = [("| target | " + ("round | " if rounds else "")
             + f"{unit} (peak) | calls/s (peak) | p50 / p99 ms at peak | rate at half peak "
             "(per s) | p50 / p99 / p999 ms at half peak | errors | server CPU ms per completion (peak) |"),
            "|---|" + ("---:|" if rounds else "") + "---:|---:|---|---:|---|---:|---:|"]
    for name, runs in results.items():
        for i, r in enumerate(runs):
            p, h = r["peak"], r.get("half") or {}
            hl = h.get("latency_ms", {})
            rows.append(
                f"| {name} | " + (f"{i + 1} | " if rounds else "")
                + f"{p['workflows_per_sec']:.1f} | {p['calls_per_sec']:.0f} | "
                f"{p['latency_ms']['p50']:.2f} / {p['latency_ms']['p99']:.2f} | "
                f"{h.get('workflows_per_sec', 0):.1f} | "
                f"{hl.get('p50', 0):.2f} / {hl.get('p99', 0):.2f} / {hl.get('p999', 0):.2f} | "
                f"{p['errors'] + h.get('errors', 0)} | "
                + (f"{p['server_cpu_ms_per_workflow']:.2f} |" if "server_cpu_ms_per_workflow" in p else "– |"))
    return "\n".join(rows)


def mean_peak(runs):
    vals = [r["peak"]["workflows_per_sec"] for r in runs]
    return sum(vals) / len(vals), vals


def times(x):
    return f"{x:.1f}×" if x < 10 else f"{x:.0f}×"


def fmt_vals(vals):
    return ", ".join(f"{v:.1f}" for v in vals)


def comparisons(results, new, base, args):
    """Lines comparing the new swfd with the baseline (same run, back to back) and each with moto_server."""
    lines = []
    moto = results.get("moto_server")
    moto_mean = mean_peak(moto)[0] if moto else 0
    for shape in ("1 node", "3-node cluster"):
        n, b = results.get(f"{new}, {shape}"), results.get(f"{base}, {shape}")
        if not n or not b:
            continue
        (nm, nv), (bm, bv) = mean_peak(n), mean_peak(b)
        per_round = [x / y for x, y in zip(nv, bv) if y > 0]
        line = (f"- {shape}: {new} {nm:.1f}/s (runs {fmt_vals(nv)}), {base} {bm:.1f}/s (runs {fmt_vals(bv)}): "
                f"**{new} / {base} = {nm / bm:.2f}×**" if bm > 0 else f"- {shape}: {base} completed nothing")
        if len(per_round) > 1:
            line += f" (per round, back to back: {', '.join(f'{x:.2f}' for x in per_round)})"
        nc = [r["peak"].get("server_cpu_ms_per_workflow") for r in n]
        bc = [r["peak"].get("server_cpu_ms_per_workflow") for r in b]
        if all(nc) and all(bc):
            line += (f"; server CPU per workflow {sum(nc) / len(nc):.2f} ms against {sum(bc) / len(bc):.2f} ms"
                     f" ({new} / {base} = {(sum(nc) / len(nc)) / (sum(bc) / len(bc)):.2f}×)")
        if moto_mean > 0:
            line += (f"; to moto_server ({moto_mean:.1f}/s): {new} {times(nm / moto_mean)}, "
                     f"{base} {times(bm / moto_mean)}")
        lines.append(line + ".")
    return lines


def workload_ratios(by_workload, swfd_names, num, den):
    """Lines with `num` over `den` throughput on the same target (e.g. sfn executions vs simple workflows)."""
    lines = []
    for name in swfd_names:
        a, b = by_workload.get(num, {}).get(name), by_workload.get(den, {}).get(name)
        if not a or not b:
            continue
        (am, av), (bm, bv) = mean_peak(a), mean_peak(b)
        if bm <= 0:
            continue
        p99 = [(r.get("half") or {}).get("latency_ms", {}).get("p99", 0) for r in a]
        lines.append(f"- {name}: {num} {am:.1f}/s (runs {fmt_vals(av)}) against {den} {bm:.1f}/s "
                     f"(runs {fmt_vals(bv)}): **{num} / {den} = {am / bm:.2f}×**; {num} p99 at half of "
                     f"peak {', '.join(f'{x:.1f}' for x in p99)} ms.")
    return lines


def idle_polls(args, binaries, out):
    """RSS of one swfd node holding `args.idle_polls` idle long polls (swf-bench --workload idle-pollers):
    before the polls, and the largest sample while they are held (from /proc, every 0.5 s)."""
    rows = []
    runs = [(rnd, b) for rnd in range(args.repeat) for b in (binaries[::-1] if rnd % 2 else binaries)]
    for rnd, (label, swfd) in runs:
        procs = Procs()
        try:
            endpoints = start_swfd(procs, swfd, 1, out)
            pid = procs.procs[0].pid
            before = rss_mib(pid)
            slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
            report = out / f"{slug}-idle-{args.idle_polls}-r{rnd + 1}.json"
            cmd = [args.swf_bench, "--endpoint", endpoints[0], "--duration", str(args.idle_duration),
                   "--warmup", "5", "--concurrency", str(args.idle_polls), "--workload", "idle-pollers",
                   "--report", str(report), "--label", label, "--quiet"]
            print("+", " ".join(cmd), flush=True)
            bench_proc = subprocess.Popen(cmd)
            peak, fds = 0.0, 0
            while bench_proc.poll() is None:
                peak = max(peak, rss_mib(pid) or 0)
                fds = max(fds, open_fds(pid))
                time.sleep(0.5)
            if bench_proc.returncode != 0:
                raise RuntimeError(f"swf-bench idle-pollers exited with {bench_proc.returncode}")
            errors = json.loads(report.read_text())["errors"]
            per_poll = (peak - before) * 1024 / args.idle_polls
            name = f"{label}, round {rnd + 1}" if args.repeat > 1 else label
            rows.append(f"| {name} | {before:.1f} MiB | {peak:.1f} MiB | {per_poll:.1f} KiB | {fds:,} | {errors} |")
        finally:
            procs.stop()
    return ["| swfd (1 node) | RSS before | largest RSS with "
            f"{args.idle_polls:,} polls held | per poll | swfd's open files (largest) | poll errors |",
            "|---|---:|---:|---:|---:|---:|"] + rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swfd", required=True)
    ap.add_argument("--swf-bench", required=True)
    ap.add_argument("--moto", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--moto-concurrency", type=int, default=4)
    ap.add_argument("--workload", default="simple",
                    help="comma-separated workloads, each run on every target ('none': only --idle-polls); "
                         "moto_server is skipped for sfn")
    ap.add_argument("--skip-moto", action="store_true")
    ap.add_argument("--label", default="swfd", help="name of --swfd in the tables")
    ap.add_argument("--baseline-swfd", help="a second swfd binary, benched back to back with --swfd")
    ap.add_argument("--baseline-label", default="baseline")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds; each round runs every target again (new and baseline alternate first)")
    ap.add_argument("--no-half", action="store_true", help="skip the run paced at half of peak")
    ap.add_argument("--idle-polls", type=int, default=0,
                    help="also measure one node's RSS holding this many idle long polls")
    ap.add_argument("--idle-duration", type=int, default=10)
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workloads = [] if args.workload == "none" else [w for w in args.workload.split(",") if w]
    if args.baseline_swfd and args.baseline_label == args.label:
        ap.error("--baseline-label must differ from --label")

    binaries = [(args.label, args.swfd)]
    if args.baseline_swfd:
        binaries.append((args.baseline_label, args.baseline_swfd))
    swfd_names = [f"{label}, {shape}" for shape in ("1 node", "3-node cluster") for label, _ in binaries]
    by_workload = {w: {} for w in workloads}
    for rnd in range(args.repeat if workloads else 0):
        targets = []
        for nodes, shape in ((1, "1 node"), (3, "3-node cluster")):
            pair = [(f"{label}, {shape}", swfd, nodes) for label, swfd in binaries]
            # Alternate which binary goes first, so neither always gets the fresher machine.
            targets += pair[::-1] if rnd % 2 else pair
        if not args.skip_moto:
            targets.append(("moto_server", None, 0))
        for name, swfd, nodes in targets:
            run_workloads = [w for w in workloads if nodes or w != "sfn"]
            if not run_workloads:
                continue
            procs = Procs()
            try:
                slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
                if nodes:
                    endpoints = start_swfd(procs, swfd, nodes, out)
                    base_args = args
                else:
                    endpoints = start_moto(procs, args.moto, out)
                    # moto serves one request at a time; more drivers only queue.
                    base_args = argparse.Namespace(**{**vars(args), "concurrency": args.moto_concurrency})
                for w in run_workloads:
                    run_args = argparse.Namespace(**{**vars(base_args), "workload": w})
                    tag = f"{slug}-{w}-r{rnd + 1}"
                    pids = [pr.pid for pr in procs.procs]
                    peak = bench(args.swf_bench, endpoints, name, out / f"{tag}-peak.json", run_args,
                                 pids=pids)
                    half_rate = peak["workflows_per_sec"] / 2
                    half = None
                    if half_rate > 0 and not args.no_half:
                        half = bench(args.swf_bench, endpoints, name, out / f"{tag}-half.json", run_args,
                                     rate=half_rate, pids=pids)
                    by_workload[w].setdefault(name, []).append({"peak": peak, "half": half})
            finally:
                procs.stop()
                settle()

    conc = f"{args.concurrency} closed-loop drivers for swfd" + (
        "" if args.skip_moto else f", {args.moto_concurrency} for moto_server")
    md = [f"Run on {time.strftime('%Y-%m-%d')}: {machine()}. "]
    if workloads:
        md[0] += (f"Workload{'s' if len(workloads) > 1 else ''} {', '.join(f'`{w}`' for w in workloads)}, "
                  f"{args.duration} s measured per run after a 2 s warm-up, {conc}"
                  + ("" if args.no_half else
                     "; the half-peak run paces starts at half the peak rate with the same drivers")
                  + (f"; {args.repeat} rounds" if args.repeat > 1 else "")
                  + ". swf-bench runs on the same machine and shares its cores.")
    md.append("")
    rounds = args.repeat > 1
    for w in workloads:
        results = by_workload[w]
        if len(workloads) > 1:
            md += [f"Workload `{w}`:", ""]
        md += [table(results, rounds), ""]
        if args.baseline_swfd:
            md += comparisons(results, args.label, args.baseline_label, args) + [""]
        elif not rounds and "moto_server" in results and results["moto_server"][0]["peak"]["workflows_per_sec"] > 0:
            ratio = results[f"{args.label}, 1 node"][0]["peak"]["workflows_per_sec"] / \
                results["moto_server"][0]["peak"]["workflows_per_sec"]
            md += [f"swfd on one node completes {ratio:.0f}× as many workflows per second as moto_server.", ""]
    if "sfn" in by_workload and "simple" in by_workload:
        md += ["Step Functions executions against SWF workflows on the same binary and cluster:", ""]
        md += workload_ratios(by_workload, swfd_names, "sfn", "simple") + [""]
    if args.idle_polls:
        md += [f"Idle long polls: swf-bench --workload idle-pollers --concurrency {args.idle_polls}, "
               f"{args.idle_duration} s after a 5 s warm-up, RSS from /proc:", ""]
        md += idle_polls(args, binaries, out) + [""]
    pngs = []
    for w in workloads:
        first = {name: runs[0] for name, runs in by_workload[w].items()}
        if first:
            plot(first, out / f"{w}.png")
            pngs.append(w)
            md.append(f"![throughput and latency, {w}](bench/{w}.png)")
    text = "\n".join(md)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    if not args.no_docs:
        for w in pngs:
            docs_png = ROOT / "docs" / "bench" / f"{w}.png"
            docs_png.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(out / f"{w}.png", docs_png)
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

#!/usr/bin/env python3
"""Times whole processes side by side: alternating runs, medians, peak RSS.

    benchkit.py compare NAME --runs N --env K=V... -- CMD_A ::: CMD_B [::: CMD_C]

Each command is a shell-free argv (words split on spaces; use
--cmd-file for anything fancier). Prints one Markdown table row per command
with the median wall time, the ratio to the first command, and the peak RSS,
and appends the rows to $BENCH_OUT when set.
"""
import os
import resource
import statistics
import subprocess
import sys
import time


def run_once(argv, env, stdin_bytes):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if stdin_bytes is not None:
        proc.stdin.write(stdin_bytes)
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"benchkit: {' '.join(argv)} exited {code}: {err.decode(errors='replace').strip()}")
    return elapsed, usage.ru_maxrss  # KiB on Linux


def peak_rss_kib(argv, env, stdin_bytes):
    """Peak RSS through /usr/bin/time: a child of this Python process would
    inherit Python's own high-water mark across exec (Linux keeps maxrss)."""
    import tempfile
    with tempfile.NamedTemporaryFile("r") as out:
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], env=env, input=stdin_bytes,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=None if stdin_bytes is not None else subprocess.DEVNULL)
        if proc.returncode != 0:
            sys.exit(f"benchkit: {' '.join(argv)} exited {proc.returncode} under /usr/bin/time")
        return int(out.read().strip().splitlines()[-1])


def compare(name, commands, runs, env, stdin_bytes, warmup=3):
    for argv in commands:
        for _ in range(warmup):
            run_once(argv, env, stdin_bytes)
    times = [[] for _ in commands]
    rss = [0 for _ in commands]
    for _ in range(runs):
        for i, argv in enumerate(commands):  # alternate so drift hits all alike
            t, r = run_once(argv, env, stdin_bytes)
            times[i].append(t)
            rss[i] = max(rss[i], r)
    medians = [statistics.median(t) for t in times]
    rss = [max(peak_rss_kib(argv, env, stdin_bytes) for _ in range(3)) for argv in commands]
    rows = []
    for i, argv in enumerate(commands):
        label = os.path.basename(argv[0]) + " " + " ".join(argv[1:3])
        ratio = medians[i] / medians[0] if medians[0] else float("nan")
        rows.append(f"| {name} | `{label.strip()}` | {medians[i] * 1000:.2f} ms | {ratio:.3f} | {rss[i] / 1024:.1f} MiB |")
    return medians, rss, rows


def main():
    args = sys.argv[1:]
    if not args or args[0] != "compare":
        sys.exit(__doc__)
    name = args[1]
    runs = 30
    env = dict(os.environ)
    stdin_bytes = None
    i = 2
    while args[i] != "--":
        if args[i] == "--runs":
            runs = int(args[i + 1]); i += 2
        elif args[i] == "--env":
            k, v = args[i + 1].split("=", 1); env[k] = v; i += 2
        elif args[i] == "--stdin-file":
            stdin_bytes = open(args[i + 1], "rb").read(); i += 2
        else:
            sys.exit(f"benchkit: unknown option {args[i]}")
    rest = args[i + 1:]
    commands, current = [], []
    for word in rest:
        if word == ":::":
            commands.append(current); current = []
        else:
            current.append(word)
    commands.append(current)
    medians, rss, rows = compare(name, commands, runs, env, stdin_bytes)
    out = "\n".join(rows)
    print(out)
    if os.environ.get("BENCH_OUT"):
        with open(os.environ["BENCH_OUT"], "a") as f:
            f.write(out + "\n")


if __name__ == "__main__":
    main()

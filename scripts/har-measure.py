#!/usr/bin/env python3
"""Measures `restore-delta check --har` on a large capture of unrelated entries: wall time and
peak RSS, beside the file size and beside Python's json.load of the same file (a reader that holds
the whole document), measured in the same run, interleaved.

Usage: python3 scripts/har-measure.py [ENTRIES [BYTES_PER_BODY [RUNS]]]   (default 20000 10000 3)
Builds the release CLI first (cargo build --release -p restore-delta-cli). The capture holds one
restore-session PATCH (the OneDrive example, answered by the crate itself) in its middle.
Needs GNU time at /usr/bin/time. Prints one JSON object; no bound is asserted.
"""
import json, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measured(argv):
    """Exit status, wall seconds and peak RSS (bytes) of argv, from GNU time (`/usr/bin/time
    -f`), which reads the child's own rusage: a Python wrapper's would count the memory of the
    forked interpreter before exec."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return p.returncode, wall, rss_kb * 1024


def main():
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    body = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "restore-delta-cli"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "restore-delta")
    state = os.path.join(ROOT, "examples", "onedrive.state.json")
    request = os.path.join(ROOT, "examples", "onedrive.request.json")
    applied = json.loads(subprocess.run(
        [exe, "apply", "--state", state, "--request", request, "--now", "2026-11-28T12:00:00Z", "--seed", "7"],
        capture_output=True, check=True).stdout)
    with open(request) as f:
        sent = f.read()
    session = applied["state"]["id"]
    patch = {
        "request": {"method": "PATCH", "headers": [], "postData": {"text": sent},
                    "url": f"https://graph.microsoft.com/v1.0/solutions/backupRestore/oneDriveForBusinessRestoreSessions/{session}"},
        "response": {"status": applied["response"]["status"], "headers": [],
                     "content": {"text": json.dumps(applied["response"]["body"])}},
    }
    filler = "y" * body
    with tempfile.TemporaryDirectory() as tmp:
        har = os.path.join(tmp, "big.har")
        with open(har, "w") as f:
            f.write('{"log":{"version":"1.2","creator":{"name":"har-measure","version":"1"},"entries":[')
            for i in range(entries):
                if i:
                    f.write(",")
                if i == entries // 2:
                    f.write(json.dumps(patch) + ",")
                f.write(json.dumps({
                    "startedDateTime": "2026-11-28T12:00:00Z", "time": 1,
                    "request": {"method": "GET", "url": f"https://example.com/{i}", "headers": [{"name": "Accept", "value": "*/*"}]},
                    "response": {"status": 200, "headers": [], "content": {"size": body, "mimeType": "text/plain", "text": filler}},
                }))
            f.write("]}}")
        size = os.path.getsize(har)
        check, load = [], []
        for _ in range(runs):
            code, wall, rss = measured([exe, "check", "--har", har, "--state", state])
            if code != 0:
                sys.exit(f"check exited {code}")
            check.append((wall, rss))
            code, wall, rss = measured([sys.executable, "-c", f"import json; json.load(open({har!r}))"])
            load.append((wall, rss))
        med = lambda xs: sorted(xs)[len(xs) // 2]
        c_wall, c_rss = med([w for w, _ in check]), med([r for _, r in check])
        l_wall, l_rss = med([w for w, _ in load]), med([r for _, r in load])
        print(json.dumps({
            "entries": entries + 1, "file_bytes": size, "runs": runs,
            "check_seconds": round(c_wall, 3), "check_peak_rss_bytes": c_rss,
            "check_rss_per_file_byte": round(c_rss / size, 4),
            "json_load_seconds": round(l_wall, 3), "json_load_peak_rss_bytes": l_rss,
            "check_time_over_json_load": round(c_wall / l_wall, 2),
            "check_rss_over_json_load": round(c_rss / l_rss, 4),
        }, indent=1))


if __name__ == "__main__":
    main()

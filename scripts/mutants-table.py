#!/usr/bin/env python3
"""The table of a cargo-mutants run made in parts (shards or file-filtered runs) on one commit.

    python3 scripts/mutants-table.py --list all.txt OUT_DIR...

`all.txt` is `cargo mutants --list` at the commit the parts ran on (the configuration's
exclusions applied); each OUT_DIR is a part's `-o` directory (the one holding `mutants.out`).
The script checks that the parts together tested every listed mutant exactly once, none that
is not listed, then prints the table (caught / missed / timeout / unviable, caught of viable
with and without timeouts counted as caught), the wall time of each part, and the missed and
timed-out mutants by name. Exit 1 when a mutant is missing, repeated or unknown, or a part did
not finish (no end time in its outcomes).

A part cut off before its end (the machine's session ended) is named with `--cut DIR`: each
outcome it recorded is a mutant that was built and tested to its end (cargo-mutants writes an
outcome when its mutant is done), so those count; the rest of that part is run as its own part
(`--re` with the rest's names, `-f` with their files so that struct-field mutants, which `--re`
does not filter, stay out), and the exactly-once check above holds over both. The one
exception: struct-field mutants of the rest's own files that the cut part already tested
cannot be left out of the rest, and `scripts/mutants-rest.py` lists them in the rest's
`again.txt`; each counts once, with the cut part's outcome, and the script fails if the
second outcome differs.

The `-o` directories live outside the repository, and a machine can be replaced between
working sessions, so each part's outcomes are kept in the repository too: `--record DIR`
writes, for each part read from its `-o` directory, `DIR/NAME.tsv` (NAME the directory's own
name) with the part's time and every outcome it counts, one `OUTCOME<TAB>MUTANT` line each
(about 100 bytes a mutant). A `.tsv` record named in place of a part's directory counts as that
part, so the table of a run whose parts ran on several machines is made from the committed
records. A record holds what was counted (a rest's mutants tested again are left out of it,
once compared), so it is named as a part, never with `--cut`.
"""

import argparse
import json
import pathlib
import sys
from collections import Counter
from datetime import datetime

SUMMARY = {
    "CaughtMutant": "caught",
    "MissedMutant": "missed",
    "Timeout": "timeout",
    "Unviable": "unviable",
}


# How a part cut off before its end is named, in the output and in its record's `# part` line.
CUT = " (cut off, to its last outcome)"


def when(text):
    # cargo-mutants writes RFC 3339 with nanoseconds; keep microseconds for fromisoformat.
    head, _, tail = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "." + (tail + "000000")[:6] + "+00:00")


def read_part(part, cut, seen, outcome, problems):
    """A part's -o directory: (seconds, version, [(name, outcome)], tested again, how)."""
    path = pathlib.Path(part) / "mutants.out" / "outcomes.json"
    data = json.loads(path.read_text())
    if cut:
        if data.get("end_time"):
            problems.append(f"{part}: named with --cut but it finished")
            return None, None, [], 0, ""
        # No end time: the part ran until its outcomes were last written.
        end = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        secs = (end - when(data["start_time"])).total_seconds()
    elif not data.get("end_time"):
        problems.append(f"{part}: the run did not finish (no end time)")
        return None, None, [], 0, ""
    else:
        secs = (when(data["end_time"]) - when(data["start_time"])).total_seconds()
    again_file = pathlib.Path(part) / "again.txt"
    again = set(again_file.read_text().splitlines()) if again_file.exists() else set()
    counted = []
    again_tested = 0
    for o in data["outcomes"]:
        scenario = o["scenario"]
        if not isinstance(scenario, dict) or "Mutant" not in scenario:
            if o["summary"] != "Success":
                problems.append(f"{part}: the baseline did not pass ({o['summary']})")
            continue
        name = scenario["Mutant"]["name"]
        result = SUMMARY.get(o["summary"], o["summary"])
        if name in again and seen[name] == 1:
            # Tested before, in the cut part: the first outcome counts, the two must agree.
            if result != outcome[name]:
                problems.append(f"{part}: {name}: {result} again, {outcome[name]} before")
            again_tested += 1
            continue
        counted.append((name, result))
    how = CUT if cut else ""
    return secs, data["cargo_mutants_version"], counted, again_tested, how


def write_record(directory, name, secs, version, how, counted):
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# part {name}{how}",
        f"# seconds {secs:.1f}",
        f"# cargo-mutants {version}",
    ]
    lines += [f"{result}\t{name}" for name, result in counted]
    (out / (name + ".tsv")).write_text("\n".join(lines) + "\n")


def read_record(part, problems):
    """A record written by --record: (seconds, version, [(name, outcome)], 0, how)."""
    secs, version, how, counted = None, "?", "", []
    for n, line in enumerate(pathlib.Path(part).read_text().splitlines(), 1):
        if line.startswith("# seconds "):
            secs = float(line.split()[2])
        elif line.startswith("# cargo-mutants "):
            version = line.split()[2]
        elif line.startswith("# part ") and line.endswith(CUT):
            how = CUT
        elif line.startswith("#"):
            continue
        else:
            result, tab, name = line.partition("\t")
            if not tab or result not in SUMMARY.values():
                problems.append(f"{part}:{n}: not OUTCOME<TAB>MUTANT: {line!r}")
                continue
            counted.append((name, result))
    if secs is None:
        problems.append(f"{part}: no '# seconds' line")
        secs = 0.0
    return secs, version, counted, 0, how


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", required=True, help="`cargo mutants --list` at the commit")
    parser.add_argument("parts", nargs="*", help="each part's -o directory")
    parser.add_argument(
        "--cut",
        action="append",
        default=[],
        help="a part cut off before its end: its recorded outcomes count (repeatable)",
    )
    parser.add_argument(
        "--record",
        metavar="DIR",
        help="write each part's counted outcomes to DIR/NAME.tsv, to be committed",
    )
    args = parser.parse_args()
    if not args.parts and not args.cut:
        parser.error("no part named")

    listed = pathlib.Path(args.list).read_text().splitlines()
    if len(set(listed)) != len(listed):
        sys.exit("the list names a mutant twice: names must be unique to check coverage")
    seen = Counter()
    outcome = {}
    problems = []
    total_secs = 0.0
    recorded = {}
    for part in args.cut + args.parts:
        if part.endswith(".tsv"):
            if part in args.cut:
                problems.append(f"{part}: a record is named as a part, never with --cut")
                continue
            secs, version, counted, again_tested, how = read_record(part, problems)
        else:
            secs, version, counted, again_tested, how = read_part(
                part, part in args.cut, seen, outcome, problems
            )
            if secs is None:
                continue
            if args.record:
                name = pathlib.Path(part).name
                if name in recorded:
                    problems.append(f"{part}: a record {name}.tsv was written for {recorded[name]}")
                else:
                    recorded[name] = part
                    write_record(args.record, name, secs, version, how, counted)
        total_secs += secs
        for name, result in counted:
            seen[name] += 1
            outcome[name] = result
        print(
            f"{part}: {len(counted)} mutants, {secs / 60:.1f} min{how}, {version}"
            + (f", and {again_tested} tested again (again.txt)" if again_tested else "")
        )

    listed_set = set(listed)
    for name in listed:
        if seen[name] == 0:
            problems.append(f"not tested: {name}")
        elif seen[name] > 1:
            problems.append(f"tested {seen[name]} times: {name}")
    for name in seen:
        if name not in listed_set:
            problems.append(f"tested but not listed: {name}")

    counts = Counter(outcome[n] for n in listed if n in outcome)
    viable = counts["caught"] + counts["missed"] + counts["timeout"]
    print()
    print("| mutants | caught | missed | timeouts | unviable | caught of viable |")
    print("|---:|---:|---:|---:|---:|---|")
    if viable:
        share = 100 * counts["caught"] / viable
        with_timeouts = 100 * (counts["caught"] + counts["timeout"]) / viable
        print(
            f"| {len(listed):,} | {counts['caught']:,} | {counts['missed']:,} | "
            f"{counts['timeout']:,} | {counts['unviable']:,} | **{share:.1f} %** of {viable:,} "
            f"({with_timeouts:.1f} % counting timeouts as caught) |"
        )
    print(f"\nwall time, the parts one after another: {total_secs / 3600:.2f} h")
    for kind in ("missed", "timeout"):
        names = [n for n in listed if outcome.get(n) == kind]
        print(f"\n{kind} ({len(names)}):")
        for n in names:
            print("  " + n)
    other = {v for v in outcome.values() if v not in SUMMARY.values()}
    if other:
        problems.append(f"outcomes this script does not know: {sorted(other)}")
    for p in problems:
        print("PROBLEM: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The rest of a cargo-mutants part cut off before its end, as a run of its own.

    python3 scripts/mutants-rest.py --shard K/N CUT_DIR REST_DIR

Run in the source tree the part ran on (the same commit). CUT_DIR is the cut-off part's `-o`
directory; the script lists the part's mutants (`cargo mutants --list --shard K/N`), takes out
those the cut part recorded an outcome for, and writes `REST_DIR/rest.re`, one anchored
regular expression naming the rest (inside REST_DIR, so that a glob over the parts' directories
does not take it for a part; cargo-mutants leaves it there). It then lists what
`cargo mutants --list --re … -f …` selects with it and the rest's files and fails unless that
is the rest, name for name: `--re` does not filter struct-field mutants, the `-f` files keep
other files' out, and this check catches any that would slip in. The one slip it lets through
is a struct-field mutant of the rest's own files that the cut part already tested: `-f`
cannot leave it out, so it is tested again, and its name goes to `REST_DIR/again.txt` for
`scripts/mutants-table.py` to count once (the cut's outcome) and compare. Last it prints the
command that runs the rest into REST_DIR; `scripts/mutants-table.py --cut CUT_DIR … REST_DIR`
then counts both.
"""

import argparse
import json
import pathlib
import re
import shlex
import subprocess
import sys

# The characters regex-syntax takes as meta characters; every other character stands for
# itself unescaped (`\<` and `\>` are word boundaries there, so escaping more is wrong).
META = set("\\.+*?()|[]{}^$#&-~")

# cargo-mutants' name for a struct-field mutant, which `--re` and `--exclude-re` do not filter.
STRUCT_FIELD = re.compile(r": delete field \S+ from struct .* expression in ")


def escape(name):
    return "".join("\\" + c if c in META else c for c in name)


def listing(*args):
    out = subprocess.run(
        ["cargo", "mutants", "--list", *args], check=True, capture_output=True, text=True
    ).stdout
    return out.splitlines()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard", required=True, help="the cut part's K/N")
    parser.add_argument("cut", help="the cut-off part's -o directory")
    parser.add_argument("rest", help="the -o directory the rest will run into")
    args = parser.parse_args()

    data = json.loads((pathlib.Path(args.cut) / "mutants.out" / "outcomes.json").read_text())
    if data.get("end_time"):
        sys.exit(f"{args.cut} finished: there is no rest to run")
    done = {
        o["scenario"]["Mutant"]["name"]
        for o in data["outcomes"]
        if isinstance(o["scenario"], dict) and "Mutant" in o["scenario"]
    }
    part = listing("--shard", args.shard)
    unknown = done - set(part)
    if unknown:
        sys.exit(f"the cut part recorded {len(unknown)} mutants not in shard {args.shard}")
    rest = [n for n in part if n not in done]
    if not rest:
        sys.exit("every mutant of the part has an outcome: name it as a finished part")
    files = sorted({n.split(":", 1)[0] for n in rest})
    regex = "^(" + "|".join(escape(n) for n in rest) + ")$"
    file_args = [a for f in files for a in ("-f", f)]
    selected = listing("--re", regex, *file_args)
    rest_set, selected_set = set(rest), set(selected)
    extra = [n for n in selected if n not in rest_set]
    lost = [n for n in rest if n not in selected_set]
    # What `--re` cannot leave out: struct-field mutants of the rest's files that the cut part
    # already tested. They run again; the table counts the cut's outcome and compares the two.
    again = [n for n in extra if n in done and STRUCT_FIELD.search(n)]
    strays = [n for n in extra if n not in again]
    for n in strays:
        print("selected but not in the rest: " + n, file=sys.stderr)
    for n in lost:
        print("in the rest but not selected: " + n, file=sys.stderr)
    if lost or strays or len(selected) != len(selected_set):
        sys.exit("the selection is not the rest")
    rest_dir = pathlib.Path(args.rest)
    rest_dir.mkdir(parents=True, exist_ok=True)
    regex_file = rest_dir / "rest.re"
    regex_file.write_text(regex)
    (rest_dir / "again.txt").write_text("".join(n + "\n" for n in again))
    again_said = f"; {len(again)} struct-field mutants tested again (again.txt)" if again else ""
    said = f"{len(done)} recorded, {len(rest)} left, in {len(files)} files; selection checked"
    print(said + again_said)
    command = ["nice", "cargo", "mutants", "--jobs", "2", "--timeout", "20"]
    command += ["--re", f"\"$(cat {regex_file})\"", *file_args, "-o", args.rest]
    print(" ".join(c if c.startswith("\"$(") else shlex.quote(c) for c in command))


if __name__ == "__main__":
    main()

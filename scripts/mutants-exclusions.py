#!/usr/bin/env python3
"""Checks that `.cargo/mutants.toml` excludes exactly the mutants it excluded when it was
reviewed: the names `cargo mutants --list` leaves out, compared with the committed
`.cargo/mutants-excluded.txt`. Run it before every mutation run (docs/TESTING.md, "Mutation
testing"), so that a refactor cannot silently widen an exclusion: a function renamed or split,
an operator added to a function whose operator is excluded, a pattern that no longer matches.

Usage:
  python3 scripts/mutants-exclusions.py           # compare; exit 1 on any difference
  python3 scripts/mutants-exclusions.py --write   # write the list again (review the diff!)

Needs cargo-mutants (`cargo install cargo-mutants --locked`); `--list` reads the source only
(no build), about two seconds. Names are compared without their line and column (edits above a
mutant move it) but with their count (a second `==` in a function whose `==` is excluded is a
new exclusion). Each pattern of `exclude_re` must match at least one mutant: a pattern that
matches none is stale and reported. The files of `exclude_globs` are left out on both sides.
"""
import collections, os, re, subprocess, sys, tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, ".cargo", "mutants.toml")
LIST = os.path.join(ROOT, ".cargo", "mutants-excluded.txt")
POSITION = re.compile(r"^([^:]+):\d+:\d+: ")


def listed(*args):
    r = subprocess.run(["cargo", "mutants", "--list", *args], cwd=ROOT, capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"cargo mutants --list {' '.join(args)} failed:\n{r.stderr}")
    return [line for line in r.stdout.splitlines() if line.strip()]


def unplaced(name):
    """The name without its line and column: `src/f.rs: replace == with != in g`."""
    return POSITION.sub(r"\1: ", name)


def main():
    config = tomllib.load(open(CONFIG, "rb"))
    globs = [a for g in config.get("exclude_globs", []) for a in ("--exclude", g)]
    everything = listed("--no-config", *globs)
    included = collections.Counter(listed())
    excluded = []
    for name in everything:
        if included[name] > 0:
            included[name] -= 1
        else:
            excluded.append(name)
    stale = [p for p in config.get("exclude_re", [])
             if not any(re.search(p, name) for name in excluded)]
    now = sorted(unplaced(n) for n in excluded)
    text = "".join(f"{n}\n" for n in now)
    if "--write" in sys.argv[1:]:
        with open(LIST, "w") as f:
            f.write(text)
        print(f"wrote {len(now)} excluded mutants to {os.path.relpath(LIST, ROOT)}")
    committed = open(LIST).read().splitlines() if os.path.exists(LIST) else []
    gone = collections.Counter(committed) - collections.Counter(now)
    new = collections.Counter(now) - collections.Counter(committed)
    for name in sorted(new.elements()):
        print(f"newly excluded: {name}")
    for name in sorted(gone.elements()):
        print(f"no longer excluded: {name}")
    for pattern in stale:
        print(f"pattern matches no mutant: {pattern}")
    print(f"{len(now)} mutants excluded of {len(everything)} "
          f"(outside {', '.join(config.get('exclude_globs', [])) or 'no glob'}); "
          f"{sum(new.values()) + sum(gone.values()) + len(stale)} differences from "
          f"{os.path.relpath(LIST, ROOT)}")
    return 1 if new or gone or stale else 0


if __name__ == "__main__":
    sys.exit(main())

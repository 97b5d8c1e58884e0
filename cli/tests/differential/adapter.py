#!/usr/bin/env python3
"""An implementation under test for `restore-delta differential`, speaking its protocol: one
case on stdin (the inputs of a vector), the answer on stdout.

It answers with `restore-delta apply` (the binary named by $RESTORE_DELTA), so it agrees with
the reference, unless $FLIP is set: FLIP=item-failure makes it deliberately wrong, answering
207 instead of 200 whenever an item failed.
"""
import json
import os
import subprocess
import sys
import tempfile

case = json.load(sys.stdin)
body = (
    bytes.fromhex(case["request_hex"])
    if "request_hex" in case
    else case["request"].encode("utf-8", "surrogatepass")
)
with tempfile.TemporaryDirectory() as tmp:
    state_path = os.path.join(tmp, "state.json")
    body_path = os.path.join(tmp, "body.bin")
    with open(state_path, "w") as f:
        json.dump(case["state"], f)
    with open(body_path, "wb") as f:
        f.write(body)
    args = [os.environ["RESTORE_DELTA"], "apply", "--state", state_path,
            "--request", body_path, "--now", case["now"], "--seed", str(case["seed"])]
    options = case.get("options", {})
    if "prefer" in options:
        args += ["--prefer", options["prefer"]]
    for name in ["max_items", "max_bytes", "max_depth", "missing_removal"]:
        if name in options:
            args += ["--" + name.replace("_", "-"), str(options[name])]
    if "actor" in options:
        actor_path = os.path.join(tmp, "actor.json")
        with open(actor_path, "w") as f:
            json.dump(options["actor"], f)
        args += ["--actor", actor_path]
    run = subprocess.run(args, capture_output=True)

if run.returncode == 2:
    print(json.dumps({"state_error": True}))
    sys.exit(0)
out = json.loads(run.stdout)
answer = {
    "status": out["response"]["status"],
    "body": out["response"]["body"],
    "preference_applied": out["response"]["preferenceApplied"],
    "state": out["state"],
}
if os.environ.get("FLIP") == "item-failure" and answer["status"] == 200:
    entries = [e for name, v in answer["body"].items() if name.endswith("@delta") for e in v]
    if any("@Core.DataModificationException" in e for e in entries):
        answer["status"] = 207
print(json.dumps(answer))

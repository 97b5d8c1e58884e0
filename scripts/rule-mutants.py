#!/usr/bin/env python3
"""Breaks one rule of docs/SEMANTICS.md at a time in a scratch copy of the engine and checks
that the test suite notices (a test fails). Evidence for "every rule has a test that breaks when
the rule is broken"; too slow for CI (one rebuild per mutant).

Usage: python3 scripts/rule-mutants.py [--quick] [RULE_ID ...]
Works in a git worktree of HEAD under $TMPDIR with its own target dir (or $RULE_MUTANTS_TARGET_DIR,
to reuse the dependencies already built there); the checkout is untouched.
--quick runs the core package's tests only (`cargo test -p restore-delta`, where every rule's
tests are) and stops at the first test binary that fails: a mutant caught by a test of the CLI
or the server only is reported as surviving, so the verdicts are never kinder, and a caught
mutant costs a fraction of the time; the tests named are those of that first binary. Both
modes build with the `mutants` profile (opt-level 1), as cargo-mutants does.
Exit status 1 if a mutant survives or no longer applies.
"""
import os, subprocess, sys, tempfile, time

# (rule, file, exact text, replacement): each removes or bends one rule.
MUTANTS = [
    ("S2", "src/model/kinds.rs", "given.eq_ignore_ascii_case(bare)", "given == bare"),
    ("S3", "src/model/collection.rs", "if self.find_id(l.id_hash, id).is_some() {", "if false {"),
    ("S3", "src/json/mod.rs", "if inline.contains(&name.as_ref()) || self.more.contains(&name) {", "if false {"),
    ("S4", "src/model/session.rs", "        self.members.push((name, Member::Raw(raw)));", "        if name.starts_with('@') || [\"id\", \"status\", \"restoreJobType\"].contains(&name.as_str()) { self.members.push((name, Member::Raw(raw))); }"),
    ("S5", "src/model/session.rs", "status: self.status.unwrap_or(SessionStatus::Draft),", "status: self.status.unwrap_or(SessionStatus::Active),"),
    ("E1", "src/engine/request.rs", "if body.len() > options.max_bytes {", "if body.len() > options.max_bytes.saturating_mul(2) {"),
    ("E2", "src/json/borrowed.rs", "if depth > self.max_depth {", "if depth > self.max_depth + 1 {"),
    ("E2", "src/json/borrowed.rs", "                members.iter().any(|(n, _)| {\n                    #[cfg(test)]\n                    compared::count();\n                    *n == name\n                })", "                false"),
    ("E2", "src/json/borrowed.rs", "                !many.insert(name.clone())", "                { many.insert(name.clone()); false }"),
    ("E3", "src/engine/request.rs", "if session.status() != &SessionStatus::Draft {", "if session.status() == &SessionStatus::Active {"),
    ("E3", "src/engine/request.rs", "    if session.is_bulk() {", "    if false {"),
    ("E3", "src/model/session.rs", "self.bulk_requests || self.job_type == RestoreJobType::Bulk", "self.bulk_requests"),
    ("E3", "src/model/session.rs", "self.bulk_requests || self.job_type == RestoreJobType::Bulk", "self.job_type == RestoreJobType::Bulk"),
    ("E3", "src/model/session.rs", "let array = text.starts_with('[').then_some(text != \"[]\");", "let array = text.starts_with('[').then_some(true);"),
    ("E3", "src/model/session.rs", "            if of == kind {\n                bulk_requests", "            if of == kind || of != kind {\n                bulk_requests"),
    ("E3", "src/model/session.rs", "bulk_requests = array\n                    .ok_or_else(|| invalid(kind.bulk_addition_requests(), \"is not an array\"))?;", "bulk_requests = array.unwrap_or(false);"),
    ("E3", "src/model/session.rs", "let array = text.starts_with('[').then_some(text != \"[]\");", "let array = (text.starts_with('[') || text == \"null\").then_some(text.starts_with('[') && text != \"[]\");"),
    ("E4", "src/engine/request.rs", "_ => Err(malformed(\n            RuleId::E4,\n            format_args!(\"`{name}` can't be set by this request.\"),\n        )),", "_ => Ok(()),"),
    ("E4", "src/engine/request.rs", "Json::String(id) if id == session.id() => Ok(()),", "Json::String(_) => Ok(()),"),
    ("E4", "src/engine/request.rs", "    if name.ends_with(\"@delta\") {", "    if false {"),
    ("E5", "src/engine/request.rs", "[one] => Some(*one),\n        _ => {", "[one, ..] => Some(*one),\n        #[allow(unreachable_patterns)] _ => {"),
    ("E6", "src/engine/request.rs", "Some(Json::Array(items)) if !items.is_empty() => items,", "Some(Json::Array(items)) => items,"),
    ("E7", "src/engine/request.rs", "if items.len() > options.max_items {", "if items.len() > options.max_items + 1 {"),
    ("E8", "src/engine/request.rs", "            Json::Object(m) => objects.push(m),", "            Json::Object(m) => objects.push(m),\n            _ if objects.len() < usize::MAX => {}"),
    ("E9", "src/engine/request.rs", "if session.artifact_count(other) > 0 {", "if false {"),
    ("E9", "src/engine/commit.rs", "if was_empty && plan.added_any() {", "if false {"),
    ("X1", "src/engine/decide.rs", "Some(Json::String(r)) if r == \"deleted\" => Some(\"deleted\"),", "Some(Json::String(_)) => Some(\"deleted\"),"),
    ("X1", "src/engine/decide.rs", "        Json::Null => Some(\"changed\"),", "        Json::Null => None,"),
    ("X2", "src/engine/decide.rs", "Some(Json::String(id)) if !id.is_empty() => id.as_ref(),", "Some(Json::String(id)) => id.as_ref(),"),
    ("X3", "src/engine/decide.rs", "                409,\n                ErrorCode::Invalid,", "                404,\n                ErrorCode::Invalid,"),
    ("X3", "src/engine/overlay.rs", ".filter(|&seq| !self.is_removed(seq))", ".filter(|&seq| !self.is_removed(seq) || seq < usize::MAX)"),
    ("X4", "src/engine/commit.rs", "        collection.remove_hashed(r.seq, Some(r.id_hash));", "        let _ = r;"),
    ("A1", "src/engine/decide.rs", "if let Some(name) = forbidden_member(item, allowed) {", "if let Some(name) = forbidden_member(item, allowed).filter(|n| *n != \"id\") {"),
    ("A2", "src/engine/decide.rs", "(Some(id), Some(key)) => (id == key).then_some(Cow::Borrowed(id)),", "(Some(id), Some(_)) => Some(Cow::Borrowed(id)),"),
    ("A2", "src/engine/decide.rs", "        Some(v) => Some(non_empty_str(Some(v))?),", "        Some(v) => non_empty_str(Some(v)),"),
    ("A2", "src/engine/reference.rs", "    if !reference.contains(['/', '(', '?', '#']) {", "    if !reference.contains(['/', '?', '#']) {"),
    ("A2", "src/engine/reference.rs", "    if !reference.contains(['/', '(', '?', '#']) {\n        return Some(Cow::Borrowed(reference));", "    if !reference.contains(['/', '(', '?', '#']) {\n        return percent_decode(reference);"),
    ("A2", "src/engine/reference.rs", "    if !reference.contains(['/', '(', '?', '#']) {\n        return Some(Cow::Borrowed(reference));", "    if false {\n        return Some(Cow::Borrowed(reference));"),
    ("A2", "src/engine/reference.rs", "        return non_empty(percent_decode(segment)?);", "        return non_empty(Cow::Borrowed(segment));"),
    ("A2", "src/engine/reference.rs", "    String::from_utf8(out).ok().map(Cow::Owned)", "    Some(Cow::Owned(String::from_utf8_lossy(&out).into_owned()))"),
    ("A2", "src/engine/reference.rs", ".find_map(|root| strip_prefix_ignore_case(reference, root))", ".find_map(|root| strip_prefix_ignore_case(reference, root).or_else(|| reference.split_once(\"/v1.0/\").map(|(_, p)| p)))"),
    ("A2", "src/engine/options.rs", ".chain(self.service_roots.iter().map(String::as_str))", ".chain(self.service_roots.iter().take(0).map(String::as_str))"),
    ("A2", "src/engine/reference.rs", "Some(quoted) => Cow::Owned(unquote(quoted.strip_suffix('\\'')?)?),", "Some(quoted) => Cow::Owned(quoted.strip_suffix('\\'')?.to_owned()),"),
    ("A2", "src/engine/reference.rs", "        None if decoded.contains('\\'') => return None,\n", ""),
    ("A3", "src/engine/decide.rs", "        Some(Json::String(d)) if d == \"inPlace\" => \"inPlace\",", "        Some(Json::String(_)) => \"inPlace\","),
    ("A4", "src/engine/decide.rs", "    if ev.key_count(key_hash, key) > 0 {", "    if ev.key_count(key_hash, key) > 1 {"),
    ("A4", "src/model/collection.rs", "!self.is_removed(seq) && !skip(seq) && key_at", "!self.is_removed(seq) && key_at"),
    ("A5", "src/engine/decide.rs", "    if ev.other_destination_present(destination) {", "    if false {"),
    ("A6", "src/engine/decide.rs", "    let key = (restore_point, search_response_id);", "    let key = (restore_point, None);"),
    ("A6", "src/engine/decide.rs", "Some(non_empty_str(item.get(\"searchResponseId\")).ok_or_else(|| {", "Some(non_empty_str(item.get(\"searchResponseId\")).or(Some(\"\")).ok_or_else(|| {"),
    ("A7", "src/engine/draw.rs", "            if !present {", "            if true {"),
    ("A7", "src/engine/decide.rs", "    if ev.check == Check::Batched && !ev.stopped && !ev.check_drawn() {", "    if false {"),
    ("A7", "src/engine/draw.rs", "        if self.check == Check::Batched && unsure && !self.check_drawn() {", "        if false {"),
    ("A7", "src/engine/decide.rs", "json.push_str(\",\\\"status\\\":\\\"added\\\",\\\"createdDateTime\\\":\\\"\");", "json.push_str(\",\\\"status\\\":\\\"scheduled\\\",\\\"createdDateTime\\\":\\\"\");"),
    ("A7", "src/engine/draw.rs", "    for _ in 0..MAX_DRAWS_PER_ITEM {", "    for _ in 0..MAX_DRAWS_PER_ITEM + 1 {"),
    ("A7", "src/engine/draw.rs", "    for _ in 0..MAX_DRAWS_PER_ITEM {", "    for _ in 0..MAX_DRAWS_PER_ITEM - 1 {"),
    ("A7", "src/engine/draw.rs", "    for _ in 0..MAX_DRAWS_PER_ITEM {", "    for _ in 0..MAX_DRAWS_PER_ITEM.max(ev.base.len() + 1) {"),
    ("G1", "src/engine/decide.rs", "if let Some(name) = forbidden_member(item, &[\"browseSessionId\", \"id\", \"itemKey\"]) {", "if let Some(name) = forbidden_member(item, &[\"browseSessionId\", \"id\", \"itemKey\", \"status\", \"restorePoint\", \"destinationType\"]) {"),
    ("G2", "src/engine/decide.rs", "(Some(a), Some(b)) if a == b => Some(a),", "(Some(a), Some(_)) => Some(a),"),
    ("G3", "src/engine/decide.rs", "    if found.is_some() {\n        return Err(duplicate(RuleId::G3, op));", "    if false {\n        return Err(duplicate(RuleId::G3, op));"),
    ("G4", "src/engine/decide.rs", "json.push_str(\",\\\"browseSessionId\\\":\");", "json.push_str(\",\\\"browseSession\\\":\");"),
    ("G4", "src/engine/decide.rs", "json.push_str(\",\\\"status\\\":\\\"added\\\"}\");", "json.push_str(\",\\\"status\\\":\\\"added\\\",\\\"createdDateTime\\\":\\\"2026-11-28T12:00:00Z\\\"}\");"),
    ("O1", "src/engine/pipeline.rs", "if options.atomic && plan.any_failed() {", "if false {"),
    ("O2", "src/engine/render.rs", "    out.push_str(\",\\\"message\\\":\");\n    write_str(&mut out, &error.message);", "    out.push_str(\",\\\"message\\\":\");\n    write_str(&mut out, error.code.as_str());"),
    ("O3", "src/engine/render.rs", "            let keys: &[&str] = match f.operation {\n                Operation::Remove => &[\"id\"],", "            let keys: &[&str] = match f.operation {\n                Operation::Remove => &[],"),
    ("O3", "src/engine/outcome.rs", "Operation::Insert => \"insert\",", "Operation::Insert => \"remove\","),
    ("O4", "src/engine/render.rs", "    \"@Core.ContentID\",\n", "    \"@Core.ContentId\",\n"),
    ("O5", "src/engine/pipeline.rs", "let minimal = options.return_minimal && !plan.any_failed();", "let minimal = options.return_minimal;"),
    ("O6", "src/engine/commit.rs", "        update_total(session, total);", ""),
    ("O6", "src/engine/commit.rs", "if plan.added_any() || !plan.removed.is_empty() {", "if true {"),
    ("O7", "src/model/enums.rs", "    after_sentinel: [Granular]", "    after_sentinel: []"),
    ("O7", "src/model/enums.rs", "    after_sentinel: [Failed]", "    after_sentinel: []"),
    ("O7", "src/engine/render.rs", "\"restoreJobType\" => session.restore_job_type().is_after_sentinel(),", "\"restoreJobType\" => session.restore_job_type() == &crate::model::enums::RestoreJobType::Granular,"),
    ("O7", "src/engine/render.rs", "    if late && !options.include_unknown_enum_members {", "    if late {"),
    ("O7", "src/engine/options.rs", "                self.include_unknown_enum_members = true;\n", ""),
    ("O8", "src/engine/options.rs", "(Some(Some(true)), Answered::Minimal) => applied.push(\"return=minimal\"),", "(Some(Some(true)), _) => applied.push(\"return=minimal\"),"),
    ("O8", "src/engine/options.rs", "(Some(Some(false)), Answered::Representation) => applied.push(\"return=representation\"),", "(Some(Some(false)), _) => applied.push(\"return=representation\"),"),
    ("O8", "src/engine/options.rs", "                format!(\"{name}=false\")", "                \"continue-on-error=false\".to_owned()"),
    ("O8", "src/engine/options.rs", "                name.to_owned()\n", "                \"continue-on-error\".to_owned()\n"),
    ("O8", "src/engine/options.rs", "            && proceed != options.atomic\n", "            && true\n"),
    ("O8", "src/engine/options.rs", "if self.include_unknown_enum_members && answered == Answered::Representation {", "if self.include_unknown_enum_members {"),
    ("O8", "src/engine/options.rs", "    (!applied.is_empty()).then(|| applied.join(\", \"))", "    (!applied.is_empty()).then(|| applied.join(\",\"))"),
    ("O9", "src/engine/options.rs", "                if self.asked.ret.is_some() {\n                    continue;\n                }\n", ""),
    ("O9", "src/engine/options.rs", "                if self.asked.continue_on_error.is_some() {\n                    continue;\n                }\n", ""),
    ("O9", "src/engine/options.rs", "                if self.asked.continue_on_error.is_some() {", "                if self.asked.continue_on_error.is_some_and(|(n, _)| n == spelling) {"),
    ("O9", "src/engine/options.rs", "                self.asked.continue_on_error = Some((spelling, proceed));", "                if proceed.is_some() { self.asked.continue_on_error = Some((spelling, proceed)); }"),
    ("D1", "src/json/mod.rs", "            keys.sort_unstable();", "            keys.reverse();"),
    ("D2", "src/engine/ids.rs", "self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);", "self.state = self.state.wrapping_add(1);"),
    ("D4", "src/engine/commit.rs", "    for p in plan.pending.iter().filter(|p| p.alive) {", "    for p in plan.pending.iter().rev().filter(|p| p.alive) {"),
    ("L1", "src/lifecycle/create.rs", "        } else if !name.contains('@') {", "        } else if false {"),
    ("L1", "src/lifecycle/create.rs", "    if blank {\n        let id = draw_session_id(ctx)?;", "    if body.is_empty() {\n        let id = draw_session_id(ctx)?;"),
    ("L1", "src/lifecycle/create.rs", "    let blank = body.len() <= options.max_bytes\n        && body\n", "    let blank = body\n"),
    ("L2", "src/lifecycle/create.rs", "            ErrorCode::InvalidPatchRequest => ErrorCode::InvalidArtifactRequest,", "            ErrorCode::InvalidPatchRequest => ErrorCode::InvalidPatchRequest,"),
    ("L2", "src/lifecycle/create.rs", "    if items.len() > options.max_items {", "    if items.len() > options.max_items + 1 {"),
    ("L3", "src/lifecycle/create.rs", "        .find(|id| check_session_id(id).is_ok())", "        .find(|id| !id.is_empty())"),
    ("L3", "src/lifecycle/create.rs", "    commit::commit(&mut session, family, &plan, ctx, true);", "    commit::commit(&mut session, family, &plan, ctx, false);"),
    ("L4", "src/lifecycle/mod.rs", "    if raw.trim() != raw {", "    if false {"),
    ("L5", "src/lifecycle/mod.rs", "    if session.status() == &SessionStatus::Draft {\n        Ok(())", "    if session.status() != &SessionStatus::Active {\n        Ok(())"),
    ("L6", "src/lifecycle/schedule.rs", "    if busy >= MAX_ACTIVE_SESSIONS {", "    if busy > MAX_ACTIVE_SESSIONS {"),
    ("L7", "src/lifecycle/schedule.rs", "                    Stage::Scheduled => active / 2,", "                    Stage::Scheduled => active,"),
    ("L7", "src/lifecycle/schedule.rs", "            progress.set_entered(stage, due);", "            progress.set_entered(stage, Some(now.max(due.unwrap_or(now))));"),
    ("L8", "src/lifecycle/schedule.rs", "    z % 1000 < u64::from(schedule.failed_per_mille)", "    z % 1000 <= u64::from(schedule.failed_per_mille)"),
    ("L8", "src/lifecycle/schedule.rs", "            if fail && has_error {", "            if fail {"),
    ("L9", "src/lifecycle/read.rs", "    let more = skip.saturating_add(top) < c.len();", "    let more = skip.saturating_add(top) <= c.len();"),
    ("L9", "src/model/collection.rs", "        let dense = self.slots.len() == self.live;", "        let dense = true;"),
    ("Q1", "src/lifecycle/query/parse.rs", "        let canonical = bare.to_ascii_lowercase();", "        let canonical = bare.to_owned();"),
    ("Q2", "src/lifecycle/query/eval.rs", "    name.starts_with('@')\n        || select.contains(&name)", "    name.starts_with('@') || name == \"id\"\n        || select.contains(&name)"),
    ("Q3", "src/lifecycle/query/parse.rs", "        if out.iter().any(|e| e.collection == collection) {", "        if false {"),
    ("Q4", "src/lifecycle/query/filter.rs", "StrFn::StartsWith => a.starts_with(b.as_ref()),", "StrFn::StartsWith => a.to_lowercase().starts_with(&b.to_lowercase()),"),
    ("Q5", "src/lifecycle/query/eval.rs", "    a.1.as_bytes().cmp(b.1.as_bytes())", "    b.1.as_bytes().cmp(a.1.as_bytes())"),
    ("Q6", "src/lifecycle/query/parse.rs", ".filter(|n| *n <= MAX_TOP as u64)", ".filter(|n| *n <= MAX_TOP as u64 + 1)"),
    ("Q6", "src/lifecycle/query/parse.rs", "        None => DEFAULT_TOP,", "        None => DEFAULT_TOP + 1,"),
    ("Q7", "src/lifecycle/query/eval.rs", "        count: q.count.then_some(listed.matched),", "        count: q.count.then_some(listed.items.len() as u64),"),
    ("Q7", "src/lifecycle/query/eval.rs", "        if e.query.count {", "        if !e.query.count {"),
    ("Q8", "src/lifecycle/query/filter.rs", "        if self.depth > MAX_FILTER_DEPTH {", "        if self.depth > MAX_FILTER_DEPTH + 1 {"),
    ("Q8", "src/lifecycle/query/parse.rs", "    if list.len() > MAX_ORDERBY {", "    if list.len() > MAX_ORDERBY + 1 {"),
    ("Q9", "src/lifecycle/query/filter.rs", "        if is_late(e, rank) && !self.include_unknown {", "        if false {"),
]


def sh(cmd, cwd, env=None, timeout=1800):
    return subprocess.run(cmd, cwd=cwd, env=env, shell=True, capture_output=True, text=True, timeout=timeout)


def main():
    quick = "--quick" in sys.argv[1:]
    wanted = set(a for a in sys.argv[1:] if a != "--quick")
    # The `mutants` build profile (Cargo.toml: the crate at opt-level 1, no debug info), as
    # cargo-mutants uses: a rebuild a little longer, the tests several times faster.
    test = ("cargo test -p restore-delta -q --profile mutants" if quick
            else "cargo test --workspace --no-fail-fast -q --profile mutants")
    top = sh("git rev-parse --show-toplevel", os.getcwd()).stdout.strip()
    work = tempfile.mkdtemp(prefix="rule-mutants-")
    tree = os.path.join(work, "tree")
    sh(f"git worktree add --detach {tree} HEAD", top)
    target = os.environ.get("RULE_MUTANTS_TARGET_DIR") or os.path.join(work, "target")
    env = dict(os.environ, CARGO_TARGET_DIR=target, CARGO_TERM_COLOR="never")
    env.pop("CI", None)
    results = []
    try:
        base = sh(test, tree, env)
        if base.returncode != 0:
            print("baseline fails; fix the suite first\n" + base.stdout[-3000:] + base.stderr[-3000:])
            return 1
        for rule, path, old, new in MUTANTS:
            if wanted and rule not in wanted:
                continue
            file = os.path.join(tree, path)
            text = open(file).read()
            if text.count(old) != 1:
                results.append((rule, path, "NOT APPLICABLE (text not found once)", 0))
                continue
            open(file, "w").write(text.replace(old, new))
            t = time.time()
            r = sh(test, tree, env)
            open(file, "w").write(text)
            out = r.stdout + r.stderr
            failed = [l.split()[1] for l in out.splitlines() if l.startswith("---- ")]
            if r.returncode == 0:
                verdict = "SURVIVED"
            elif not failed and ("error[E" in out or "could not compile" in out):
                verdict = "DOES NOT COMPILE"
            else:
                verdict = f"caught by {len(failed)} test(s): " + ", ".join(failed[:4])
            results.append((rule, path, verdict, time.time() - t))
            print(f"{rule:3} {path:18} {verdict}", flush=True)
    finally:
        sh(f"git worktree remove --force {tree}", top)
    bad = [r for r in results if not r[2].startswith("caught")]
    print(f"\n{len(results) - len(bad)} of {len(results)} mutants caught")
    for r in bad:
        print("  ", r[0], r[1], r[2])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

//! Replays every committed fuzz input — `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/` —
//! through the matching entry point of `restore_delta::fuzzing`, on stable, with plain
//! `cargo test`. Also runs each entry point on a few thousand pseudo-random inputs, so a broken
//! invariant shows up here before anyone runs the fuzzer.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use restore_delta::fuzzing;

/// Crashers the fuzzer found in the ENGINE, not yet fixed, as `<target>/<file name>` under
/// `fuzz/artifacts/`. Each is replayed and must still panic; once the engine is fixed it stops
/// panicking, this test says so, and the entry must be removed from the list (the file stays as
/// a regression input, replayed like the corpus).
///
/// Empty: the crashers under `fuzz/artifacts/state_bytes/` (nested duplicate member names,
/// lone surrogate escapes in a state) were fixed by the strict state reader and now replay
/// cleanly.
const KNOWN_FAILING: &[&str] = &[];

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 4] = [
    ("apply_bytes", fuzzing::apply_bytes),
    ("state_bytes", fuzzing::state_bytes),
    ("apply_ops", fuzzing::apply_ops),
    ("apply_case", fuzzing::apply_case),
];

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut count = 0;
    let mut broken = Vec::new();
    for (name, target) in TARGETS {
        for path in files(&root.join(name)) {
            let data = fs::read(&path).expect("readable");
            let file = path.file_name().expect("a file name").to_string_lossy();
            let known = KNOWN_FAILING.contains(&format!("{name}/{file}").as_str());
            let result = catch_unwind(AssertUnwindSafe(|| target(&data)));
            match (result.is_ok(), known) {
                (true, false) | (false, true) => {}
                (false, false) => broken.push(format!("{} panics", path.display())),
                (true, true) => broken.push(format!(
                    "{} is listed in KNOWN_FAILING but passes now: remove it from the list",
                    path.display()
                )),
            }
            count += 1;
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    count
}

#[test]
fn corpus_replays_cleanly() {
    let n = replay("corpus");
    assert!(n > 0, "no corpus found under fuzz/corpus");
}

#[test]
fn artifacts_replay_as_listed() {
    replay("artifacts");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/artifacts");
    for known in KNOWN_FAILING {
        assert!(
            root.join(known).is_file(),
            "KNOWN_FAILING names a missing file: {known}"
        );
    }
}

/// SplitMix64: deterministic bytes for the sweep.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn apply_ops_sweep() {
    for seed in 0..3000u64 {
        let data = bytes(seed, (seed % 90) as usize);
        fuzzing::apply_ops(&data);
    }
}

/// The `apply_case` entry point on pseudo-random inputs of every length up to 200 bytes: each is
/// a generated case (every mix, state size and failure), engine against model.
#[test]
fn apply_case_sweep() {
    for seed in 0..4000u64 {
        let data = bytes(seed, (seed % 200) as usize);
        fuzzing::apply_case(&data);
    }
}

/// Generated sequences (`restore-delta gen --steps`), step by step on the state the steps
/// before left, engine against the model: among them the two shipped `tests/vectors/steps-*`.
#[test]
fn generated_sequences_agree_with_the_model() {
    use restore_delta::SessionKind;
    use restore_delta::generate::{Generator, Mix};
    let shipped = [
        (
            31,
            Mix::Valid,
            2,
            "steps-valid-later-steps-remove-generated-ids",
        ),
        (
            5,
            Mix::Mixed,
            3,
            "steps-mixed-refused-step-keeps-the-session",
        ),
    ]
    .map(|(seed, mix, items, name)| {
        let seq = Generator::new(seed)
            .mix(mix)
            .kind(SessionKind::OneDriveForBusiness)
            .artifacts(1)
            .items(items)
            .sequence(3);
        let description = format!(
            "Generated case 0 of `restore-delta gen --seed {seed} --mix {} --kind onedrive \
             --artifacts 1 --items {items} --steps 3`.",
            mix.as_str()
        );
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/vectors/{name}.json"));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{}\n", seq.vector(&description).unwrap()),
            "{name}.json is this sequence"
        );
        seq
    });
    let mut steps = 0;
    for seq in
        shipped
            .iter()
            .cloned()
            .chain(
                [Mix::Valid, Mix::Mixed, Mix::Hostile]
                    .into_iter()
                    .flat_map(|mix| {
                        let mut g = Generator::new(77).mix(mix);
                        (0..80).map(move |_| g.sequence(4))
                    }),
            )
    {
        for case in seq.cases().unwrap() {
            fuzzing::check_case(&case);
            steps += 1;
        }
    }
    assert_eq!(steps, 6 + 3 * 80 * 4);
}

#[test]
fn apply_bytes_sweep_over_every_state_and_option() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for path in files(&examples) {
        if !path.to_string_lossy().ends_with(".request.json") {
            continue;
        }
        let request = fs::read(&path).expect("readable");
        for head in 0..=255u8 {
            let mut data = vec![head];
            data.extend_from_slice(&request);
            fuzzing::apply_bytes(&data);
        }
    }
}

#[test]
fn state_bytes_on_every_example_state() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for path in files(&examples) {
        if path.to_string_lossy().ends_with(".state.json") {
            fuzzing::state_bytes(&fs::read(&path).expect("readable"));
        }
    }
    for state in fuzzing::STATES {
        fuzzing::state_bytes(state.as_bytes());
    }
}

/// States cut by small reads at every byte of their multi-byte characters, and texts whose
/// syntax error or bad UTF-8 sits near where a read ends, through `fuzzing::state_bytes`: read
/// 1, 2, 3, 7 and 64 bytes at a time they give the session or the error `from_json` gives.
#[test]
fn state_bytes_cut_in_characters_and_near_errors() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    // Characters of 2, 3 and 4 bytes at every offset from a read's start.
    for pad in 0..8 {
        let p = "x".repeat(pad);
        inputs.push(
            format!(r#"{{"id":"s1","{p}k":"{p}é€😀a😀😀€é","driveRestoreArtifacts":[{{"id":"{p}😀"}}]}}"#)
                .into_bytes(),
        );
        // A character after the state (the reader must not stop at a cut character).
        for after in ["é", "€", "😀", " 😀", "\n€é"] {
            inputs.push(format!(r#"{{"id":"s1","{p}k":1}}{after}"#).into_bytes());
        }
        // Syntax errors on the first line and on later ones, at several places.
        for bad in [
            r#"{"id":"s1","k":[1,2,]}"#,
            r#"{"id":"s1","k":tru}"#,
            r#"{"id":"s1","k":1.e5}"#,
            r#"{"id":"s1","k":-}"#,
            r#"{"id":"s1","k":"abc"#,
            r#"{"id":"s1","k":{"a" 1}}"#,
            "{\n\"id\":\"s1\",\n\"k\":\n[1,\n2,,3]}",
            "{\n\"id\":\"s1\",\n\n\"k\":\"é€😀\"\n,\n}",
            "{\"id\":\"s1\",\"k\":[\n1\n,\n2\n]\n\"j\":1}",
        ] {
            inputs.push(bad.replacen("\"k\"", &format!("\"{p}k\""), 1).into_bytes());
            inputs.push(
                bad.replacen("{", &format!("{{{}", " ".repeat(pad)), 1)
                    .into_bytes(),
            );
        }
        // Bytes that are not UTF-8: a character cut short, then a quote or another lead byte;
        // a stray continuation byte; an overlong form; a surrogate; a lead byte at the end.
        for bytes in [
            &b"\xF0\x9F\x98\""[..],
            b"\xE2\x82\xF0\x9F\x98\x80\"",
            b"\xC3\xF0\x9F\x98\x80\"",
            b"\x80\"",
            b"\xC0\xAF\"",
            b"\xED\xA0\x80\"",
            b"\xF4\x90\x80\x80\"",
            b"\xF0\x9F",
        ] {
            let mut text = format!(r#"{{"id":"s1","{p}k":"{p}"#).into_bytes();
            text.extend_from_slice(bytes);
            text.extend_from_slice(b"}");
            inputs.push(text);
        }
    }
    for input in &inputs {
        fuzzing::state_bytes(input);
    }
}

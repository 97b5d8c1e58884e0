//! `restore-delta gen`: generated cases written as conformance vectors with the reference's
//! answer, for fuzzing and differential campaigns against other implementations.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args, ValueEnum};
use restore_delta::generate::{Generator, Mix, dictionary};

use crate::common::{KindArg, MixArg, Usage};

pub const GEN_EXAMPLES: &str = "\
Examples:
  # 1,000 cases of every kind and rule failure, one vector file each:
  restore-delta gen --seed 1 --count 1000 --out generated/

  # Hostile Exchange bodies as JSON lines:
  restore-delta gen --seed 7 --count 100 --kind exchange --mix hostile --jsonl > cases.jsonl

  # 50 sequences of 5 PATCHes on one evolving session each:
  restore-delta gen --seed 3 --count 50 --steps 5 --out sequences/

  # A libFuzzer seed corpus of 2,000 hostile bodies, with the dictionary:
  restore-delta gen --seed 9 --count 2000 --mix hostile --corpus corpus/
  #   then: ./fuzz_server_body -dict=corpus/restore-delta.dict corpus/

Each case is a vector in the format of docs/VECTORS.md: the inputs (state, request, options, now,
seed), the expected response and state computed by the reference, and `rules`, the rule ids that
decided the answer. The same flags give the same files, byte for byte.
With --out, the files are DIR/NNNNN-<first rule>.json (NNNNN the case's number from 0).
With --steps K (K > 1), each case is K successive PATCHes on one session, written in the
`steps` form of docs/VECTORS.md: the first state, then per step the inputs and the answer.
With --corpus, DIR/NNNNN (DIR/NNNNN-S for step S of a sequence) holds each request body, byte
for byte, and DIR/restore-delta.dict is a libFuzzer dictionary (member and annotation names,
enum values, error codes). --corpus may go with --out or --jsonl.
Exit status: 0 when every case was written; 1 if a file or stdout can't be written; 2 for a
command line clap refuses or a directory that can't be created.";

#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("output")
        .required(true)
        .multiple(true)
        .args(["out", "jsonl", "corpus"])
))]
pub struct GenArgs {
    #[command(flatten)]
    knobs: Knobs,
    /// Write one vector file per case into this directory (created if needed).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write the vectors to stdout, one per line.
    #[arg(long, conflicts_with = "out")]
    jsonl: bool,
    /// Write each request body into this directory (a libFuzzer seed corpus), with the
    /// dictionary restore-delta.dict.
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// Successive PATCHes per case, on one evolving session (1: single requests).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    steps: u16,
}

/// The generator's flags, shared by `gen` and `differential`.
#[derive(Args, Debug)]
pub struct Knobs {
    /// The seed: the same seed and flags give the same cases.
    #[arg(long, value_name = "N")]
    pub seed: u64,
    /// How many cases.
    #[arg(long, value_name = "K")]
    pub count: usize,
    /// Sessions of this kind only (default: all three kinds).
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// What the requests are like: mostly successful, every rule's failure, or hostile bodies.
    #[arg(long, value_enum, default_value = "mixed")]
    mix: MixArg,
    /// Artifacts stored in the edited collection of each state.
    #[arg(long, value_name = "N", default_value_t = 5)]
    artifacts: usize,
    /// The most items of a request.
    #[arg(long, value_name = "N", default_value_t = 6)]
    items: usize,
}

impl Knobs {
    /// The flags that choose the cases, as a command line spells them: `--seed N --mix M`, then
    /// `--kind`, `--artifacts` and `--items` when given or not the default.
    pub fn flags(&self) -> String {
        let mut flags = format!("--seed {} --mix {}", self.seed, self.mix().as_str());
        if let Some(kind) = self.kind
            && let Some(name) = kind.to_possible_value()
        {
            flags.push_str(&format!(" --kind {}", name.get_name()));
        }
        if self.artifacts != 5 {
            flags.push_str(&format!(" --artifacts {}", self.artifacts));
        }
        if self.items != 6 {
            flags.push_str(&format!(" --items {}", self.items));
        }
        flags
    }

    /// The mix the flags name.
    pub fn mix(&self) -> Mix {
        self.mix.mix()
    }

    /// The generator the flags describe.
    pub fn generator(&self) -> Generator {
        let generator = Generator::new(self.seed)
            .mix(self.mix())
            .artifacts(self.artifacts)
            .items(self.items);
        match self.kind {
            None => generator.all_kinds(),
            Some(kind) => generator.kind(kind.kind()),
        }
    }
}

pub fn run(args: GenArgs) -> Result<ExitCode, Usage> {
    let mut generator = args.knobs.generator();
    for dir in [&args.out, &args.corpus].into_iter().flatten() {
        fs::create_dir_all(dir)
            .map_err(|e| Usage(format!("can't create {}: {e}", dir.display())))?;
    }
    if let Some(dir) = &args.corpus
        && let Err(e) = fs::write(dir.join("restore-delta.dict"), dictionary())
    {
        eprintln!("restore-delta: can't write the dictionary: {e}");
        return Ok(ExitCode::from(1));
    }
    let steps = usize::from(args.steps);
    let stdout = io::stdout();
    let mut lines = io::BufWriter::new(stdout.lock());
    for i in 0..args.knobs.count {
        let steps_flag = if steps > 1 {
            format!(" --steps {steps}")
        } else {
            String::new()
        };
        let description = format!(
            "Generated case {i} of `restore-delta gen {}{steps_flag}`.",
            args.knobs.flags()
        );
        let (vector, bodies) = if steps > 1 {
            let sequence = generator.sequence(steps);
            let bodies: Vec<Vec<u8>> = sequence.steps.iter().map(|s| s.request.clone()).collect();
            (sequence.vector(&description), bodies)
        } else {
            let case = generator.case();
            (case.vector(&description), vec![case.request])
        };
        let vector = vector.map_err(|e| Usage(format!("case {i}: {e}")))?;
        let written = match (&args.out, args.jsonl) {
            (Some(dir), _) => write_file(dir, i, &vector),
            (None, true) => writeln!(lines, "{vector}"),
            (None, false) => Ok(()),
        }
        .and_then(|()| match &args.corpus {
            Some(dir) => write_bodies(dir, i, &bodies),
            None => Ok(()),
        });
        if let Err(e) = written {
            eprintln!("restore-delta: can't write case {i}: {e}");
            return Ok(ExitCode::from(1));
        }
    }
    if let Err(e) = lines.flush() {
        eprintln!("restore-delta: can't write stdout: {e}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `DIR/NNNNN` (a single request) or `DIR/NNNNN-S` (step S of a sequence, from 1): the bodies.
fn write_bodies(dir: &Path, i: usize, bodies: &[Vec<u8>]) -> io::Result<()> {
    if let [body] = bodies {
        return fs::write(dir.join(format!("{i:05}")), body);
    }
    for (s, body) in bodies.iter().enumerate() {
        fs::write(dir.join(format!("{i:05}-{}", s + 1)), body)?;
    }
    Ok(())
}

/// `DIR/NNNNN-<first rule>.json`, the rule read back from the vector's `rules`.
fn write_file(dir: &Path, i: usize, vector: &str) -> io::Result<()> {
    let first_rule = serde_json::from_str::<serde_json::Value>(vector)
        .ok()
        .and_then(|v| v["rules"][0].as_str().map(str::to_ascii_lowercase))
        .unwrap_or_else(|| "none".to_owned());
    let path = dir.join(format!("{i:05}-{first_rule}.json"));
    fs::write(path, format!("{vector}\n"))
}

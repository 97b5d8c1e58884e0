//! What the commands share: the option flags, the `--kind` and `--mix` values, reading files,
//! the usage error.

use std::io::{self, Read};
use std::path::Path;

use clap::{Args, ValueEnum};
use restore_delta::generate::Mix;
use restore_delta::{MissingRemoval, Options, Session, SessionKind, StateError};

/// A failure before a response or a verdict exists: one line on stderr, exit 2.
pub struct Usage(pub String);

impl Usage {
    /// `can't read FILE: why`.
    pub fn unreadable(path: &Path, why: &dyn std::fmt::Display) -> Usage {
        Usage(format!("can't read {}: {why}", path.display()))
    }
}

/// The request options: the flags of the library's `Options` that `apply` and `check` share.
#[derive(Args, Debug)]
pub struct OptionArgs {
    /// All or nothing: if any item fails, apply none and answer with an error listing every
    /// failure. Same as --prefer continue-on-error=false; wins over --prefer.
    #[arg(long)]
    pub atomic: bool,
    /// An HTTP Prefer header value, e.g. 'return=minimal' or 'continue-on-error=false'.
    /// May be repeated: the values are one list, and a preference given twice counts the first
    /// time (RFC 7240). `apply` names those honoured in its output's "preferenceApplied".
    #[arg(long, value_name = "VALUE")]
    pub prefer: Vec<String>,
    /// A service root an absolute restorePoint@odata.id may start with, besides Graph's own
    /// v1.0 and beta roots on graph.microsoft.com, e.g. `http://127.0.0.1:8080/v1.0/`.
    /// May be repeated.
    #[arg(long, value_name = "URL")]
    pub service_root: Vec<String>,
    /// The most items one request may carry (default 50).
    #[arg(long, value_name = "N")]
    pub max_items: Option<usize>,
    /// The largest body accepted, in bytes (default 1048576).
    #[arg(long, value_name = "N")]
    pub max_bytes: Option<usize>,
    /// The deepest nesting accepted in a body (default 64).
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
    /// What a removal of an id that is not there does: fail with 409 (Graph) or succeed
    /// (OData 4.02 draft).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = Missing::Fail)]
    pub missing_removal: Missing,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Missing {
    /// 409 `Invalid`, as Graph documents.
    Fail,
    /// Success that changes nothing.
    Succeed,
}

impl OptionArgs {
    /// The server's settings (limits, service roots, the removal policy), without any
    /// preference of the client's.
    pub fn server_options(&self) -> Options {
        let mut options = Options::default();
        for root in &self.service_root {
            options = options.with_service_root(root);
        }
        if let Some(n) = self.max_items {
            options = options.with_max_items(n);
        }
        if let Some(n) = self.max_bytes {
            options = options.with_max_bytes(n);
        }
        if let Some(n) = self.max_depth {
            options = options.with_max_depth(n);
        }
        options.with_missing_removal(match self.missing_removal {
            Missing::Fail => MissingRemoval::Fail,
            Missing::Succeed => MissingRemoval::Succeed,
        })
    }

    /// The options the flags give: the server's settings, the `--prefer` values in order, then
    /// `--atomic`.
    pub fn options(&self) -> Options {
        let mut options = self.server_options();
        for p in &self.prefer {
            options = options.with_prefer(p);
        }
        if self.atomic {
            options = options.with_atomic(true);
        }
        options
    }
}

/// Refuses a command line on which more than one of the files reads stdin.
pub fn one_stdin<'a>(paths: impl IntoIterator<Item = (&'a str, &'a Path)>) -> Result<(), Usage> {
    let on_stdin: Vec<&str> = paths
        .into_iter()
        .filter(|(_, p)| *p == Path::new("-"))
        .map(|(flag, _)| flag)
        .collect();
    if on_stdin.len() > 1 {
        return Err(Usage(format!(
            "only one of {} can read stdin",
            on_stdin.join(" and ")
        )));
    }
    Ok(())
}

/// Reads the state from a file, or stdin for `-`, as it is parsed: its bytes are never all in
/// memory beside the session (`Session::from_reader`).
pub fn read_state(path: &Path) -> Result<Session, Usage> {
    let read = if path == Path::new("-") {
        Session::from_reader(io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| Usage::unreadable(path, &e))?;
        let len = file.metadata().map_or(0, |m| m.len());
        Session::from_reader_sized(file, len)
    };
    read.map_err(|e| match e {
        StateError::Unreadable { source } => Usage::unreadable(path, &source),
        e => Usage(format!("--state {}: {e}", path.display())),
    })
}

/// Opens a file, or stdin for `-`.
pub fn open(path: &Path) -> Result<Box<dyn Read>, Usage> {
    if path == Path::new("-") {
        Ok(Box::new(io::stdin().lock()))
    } else {
        let file = std::fs::File::open(path).map_err(|e| Usage::unreadable(path, &e))?;
        Ok(Box::new(file))
    }
}

/// Reads a file, or stdin for `-`, at most `limit` bytes when given.
pub fn read_input(path: &Path, limit: Option<usize>) -> Result<Vec<u8>, Usage> {
    let mut buf = Vec::new();
    let reader = open(path)?;
    match limit {
        Some(n) => reader
            .take(u64::try_from(n).unwrap_or(u64::MAX))
            .read_to_end(&mut buf),
        None => {
            let mut r = reader;
            r.read_to_end(&mut buf)
        }
    }
    .map_err(|e| Usage::unreadable(path, &e))?;
    Ok(buf)
}
/// Reads a file that must not be larger than `limit` bytes; a larger one is a usage error
/// naming `flag` (which sets the limit), noticed without reading more than `limit + 1` bytes.
pub fn read_bounded(path: &Path, limit: usize, flag: &str) -> Result<Vec<u8>, Usage> {
    let bytes = read_input(path, Some(limit.saturating_add(1)))?;
    if bytes.len() > limit {
        return Err(Usage(format!(
            "{} is larger than {limit} bytes (raise {flag})",
            path.display()
        )));
    }
    Ok(bytes)
}

/// `--kind`: a kind of restore session (`gen`, `conform`).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum KindArg {
    /// oneDriveForBusinessRestoreSessions
    Onedrive,
    /// sharePointRestoreSessions
    Sharepoint,
    /// exchangeRestoreSessions
    Exchange,
}

impl KindArg {
    /// The kind the value names.
    pub fn kind(self) -> SessionKind {
        match self {
            KindArg::Onedrive => SessionKind::OneDriveForBusiness,
            KindArg::Sharepoint => SessionKind::SharePoint,
            KindArg::Exchange => SessionKind::Exchange,
        }
    }
}

/// `--mix`: what the generated requests hold (`gen`, `conform`).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MixArg {
    /// Requests that mostly succeed.
    Valid,
    /// Every rule's failure among successes (the default).
    Mixed,
    /// Malformed bodies a server must survive.
    Hostile,
}

impl MixArg {
    /// The generator's mix the value names.
    pub fn mix(self) -> Mix {
        match self {
            MixArg::Valid => Mix::Valid,
            MixArg::Mixed => Mix::Mixed,
            MixArg::Hostile => Mix::Hostile,
        }
    }
}

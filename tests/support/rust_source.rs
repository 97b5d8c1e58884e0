//! A small reader of this repository's Rust sources, for the tests that check their shape
//! (`tests/layers.rs`: the import graph; `tests/public_api.rs`: the public API listing;
//! `cli/tests/layers.rs`). Not a Rust parser: it knows what this code base writes (items at the
//! top of a module, `mod` declarations, `use` trees, `impl` blocks), and blanks comments and the
//! insides of literals so that braces in them do not count.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A source text with comments blanked (`code`) and, besides, the insides of string and
/// character literals blanked too (`mask`); both have the bytes of the file at the same offsets
/// (every blanked byte is a space, newlines kept).
pub struct Source {
    pub code: String,
    pub mask: String,
}

impl Source {
    pub fn new(text: &str) -> Source {
        let b = text.as_bytes();
        let mut code = b.to_vec();
        let mut mask = b.to_vec();
        let blank = |v: &mut Vec<u8>, from: usize, to: usize| {
            for c in v.iter_mut().take(to).skip(from) {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
        };
        let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let next = b.get(i + 1).copied().unwrap_or(0);
            if c == b'/' && next == b'/' {
                let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut code, i, end);
                blank(&mut mask, i, end);
                i = end;
            } else if c == b'/' && next == b'*' {
                let mut depth = 0;
                let mut j = i;
                while j < b.len() {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 2;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                blank(&mut code, i, j);
                blank(&mut mask, i, j);
                i = j;
            } else if (c == b'r' || (c == b'b' && next == b'r'))
                && (i == 0 || !ident(b[i - 1]))
                && {
                    let s = if c == b'b' { i + 2 } else { i + 1 };
                    let hashes = b[s..].iter().take_while(|&&h| h == b'#').count();
                    b.get(s + hashes) == Some(&b'"')
                }
            {
                let s = if c == b'b' { i + 2 } else { i + 1 };
                let hashes = b[s..].iter().take_while(|&&h| h == b'#').count();
                let open = s + hashes + 1;
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let end = text[open..].find(&close).map_or(b.len(), |n| open + n);
                blank(&mut mask, open, end);
                i = end + close.len();
            } else if c == b'"' {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut mask, i + 1, j.min(b.len()));
                i = j + 1;
            } else if c == b'\'' {
                // A character literal, or a lifetime.
                let rest = &text[i + 1..];
                let mut chars = rest.char_indices();
                match chars.next() {
                    Some((_, '\\')) => {
                        let end = rest[1..].find('\'').map_or(rest.len(), |n| n + 2);
                        blank(&mut mask, i + 1, i + end);
                        i += end + 1;
                    }
                    Some((_, ch)) if rest[ch.len_utf8()..].starts_with('\'') => {
                        blank(&mut mask, i + 1, i + 1 + ch.len_utf8());
                        i += ch.len_utf8() + 2;
                    }
                    _ => i += 1,
                }
            } else {
                i += 1;
            }
        }
        Source {
            code: String::from_utf8_lossy(&code).into_owned(),
            mask: String::from_utf8_lossy(&mask).into_owned(),
        }
    }

    /// The items at the top of the text (or of `range`, the inside of a block).
    pub fn items(&self, range: std::ops::Range<usize>) -> Vec<Item> {
        let m = self.mask.as_bytes();
        let mut items = Vec::new();
        let mut i = range.start;
        let end = range.end;
        loop {
            while i < end && m[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= end {
                break;
            }
            // Attributes.
            let mut attrs = Vec::new();
            while i < end && m[i] == b'#' {
                let open = self.mask[i..end].find('[').map_or(end, |n| i + n);
                let close = matching(m, open, b'[', b']').min(end);
                let inner = squeeze(&self.code[i..close]);
                if !inner.starts_with("#!") {
                    attrs.push(inner);
                }
                i = close;
                while i < end && m[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            if i >= end {
                break;
            }
            let start = i;
            // Past its visibility, an item starts with its kind: `use` trees and the values of
            // `const` and `static` items hold braces that are no body.
            let kind_words: Vec<&str> = {
                let head = self.mask[start..end].trim_start();
                let head = match head.strip_prefix("pub(") {
                    Some(r) => &r[r.find(')').map_or(0, |n| n + 1)..],
                    None => head.strip_prefix("pub ").unwrap_or(head),
                };
                head.split_whitespace().take(2).collect()
            };
            let is_use = kind_words.first() == Some(&"use");
            let is_value = matches!(kind_words.first(), Some(&"static"))
                || (kind_words.first() == Some(&"const")
                    && !kind_words
                        .get(1)
                        .is_some_and(|w| *w == "fn" || *w == "unsafe"));
            let mut depth = 0i32;
            let mut body = None;
            let mut stop = end;
            let mut j = i;
            while j < end {
                match m[j] {
                    b'(' | b'[' => depth += 1,
                    b')' | b']' => depth -= 1,
                    b'{' if is_value => {
                        j = matching(m, j, b'{', b'}').min(end);
                        continue;
                    }
                    b'{' if depth == 0 && !is_use => {
                        let close = matching(m, j, b'{', b'}').min(end);
                        body = Some(j + 1..close.saturating_sub(1));
                        stop = close;
                        // `const _: () = { … };`
                        let after = self.mask[close..end].trim_start();
                        if after.starts_with(';') {
                            stop = close + self.mask[close..end].find(';').unwrap_or(0) + 1;
                        }
                        break;
                    }
                    b';' if depth == 0 => {
                        stop = j + 1;
                        break;
                    }
                    _ => {}
                }
                j += 1;
            }
            let header_end = body.as_ref().map_or(stop, |b| b.start - 1);
            let header = squeeze(self.code[start..header_end].trim_end_matches(';'));
            items.push(Item::new(attrs, header, body, start));
            i = stop;
        }
        items
    }
}

/// The offset after the bracket that closes the one at `open`.
pub fn matching(m: &[u8], open: usize, o: u8, c: u8) -> usize {
    let mut depth = 0;
    for (j, &b) in m.iter().enumerate().skip(open) {
        if b == o {
            depth += 1;
        } else if b == c {
            depth -= 1;
            if depth == 0 {
                return j + 1;
            }
        }
    }
    m.len()
}

/// White space runs made one space.
pub fn squeeze(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    s.replace("( ", "(")
        .replace(" )", ")")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(",)", ")")
        .replace(",>", ">")
        .replace(", }", " }")
}

/// Visibility of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vis {
    Public,
    Restricted,
    Private,
}

/// One item of a module.
#[derive(Clone, Debug)]
pub struct Item {
    pub attrs: Vec<String>,
    /// The header, white space squeezed, without its body.
    pub header: String,
    pub vis: Vis,
    /// `fn`, `struct`, `enum`, `trait`, `type`, `const`, `static`, `mod`, `use`, `impl`, …
    pub kind: String,
    /// The name (`None` for `impl` and `use`).
    pub name: Option<String>,
    /// The inside of the item's braces, if it has any.
    pub body: Option<std::ops::Range<usize>>,
    pub offset: usize,
}

impl Item {
    fn new(
        attrs: Vec<String>,
        header: String,
        body: Option<std::ops::Range<usize>>,
        offset: usize,
    ) -> Item {
        let (vis, rest) = if let Some(r) = header.strip_prefix("pub(") {
            let close = r.find(')').map_or(r.len(), |n| n + 1);
            (Vis::Restricted, r[close..].trim_start())
        } else if let Some(r) = header.strip_prefix("pub ") {
            (Vis::Public, r)
        } else {
            (Vis::Private, header.as_str())
        };
        let mut words = rest.split(|c: char| c.is_whitespace() || "<({:;=!".contains(c));
        let mut kind = words.next().unwrap_or_default();
        while matches!(kind, "const" | "unsafe" | "async" | "extern")
            && rest
                .split_whitespace()
                .nth(1)
                .is_some_and(|w| w.starts_with("fn"))
        {
            kind = "fn";
            words.next();
        }
        let kind = kind.to_owned();
        let name = match kind.as_str() {
            "fn" | "struct" | "enum" | "trait" | "type" | "const" | "static" | "mod" | "union" => {
                words
                    .find(|w| !w.is_empty())
                    .map(|w| w.trim_start_matches("r#").to_owned())
            }
            _ => None,
        };
        Item {
            attrs,
            header,
            vis,
            kind,
            name,
            body,
            offset,
        }
    }

    /// Whether an attribute starts with `prefix` (`#[cfg(test)]`, `#[doc(hidden)]`).
    pub fn has_attr(&self, prefix: &str) -> bool {
        self.attrs.iter().any(|a| a.starts_with(prefix))
    }

    /// The header without its visibility.
    pub fn bare_header(&self) -> &str {
        match self.vis {
            Vis::Public => self.header.strip_prefix("pub ").unwrap_or(&self.header),
            Vis::Restricted => {
                let r = self.header.strip_prefix("pub(").unwrap_or(&self.header);
                r[r.find(')').map_or(0, |n| n + 1)..].trim_start()
            }
            Vis::Private => &self.header,
        }
    }
}

/// One module of a crate: its path (`["engine", "decide"]`), its file and its text.
pub struct Module {
    pub path: Vec<String>,
    pub file: PathBuf,
    pub source: Source,
    /// The range of `source` that is this module (all of it, or an inline module's braces).
    pub range: std::ops::Range<usize>,
    /// The `mod` item that declares it (`None` for the crate root).
    pub decl: Option<Item>,
    /// Whether it can be named from outside the crate.
    pub public: bool,
}

impl Module {
    pub fn items(&self) -> Vec<Item> {
        self.source.items(self.range.clone())
    }

    /// The top-level module it belongs to (`""` for the crate root).
    pub fn top(&self) -> &str {
        self.path.first().map_or("", String::as_str)
    }
}

/// Every module of the crate whose root is `root` (`src/lib.rs`, `src/main.rs`), following
/// `mod` declarations; `#[cfg(test)]` modules are left out.
pub fn modules(root: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let text = read(root);
    let source = Source::new(&text);
    let range = 0..source.mask.len();
    let dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
    walk(
        Vec::new(),
        root.to_path_buf(),
        dir,
        source,
        range,
        None,
        true,
        &mut out,
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn walk(
    path: Vec<String>,
    file: PathBuf,
    dir: PathBuf,
    source: Source,
    range: std::ops::Range<usize>,
    decl: Option<Item>,
    public: bool,
    out: &mut Vec<Module>,
) {
    let items = source.items(range.clone());
    let mut children = Vec::new();
    for item in &items {
        if item.kind != "mod" || item.has_attr("#[cfg(test)]") {
            continue;
        }
        let Some(name) = item.name.clone() else {
            continue;
        };
        let mut child = path.clone();
        child.push(name.clone());
        let child_public = public && item.vis == Vis::Public;
        match &item.body {
            Some(body) => children.push((
                child,
                file.clone(),
                dir.join(&name),
                None,
                Some(body.clone()),
                item.clone(),
                child_public,
            )),
            None => {
                let flat = dir.join(format!("{name}.rs"));
                let nested = dir.join(&name).join("mod.rs");
                let f = if flat.exists() { flat } else { nested };
                children.push((
                    child,
                    f,
                    dir.join(&name),
                    Some(()),
                    None,
                    item.clone(),
                    child_public,
                ));
            }
        }
    }
    out.push(Module {
        path,
        file,
        source,
        range,
        decl,
        public,
    });
    for (child, f, d, own_file, body, item, child_public) in children {
        if own_file.is_some() {
            let text = read(&f);
            let s = Source::new(&text);
            let r = 0..s.mask.len();
            walk(child, f, d, s, r, Some(item), child_public, out);
        } else if let Some(body) = body {
            let parent = out.iter().rev().find(|m| m.file == f).map(|m| &m.source);
            if let Some(p) = parent {
                let s = Source {
                    code: p.code.clone(),
                    mask: p.mask.clone(),
                };
                walk(child, f, d, s, body, Some(item), child_public, out);
            }
        }
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The paths a `use` tree names, each with the name it is bound to: `a::{b, c as d}` gives
/// `(["a", "b"], "b")` and `(["a", "c"], "d")`; a glob ends with `*`.
pub fn use_paths(tree: &str) -> Vec<(Vec<String>, String)> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    expand(&[], tree.trim(), &mut out);
    out
}

fn expand(prefix: &[String], tree: &str, out: &mut Vec<(Vec<String>, String)>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let mut base = prefix.to_vec();
        base.extend(segments(head));
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut from = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&base, &inner[from..i], out);
                    from = i + 1;
                }
                _ => {}
            }
        }
        expand(&base, &inner[from..], out);
        return;
    }
    if tree.is_empty() {
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), Some(a.trim().trim_start_matches("r#").to_owned())),
        None => (tree, None),
    };
    let mut full = prefix.to_vec();
    full.extend(segments(path));
    let last = full.last().cloned().unwrap_or_default();
    let name = match alias {
        Some(a) => a,
        None if last == "self" => {
            full.pop();
            full.last().cloned().unwrap_or_default()
        }
        None => last,
    };
    out.push((full, name));
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(|s| s.trim().trim_start_matches("r#").to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

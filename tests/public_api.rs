//! The public API, listed from the sources and compared with the committed listing
//! `tests/public-api.txt`: adding, removing or changing a public item (a function's signature,
//! a public field, an enum variant, a method, a trait implementation, a derive) fails this test
//! until the listing is written again, so every change of the API shows in a diff.
//!
//! ```text
//! UPDATE_PUBLIC_API=1 cargo test --test public_api    # writes tests/public-api.txt
//! ```
//!
//! The listing is read from the text of `src/` (`tests/support/rust_source.rs`), which works
//! on stable Rust (cargo-public-api needs nightly rustdoc). It follows `mod` declarations from
//! `src/lib.rs`, lists the items of the public modules and what their `pub use` re-exports
//! name, wherever those are defined, and for each type its public fields, variants, public
//! methods and trait implementations (auto traits aside: `src/lib.rs` asserts `Send + Sync`).
//! The unstable fuzz harness (`_internal_test_exports`) is left out. Signatures are listed as
//! written, white space squeezed.

#[path = "support/rust_source.rs"]
mod rust_source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_source::{Item, Module, Source, Vis, matching, modules, read, squeeze, use_paths};

const LISTING: &str = "tests/public-api.txt";

#[test]
fn the_public_api_is_the_committed_listing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listing = listing(&root.join("src/lib.rs"));
    let path = root.join(LISTING);
    if std::env::var_os("UPDATE_PUBLIC_API").is_some() {
        std::fs::write(&path, &listing).expect("the listing is written");
        return;
    }
    let committed = read(&path);
    if committed != listing {
        let old: BTreeSet<&str> = committed.lines().collect();
        let new: BTreeSet<&str> = listing.lines().collect();
        let mut diff = String::new();
        for line in old.difference(&new) {
            diff.push_str(&format!("- {line}\n"));
        }
        for line in new.difference(&old) {
            diff.push_str(&format!("+ {line}\n"));
        }
        panic!(
            "the public API differs from {LISTING} (- listed, + now):\n{diff}\nIf the change is \
             meant, write the listing again (UPDATE_PUBLIC_API=1 cargo test --test public_api) \
             and say so in CHANGELOG.md."
        );
    }
}

/// The listing: one line per public item, member and implementation, sorted.
fn listing(lib: &Path) -> String {
    let all = modules(lib);
    // The fuzz harness is not public API (feature `_internal_test_exports`).
    let internal: Vec<Vec<String>> = all
        .iter()
        .filter(|m| {
            m.decl
                .as_ref()
                .is_some_and(|d| d.has_attr("#[cfg(feature = \"_internal_test_exports\")]"))
        })
        .map(|m| m.path.clone())
        .collect();
    let mods: Vec<&Module> = all
        .iter()
        .filter(|m| !internal.iter().any(|p| m.path.starts_with(p)))
        .collect();
    let crate_ = Crate::new(&mods);
    let mut lines = BTreeSet::new();
    for m in mods.iter().filter(|m| m.public) {
        crate_.list_module(m, &public_path(&m.path), &mut lines, &mut BTreeSet::new());
    }
    let mut out = String::new();
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn public_path(path: &[String]) -> String {
    std::iter::once("restore_delta")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::")
}

/// An `impl` block: the trait it implements, if any, and the name of its self type.
struct Impl<'m> {
    module: &'m Module,
    item: Item,
    trait_name: Option<String>,
    self_name: String,
}

struct Crate<'m> {
    mods: Vec<&'m Module>,
    items: BTreeMap<Vec<String>, Vec<Item>>,
    impls: Vec<Impl<'m>>,
}

/// Attributes that are part of an item's API.
const KEPT_ATTRS: [&str; 11] = [
    "#[derive",
    "#[non_exhaustive",
    "#[must_use",
    "#[deprecated",
    "#[cfg(",
    "#[doc(hidden",
    "#[repr",
    "#[from",
    "#[source",
    "#[default",
    "#[serde",
];

fn attrs(item: &Item) -> String {
    item.attrs
        .iter()
        .filter(|a| KEPT_ATTRS.iter().any(|k| a.starts_with(k)))
        .map(|a| format!("{a} "))
        .collect()
}

impl<'m> Crate<'m> {
    fn new(mods: &[&'m Module]) -> Crate<'m> {
        let mut items = BTreeMap::new();
        let mut impls = Vec::new();
        for m in mods {
            let list = m.items();
            for item in &list {
                if item.kind == "impl" && !item.has_attr("#[cfg(test)]") {
                    let (trait_name, self_name) = impl_names(&item.header);
                    impls.push(Impl {
                        module: m,
                        item: item.clone(),
                        trait_name,
                        self_name,
                    });
                }
            }
            items.insert(m.path.clone(), list);
        }
        Crate {
            mods: mods.to_vec(),
            items,
            impls,
        }
    }

    fn module(&self, path: &[String]) -> Option<&'m Module> {
        self.mods.iter().copied().find(|m| m.path == path)
    }

    /// The items of a public module, under `at`.
    fn list_module(
        &self,
        m: &Module,
        at: &str,
        lines: &mut BTreeSet<String>,
        seen: &mut BTreeSet<Vec<String>>,
    ) {
        if !seen.insert(m.path.clone()) {
            return;
        }
        let decl_attrs = m.decl.as_ref().map(attrs).unwrap_or_default();
        lines.insert(format!("{at}: {decl_attrs}mod"));
        let Some(items) = self.items.get(&m.path) else {
            return;
        };
        for item in items {
            if item.vis != Vis::Public || item.has_attr("#[cfg(test)]") {
                continue;
            }
            match item.kind.as_str() {
                "impl" | "mod" => {}
                "use" => {
                    let tree = item.bare_header().trim_start_matches("use ").to_owned();
                    for (path, name) in use_paths(&tree) {
                        let extra = attrs(item);
                        self.list_reexport(m, &path, &format!("{at}::{name}"), &extra, lines);
                    }
                }
                _ => self.list_item(m, item, &format!("{at}::{}", name_of(item)), "", lines),
            }
        }
    }

    /// What a `pub use` names, listed under `at`.
    fn list_reexport(
        &self,
        from: &Module,
        path: &[String],
        at: &str,
        extra: &str,
        lines: &mut BTreeSet<String>,
    ) {
        let (base, last) = match path.split_last() {
            Some((last, base)) => (resolve_base(&from.path, base), last.clone()),
            None => return,
        };
        if last == "*" {
            if let Some(target) = self.module(&base) {
                let parent = at.trim_end_matches("::*");
                for item in self.items.get(&target.path).into_iter().flatten() {
                    if item.vis == Vis::Public && !matches!(item.kind.as_str(), "impl" | "use") {
                        let name = name_of(item);
                        self.list_item(target, item, &format!("{parent}::{name}"), extra, lines);
                    }
                }
            }
            return;
        }
        let mut module_path = base.clone();
        module_path.push(last.clone());
        if let Some(target) = self.module(&module_path) {
            lines.insert(format!("{at}: {extra}mod = {}", public_path(&module_path)));
            return self.list_module(target, at, lines, &mut BTreeSet::new());
        }
        match self.find(&base, &last) {
            Some((m, item)) => self.list_item(m, &item, at, extra, lines),
            None => match self.module(&base) {
                Some(m) if self.list_macro_made(m, &last, at, lines) => {}
                _ => {
                    lines.insert(format!("{at}: ? unresolved {}", path.join("::")));
                }
            },
        }
    }

    /// A type a `macro_rules!` of `m` defines (`RuleId`, the evolvable enums): the invocation
    /// that names it, the items the macro writes (`$name` made the type's name), and the
    /// implementations written outside it. False when no macro of `m` defines `name`.
    fn list_macro_made(
        &self,
        m: &Module,
        name: &str,
        at: &str,
        lines: &mut BTreeSet<String>,
    ) -> bool {
        let items = self.items.get(&m.path).cloned().unwrap_or_default();
        let text = |item: &Item| item.body.clone().map(|r| m.source.code[r].to_owned());
        let word = |hay: &str| {
            hay.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == name)
        };
        let mut found = false;
        for call in items.iter().filter(|i| i.header.ends_with('!')) {
            let macro_name = call.header.trim_end_matches('!');
            let Some(def) = items
                .iter()
                .find(|i| i.header.starts_with("macro_rules!") && i.header.ends_with(macro_name))
            else {
                continue;
            };
            let template = text(def).unwrap_or_default();
            let body = text(call).unwrap_or_default();
            let names_it = template.contains(&format!("enum {name}"))
                || template.contains(&format!("struct {name}"))
                || body.split('{').next().is_some_and(word);
            if !names_it {
                continue;
            }
            found = true;
            lines.insert(format!("{at}: {macro_name}! {{ {} }}", squeeze(&body)));
            for piece in template_items(&template) {
                lines.insert(format!(
                    "{at}: {macro_name}! writes {}",
                    piece.replace("$name", name)
                ));
            }
        }
        if found {
            for imp in self
                .impls
                .iter()
                .filter(|i| i.self_name == name && i.trait_name.is_some())
            {
                lines.insert(format!("{at}: {}{}", attrs(&imp.item), imp.item.header));
            }
        }
        found
    }

    /// Whether a type of this name is public somewhere (a trait implementation for a private
    /// type is no API).
    fn is_public_type(&self, name: &str) -> bool {
        let mut defined = false;
        for items in self.items.values() {
            for item in items {
                if item.name.as_deref() == Some(name)
                    && matches!(
                        item.kind.as_str(),
                        "struct" | "enum" | "type" | "union" | "trait"
                    )
                {
                    defined = true;
                    if item.vis == Vis::Public {
                        return true;
                    }
                }
            }
        }
        // A generic parameter (`impl<F: …> IdSource for F`), or a macro-made type.
        !defined
    }

    /// The definition named `name` in the module at `path`, following `use` items.
    fn find(&self, path: &[String], name: &str) -> Option<(&'m Module, Item)> {
        let m = self.module(path)?;
        let items = self.items.get(path)?;
        if let Some(item) = items
            .iter()
            .find(|i| i.name.as_deref() == Some(name) && i.kind != "mod")
        {
            return Some((m, item.clone()));
        }
        for item in items.iter().filter(|i| i.kind == "use") {
            let tree = item.bare_header().trim_start_matches("use ").to_owned();
            for (p, bound) in use_paths(&tree) {
                if bound == name
                    && let Some((last, base)) = p.split_last()
                {
                    return self.find(&resolve_base(&m.path, base), last);
                }
            }
        }
        None
    }

    fn list_item(
        &self,
        m: &Module,
        item: &Item,
        at: &str,
        extra: &str,
        lines: &mut BTreeSet<String>,
    ) {
        let head = format!("{at}: {extra}{}{}", attrs(item), item.bare_header());
        lines.insert(head);
        let name = name_of(item);
        let body = item
            .body
            .clone()
            .map(|r| m.source.code[r.clone()].to_owned());
        let mask = item.body.clone().map(|r| m.source.mask[r].to_owned());
        match item.kind.as_str() {
            "struct" => {
                if let (Some(body), Some(mask)) = (&body, &mask) {
                    for field in fields(body, mask) {
                        if let Some(f) = field.strip_prefix("pub ") {
                            lines.insert(format!("{at}.{f}"));
                        }
                    }
                }
            }
            "enum" => {
                if let (Some(body), Some(mask)) = (&body, &mask) {
                    for variant in fields(body, mask) {
                        lines.insert(format!("{at}::{variant}"));
                    }
                }
            }
            "trait" => {
                if let Some(range) = &item.body {
                    for member in m.source.items(range.clone()) {
                        lines.insert(format!("{at}::{}{}", attrs(&member), member.header));
                    }
                }
                for imp in self.impls.iter().filter(|i| {
                    i.trait_name.as_deref() == Some(&name) && self.is_public_type(&i.self_name)
                }) {
                    lines.insert(format!("{at}: {}{}", attrs(&imp.item), imp.item.header));
                }
            }
            _ => {}
        }
        if matches!(item.kind.as_str(), "struct" | "enum" | "type" | "union") {
            for imp in self.impls.iter().filter(|i| i.self_name == name) {
                match &imp.trait_name {
                    Some(_) => {
                        lines.insert(format!("{at}: {}{}", attrs(&imp.item), imp.item.header));
                    }
                    None => {
                        let Some(range) = &imp.item.body else {
                            continue;
                        };
                        for member in imp.module.source.items(range.clone()) {
                            if member.vis == Vis::Public {
                                lines.insert(format!(
                                    "{at}::{}{}{}",
                                    attrs(&imp.item),
                                    attrs(&member),
                                    member.bare_header()
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
}

fn name_of(item: &Item) -> String {
    item.name.clone().unwrap_or_default()
}

/// A `use` path's module, from the module it is written in.
fn resolve_base(from: &[String], base: &[String]) -> Vec<String> {
    let mut out: Vec<String>;
    let mut rest = base;
    match base.first().map(String::as_str) {
        Some("crate") => {
            out = Vec::new();
            rest = &base[1..];
        }
        Some("self") => {
            out = from.to_vec();
            rest = &base[1..];
        }
        Some("super") => {
            out = from.to_vec();
            while rest.first().map(String::as_str) == Some("super") {
                out.pop();
                rest = &rest[1..];
            }
        }
        _ => out = from.to_vec(),
    }
    out.extend(rest.iter().cloned());
    out
}

/// The trait and the self type's name of an `impl` header.
fn impl_names(header: &str) -> (Option<String>, String) {
    let mut h = header
        .trim_start_matches("unsafe ")
        .trim_start_matches("impl")
        .trim_start();
    if h.starts_with('<') {
        h = h[angle_end(h)..].trim_start();
    }
    let h = h.split(" where ").next().unwrap_or(h);
    let (trait_part, self_part) = match split_for(h) {
        Some((t, s)) => (Some(t), s),
        None => (None, h),
    };
    let base = |t: &str| {
        let t = t
            .trim()
            .trim_start_matches('&')
            .trim_start_matches("mut ")
            .trim_start_matches('!');
        let t = t.split('<').next().unwrap_or(t);
        t.rsplit("::").next().unwrap_or(t).trim().to_owned()
    };
    (trait_part.map(base), base(self_part))
}

/// Where a leading `<…>` ends (`->` inside is no bracket).
fn angle_end(s: &str) -> usize {
    let b = s.as_bytes();
    let mut depth = 0;
    for i in 0..b.len() {
        match b[i] {
            b'<' => depth += 1,
            b'>' if i > 0 && b[i - 1] == b'-' => {}
            b'>' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// `Trait for Type` split at its ` for ` outside angle brackets.
fn split_for(h: &str) -> Option<(&str, &str)> {
    let b = h.as_bytes();
    let mut depth = 0;
    for i in 0..b.len() {
        match b[i] {
            b'<' => depth += 1,
            b'>' if i > 0 && b[i - 1] == b'-' => {}
            b'>' => depth -= 1,
            b' ' if depth == 0 && h[i..].starts_with(" for ") => {
                return Some((&h[..i], &h[i + 5..]));
            }
            _ => {}
        }
    }
    None
}

/// The comma-separated parts of a struct's or an enum's body, white space squeezed, with their
/// API attributes (`#[from]`, `#[source]`, `#[default]`) and without the others.
fn fields(body: &str, mask: &str) -> Vec<String> {
    split_top(body, mask)
        .into_iter()
        .map(|part| {
            let s = Source::new(&part);
            let b = s.mask.as_bytes();
            let mut kept = String::new();
            let mut i = 0;
            loop {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i < b.len() && b[i] == b'#' {
                    let open = s.mask[i..].find('[').map_or(b.len(), |n| i + n);
                    let close = matching(b, open, b'[', b']');
                    let attr = squeeze(&s.code[i..close]);
                    if KEPT_ATTRS.iter().any(|k| attr.starts_with(k)) {
                        kept.push_str(&attr);
                        kept.push(' ');
                    }
                    i = close;
                } else {
                    break;
                }
            }
            format!("{kept}{}", squeeze(&s.code[i..]))
        })
        .filter(|f| !f.trim().is_empty())
        .collect()
}

/// `body` cut at the commas outside brackets (`mask` tells brackets in literals apart).
fn split_top(body: &str, mask: &str) -> Vec<String> {
    let b = mask.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut from = 0;
    for i in 0..b.len() {
        match b[i] {
            b'(' | b'[' | b'{' | b'<' => depth += 1,
            b'>' if i > 0 && b[i - 1] == b'-' => {}
            b')' | b']' | b'}' | b'>' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(body[from..i].to_owned());
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(body[from..].to_owned());
    parts
}

/// The headers of the items a `macro_rules!` template writes (`pub enum $name`, `pub fn …`,
/// `impl fmt::Display for $name`) and the attributes before them that are API.
fn template_items(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = template.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let rest = &template[i..];
        let starts = [
            "pub ",
            "impl ",
            "#[derive",
            "#[non_exhaustive",
            "#[must_use",
        ];
        match starts.iter().find(|s| at_word && rest.starts_with(*s)) {
            Some(s) if s.starts_with('#') => {
                let end = rest.find(']').map_or(rest.len(), |n| n + 1);
                out.push(squeeze(&rest[..end]));
                i += end;
            }
            Some(_) => {
                let end = rest.find(['{', ';', '=']).unwrap_or(rest.len());
                out.push(squeeze(&rest[..end]));
                i += end.max(1);
            }
            None => i += 1,
        }
    }
    out
}

//! `$filter` (rules Q4, Q9): a hand-written lexer and recursive-descent parser, typed against
//! the schema as it parses, and the evaluation of the expression on one item's values.
//!
//! Grammar (OData 4.01 URL Conventions §5.1.1, with the precedence of §5.1.1.17; keywords and
//! function names without regard to case):
//!
//! ```text
//! or      = and *( "or" and )
//! and     = compare *( "and" compare )
//! compare = unary [ ( "eq" / "ne" / "gt" / "ge" / "lt" / "le" ) unary ]
//! unary   = "not" unary / primary
//! primary = "(" or ")" / literal / path / ( "startswith" / "endswith" / "contains" ) "(" or "," or ")"
//! ```
//!
//! Recursion is bounded by [`MAX_FILTER_DEPTH`] (each `(`, `not` and function call is a level)
//! and the number of comparisons and calls by [`MAX_FILTER_TERMS`]; `and`/`or` chains are kept
//! flat, so evaluation recurses no deeper than parsing did.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::lifecycle::query::schema::{self, Entity, EnumType, Ty};
use crate::lifecycle::query::value::{self, Reads, Val, is_late};
use crate::lifecycle::query::{MAX_FILTER_DEPTH, MAX_FILTER_TERMS};
use crate::model::time::Timestamp;
use crate::rule::RuleId;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A string function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrFn {
    StartsWith,
    EndsWith,
    Contains,
}

/// A Boolean expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Cmp(Op, Operand, Operand),
    Func(StrFn, Operand, Operand),
    /// Rule Q9: without `Prefer: include-unknown-enum-members`, `x eq 'unknownFutureValue'`
    /// holds for every value of `x` after the sentinel of its enumeration (and `ne` for the
    /// others: the flag is the negation).
    Late(Operand, EnumType, bool),
    /// `true` or `false` standing alone.
    Lit(bool),
}

/// One side of a comparison or an argument of a function.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    /// The value of the query's path number `n` (see [`Reads`]).
    Path(usize),
    Lit(Val<'static>),
    Node(Box<Node>),
}

/// A parsed filter. Its meaning is fixed when it is parsed (rule Q9 reads the preference then).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Filter {
    pub(crate) root: Node,
}

/// Why a filter is refused: the rule and the message's core (the caller adds "Invalid filter
/// clause: " and where).
pub(crate) struct FilterError {
    pub(crate) rule: RuleId,
    pub(crate) message: String,
    pub(crate) at: Option<usize>,
}

fn err(rule: RuleId, at: Option<usize>, message: impl Into<String>) -> FilterError {
    FilterError {
        rule,
        message: message.into(),
        at,
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok<'t> {
    LParen,
    RParen,
    Comma,
    Slash,
    /// A name, keyword or qualified name (`microsoft.graph.x`).
    Ident(&'t str),
    Str(String),
    Num(f64),
    Time(Timestamp),
    /// `Namespace.Type'member'`.
    Qualified(&'t str, String),
    End,
}

struct Lexer<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Lexer<'t> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.text.as_bytes().get(i).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.byte(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// The next token and where it starts.
    fn next(&mut self) -> Result<(Tok<'t>, usize), FilterError> {
        self.skip_space();
        let start = self.pos;
        let Some(b) = self.byte(start) else {
            return Ok((Tok::End, start));
        };
        let tok = match b {
            b'(' => {
                self.pos += 1;
                Tok::LParen
            }
            b')' => {
                self.pos += 1;
                Tok::RParen
            }
            b',' => {
                self.pos += 1;
                Tok::Comma
            }
            b'/' => {
                self.pos += 1;
                Tok::Slash
            }
            b'\'' => Tok::Str(self.string()?),
            b'-' | b'0'..=b'9' => self.number_or_time(start)?,
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while matches!(self.byte(self.pos), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                {
                    self.pos += 1;
                }
                let name = self.text.get(start..self.pos).unwrap_or_default();
                if self.byte(self.pos) == Some(b'\'') {
                    Tok::Qualified(name, self.string()?)
                } else {
                    Tok::Ident(name)
                }
            }
            _ => {
                let c = self
                    .text
                    .get(start..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                return Err(err(
                    RuleId::Q4,
                    Some(start),
                    format!("unexpected character '{c}'"),
                ));
            }
        };
        Ok((tok, start))
    }

    /// A `'…'` literal (`''` is one quote), the cursor on its opening quote.
    fn string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = self.text.get(self.pos..).unwrap_or_default();
            let Some(q) = rest.find('\'') else {
                return Err(err(RuleId::Q4, Some(open), "unterminated string literal"));
            };
            out.push_str(rest.get(..q).unwrap_or_default());
            self.pos += q + 1;
            if self.byte(self.pos) == Some(b'\'') {
                out.push('\'');
                self.pos += 1;
            } else {
                return Ok(out);
            }
        }
    }

    /// A number (`-12`, `1.5`, `2e3`) or, four digits and a `-` on, a date-time literal.
    fn number_or_time(&mut self, start: usize) -> Result<Tok<'t>, FilterError> {
        let digits_at = |l: &Self, from: usize| {
            let mut i = from;
            while matches!(l.byte(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            i
        };
        let first = if self.byte(start) == Some(b'-') {
            start + 1
        } else {
            start
        };
        let end_int = digits_at(self, first);
        if end_int == first {
            return Err(err(
                RuleId::Q4,
                Some(start),
                "'-' only starts a negative number (arithmetic operators are not supported)",
            ));
        }
        if first == start && end_int - start == 4 && self.byte(end_int) == Some(b'-') {
            // A date or date-time: take every character such a literal can hold.
            let mut i = end_int;
            while matches!(self.byte(i), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b':' | b'.' | b'+' | b'-'))
            {
                i += 1;
            }
            self.pos = i;
            let text = self.text.get(start..i).unwrap_or_default();
            return date_time(text)
                .map(Tok::Time)
                .ok_or_else(|| {
                    err(
                        RuleId::Q4,
                        Some(start),
                        format!(
                            "'{text}' is not an Edm.DateTimeOffset literal (write YYYY-MM-DDThh:mm[:ss[.fff]] and Z or ±hh:mm, unquoted; encode '+' as %2B)"
                        ),
                    )
                });
        }
        let mut i = end_int;
        if self.byte(i) == Some(b'.') {
            let after = digits_at(self, i + 1);
            if after == i + 1 {
                return Err(err(RuleId::Q4, Some(start), "a digit must follow '.'"));
            }
            i = after;
        }
        if matches!(self.byte(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(self.byte(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let after = digits_at(self, j);
            if after == j {
                return Err(err(RuleId::Q4, Some(start), "an exponent needs digits"));
            }
            i = after;
        }
        if matches!(self.byte(i), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            return Err(err(
                RuleId::Q4,
                Some(start),
                "a number literal runs into a name (typed literals such as 1L or 1.5M are not supported)",
            ));
        }
        self.pos = i;
        let text = self.text.get(start..i).unwrap_or_default();
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Tok::Num(n)),
            _ => Err(err(
                RuleId::Q4,
                Some(start),
                format!("'{text}' is not a finite number"),
            )),
        }
    }
}

/// An OData `dateTimeOffsetValue`: RFC 3339, seconds optional.
fn date_time(text: &str) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        return Some(t);
    }
    // `YYYY-MM-DDThh:mm` then the offset: seconds are optional in OData's ABNF.
    let (head, tail) = (text.get(..16)?, text.get(16..)?);
    if tail.starts_with(['Z', 'z', '+', '-']) {
        return Timestamp::parse_rfc3339(&format!("{head}:00{tail}")).ok();
    }
    None
}

// ---------------------------------------------------------------- parser

/// What an operand is, for type checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum T {
    Bool,
    Str,
    /// A string literal: a string, or an enum member when compared with an enum.
    StrLit,
    Num,
    Time,
    Enum(EnumType),
    Complex,
    Null,
}

impl T {
    fn of(ty: Ty) -> T {
        match ty {
            Ty::String => T::Str,
            Ty::Int32 => T::Num,
            Ty::DateTime => T::Time,
            Ty::Enum(e) => T::Enum(e),
            Ty::Complex(_) | Ty::Collection => T::Complex,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            T::Bool => "Edm.Boolean",
            T::Str | T::StrLit => "Edm.String",
            T::Num => "a number",
            T::Time => "Edm.DateTimeOffset",
            T::Enum(e) => e.name(),
            T::Complex => "a complex value",
            T::Null => "null",
        }
    }
}

struct Parser<'t, 'r> {
    lexer: Lexer<'t>,
    /// The next token, read ahead.
    peeked: (Tok<'t>, usize),
    entity: Entity,
    reads: &'r mut Reads,
    include_unknown: bool,
    depth: usize,
    terms: usize,
}

/// Parses `text` as a filter on `entity`; the paths it reads are added to `reads`.
/// `include_unknown`: the request asked `Prefer: include-unknown-enum-members` (rule Q9).
pub(crate) fn parse(
    text: &str,
    entity: Entity,
    reads: &mut Reads,
    include_unknown: bool,
) -> Result<Filter, FilterError> {
    let mut lexer = Lexer { text, pos: 0 };
    let peeked = lexer.next()?;
    let mut p = Parser {
        lexer,
        peeked,
        entity,
        reads,
        include_unknown,
        depth: 0,
        terms: 0,
    };
    if p.peeked.0 == Tok::End {
        return Err(err(RuleId::Q4, Some(0), "the expression is empty"));
    }
    let (operand, t) = p.or()?;
    if p.peeked.0 != Tok::End {
        let at = p.peeked.1;
        return Err(match &p.peeked.0 {
            Tok::Ident(w) if is_unsupported_operator(w) => unsupported_operator(w, at),
            _ => err(
                RuleId::Q4,
                Some(at),
                "an operator ('and', 'or', 'eq', …) or the end was expected",
            ),
        });
    }
    let root = p.boolean(operand, t, 0, "the expression")?;
    Ok(Filter { root })
}

fn is_unsupported_operator(word: &str) -> bool {
    const OTHERS: [&str; 8] = ["has", "in", "add", "sub", "mul", "div", "divby", "mod"];
    OTHERS.iter().any(|o| o.eq_ignore_ascii_case(word))
}

fn unsupported_operator(word: &str, at: usize) -> FilterError {
    err(
        RuleId::Q4,
        Some(at),
        format!(
            "the operator '{word}' is not supported (supported: eq, ne, gt, ge, lt, le, and, or, not)"
        ),
    )
}

fn comparison(word: &str) -> Option<Op> {
    const OPS: [(&str, Op); 6] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("gt", Op::Gt),
        ("ge", Op::Ge),
        ("lt", Op::Lt),
        ("le", Op::Le),
    ];
    OPS.iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map(|(_, op)| *op)
}

fn keyword(tok: &Tok<'_>, word: &str) -> bool {
    matches!(tok, Tok::Ident(w) if w.eq_ignore_ascii_case(word))
}

impl<'t> Parser<'t, '_> {
    fn advance(&mut self) -> Result<(Tok<'t>, usize), FilterError> {
        let next = self.lexer.next()?;
        Ok(std::mem::replace(&mut self.peeked, next))
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(err(
                RuleId::Q8,
                Some(at),
                format!("the expression nests deeper than {MAX_FILTER_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn term(&mut self, at: usize) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            return Err(err(
                RuleId::Q8,
                Some(at),
                format!(
                    "the expression has more than {MAX_FILTER_TERMS} terms (comparisons, function calls and Boolean literals)"
                ),
            ));
        }
        Ok(())
    }

    /// An operand used where a Boolean is needed.
    fn boolean(&mut self, o: Operand, t: T, at: usize, what: &str) -> Result<Node, FilterError> {
        if t != T::Bool {
            let hint = if what.starts_with("'not'") {
                " (write not (a eq b): 'not' binds tighter than comparisons)"
            } else {
                ""
            };
            return Err(err(
                RuleId::Q4,
                Some(at),
                format!("{what} must be Boolean, not {}{hint}", t.describe()),
            ));
        }
        Ok(match o {
            Operand::Node(n) => *n,
            Operand::Lit(Val::Bool(b)) => {
                self.term(at)?;
                Node::Lit(b)
            }
            // Typing gives a Boolean operand only as a node or a literal.
            _ => Node::Lit(false),
        })
    }

    fn or(&mut self) -> Result<(Operand, T), FilterError> {
        self.chain("or", Parser::and, Node::Or)
    }

    fn and(&mut self) -> Result<(Operand, T), FilterError> {
        self.chain("and", Parser::compare, Node::And)
    }

    /// `next *( word next )`, kept flat.
    fn chain(
        &mut self,
        word: &str,
        next: fn(&mut Self) -> Result<(Operand, T), FilterError>,
        make: fn(Vec<Node>) -> Node,
    ) -> Result<(Operand, T), FilterError> {
        let at = self.peeked.1;
        let first = next(self)?;
        if !keyword(&self.peeked.0, word) {
            return Ok(first);
        }
        let what = format!("an operand of '{word}'");
        let mut nodes = vec![self.boolean(first.0, first.1, at, &what)?];
        while keyword(&self.peeked.0, word) {
            self.advance()?;
            let at = self.peeked.1;
            let (o, t) = next(self)?;
            nodes.push(self.boolean(o, t, at, &what)?);
        }
        Ok((Operand::Node(Box::new(make(nodes))), T::Bool))
    }

    fn compare(&mut self) -> Result<(Operand, T), FilterError> {
        let at = self.peeked.1;
        let left = self.unary()?;
        let op = match &self.peeked.0 {
            Tok::Ident(w) => match comparison(w) {
                Some(op) => op,
                None if is_unsupported_operator(w) => {
                    return Err(unsupported_operator(w, self.peeked.1));
                }
                None => return Ok(left),
            },
            _ => return Ok(left),
        };
        self.term(self.peeked.1)?;
        self.advance()?;
        let right_at = self.peeked.1;
        let right = self.unary()?;
        let node = self.typecheck(op, left, right, at, right_at)?;
        Ok((Operand::Node(Box::new(node)), T::Bool))
    }

    /// Checks that the two sides compare, turning a string literal into an enum member when
    /// the other side is an enum (rule Q9 for members after the sentinel).
    fn typecheck(
        &self,
        op: Op,
        (l, lt): (Operand, T),
        (r, rt): (Operand, T),
        at: usize,
        right_at: usize,
    ) -> Result<Node, FilterError> {
        let (l, r) = self.coerce(op, (l, lt), (r, rt), at, right_at)?;
        if matches!(op, Op::Eq | Op::Ne) && !self.include_unknown {
            let e = match (lt, rt) {
                (T::Enum(e), _) | (_, T::Enum(e)) => Some(e),
                _ => None,
            };
            let sentinel = |o: &Operand| matches!(o, Operand::Lit(Val::Enum(_, name)) if name == "unknownFutureValue");
            if let Some(e) = e {
                match (sentinel(&l), sentinel(&r)) {
                    (false, true) => return Ok(Node::Late(l, e, op == Op::Ne)),
                    (true, false) => return Ok(Node::Late(r, e, op == Op::Ne)),
                    _ => {}
                }
            }
        }
        Ok(Node::Cmp(op, l, r))
    }

    /// The two sides of a comparison, typed.
    fn coerce(
        &self,
        op: Op,
        (l, lt): (Operand, T),
        (r, rt): (Operand, T),
        at: usize,
        right_at: usize,
    ) -> Result<(Operand, Operand), FilterError> {
        let mismatch = || {
            err(
                RuleId::Q4,
                Some(at),
                format!("{} can't be compared with {}", lt.describe(), rt.describe()),
            )
        };
        let ordering = !matches!(op, Op::Eq | Op::Ne);
        match (lt, rt) {
            (T::Complex, T::Null) | (T::Null, T::Complex) if !ordering => Ok((l, r)),
            (T::Complex, _) | (_, T::Complex) => Err(err(
                RuleId::Q4,
                Some(at),
                "a complex value can only be compared with null, by eq or ne",
            )),
            (T::Null, _) | (_, T::Null) => Ok((l, r)),
            (T::Str | T::StrLit, T::Str | T::StrLit) | (T::Num, T::Num) | (T::Time, T::Time) => {
                Ok((l, r))
            }
            (T::Bool, T::Bool) => Ok((l, r)),
            (T::Enum(a), T::Enum(b)) if a == b => Ok((l, r)),
            (T::Enum(e), T::StrLit) => Ok((l, self.member(e, r, right_at)?)),
            (T::StrLit, T::Enum(e)) => Ok((self.member(e, l, at)?, r)),
            _ => Err(mismatch()),
        }
    }

    /// A string literal as a member of `e`.
    fn member(&self, e: EnumType, lit: Operand, at: usize) -> Result<Operand, FilterError> {
        let Operand::Lit(Val::Str(name)) = lit else {
            return Ok(lit);
        };
        self.enum_literal(e, name.into_owned(), at)
    }

    fn enum_literal(&self, e: EnumType, name: String, at: usize) -> Result<Operand, FilterError> {
        let Some(rank) = e.rank(&name) else {
            let members: Vec<&str> = e.members().iter().map(|(n, _)| *n).collect();
            return Err(err(
                RuleId::Q4,
                Some(at),
                format!(
                    "'{name}' is not a member of {} (members: {})",
                    e.name(),
                    members.join(", ")
                ),
            ));
        };
        if is_late(e, rank) && !self.include_unknown {
            return Err(err(
                RuleId::Q9,
                Some(at),
                format!(
                    "'{name}' comes after 'unknownFutureValue' in {}: it needs the request header 'Prefer: include-unknown-enum-members'",
                    e.name()
                ),
            ));
        }
        Ok(Operand::Lit(Val::Enum(rank, Cow::Owned(name))))
    }

    fn unary(&mut self) -> Result<(Operand, T), FilterError> {
        if keyword(&self.peeked.0, "not") {
            let (_, at) = self.advance()?;
            self.enter(at)?;
            let operand_at = self.peeked.1;
            let (o, t) = self.unary()?;
            let node = self.boolean(o, t, operand_at, "'not' applies to an operand that")?;
            self.depth -= 1;
            return Ok((Operand::Node(Box::new(Node::Not(Box::new(node)))), T::Bool));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<(Operand, T), FilterError> {
        let (tok, at) = self.advance()?;
        match tok {
            Tok::LParen => {
                self.enter(at)?;
                let inner = self.or()?;
                self.expect_close(at)?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Str(s) => Ok((Operand::Lit(Val::Str(Cow::Owned(s))), T::StrLit)),
            Tok::Num(n) => Ok((Operand::Lit(Val::Num(n)), T::Num)),
            Tok::Time(t) => Ok((Operand::Lit(Val::Time(t)), T::Time)),
            Tok::Qualified(ty, member) => {
                let e = [
                    EnumType::SessionStatus,
                    EnumType::RestoreJobType,
                    EnumType::DestinationType,
                    EnumType::ArtifactStatus,
                ]
                .into_iter()
                .find(|e| e.name().eq_ignore_ascii_case(ty))
                .ok_or_else(|| {
                    err(
                        RuleId::Q4,
                        Some(at),
                        format!(
                            "'{ty}' names no enumeration of this API (typed literals other than enum members are not supported)"
                        ),
                    )
                })?;
                Ok((self.enum_literal(e, member, at)?, T::Enum(e)))
            }
            Tok::Ident(word) => self.name(word, at),
            Tok::End => Err(err(
                RuleId::Q4,
                Some(at),
                "the expression ends where an operand was expected",
            )),
            Tok::RParen | Tok::Comma | Tok::Slash => {
                Err(err(RuleId::Q4, Some(at), "an operand was expected"))
            }
        }
    }

    fn expect_close(&mut self, open: usize) -> Result<(), FilterError> {
        match self.advance()? {
            (Tok::RParen, _) => Ok(()),
            (_, at) => Err(err(
                RuleId::Q4,
                Some(at),
                format!("')' expected to close the '(' at position {open}"),
            )),
        }
    }

    /// A keyword literal, a function call or a property path.
    fn name(&mut self, word: &'t str, at: usize) -> Result<(Operand, T), FilterError> {
        for (w, v, t) in [
            ("true", Val::Bool(true), T::Bool),
            ("false", Val::Bool(false), T::Bool),
            ("null", Val::Null, T::Null),
        ] {
            if word.eq_ignore_ascii_case(w) {
                return Ok((Operand::Lit(v), t));
            }
        }
        if self.peeked.0 == Tok::LParen {
            return self.call(word, at);
        }
        let mut segments = vec![word];
        while self.peeked.0 == Tok::Slash {
            self.advance()?;
            match self.advance()? {
                (Tok::Ident(seg), seg_at) => {
                    if self.peeked.0 == Tok::LParen {
                        return Err(err(
                            RuleId::Q4,
                            Some(seg_at),
                            format!(
                                "'{seg}(…)' after a path is not supported (no lambda operators or bound functions)"
                            ),
                        ));
                    }
                    segments.push(seg);
                }
                (_, seg_at) => {
                    return Err(err(
                        RuleId::Q4,
                        Some(seg_at),
                        "a property name must follow '/'",
                    ));
                }
            }
        }
        if let Some(seg) = segments.iter().find(|s| s.contains('.')) {
            return Err(err(
                RuleId::Q4,
                Some(at),
                format!("'{seg}' is not a property (type casts are not supported in $filter)"),
            ));
        }
        let path =
            schema::resolve(self.entity, &segments).map_err(|m| err(RuleId::Q4, Some(at), m))?;
        let t = T::of(path.ty);
        if path.ty == Ty::Collection {
            return Err(err(
                RuleId::Q4,
                Some(at),
                format!(
                    "'{}' is a collection, which $filter can't compare",
                    path.text()
                ),
            ));
        }
        Ok((Operand::Path(self.reads.add(path)), t))
    }

    fn call(&mut self, name: &str, at: usize) -> Result<(Operand, T), FilterError> {
        let f = match name.to_ascii_lowercase().as_str() {
            "startswith" => StrFn::StartsWith,
            "endswith" => StrFn::EndsWith,
            "contains" => StrFn::Contains,
            _ => {
                return Err(err(
                    RuleId::Q4,
                    Some(at),
                    format!(
                        "the function '{name}' is not supported (supported: startswith, endswith, contains)"
                    ),
                ));
            }
        };
        self.term(at)?;
        self.enter(at)?;
        self.advance()?; // `(`
        let mut args = Vec::with_capacity(2);
        loop {
            let arg_at = self.peeked.1;
            let (o, t) = self.or()?;
            if !matches!(t, T::Str | T::StrLit | T::Null) {
                return Err(err(
                    RuleId::Q4,
                    Some(arg_at),
                    format!("'{name}' takes strings, not {}", t.describe()),
                ));
            }
            args.push(o);
            match self.advance()? {
                (Tok::Comma, _) if args.len() < 2 => continue,
                (Tok::RParen, _) if args.len() == 2 => break,
                (_, at) => {
                    return Err(err(
                        RuleId::Q4,
                        Some(at),
                        format!("'{name}' takes exactly two arguments"),
                    ));
                }
            }
        }
        self.depth -= 1;
        let mut args = args.into_iter();
        match (args.next(), args.next()) {
            (Some(a), Some(b)) => Ok((Operand::Node(Box::new(Node::Func(f, a, b))), T::Bool)),
            _ => Err(err(
                RuleId::Q4,
                Some(at),
                format!("'{name}' takes exactly two arguments"),
            )),
        }
    }
}

// ---------------------------------------------------------------- evaluation

impl Filter {
    /// Whether the item whose path values are `vals` passes: the expression is `true` (not
    /// `false`, not `null`).
    pub(crate) fn passes(&self, vals: &[Val<'_>]) -> bool {
        eval(&self.root, vals) == Some(true)
    }
}

/// Three-valued logic (OData 4.01 §5.1.1.1.7–9): `null` only from a function with a `null`
/// argument.
fn eval(node: &Node, vals: &[Val<'_>]) -> Option<bool> {
    match node {
        Node::Lit(b) => Some(*b),
        Node::Not(inner) => eval(inner, vals).map(|b| !b),
        Node::And(nodes) => {
            let mut unknown = false;
            for n in nodes {
                match eval(n, vals) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            (!unknown).then_some(true)
        }
        Node::Or(nodes) => {
            let mut unknown = false;
            for n in nodes {
                match eval(n, vals) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            (!unknown).then_some(false)
        }
        Node::Cmp(op, l, r) => {
            let (l, r) = (operand(l, vals), operand(r, vals));
            Some(compare(*op, &l, &r))
        }
        Node::Late(o, e, negate) => {
            let late = matches!(&*operand(o, vals), Val::Enum(rank, _) if *rank >= e.sentinel());
            Some(late != *negate)
        }
        Node::Func(f, a, b) => {
            let (a, b) = (operand(a, vals), operand(b, vals));
            match (&*a, &*b) {
                (Val::Str(a), Val::Str(b)) => Some(match f {
                    StrFn::StartsWith => a.starts_with(b.as_ref()),
                    StrFn::EndsWith => a.ends_with(b.as_ref()),
                    StrFn::Contains => a.contains(b.as_ref()),
                }),
                _ => None,
            }
        }
    }
}

fn operand<'v, 'a>(o: &'v Operand, vals: &'v [Val<'a>]) -> Cow<'v, Val<'a>> {
    match o {
        Operand::Path(i) => vals.get(*i).map_or(Cow::Owned(Val::Null), Cow::Borrowed),
        Operand::Lit(v) => Cow::Borrowed(v),
        Operand::Node(n) => Cow::Owned(eval(n, vals).map_or(Val::Null, Val::Bool)),
    }
}

/// A comparison (OData 4.01 §5.1.1.1.1–6): `eq`/`ne` with `null` by identity; an ordering
/// operator with one `null` side is false, with both `null` true for `ge`/`le` only.
fn compare(op: Op, l: &Val<'_>, r: &Val<'_>) -> bool {
    let ord = match (l, r) {
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Null, _) | (_, Val::Null) => return op == Op::Ne,
        _ => value::order(l, r),
    };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
    }
}

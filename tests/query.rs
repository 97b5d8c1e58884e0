//! The query-option rules Q1–Q9 of docs/SEMANTICS.md (`restore_delta::lifecycle::query`), one
//! test or a few per rule, named by rule id; the byte-identity of option-less reads with rule
//! L9's functions; and the query vectors of `tests/query-vectors/` (format: docs/VECTORS.md,
//! "Query vectors").

use std::collections::BTreeSet;
use std::path::PathBuf;

use restore_delta::lifecycle::query::{
    self, DEFAULT_TOP, MAX_EXPANDED, MAX_FILTER_DEPTH, MAX_FILTER_TERMS, MAX_OPTION_BYTES,
    MAX_ORDERBY, MAX_SKIPTOKEN_BYTES, MAX_TOP, Page, Query, QueryError, SessionLister, Target,
};
use restore_delta::lifecycle::{render_artifacts, render_session};
use restore_delta::{ArtifactCollection, Options, RuleId, Session, SessionKind};
use serde_json::{Value, json};

const OD: &str = "#microsoft.graph.oneDriveForBusinessRestoreSession";
const SP: &str = "#microsoft.graph.sharePointRestoreSession";
const EX: &str = "#microsoft.graph.exchangeRestoreSession";
const DRIVE: ArtifactCollection = ArtifactCollection::DriveRestoreArtifacts;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn parse_with(target: Target, list: &[(&str, &str)], o: &Options) -> Result<Query, QueryError> {
    Query::parse(target, &pairs(list), o)
}

fn parse(target: Target, list: &[(&str, &str)]) -> Result<Query, QueryError> {
    parse_with(target, list, &Options::default())
}

fn ok(target: Target, list: &[(&str, &str)]) -> Query {
    parse(target, list).unwrap_or_else(|e| panic!("{list:?}: {e}"))
}

#[track_caller]
fn refused(target: Target, list: &[(&str, &str)], rule: RuleId, needle: &str) -> QueryError {
    refused_with(target, list, &Options::default(), rule, needle)
}

#[track_caller]
fn refused_with(
    target: Target,
    list: &[(&str, &str)],
    o: &Options,
    rule: RuleId,
    needle: &str,
) -> QueryError {
    let e = parse_with(target, list, o).expect_err(&format!("{list:?} is refused"));
    assert_eq!(
        (e.status, e.code(), e.rule),
        (400, "BadRequest", rule),
        "{list:?}: {e}"
    );
    assert!(
        e.message.contains(needle),
        "{list:?}: {:?} lacks {needle:?}",
        e.message
    );
    let body: Value = serde_json::from_str(&e.body()).unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(body["error"]["message"], e.message.as_str());
    e
}

fn session(v: Value) -> Session {
    Session::from_json(v.to_string().as_bytes()).unwrap()
}

/// A mixed set of sessions, in no particular order.
fn sessions() -> Vec<Session> {
    vec![
        session(
            json!({"@odata.type": SP, "id": "s2", "status": "active", "restoreJobType": "standard",
            "createdDateTime": "2026-02-01T00:30:00+01:00", "restoreSessionArtifactCount": {"total": 5},
            "createdBy": {"user": {"displayName": "Bo"}}, "siteRestoreArtifacts": []}),
        ),
        session(
            json!({"@odata.type": OD, "id": "s1", "status": "draft", "restoreJobType": "standard",
            "createdDateTime": "2026-01-01T00:00:00Z", "restoreSessionArtifactCount": {"total": 2},
            "createdBy": {"user": {"displayName": "Ann"}},
            "driveRestoreArtifacts": [
                {"id": "a1", "restorePoint": {"id": "r1"}, "destinationType": "new", "status": "added"},
                {"id": "a2", "restorePoint": {"id": "r2"}, "destinationType": "new", "status": "failed",
                 "error": {"code": "UnknownError", "message": "m"}}]}),
        ),
        session(
            json!({"@odata.type": EX, "id": "s3", "status": "failed", "restoreJobType": "granular",
            "createdDateTime": "2026-03-01T00:00:00Z", "granularMailboxRestoreArtifacts": []}),
        ),
        session(
            json!({"@odata.type": OD, "id": "s4", "status": "completed", "restoreJobType": "standard",
            "driveRestoreArtifacts": []}),
        ),
        session(
            json!({"@odata.type": OD, "id": "s0", "status": "someFutureValue",
            "createdDateTime": "2025-12-31T23:59:59.5Z", "x-custom": [1], "driveRestoreArtifacts": []}),
        ),
    ]
}

fn list_with(query: &Query, all: &[Session], o: &Options) -> Page {
    let mut lister = SessionLister::new(query, o);
    for s in all {
        lister.offer(s);
    }
    lister.finish()
}

fn list(target: Target, opts: &[(&str, &str)]) -> Page {
    list_with(&ok(target, opts), &sessions(), &Options::default())
}

fn values(page: &Page) -> Vec<Value> {
    serde_json::from_str::<Value>(&page.value())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn ids(page: &Page) -> Vec<String> {
    values(page)
        .iter()
        .map(|v| v["id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn all_sessions() -> Target {
    Target::Sessions(None)
}

/// `n` drive artifacts `a0…`, restore points `r0…`, statuses cycling through added, failed,
/// succeeded.
fn drafted(n: usize) -> Session {
    let statuses = ["added", "failed", "succeeded"];
    let items: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("a{i}"), "restorePoint": {"id": format!("r{}", n - i)},
                   "destinationType": "new", "status": statuses[i % 3]})
        })
        .collect();
    session(
        json!({"@odata.type": OD, "id": "s", "status": "draft", "driveRestoreArtifacts": items}),
    )
}

fn page_of(s: &Session, c: ArtifactCollection, opts: &[(&str, &str)]) -> Page {
    query::artifacts(s, c, &ok(Target::Artifacts(c), opts), &Options::default())
}

// ---------------------------------------------------------------- Q1

#[test]
fn q1_option_names_dollar_case_once_and_what_each_target_takes() {
    // Case-insensitive names; JS's `$skipToken` and `$Top` are the same options.
    let q = ok(
        all_sessions(),
        &[("$TOP", "2"), ("$Count", "TRUE"), ("$Filter", "id ne 'x'")],
    );
    assert_eq!((q.top(), q.count()), (2, true));
    // Custom options (no `$`) are left alone, whatever they hold.
    ok(
        all_sessions(),
        &[("api-version", "x"), ("", "y"), ("foo", "$bar")],
    );
    // Given twice, in any spelling: refused, naming both.
    let e = refused(
        all_sessions(),
        &[("$top", "1"), ("$TOP", "2")],
        RuleId::Q1,
        "more than once",
    );
    assert!(
        e.message.contains("'$top'") && e.message.contains("'$TOP'"),
        "{}",
        e.message
    );
    assert_eq!(e.option, "$TOP");
    // Options OData defines that this service does not serve, and unknown `$`-options.
    for name in [
        "$search",
        "$apply",
        "$compute",
        "$format",
        "$levels",
        "$index",
        "$schemaversion",
        "$deltatoken",
        "$SEARCH",
    ] {
        let e = refused(all_sessions(), &[(name, "x")], RuleId::Q1, "not supported");
        assert_eq!(e.option, name);
        assert!(e.message.contains(name), "{}", e.message);
    }
    refused(
        all_sessions(),
        &[("$foo", "1")],
        RuleId::Q1,
        "not an OData system query option",
    );
    refused(
        all_sessions(),
        &[("$", "1")],
        RuleId::Q1,
        "not an OData system query option",
    );
    // Decision: `$` is required; a system option's name without it is refused, not ignored.
    for name in ["top", "Filter", "search", "skiptoken"] {
        refused(all_sessions(), &[(name, "1")], RuleId::Q1, "without '$'");
    }
    // Parameter aliases are not served.
    refused(
        all_sessions(),
        &[("@p", "'x'")],
        RuleId::Q1,
        "Parameter aliases",
    );
    // A single session takes $select and $expand only.
    for name in [
        "$filter",
        "$orderby",
        "$top",
        "$skip",
        "$count",
        "$skiptoken",
    ] {
        refused(
            Target::Session(None),
            &[(name, "x")],
            RuleId::Q1,
            "applies to collections",
        );
    }
    ok(
        Target::Session(None),
        &[
            ("$select", "id"),
            (
                "$expand",
                "microsoft.graph.exchangeRestoreSession/mailboxRestoreArtifacts",
            ),
        ],
    );
    // Name errors come first, in pair order, before any value is read.
    refused(
        all_sessions(),
        &[("$top", "bad"), ("$search", "x")],
        RuleId::Q1,
        "$search",
    );
}

// ---------------------------------------------------------------- Q2

#[test]
fn q2_select_names_top_level_properties_of_the_target_type() {
    let page = list(
        all_sessions(),
        &[("$select", "status,id"), ("$orderby", "id")],
    );
    // Members in state order (`id` before `status`), `@odata.type` kept, others left out.
    let first = values(&page)[0].clone();
    assert_eq!(
        page.items.split("},{").next().unwrap(),
        format!(r#"{{"@odata.type":"{OD}","id":"s0","status":"unknownFutureValue""#)
    );
    assert!(first.get("x-custom").is_none() && first.get("createdDateTime").is_none());
    // A selected property the state lacks stays absent.
    let page = list(
        all_sessions(),
        &[("$select", "completedDateTime"), ("$top", "1")],
    );
    assert_eq!(values(&page)[0], json!({"@odata.type": OD}));
    // `*` is everything; duplicates are harmless.
    assert_eq!(
        list(all_sessions(), &[("$select", "*")]).items,
        list(all_sessions(), &[]).items
    );
    assert_eq!(
        list(all_sessions(), &[("$select", "id,id")]).items,
        list(all_sessions(), &[("$select", "id")]).items
    );
    // Artifacts: their own properties, `restorePoint` (stored inline) among them.
    let s = drafted(3);
    let page = page_of(&s, DRIVE, &[("$select", "restorePoint,id")]);
    assert_eq!(
        page.items,
        r#"{"id":"a0","restorePoint":{"id":"r3"}},{"id":"a1","restorePoint":{"id":"r2"}},{"id":"a2","restorePoint":{"id":"r1"}}"#
    );
    // Unknown, misspelled (names are case-sensitive), another type's, navigation, paths.
    let e = refused(
        all_sessions(),
        &[("$select", "id,bogus")],
        RuleId::Q2,
        "Could not find a property named 'bogus' on type 'microsoft.graph.restoreSessionBase'",
    );
    assert!(
        e.message
            .starts_with("Parsing OData Select and Expand failed: "),
        "{}",
        e.message
    );
    refused(
        all_sessions(),
        &[("$select", "Status")],
        RuleId::Q2,
        "case-sensitive: 'status'",
    );
    refused(
        Target::Artifacts(DRIVE),
        &[("$select", "restoredFolderId")],
        RuleId::Q2,
        "microsoft.graph.driveRestoreArtifact",
    );
    refused(
        Target::Sessions(Some(SessionKind::OneDriveForBusiness)),
        &[("$select", "driveRestoreArtifacts")],
        RuleId::Q2,
        "expand it with $expand",
    );
    refused(
        Target::Session(None),
        &[("$select", "driveRestoreArtifactsBulkAdditionRequests")],
        RuleId::Q2,
        "navigation property",
    );
    refused(
        all_sessions(),
        &[("$select", "restoreSessionArtifactCount/total")],
        RuleId::Q2,
        "top-level",
    );
    refused(
        all_sessions(),
        &[("$select", "id,")],
        RuleId::Q2,
        "empty item",
    );
    refused(all_sessions(), &[("$select", "")], RuleId::Q2, "empty item");
}

// ---------------------------------------------------------------- Q3

/// Rule Q3: an expansion writes the collection and its `@odata.count`; a stored member
/// spelled like one of those is left out (no name twice in the object), and one that only
/// starts like it is kept.
#[test]
fn q3_an_expansion_s_names_are_written_once() {
    let s = session(json!({"@odata.type": OD, "id": "s", "status": "draft",
        "driveRestoreArtifacts@odata.count": 99, "driveRestoreArtifactsNote": "kept",
        "driveRestoreArtifacts": [
            {"id": "a1", "restorePoint": {"id": "r1"}, "destinationType": "new", "status": "added"}]}));
    let q = ok(
        Target::Session(Some(SessionKind::OneDriveForBusiness)),
        &[("$expand", "driveRestoreArtifacts($count=true)")],
    );
    let text = query::render_one(&s, &q, &Options::default());
    assert_eq!(
        text.matches(r#""driveRestoreArtifacts@odata.count""#)
            .count(),
        1,
        "{text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["driveRestoreArtifacts@odata.count"], 1, "{text}");
    assert_eq!(v["driveRestoreArtifactsNote"], "kept", "{text}");
}

#[test]
fn q3_expand_inlines_a_sessions_artifacts_with_nested_options() {
    let s1 = sessions().into_iter().find(|s| s.id() == "s1").unwrap();
    let o = Options::default();
    let get = |opts: &[(&str, &str)]| {
        let q = ok(
            Target::Session(Some(SessionKind::OneDriveForBusiness)),
            opts,
        );
        serde_json::from_str::<Value>(&query::render_one(&s1, &q, &o)).unwrap()
    };
    let v = get(&[("$expand", "driveRestoreArtifacts")]);
    assert_eq!(v["driveRestoreArtifacts"].as_array().unwrap().len(), 2);
    // A `;`, `(`, `)` or `,` inside a quoted literal separates, opens and closes nothing.
    let v = get(&[(
        "$expand",
        "driveRestoreArtifacts($filter=id ne 'a;b)c(d,e';$select=id,status;$top=1)",
    )]);
    assert_eq!(
        v["driveRestoreArtifacts"],
        json!([{"id": "a1", "status": "added"}])
    );
    assert_eq!(v["status"], "draft");
    // Nested options: select, filter, orderby, top, skip, count; `;` separates them.
    let v = get(&[(
        "$expand",
        "driveRestoreArtifacts($select=id,status;$filter=status eq 'failed' or status eq 'added';$orderby=id desc;$top=1;$count=true)",
    )]);
    assert_eq!(v["driveRestoreArtifacts@odata.count"], 2);
    assert_eq!(
        v["driveRestoreArtifacts"],
        json!([{"id": "a2", "status": "failed"}])
    );
    let v = get(&[
        ("$expand", "driveRestoreArtifacts($skip=1;$select=id)"),
        ("$select", "id"),
    ]);
    assert_eq!(
        v,
        json!({"@odata.type": OD, "id": "s1", "driveRestoreArtifacts": [{"id": "a2"}]})
    );
    // The expanded collection comes after the members, count first (bytes).
    let q = ok(
        Target::Session(None),
        &[
            ("$select", "id"),
            (
                "$expand",
                "microsoft.graph.oneDriveForBusinessRestoreSession/driveRestoreArtifacts($select=id;$count=true)",
            ),
        ],
    );
    assert_eq!(
        query::render_one(&s1, &q, &o),
        format!(
            r#"{{"@odata.type":"{OD}","id":"s1","driveRestoreArtifacts@odata.count":2,"driveRestoreArtifacts":[{{"id":"a1"}},{{"id":"a2"}}]}}"#
        )
    );
    // On the base type, a cast names the kind (Python's SDK sends this form; the type name
    // compares as S2 compares `@odata.type`); sessions of other kinds get nothing.
    let page = list(
        all_sessions(),
        &[
            (
                "$expand",
                "microsoft.graph.OneDriveForBusinessRestoreSession/driveRestoreArtifacts($select=id)",
            ),
            ("$select", "id"),
            ("$orderby", "id"),
        ],
    );
    let v = values(&page);
    assert_eq!(
        v[1],
        json!({"@odata.type": OD, "id": "s1", "driveRestoreArtifacts": [{"id": "a1"}, {"id": "a2"}]})
    );
    assert_eq!(v[2], json!({"@odata.type": SP, "id": "s2"}));
    // Both collections of a kind, each once.
    ok(
        Target::Session(Some(SessionKind::Exchange)),
        &[(
            "$expand",
            "mailboxRestoreArtifacts,granularMailboxRestoreArtifacts($top=3)",
        )],
    );
    // Refused: the bare name on the base type (with the cast to write), another kind's
    // collection, `*`, repeated paths, bulk requests, structural properties, nested $expand,
    // $skiptoken or $levels, malformed options, and $expand on artifacts.
    refused(
        all_sessions(),
        &[("$expand", "driveRestoreArtifacts")],
        RuleId::Q3,
        "write 'microsoft.graph.oneDriveForBusinessRestoreSession/driveRestoreArtifacts'",
    );
    refused(
        Target::Sessions(Some(SessionKind::SharePoint)),
        &[("$expand", "driveRestoreArtifacts")],
        RuleId::Q3,
        "microsoft.graph.sharePointRestoreSession",
    );
    refused(
        Target::Sessions(Some(SessionKind::SharePoint)),
        &[(
            "$expand",
            "microsoft.graph.exchangeRestoreSession/mailboxRestoreArtifacts",
        )],
        RuleId::Q3,
        "not a type derived",
    );
    refused(
        all_sessions(),
        &[("$expand", "*")],
        RuleId::Q3,
        "'*' is not supported",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts,mailboxRestoreArtifacts")],
        RuleId::Q3,
        "more than once",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifactsBulkAdditionRequests")],
        RuleId::Q3,
        "only the artifact collections",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "status")],
        RuleId::Q3,
        "$select it",
    );
    // A name that is nothing of the type gets no hint.
    let e = refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "bogus")],
        RuleId::Q3,
        "named 'bogus'",
    );
    assert!(
        e.message.ends_with("that can be expanded."),
        "{}",
        e.message
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts/$ref")],
        RuleId::Q3,
        "$ref",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts($expand=restorePoint)")],
        RuleId::Q3,
        "inside $expand",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts($skiptoken=x)")],
        RuleId::Q3,
        "inside $expand",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts($levels=2)")],
        RuleId::Q1,
        "not supported",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts($top)")],
        RuleId::Q3,
        "not 'name=value'",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts($top=1)x")],
        RuleId::Q3,
        "unbalanced",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts($top=1;$TOP=2)")],
        RuleId::Q1,
        "more than once",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts(top=1)")],
        RuleId::Q1,
        "without '$'",
    );
    refused(
        Target::Session(Some(SessionKind::Exchange)),
        &[("$expand", "mailboxRestoreArtifacts($filter=nope eq 1)")],
        RuleId::Q4,
        "'nope'",
    );
    refused(
        Target::Artifacts(DRIVE),
        &[("$expand", "restorePoint")],
        RuleId::Q3,
        "inline",
    );
}

// ---------------------------------------------------------------- Q4

/// The ids of the sessions a filter lets through, in id order.
fn filtered(filter: &str) -> Vec<String> {
    filtered_with(filter, &Options::default())
}

fn filtered_with(filter: &str, o: &Options) -> Vec<String> {
    let q = parse_with(all_sessions(), &[("$filter", filter)], o)
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    ids(&list_with(&q, &sessions(), o))
}

#[test]
fn q4_filter_comparisons_logic_and_literals() {
    assert_eq!(filtered("status eq 'active'"), ["s2"]);
    // Keywords without regard to case; enums as plain strings or qualified literals.
    assert_eq!(filtered("status EQ 'active' Or id eq 's1'"), ["s1", "s2"]);
    // Property names are not keywords: they keep their case.
    refused(
        all_sessions(),
        &[("$filter", "Status eq 'active'")],
        RuleId::Q4,
        "case-sensitive: 'status'",
    );
    assert_eq!(
        filtered("status eq microsoft.graph.restoreSessionStatus'draft'"),
        ["s1"]
    );
    assert_eq!(filtered("status ne 'draft'"), ["s0", "s2", "s3", "s4"]);
    // Enums order by member value: draft < activating < active < completed.
    assert_eq!(
        filtered("status gt 'active' and status lt 'unknownFutureValue'"),
        ["s4"]
    );
    // and binds tighter than or; parentheses; not needs a Boolean operand.
    assert_eq!(
        filtered("id eq 's1' or id eq 's2' and status eq 'draft'"),
        ["s1"]
    );
    assert_eq!(
        filtered("(id eq 's1' or id eq 's2') and status eq 'draft'"),
        ["s1"]
    );
    assert_eq!(
        filtered("not (status eq 'draft') and not(id eq 's0')"),
        ["s2", "s3", "s4"]
    );
    assert_eq!(filtered("true"), ["s0", "s1", "s2", "s3", "s4"]);
    // `not` of an `or` that is false (every operand false, none null) is true.
    assert_eq!(
        filtered("not (id eq 's1' or id eq 's2')"),
        ["s0", "s3", "s4"]
    );
    // Booleans compare with each other.
    assert_eq!(filtered("(id eq 's1') eq true"), ["s1"]);
    assert_eq!(filtered("false ne (id eq 's1')"), ["s1"]);
    assert_eq!(
        filtered("false or (1 eq 1)"),
        ["s0", "s1", "s2", "s3", "s4"]
    );
    // Paths into complex values; numbers.
    assert_eq!(
        filtered("restoreSessionArtifactCount/total ge 2"),
        ["s1", "s2"]
    );
    assert_eq!(filtered("restoreSessionArtifactCount/total gt 2.5"), ["s2"]);
    // Exponents, signed or not (a `+` arrives decoded).
    assert_eq!(
        filtered("restoreSessionArtifactCount/total eq 50e-1"),
        ["s2"]
    );
    assert_eq!(
        filtered("restoreSessionArtifactCount/total eq 0.2E+1"),
        ["s1"]
    );
    assert_eq!(filtered("restoreSessionArtifactCount/total eq 5e0"), ["s2"]);
    assert_eq!(
        filtered("restoreSessionArtifactCount/total eq -0"),
        Vec::<String>::new()
    );
    assert_eq!(filtered("createdBy/user/displayName eq 'Ann'"), ["s1"]);
    // DateTimeOffset literals are unquoted and compare as instants (s2's +01:00 is 23:30Z).
    assert_eq!(
        filtered("createdDateTime lt 2026-02-01T00:00:00Z"),
        ["s0", "s1", "s2"]
    );
    assert_eq!(
        filtered(
            "createdDateTime ge 2026-01-31T23:30:00Z and createdDateTime le 2026-01-31T23:30Z"
        ),
        ["s2"]
    );
    // 2025-12-31T23:00:00Z: s0's 23:59:59.5Z is later.
    assert_eq!(
        filtered("createdDateTime gt 2026-01-01T01:00:00+02:00"),
        ["s0", "s1", "s2", "s3"]
    );
    // Properties compared with each other (null eq null holds: s4).
    assert_eq!(
        filtered("createdDateTime eq createdDateTime"),
        ["s0", "s1", "s2", "s3", "s4"]
    );
    assert_eq!(
        filtered("completedDateTime lt createdDateTime"),
        Vec::<String>::new()
    );
    // Strings: '' is a quote; comparison by code point.
    assert_eq!(filtered("id eq 's''1'"), Vec::<String>::new());
    assert_eq!(filtered("id gt 's2'"), ["s3", "s4"]);
}

#[test]
fn q4_null_semantics_follow_odata_4_01() {
    // s4 has no createdDateTime: null.
    assert_eq!(filtered("createdDateTime eq null"), ["s4"]);
    assert_eq!(filtered("null eq createdDateTime"), ["s4"]);
    assert_eq!(
        filtered("createdDateTime ne null"),
        ["s0", "s1", "s2", "s3"]
    );
    // An ordering operator with one null side is false; with both, ge and le are true.
    assert!(!filtered("createdDateTime lt 2030-01-01T00:00:00Z").contains(&"s4".to_owned()));
    assert!(!filtered("not (createdDateTime lt 2030-01-01T00:00:00Z)").is_empty());
    assert_eq!(
        filtered("completedDateTime ge null"),
        ["s0", "s1", "s2", "s3", "s4"]
    );
    assert_eq!(filtered("completedDateTime gt null"), Vec::<String>::new());
    // ne with a null property is true.
    assert!(filtered("createdDateTime ne 2026-01-01T00:00:00Z").contains(&"s4".to_owned()));
    // Complex values compare with null only.
    assert_eq!(
        filtered("restoreSessionArtifactCount eq null"),
        ["s0", "s3", "s4"]
    );
    assert_eq!(filtered("createdBy ne null"), ["s1", "s2"]);
    // A function with a null argument is null: neither it nor its negation passes.
    assert_eq!(
        filtered("startswith(createdBy/user/displayName, 'A')"),
        ["s1"]
    );
    assert_eq!(
        filtered("not startswith(createdBy/user/displayName, 'A')"),
        ["s2"]
    );
    assert_eq!(
        filtered("not startswith(createdBy/user/displayName, 'A') or id eq 's0'"),
        ["s0", "s2"]
    );
    assert_eq!(
        filtered("startswith(createdBy/user/displayName, 'A') eq null"),
        ["s0", "s3", "s4"]
    );
}

#[test]
fn q4_string_functions_are_case_sensitive_and_take_two_strings() {
    assert_eq!(
        filtered("startswith(id,'s')"),
        ["s0", "s1", "s2", "s3", "s4"]
    );
    assert_eq!(
        filtered("endswith(id,'3') or contains(id, '4')"),
        ["s3", "s4"]
    );
    assert_eq!(
        filtered("STARTSWITH(createdBy/user/displayName,'a')"),
        Vec::<String>::new()
    );
    assert_eq!(filtered("contains('abc', 'b') and id eq 's1'"), ["s1"]);
    refused(
        all_sessions(),
        &[("$filter", "tolower(id) eq 's1'")],
        RuleId::Q4,
        "the function 'tolower' is not supported",
    );
    refused(
        all_sessions(),
        &[("$filter", "startswith(id)")],
        RuleId::Q4,
        "'startswith' takes exactly two arguments at position 13",
    );
    refused(
        all_sessions(),
        &[("$filter", "startswith(id,'a','b')")],
        RuleId::Q4,
        "'startswith' takes exactly two arguments at position 17",
    );
    refused(
        all_sessions(),
        &[("$filter", "contains(status,'a')")],
        RuleId::Q4,
        "takes strings",
    );
    refused(
        all_sessions(),
        &[("$filter", "startswith(createdDateTime,'2026')")],
        RuleId::Q4,
        "takes strings",
    );
}

#[test]
fn q4_bad_filters_are_refused_with_the_option_and_the_position() {
    let e = refused(
        all_sessions(),
        &[("$filter", "status eq")],
        RuleId::Q4,
        "at position 9 in 'status eq'",
    );
    assert!(
        e.message.starts_with("Invalid filter clause: "),
        "{}",
        e.message
    );
    assert_eq!(e.option, "$filter");
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("   ", "empty"),
        (
            "bogus eq 1",
            "Could not find a property named 'bogus' on type 'microsoft.graph.restoreSessionBase'",
        ),
        (
            "status eq 'bogus'",
            "'bogus' is not a member of microsoft.graph.restoreSessionStatus",
        ),
        ("status eq 'Active'", "is not a member"),
        (
            "status eq microsoft.graph.restoreJobType'bulk'",
            "can't be compared",
        ),
        (
            "status eq microsoft.graph.nothing'x'",
            "names no enumeration",
        ),
        ("status eq 1", "can't be compared"),
        (
            "status eq active",
            "Could not find a property named 'active'",
        ),
        ("id eq 1", "can't be compared"),
        (
            "createdDateTime gt '2026-01-01T00:00:00Z'",
            "can't be compared",
        ),
        (
            "createdDateTime gt 2026-01-01",
            "not an Edm.DateTimeOffset literal",
        ),
        (
            "createdDateTime gt 2026-13-01T00:00:00Z",
            "not an Edm.DateTimeOffset literal",
        ),
        // A `+` the client did not encode arrives as a space.
        (
            "createdDateTime gt 2026-01-01T00:00:00 01:00",
            "encode '+' as %2B",
        ),
        ("restoreSessionArtifactCount eq 1", "complex value"),
        ("createdBy gt null", "complex value"),
        ("error/details eq null", "collection"),
        ("status", "must be Boolean"),
        ("'x'", "must be Boolean"),
        ("not status eq 'draft'", "not (a eq b)"),
        (
            "id eq 's1' and status",
            "an operand of 'and' must be Boolean",
        ),
        ("id eq 's1' extra", "an operator"),
        ("id eq 's1')", "an operator"),
        ("(id eq 's1'", "')' expected"),
        ("id eq 'unterminated", "unterminated string literal"),
        ("id eq \"x\"", "unexpected character '\"'"),
        ("id eq 's1' && true", "unexpected character '&'"),
        ("status in ('draft')", "the operator 'in' is not supported"),
        (
            "(status in ('draft'))",
            "the operator 'in' is not supported",
        ),
        ("id eq 's1' has 'x'", "the operator 'has' is not supported"),
        ("status has 'draft'", "the operator 'has' is not supported"),
        (
            "restoreSessionArtifactCount/total add 1 eq 2",
            "the operator 'add' is not supported",
        ),
        ("-id eq 1", "'-' only starts a negative number"),
        (
            "restoreSessionArtifactCount/total eq 12-3",
            "or the end was expected at position 39",
        ),
        (
            "restoreSessionArtifactCount/total eq -2026-01",
            "or the end was expected at position 42",
        ),
        (
            "restoreSessionArtifactCount/total eq 1.",
            "a digit must follow",
        ),
        (
            "restoreSessionArtifactCount/total eq 1e",
            "an exponent needs digits",
        ),
        (
            "restoreSessionArtifactCount/total eq 1L",
            "runs into a name",
        ),
        (
            "restoreSessionArtifactCount/total eq 1e999",
            "not a finite number",
        ),
        ("createdBy/any(x: x eq 1)", "lambda"),
        (
            "microsoft.graph.oneDriveForBusinessRestoreSession/id eq 's'",
            "type casts",
        ),
        ("createdBy/'x' eq null", "a property name must follow '/'"),
        (
            "status/x eq 1",
            "'status' is of type 'microsoft.graph.restoreSessionStatus', which has no property 'x'",
        ),
        ("id/x eq 1", "'id' is of type 'Edm.String'"),
        (
            "restoreSessionArtifactCount/total/x eq 1",
            "is of type 'Edm.Int32'",
        ),
        ("createdDateTime/x eq 1", "is of type 'Edm.DateTimeOffset'"),
        ("id eq", "ends where an operand was expected"),
        ("eq 1", "Could not find a property named 'eq'"),
        ("(,)", "an operand was expected"),
    ];
    for (filter, needle) in cases {
        refused(all_sessions(), &[("$filter", filter)], RuleId::Q4, needle);
    }
    // Artifact properties belong to the artifact target.
    refused(
        Target::Artifacts(DRIVE),
        &[("$filter", "searchResponseId eq 'x'")],
        RuleId::Q4,
        "microsoft.graph.driveRestoreArtifact",
    );
    ok(
        Target::Artifacts(ArtifactCollection::GranularMailboxRestoreArtifacts),
        &[("$filter", "searchResponseId eq 'x' and artifactCount gt 0")],
    );
}

#[test]
fn q4_filters_artifacts_in_place() {
    let s = drafted(9);
    let page = page_of(
        &s,
        DRIVE,
        &[("$filter", "status eq 'failed'"), ("$select", "id")],
    );
    assert_eq!(page.items, r#"{"id":"a1"},{"id":"a4"},{"id":"a7"}"#);
    let page = page_of(
        &s,
        DRIVE,
        &[
            (
                "$filter",
                "restorePoint/id eq 'r9' or restorePoint/id eq 'r1'",
            ),
            ("$select", "id"),
        ],
    );
    assert_eq!(page.items, r#"{"id":"a0"},{"id":"a8"}"#);
    let page = page_of(
        &s,
        DRIVE,
        &[(
            "$filter",
            "startDateTime eq null and destinationType eq 'new' and id ge 'a5'",
        )],
    );
    assert_eq!(page.len, 4);
    // Another kind's collection: empty.
    let c = ArtifactCollection::SiteRestoreArtifacts;
    assert_eq!(page_of(&s, c, &[("$filter", "id eq 'a1'")]).len, 0);
}

// ---------------------------------------------------------------- Q5

#[test]
fn q5_orderby_sorts_with_nulls_first_ascending_and_ties_by_id() {
    assert_eq!(
        ids(&list(all_sessions(), &[("$orderby", "createdDateTime")])),
        ["s4", "s0", "s1", "s2", "s3"]
    );
    // Descending: nulls last; ties (restoreJobType) broken by id ascending.
    assert_eq!(
        ids(&list(
            all_sessions(),
            &[("$orderby", "createdDateTime desc")]
        )),
        ["s3", "s2", "s1", "s0", "s4"]
    );
    // s0 has no restoreJobType: `standard` (rule S5).
    assert_eq!(
        ids(&list(
            all_sessions(),
            &[("$orderby", "restoreJobType DESC, id ASC")]
        )),
        ["s3", "s0", "s1", "s2", "s4"]
    );
    assert_eq!(
        ids(&list(
            all_sessions(),
            &[("$orderby", "restoreJobType desc,id desc")]
        )),
        ["s3", "s4", "s2", "s1", "s0"]
    );
    // Enums by member value (an unknown value after every member), not alphabetically.
    assert_eq!(
        ids(&list(all_sessions(), &[("$orderby", "status")])),
        ["s1", "s2", "s4", "s3", "s0"]
    );
    assert_eq!(
        ids(&list(
            all_sessions(),
            &[("$orderby", "restoreSessionArtifactCount/total desc")]
        )),
        ["s2", "s1", "s0", "s3", "s4"]
    );
    // Artifacts: by a path, in place.
    let s = drafted(5);
    let page = page_of(
        &s,
        DRIVE,
        &[("$orderby", "restorePoint/id"), ("$select", "id")],
    );
    assert_eq!(
        page.items,
        r#"{"id":"a4"},{"id":"a3"},{"id":"a2"},{"id":"a1"},{"id":"a0"}"#
    );
    let page = page_of(
        &s,
        DRIVE,
        &[
            ("$orderby", "status desc"),
            ("$select", "id"),
            ("$top", "3"),
        ],
    );
    // failed (5) before succeeded (4); ties by id.
    assert_eq!(page.items, r#"{"id":"a1"},{"id":"a4"},{"id":"a2"}"#);
    refused(
        all_sessions(),
        &[("$orderby", "createdBy")],
        RuleId::Q5,
        "'createdBy' is of type 'microsoft.graph.identitySet': only primitive and enum properties",
    );
    refused(
        all_sessions(),
        &[("$orderby", "error/details")],
        RuleId::Q5,
        "'error/details' is of type 'a collection'",
    );
    refused(
        all_sessions(),
        &[("$orderby", "createdBy/user/bogus")],
        RuleId::Q5,
        "named 'bogus' on type 'microsoft.graph.identity'",
    );
    refused(
        all_sessions(),
        &[("$orderby", "nope")],
        RuleId::Q5,
        "Could not find a property named 'nope'",
    );
    refused(
        all_sessions(),
        &[("$orderby", "id up")],
        RuleId::Q5,
        "neither asc nor desc",
    );
    refused(
        all_sessions(),
        &[("$orderby", "id asc desc")],
        RuleId::Q5,
        "'id asc desc'",
    );
    refused(all_sessions(), &[("$orderby", "id,")], RuleId::Q5, "''");
    refused(
        all_sessions(),
        &[("$orderby", "length(id)")],
        RuleId::Q5,
        "not a property path",
    );
    refused(
        all_sessions(),
        &[("$orderby", "microsoft.graph.x/id")],
        RuleId::Q5,
        "type casts",
    );
}

// ---------------------------------------------------------------- Q6

/// Follows next links from the first page; returns every page's ids.
fn follow(
    target: Target,
    opts: &[(&str, &str)],
    feed: &dyn Fn(&Query) -> Page,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut p = pairs(opts);
        if let Some(t) = &token {
            p.push(("$skipToken".to_owned(), t.clone()));
        }
        let q = Query::parse(target, &p, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
        let page = feed(&q);
        pages.push(ids(&page));
        assert!(pages.len() < 1000, "paging ends");
        match page.next {
            Some(t) => token = Some(t),
            None => return pages,
        }
    }
}

#[test]
fn q6_top_skip_and_the_default_page() {
    assert_eq!(ids(&list(all_sessions(), &[("$top", "2")])), ["s0", "s1"]);
    assert_eq!(
        ids(&list(all_sessions(), &[("$top", "2"), ("$skip", "2")])),
        ["s2", "s3"]
    );
    assert_eq!(ids(&list(all_sessions(), &[("$skip", "4")])), ["s4"]);
    assert!(ids(&list(all_sessions(), &[("$skip", "18446744073709551615")])).is_empty());
    assert_eq!(
        list(all_sessions(), &[("$top", "0")]).next,
        None,
        "no next link on a page of 0"
    );
    assert!(list(all_sessions(), &[("$top", "4")]).next.is_some());
    assert!(list(all_sessions(), &[("$top", "5")]).next.is_none());
    assert_eq!(ok(all_sessions(), &[]).top(), DEFAULT_TOP);
    assert_eq!(ok(all_sessions(), &[("$top", "1000")]).top(), MAX_TOP);
    for bad in [
        "1001",
        "-1",
        "+1",
        "x",
        "",
        "1.0",
        " 1",
        "99999999999999999999999",
    ] {
        refused(
            all_sessions(),
            &[("$top", bad)],
            RuleId::Q6,
            "a whole number from 0 to 1000",
        );
    }
    for bad in ["-1", "x", "", "1e3"] {
        refused(
            all_sessions(),
            &[("$skip", bad)],
            RuleId::Q6,
            "a whole number from 0 on",
        );
    }
    // The artifacts' default page is L9's first page.
    let s = drafted(150);
    let page = page_of(&s, DRIVE, &[]);
    assert_eq!((page.len, page.next.is_some()), (DEFAULT_TOP, true));
}

/// Rule Q6 at the edges of the last page: a next link exactly when an item follows the page,
/// in collection order with and without a filter (a page that ends the list, one item short of
/// it, or that a filter fills exactly), and `Query::count` says whether `$count=true` was
/// asked.
#[test]
fn q6_a_next_link_exactly_when_an_item_follows() {
    let s = drafted(6);
    let next = |opts: &[(&str, &str)]| page_of(&s, DRIVE, opts).next.is_some();
    // Collection order, no filter: 6 artifacts.
    assert!(
        !next(&[("$top", "3"), ("$skip", "3")]),
        "the page ends the list"
    );
    assert!(next(&[("$top", "3"), ("$skip", "2")]), "one item follows");
    assert!(!next(&[("$top", "6")]));
    // A filter: `added` holds a0 and a3 (statuses cycle added, failed, succeeded).
    let added = ("$filter", "status eq 'added'");
    assert!(
        !next(&[added, ("$top", "2")]),
        "the filter fills the page exactly"
    );
    assert!(next(&[added, ("$top", "1")]), "a match follows the page");
    assert!(!next(&[added, ("$top", "1"), ("$skip", "1")]));
    // Sorted (a bounded heap): the same edges.
    let by_rp = ("$orderby", "restorePoint/id");
    assert!(
        !next(&[by_rp, ("$top", "3"), ("$skip", "3")]),
        "sorted: the page ends the list"
    );
    assert!(
        next(&[by_rp, ("$top", "3"), ("$skip", "2")]),
        "sorted: one item follows"
    );
    assert!(!next(&[by_rp, added, ("$top", "2")]));
    let page = page_of(&s, DRIVE, &[added, ("$top", "1"), ("$count", "true")]);
    assert_eq!((page.count, page.next.is_some()), (Some(2), true));
    let target = Target::Artifacts(DRIVE);
    assert!(ok(target, &[("$count", "true")]).count());
    assert!(!ok(target, &[("$count", "false")]).count());
    assert!(!ok(target, &[]).count());
}

/// Rule Q6: when the *after* token of a sorted page would be longer than
/// `MAX_SKIPTOKEN_BYTES`, the next link is a position token that counts the items before the
/// page's bound too: sessions ordered by id, the fourth's id 3,000 bytes long, paged two at a
/// time, are each listed once.
#[test]
fn q6_a_position_token_after_an_after_token_counts_the_items_before_it() {
    let long = format!("s3{}", "x".repeat(3_000));
    assert!(long.len() > MAX_SKIPTOKEN_BYTES);
    let all: Vec<Session> = ["s0", "s1", "s2", long.as_str(), "s4"]
        .iter()
        .map(|id| session(json!({"@odata.type": OD, "id": id, "status": "draft"})))
        .collect();
    let o = Options::default();
    let pages = follow(all_sessions(), &[("$orderby", "id"), ("$top", "2")], &|q| {
        list_with(q, &all, &o)
    });
    assert_eq!(
        pages,
        [
            vec!["s0".to_owned(), "s1".to_owned()],
            vec!["s2".to_owned(), long.clone()],
            vec!["s4".to_owned()]
        ]
    );
    // The same for artifacts ordered by restore point, the fourth's 3,000 bytes long.
    let long_rp = format!("r3{}", "x".repeat(3_000));
    let items: Vec<Value> = ["r0", "r1", "r2", long_rp.as_str(), "r4"]
        .iter()
        .enumerate()
        .map(|(i, rp)| json!({"id": format!("a{i}"), "restorePoint": {"id": rp}, "destinationType": "new", "status": "added"}))
        .collect();
    let s = session(
        json!({"@odata.type": OD, "id": "s", "status": "draft", "driveRestoreArtifacts": items}),
    );
    let pages = follow(
        Target::Artifacts(DRIVE),
        &[("$orderby", "restorePoint/id"), ("$top", "2")],
        &|q| query::artifacts(&s, DRIVE, q, &o),
    );
    assert_eq!(pages, [["a0", "a1"].as_slice(), &["a2", "a3"], &["a4"]]);
}

#[test]
fn q6_next_pages_continue_where_the_last_left_off_under_every_order() {
    let all = sessions();
    let o = Options::default();
    let feed = |q: &Query| list_with(q, &all, &o);
    for opts in [
        vec![("$top", "2")],
        vec![("$top", "1"), ("$orderby", "status desc")],
        // A number as the sort value the token carries.
        vec![
            ("$top", "1"),
            ("$orderby", "restoreSessionArtifactCount/total desc"),
        ],
        vec![
            ("$top", "2"),
            ("$skip", "1"),
            ("$orderby", "createdDateTime"),
        ],
        vec![
            ("$top", "3"),
            ("$filter", "status ne 'draft'"),
            ("$orderby", "restoreJobType,createdDateTime desc"),
        ],
    ] {
        let pages = follow(all_sessions(), &opts, &feed);
        let whole: Vec<String> = pages.concat();
        let mut one = opts.clone();
        one.retain(|(n, _)| *n != "$top");
        one.push(("$top", "1000"));
        assert_eq!(
            whole,
            ids(&list(all_sessions(), &one)),
            "{opts:?}: {pages:?}"
        );
        let top: usize = opts[0].1.parse().unwrap();
        assert!(pages.iter().all(|p| p.len() <= top), "{pages:?}");
    }
    // Artifacts, in collection order (position tokens) and sorted (keyset tokens).
    let s = drafted(23);
    let feed = |q: &Query| query::artifacts(&s, DRIVE, q, &o);
    let natural = follow(
        Target::Artifacts(DRIVE),
        &[("$top", "5"), ("$select", "id")],
        &feed,
    );
    assert_eq!(natural.len(), 5);
    assert_eq!(
        natural.concat(),
        (0..23).map(|i| format!("a{i}")).collect::<Vec<_>>()
    );
    let filtered = follow(
        Target::Artifacts(DRIVE),
        &[("$top", "2"), ("$filter", "status eq 'failed'")],
        &feed,
    );
    assert_eq!(
        filtered.concat(),
        ["a1", "a4", "a7", "a10", "a13", "a16", "a19", "a22"]
    );
    let sorted = follow(
        Target::Artifacts(DRIVE),
        &[("$top", "4"), ("$orderby", "status,restorePoint/id desc")],
        &feed,
    );
    // By member value: added (0) < succeeded (4) < failed (5); then restore point ids as
    // strings, descending ("r8" after "r23").
    let mut expected: Vec<usize> = (0..23).collect();
    expected.sort_by_key(|i| ([0, 2, 1][i % 3], std::cmp::Reverse(format!("r{}", 23 - i))));
    let expected: Vec<String> = expected.iter().map(|i| format!("a{i}")).collect();
    assert_eq!(sorted.concat(), expected);
    assert_eq!(&sorted[0], &["a15", "a18", "a0", "a3"]);
}

#[test]
fn q6_keyset_tokens_survive_changes_between_pages() {
    // Sessions in id order: a session added before the bound does not shift the next page.
    let mut all = sessions();
    let o = Options::default();
    let q = ok(all_sessions(), &[("$top", "2")]);
    let first = list_with(&q, &all, &o);
    assert_eq!(ids(&first), ["s0", "s1"]);
    all.push(session(
        json!({"@odata.type": OD, "id": "s00", "driveRestoreArtifacts": []}),
    ));
    all.retain(|s| s.id() != "s1");
    let next = parse(
        all_sessions(),
        &[
            ("$top", "2"),
            ("$skiptoken", first.next.as_deref().unwrap()),
        ],
    )
    .unwrap();
    assert_eq!(ids(&list_with(&next, &all, &o)), ["s2", "s3"]);
}

#[test]
fn q6_tokens_belong_to_their_query() {
    let page = list(all_sessions(), &[("$top", "1"), ("$filter", "id ne 'x'")]);
    let token = page.next.unwrap();
    // The same options: accepted; `$top` may change; $skip's effect is in the token.
    ok(
        all_sessions(),
        &[
            ("$top", "3"),
            ("$filter", "id ne 'x'"),
            ("$skiptoken", &token),
        ],
    );
    // Another filter, order or skip, another target: refused.
    refused(
        all_sessions(),
        &[("$filter", "id ne 'y'"), ("$skiptoken", &token)],
        RuleId::Q6,
        "issued for another query",
    );
    refused(
        all_sessions(),
        &[
            ("$filter", "id ne 'x'"),
            ("$orderby", "id"),
            ("$skiptoken", &token),
        ],
        RuleId::Q6,
        "another query",
    );
    refused(
        all_sessions(),
        &[
            ("$filter", "id ne 'x'"),
            ("$skip", "0"),
            ("$skiptoken", &token),
        ],
        RuleId::Q6,
        "another query",
    );
    refused(
        Target::Sessions(Some(SessionKind::Exchange)),
        &[("$filter", "id ne 'x'"), ("$skiptoken", &token)],
        RuleId::Q6,
        "another query",
    );
    // Not ours at all.
    for bad in [
        "",
        "x",
        "!!",
        "eyJ2IjoxfQ",
        "0",
        &"A".repeat(MAX_SKIPTOKEN_BYTES + 4),
    ] {
        refused(
            all_sessions(),
            &[("$skiptoken", bad)],
            RuleId::Q6,
            "can't continue from",
        );
    }
    // A position token of artifacts in collection order is not a sorted list's, and back.
    let s = drafted(5);
    let p = page_of(&s, DRIVE, &[("$top", "2")]);
    let pos = p.next.unwrap();
    ok(
        Target::Artifacts(DRIVE),
        &[("$top", "2"), ("$skiptoken", &pos)],
    );
    let sorted = page_of(&s, DRIVE, &[("$top", "2"), ("$orderby", "id")])
        .next
        .unwrap();
    refused(
        Target::Artifacts(DRIVE),
        &[("$top", "2"), ("$skiptoken", &sorted)],
        RuleId::Q6,
        "another query",
    );
    // An *after* token made for a query in collection order (its own fingerprint, keys
    // none): refused, a position query continues from positions only.
    let json = String::from_utf8(unbase64url(&pos)).unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    let forged = base64url(
        json!({"v": 1, "f": v["f"], "k": [], "i": "a1"})
            .to_string()
            .as_bytes(),
    );
    refused(
        Target::Artifacts(DRIVE),
        &[("$top", "2"), ("$skiptoken", &forged)],
        RuleId::Q6,
        "it is not a token of this query",
    );
    // A token as long as the longest the service issues (2,048 bytes) is read; one byte more
    // is refused for its length.
    let sorted_q = [("$top", "2"), ("$orderby", "id")];
    let real = page_of(&s, DRIVE, &sorted_q).next.unwrap();
    let mut v: Value = serde_json::from_slice(&unbase64url(&real)).unwrap();
    let others = v.to_string().len() - v["i"].as_str().unwrap().len();
    // 1,536 bytes of JSON are 2,048 of base64url; the id pads the text to that.
    v["i"] = json!(format!("a{}", "~".repeat(1_536 - others - 1)));
    let longest = base64url(v.to_string().as_bytes());
    assert_eq!(longest.len(), MAX_SKIPTOKEN_BYTES);
    // The sorted query reads `token`; the same with one character more is refused with `why`.
    let read_but_not_one_more = |token: &str, why: &str| {
        let mut with = sorted_q.to_vec();
        with.push(("$skiptoken", token));
        ok(Target::Artifacts(DRIVE), &with);
        let one_more = format!("{token}A");
        with.pop();
        with.push(("$skiptoken", &one_more));
        refused(Target::Artifacts(DRIVE), &with, RuleId::Q6, why);
    };
    read_but_not_one_more(&longest, "it is longer than any this service issues");
    // One text per token: a real token's text with a sextet of zero bits after its last whole
    // group (a length that is 1 modulo 4) is not base64url.
    let mut w: Value = serde_json::from_slice(&unbase64url(&real)).unwrap();
    while !w.to_string().len().is_multiple_of(3) {
        let id = format!("{}~", w["i"].as_str().unwrap());
        w["i"] = json!(id);
    }
    read_but_not_one_more(&base64url(w.to_string().as_bytes()), "it is not base64url");
    // The refused token is quoted whole when it is short, cut after 64 characters with `…`.
    let e = refused(all_sessions(), &[("$skiptoken", "x")], RuleId::Q6, "('x')");
    assert!(!e.message.contains('…'), "{}", e.message);
    let long = "y".repeat(65);
    refused(
        all_sessions(),
        &[("$skiptoken", &long)],
        RuleId::Q6,
        &format!("('{}…')", &long[..64]),
    );
    let exact = "z".repeat(64);
    refused(
        all_sessions(),
        &[("$skiptoken", &exact)],
        RuleId::Q6,
        &format!("('{exact}')"),
    );
}

/// base64url without padding, as the service's tokens are written.
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The bytes of base64url text without padding.
fn unbase64url(text: &str) -> Vec<u8> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sextets: Vec<u32> = text
        .bytes()
        .map(|c| A.iter().position(|a| *a == c).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, s)| n | s << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i) & 255) as u8);
        }
    }
    out
}

#[test]
fn q6_a_keyset_token_too_long_becomes_a_position() {
    // Sort values of several kilobytes: the token would pass the limit, so it counts instead.
    let long = |i: usize| format!("{}{i}", "x".repeat(3000));
    let items: Vec<Value> = (0..5)
        .map(|i| json!({"id": format!("a{i}"), "restoredSiteName": long(i), "status": "added"}))
        .collect();
    let s = session(json!({"@odata.type": OD, "id": "s", "driveRestoreArtifacts": items}));
    let o = Options::default();
    let feed = |q: &Query| query::artifacts(&s, DRIVE, q, &o);
    let pages = follow(
        Target::Artifacts(DRIVE),
        &[
            ("$top", "2"),
            ("$orderby", "restoredSiteName desc"),
            ("$select", "id"),
        ],
        &feed,
    );
    assert_eq!(pages, [vec!["a4", "a3"], vec!["a2", "a1"], vec!["a0"]]);
    let p = page_of(
        &s,
        DRIVE,
        &[("$top", "2"), ("$orderby", "restoredSiteName desc")],
    );
    assert!(p.next.unwrap().len() <= MAX_SKIPTOKEN_BYTES);
}

#[test]
fn q6_next_link_keeps_the_options_and_replaces_the_token() {
    let p = pairs(&[
        ("$filter", "status eq 'a+b'&x"),
        ("$SkipToken", "old"),
        ("custom", "é"),
    ]);
    assert_eq!(
        query::next_link("https://h/v1.0/x", &p, "t-_1"),
        "https://h/v1.0/x?$filter=status%20eq%20'a%2Bb'%26x&custom=%C3%A9&$skiptoken=t-_1"
    );
    assert_eq!(
        query::next_link("https://h/x", &[], "t"),
        "https://h/x?$skiptoken=t"
    );
}

// ---------------------------------------------------------------- Q7

#[test]
fn q7_count_is_the_filtered_total_whatever_the_page() {
    let page = list(
        all_sessions(),
        &[
            ("$count", "true"),
            ("$top", "1"),
            ("$skip", "1"),
            ("$filter", "status ne 'draft'"),
        ],
    );
    assert_eq!((page.count, page.len), (Some(4), 1));
    let next = list(
        all_sessions(),
        &[
            ("$count", "true"),
            ("$top", "1"),
            ("$skip", "1"),
            ("$filter", "status ne 'draft'"),
            ("$skiptoken", page.next.as_deref().unwrap()),
        ],
    );
    assert_eq!(next.count, Some(4));
    // $top=0&$count=true: the count alone.
    let page = list(all_sessions(), &[("$count", "true"), ("$top", "0")]);
    assert_eq!(
        (page.count, page.len, page.next.clone()),
        (Some(5), 0, None)
    );
    assert_eq!(
        page.body("c", None),
        r#"{"@odata.context":"c","@odata.count":5,"value":[]}"#
    );
    assert_eq!(list(all_sessions(), &[("$count", "false")]).count, None);
    assert_eq!(list(all_sessions(), &[]).count, None);
    // A kind's list counts its own sessions.
    assert_eq!(
        list(
            Target::Sessions(Some(SessionKind::OneDriveForBusiness)),
            &[("$count", "true")]
        )
        .count,
        Some(3)
    );
    // Artifacts, with and without a filter, in order or sorted.
    let s = drafted(10);
    for (opts, n) in [
        (vec![("$count", "true"), ("$top", "2")], 10),
        (
            vec![
                ("$count", "true"),
                ("$top", "0"),
                ("$filter", "status eq 'added'"),
            ],
            4,
        ),
        (
            vec![
                ("$count", "true"),
                ("$top", "1"),
                ("$orderby", "id"),
                ("$filter", "status ne 'added'"),
            ],
            6,
        ),
    ] {
        assert_eq!(page_of(&s, DRIVE, &opts).count, Some(n), "{opts:?}");
    }
    for bad in ["yes", "1", "", "truee"] {
        refused(
            all_sessions(),
            &[("$count", bad)],
            RuleId::Q7,
            "true or false",
        );
    }
}

// ---------------------------------------------------------------- Q8

#[test]
fn q8_limits_bound_what_a_query_may_ask() {
    let long = "a".repeat(MAX_OPTION_BYTES + 1);
    refused(
        all_sessions(),
        &[("$select", &long)],
        RuleId::Q8,
        "longer than 4096 bytes",
    );
    refused(
        all_sessions(),
        &[("$unknownButLong", &long)],
        RuleId::Q8,
        "longer than",
    );
    // Custom options are not read, so not limited.
    ok(all_sessions(), &[("custom", &long)]);
    let deep = format!(
        "{}id eq 's1'{}",
        "(".repeat(MAX_FILTER_DEPTH + 1),
        ")".repeat(MAX_FILTER_DEPTH + 1)
    );
    refused(
        all_sessions(),
        &[("$filter", &deep)],
        RuleId::Q8,
        "nests deeper than 16",
    );
    let fine = format!(
        "{}id eq 's1'{}",
        "(".repeat(MAX_FILTER_DEPTH),
        ")".repeat(MAX_FILTER_DEPTH)
    );
    assert_eq!(filtered(&fine), ["s1"]);
    let nots = format!("{}true", "not ".repeat(MAX_FILTER_DEPTH + 1));
    refused(
        all_sessions(),
        &[("$filter", &nots)],
        RuleId::Q8,
        "nests deeper",
    );
    // Depth is nesting, not count: more parenthesised and negated operands side by side than
    // the depth allows are fine.
    let side_by_side = vec!["(not startswith(id,'x'))"; MAX_FILTER_DEPTH + 4].join(" and ");
    assert_eq!(filtered(&side_by_side), ["s0", "s1", "s2", "s3", "s4"]);
    let terms = |n: usize| vec!["id eq 's1'"; n].join(" or ");
    assert_eq!(filtered(&terms(MAX_FILTER_TERMS)), ["s1"]);
    refused(
        all_sessions(),
        &[("$filter", &terms(MAX_FILTER_TERMS + 1))],
        RuleId::Q8,
        "more than 64 terms",
    );
    refused(
        all_sessions(),
        &[("$filter", &vec!["true"; MAX_FILTER_TERMS + 1].join(" and "))],
        RuleId::Q8,
        "more than 64 terms",
    );
    let keys = |n: usize| vec!["id"; n].join(",");
    ok(all_sessions(), &[("$orderby", &keys(MAX_ORDERBY))]);
    refused(
        all_sessions(),
        &[("$orderby", &keys(MAX_ORDERBY + 1))],
        RuleId::Q8,
        "at most 8",
    );
    // Expanded artifacts per page: the page size times the expansions of one kind.
    let od = Target::Sessions(Some(SessionKind::OneDriveForBusiness));
    ok(od, &[("$expand", "driveRestoreArtifacts")]);
    assert_eq!(DEFAULT_TOP * DEFAULT_TOP, MAX_EXPANDED);
    refused(
        od,
        &[(
            "$expand",
            "driveRestoreArtifacts,granularDriveRestoreArtifacts",
        )],
        RuleId::Q8,
        "20000 expanded artifacts",
    );
    ok(
        od,
        &[
            (
                "$expand",
                "driveRestoreArtifacts,granularDriveRestoreArtifacts",
            ),
            ("$top", "50"),
        ],
    );
    refused(
        od,
        &[
            ("$expand", "driveRestoreArtifacts($top=1000)"),
            ("$top", "11"),
        ],
        RuleId::Q8,
        "at most 10000",
    );
    ok(
        Target::Session(None),
        &[(
            "$expand",
            "microsoft.graph.oneDriveForBusinessRestoreSession/driveRestoreArtifacts($top=1000),microsoft.graph.oneDriveForBusinessRestoreSession/granularDriveRestoreArtifacts($top=1000)",
        )],
    );
    // Expansions of different kinds never meet on one session.
    ok(
        all_sessions(),
        &[(
            "$expand",
            "microsoft.graph.exchangeRestoreSession/mailboxRestoreArtifacts,microsoft.graph.sharePointRestoreSession/siteRestoreArtifacts",
        )],
    );
}

#[test]
fn q8_hostile_queries_get_an_answer_not_a_panic() {
    // Every prefix of some long, valid and invalid queries, and byte soup: parsed or refused.
    let seeds = [
        "not (startswith(createdBy/user/displayName,'A''b') or restoreSessionArtifactCount/total ge -1.5e2) and createdDateTime lt 2026-01-01T00:00Z and status eq microsoft.graph.restoreSessionStatus'draft'",
        "((((((((((((((((((((((((((((((",
        "'''''''''''''''''''",
        "id eq 'é€😀' or id eq '\u{0}'",
        "2026-01-01T 1 1e 1.e -- ( ) , / ' ",
    ];
    let mut n = 0;
    for seed in seeds {
        for end in 0..=seed.len() {
            let Some(prefix) = seed.get(..end) else {
                continue;
            };
            for target in [all_sessions(), Target::Artifacts(DRIVE)] {
                let _ = parse(target, &[("$filter", prefix)]);
                let _ = parse(target, &[("$orderby", prefix)]);
                let _ = parse(target, &[("$select", prefix)]);
                let _ = parse(target, &[("$skiptoken", prefix)]);
                n += 1;
            }
            let _ = parse(
                Target::Session(None),
                &[(
                    "$expand",
                    &format!(
                        "microsoft.graph.oneDriveForBusinessRestoreSession/driveRestoreArtifacts({prefix})"
                    ),
                )],
            );
        }
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        let len = (x % 60) as usize;
        let text: String = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let alphabet = b"()',/ $eqandornot0123456789-.:TZsid";
                alphabet[(x % alphabet.len() as u64) as usize] as char
            })
            .collect();
        let _ = parse(all_sessions(), &[("$filter", &text)]);
        let _ = parse(
            Target::Sessions(Some(SessionKind::Exchange)),
            &[("$expand", &text)],
        );
        n += 1;
    }
    assert!(n > 2000);
    // A 4096-byte filter of parentheses or of `not`s is refused quickly, without recursion.
    refused(
        all_sessions(),
        &[("$filter", &"(".repeat(MAX_OPTION_BYTES))],
        RuleId::Q8,
        "nests deeper",
    );
    refused(
        all_sessions(),
        &[("$filter", &"not ".repeat(MAX_OPTION_BYTES / 4))],
        RuleId::Q8,
        "nests deeper",
    );
}

#[test]
fn q8_evaluation_is_deterministic_and_independent_of_offer_order() {
    let o = Options::default().with_prefer("include-unknown-enum-members");
    for opts in [
        vec![],
        vec![
            ("$orderby", "status desc"),
            ("$top", "2"),
            ("$count", "true"),
        ],
        vec![
            ("$filter", "createdDateTime ne null"),
            ("$select", "id,createdDateTime"),
            ("$orderby", "createdDateTime desc"),
        ],
    ] {
        let q = parse_with(all_sessions(), &opts, &o).unwrap();
        let mut all = sessions();
        let first = list_with(&q, &all, &o);
        for rotation in 0..all.len() {
            all.rotate_left(1);
            assert_eq!(
                list_with(&q, &all, &o),
                first,
                "{opts:?} rotation {rotation}"
            );
            all.reverse();
            assert_eq!(list_with(&q, &all, &o), first, "{opts:?} reversed");
        }
    }
}

// ---------------------------------------------------------------- Q9

#[test]
fn q9_members_after_the_sentinel_need_the_preference() {
    let with = Options::default().with_prefer("include-unknown-enum-members");
    // Without it: `failed` and `granular` are refused as literals…
    let e = refused(
        all_sessions(),
        &[("$filter", "status eq 'failed'")],
        RuleId::Q9,
        "Prefer: include-unknown-enum-members",
    );
    assert!(
        e.message.starts_with("Invalid filter clause: "),
        "{}",
        e.message
    );
    refused(
        all_sessions(),
        &[(
            "$filter",
            "restoreJobType ne microsoft.graph.restoreJobType'granular'",
        )],
        RuleId::Q9,
        "after 'unknownFutureValue'",
    );
    // …and `eq 'unknownFutureValue'` holds for every value after the sentinel (s3 is `failed`,
    // s0 an unknown value), `ne` for the others; the ordering operators compare the values.
    assert_eq!(filtered("status eq 'unknownFutureValue'"), ["s0", "s3"]);
    assert_eq!(
        filtered("'unknownFutureValue' ne status"),
        ["s1", "s2", "s4"]
    );
    assert_eq!(filtered("status gt 'unknownFutureValue'"), ["s0", "s3"]);
    assert_eq!(
        filtered("status lt 'unknownFutureValue'"),
        ["s1", "s2", "s4"]
    );
    assert_eq!(filtered("restoreJobType eq 'unknownFutureValue'"), ["s3"]);
    // A stored value that is the sentinel itself is `unknownFutureValue`, with or without it.
    let mut all = sessions();
    all.push(session(json!({"@odata.type": OD, "id": "s5", "status": "unknownFutureValue", "driveRestoreArtifacts": []})));
    for o in [Options::default(), with.clone()] {
        let q = parse_with(
            all_sessions(),
            &[("$filter", "status eq 'unknownFutureValue'")],
            &o,
        )
        .unwrap();
        let expected: &[&str] = if o.include_unknown_enum_members {
            &["s5"]
        } else {
            &["s0", "s3", "s5"]
        };
        assert_eq!(ids(&list_with(&q, &all, &o)), expected);
    }
    // With it: the values themselves.
    assert_eq!(filtered_with("status eq 'failed'", &with), ["s3"]);
    assert_eq!(
        filtered_with("status eq 'unknownFutureValue'", &with),
        Vec::<String>::new()
    );
    assert_eq!(
        filtered_with("status gt 'unknownFutureValue'", &with),
        ["s0", "s3"]
    );
    assert_eq!(filtered_with("restoreJobType eq 'granular'", &with), ["s3"]);
    // Sorted by the values; written as O7 writes them, after sorting.
    let q = ok(
        all_sessions(),
        &[("$orderby", "status desc"), ("$select", "status")],
    );
    let written: Vec<Value> = values(&list_with(&q, &sessions(), &Options::default()))
        .iter()
        .map(|v| v["status"].clone())
        .collect();
    assert_eq!(
        written,
        [
            "unknownFutureValue",
            "unknownFutureValue",
            "completed",
            "active",
            "draft"
        ]
    );
    let q = parse_with(
        all_sessions(),
        &[("$orderby", "status desc"), ("$select", "status")],
        &with,
    )
    .unwrap();
    let written: Vec<Value> = values(&list_with(&q, &sessions(), &with))
        .iter()
        .map(|v| v["status"].clone())
        .collect();
    assert_eq!(
        written,
        ["someFutureValue", "failed", "completed", "active", "draft"]
    );
}

// ---------------------------------------------------------------- L9 unchanged

#[test]
fn no_options_give_l9_s_bytes() {
    for o in [
        Options::default(),
        Options::default().with_prefer("include-unknown-enum-members"),
    ] {
        let all = sessions();
        // One session.
        for target in [
            Target::Session(None),
            Target::Session(Some(SessionKind::OneDriveForBusiness)),
        ] {
            let q = parse_with(target, &[("custom", "1")], &o).unwrap();
            for s in &all {
                assert_eq!(query::render_one(s, &q, &o), render_session(s, &o));
            }
        }
        // A list: the sessions in id order, as render_session writes them; `$select=*` changes
        // nothing.
        let mut by_id: Vec<&Session> = all.iter().collect();
        by_id.sort_by_key(|s| s.id().to_owned());
        let expected: Vec<String> = by_id.iter().map(|s| render_session(s, &o)).collect();
        for opts in [vec![], vec![("$select", "*")]] {
            let q = parse_with(all_sessions(), &opts, &o).unwrap();
            let page = list_with(&q, &all, &o);
            assert_eq!(page.items, expected.join(","), "{opts:?}");
            assert_eq!((page.len, page.count, page.next), (5, None, None));
        }
        // An expansion adds its collection to the sessions of its kind only, after their
        // members: the others keep render_session's bytes.
        let q = parse_with(
            all_sessions(),
            &[(
                "$expand",
                "microsoft.graph.sharePointRestoreSession/granularSiteRestoreArtifacts",
            )],
            &o,
        )
        .unwrap();
        let page = list_with(&q, &all, &o);
        let items: Vec<&str> = page.items.split(r#"},{"@odata.type""#).collect();
        assert_eq!(items.len(), 5);
        for (i, s) in by_id.iter().enumerate() {
            let v = &values(&page)[i];
            if s.kind() == SessionKind::SharePoint {
                let plain = render_session(s, &o);
                let with = serde_json::to_string(v).unwrap();
                assert_eq!(v["granularSiteRestoreArtifacts"], json!([]));
                assert!(
                    page.items.contains(&format!(
                        r#"{},"granularSiteRestoreArtifacts":[]}}"#,
                        plain.trim_end_matches('}')
                    )),
                    "{with}"
                );
            } else {
                assert!(page.items.contains(&render_session(s, &o)));
            }
        }
    }
    // Artifacts: L9's first page, with removed slots in the collection too.
    let s = drafted(130);
    let removal = json!({"driveRestoreArtifacts@delta": [{"@removed": {}, "id": "a0"}, {"@removed": {}, "id": "a7"}]});
    let mut ctx = restore_delta::Context::new(
        restore_delta::Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        restore_delta::SeededIds::new(1),
    );
    let sparse = restore_delta::apply(
        s.clone(),
        removal.to_string().as_bytes(),
        &Options::default(),
        &mut ctx,
    )
    .state;
    for s in [&s, &sparse] {
        let q = ok(Target::Artifacts(DRIVE), &[]);
        let page = query::artifacts(s, DRIVE, &q, &Options::default());
        let (text, more) = render_artifacts(s, DRIVE, 0, DEFAULT_TOP);
        assert_eq!(page.value(), text);
        assert_eq!(page.next.is_some(), more);
    }
    // A query parsed for another target gives an empty page, never a panic.
    let q = ok(
        Target::Artifacts(ArtifactCollection::SiteRestoreArtifacts),
        &[("$count", "true")],
    );
    assert_eq!(
        query::artifacts(&s, DRIVE, &q, &Options::default()).count,
        Some(0)
    );
    let q = ok(Target::Artifacts(DRIVE), &[]);
    assert_eq!(list_with(&q, &sessions(), &Options::default()).len, 0);
    assert_eq!(
        query::render_one(&s, &q, &Options::default()),
        render_session(&s, &Options::default())
    );
}

// ---------------------------------------------------------------- vectors

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/query-vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn target_of(r: &Value) -> (Target, Option<String>) {
    let kind = |name: &str| match name {
        "restoreSessions" => None,
        "oneDriveForBusinessRestoreSessions" => Some(SessionKind::OneDriveForBusiness),
        "sharePointRestoreSessions" => Some(SessionKind::SharePoint),
        "exchangeRestoreSessions" => Some(SessionKind::Exchange),
        other => panic!("set {other:?}"),
    };
    let set = r["set"].as_str().unwrap_or("restoreSessions");
    match r["read"].as_str().unwrap() {
        "list" => (Target::Sessions(kind(set)), None),
        "get" => (
            Target::Session(kind(set)),
            Some(r["id"].as_str().unwrap().to_owned()),
        ),
        "artifacts" => {
            let c = ArtifactCollection::from_name(r["collection"].as_str().unwrap()).unwrap();
            (
                Target::Artifacts(c),
                Some(r["id"].as_str().unwrap().to_owned()),
            )
        }
        other => panic!("read {other:?}"),
    }
}

/// Runs one vector's requests; returns, per request, what it answered and the page's token.
fn run_vector(v: &Value) -> Vec<(Value, Option<String>)> {
    let all: Vec<Session> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(session)
        .collect();
    let mut answers: Vec<(Value, Option<String>)> = Vec::new();
    for r in v["requests"].as_array().unwrap() {
        let (target, id) = target_of(r);
        let o = match r["prefer"].as_str() {
            Some(p) => Options::default().with_prefer(p),
            None => Options::default(),
        };
        let list: Vec<(String, String)> = r["query"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let name = p[0].as_str().unwrap().to_owned();
                let value = match &p[1] {
                    Value::String(s) => s.clone(),
                    // `{"next_of": i}`: the token request i's page gave.
                    other => answers[other["next_of"].as_u64().unwrap() as usize]
                        .1
                        .clone()
                        .expect("a next page"),
                };
                (name, value)
            })
            .collect();
        let answer = match Query::parse(target, &list, &o) {
            Err(e) => (
                json!({"status": e.status, "rule": e.rule.as_str(), "body": serde_json::from_str::<Value>(&e.body()).unwrap()}),
                None,
            ),
            Ok(q) => {
                let one = id
                    .as_ref()
                    .map(|id| all.iter().find(|s| s.id() == id).expect("the session"));
                match (target, one) {
                    (Target::Session(_), Some(s)) => (
                        json!({"status": 200, "body": serde_json::from_str::<Value>(&query::render_one(s, &q, &o)).unwrap()}),
                        None,
                    ),
                    (Target::Artifacts(c), Some(s)) => page_answer(query::artifacts(s, c, &q, &o)),
                    _ => page_answer(list_with(&q, &all, &o)),
                }
            }
        };
        answers.push(answer);
    }
    answers
}

fn page_answer(page: Page) -> (Value, Option<String>) {
    let mut a = json!({"status": 200, "value": values(&page), "more": page.next.is_some()});
    if let Some(n) = page.count {
        a["count"] = json!(n);
    }
    (a, page.next)
}

#[test]
fn query_vectors() {
    let files = vector_files();
    assert!(!files.is_empty(), "no vectors in tests/query-vectors");
    let documented: BTreeSet<&str> = RuleId::ALL
        .iter()
        .map(|r| r.as_str())
        .filter(|r| r.starts_with('Q'))
        .collect();
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let bless = std::env::var_os("QUERY_VECTORS_BLESS").is_some();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for r in v["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no rules"))
        {
            let r = r.as_str().unwrap();
            assert!(documented.contains(r), "{name}: {r} is no query rule");
            covered.insert(r.to_owned());
        }
        let answers = run_vector(&v);
        // Same inputs, same bytes.
        let again = run_vector(&v);
        assert_eq!(
            serde_json::to_string(&answers.iter().map(|a| &a.0).collect::<Vec<_>>()).unwrap(),
            serde_json::to_string(&again.iter().map(|a| &a.0).collect::<Vec<_>>()).unwrap(),
            "{name}"
        );
        if bless {
            for (r, (answer, _)) in v["requests"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .zip(&answers)
            {
                r["expected"] = answer.clone();
            }
            std::fs::write(&file, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
            continue;
        }
        for (i, (r, (answer, _))) in v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&answers)
            .enumerate()
        {
            if r["expected"] != *answer {
                failures.push(format!(
                    "{name} request {i}:\n expected {}\n actual   {}",
                    r["expected"], answer
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let missing: Vec<&&str> = documented
        .iter()
        .filter(|r| !covered.contains(**r))
        .collect();
    assert!(
        missing.is_empty(),
        "query rules without a vector: {missing:?}"
    );
}

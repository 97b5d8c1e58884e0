//! The hostile mix: bodies a server must survive without crashing or hanging.

use serde_json::{Value, json};

use super::Builder;
use super::reference::Prefer;

/// Values of the wrong type for every place of a body.
const WRONG_VALUES: [&str; 7] = ["1", "-0.5e400", "true", "null", "\"x\"", "[]", "{}"];

impl Builder<'_> {
    pub(super) fn hostile(&mut self, count: usize) {
        // Broken, odd or repeated `Prefer` values (O1, O5, O7, O8), a server's own root (A2).
        if self.rng.chance(20) {
            self.prefer(Prefer::Broken);
        }
        if self.rng.chance(10) {
            self.add_local_root(true);
        }
        for _ in 0..count {
            let item = if self.rng.chance(50) {
                let mut m = self.addition();
                // A2: references that name nothing, where a body gets past E2.
                if m.contains_key("restorePoint") && self.rng.chance(30) {
                    let rp = self.fresh("rp");
                    let bad = self.refused_reference(&rp);
                    m.insert("restorePoint".into(), bad);
                }
                m
            } else {
                let id = self.stored_id();
                self.removal(id)
            };
            self.items.push(Value::Object(item));
        }
        let body = self.body_text();
        let delta = self.kind.collection(self.family).delta_name();
        let raw = match self.rng.below(10) {
            // A UTF-8 byte-order mark before a good body.
            0 => [&[0xEF, 0xBB, 0xBF][..], &body].concat(),
            // Invalid UTF-8 inside a string, or an overlong encoding.
            1 => {
                let bad: &[u8] = self.rng.pick(
                    &[&[0xFF][..], &[0xC0, 0xAF], &[0xED, 0xA0, 0x80], &[0x80]],
                    &[0xFF],
                );
                let text = format!("{{\"{delta}\":[{{\"@removed\":{{}},\"id\":\"a");
                [text.as_bytes(), bad, b"\"}]}"].concat()
            }
            // Duplicate member names, at the top, in an item or in a restore point.
            2 => {
                let text = match self.rng.below(3) {
                    0 => format!(
                        "{{\"{delta}\":[],\"{delta}\":[{{\"@removed\":{{}},\"id\":\"a\"}}]}}"
                    ),
                    1 => {
                        format!("{{\"{delta}\":[{{\"@removed\":{{}},\"id\":\"a\",\"id\":\"b\"}}]}}")
                    }
                    _ => format!(
                        "{{\"{delta}\":[{{\"restorePoint\":{{\"id\":\"r\",\"i\\u0064\":\"r\"}},\"destinationType\":\"new\"}}]}}"
                    ),
                };
                text.into_bytes()
            }
            // Deep nesting, around the limit or far beyond it, closed or not.
            3 => {
                let depth = self.rng.pick(&[62, 63, 64, 65, 1_000, 20_000], 65);
                let open = "[".repeat(depth);
                let close = if self.rng.chance(70) {
                    "]".repeat(depth)
                } else {
                    String::new()
                };
                format!("{{\"{delta}\":[{{\"@removed\":{{}},\"id\":\"a\",\"x\":{open}{close}}}]}}")
                    .into_bytes()
            }
            // A huge string where an id or a restore point goes.
            4 => {
                let len = self.rng.pick(&[1_000, 70_000, 300_000], 1_000);
                let huge = "\u{00e9}".repeat(len / 2);
                let item = match self.rng.below(3) {
                    0 => json!({"@removed": {}, "id": huge}),
                    1 => json!({"restorePoint": {"id": huge}, "destinationType": "new",
                        "browseSessionId": "bs-1", "itemKey": "k"}),
                    // A2: a long `@odata.id`, escapes and doubled quotes read in one pass.
                    _ => {
                        let iri = if self.rng.chance(50) {
                            format!("restorePoints/{}", "%C3%A9".repeat(len / 6))
                        } else {
                            format!("restorePoints('{}')", "''".repeat(len / 2))
                        };
                        json!({"restorePoint": {"@odata.id": iri}, "destinationType": "new",
                            "browseSessionId": "bs-1", "itemKey": "k"})
                    }
                };
                json!({ delta: [item] }).to_string().into_bytes()
            }
            // Wrong types at every level: the body, the delta, an item, a member of an item.
            5 => {
                let wrong = self.rng.pick(&WRONG_VALUES, "1");
                let text = match self.rng.below(5) {
                    0 => wrong.to_owned(),
                    1 => format!("{{\"{delta}\":{wrong}}}"),
                    2 => format!("{{\"{delta}\":[{wrong}]}}"),
                    3 => format!("{{\"{delta}\":[{{\"@removed\":{wrong},\"id\":{wrong}}}]}}"),
                    _ => format!(
                        "{{\"{delta}\":[{{\"restorePoint\":{wrong},\"destinationType\":{wrong},\"browseSessionId\":{wrong},\"itemKey\":{wrong},\"searchResponseId\":{wrong}}}]}}"
                    ),
                };
                text.into_bytes()
            }
            // A good body cut short.
            6 => {
                let cut = self.rng.below(body.len());
                body.get(..cut).unwrap_or_default().to_vec()
            }
            // A good body with one byte changed.
            7 => {
                let mut bytes = body.clone();
                let at = self.rng.below(bytes.len());
                let b = u8::try_from(self.rng.below(256)).unwrap_or(0);
                if let Some(x) = bytes.get_mut(at) {
                    *x = b;
                }
                bytes
            }
            // Trailing data, control characters, a NaN, an empty body.
            8 => {
                let tail: &[u8] = self
                    .rng
                    .pick(&[&b" {}"[..], b"\x00", b"NaN", b"\n\n]", b""], b"");
                if tail.is_empty() {
                    Vec::new()
                } else {
                    [body.as_slice(), tail].concat()
                }
            }
            // Random bytes.
            _ => {
                let n = self.rng.below(64);
                (0..n)
                    .map(|_| u8::try_from(self.rng.below(256)).unwrap_or(0))
                    .collect()
            }
        };
        self.set_raw(raw);
    }
}

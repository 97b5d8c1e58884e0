//! Reading a request body under the limit (rule E1) and the client timeout.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

use crate::graph::Reply;

/// The 413 of a body over `limit` bytes.
pub fn too_large(limit: usize) -> Reply {
    Reply::error(
        413,
        "RequestEntityTooLarge",
        &format!("The request body is larger than the limit of {limit} bytes."),
    )
}

/// Reads a body, never more than `limit + 1` bytes (rule E1 decides on the rest).
///
/// A refused body never costs more than twice the limit to read, and its connection is closed
/// after the 413:
/// - A `Content-Length` over the limit is refused before a byte is read. A client that sent
///   `Expect: 100-continue` then never sends its body. Another one is sending it: when it is at
///   most twice the limit, it is read and thrown away in the background (within `timeout`), so
///   that the client, still sending, can read the 413 instead of seeing its connection reset;
///   a longer one is not read at all.
/// - A body that grows past the limit as it is read (chunked) is refused when it does; at most
///   `limit` more bytes of it are then read and thrown away in the background, for the same
///   reason.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<u8>, Reply> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    if let Some(n) = declared.filter(|&n| n > limit as u64) {
        let expects = headers.contains_key(header::EXPECT);
        if !expects && n <= (limit as u64).saturating_mul(2) {
            drain(body, limit.saturating_mul(2), timeout);
        }
        return Err(too_large(limit).with_header("connection", "close"));
    }
    let capacity = declared.map_or(8 * 1024, |n| usize::try_from(n).unwrap_or(limit));
    let mut bytes = Vec::with_capacity(capacity.min(limit.saturating_add(1)));
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| {
                Reply::error(400, "BadRequest", "The request body could not be read.")
            })?;
            if let Ok(data) = frame.into_data() {
                bytes.extend_from_slice(&data);
                if bytes.len() > limit {
                    return Ok::<bool, Reply>(false);
                }
            }
        }
        Ok(true)
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(Reply::error(
            408,
            "RequestTimeout",
            "The request body was not received in time.",
        )
        .with_header("connection", "close")),
        Ok(Err(reply)) => Err(reply.with_header("connection", "close")),
        Ok(Ok(true)) => Ok(bytes),
        Ok(Ok(false)) => {
            drain(body, limit, timeout);
            Err(too_large(limit).with_header("connection", "close"))
        }
    }
}

/// Reads and throws away at most `budget` more bytes of `body` in the background, within
/// `timeout`; dropping it then lets the connection close.
pub fn drain(mut body: Body, budget: usize, timeout: Duration) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data() {
                    seen = seen.saturating_add(data.len());
                    if seen > budget {
                        break;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(timeout, drain).await;
    });
}

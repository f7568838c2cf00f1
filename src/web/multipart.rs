//! Bounds on what a multipart form may make the server hold before its
//! handler can judge it: the headers of each part ([`limit_part_headers`]),
//! and the small text fields, read with a cap ([`read_text`]).
//!
//! The parser under axum (`multer`) buffers a part's headers until their
//! blank line, and `Field::text` buffers a whole field: without these bounds
//! one request to the public `POST /verify` could make it hold gigabytes.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::extract::multipart::Field;
use axum::http::header;
use futures_util::StreamExt;
use memchr::memmem;

use crate::error::AppError;

/// The most a part's headers may take, from its boundary to their blank line.
/// A browser's run to a few hundred bytes (a long file name included).
pub const PART_HEADER_LIMIT: usize = 16 * 1024;

/// A part whose headers run past [`PART_HEADER_LIMIT`].
#[derive(Debug, thiserror::Error)]
#[error("a part's headers are longer than {PART_HEADER_LIMIT} bytes")]
pub struct PartHeadersTooLarge;

/// The request with its body watched: once a part's headers pass
/// [`PART_HEADER_LIMIT`] the body fails with [`PartHeadersTooLarge`], which
/// [`AppError`] answers 413. A request that is not multipart is left as it is.
pub fn limit_part_headers(request: Request) -> Request {
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok());
    let Some(boundary) = boundary else {
        return request;
    };
    let (parts, body) = request.into_parts();
    let mut scanner = HeaderScanner::new(&boundary);
    let watched = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(axum::BoxError::from)?;
        scanner.feed(&chunk)?;
        Ok::<Bytes, axum::BoxError>(chunk)
    });
    Request::from_parts(parts, Body::from_stream(watched))
}

/// Reads a field whole, giving up as soon as it passes `limit` bytes
/// (`None`), so that no more than `limit` and one chunk is ever held.
pub async fn read_bytes(field: &mut Field<'_>, limit: usize) -> Result<Option<Vec<u8>>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// [`read_bytes`] for a text field, which must be UTF-8.
pub async fn read_text(field: &mut Field<'_>, limit: usize) -> Result<Option<String>, AppError> {
    let Some(bytes) = read_bytes(field, limit).await? else {
        return Ok(None);
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| AppError::BadRequest("A form field is not valid UTF-8.".into()))
}

/// Follows the body through its delimiters and counts each part's header
/// bytes. Patterns may straddle chunks: the last bytes of one chunk are kept
/// and searched together with the start of the next.
struct HeaderScanner {
    /// `CRLF--boundary`; the body's first delimiter has no CRLF before it,
    /// so the scanner starts as if one had just been seen.
    delimiter: Vec<u8>,
    in_headers: bool,
    /// Header bytes of the current part so far.
    header_bytes: usize,
    /// The end of what was searched, shorter than the pattern searched for.
    carry: Vec<u8>,
}

const BLANK_LINE: &[u8] = b"\r\n\r\n";

impl HeaderScanner {
    fn new(boundary: &str) -> HeaderScanner {
        let delimiter = [b"\r\n--", boundary.as_bytes()].concat();
        HeaderScanner {
            delimiter,
            in_headers: false,
            header_bytes: 0,
            carry: b"\r\n".to_vec(),
        }
    }

    fn feed(&mut self, mut chunk: &[u8]) -> Result<(), PartHeadersTooLarge> {
        while !chunk.is_empty() {
            let pattern: &[u8] = if self.in_headers {
                BLANK_LINE
            } else {
                &self.delimiter
            };
            match self.find(pattern, chunk) {
                Some(end) => {
                    if self.in_headers {
                        self.header_bytes += end;
                        self.check()?;
                    }
                    self.in_headers = !self.in_headers;
                    self.header_bytes = 0;
                    self.carry.clear();
                    chunk = &chunk[end..];
                }
                None => {
                    if self.in_headers {
                        self.header_bytes += chunk.len();
                        self.check()?;
                    }
                    self.keep_tail(pattern.len(), chunk);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Where in `chunk` the first match of `pattern` ends, counting a match
    /// that began in the carried bytes.
    fn find(&self, pattern: &[u8], chunk: &[u8]) -> Option<usize> {
        if !self.carry.is_empty() {
            let head = &chunk[..chunk.len().min(pattern.len() - 1)];
            let window = [&self.carry[..], head].concat();
            if let Some(start) = memmem::find(&window, pattern) {
                return Some(start + pattern.len() - self.carry.len());
            }
        }
        memmem::find(chunk, pattern).map(|start| start + pattern.len())
    }

    fn keep_tail(&mut self, pattern_len: usize, chunk: &[u8]) {
        let keep = pattern_len - 1;
        if chunk.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.carry.extend_from_slice(chunk);
            let excess = self.carry.len().saturating_sub(keep);
            self.carry.drain(..excess);
        }
    }

    fn check(&self) -> Result<(), PartHeadersTooLarge> {
        if self.header_bytes > PART_HEADER_LIMIT {
            return Err(PartHeadersTooLarge);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(header_padding: usize) -> Vec<u8> {
        let padding = "a".repeat(header_padding);
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"one\"\r\nX-Pad: {padding}\r\n\r\nfirst value\r\n--XyZ\r\nContent-Disposition: form-data; name=\"two\"; filename=\"b.txt\"\r\n\r\n{}\r\n--XyZ--\r\n",
            "body bytes, not headers, ".repeat(2_000)
        )
        .into_bytes()
    }

    /// Feeds `body` in pieces of `size` bytes and says whether it passed.
    fn passes(body: &[u8], size: usize) -> bool {
        let mut scanner = HeaderScanner::new("XyZ");
        body.chunks(size).all(|chunk| scanner.feed(chunk).is_ok())
    }

    #[test]
    fn headers_within_the_limit_pass_however_the_body_is_cut() {
        let body = form(PART_HEADER_LIMIT - 200);
        for size in [1, 2, 3, 5, 7, 64, 1000, body.len()] {
            assert!(passes(&body, size), "pieces of {size}");
        }
    }

    #[test]
    fn headers_past_the_limit_fail_however_the_body_is_cut() {
        let body = form(PART_HEADER_LIMIT);
        for size in [1, 2, 3, 5, 7, 64, 1000, body.len()] {
            assert!(!passes(&body, size), "pieces of {size}");
        }
    }

    #[test]
    fn headers_that_never_end_fail_before_the_body_does() {
        let mut scanner = HeaderScanner::new("XyZ");
        scanner
            .feed(b"--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n")
            .unwrap();
        let endless = vec![b'a'; 4096];
        let fed = (0..).position(|_| scanner.feed(&endless).is_err()).unwrap();
        // The first header line and four pieces pass the limit.
        assert_eq!(fed, PART_HEADER_LIMIT / endless.len() - 1);
    }

    #[test]
    fn a_large_field_is_not_counted_as_headers() {
        let body = form(0);
        let mut large = body.clone();
        let at = large.len() - "\r\n--XyZ--\r\n".len();
        large.splice(at..at, std::iter::repeat_n(b'z', 10 * PART_HEADER_LIMIT));
        assert!(passes(&large, 4096));
    }
}

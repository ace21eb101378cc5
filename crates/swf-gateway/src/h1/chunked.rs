//! Decoder of `Transfer-Encoding: chunked` request bodies: chunk sizes (hex, with extensions, which are
//! ignored), chunk data, and the trailer section. Trailers are parsed as header fields are (a token, a
//! colon, a value of visible text; the head's limits on size and count) and then discarded; any other
//! line there (a request line, a folded or nameless field) refuses the body, so the end of a body is
//! never read two ways. It is fed whatever bytes have arrived and stops right after the body, so
//! pipelined bytes stay for the next request.

use super::parse::{MAX_HEAD, MAX_HEADERS};

/// Longest chunk-size line (size and extensions) accepted.
const MAX_SIZE_LINE: usize = 4096;

/// Why a chunked body is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// Not valid chunked framing (or the trailers are too large).
    Malformed,
    /// The decoded body would exceed the limit.
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the chunk size (`digits` read so far).
    Size {
        size: u64,
        digits: u8,
    },
    /// In chunk extensions, up to the CR.
    Ext {
        size: u64,
    },
    /// After the size line's CR.
    SizeLf {
        size: u64,
    },
    /// In chunk data.
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    /// At the start of a trailer field (or of the final empty line).
    TrailerStart,
    /// In a trailer field's name.
    TrailerName,
    /// In a trailer field's value (after the colon), up to the CR.
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
}

/// An incremental chunked-body decoder.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// Bytes of the current size line, or of all trailers.
    counted: usize,
    /// Trailer fields read.
    trailers: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder {
            state: State::Size { size: 0, digits: 0 },
            counted: 0,
            trailers: 0,
        }
    }
}

impl ChunkedDecoder {
    /// Whether the whole body (with its trailers) has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input` into `out` (which may not grow past `limit` bytes) and returns how many
    /// bytes of `input` were consumed: all of them, or fewer once the body is done.
    pub fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<usize, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            self.state = match self.state {
                State::Done => return Ok(i),
                State::Data { left } => {
                    let take = (input.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    if out.len() + take > limit {
                        return Err(ChunkError::TooLarge);
                    }
                    out.extend_from_slice(&input[i..i + take]);
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { left }
                    };
                    continue;
                }
                State::Size { size, digits } => {
                    self.count(MAX_SIZE_LINE)?;
                    match b {
                        b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                            if digits >= 16 {
                                return Err(ChunkError::Malformed);
                            }
                            let d = (b as char).to_digit(16).unwrap_or(0);
                            State::Size {
                                size: (size << 4) | u64::from(d),
                                digits: digits + 1,
                            }
                        }
                        b';' | b' ' | b'\t' if digits > 0 => State::Ext { size },
                        b'\r' if digits > 0 => State::SizeLf { size },
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                State::Ext { size } => {
                    self.count(MAX_SIZE_LINE)?;
                    match b {
                        b'\r' => State::SizeLf { size },
                        b'\n' => return Err(ChunkError::Malformed),
                        _ => State::Ext { size },
                    }
                }
                State::SizeLf { size } => {
                    if b != b'\n' {
                        return Err(ChunkError::Malformed);
                    }
                    self.counted = 0;
                    if size == 0 {
                        State::TrailerStart
                    } else {
                        if (out.len() as u64).saturating_add(size) > limit as u64 {
                            return Err(ChunkError::TooLarge);
                        }
                        State::Data { left: size }
                    }
                }
                State::DataCr if b == b'\r' => State::DataLf,
                State::DataLf if b == b'\n' => State::Size { size: 0, digits: 0 },
                State::DataCr | State::DataLf => return Err(ChunkError::Malformed),
                State::TrailerStart => {
                    self.count(MAX_HEAD)?;
                    match b {
                        b'\r' => State::EndLf,
                        // A field name begins; anything else (a folded line, a nameless field) is
                        // not a field.
                        _ if is_tchar(b) => {
                            self.trailers += 1;
                            if self.trailers > MAX_HEADERS {
                                return Err(ChunkError::Malformed);
                            }
                            State::TrailerName
                        }
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                State::TrailerName => {
                    self.count(MAX_HEAD)?;
                    match b {
                        b':' => State::TrailerValue,
                        // No space before the colon (RFC 9112 §5.1), no request line.
                        _ if is_tchar(b) => State::TrailerName,
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                State::TrailerValue => {
                    self.count(MAX_HEAD)?;
                    match b {
                        b'\r' => State::TrailerLf,
                        _ if is_value_byte(b) => State::TrailerValue,
                        _ => return Err(ChunkError::Malformed),
                    }
                }
                State::TrailerLf if b == b'\n' => State::TrailerStart,
                State::EndLf if b == b'\n' => State::Done,
                State::TrailerLf | State::EndLf => return Err(ChunkError::Malformed),
            };
            i += 1;
        }
        Ok(i)
    }

    fn count(&mut self, max: usize) -> Result<(), ChunkError> {
        self.counted += 1;
        if self.counted > max {
            Err(ChunkError::Malformed)
        } else {
            Ok(())
        }
    }
}

/// A `tchar` of RFC 9110 (the characters of a field name).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte a field value may hold: visible ASCII, space, tab, and obs-text (as `httparse` allows in
/// the head).
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in the given pieces; returns the body and the bytes left after it.
    fn decode_in(pieces: &[&[u8]], limit: usize) -> Result<(Vec<u8>, Vec<u8>), ChunkError> {
        let mut d = ChunkedDecoder::default();
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for p in pieces {
            if d.is_done() {
                rest.extend_from_slice(p);
                continue;
            }
            let n = d.decode(p, &mut out, limit)?;
            rest.extend_from_slice(&p[n..]);
        }
        if !d.is_done() {
            return Err(ChunkError::Malformed);
        }
        Ok((out, rest))
    }

    const BODY: &[u8] =
        b"5;ext=1\r\nhello\r\n1b\r\n, and a longer second chunk\r\n0\r\nX-Trailer: v\r\nY: w\r\n\r\nNEXT";

    #[test]
    fn whole_body_with_extensions_and_trailers() {
        let (out, rest) = decode_in(&[BODY], 1 << 20).unwrap();
        assert_eq!(out, b"hello, and a longer second chunk");
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn split_at_every_byte() {
        for cut in 0..=BODY.len() {
            let (a, b) = BODY.split_at(cut);
            let (out, rest) = decode_in(&[a, b], 1 << 20).unwrap();
            assert_eq!(out, b"hello, and a longer second chunk", "cut {cut}");
            assert_eq!(rest, b"NEXT", "cut {cut}");
        }
        let bytes: Vec<&[u8]> = BODY.chunks(1).collect();
        let (out, rest) = decode_in(&bytes, 1 << 20).unwrap();
        assert_eq!(out, b"hello, and a longer second chunk");
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn empty_body() {
        let (out, rest) = decode_in(&[b"0\r\n\r\n"], 10).unwrap();
        assert!(out.is_empty() && rest.is_empty());
    }

    #[test]
    fn limit() {
        assert_eq!(
            decode_in(&[b"6\r\nabcdef\r\n0\r\n\r\n"], 5),
            Err(ChunkError::TooLarge)
        );
        // Two chunks adding up past the limit.
        assert_eq!(
            decode_in(&[b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"], 5),
            Err(ChunkError::TooLarge)
        );
        assert!(decode_in(&[b"5\r\nabcde\r\n0\r\n\r\n"], 5).is_ok());
    }

    #[test]
    fn malformed() {
        let cases: [&[u8]; 12] = [
            b"\r\n",
            b"g\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"11111111111111111\r\n",
            b"ffffffffffffffff\r\n",
            b"-1\r\n",
            b"0\r\n\n",
            b"0\r\nX: y\n\r\n",
            b"0\r\n\r\r",
            b" 5\r\nhello\r\n0\r\n\r\n",
        ];
        for c in cases {
            let r = decode_in(&[c], usize::MAX);
            assert!(r.is_err(), "{:?}", String::from_utf8_lossy(c));
        }
        let long_ext = format!("1;{}\r\n", "e".repeat(MAX_SIZE_LINE));
        assert_eq!(
            decode_in(&[long_ext.as_bytes()], usize::MAX),
            Err(ChunkError::Malformed)
        );
        let long_trailer = format!("0\r\nX: {}\r\n\r\n", "t".repeat(MAX_HEAD));
        assert_eq!(
            decode_in(&[long_trailer.as_bytes()], usize::MAX),
            Err(ChunkError::Malformed)
        );
    }

    /// Trailers are header fields (issue 12, item 7: a request line after the last chunk used to end
    /// the body as if it were a trailer).
    #[test]
    fn trailers_are_header_fields() {
        let accepted: [&[u8]; 5] = [
            b"0\r\nX-Trailer: v\r\nY: w\r\n\r\n",
            b"0\r\nX:\r\n\r\n",
            b"0\r\nX:v\r\n\r\n",
            b"0\r\nChecksum: a\tb \xe9 \r\n\r\n",
            b"0\r\n!#$%&'*+-.^_`|~09az:x\r\n\r\n",
        ];
        for c in accepted {
            let text = String::from_utf8_lossy(c);
            // Whole and byte by byte: the same answer.
            assert!(decode_in(&[c], 10).is_ok(), "{text:?}");
            let bytes: Vec<&[u8]> = c.chunks(1).collect();
            assert!(decode_in(&bytes, 10).is_ok(), "{text:?} byte by byte");
        }
        let refused: [&[u8]; 11] = [
            b"0\r\nGET /health HTTP/1.1\r\n\r\n",
            b"0\r\nX: y\r\nGET / HTTP/1.1\r\n\r\n",
            b"0\r\nX : y\r\n\r\n",
            b"0\r\n: y\r\n\r\n",
            b"0\r\n folded: y\r\n\r\n",
            b"0\r\nX: y\r\n continued\r\n\r\n",
            b"0\r\nX\r\n\r\n",
            b"0\r\nX: a\x01b\r\n\r\n",
            b"0\r\nX: a\x7fb\r\n\r\n",
            b"0\r\nX\xe9: y\r\n\r\n",
            b"0\r\nX: y\r\r\n\r\n",
        ];
        for c in refused {
            let text = String::from_utf8_lossy(c);
            assert_eq!(decode_in(&[c], 10), Err(ChunkError::Malformed), "{text:?}");
            let bytes: Vec<&[u8]> = c.chunks(1).collect();
            assert_eq!(
                decode_in(&bytes, 10),
                Err(ChunkError::Malformed),
                "{text:?} byte by byte"
            );
        }
        // The head's limit on the number of fields holds for trailers.
        let fields = |n: usize| {
            let lines: String = (0..n).map(|i| format!("T-{i}: v\r\n")).collect();
            format!("0\r\n{lines}\r\n")
        };
        assert!(decode_in(&[fields(MAX_HEADERS).as_bytes()], 10).is_ok());
        assert_eq!(
            decode_in(&[fields(MAX_HEADERS + 1).as_bytes()], 10),
            Err(ChunkError::Malformed)
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u32 = 7;
        for len in 0..3000 {
            let bytes: Vec<u8> = (0..len % 300)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    b"0123456789abcdef;\r\n xZ"[(x >> 16) as usize % 22]
                })
                .collect();
            let mut d = ChunkedDecoder::default();
            let _ = d.decode(&bytes, &mut Vec::new(), 1 << 16);
        }
    }
}

//! The incremental chunked-body decoder: any bytes, fed whole or in pieces of any size, decode to the
//! same body, the same error or the same "not done yet", never a panic, never past the size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod h1;

use h1::chunked::ChunkedDecoder;

const LIMIT: usize = 4096;

/// Feeds `input` in pieces of `step` bytes: the body, whether it ended, and the bytes left over.
fn decode(input: &[u8], step: usize) -> (Result<Vec<u8>, String>, bool, usize) {
    let mut d = ChunkedDecoder::default();
    let mut out = Vec::new();
    let mut at = 0;
    while at < input.len() && !d.is_done() {
        let end = (at + step).min(input.len());
        match d.decode(&input[at..end], &mut out, LIMIT) {
            Ok(n) => {
                let piece = end - at;
                assert!(n <= piece);
                // All of the piece is taken unless the body ended within it.
                assert!(n == piece || d.is_done(), "consumed less without finishing");
                at += n;
            }
            Err(e) => return (Err(format!("{e:?}")), false, at),
        }
        assert!(out.len() <= LIMIT);
    }
    (Ok(out), d.is_done(), input.len() - at)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let whole = decode(input, usize::MAX);
    let pieces = decode(input, usize::from(step % 16) + 1);
    match (&whole.0, &pieces.0) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "the same body whole or in pieces");
            assert_eq!(whole.1, pieces.1);
            assert_eq!(whole.2, pieces.2, "the same bytes left after the body");
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("whole {whole:?} / pieces {pieces:?}"),
    }
});

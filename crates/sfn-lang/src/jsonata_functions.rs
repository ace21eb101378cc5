//! The functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`, `$random([seed])`,
//! `$uuid`, `$parse`, as AWS documents them under "JSONata functions provided by Step Functions"),
//! JSONata 2.0.6 functions the `seuil` evaluator lacks or leaves incomplete (`$shuffle`, which it
//! leaves unshuffled; the URL encoding functions; `$formatBase`; `$toMillis` with the `[H]:[m]`
//! picture, which it completes with the node's clock), and the [`Environment`] giving its `$now` /
//! `$millis` / `$random` / `$uuid` the leader-stamped time and the execution's [`Entropy`]. All of
//! them read the stamp through a thread-local ([`with_stamp`]): the evaluator's native functions get
//! no context of the caller's. [`bind`] puts them in an evaluator's scope over the built-in names.

use crate::entropy::Entropy;
use bumpalo::Bump;
use serde_json::Value;
use seuil::clock::Environment;
use seuil::evaluator::engine::Evaluator;
use seuil::evaluator::functions::NativeFn;
use seuil::evaluator::value::FnContext;
use seuil::evaluator::{ArrayFlags, Value as JValue};
use std::cell::RefCell;

/// The time and entropy an evaluation draws from.
pub(crate) struct Stamped {
    pub(crate) now_ms: i64,
    pub(crate) entropy: Entropy,
}

thread_local! {
    /// The stamped time and entropy of the evaluation running on this thread.
    static STAMPED: RefCell<Option<Stamped>> = const { RefCell::new(None) };
}

/// Runs `f` with `stamped` available to the functions on this thread; gives back what `f` returned
/// and the entropy after its draws.
pub(crate) fn with_stamp<T>(stamped: Stamped, f: impl FnOnce() -> T) -> (T, Option<Entropy>) {
    STAMPED.with(|s| *s.borrow_mut() = Some(stamped));
    let out = f();
    let st = STAMPED.with(|s| s.borrow_mut().take());
    (out, st.map(|s| s.entropy))
}

/// Binds AWS's functions and sfn-lang's additions in `ev`'s scope (over the built-ins of the same
/// name; `$now` / `$millis` / `$uuid` come from the [`Environment`]).
pub(crate) fn bind<'a>(ev: &Evaluator<'a, '_>, arena: &'a Bump) {
    let natives: [(&'static str, usize, NativeFn<'a>); 12] = [
        ("random", 1, fn_random),
        ("partition", 2, fn_partition),
        ("range", 3, fn_range),
        ("hash", 2, fn_hash),
        ("parse", 1, fn_parse),
        ("shuffle", 1, fn_shuffle),
        ("encodeUrlComponent", 1, fn_encode_url_component),
        ("encodeUrl", 1, fn_encode_url),
        ("decodeUrlComponent", 1, fn_decode_url),
        ("decodeUrl", 1, fn_decode_url),
        ("formatBase", 2, fn_format_base),
        ("toMillis", 2, fn_to_millis),
    ];
    for (name, arity, func) in natives {
        ev.bind(
            name,
            arena.alloc(JValue::NativeFn {
                // Not the bare name: the evaluator gives a native called `random` its own body.
                name: format!("sfn:{name}"),
                arity,
                func,
            }),
        );
    }
}

/// The stamped time and entropy as the evaluator's [`Environment`] (its `$now()`, `$now(picture,
/// timezone)`, `$millis()` and `$uuid()`); no clock: the evaluator's time limit is not used.
pub(crate) struct StampedEnv;

impl Environment for StampedEnv {
    fn now_iso(&self) -> String {
        crate::interpret::rfc3339(stamped(|s| s.now_ms).unwrap_or(0))
    }
    fn now_millis(&self) -> u64 {
        stamped(|s| s.now_ms).unwrap_or(0).max(0) as u64
    }
    fn random_f64(&self) -> f64 {
        stamped(|s| s.entropy.unit()).unwrap_or(0.0)
    }
    fn random_uuid(&self) -> String {
        stamped(|s| s.entropy.uuid()).unwrap_or_default()
    }
    fn elapsed_millis(&self, _since: u64) -> u64 {
        0
    }
    fn timestamp(&self) -> u64 {
        0
    }
}

/// A JSON value in the evaluator's arena (objects keep their key order).
pub(crate) fn to_jvalue<'a>(arena: &'a Bump, v: &Value) -> &'a JValue<'a> {
    JValue::from_json(arena, v)
}

type JResult<'a> = seuil::Result<&'a JValue<'a>>;

fn stamped<T>(f: impl FnOnce(&mut Stamped) -> T) -> Option<T> {
    STAMPED.with(|s| s.borrow_mut().as_mut().map(f))
}

fn fn_random<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let seed = args.first().filter(|a| a.is_number()).map(|a| a.as_f64());
    let r = match seed {
        // AWS: `$random(seed)` gives the same number for the same seed.
        Some(s) => Entropy::new(s.to_bits()).unit(),
        None => stamped(|s| s.entropy.unit()).unwrap_or(0.0),
    };
    Ok(JValue::number(ctx.arena, r))
}

fn arg_error<'a>(msg: &str) -> JResult<'a> {
    Err(seuil::Error::D3137Error(msg.to_string()))
}

/// `$range(start, end, step)`: start, start + step, ... up to end inclusive (AWS's example:
/// `$range(0, 10, 2)` is `[0, 2, 4, 6, 8, 10]`), at most 1000 items as `States.ArrayRange`.
fn fn_range<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let num = |i: usize| args.get(i).filter(|a| a.is_number()).map(|a| a.as_f64());
    let (Some(start), Some(end), Some(step)) = (num(0), num(1), num(2)) else {
        return arg_error("$range takes three numbers: start, end and step");
    };
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
        return arg_error("$range: the step must be a non-zero number");
    }
    let arr = JValue::array(ctx.arena, ArrayFlags::empty());
    let mut x = start;
    let mut n = 0;
    while (step > 0.0 && x <= end) || (step < 0.0 && x >= end) {
        n += 1;
        if n > 1000 {
            return arg_error("$range: the range has more than 1000 items");
        }
        arr.push(JValue::number(ctx.arena, x));
        x += step;
    }
    Ok(arr)
}

/// `$partition(array, size)`: the array in chunks of `size` (the last may be shorter), as
/// `States.ArrayPartition`.
fn fn_partition<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (Some(arr), Some(size)) = (
        args.first().filter(|a| a.is_array()),
        args.get(1).filter(|a| a.is_number()),
    ) else {
        return arg_error("$partition takes an array and a chunk size");
    };
    let size = size.as_f64();
    if size < 1.0 || size.fract() != 0.0 {
        return arg_error("$partition: the chunk size must be a positive integer");
    }
    let size = size as usize;
    let out = JValue::array(ctx.arena, ArrayFlags::empty());
    let mut chunk = JValue::array(ctx.arena, ArrayFlags::empty());
    let mut n = 0;
    for m in arr.members() {
        chunk.push(m);
        n += 1;
        if n == size {
            out.push(chunk);
            chunk = JValue::array(ctx.arena, ArrayFlags::empty());
            n = 0;
        }
    }
    if n > 0 {
        out.push(chunk);
    }
    Ok(out)
}

/// `$hash(data, algorithm)`: the hex digest (MD5, SHA-1, SHA-256, SHA-384, SHA-512).
fn fn_hash<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (Some(data), Some(alg)) = (
        args.first().filter(|a| a.is_string()),
        args.get(1).filter(|a| a.is_string()),
    ) else {
        return arg_error("$hash takes a string and an algorithm name");
    };
    match crate::intrinsics::hash(&alg.as_str(), data.as_str().as_bytes()) {
        Some(h) => Ok(JValue::string(ctx.arena, &h)),
        None => {
            arg_error("$hash: the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512")
        }
    }
}

/// `$parse(json)`: the JSON value a string holds.
fn fn_parse<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(s) = args.first().filter(|a| a.is_string()) else {
        return arg_error("$parse takes a string");
    };
    match serde_json::from_str::<Value>(&s.as_str()) {
        Ok(v) => Ok(to_jvalue(ctx.arena, &v)),
        Err(_) => arg_error("$parse: the string is not valid JSON"),
    }
}

/// `$shuffle(array)`: the items in a random order (drawn from the execution's entropy).
fn fn_shuffle<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(a) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined(ctx.arena));
    };
    let mut items: Vec<&'a JValue<'a>> = if a.is_array() {
        a.members().collect()
    } else {
        vec![*a]
    };
    for i in (1..items.len()).rev() {
        let r = stamped(|s| s.entropy.next_u64()).unwrap_or(0);
        items.swap(i, (r % (i as u64 + 1)) as usize);
    }
    let out = JValue::array(ctx.arena, ArrayFlags::empty());
    for m in items {
        out.push(m);
    }
    Ok(out)
}

/// Percent-encodes `s` as JavaScript's `encodeURIComponent` (`keep`: the extra characters
/// `encodeURI` leaves alone).
fn percent_encode(s: &str, keep: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c) || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Decodes `%XX` sequences (UTF-8); `None` for a malformed one.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn url_fn<'a>(
    ctx: &FnContext<'a, '_>,
    args: &[&'a JValue<'a>],
    f: impl Fn(&str) -> Option<String>,
) -> JResult<'a> {
    let Some(v) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined(ctx.arena));
    };
    if !v.is_string() {
        return arg_error("the URL functions take a string");
    }
    match f(&v.as_str()) {
        Some(s) => Ok(JValue::string(ctx.arena, &s)),
        None => arg_error("the string is not a valid URL encoding"),
    }
}

fn fn_encode_url_component<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    url_fn(&ctx, args, |s| Some(percent_encode(s, "")))
}

fn fn_encode_url<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    url_fn(&ctx, args, |s| Some(percent_encode(s, ";,/?:@&=+$#")))
}

fn fn_decode_url<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    url_fn(&ctx, args, percent_decode)
}

/// `$formatBase(number, radix)`: the integer in base 2 to 36 (default 10).
fn fn_format_base<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(n) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined(ctx.arena));
    };
    if !n.is_number() {
        return arg_error("$formatBase takes a number");
    }
    let radix = match args.get(1).filter(|a| !a.is_undefined()) {
        None => 10,
        Some(r) if r.is_number() => r.as_f64() as i64,
        Some(_) => return arg_error("$formatBase: the radix must be a number"),
    };
    if !(2..=36).contains(&radix) {
        return arg_error("$formatBase: the radix must be between 2 and 36");
    }
    let v = n.as_f64().round();
    let (neg, mut x) = (v < 0.0, v.abs() as u128);
    let mut digits = Vec::new();
    loop {
        digits.push(std::char::from_digit((x % radix as u128) as u32, radix as u32).unwrap_or('0'));
        x /= radix as u128;
        if x == 0 {
            break;
        }
    }
    if neg {
        digits.push('-');
    }
    let s: String = digits.into_iter().rev().collect();
    Ok(JValue::string(ctx.arena, &s))
}

/// `$toMillis(timestamp[, picture])`; the evaluator's own but for the `[H]:[m]` picture, a time of
/// day it places on the stamped day (the evaluator reads the node's clock there).
fn fn_to_millis<'a>(ctx: FnContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let picture = args.get(1).filter(|p| p.is_string()).map(|p| p.as_str());
    if picture.as_deref() != Some("[H]:[m]") {
        return seuil::evaluator::functions::datetime::fn_to_millis(ctx, args);
    }
    let Some(t) = args.first().filter(|t| t.is_string()) else {
        return seuil::evaluator::functions::datetime::fn_to_millis(ctx, args);
    };
    let t = t.as_str();
    let parsed = t
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
        .filter(|(h, m)| (0..24).contains(h) && (0..60).contains(m));
    let Some((h, m)) = parsed else {
        return Ok(JValue::undefined(ctx.arena));
    };
    const DAY_MS: i64 = 86_400_000;
    let now = stamped(|s| s.now_ms).unwrap_or(0);
    let day = now - now.rem_euclid(DAY_MS);
    Ok(JValue::number(
        ctx.arena,
        (day + h * 3_600_000 + m * 60_000) as f64,
    ))
}

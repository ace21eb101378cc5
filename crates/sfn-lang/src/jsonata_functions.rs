//! The functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`, `$random([seed])`,
//! `$uuid`, `$parse`, as AWS documents them under "JSONata functions provided by Step Functions"),
//! JSONata 2.0.6 functions the crate lacks (`$average`, `$type`, `$shuffle`, `$sift`, `$spread`, the
//! URL encoding functions, `$formatBase`), `$keys` / `$each` / `$string` of objects in sorted key
//! order (the crate's objects iterate in an order that differs between processes), and deterministic
//! `$now` / `$millis`: each reads the leader-stamped time or draws from the execution's
//! [`Entropy`], handed to the evaluation thread through a thread-local ([`with_stamp`]). The prelude
//! binds them, with `$states` and the variables, over the crate's own names.

use crate::entropy::Entropy;
use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as JValue};
use serde_json::Value;
use std::cell::RefCell;

/// The block the user expression is wrapped in (its variable bindings are appended by the caller):
/// `$states`, AWS's functions and the deterministic `$now` / `$millis` / `$random` / `$uuid`.
pub(crate) const PRELUDE: &str = "($states := $__sfn_states; \
     $millis := $__sfn_millis; \
     $now := function($p, $t){ $exists($p) ? ($exists($t) ? $fromMillis($__sfn_millis(), $p, $t) : $fromMillis($__sfn_millis(), $p)) : $__sfn_now() }; \
     $random := $__sfn_random; $uuid := $__sfn_uuid; $partition := $__sfn_partition; \
     $range := $__sfn_range; $hash := $__sfn_hash; $parse := $__sfn_parse; \
     $average := $__sfn_average; $type := $__sfn_type; $shuffle := $__sfn_shuffle; \
     $encodeUrlComponent := $__sfn_encode_url_component; $encodeUrl := $__sfn_encode_url; \
     $decodeUrlComponent := $__sfn_decode_url; $decodeUrl := $__sfn_decode_url; \
     $formatBase := $__sfn_format_base; \
     $sift := function($o, $f){ ($r := $merge($each($o, function($v, $k){ $f($v, $k, $o) ? {$k: $v} })); $count($keys($r)) = 0 ? $r[false] : $r) }; \
     $spread := function($o){ $type($o) = 'array' ? $map($o, function($x){ $spread($x) }) : $type($o) = 'object' ? $each($o, function($v, $k){ {$k: $v} }) : $o }; \
     $keys := $__sfn_keys; \
     $each := function($o, $f){ $map($keys($o), function($k){ $f($lookup($o, $k), $k, $o) }) }; \
     $__crate_string := $string; \
     $string := function($v, $p){ $type($v) in ['object', 'array'] ? $__sfn_string_json($v, $p) : $exists($p) ? $__crate_string($v, $p) : $__crate_string($v) }; ";

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

/// Registers the native functions the prelude refers to.
pub(crate) fn register<'a>(j: &JsonAta<'a>) {
    j.register_function("__sfn_millis", 0, fn_millis);
    j.register_function("__sfn_now", 0, fn_now);
    j.register_function("__sfn_random", 1, fn_random);
    j.register_function("__sfn_uuid", 0, fn_uuid);
    j.register_function("__sfn_partition", 2, fn_partition);
    j.register_function("__sfn_range", 3, fn_range);
    j.register_function("__sfn_hash", 2, fn_hash);
    j.register_function("__sfn_parse", 1, fn_parse);
    // JSONata 2.0.6 functions the crate lacks.
    j.register_function("__sfn_average", 1, fn_average);
    j.register_function("__sfn_type", 1, fn_type);
    j.register_function("__sfn_shuffle", 1, fn_shuffle);
    j.register_function("__sfn_encode_url_component", 1, fn_encode_url_component);
    j.register_function("__sfn_encode_url", 1, fn_encode_url);
    j.register_function("__sfn_decode_url", 1, fn_decode_url);
    j.register_function("__sfn_format_base", 2, fn_format_base);
    // Object iteration in a stable order (sorted keys).
    j.register_function("__sfn_keys", 1, fn_keys);
    j.register_function("__sfn_string_json", 2, fn_string_json);
}

/// A JSON value in the crate's arena.
pub(crate) fn to_jvalue<'a>(arena: &'a Bump, v: &Value) -> &'a JValue<'a> {
    match v {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(a) => {
            let arr = JValue::array_with_capacity(arena, a.len(), ArrayFlags::empty());
            for x in a {
                arr.push(to_jvalue(arena, x));
            }
            arr
        }
        Value::Object(o) => {
            let obj = JValue::object_with_capacity(arena, o.len());
            for (k, x) in o {
                obj.insert(k, to_jvalue(arena, x));
            }
            obj
        }
    }
}

type JResult<'a> = jsonata_rs::Result<&'a JValue<'a>>;

fn stamped<T>(f: impl FnOnce(&mut Stamped) -> T) -> Option<T> {
    STAMPED.with(|s| s.borrow_mut().as_mut().map(f))
}

fn fn_millis<'a>(ctx: FunctionContext<'a, '_>, _args: &[&'a JValue<'a>]) -> JResult<'a> {
    let ms = stamped(|s| s.now_ms).unwrap_or(0);
    Ok(JValue::number(ctx.arena, ms as f64))
}

fn fn_now<'a>(ctx: FunctionContext<'a, '_>, _args: &[&'a JValue<'a>]) -> JResult<'a> {
    let ms = stamped(|s| s.now_ms).unwrap_or(0);
    Ok(JValue::string(ctx.arena, &crate::interpret::rfc3339(ms)))
}

fn fn_random<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let seed = args.first().filter(|a| a.is_number()).map(|a| a.as_f64());
    let r = match seed {
        // AWS: `$random(seed)` gives the same number for the same seed.
        Some(s) => Entropy::new(s.to_bits()).unit(),
        None => stamped(|s| s.entropy.unit()).unwrap_or(0.0),
    };
    Ok(JValue::number(ctx.arena, r))
}

fn fn_uuid<'a>(ctx: FunctionContext<'a, '_>, _args: &[&'a JValue<'a>]) -> JResult<'a> {
    let u = stamped(|s| s.entropy.uuid()).unwrap_or_default();
    Ok(JValue::string(ctx.arena, &u))
}

fn arg_error<'a>(msg: &str) -> JResult<'a> {
    Err(jsonata_rs::Error::D3137Error(msg.to_string()))
}

/// `$range(start, end, step)`: start, start + step, ... up to end inclusive (AWS's example:
/// `$range(0, 10, 2)` is `[0, 2, 4, 6, 8, 10]`), at most 1000 items as `States.ArrayRange`.
fn fn_range<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
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
fn fn_partition<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
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
fn fn_hash<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
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
fn fn_parse<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(s) = args.first().filter(|a| a.is_string()) else {
        return arg_error("$parse takes a string");
    };
    match serde_json::from_str::<Value>(&s.as_str()) {
        Ok(v) => Ok(to_jvalue(ctx.arena, &v)),
        Err(_) => arg_error("$parse: the string is not valid JSON"),
    }
}

/// `$average(array)`: the mean of the numbers (nothing for an empty array).
fn fn_average<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(a) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined());
    };
    let nums: Vec<f64> = if a.is_number() {
        vec![a.as_f64()]
    } else if a.is_array() {
        let mut v = Vec::new();
        for m in a.members() {
            if !m.is_number() {
                return arg_error("$average: the array must contain numbers only");
            }
            v.push(m.as_f64());
        }
        v
    } else {
        return arg_error("$average takes an array of numbers");
    };
    if nums.is_empty() {
        return Ok(JValue::undefined());
    }
    Ok(JValue::number(
        ctx.arena,
        nums.iter().sum::<f64>() / nums.len() as f64,
    ))
}

/// `$type(value)`: `null`, `number`, `string`, `boolean`, `array`, `object` or `function`.
fn fn_type<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(v) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined());
    };
    let t = if v.is_null() {
        "null"
    } else if v.is_number() {
        "number"
    } else if v.is_string() {
        "string"
    } else if v.is_bool() {
        "boolean"
    } else if v.is_function() {
        "function"
    } else if v.is_array() {
        "array"
    } else {
        "object"
    };
    Ok(JValue::string(ctx.arena, t))
}

/// `$shuffle(array)`: the items in a random order (drawn from the execution's entropy).
fn fn_shuffle<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(a) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined());
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
    ctx: &FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
    f: impl Fn(&str) -> Option<String>,
) -> JResult<'a> {
    let Some(v) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined());
    };
    if !v.is_string() {
        return arg_error("the URL functions take a string");
    }
    match f(&v.as_str()) {
        Some(s) => Ok(JValue::string(ctx.arena, &s)),
        None => arg_error("the string is not a valid URL encoding"),
    }
}

fn fn_encode_url_component<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> JResult<'a> {
    url_fn(&ctx, args, |s| Some(percent_encode(s, "")))
}

fn fn_encode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    url_fn(&ctx, args, |s| Some(percent_encode(s, ";,/?:@&=+$#")))
}

fn fn_decode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    url_fn(&ctx, args, percent_decode)
}

/// `$formatBase(number, radix)`: the integer in base 2 to 36 (default 10).
fn fn_format_base<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(n) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined());
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

/// The entries of an object sorted by key (the crate's objects iterate in an order that differs
/// between processes; every replica must see the same one).
fn sorted_entries<'a>(v: &'a JValue<'a>) -> Vec<(String, &'a JValue<'a>)> {
    let mut e: Vec<(String, &'a JValue<'a>)> =
        v.entries().map(|(k, x)| (k.to_string(), *x)).collect();
    e.sort_by(|a, b| a.0.cmp(&b.0));
    e
}

/// `$keys(object)`: its keys, sorted (AWS gives them in insertion order); of an array of objects,
/// the keys of all of them, each once.
fn fn_keys<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(v) = args.first().filter(|a| !a.is_undefined()) else {
        return Ok(JValue::undefined());
    };
    let mut keys: Vec<String> = Vec::new();
    let objects: Vec<&'a JValue<'a>> = if v.is_array() {
        v.members().filter(|m| m.is_object()).collect()
    } else if v.is_object() {
        vec![*v]
    } else {
        return Ok(JValue::undefined());
    };
    for o in objects {
        for (k, _) in sorted_entries(o) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    if keys.is_empty() {
        return Ok(JValue::undefined());
    }
    let out = JValue::array(ctx.arena, ArrayFlags::SEQUENCE);
    for k in keys {
        out.push(JValue::string(ctx.arena, &k));
    }
    Ok(out)
}

/// `$string(value[, prettify])` of an object or array: JSON text with the keys of every object
/// sorted; other values go to the crate's own `$string`.
fn fn_string_json<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let Some(v) = args.first() else {
        return Ok(JValue::undefined());
    };
    let json = match crate::jsonata::json_of(v) {
        Ok(Some(j)) => j,
        Ok(None) => return Ok(JValue::undefined()),
        Err(e) => return arg_error(&e),
    };
    let pretty = args.get(1).is_some_and(|p| p.is_truthy());
    let text = if pretty {
        serde_json::to_string_pretty(&json)
    } else {
        serde_json::to_string(&json)
    }
    .unwrap_or_default();
    Ok(JValue::string(ctx.arena, &text))
}

//! Go's `fmt.Sprintf`, `fmt.Sprint` and `fmt.Sprintln` for the values a template has (text,
//! integers, floats, booleans): the verbs `%v %s %q %d %f %F %e %E %g %G %x %X %t %c %%` with
//! flags, width and precision. A verb that does not fit its argument, or a missing or extra
//! argument, is an error rather than Go's `%!d(string=...)` text in the query.

use std::fmt::Write as _;

use super::MAX_RENDERED_BYTES;
use super::eval::{Value, go_float};

/// The widest field and the longest precision a verb may ask for.
const MAX_WIDTH: usize = 1000;

#[derive(Default)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "Go's formatting flags are independent"
)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

pub(super) fn sprintf(format: &str, arguments: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number(&mut chars)?;
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars)?.unwrap_or(0));
        }
        let verb = chars
            .next()
            .ok_or_else(|| "the format ends in the middle of a verb".to_owned())?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        if matches!(verb, '[' | '*') {
            return Err(format!(
                "%{verb} (argument indexes and `*` widths) is not supported"
            ));
        }
        let argument = arguments
            .get(next)
            .ok_or_else(|| format!("%{verb} has no argument"))?;
        next += 1;
        let body = verb_text(verb, argument, &spec)?;
        pad(&mut out, &body, &spec, verb);
        if out.len() > MAX_RENDERED_BYTES {
            return Err(format!(
                "the result is longer than {MAX_RENDERED_BYTES} bytes"
            ));
        }
    }
    if next < arguments.len() {
        return Err(format!(
            "{} argument(s) left over after the format",
            arguments.len() - next
        ));
    }
    Ok(out)
}

fn number(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Option<usize>, String> {
    let mut value: Option<usize> = None;
    while let Some(digit) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        let grown = value
            .unwrap_or(0)
            .saturating_mul(10)
            .saturating_add(digit as usize);
        if grown > MAX_WIDTH {
            return Err(format!(
                "widths and precisions above {MAX_WIDTH} are not allowed"
            ));
        }
        value = Some(grown);
    }
    Ok(value)
}

fn mismatch(verb: char, argument: &Value) -> String {
    format!(
        "%{verb} does not fit the {} argument {:?}",
        argument.type_name(),
        argument.display()
    )
}

fn verb_text(verb: char, argument: &Value, spec: &Spec) -> Result<String, String> {
    let number = |f: f64| -> Result<String, String> {
        let text = match verb {
            'f' | 'F' => format!("{f:.*}", spec.precision.unwrap_or(6)),
            'e' | 'E' => go_exponent(&format!("{f:.*e}", spec.precision.unwrap_or(6))),
            'g' | 'G' => match spec.precision {
                None => go_float(f),
                Some(p) => general(f, p.max(1)),
            },
            'v' => go_float(f),
            _ => return Err(mismatch(verb, argument)),
        };
        let text = if verb.is_ascii_uppercase() {
            text.to_uppercase()
        } else {
            text
        };
        Ok(signed(text, spec))
    };
    match (verb, argument) {
        ('v' | 's', Value::Text(text)) => Ok(match spec.precision {
            Some(p) => text.chars().take(p).collect(),
            None => text.clone(),
        }),
        ('q', Value::Text(text)) => Ok(quote(text)),
        ('x' | 'X', Value::Text(text)) => {
            let hex = text.bytes().fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
            Ok(if verb == 'X' { hex.to_uppercase() } else { hex })
        }
        ('v' | 'd', Value::Integer(i)) => Ok(signed(i.to_string(), spec)),
        ('x', Value::Integer(i)) => Ok(signed(hex(*i, spec.sharp, false), spec)),
        ('X', Value::Integer(i)) => Ok(signed(hex(*i, spec.sharp, true), spec)),
        ('c', Value::Integer(i)) => u32::try_from(*i)
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .ok_or_else(|| mismatch(verb, argument)),
        ('f' | 'F' | 'e' | 'E' | 'g' | 'G', Value::Integer(i)) =>
        {
            #[allow(clippy::cast_precision_loss, reason = "as Go converts for float verbs")]
            number(*i as f64)
        }
        (_, Value::Float(f)) => number(*f),
        ('v' | 't', Value::Bool(b)) => Ok(b.to_string()),
        ('s', other) => Ok(other.display()),
        _ => Err(mismatch(verb, argument)),
    }
}

fn hex(i: i64, sharp: bool, upper: bool) -> String {
    let digits = if upper {
        format!("{:X}", i.unsigned_abs())
    } else {
        format!("{:x}", i.unsigned_abs())
    };
    let prefix = match (sharp, upper) {
        (false, _) => "",
        (true, false) => "0x",
        (true, true) => "0X",
    };
    format!("{}{prefix}{digits}", if i < 0 { "-" } else { "" })
}

/// Adds the `+` or space flag's sign to a number that has none.
fn signed(text: String, spec: &Spec) -> String {
    if text.starts_with('-') {
        text
    } else if spec.plus {
        format!("+{text}")
    } else if spec.space {
        format!(" {text}")
    } else {
        text
    }
}

/// Rust writes `1.5e3`, Go `1.5e+03`.
fn go_exponent(text: &str) -> String {
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text.to_owned();
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// `%.Pg`: P significant digits, exponent form when the exponent is below -4 or at least P.
fn general(f: f64, precision: usize) -> String {
    if f == 0.0 || !f.is_finite() {
        return go_float(f);
    }
    let scientific = format!("{f:.*e}", precision - 1);
    let exponent: i64 = scientific
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let limit = i64::try_from(precision).unwrap_or(i64::MAX);
    if exponent < -4 || exponent >= limit {
        let (mantissa, rest) = scientific.split_once('e').unwrap_or((&scientific, "0"));
        let mantissa = trim_zeros(mantissa);
        go_exponent(&format!("{mantissa}e{rest}"))
    } else {
        let decimals = usize::try_from(limit - 1 - exponent).unwrap_or(0);
        trim_zeros(&format!("{f:.decimals$}")).to_owned()
    }
}

fn trim_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// Go's `strconv.Quote`.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn pad(out: &mut String, body: &str, spec: &Spec, verb: char) {
    let len = body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && !matches!(verb, 's' | 'q' | 'v' | 't' | 'c') {
        // Zeros go after the sign.
        let (sign, digits) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), &body[1..]),
            _ => (String::new(), body),
        };
        out.push_str(&sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

/// Go's `fmt.Sprint`: operands written with `%v`, a space between two when neither is text.
pub(super) fn sprint(arguments: &[Value]) -> String {
    let mut out = String::new();
    for (i, argument) in arguments.iter().enumerate() {
        let text_pair = i > 0
            && (matches!(argument, Value::Text(_)) || matches!(arguments[i - 1], Value::Text(_)));
        if i > 0 && !text_pair {
            out.push(' ');
        }
        out.push_str(&argument.display());
    }
    out
}

/// Go's `fmt.Sprintln`: operands with a space between each, then a newline.
pub(super) fn sprintln(arguments: &[Value]) -> String {
    let words: Vec<String> = arguments.iter().map(Value::display).collect();
    format!("{}\n", words.join(" "))
}

//! Reads a `hey` command line (`hey -z 1m -q 10 -c 2 http://podinfo:9898/`) into a load run,
//! so that Flagger webhooks written for hey run on the native generator unchanged.

use std::time::Duration;

use crate::go_duration;
use crate::load_spec::{LoadSpec, Pace, RequestTemplate, SpecError, Stop};

/// A hey command line the native generator cannot run.
#[derive(Debug, thiserror::Error)]
pub enum HeyArgsError {
    /// The command is not a plain `hey` invocation (another program, or shell syntax).
    #[error("not a plain hey invocation")]
    NotHey,
    /// A hey option the generator does not implement; the real `hey` may still run it.
    #[error("hey option -{0} is not supported by the native generator")]
    Unsupported(String),
    /// An option hey does not have.
    #[error("unknown hey option -{0}")]
    Unknown(String),
    /// An option is missing its value or has a bad one.
    #[error("hey option -{flag}: {reason}")]
    Value {
        /// The option.
        flag: String,
        /// What is wrong.
        reason: String,
    },
    /// No URL, or more than one.
    #[error("hey expects exactly one URL after the options")]
    Url,
    /// The options parse but describe an impossible run.
    #[error(transparent)]
    Spec(#[from] SpecError),
}

const SHELL_SYNTAX: &[&str] = &["|", "||", "&", "&&", ";", ">", ">>", "<", "2>&1", "$(", "`"];

/// Splits a webhook's `cmd` and, when it is a hey invocation, parses it.
pub fn parse_command(command: &str) -> Result<LoadSpec, HeyArgsError> {
    if command.contains('$') || command.contains('`') {
        return Err(HeyArgsError::NotHey);
    }
    let words = shell_words::split(command).map_err(|_| HeyArgsError::NotHey)?;
    let Some((program, args)) = words.split_first() else {
        return Err(HeyArgsError::NotHey);
    };
    let is_hey = program == "hey" || program.ends_with("/hey");
    if !is_hey
        || args
            .iter()
            .any(|w| SHELL_SYNTAX.iter().any(|s| w == s || w.starts_with('>')))
    {
        return Err(HeyArgsError::NotHey);
    }
    parse_args(args)
}

/// Options as hey (Go's `flag` package) reads them: `-flag value`, `-flag=value` or `--flag`.
#[derive(Debug)]
struct HeyOptions {
    requests: u64,
    concurrency: usize,
    qps: f64,
    duration: Option<Duration>,
    method: String,
    headers: Vec<String>,
    timeout_secs: u64,
    accept: Option<String>,
    body: Option<String>,
    content_type: String,
    basic_auth: Option<String>,
    host: Option<String>,
    keep_alive: bool,
    follow_redirects: bool,
}

impl Default for HeyOptions {
    fn default() -> Self {
        Self {
            requests: 200,
            concurrency: 50,
            qps: 0.0,
            duration: None,
            method: "GET".to_owned(),
            headers: Vec::new(),
            timeout_secs: 20,
            accept: None,
            body: None,
            content_type: "text/html".to_owned(),
            basic_auth: None,
            host: None,
            keep_alive: true,
            follow_redirects: true,
        }
    }
}

const BOOLEAN_FLAGS: &[&str] = &[
    "disable-compression",
    "disable-keepalive",
    "disable-redirects",
];

/// Parses hey's arguments (everything after `hey`).
pub fn parse_args(args: &[String]) -> Result<LoadSpec, HeyArgsError> {
    let mut options = HeyOptions::default();
    let mut rest = args.iter();
    let mut positional = Vec::new();
    while let Some(arg) = rest.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            positional.push(arg.clone());
            positional.extend(rest.by_ref().cloned());
            break;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (flag, None),
        };
        if BOOLEAN_FLAGS.contains(&name) {
            let on = match inline.as_deref() {
                None | Some("true" | "1") => true,
                Some("false" | "0") => false,
                Some(other) => {
                    return Err(value_error(name, &format!("{other:?} is not a boolean")));
                }
            };
            match name {
                "disable-keepalive" => options.keep_alive = !on,
                "disable-redirects" => options.follow_redirects = !on,
                // We never ask for compressed bodies.
                _ => {}
            }
            continue;
        }
        if matches!(name, "h2" | "x" | "D") {
            return Err(HeyArgsError::Unsupported(name.to_owned()));
        }
        let value = match inline {
            Some(value) => value,
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| value_error(name, "missing value"))?,
        };
        apply(&mut options, name, &value)?;
    }
    let [url] = positional.as_slice() else {
        return Err(HeyArgsError::Url);
    };
    build(options, url)
}

fn value_error(flag: &str, reason: &str) -> HeyArgsError {
    HeyArgsError::Value {
        flag: flag.to_owned(),
        reason: reason.to_owned(),
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, HeyArgsError> {
    value
        .parse()
        .map_err(|_| value_error(flag, &format!("{value:?} is not a valid number")))
}

fn apply(options: &mut HeyOptions, name: &str, value: &str) -> Result<(), HeyArgsError> {
    match name {
        "n" => options.requests = number(name, value)?,
        "c" => options.concurrency = number(name, value)?,
        "q" => options.qps = number(name, value)?,
        "z" => {
            let duration =
                go_duration::parse(value).map_err(|e| value_error(name, &e.to_string()))?;
            options.duration = (!duration.is_zero()).then_some(duration);
        }
        "m" => value.clone_into(&mut options.method),
        "H" => options.headers.push(value.to_owned()),
        "t" => options.timeout_secs = number(name, value)?,
        "A" => options.accept = Some(value.to_owned()),
        "d" => options.body = Some(value.to_owned()),
        "T" => value.clone_into(&mut options.content_type),
        "a" => options.basic_auth = Some(value.to_owned()),
        "host" => options.host = Some(value.to_owned()),
        // Output format and CPU count do not change what is sent.
        "o" | "cpus" => {}
        other => return Err(HeyArgsError::Unknown(other.to_owned())),
    }
    Ok(())
}

fn build(options: HeyOptions, url: &str) -> Result<LoadSpec, HeyArgsError> {
    let mut request = RequestTemplate::get(url)?
        .method(&options.method)?
        .header("content-type", &options.content_type)?;
    if let Some(accept) = &options.accept {
        request = request.header("accept", accept)?;
    }
    if let Some(credentials) = &options.basic_auth {
        let (user, password) = credentials
            .split_once(':')
            .ok_or_else(|| value_error("a", "expected user:password"))?;
        request = request.header("authorization", &basic_auth(user, password))?;
    }
    if let Some(host) = &options.host {
        request = request.header("host", host)?;
    }
    for line in &options.headers {
        request = request.header_line(line)?;
    }
    if let Some(body) = options.body {
        request = request.body(body);
    }
    if options.qps < 0.0 || !options.qps.is_finite() {
        return Err(value_error("q", "must not be negative"));
    }
    // hey's -q limits each worker, so the total rate is q × c.
    #[allow(clippy::cast_precision_loss)]
    let pace = if options.qps > 0.0 {
        Pace::Rate(options.qps * options.concurrency as f64)
    } else {
        Pace::Unlimited
    };
    let stop = match options.duration {
        Some(duration) => Stop::After(duration),
        None => Stop::Requests(options.requests),
    };
    let timeout = if options.timeout_secs == 0 {
        // hey's -t 0 means no limit; every call still gets one, the longest run allowed.
        crate::load_spec::MAX_RUN
    } else {
        Duration::from_secs(options.timeout_secs)
    };
    let mut spec =
        LoadSpec::new(request, pace, options.concurrency, stop)?.with_request_timeout(timeout);
    spec.keep_alive = options.keep_alive;
    spec.follow_redirects = options.follow_redirects;
    Ok(spec)
}

fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flagger_docs_example_is_rate_q_times_c_for_the_duration() {
        let spec = parse_command("hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/").unwrap();
        assert_eq!(spec.pace, Pace::Rate(20.0));
        assert_eq!(spec.concurrency, 2);
        assert_eq!(spec.stop, Stop::After(Duration::from_secs(60)));
        assert_eq!(spec.scheduled_requests(), Some(1200));
        assert_eq!(spec.request.method, reqwest::Method::GET);
    }

    #[test]
    fn post_with_body_headers_host_and_timeout() {
        let spec = parse_command(
            "hey -z 30s -q 5 -c 1 -m POST -H 'X-Test: 1' -d '{test: 2}' -host example.com -t 3 http://127.0.0.1:8080/echo",
        )
        .unwrap();
        assert_eq!(spec.request.method, reqwest::Method::POST);
        assert_eq!(spec.request.body.as_ref(), b"{test: 2}");
        assert_eq!(spec.request.headers["x-test"], "1");
        assert_eq!(spec.request.headers["host"], "example.com");
        assert_eq!(spec.request_timeout, Duration::from_secs(3));
    }

    #[test]
    fn go_flag_forms_and_defaults() {
        let spec =
            parse_command("/usr/bin/hey --c=4 -n=100 -disable-keepalive podinfo:9898").unwrap();
        assert_eq!(spec.pace, Pace::Unlimited);
        assert_eq!(spec.stop, Stop::Requests(100));
        assert_eq!(spec.concurrency, 4);
        assert!(!spec.keep_alive);
        assert_eq!(spec.request.url.as_str(), "http://podinfo:9898/");
        let defaults = parse_command("hey http://x/").unwrap();
        assert_eq!(
            (defaults.concurrency, defaults.stop),
            (50, Stop::Requests(200))
        );
    }

    #[test]
    fn basic_auth_is_base64_encoded() {
        assert_eq!(basic_auth("user", "pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(basic_auth("a", "b"), "Basic YTpi");
    }

    #[test]
    fn other_programs_shell_syntax_and_unsupported_options_are_not_native() {
        assert!(matches!(
            parse_command("curl http://x/"),
            Err(HeyArgsError::NotHey)
        ));
        assert!(matches!(
            parse_command("hey http://x/ | tee out"),
            Err(HeyArgsError::NotHey)
        ));
        assert!(matches!(
            parse_command("hey -z $D http://x/"),
            Err(HeyArgsError::NotHey)
        ));
        assert!(matches!(
            parse_command("hey -h2 https://x/"),
            Err(HeyArgsError::Unsupported(_))
        ));
    }

    #[test]
    fn bad_values_are_clear_errors() {
        assert!(matches!(
            parse_command("hey -z soon http://x/"),
            Err(HeyArgsError::Value { .. })
        ));
        assert!(matches!(
            parse_command("hey -q ten http://x/"),
            Err(HeyArgsError::Value { .. })
        ));
        assert!(matches!(
            parse_command("hey -c"),
            Err(HeyArgsError::Value { .. })
        ));
        assert!(matches!(parse_command("hey -z 1m"), Err(HeyArgsError::Url)));
        assert!(matches!(
            parse_command("hey -bogus 1 http://x/"),
            Err(HeyArgsError::Unknown(_))
        ));
        assert!(matches!(
            parse_command("hey -c 0 http://x/"),
            Err(HeyArgsError::Spec(_))
        ));
    }
}

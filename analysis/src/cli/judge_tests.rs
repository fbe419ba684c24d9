//! `serin judge` through its library entry point: decisions, output shape, options, bad input.

use clap::Parser;
use serde_json::{Value, json};

use super::{JudgeArgs, ReplayError, run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: JudgeArgs,
}

fn args(flags: &[&str]) -> JudgeArgs {
    Cli::try_parse_from(std::iter::once("judge").chain(flags.iter().copied()))
        .expect("valid flags")
        .args
}

/// Runs `serin judge` with `flags` on `input`; the output lines as JSON, or the error.
fn judge(flags: &[&str], input: &str) -> (Vec<Value>, Option<anyhow::Error>) {
    let mut out = Vec::new();
    let result = run(&args(flags), input.as_bytes(), &mut out);
    let lines = String::from_utf8(out)
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    (lines, result.err())
}

/// The design note's rising canary, in `serin judge`'s order (canary requests, canary errors,
/// primary requests, primary errors).
const RISING: &str = r#"{"id": "rising", "windows": [[612, 9, 5391, 24], [1187, 14, 4820, 25], [1795, 22, 4203, 20], [2410, 27, 3588, 17], [3004, 31, 2999, 14]]}"#;
/// The note's second vector: a canary no worse than the primary, with a window without canary
/// traffic.
const STEADY: &str = r#"{"id": "steady", "windows": [[600, 3, 5400, 27], [1200, 7, 4800, 23], [0, 0, 6000, 31], [2400, 13, 3600, 17]]}"#;

#[test]
fn releases_are_judged_in_order_with_the_window_of_each_rollback() {
    let (lines, error) = judge(&[], &format!("{RISING}\n{STEADY}\n"));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        lines,
        [
            json!({"id": "rising", "decision": "rollback", "window": 2}),
            json!({"id": "steady", "decision": "promote"}),
        ]
    );
}

#[test]
fn the_output_lines_are_compact_json_in_the_documented_shape() {
    let mut out = Vec::new();
    run(
        &args(&[]),
        format!("{RISING}\n{STEADY}").as_bytes(),
        &mut out,
    )
    .expect("judged");
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "{\"id\":\"rising\",\"decision\":\"rollback\",\"window\":2}\n\
         {\"id\":\"steady\",\"decision\":\"promote\"}\n"
    );
}

#[test]
fn two_sided_decides_one_window_later_on_the_note_vector() {
    let (lines, _) = judge(&["--two-sided"], RISING);
    assert_eq!(
        lines,
        [json!({"id": "rising", "decision": "rollback", "window": 3})]
    );
}

#[test]
fn alpha_and_margin_change_the_decision() {
    // ln M after window 1 is 2.93: above ln(1/0.1) = 2.30.
    let (lines, _) = judge(&["--alpha", "0.1"], RISING);
    assert_eq!(lines[0]["window"], 1);
    // ln M reaches 16.46 at most: below ln(1e9) = 20.7.
    let (lines, _) = judge(&["--alpha", "1e-9"], RISING);
    assert_eq!(lines[0], json!({"id": "rising", "decision": "promote"}));
}

#[test]
fn a_margin_tolerates_a_small_ratio() {
    // Tolerating 1.3x, the evidence against the 2.4x canary reaches 4.77 at window 3, not 2.
    let (lines, _) = judge(&["--margin", "1.3"], RISING);
    assert_eq!(
        lines[0],
        json!({"id": "rising", "decision": "rollback", "window": 3})
    );
    let (lines, _) = judge(&["--margin", "2"], RISING);
    assert_eq!(lines[0], json!({"id": "rising", "decision": "promote"}));
}

#[test]
fn explain_adds_the_explanation_as_fields_and_a_sentence() {
    let (lines, _) = judge(&["--explain"], RISING);
    let line = &lines[0];
    assert_eq!(line["decision"], "rollback");
    assert_eq!(line["explanation"]["verdict"], "rollback");
    assert_eq!(line["explanation"]["windows"], 2);
    assert_eq!(
        line["explanation"]["canary"],
        json!({"requests": 1799, "errors": 23})
    );
    let evidence = line["explanation"]["logEvidence"]
        .as_f64()
        .expect("a number");
    assert!((evidence - 5.188_914).abs() < 1e-5);
    let message = line["message"].as_str().expect("a sentence");
    assert!(
        message.starts_with("roll back: the canary's error rate is "),
        "{message}"
    );
}

#[test]
fn blank_lines_are_skipped_and_an_empty_input_gives_no_output() {
    let (lines, error) = judge(&[], &format!("\n  \n{STEADY}\n\n"));
    assert!(error.is_none());
    assert_eq!(lines.len(), 1);
    let (lines, error) = judge(&[], "");
    assert!(error.is_none() && lines.is_empty());
    let (lines, _) = judge(&[], r#"{"id": "nothing", "windows": []}"#);
    assert_eq!(lines, [json!({"id": "nothing", "decision": "promote"})]);
}

fn replay_error(error: Option<anyhow::Error>) -> ReplayError {
    error
        .expect("an error")
        .downcast::<ReplayError>()
        .expect("a replay error")
}

#[test]
fn a_bad_line_stops_with_its_line_number_after_the_lines_before_it() {
    let input = format!("{STEADY}\n\n{{\"id\": \"r3\", \"windows\": [[1, 2, 3]]}}\n{RISING}\n");
    let (lines, error) = judge(&[], &input);
    assert_eq!(lines, [json!({"id": "steady", "decision": "promote"})]);
    let error = replay_error(error);
    assert_eq!(error.line(), 3);
    assert_eq!(error.category(), "invalid_release");
    let text = error.to_string();
    assert!(
        text.starts_with("input line 3: invalid length 3, expected an array of length 4"),
        "{text}"
    );
}

#[test]
fn errors_above_requests_name_the_line_window_and_arm() {
    let input = r#"{"id": "r1", "windows": [[10, 1, 10, 1], [10, 11, 100, 1]]}"#;
    let error = replay_error(judge(&[], input).1);
    assert_eq!(
        error.to_string(),
        "input line 1: window 2: canary errors (11) exceed canary requests (10)"
    );
    assert_eq!(error.category(), "invalid_window");
}

#[test]
fn lines_that_are_not_releases_are_refused_clearly() {
    for (input, expected) in [
        ("not json", "input line 1: expected ident"),
        (r#"{"windows": []}"#, "input line 1: missing field `id`"),
        (r#"{"id": "r1"}"#, "input line 1: missing field `windows`"),
        (
            r#"{"id": 7, "windows": []}"#,
            "input line 1: invalid type: integer `7`, expected a string",
        ),
        (
            r#"{"id": "r1", "windows": [[-1, 0, 1, 0]]}"#,
            "input line 1: invalid value: integer `-1`",
        ),
        (
            r#"{"id": "r1", "windows": [[1.5, 0, 1, 0]]}"#,
            "input line 1: invalid type: floating point `1.5`",
        ),
        (
            r#"{"id": "r1", "windows": [[1, 0, 1, 0]]} trailing"#,
            "input line 1: trailing characters",
        ),
        (
            r#"{"id": "r1", "windows": [[18446744073709551616, 0, 1, 0]]}"#,
            "input line 1: ",
        ),
    ] {
        let error = replay_error(judge(&[], input).1);
        assert!(error.to_string().starts_with(expected), "{input}: {error}");
    }
}

#[test]
fn input_that_is_not_utf8_is_an_error_with_its_line() {
    let mut input = format!("{STEADY}\n").into_bytes();
    input.extend_from_slice(b"{\"id\": \"\xff\"}\n");
    let mut out = Vec::new();
    let error = run(&args(&[]), input.as_slice(), &mut out).expect_err("not UTF-8");
    let error = error.downcast::<ReplayError>().expect("a replay error");
    assert_eq!((error.line(), error.category()), (2, "unreadable_input"));
    assert_eq!(String::from_utf8(out).expect("UTF-8").lines().count(), 1);
}

#[test]
fn huge_counts_are_judged_without_failing() {
    let max = u64::MAX;
    let input =
        format!(r#"{{"id": "huge", "windows": [[{max}, {max}, {max}, 0], [{max}, 0, 1, 1]]}}"#);
    let (lines, error) = judge(&["--explain"], &input);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(lines[0]["decision"], "rollback");
    assert_eq!(lines[0]["window"], 1);
}

#[test]
fn flags_out_of_range_are_refused_by_the_parser() {
    for flags in [
        &["--alpha", "0"][..],
        &["--alpha", "1"],
        &["--alpha", "x"],
        &["--margin", "0.5"],
        &["--margin", "2", "--two-sided"],
    ] {
        let argv = std::iter::once("judge").chain(flags.iter().copied());
        assert!(Cli::try_parse_from(argv).is_err(), "{flags:?}");
    }
    let parsed = args(&[]);
    assert_eq!(parsed.alpha, crate::judge::Alpha::DEFAULT);
    assert!(!parsed.two_sided && !parsed.explain);
}

#[test]
fn a_failed_write_is_the_io_error_itself() {
    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }
    let error = run(&args(&[]), STEADY.as_bytes(), Closed).expect_err("cannot write");
    let io = error
        .downcast_ref::<std::io::Error>()
        .expect("an I/O error");
    assert_eq!(io.kind(), std::io::ErrorKind::BrokenPipe);
}

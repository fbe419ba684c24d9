//! Benchmark: the canary-versus-primary judge side by side with Flagger's threshold check
//! (success rate >= 99% per interval, threshold 5) and a peeking fixed-horizon test, on
//! simulated releases (10% steps to 50%, 1-minute windows, binomial traffic). Prints the
//! Markdown tables of `docs/analysis.md`, and the judge's replay speed.
//!
//! `cargo bench -p serin-analysis --bench judge [-- --releases N] [--seed S]`
//! `cargo bench -p serin-analysis --bench judge -- --emit N > releases.jsonl` writes N releases
//! (the 2x scenario) in `serin judge`'s input format instead, for timing the command.

mod methods;
mod stats;
mod traffic;

use std::time::Instant;

use serin_analysis::judge::{Alpha, Hypothesis, Window, replay};
use statrs::distribution::{ContinuousCDF, Normal};

use methods::{Ending, Release, flagger, judge, z_test};
use stats::{Proportion, median};
use traffic::{Traffic, schedule};

struct Options {
    releases: u64,
    seed: u64,
    emit: Option<u64>,
}

fn options() -> Options {
    let mut options = Options {
        releases: 20_000,
        seed: 17,
        emit: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| fail(&format!("{name} needs a whole number")))
        };
        match arg.as_str() {
            "--releases" => options.releases = value("--releases").max(1),
            "--seed" => options.seed = value("--seed"),
            "--emit" => options.emit = Some(value("--emit")),
            // `cargo bench` passes --bench to every bench binary.
            "--bench" => {}
            other => fail(&format!("unknown argument {other}")),
        }
    }
    options
}

fn fail(message: &str) -> ! {
    eprintln!("judge bench: {message}");
    std::process::exit(2)
}

/// What the methods did over one scenario's releases.
#[derive(Default)]
struct Tally {
    rolled_back: u64,
    before_half: u64,
    minutes: Vec<u64>,
}

impl Tally {
    fn add(&mut self, ending: Ending) {
        if let Ending::RolledBack { minutes, weight } = ending {
            self.rolled_back += 1;
            if weight < 50 {
                self.before_half += 1;
            }
            self.minutes.push(minutes);
        }
    }
}

const METHODS: [&str; 5] = [
    "judge",
    "judge two-sided",
    "Flagger",
    "peeking",
    "z-test once",
];

fn run(options: &Options, traffic: &Traffic, windows: usize) -> [Tally; 5] {
    let schedule = schedule(windows);
    let alpha = Alpha::DEFAULT;
    let critical_z = Normal::standard().inverse_cdf(1.0 - alpha.value());
    let mut tallies: [Tally; 5] = Default::default();
    for number in 0..options.releases {
        let release = Release {
            seed: options.seed,
            number,
            traffic,
            schedule: &schedule,
        };
        tallies[0].add(judge(&release, Hypothesis::ONE_SIDED, alpha));
        tallies[1].add(judge(&release, Hypothesis::TWO_SIDED, alpha));
        tallies[2].add(flagger(&release, 99.0, 5));
        tallies[3].add(z_test(&release, critical_z, true));
        tallies[4].add(z_test(&release, critical_z, false));
    }
    tallies
}

fn share(hits: u64, options: &Options) -> Proportion {
    Proportion {
        hits,
        trials: options.releases,
    }
}

fn identical(options: &Options) {
    println!("### Identical canary: releases rolled back (target: at most 1%)\n");
    println!("100 req/s unless noted; 95% Clopper-Pearson intervals in brackets.\n");
    println!(
        "| baseline error rate | windows | {} |",
        METHODS.join(" | ")
    );
    println!("|---|---|---|---|---|---|---|");
    let mut cells: Vec<(String, Traffic, usize)> = Vec::new();
    for rate in [0.005, 0.01, 0.05] {
        for windows in [5, 10, 30] {
            cells.push((
                format!("{}%", rate * 100.0),
                Traffic::new(100, rate, 1.0),
                windows,
            ));
        }
    }
    cells.push(("1% at 1000 req/s".into(), Traffic::new(1000, 0.01, 1.0), 5));
    cells.push(("1% at 1000 req/s".into(), Traffic::new(1000, 0.01, 1.0), 30));
    for (label, traffic, windows) in cells {
        let tallies = run(options, &traffic, windows);
        let row: Vec<String> = tallies
            .iter()
            .map(|t| share(t.rolled_back, options).to_string())
            .collect();
        println!("| {label} | {windows} | {} |", row.join(" | "));
    }
    println!();
}

fn worse(options: &Options) {
    println!("### Worse canary: caught, and how fast\n");
    println!(
        "Default schedule (5 windows: 10% to 50%). \"Before 50%\": rolled back while the canary had \
         less than 50% of the traffic. Minutes from the canary's first traffic to the rollback, \
         median over the releases rolled back.\n"
    );
    println!("| scenario | method | rolled back before promotion | before 50% | median minutes |");
    println!("|---|---|---|---|---|");
    for (label, traffic) in [
        (
            "2x errors (0.5% to 1%), 100 req/s",
            Traffic::new(100, 0.005, 2.0),
        ),
        (
            "5x errors (0.5% to 2.5%), 20 req/s",
            Traffic::new(20, 0.005, 5.0),
        ),
        (
            "1.5x errors (1% to 1.5%), 1000 req/s",
            Traffic::new(1000, 0.01, 1.5),
        ),
    ] {
        let mut tallies = run(options, &traffic, 5);
        for (method, tally) in METHODS.iter().zip(&mut tallies) {
            let minutes = median(&mut tally.minutes).map_or("-".into(), |m| m.to_string());
            println!(
                "| {label} | {method} | {} | {} | {minutes} |",
                share(tally.rolled_back, options),
                share(tally.before_half, options),
            );
        }
    }
    println!();
}

fn bursts(options: &Options) {
    println!("### When errors are not independent: identical canary, errors in bursts of 3\n");
    println!(
        "| baseline error rate | windows | {} |",
        METHODS.join(" | ")
    );
    println!("|---|---|---|---|---|---|---|");
    for windows in [5, 30] {
        let traffic = Traffic {
            burst: 3,
            ..Traffic::new(100, 0.01, 1.0)
        };
        let tallies = run(options, &traffic, windows);
        let row: Vec<String> = tallies
            .iter()
            .map(|t| share(t.rolled_back, options).to_string())
            .collect();
        println!("| 1%, 100 req/s | {windows} | {} |", row.join(" | "));
    }
    println!();
}

/// Replay speed of the library call `serin judge` makes, on the 2x scenario's windows.
fn speed(options: &Options) {
    let traffic = Traffic::new(100, 0.005, 2.0);
    let schedule = schedule(5);
    let releases: Vec<Vec<Window>> = (0..options.releases)
        .map(|number| {
            (0..schedule.len())
                .map(|i| {
                    let counts = traffic.window(options.seed, number, i as u64, schedule[i]);
                    Window::from_counts(counts).expect("simulated counts are valid")
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    let rollbacks = releases
        .iter()
        .filter(|windows| {
            let (outcome, _) = replay(Hypothesis::ONE_SIDED, Alpha::DEFAULT, windows.iter());
            outcome != serin_analysis::judge::ReleaseOutcome::Promote
        })
        .count();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "Replay speed: {} releases of up to 5 windows in {seconds:.3} s, {:.0} releases/s \
         ({rollbacks} rolled back).",
        releases.len(),
        traffic::as_f64(options.releases) / seconds
    );
}

fn emit(options: &Options, count: u64) {
    use std::io::Write;
    let traffic = Traffic::new(100, 0.005, 2.0);
    let schedule = schedule(5);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for number in 0..count {
        let windows: Vec<[u64; 4]> = (0..schedule.len())
            .map(|i| traffic.window(options.seed, number, i as u64, schedule[i]))
            .collect();
        let line = serde_json::json!({"id": format!("r{number}"), "windows": windows});
        writeln!(out, "{line}").unwrap_or_else(|e| fail(&e.to_string()));
    }
    out.flush().unwrap_or_else(|e| fail(&e.to_string()));
}

fn main() {
    let options = options();
    if let Some(count) = options.emit {
        emit(&options, count);
        return;
    }
    let start = Instant::now();
    println!(
        "Simulated with {} releases per cell, seed {}, alpha 0.01; Flagger: success rate >= 99%, \
         threshold 5; peeking: one-sided two-proportion z-test on the counts so far, alpha 0.01, \
         after every window; z-test once: the same test only after the last window.\n",
        options.releases, options.seed
    );
    identical(&options);
    worse(&options);
    bursts(&options);
    speed(&options);
    eprintln!("(took {:.0} s)", start.elapsed().as_secs_f64());
}

//! `--watch`: Canaries (and a Canary's Events) kept current from API watches, redrawn in place
//! on a terminal, printed as lines as they change otherwise. Runs until interrupted.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as Change};
use serin_crds::Canary;

use super::error::{CliError, Op};
use super::fetch::{self, CANARIES};
use super::kube_args::{Cluster, Scope};
use super::render;
use super::style::Style;
use super::view::{self, CanaryRow, EventView};

/// Clears a terminal and moves the cursor home.
const CLEAR: &str = "\x1b[H\x1b[2J";

fn watch_error(scope: Option<&str>, e: &watcher::Error) -> String {
    let op = Op::new("watch", CANARIES, scope);
    format!("serin: {} {} (retrying): {e}", op.verb, op.resource)
}

/// `serin get canaries --watch`.
pub async fn canaries(
    cluster: &Cluster,
    out: &mut (impl Write + Send),
    style: Style,
    live: bool,
) -> Result<(), CliError> {
    // A first list reports missing CRDs and permissions as `get` does.
    fetch::list_canaries(cluster, &cluster.scope).await?;
    let all = cluster.scope == Scope::All;
    let scope_text = cluster.scope.to_string();
    let api = fetch::canaries(cluster, &cluster.scope);
    let mut stream = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut known: BTreeMap<(String, String), CanaryRow> = BTreeMap::new();
    let mut building: BTreeMap<(String, String), CanaryRow> = BTreeMap::new();
    let mut widths: Option<Vec<usize>> = None;
    while let Some(change) = stream.next().await {
        let change = match change {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{}", watch_error(cluster.scope.namespace(), &e));
                continue;
            }
        };
        let key = |c: &Canary| (c.namespace().unwrap_or_default(), c.name_any());
        let now = Utc::now();
        let mut changed: Vec<CanaryRow> = Vec::new();
        match change {
            Change::Init => building.clear(),
            Change::InitApply(c) => {
                building.insert(key(&c), view::row(&c));
            }
            Change::InitDone => {
                let before = std::mem::take(&mut known);
                known = std::mem::take(&mut building);
                changed = known
                    .iter()
                    .filter(|(k, r)| before.get(*k) != Some(*r))
                    .map(|(_, r)| r.clone())
                    .collect();
                if widths.is_none() && !live {
                    let rows: Vec<CanaryRow> = known.values().cloned().collect();
                    write!(
                        out,
                        "{}",
                        render::table(&rows, all, now, Style::PLAIN, &scope_text)
                    )?;
                    widths = Some(render::widths(&rows, all, now));
                    changed.clear();
                }
            }
            Change::Apply(c) => {
                let row = view::row(&c);
                if known.get(&key(&c)) != Some(&row) {
                    changed.push(row.clone());
                    known.insert(key(&c), row);
                }
            }
            Change::Delete(c) => {
                if let Some(mut row) = known.remove(&key(&c)) {
                    row.phase = "Deleted".into();
                    changed.push(row);
                }
            }
        }
        if live {
            if !changed.is_empty() || widths.is_none() {
                let rows: Vec<CanaryRow> = known.values().cloned().collect();
                write!(
                    out,
                    "{CLEAR}{}",
                    render::table(&rows, all, now, style, &scope_text)
                )?;
                writeln!(out, "\n{}", style.dim("watching; Ctrl-C to stop"))?;
                widths = Some(Vec::new());
            }
        } else if let Some(w) = &widths {
            for row in changed {
                let w = if w.is_empty() {
                    render::widths(std::slice::from_ref(&row), all, now)
                } else {
                    w.clone()
                };
                writeln!(out, "{}", render::row_line(&row, all, &w, now))?;
            }
        }
        out.flush()?;
    }
    Ok(())
}

/// `serin get canary NAME --watch`.
pub async fn canary(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    out: &mut (impl Write + Send),
    style: Style,
    live: bool,
) -> Result<(), CliError> {
    let first = fetch::get_canary(cluster, namespace, name).await?;
    let canaries: Api<Canary> = Api::namespaced(cluster.client.clone(), namespace);
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), namespace);
    let mut canary_stream = watcher::watcher(
        canaries,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .default_backoff()
    .applied_objects()
    .boxed();
    let mut event_stream = watcher::watcher(
        events,
        watcher::Config::default().fields(&fetch::events_selector(name)),
    )
    .default_backoff()
    .applied_objects()
    .boxed();
    let mut current = first;
    let mut related = fetch::related(cluster, &current).await;
    let mut seen_events: BTreeMap<String, EventView> = BTreeMap::new();
    let mut last_line = String::new();
    let mut printed_events: BTreeMap<String, u32> = BTreeMap::new();
    let mut first_draw = true;
    loop {
        let mut canary_changed = first_draw;
        tokio::select! {
            next = canary_stream.try_next() => match next {
                Ok(Some(c)) => {
                    canary_changed = c.metadata.resource_version != current.metadata.resource_version;
                    current = c;
                }
                Ok(None) => return Ok(()),
                Err(e) => eprintln!("{}", watch_error(Some(namespace), &e)),
            },
            next = event_stream.try_next() => match next {
                Ok(Some(e)) => {
                    let key = e.metadata.uid.clone().unwrap_or_else(|| e.name_any());
                    seen_events.insert(key, fetch::event_view(&e));
                }
                Ok(None) => return Ok(()),
                Err(e) => eprintln!("serin: watch events.events.k8s.io (retrying): {e}"),
            },
        }
        if canary_changed && !first_draw {
            let events = std::mem::take(&mut related.events);
            related = fetch::related(cluster, &current).await;
            if related.events.is_empty() {
                related.events = events;
            }
        }
        first_draw = false;
        let mut rel = related.clone();
        rel.events = merge_events(&rel.events, &seen_events);
        let view = view::canary_view(&current, rel);
        let now = Utc::now();
        if live {
            write!(out, "{CLEAR}{}", render::detail(&view, now, style))?;
            writeln!(out, "\n{}", style.dim("watching; Ctrl-C to stop"))?;
        } else {
            let status = render::status_line(&view);
            if status != last_line {
                writeln!(
                    out,
                    "{} {status}",
                    now.with_timezone(&chrono::Local).format("%H:%M:%S")
                )?;
                last_line = status;
            }
            for e in &view.events {
                let key = format!("{}|{}", e.reason, e.note);
                if printed_events.get(&key) != Some(&e.count) {
                    printed_events.insert(key, e.count);
                    writeln!(
                        out,
                        "{} event {} {}: {}",
                        now.format("%H:%M:%S"),
                        e.type_,
                        e.reason,
                        e.note
                    )?;
                }
            }
        }
        out.flush()?;
    }
}

/// The Events read with the Canary, updated by those seen on the watch.
fn merge_events(read: &[EventView], seen: &BTreeMap<String, EventView>) -> Vec<EventView> {
    let mut by_what: BTreeMap<(String, String), EventView> = BTreeMap::new();
    for e in read.iter().chain(seen.values()) {
        let key = (e.reason.clone(), e.note.clone());
        match by_what.get(&key) {
            Some(old) if old.time >= e.time && old.count >= e.count => {}
            _ => {
                by_what.insert(key, e.clone());
            }
        }
    }
    by_what.into_values().collect()
}

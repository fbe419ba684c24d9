//! Splunk Observability's SignalFlow WebSocket stream (`/v2/signalflow/connect`), as SignalFx
//! answers it: JSON control and metadata messages in text frames, data in binary frames.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use serin_analysis::Query;
use serin_crds::metric_template::{MetricProvider, MetricProviderType};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::{Backend, Case, REJECTION, Recorded, Reply, SLOW, Stub, secret, spec};

pub(crate) struct Splunk;

const QUERY: &str = "total = data('traces.count', filter=filter('sf_service', 'podinfo')).sum().publish(enable=False) success = data('traces.count', filter=filter('sf_service', 'podinfo') and filter('sf_error', 'false')).sum().publish(enable=False) ((success/total) * 100).publish()";

/// A SignalFlow binary data message: `(type, tsid, value bytes)` points at `timestamp`.
fn data_frame(timestamp: u64, points: &[(u8, u64, [u8; 8])]) -> Vec<u8> {
    let mut frame = vec![1, 5, 0, 0];
    let mut channel = [0_u8; 16];
    channel[..5].copy_from_slice(b"serin");
    frame.extend_from_slice(&channel);
    frame.extend_from_slice(&timestamp.to_be_bytes());
    frame.extend_from_slice(
        &u32::try_from(points.len())
            .expect("few points")
            .to_be_bytes(),
    );
    for (kind, tsid, value) in points {
        frame.push(*kind);
        frame.extend_from_slice(&tsid.to_be_bytes());
        frame.extend_from_slice(value);
    }
    frame
}

fn double(v: f64) -> [u8; 8] {
    v.to_be_bytes()
}

fn control(event: &str) -> Message {
    Message::text(
        json!({"type": "control-message", "channel": "serin", "event": event, "timestampMs": 1_767_366_240_000_u64})
            .to_string(),
    )
}

fn metadata(tsid: u64) -> Message {
    Message::text(
        json!({"type": "metadata", "channel": "serin", "tsId": format!("{tsid:x}"), "properties": {"sf_metric": "traces.count", "sf_service": "podinfo"}})
            .to_string(),
    )
}

/// What the stream answers after `execute`, by case.
fn replies_to_execute(case: Case) -> Vec<Message> {
    let start = vec![control("STREAM_START"), control("JOB_START")];
    let body: Vec<Message> = match case {
        Case::Value => vec![
            metadata(7),
            Message::binary(data_frame(1_767_366_180_000, &[(2, 7, double(3.0))])),
            Message::binary(data_frame(1_767_366_240_000, &[(2, 7, double(1.5))])),
        ],
        Case::Integer => vec![
            metadata(7),
            Message::binary(data_frame(
                1_767_366_240_000,
                &[(1, 7, 7_i64.to_be_bytes())],
            )),
        ],
        Case::Empty => vec![],
        Case::NotANumber => vec![
            metadata(7),
            Message::binary(data_frame(1_767_366_240_000, &[(2, 7, double(f64::NAN))])),
        ],
        Case::Several => vec![
            metadata(7),
            metadata(8),
            Message::binary(data_frame(
                1_767_366_240_000,
                &[(2, 7, double(1.0)), (2, 8, double(2.0))],
            )),
        ],
        Case::Rejected => {
            return vec![Message::text(
                json!({"type": "error", "channel": "serin", "error": 400, "errorType": "ANALYTICS_PROGRAM_NAME_ERROR", "message": format!("Unable to compile: {REJECTION}")})
                    .to_string(),
            )];
        }
        Case::Malformed => vec![Message::binary(vec![1, 5, 0, 0, 0, 0, 0])],
        Case::Unauthorized(_) | Case::ServerError | Case::Slow => unreachable!("answered earlier"),
    };
    let mut all = start;
    all.extend(body);
    all.push(control("END_OF_CHANNEL"));
    all
}

#[allow(
    clippy::result_large_err,
    reason = "the handshake callback's error type is tungstenite's"
)]
async fn session(stream: tokio::net::TcpStream, case: Case, recorded: Arc<Mutex<Vec<Recorded>>>) {
    if case == Case::Slow {
        tokio::time::sleep(SLOW).await;
        return;
    }
    let path = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&path);
    let callback =
        move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
            request
                .uri()
                .path()
                .clone_into(&mut seen.lock().expect("the path"));
            if case == Case::ServerError {
                let mut refusal = ErrorResponse::new(Some("upstream unavailable".into()));
                *refusal.status_mut() =
                    tokio_tungstenite::tungstenite::http::StatusCode::SERVICE_UNAVAILABLE;
                return Err(refusal);
            }
            Ok(response)
        };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let path = path.lock().expect("the path").clone();
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
        recorded.lock().expect("the record").push(Recorded {
            method: "WS".into(),
            path: path.clone(),
            body: text.as_str().to_owned(),
            ..Recorded::default()
        });
        let replies = match (value["type"].as_str(), case) {
            (Some("authenticate"), Case::Unauthorized(code)) => vec![Message::text(
                json!({"type": "error", "error": code, "message": "Invalid access token"})
                    .to_string(),
            )],
            (Some("authenticate"), _) => vec![Message::text(
                json!({"type": "authenticated", "orgId": "ORG", "userId": "USER"}).to_string(),
            )],
            (Some("execute"), case) => replies_to_execute(case),
            _ => vec![],
        };
        for reply in replies {
            if socket.send(reply).await.is_err() {
                return;
            }
        }
    }
}

impl Backend for Splunk {
    fn kind(&self) -> &'static str {
        "splunk"
    }

    fn query(&self) -> &'static str {
        QUERY
    }

    fn provider(&self, address: &str) -> (MetricProvider, Option<BTreeMap<String, Vec<u8>>>) {
        (
            spec(MetricProviderType::Splunk, address),
            Some(secret(&[("sf_token_key", "sf-token")])),
        )
    }

    fn answer(&self, _case: Case, _request: &Recorded) -> Reply {
        unreachable!("the WebSocket stub answers")
    }

    fn serve(&'static self, case: Case) -> futures_util::future::BoxFuture<'static, Stub> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the stub");
            let address = format!("http://{}", listener.local_addr().expect("an address"));
            let recorded = Arc::new(Mutex::new(Vec::new()));
            let record = Arc::clone(&recorded);
            let task = tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(session(stream, case, Arc::clone(&record)));
                }
            });
            Stub {
                address,
                recorded,
                task,
            }
        })
    }

    fn check_request(&self, requests: &[Recorded], query: &Query<'_>) {
        assert_eq!(requests[0].path, "/v2/signalflow/connect");
        assert_eq!(
            requests[0].json(),
            json!({"type": "authenticate", "token": "sf-token"})
        );
        let execute = requests[1].json();
        assert_eq!(execute["type"], "execute");
        assert_eq!(execute["program"], QUERY);
        assert_eq!(execute["immediate"], true);
        let stop = query.at.timestamp_millis();
        assert_eq!(execute["stop"], stop);
        assert_eq!(execute["start"], stop - 600_000);
    }
}

#[tokio::test]
async fn splunk_conforms() {
    super::conformance(&Splunk).await;
}

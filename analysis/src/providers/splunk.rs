//! Splunk Observability Cloud (SignalFx): a SignalFlow program run over the WebSocket stream API
//! (`wss://stream.<realm>.signalfx.com/v2/signalflow/connect`) for ten metric intervals back
//! from the evaluation time, `immediate`, authenticated with an access token.
//!
//! Data arrives in binary frames as SignalFx encodes them (a 20-byte header, then a timestamp,
//! a count and 17-byte points, optionally gzip-compressed). The value is the newest non-null
//! point of the one time series (TSID) published; several TSIDs are an error, as in Flagger.

use std::collections::BTreeMap;
use std::io::Read as _;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use serin_crds::metric_template::MetricProvider;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::http::{HttpClient, MAX_BODY, excerpt, secret_header, timeout_error};
use super::secret::required_secret;
use super::series::{Series, reading};
use crate::factory::{ProviderError, ProviderOptions};
use crate::provider::{MetricsProvider, ProviderFuture, Query, QueryError, RANGE_WINDOWS, Reading};

/// Secret key of the access token.
pub const TOKEN: &str = "sf_token_key";
/// The most data points read from one computation.
const MAX_POINTS: usize = 100_000;
/// The channel name of serin's computation.
const CHANNEL: &str = "serin";

/// A SignalFx realm answering SignalFlow programs.
pub struct SplunkProvider {
    stream_url: String,
    api: HttpClient,
    token: String,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for SplunkProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplunkProvider")
            .field("stream_url", &self.stream_url)
            .finish_non_exhaustive()
    }
}

impl SplunkProvider {
    /// A provider for the realm at `spec.address` (`https://api.<realm>.signalfx.com` or
    /// `wss://stream.<realm>.signalfx.com`) with the token of its Secret.
    pub fn new(
        spec: &MetricProvider,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        options: &ProviderOptions,
    ) -> Result<Self, ProviderError> {
        let keys = required_secret(spec, secret, "sf_token_key")?;
        let token = keys.required(TOKEN)?;
        let address = spec
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or(ProviderError::MissingAddress("splunk"))?;
        let (stream_url, api_address) = urls(address)?;
        let api_spec = MetricProvider {
            address: Some(api_address),
            ..spec.clone()
        };
        let api = HttpClient::new(
            &api_spec,
            None,
            secret_header("x-sf-token", &token)?,
            options,
        )?;
        super::http::install_crypto_provider();
        Ok(SplunkProvider {
            stream_url,
            api,
            token,
            timeout: options.timeout,
        })
    }

    async fn run(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let exchange = self.execute(query);
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(timeout_error(&self.stream_url, self.timeout)))
    }

    async fn execute(&self, query: &Query<'_>) -> Result<Reading, QueryError> {
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(MAX_BODY);
        config.max_frame_size = Some(MAX_BODY);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(&self.stream_url, Some(config), false)
                .await
                .map_err(|e| self.connect_error(&e))?;
        let send_error = |e: tokio_tungstenite::tungstenite::Error| QueryError::Unreachable {
            address: self.stream_url.clone(),
            reason: e.to_string(),
        };
        let authenticate = json!({"type": "authenticate", "token": self.token}).to_string();
        socket
            .send(Message::text(authenticate))
            .await
            .map_err(send_error)?;
        let execute = json!({
            "type": "execute",
            "channel": CHANNEL,
            "program": query.text,
            "start": query.start(RANGE_WINDOWS).timestamp_millis(),
            "stop": query.at.timestamp_millis(),
            "immediate": true,
        })
        .to_string();
        let mut executed = false;
        let mut points: BTreeMap<u64, Vec<(u64, Option<f64>)>> = BTreeMap::new();
        let mut count = 0_usize;
        while let Some(frame) = socket.next().await {
            let frame = frame.map_err(|e| QueryError::Unreachable {
                address: self.stream_url.clone(),
                reason: format!("the stream broke off: {e}"),
            })?;
            let message = match frame {
                Message::Text(text) => parse_text(text.as_bytes())?,
                Message::Binary(bytes) => match decode_binary(&bytes)? {
                    Frame::Json(value) => value,
                    Frame::Data { timestamp, values } => {
                        count += values.len();
                        if count > MAX_POINTS {
                            return Err(QueryError::TooLarge {
                                address: self.stream_url.clone(),
                                limit: MAX_POINTS,
                            });
                        }
                        for (tsid, value) in values {
                            points.entry(tsid).or_default().push((timestamp, value));
                        }
                        continue;
                    }
                },
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            };
            match message["type"].as_str().unwrap_or_default() {
                "authenticated" if !executed => {
                    executed = true;
                    socket
                        .send(Message::text(execute.clone()))
                        .await
                        .map_err(send_error)?;
                }
                "error" => return Err(self.stream_error(&message)),
                "control-message" => match message["event"].as_str().unwrap_or_default() {
                    "END_OF_CHANNEL" => break,
                    "CHANNEL_ABORT" => {
                        let reason = message["abortInfo"]["sf_job_abortReason"]
                            .as_str()
                            .or_else(|| message["message"].as_str())
                            .unwrap_or("the computation was aborted");
                        return Err(QueryError::Rejected(reason.to_owned()));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        let _ = socket.close(None).await;
        let series: Vec<Series> = points
            .into_iter()
            .map(|(tsid, mut values)| {
                values.sort_by_key(|(t, _)| *t);
                Series::new(
                    format!("tsid {tsid:016x}"),
                    values.into_iter().map(|(_, v)| v).collect(),
                )
            })
            .collect();
        reading(&series)
    }

    fn connect_error(&self, error: &tokio_tungstenite::tungstenite::Error) -> QueryError {
        use tokio_tungstenite::tungstenite::Error;
        let address = self.stream_url.clone();
        match error {
            Error::Http(response) => {
                let status = response.status().as_u16();
                if status == 401 || status == 403 {
                    QueryError::Unauthorized { address, status }
                } else {
                    QueryError::Http { address, status }
                }
            }
            other => QueryError::Unreachable {
                address,
                reason: other.to_string(),
            },
        }
    }

    /// A SignalFlow `{"type": "error", "error": 401, "message": "..."}`.
    fn stream_error(&self, message: &Value) -> QueryError {
        let code = message["error"].as_u64().unwrap_or_default();
        let text = message["message"]
            .as_str()
            .map_or_else(|| message.to_string(), str::to_owned);
        match code {
            401 | 403 => QueryError::Unauthorized {
                address: self.stream_url.clone(),
                status: u16::try_from(code).unwrap_or(401),
            },
            500..=599 => QueryError::Http {
                address: self.stream_url.clone(),
                status: u16::try_from(code).unwrap_or(500),
            },
            _ => QueryError::Rejected(text),
        }
    }
}

impl MetricsProvider for SplunkProvider {
    fn kind(&self) -> &'static str {
        "splunk"
    }

    fn address(&self) -> &str {
        &self.stream_url
    }

    fn query<'a>(
        &'a self,
        query: &'a Query<'a>,
    ) -> ProviderFuture<'a, Result<Reading, QueryError>> {
        Box::pin(self.run(query))
    }

    fn check_online(&self) -> ProviderFuture<'_, Result<(), QueryError>> {
        Box::pin(async move {
            let request = self
                .api
                .client()
                .get(self.api.url("/v2/metric"))
                .query(&[("limit", "1")]);
            self.api
                .fetch(request, |b| Some(excerpt(b)).filter(|m| !m.is_empty()))
                .await
                .map(|_| ())
        })
    }
}

/// The stream URL and the REST API address of a realm given by either.
fn urls(address: &str) -> Result<(String, String), ProviderError> {
    let invalid = |reason: String| ProviderError::InvalidAddress {
        address: address.to_owned(),
        reason,
    };
    let url = url::Url::parse(address).map_err(|e| invalid(e.to_string()))?;
    let host = url
        .host_str()
        .ok_or_else(|| invalid("it has no host".into()))?;
    let (stream_scheme, api_scheme) = match url.scheme() {
        "https" | "wss" => ("wss", "https"),
        "http" | "ws" => ("ws", "http"),
        other => return Err(invalid(format!("scheme `{other}` is not https or wss"))),
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let stream_host = host
        .strip_prefix("api.")
        .map_or_else(|| host.to_owned(), |rest| format!("stream.{rest}"));
    let api_host = host
        .strip_prefix("stream.")
        .map_or_else(|| host.to_owned(), |rest| format!("api.{rest}"));
    Ok((
        format!("{stream_scheme}://{stream_host}{port}/v2/signalflow/connect"),
        format!("{api_scheme}://{api_host}{port}"),
    ))
}

/// A SignalFlow text message as JSON (pure: fuzzed).
pub fn parse_text(bytes: &[u8]) -> Result<Value, QueryError> {
    serde_json::from_slice(bytes).map_err(|e| {
        QueryError::Malformed(format!("a SignalFlow message: {e}: `{}`", excerpt(bytes)))
    })
}

/// One binary frame.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A JSON message sent in a binary frame.
    Json(Value),
    /// A data message: its timestamp and `(tsid, value)` pairs.
    Data {
        /// Milliseconds since the epoch.
        timestamp: u64,
        /// The value of each time series, by its id.
        values: Vec<(u64, Option<f64>)>,
    },
}

const COMPRESSED: u8 = 1;
const JSON_ENCODED: u8 = 2;
const HEADER: usize = 20;
const DATA_HEADER: usize = 12;
const POINT: usize = 17;

/// Decodes a binary frame: version, message type, flags, a reserved byte and a 16-byte channel
/// name, then the (possibly gzip-compressed) body.
#[allow(
    clippy::cast_precision_loss,
    reason = "SignalFlow longs are read as f64 like every other value"
)]
pub fn decode_binary(frame: &[u8]) -> Result<Frame, QueryError> {
    let malformed = |what: &str| QueryError::Malformed(format!("a SignalFlow binary frame {what}"));
    if frame.len() <= HEADER {
        return Err(malformed(&format!("of {} bytes", frame.len())));
    }
    let flags = frame[2];
    let mut body = frame[HEADER..].to_vec();
    if flags & COMPRESSED != 0 {
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut inflated)
            .map_err(|e| malformed(&format!("does not inflate: {e}")))?;
        if inflated.len() > MAX_BODY {
            return Err(malformed("inflates past 4 MiB"));
        }
        body = inflated;
    }
    if flags & JSON_ENCODED != 0 {
        return parse_text(&body).map(Frame::Json);
    }
    if body.len() < DATA_HEADER {
        return Err(malformed("without a data header"));
    }
    let timestamp = u64::from_be_bytes(body[0..8].try_into().unwrap_or_default());
    let count = usize::try_from(u32::from_be_bytes(
        body[8..12].try_into().unwrap_or_default(),
    ))
    .unwrap_or(usize::MAX);
    if count > MAX_POINTS {
        return Err(malformed(&format!("announcing {count} points")));
    }
    if body.len() < DATA_HEADER + count * POINT {
        return Err(malformed(&format!(
            "announcing {count} points it does not hold"
        )));
    }
    let mut values = Vec::with_capacity(count);
    for i in 0..count {
        let point = &body[DATA_HEADER + i * POINT..DATA_HEADER + (i + 1) * POINT];
        let tsid = u64::from_be_bytes(point[1..9].try_into().unwrap_or_default());
        let raw: [u8; 8] = point[9..17].try_into().unwrap_or_default();
        let value = match point[0] {
            1 => Some(i64::from_be_bytes(raw) as f64),
            2 => Some(f64::from_be_bytes(raw)),
            3 => Some(f64::from(i32::from_be_bytes(
                raw[0..4].try_into().unwrap_or_default(),
            ))),
            _ => None,
        };
        values.push((tsid, value));
    }
    Ok(Frame::Data { timestamp, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_and_stream_addresses_map_to_each_other() {
        let (stream, api) = urls("https://api.us1.signalfx.com").unwrap();
        assert_eq!(
            stream,
            "wss://stream.us1.signalfx.com/v2/signalflow/connect"
        );
        assert_eq!(api, "https://api.us1.signalfx.com");
        let (stream, api) = urls("wss://stream.eu0.signalfx.com").unwrap();
        assert_eq!(
            stream,
            "wss://stream.eu0.signalfx.com/v2/signalflow/connect"
        );
        assert_eq!(api, "https://api.eu0.signalfx.com");
        let (stream, _) = urls("http://127.0.0.1:8080").unwrap();
        assert_eq!(stream, "ws://127.0.0.1:8080/v2/signalflow/connect");
    }

    #[test]
    fn data_frames_decode_long_double_and_int_points() {
        let mut frame = vec![1, 5, 0, 0];
        frame.extend_from_slice(&[0; 16]);
        frame.extend_from_slice(&1000_u64.to_be_bytes());
        frame.extend_from_slice(&3_u32.to_be_bytes());
        frame.push(1);
        frame.extend_from_slice(&7_u64.to_be_bytes());
        frame.extend_from_slice(&42_i64.to_be_bytes());
        frame.push(2);
        frame.extend_from_slice(&8_u64.to_be_bytes());
        frame.extend_from_slice(&1.5_f64.to_be_bytes());
        frame.push(3);
        frame.extend_from_slice(&9_u64.to_be_bytes());
        frame.extend_from_slice(&(-3_i32).to_be_bytes());
        frame.extend_from_slice(&[0; 4]);
        let Ok(Frame::Data { timestamp, values }) = decode_binary(&frame) else {
            panic!("not a data frame");
        };
        assert_eq!(timestamp, 1000);
        assert_eq!(
            values,
            vec![(7, Some(42.0)), (8, Some(1.5)), (9, Some(-3.0))]
        );
        assert!(decode_binary(&frame[..30]).is_err());
    }
}

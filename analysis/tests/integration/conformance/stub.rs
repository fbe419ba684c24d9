//! The HTTP stub of the conformance suite: answers every request with what the backend says
//! for the case, waits past the timeout in the slow case, and records what it was sent.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::{Backend, Case, SLOW};

/// One request the stub received.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recorded {
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// The path.
    pub(crate) path: String,
    /// The raw query string.
    pub(crate) query: String,
    /// Headers, names lowercase.
    pub(crate) headers: Vec<(String, String)>,
    /// The body as text.
    pub(crate) body: String,
}

impl Recorded {
    /// The value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// What the stub answers.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    /// HTTP status.
    pub(crate) status: u16,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// Body.
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    /// A plain-text answer.
    pub(crate) fn text(status: u16, text: &str) -> Self {
        Reply {
            status,
            content_type: "text/plain",
            body: text.as_bytes().to_vec(),
        }
    }

    /// An answer with another content type.
    pub(crate) fn with_type(status: u16, content_type: &'static str, body: &str) -> Self {
        Reply {
            status,
            content_type,
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A running stub.
pub(crate) struct Stub {
    /// Its base URL.
    pub(crate) address: String,
    /// What it received.
    pub(crate) recorded: Arc<Mutex<Vec<Recorded>>>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Stub {
    /// The requests received so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("the record").clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared<B: 'static> {
    backend: &'static B,
    case: Case,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

/// Starts an HTTP stub answering as `backend` does in `case`.
pub(crate) async fn http<B: Backend + 'static>(backend: &'static B, case: Case) -> Stub {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the stub");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::new(Shared {
        backend,
        case,
        recorded: Arc::clone(&recorded),
    });
    let app = axum::Router::new().fallback(handle::<B>).with_state(shared);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Stub {
        address,
        recorded,
        task,
    }
}

async fn handle<B: Backend + 'static>(
    State(shared): State<Arc<Shared<B>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    shared
        .recorded
        .lock()
        .expect("the record")
        .push(request.clone());
    let reply = match shared.case {
        Case::Slow => {
            tokio::time::sleep(SLOW).await;
            Reply::text(200, "late")
        }
        Case::ServerError => Reply::text(
            503,
            "upstream connect error or disconnect/reset before headers",
        ),
        case => shared.backend.answer(case, &request),
    };
    (
        StatusCode::from_u16(reply.status).expect("a status"),
        [("content-type", reply.content_type)],
        reply.body,
    )
        .into_response()
}

//! HTTP handlers: turn requests into emulator operations and results into responses.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::api_metrics::ApiMetrics;
use crate::audit::{AuditLog, Write};
use crate::error::{ApiError, ApiResult};
use crate::faults::Faults;
use crate::http_util::json_response;
use crate::ops::{DeleteOptions, Emulator, ListOptions, PatchOptions, Target};
use crate::patch::PatchType;
use crate::render::Render;
use crate::routing::{ResourcePath, Route, parse};
use crate::selector::{FieldSelector, LabelSelector};
use crate::watch::{self, WatchContext, WatchParams};
use crate::{discovery, openapi};

/// Shared state of the HTTP handlers.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) emulator: Arc<Emulator>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) metrics: ApiMetrics,
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) bookmark_interval: Duration,
}

type Params = HashMap<String, String>;

/// The single entry point for every request.
pub(crate) async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = parse(uri.path());
    let (verb, response) = match route {
        Route::Resource(path) => {
            let verb = verb_of(&method, &path, &params);
            let request = Request {
                method: &method,
                verb,
                path: &path,
                params: &params,
                headers: &headers,
            };
            (verb, resource(&state, &request, &body).await)
        }
        Route::OpenApi => ("discovery", openapi_response(&state, uri.path())),
        other => ("discovery", discovery_response(&state, &other)),
    };
    let response = response.unwrap_or_else(IntoResponse::into_response);
    state.metrics.observe(verb, response.status().as_u16());
    response
}

fn verb_of(method: &Method, path: &ResourcePath, params: &Params) -> &'static str {
    let named = path.name.is_some();
    match *method {
        Method::GET if named => "get",
        Method::GET if is_true(params.get("watch")) => "watch",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "other",
    }
}

fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| v == "true" || v == "1")
}

fn discovery_response(state: &AppState, route: &Route) -> ApiResult<Response> {
    let registry = state.emulator.registry();
    let body = match route {
        Route::CoreVersions => discovery::core_versions(),
        Route::Groups => discovery::group_list(&registry),
        Route::Group(group) => discovery::group(&registry, group).ok_or_else(ApiError::no_route)?,
        Route::GroupVersion(group, version) => {
            discovery::resource_list(&registry, group, version).ok_or_else(ApiError::no_route)?
        }
        Route::Version => discovery::version(),
        Route::Health => return Ok((StatusCode::OK, "ok").into_response()),
        Route::OpenApi | Route::Unknown | Route::Resource(_) => return Err(ApiError::no_route()),
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn openapi_response(state: &AppState, path: &str) -> ApiResult<Response> {
    let registry = state.emulator.registry();
    let body = match path.trim_end_matches('/') {
        "/openapi/v3" => openapi::index(&registry),
        other => other
            .strip_prefix("/openapi/v3/")
            .and_then(|gv| openapi::group_version(&registry, gv))
            .ok_or_else(ApiError::no_route)?,
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn target_of(state: &AppState, path: &ResourcePath) -> ApiResult<Target> {
    let info = state
        .emulator
        .registry()
        .lookup(&path.group, &path.version, &path.resource)
        .ok_or_else(ApiError::no_route)?;
    if path.namespace.is_some() && !info.namespaced {
        return Err(ApiError::no_route());
    }
    if info.namespaced && path.namespace.is_none() && path.name.is_some() {
        return Err(ApiError::no_route());
    }
    let subresource_served = match path.subresource.as_deref() {
        None => true,
        Some("status") => info.status_subresource,
        Some("scale") => info.group == "apps",
        Some(_) => false,
    };
    if !subresource_served {
        return Err(ApiError::no_route());
    }
    Ok(Target {
        info,
        version: path.version.clone(),
        namespace: path.namespace.clone(),
        name: path.name.clone(),
        subresource: path.subresource.clone(),
        dry_run: false,
    })
}

fn list_options(params: &Params) -> ApiResult<ListOptions> {
    Ok(ListOptions {
        labels: LabelSelector::parse(params.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(params.get("fieldSelector").map_or("", String::as_str))?,
        limit: params
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0),
        continue_token: params.get("continue").filter(|c| !c.is_empty()).cloned(),
    })
}

/// The request body as JSON or YAML bytes; protobuf objects (creates and updates) are decoded.
/// Status in a protobuf body is not decoded, so `/status` writes must be JSON.
fn request_body<'a>(
    method: &Method,
    target: &Target,
    headers: &HeaderMap,
    body: &'a [u8],
) -> ApiResult<Cow<'a, [u8]>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let whole_object = *method == Method::POST || *method == Method::PUT;
    if content_type.contains("protobuf") && whole_object && target.subresource.is_none() {
        let object = crate::protobuf::decode(body)?;
        return Ok(Cow::Owned(serde_json::to_vec(&object).unwrap_or_default()));
    }
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    Ok(Cow::Borrowed(body))
}

fn parse_body(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .or_else(|_| serde_yaml::from_slice(body))
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

fn object_response(code: StatusCode, target: &Target, object: &Value, render: Render) -> Response {
    let api_version = target.info.api_version(&target.version);
    if render == Render::Full && object["apiVersion"] == api_version.as_str() {
        return json_response(code, object);
    }
    json_response(code, &render.object(&target.info, &api_version, object))
}

/// One API request on a resource path, as the handlers see it.
struct Request<'a> {
    method: &'a Method,
    verb: &'static str,
    path: &'a ResourcePath,
    params: &'a Params,
    headers: &'a HeaderMap,
}

impl Request<'_> {
    /// Records a write that was carried out in the audit log (dry runs change nothing).
    fn audit(&self, state: &AppState, target: &Target, object: Option<&Value>) {
        if target.dry_run {
            return;
        }
        let user_agent = self
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        state.audit.record(&Write {
            user_agent,
            verb: self.verb,
            group: &target.info.group,
            resource: &target.info.plural,
            subresource: target.subresource.as_deref(),
            namespace: target.namespace.as_deref(),
            name: target.name.as_deref(),
            object,
        });
    }
}

async fn resource(state: &AppState, request: &Request<'_>, body: &[u8]) -> ApiResult<Response> {
    let Request {
        method,
        path,
        params,
        headers,
        ..
    } = *request;
    let mut target = target_of(state, path)?;
    target.dry_run = params.get("dryRun").is_some_and(|v| v == "All");
    let is_write = *method != Method::GET;
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(code) = state.faults.pick_error(is_write, user_agent) {
        return Err(ApiError::injected(code));
    }
    if is_write
        && let Some(code) = state
            .faults
            .failing_write(&target.info.plural, target.subresource.as_deref())
    {
        return Err(ApiError::injected(code));
    }
    let body = &*request_body(method, &target, headers, body)?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let render = Render::from_accept(accept);
    let emulator = &state.emulator;
    let named = target.name.is_some();
    match *method {
        _ if target.subresource.as_deref() == Some("scale") => {
            let scale = scale(emulator, method, &target, headers, body)?;
            if *method != Method::GET {
                request.audit(state, &target, Some(&scale));
            }
            Ok(json_response(StatusCode::OK, &scale))
        }
        Method::GET if named => {
            let object = emulator.get(&target)?;
            Ok(object_response(StatusCode::OK, &target, &object, render))
        }
        Method::GET if is_true(params.get("watch")) => {
            watch_response(state, target, params, render)
        }
        Method::GET => {
            let list = emulator.list(&target, &list_options(params)?)?;
            Ok(json_response(
                StatusCode::OK,
                &render.list(&target.info, list),
            ))
        }
        Method::POST if !named => {
            if target.info.namespaced && target.namespace.is_none() {
                return Err(ApiError::method_not_allowed());
            }
            let object = emulator.create(&target, parse_body(body)?)?;
            request.audit(state, &target, Some(&object));
            Ok(object_response(
                StatusCode::CREATED,
                &target,
                &object,
                Render::Full,
            ))
        }
        Method::PUT if named => {
            let object = emulator.update(&target, parse_body(body)?)?;
            request.audit(state, &target, Some(&object));
            Ok(object_response(
                StatusCode::OK,
                &target,
                &object,
                Render::Full,
            ))
        }
        Method::PATCH if named => {
            let object = patch(emulator, &target, params, headers, body)?;
            request.audit(state, &target, Some(&object));
            Ok(object_response(
                StatusCode::OK,
                &target,
                &object,
                Render::Full,
            ))
        }
        Method::DELETE => delete(state, request, &target, body),
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn delete(
    state: &AppState,
    request: &Request<'_>,
    target: &Target,
    body: &[u8],
) -> ApiResult<Response> {
    let mut options = DeleteOptions::from_body(body)?;
    if let Some(policy) = request.params.get("propagationPolicy") {
        options.propagation = Some(policy.clone());
    }
    let emulator = &state.emulator;
    if target.name.is_some() {
        let object = emulator.delete(target, &options)?;
        request.audit(state, target, Some(&object));
        Ok(object_response(
            StatusCode::OK,
            target,
            &object,
            Render::Full,
        ))
    } else {
        let list = emulator.delete_collection(target, &list_options(request.params)?, &options)?;
        request.audit(state, target, None);
        Ok(json_response(StatusCode::OK, &list))
    }
}

fn patch(
    emulator: &Emulator,
    target: &Target,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<std::sync::Arc<Value>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let options = PatchOptions {
        field_manager: params.get("fieldManager").cloned(),
        force: is_true(params.get("force")),
    };
    emulator.patch(
        target,
        PatchType::from_content_type(content_type)?,
        body,
        &options,
    )
}

fn scale(
    emulator: &Emulator,
    method: &Method,
    target: &Target,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Value> {
    let scale = match *method {
        Method::GET => emulator.get_scale(target)?,
        Method::PUT => emulator.write_scale(target, None, body)?,
        Method::PATCH => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            emulator.write_scale(
                target,
                Some(PatchType::from_content_type(content_type)?),
                body,
            )?
        }
        _ => return Err(ApiError::method_not_allowed()),
    };
    Ok(scale)
}

fn watch_response(
    state: &AppState,
    target: Target,
    params: &Params,
    render: Render,
) -> ApiResult<Response> {
    let since = match params.get("resourceVersion").map(String::as_str) {
        None | Some("" | "0") => None,
        Some(rv) => Some(
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv}")))?,
        ),
    };
    let watch_params = WatchParams {
        since,
        bookmarks: is_true(params.get("allowWatchBookmarks")),
        send_initial_events: is_true(params.get("sendInitialEvents")),
        timeout: params
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .map(Duration::from_secs),
        options: list_options(params)?,
        render,
    };
    let context = WatchContext {
        faults: Arc::clone(&state.faults),
        drop_all: state.faults.drop_signal(),
        bookmark_interval: state.bookmark_interval,
    };
    let stream = watch::start(&state.emulator, target, watch_params, context)?;
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

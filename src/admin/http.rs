//! The admin HTTP endpoints on `server.admin_listen`: `/metrics`
//! (Prometheus text), `/healthz` (the process serves) and `/readyz` (every
//! primary reachable, sharding column types loaded; else 503 naming what is
//! not). They run on a thread and runtime of their own, so a flood of
//! clients on the MySQL port never starves a scrape or a probe.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the endpoints ask the running proxy.
pub trait Probe: Send + Sync + 'static {
    /// The Prometheus text of every metric.
    fn metrics_text(&self) -> impl Future<Output = String> + Send;
    /// Empty when ready; otherwise one line per thing that is not.
    fn not_ready(&self) -> impl Future<Output = Vec<String>> + Send;
}

/// Binds `addr` and serves the endpoints on a thread of their own. Returns
/// the bound address (a `:0` port is resolved) once listening.
pub fn start<P: Probe>(addr: &str, probe: Arc<P>) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("admin-http".into())
        .spawn(move || runtime.block_on(serve(listener, probe)))?;
    Ok(local)
}

async fn serve<P: Probe>(listener: std::net::TcpListener, probe: Arc<P>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("admin HTTP cannot listen: {e}");
            return;
        }
    };
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("admin HTTP accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let probe = probe.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(probe.clone(), request));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("admin HTTP connection: {e}");
            }
        });
    }
}

async fn answer<P: Probe, B>(
    probe: Arc<P>,
    request: Request<B>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Ok(respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        ));
    }
    let response = match request.uri().path() {
        "/metrics" => respond(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            probe.metrics_text().await,
        ),
        "/healthz" => respond(
            StatusCode::OK,
            "application/json",
            "{\"status\":\"ok\"}\n".into(),
        ),
        "/readyz" => {
            let problems = probe.not_ready().await;
            let body = serde_json::json!({
                "ready": problems.is_empty(),
                "not_ready": problems,
            });
            let status = if problems.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            respond(status, "application/json", format!("{body}\n"))
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics, /healthz or /readyz\n".into(),
        ),
    };
    Ok(response)
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

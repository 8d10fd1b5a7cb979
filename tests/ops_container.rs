//! What the container files promise, checked without Docker: the rule file
//! docker-compose.yml mounts passes `shardgate check`, Prometheus scrapes the
//! admin port that file opens, the image's HEALTHCHECK (`shardgate health`)
//! tells a serving proxy from a missing one. scripts/container_check.sh runs
//! the Dockerfile's build stage.

mod common;
mod ops_env;

use common::{free_port, Proxy};
use ops_env::*;
use std::path::Path;
use std::process::{Command, Output};

fn shardgate(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shardgate"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run shardgate")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

#[test]
fn the_compose_files_fit_together() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = shardgate(&root.join("config/docker.toml"), &["check"]);
    assert!(out.status.success(), "{}", text(&out));

    // Prometheus scrapes shardgate on the port docker.toml's admin_listen opens.
    let config: toml::Table = repo_file("config/docker.toml").parse().unwrap();
    let admin = config["server"]["admin_listen"].as_str().unwrap();
    let port = admin.rsplit(':').next().unwrap();
    let prometheus = repo_file("config/prometheus.yml");
    assert!(
        prometheus.contains(&format!("\"shardgate:{port}\"")),
        "config/prometheus.yml does not scrape shardgate:{port}"
    );
    let compose = repo_file("docker-compose.yml");
    for mount in [
        "./config/docker.toml:/etc/shardgate/shardgate.toml:ro",
        "./config/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    ] {
        assert!(compose.contains(mount), "docker-compose.yml lacks {mount}");
    }
    let dockerfile = repo_file("Dockerfile");
    for line in [
        "USER nonroot",
        "HEALTHCHECK",
        "\"--config\", \"/etc/shardgate/shardgate.toml\", \"health\"]",
    ] {
        assert!(dockerfile.contains(line), "Dockerfile lacks {line}");
    }
}

#[test]
fn health_answers_for_the_running_proxy_only() {
    let dbs = common::fresh_databases("ops_health");
    let admin_port = free_port();
    // A wildcard admin address, as in the container: asked on loopback.
    let rules = kv_rules(&dbs, admin_port, "").replacen(
        &format!("admin_listen = \"127.0.0.1:{admin_port}\""),
        &format!("admin_listen = \"0.0.0.0:{admin_port}\""),
        1,
    );
    let proxy = Proxy::start(&rules);
    let out = shardgate(&proxy.config_path(), &["health"]);
    assert!(out.status.success(), "{}\n{}", text(&out), proxy.log());

    // Nothing on the admin port: unhealthy.
    let dir = tempfile::tempdir().unwrap();
    let idle = dir.path().join("idle.toml");
    std::fs::write(&idle, kv_rules(&dbs, free_port(), "")).unwrap();
    let out = shardgate(&idle, &["health"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("/healthz on 127.0.0.1:"),
        "{}",
        text(&out)
    );

    // No admin endpoint at all: a configuration error.
    let none = dir.path().join("none.toml");
    let without = repo_file("config/docker.toml").replace("admin_listen = \"0.0.0.0:9307\"\n", "");
    std::fs::write(&none, without).unwrap();
    let out = shardgate(&none, &["health"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

//! What `lateral agent`, `lateral hub` and `lateral watch --nats` share: the connection to
//! NATS (credentials, TLS), the JetStream stream, the subjects and the wire formats.
//!
//! Subjects:
//! - `lateral.events.<site>.<host>.<dataset>`: one normalized event per message (JetStream
//!   stream `LATERAL_EVENTS`), `Nats-Msg-Id` = `event.id` so the server drops a republished
//!   event inside the stream's duplicate window;
//! - `lateral.sessions.<severity>.<session id>`: one session change per message (core NATS,
//!   from the hub);
//! - `lateral.hub.stats`, `lateral.hub.cases`: the hub's counters every second, and the
//!   triage cases whenever they change;
//! - `lateral.api.{sessions,search,event,triage,cases}`: request/reply with the hub.
//!
//! Secrets (passwords, tokens, credential files) never reach a message, a log line or an
//! error: [`redact`] takes them out of anything printed.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::UsageError;
use crate::event::{Event, Field, Nanos};

/// The stream holding every agent's events.
pub const STREAM: &str = "LATERAL_EVENTS";
/// Subjects the stream takes.
pub const EVENTS: &str = "lateral.events";
/// Where session changes go.
pub const SESSIONS: &str = "lateral.sessions";
/// Hub counters, about once a second.
pub const STATS: &str = "lateral.hub.stats";
/// Triage cases, whenever one changes.
pub const CASES: &str = "lateral.hub.cases";
/// Request subjects answered by the hub.
pub const API_SESSIONS: &str = "lateral.api.sessions";
/// Search the hub's index.
pub const API_SEARCH: &str = "lateral.api.search";
/// One event by id.
pub const API_EVENT: &str = "lateral.api.event";
/// Change triage state.
pub const API_TRIAGE: &str = "lateral.api.triage";
/// Read triage state.
pub const API_CASES: &str = "lateral.api.cases";
/// Replies are kept under this size (the server's default payload limit is 1 MiB).
pub const MAX_REPLY: usize = 900 * 1024;

/// Connection options, as NATS users expect them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NatsArgs {
    /// NATS server URL(s), comma separated (nats://host:4222, tls://host:4222).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// NATS credentials file (JWT + NKey seed, as `nsc` writes it).
    #[arg(long, value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// NATS user name (the password comes from --password or $LATERAL_NATS_PASSWORD).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// NATS password. Prefer $LATERAL_NATS_PASSWORD: arguments show up in process lists.
    #[arg(long, value_name = "SECRET")]
    pub password: Option<String>,
    /// CA certificate (PEM) to verify the servers with; implies TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS: `--tls-cert FILE --tls-key FILE`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Client key (PEM) for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl NatsArgs {
    /// The URL, or a usage error naming the command.
    pub fn url(&self, command: &str) -> Result<&str, UsageError> {
        self.nats
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| UsageError(format!("{command} needs --nats URL")))
    }

    /// Secrets to keep out of anything printed.
    fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.password.iter().cloned().collect();
        if let Ok(p) = std::env::var("LATERAL_NATS_PASSWORD")
            && !p.is_empty()
        {
            out.push(p);
        }
        if let Some(url) = &self.nats {
            for part in url.split(',') {
                if let Some((userinfo, _)) = part
                    .split_once("://")
                    .map_or(part, |(_, rest)| rest)
                    .split_once('@')
                {
                    out.push(userinfo.to_string());
                    if let Some((_, pass)) = userinfo.split_once(':') {
                        out.push(pass.to_string());
                    }
                }
            }
        }
        out.retain(|s| !s.is_empty());
        out
    }

    /// `text` with every secret of these options replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets())
    }

    /// The URL as it may be printed (user info removed).
    pub fn shown_url(&self) -> String {
        self.nats.as_deref().map_or_else(String::new, |u| {
            u.split(',')
                .map(|part| match part.split_once('@') {
                    Some((head, host)) => match head.split_once("://") {
                        Some((scheme, _)) => format!("{scheme}://***@{host}"),
                        None => format!("***@{host}"),
                    },
                    None => part.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    /// Connect (retrying in the background when the servers are not up yet).
    pub async fn connect(&self, command: &str, name: &str) -> anyhow::Result<async_nats::Client> {
        let url = self.url(command)?.to_string();
        let mut opts = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(5))
            .request_timeout(Some(Duration::from_secs(10)))
            // Keep reconnecting for ever: an agent outlives a NATS outage.
            .max_reconnects(None)
            .retry_on_initial_connect();
        if let Some(creds) = &self.creds {
            opts = opts.credentials_file(creds.clone()).await.map_err(|e| {
                anyhow::anyhow!("{}: {}", creds.display(), self.redact(&e.to_string()))
            })?;
        }
        let password = self
            .password
            .clone()
            .or_else(|| std::env::var("LATERAL_NATS_PASSWORD").ok());
        match (&self.user, password) {
            (Some(u), Some(p)) => opts = opts.user_and_password(u.clone(), p),
            (Some(_), None) => {
                return Err(UsageError(
                    "--user needs a password: --password or $LATERAL_NATS_PASSWORD".into(),
                )
                .into());
            }
            (None, Some(_)) if self.password.is_some() => {
                return Err(UsageError("--password needs --user".into()).into());
            }
            _ => {}
        }
        if let Some(ca) = &self.tls_ca {
            if !ca.is_file() {
                return Err(UsageError(format!("--tls-ca {}: no such file", ca.display())).into());
            }
            opts = opts.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            opts = opts.add_client_certificate(cert.clone(), key.clone());
        }
        let shown = self.shown_url();
        // Several servers of a cluster, comma separated, as the NATS tools take them.
        let servers: Vec<String> = url
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        let client = opts
            .connect(servers)
            .await
            .map_err(|e| anyhow::anyhow!("NATS {shown}: {}", self.redact(&e.to_string())))?;
        Ok(client)
    }
}

/// `text` with each of `secrets` replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// Stream settings the agents create the stream with (when missing).
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    /// Copies of every message in the cluster (1, 3 or 5).
    pub replicas: usize,
    /// How long the server remembers message ids for de-duplication.
    pub duplicate_window: Duration,
    /// How long events are kept (the hub rebuilds its correlator from them after a restart).
    pub max_age: Duration,
}

/// The events stream, created when missing (an existing stream is used as it is, so an
/// operator's settings win).
pub async fn ensure_stream(
    js: &async_nats::jetstream::Context,
    settings: StreamSettings,
) -> anyhow::Result<async_nats::jetstream::stream::Stream> {
    use async_nats::jetstream::stream;
    let config = stream::Config {
        name: STREAM.to_string(),
        subjects: vec![format!("{EVENTS}.>")],
        num_replicas: settings.replicas.max(1),
        duplicate_window: settings.duplicate_window,
        max_age: settings.max_age,
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| anyhow::anyhow!("JetStream stream {STREAM}: {e}"))
}

/// One subject token: NATS separates tokens with `.` and treats `*`, `>` and whitespace
/// specially, so anything else than `[A-Za-z0-9_-]` becomes `_` (and empty becomes `_`).
pub fn token(s: &str) -> String {
    let t: String = s
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() { "_".into() } else { t }
}

/// The subject of an event published by an agent of `site` on `fallback_host`.
pub fn event_subject(site: &str, fallback_host: &str, ev: &Event) -> String {
    let host = ev
        .str(Field::HostName)
        .map(crate::correlate::context::short_host)
        .unwrap_or_else(|| fallback_host.to_string());
    let dataset = ev
        .str(Field::EventDataset)
        .or_else(|| ev.str(Field::EventModule))
        .unwrap_or("unknown");
    format!(
        "{EVENTS}.{}.{}.{}",
        token(site),
        token(&host),
        token(dataset)
    )
}

/// This machine's name (subjects of events that name no host).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// An event on the wire: the index's stored form (every normalized field, the originals).
pub fn encode_event(ev: &Event) -> Vec<u8> {
    crate::index::schema::stored_event(ev)
}

/// An event off the wire.
pub fn decode_event(bytes: &[u8]) -> Result<Event, String> {
    let ev = crate::index::schema::read_stored(bytes)?;
    if ev.id.is_empty() {
        return Err("no `event.id`".into());
    }
    Ok(ev)
}

/// A search asked of the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchReq {
    /// Query text.
    pub query: String,
    /// Only events at or after.
    pub since: Option<Nanos>,
    /// Only events before.
    pub until: Option<Nanos>,
    /// First hit.
    pub offset: usize,
    /// Hits wanted.
    pub limit: usize,
}

/// The hub's answer to a search.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchResp {
    /// Why it failed.
    pub error: Option<String>,
    /// Where in the query it failed (characters).
    pub position: Option<usize>,
    /// Total hits.
    pub total: u64,
    /// First hit's index.
    pub offset: usize,
    /// Time taken by the hub.
    pub took_ms: u64,
    /// Hits, newest first, in the stored form (carried as written: neither side builds a
    /// JSON tree of them).
    pub hits: Vec<Box<serde_json::value::RawValue>>,
    /// (bucket start, count).
    pub histogram: Vec<(Nanos, u64)>,
    /// (field, [(value, count)]).
    pub facets: Vec<(String, Vec<(String, u64)>)>,
}

/// A page of the hub's sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionsPage {
    /// Sessions, most severe first.
    pub sessions: Vec<crate::correlate::Session>,
    /// Offset of the next page, when there is one.
    pub next: Option<usize>,
}

/// A triage change asked of the hub, with who asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriageReq {
    /// The analyst (shown in the case history).
    pub analyst: String,
    /// What to do.
    pub action: crate::tui::msg::TriageAction,
}

/// The hub's answer to a triage change or a cases request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CasesResp {
    /// Why the change was refused.
    pub error: Option<String>,
    /// Every case after it.
    pub cases: Vec<crate::triage::store::Case>,
}

/// The hub's counters, published on [`STATS`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HubStats {
    /// Events correlated.
    pub events: u64,
    /// Messages that were not events (counted and skipped).
    pub malformed: u64,
    /// Events already seen (republished by an agent).
    pub duplicates: u64,
    /// Events committed to the index.
    pub indexed: u64,
    /// Sessions known.
    pub sessions: u64,
    /// Correlator watermark.
    pub watermark: Option<Nanos>,
    /// Stream sequence of the newest event processed.
    pub stream_seq: u64,
    /// Per `event.module`: total and per-second history.
    pub kinds: Vec<(String, u64, Vec<u64>)>,
    /// Per subject (`site/host/dataset`): events, newest event time, seconds since the last.
    pub sources: Vec<SourceStat>,
}

/// Counters of one subject, as the hub sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceStat {
    /// `site/host/dataset`.
    pub name: String,
    /// Events from it.
    pub events: u64,
    /// Malformed messages from it.
    pub errors: u64,
    /// Newest event time.
    pub last_event: Option<Nanos>,
    /// Wall-clock seconds since the last message.
    pub idle_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str, password: Option<&str>) -> NatsArgs {
        NatsArgs {
            nats: Some(url.into()),
            creds: None,
            user: Some("u".into()),
            password: password.map(str::to_string),
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let a = args("nats://alice:s3cret@h1:4222,nats://h2:4222", Some("pw-123"));
        assert_eq!(a.shown_url(), "nats://***@h1:4222,nats://h2:4222");
        let msg = a.redact("auth failed for alice:s3cret with pw-123 at nats://alice:s3cret@h1");
        assert!(!msg.contains("s3cret"), "{msg}");
        assert!(!msg.contains("pw-123"), "{msg}");
    }

    #[test]
    fn subjects_are_safe_tokens() {
        let mut ev = Event::new(1);
        ev.id = "x".into();
        ev.set(Field::HostName, "FS01.corp.local");
        ev.set(Field::EventDataset, "windows.sysmon_operational");
        assert_eq!(
            event_subject("eu west", "jump", &ev),
            "lateral.events.eu_west.fs01.windows_sysmon_operational"
        );
        let bare = Event::new(1);
        assert_eq!(
            event_subject("a", "jump.box", &bare),
            "lateral.events.a.jump.box.unknown".replace("jump.box", "jump_box")
        );
        assert_eq!(token("*>"), "__");
        assert_eq!(token(""), "_");
    }

    #[test]
    fn events_round_trip_and_junk_is_refused() {
        let mut ev = Event::new(1_700_000_000_000_000_000);
        ev.id = "fnv-1:2".into();
        ev.set(Field::HostName, "ws01");
        ev.set(
            Field::SourceIp,
            "10.0.0.1"
                .parse::<std::net::IpAddr>()
                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
        );
        let back = decode_event(&encode_event(&ev)).unwrap_or_default();
        assert_eq!(back.id, ev.id);
        assert_eq!(back.timestamp, ev.timestamp);
        assert_eq!(back.str(Field::HostName), Some("ws01"));
        assert!(decode_event(b"\x00\x01junk").is_err());
        assert!(decode_event(b"{}").is_err());
        assert!(decode_event(b"[1,2]").is_err());
    }
}

//! Cilium Tetragon events as exported in JSON (`export-stdout`, `tetra getevents -o json`,
//! the export file): one `GetEventsResponse` per document, one per line or pretty-printed.
//! The event is the one key among `process_exec`, `process_exit`, `process_kprobe`,
//! `process_tracepoint`, `process_uprobe`, `process_lsm`, `process_usdt`, `process_loader`,
//! `process_throttle`, `rate_limit_info`, and the shapes of older releases and of the
//! "Security Observability with eBPF" book: `process_connect`, `process_close`,
//! `process_listen`, `process_accept`, `process_sendmsg`, `process_dns`. Beside it sit
//! `node_name` and `time`.
//!
//! Originals keep the protojson names flattened with dots (`process_exec.process.binary`,
//! `process_kprobe.args`, an array kept whole).
//!
//! Mapping (Tetragon gRPC API reference, `tetragon.proto`):
//! - `time` → `@timestamp` (an exec event without `time` takes its `process.start_time`,
//!   which is the exec time), `node_name` → `host.name`;
//! - `process.exec_id` → `process.entity_id`, `pid`, `uid` → `user.id`, `user.name` (only with
//!   `--username-metadata`), `binary` → `process.executable`, `binary` + `arguments` →
//!   `process.command_line`, `parent_exec_id` → `process.parent.entity_id`,
//!   `parent.binary` / `parent.pid` → `process.parent.*`;
//! - `process.pod.namespace` / `name` → `orchestrator.*`, `pod.container.id` without its
//!   `containerd://` / `docker://` / `cri-o://` prefix (else the `docker` short id) →
//!   `container.id`, `pod.container.image.name` → `container.image.name`;
//! - actions: `process-started`, `process-exited` (outcome failure on a signal or a non-zero
//!   status), `network-connect` / `-close` / `-listen` / `-accept` / `-sendmsg`,
//!   `kprobe:<function>`, `tracepoint:<subsys>/<event>`, `uprobe:<symbol>`, `lsm:<hook>`,
//!   `usdt:<provider>/<name>`, `library-loaded`;
//! - hook arguments: the first `sock_arg` / `skb_arg` → source and destination address, port
//!   and transport (the local end is the source, except for accept hooks); `sockaddr_arg` →
//!   destination; `file_arg` / `path_arg` / `linux_binprm_arg` path → `file.path` (older
//!   releases print it without the leading `/`, which is restored); `policy_name` →
//!   `rule.name`, `message` → `message`; an enforcing action (`KPROBE_ACTION_SIGKILL`,
//!   `_OVERRIDE`) or a negative return value → outcome failure;
//! - `process_connect`-style shapes: `source_ip` / `source_port` / `destination_ip` /
//!   `destination_port` / `protocol`; a listener's `ip` / `port` → destination.
//!
//! Tetragon's `Process` has no terminal field, so `process.interactive` is never set; the
//! closest signal, `process.in_init_tree` (false for processes injected by `kubectl exec` or
//! `nsenter`), stays in the originals.

use serde_json::Value as J;

use super::hubble::{FlatParser, first_document, j_int, strip_runtime_prefix};
use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::{Event, Field, parse_timestamp};

/// The Tetragon event format.
pub const FORMAT: Format = Format {
    name: "tetragon",
    description: "Cilium Tetragon events (JSON export, one per line or pretty-printed)",
    framing: Framing::JsonDocuments,
    detect,
    decoder: || Box::new(TetragonDecoder::default()),
};

/// Event kinds: JSON key, `event.action` (or its prefix for hooks), `event.category`.
const KINDS: &[(&str, &str, Option<&str>)] = &[
    ("process_exec", "process-started", Some("process")),
    ("process_exit", "process-exited", Some("process")),
    ("process_kprobe", "kprobe", None),
    ("process_tracepoint", "tracepoint", None),
    ("process_uprobe", "uprobe", None),
    ("process_lsm", "lsm", None),
    ("process_usdt", "usdt", None),
    ("process_loader", "library-loaded", Some("library")),
    ("process_connect", "network-connect", Some("network")),
    ("process_close", "network-close", Some("network")),
    ("process_listen", "network-listen", Some("network")),
    ("process_accept", "network-accept", Some("network")),
    ("process_sendmsg", "network-sendmsg", Some("network")),
    ("process_dns", "dns", Some("network")),
    ("process_throttle", "throttle", Some("process")),
    ("rate_limit_info", "rate-limit", None),
];

fn detect(_name: &str, head: &[u8]) -> u8 {
    let doc = first_document(head);
    if !super::json::head_is_json_object(doc) {
        return 0;
    }
    if KINDS
        .iter()
        .any(|(key, _, _)| super::json::head_has_key(doc, key))
    {
        95
    } else {
        0
    }
}

#[derive(Debug, Default)]
struct TetragonDecoder {
    parser: FlatParser,
}

impl Decoder for TetragonDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        super::hubble::push_flat(record, offset, ctx, out, &mut self.parser, decode_event);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Time,
    NodeName,
    EventTime,
    ExecId,
    Pid,
    Uid,
    UserName,
    Binary,
    Arguments,
    StartTime,
    PodNamespace,
    PodName,
    ContainerId,
    ContainerImage,
    Docker,
    ParentExecId,
    ParentExecId2,
    ParentBinary,
    ParentPid,
    FunctionName,
    Args,
    ReturnInt,
    ReturnLong,
    Action,
    PolicyName,
    Message,
    Subsys,
    TpEvent,
    Symbol,
    Path,
    Provider,
    Name,
    Signal,
    Status,
    SourceIp,
    SourcePort,
    DestinationIp,
    DestinationPort,
    Protocol,
    ListenIp,
    ListenPort,
    DnsQuery,
    DnsResponse,
    ThrottleType,
}
const SLOTS: usize = Slot::ThrottleType as usize + 1;

/// Slot of a name below the event key (`process.binary` for `process_exec.process.binary`).
fn slot(rest: &str) -> Option<Slot> {
    use Slot::*;
    Some(match rest {
        "time" => EventTime,
        "process.exec_id" => ExecId,
        "process.pid" => Pid,
        "process.uid" => Uid,
        "process.user.name" => UserName,
        "process.binary" => Binary,
        "process.arguments" => Arguments,
        "process.start_time" => StartTime,
        "process.pod.namespace" => PodNamespace,
        "process.pod.name" => PodName,
        "process.pod.container.id" => ContainerId,
        "process.pod.container.image.name" => ContainerImage,
        "process.docker" => Docker,
        "process.parent_exec_id" => ParentExecId,
        "parent.exec_id" => ParentExecId2,
        "parent.binary" => ParentBinary,
        "parent.pid" => ParentPid,
        "function_name" => FunctionName,
        "args" => Args,
        "return.int_arg" => ReturnInt,
        "return.long_arg" => ReturnLong,
        "action" => Action,
        "policy_name" => PolicyName,
        "message" => Message,
        "subsys" => Subsys,
        "event" => TpEvent,
        "symbol" => Symbol,
        "path" => Path,
        "provider" => Provider,
        "name" => Name,
        "signal" => Signal,
        "status" => Status,
        "source_ip" => SourceIp,
        "source_port" => SourcePort,
        "destination_ip" => DestinationIp,
        "destination_port" => DestinationPort,
        "protocol" => Protocol,
        "ip" => ListenIp,
        "port" => ListenPort,
        "dns.query" => DnsQuery,
        "dns.response" => DnsResponse,
        "type" => ThrottleType,
        _ => return None,
    })
}

fn decode_event(text: &str, offset: u64, parser: &mut FlatParser) -> Result<Event, DecodeError> {
    parser.parse(text, offset)?;
    let flat = &mut parser.flat;
    let mut kind: Option<(&str, &str, Option<&str>)> = None;
    let mut at: [Option<usize>; SLOTS] = [None; SLOTS];
    for (i, (k, _)) in flat.iter().enumerate() {
        let (head, rest) = k.split_once('.').unwrap_or((k.as_str(), ""));
        let s = match head {
            "time" if rest.is_empty() => Some(Slot::Time),
            "node_name" if rest.is_empty() => Some(Slot::NodeName),
            _ => {
                let this = match kind {
                    Some((key, _, _)) if key == head => kind,
                    Some(_) => None,
                    None => {
                        kind = KINDS.iter().copied().find(|(key, _, _)| *key == head);
                        kind
                    }
                };
                this.and_then(|_| slot(rest))
            }
        };
        if let Some(s) = s {
            at[s as usize].get_or_insert(i);
        }
    }
    let Some((key, action, category)) = kind else {
        return Err(DecodeError::malformed(
            offset,
            "not a Tetragon event: no process_exec / process_exit / process_kprobe / ... key",
        ));
    };
    let get = |s: Slot| at[s as usize].and_then(|i| flat.get(i)).map(|(_, v)| v);
    let get_str = |s: Slot| get(s).and_then(J::as_str).filter(|v| !v.is_empty());

    let time = get_str(Slot::Time).or(get_str(Slot::EventTime));
    let ts = time.and_then(parse_timestamp).or_else(|| {
        // The exec event of a process is its start; older exports omit `time` there.
        (key == "process_exec")
            .then(|| get_str(Slot::StartTime).and_then(parse_timestamp))
            .flatten()
    });
    let Some(ts) = ts else {
        return Err(DecodeError::Timestamp {
            offset,
            reason: match time {
                Some(t) => format!("`time` is {t:?}"),
                None => format!("{key} without `time`"),
            },
        });
    };

    let mut ev = Event::new(ts);
    ev.set(Field::EventModule, "tetragon");
    ev.set(Field::EventDataset, "tetragon.events");
    if let Some(n) = get_str(Slot::NodeName) {
        ev.set(Field::HostName, n);
    }

    // The process and its parent.
    if let Some(id) = get_str(Slot::ExecId) {
        ev.set(Field::ProcessEntityId, id);
    }
    if let Some(pid) = get(Slot::Pid).and_then(j_int) {
        ev.set(Field::ProcessPid, pid);
    }
    if let Some(uid) = get(Slot::Uid).and_then(j_int) {
        ev.set(Field::UserId, uid);
    }
    if let Some(u) = get_str(Slot::UserName) {
        ev.set(Field::UserName, u);
    }
    if let Some(bin) = get_str(Slot::Binary) {
        ev.set(Field::ProcessExecutable, bin);
        ev.set(
            Field::ProcessCommandLine,
            match get_str(Slot::Arguments) {
                Some(args) => format!("{bin} {args}"),
                None => bin.to_string(),
            },
        );
    }
    if let Some(id) = get_str(Slot::ParentExecId).or(get_str(Slot::ParentExecId2)) {
        ev.set(Field::ProcessParentEntityId, id);
    }
    if let Some(bin) = get_str(Slot::ParentBinary) {
        ev.set(Field::ProcessParentExecutable, bin);
    }
    if let Some(pid) = get(Slot::ParentPid).and_then(j_int) {
        ev.set(Field::ProcessParentPid, pid);
    }
    if let Some(ns) = get_str(Slot::PodNamespace) {
        ev.set(Field::OrchestratorNamespace, ns);
    }
    if let Some(pod) = get_str(Slot::PodName) {
        ev.set(Field::OrchestratorResourceName, pod);
    }
    if let Some(id) = get_str(Slot::ContainerId)
        .map(strip_runtime_prefix)
        .or(get_str(Slot::Docker))
    {
        ev.set(Field::ContainerId, id);
    }
    if let Some(image) = get_str(Slot::ContainerImage) {
        ev.set(Field::ContainerImageName, image);
    }

    // What happened.
    let hook = |name: Option<&str>| match name {
        Some(n) => format!("{action}:{n}"),
        None => action.to_string(),
    };
    let action = match key {
        "process_kprobe" | "process_lsm" => hook(get_str(Slot::FunctionName)),
        "process_tracepoint" => match (get_str(Slot::Subsys), get_str(Slot::TpEvent)) {
            (Some(s), Some(e)) => format!("{action}:{s}/{e}"),
            (s, e) => hook(s.or(e)),
        },
        "process_uprobe" => hook(get_str(Slot::Symbol).or(get_str(Slot::Path))),
        "process_usdt" => match (get_str(Slot::Provider), get_str(Slot::Name)) {
            (Some(p), Some(n)) => format!("{action}:{p}/{n}"),
            (p, n) => hook(p.or(n)),
        },
        "process_dns" => {
            if get(Slot::DnsResponse).and_then(J::as_bool) == Some(true) {
                "dns-response".into()
            } else {
                "dns-query".into()
            }
        }
        "process_throttle" => match get_str(Slot::ThrottleType) {
            Some("THROTTLE_START") => "throttle-start".into(),
            Some("THROTTLE_STOP") => "throttle-stop".into(),
            _ => action.to_string(),
        },
        _ => action.to_string(),
    };
    ev.set(Field::EventAction, action);
    if let Some(c) = category {
        ev.set(Field::EventCategory, c);
    }
    if let Some(p) = get_str(Slot::PolicyName) {
        ev.set(Field::RuleName, p);
    }
    if let Some(m) = get_str(Slot::Message) {
        ev.set(Field::Message, m);
    }

    match key {
        "process_exit" => {
            let signaled = get_str(Slot::Signal).is_some();
            let status = get(Slot::Status).and_then(j_int).unwrap_or(0);
            ev.set(
                Field::EventOutcome,
                if signaled || status != 0 {
                    "failure"
                } else {
                    "success"
                },
            );
        }
        "process_loader" => {
            if let Some(p) = get_str(Slot::Path) {
                ev.set(Field::FilePath, p);
            }
        }
        "process_dns" => {
            if let Some(q) = get_str(Slot::DnsQuery) {
                ev.set(Field::DnsQuestionName, q.trim_end_matches('.'));
            }
            ev.set(Field::NetworkProtocol, "dns");
        }
        "process_listen" => {
            if let Some(ip) = get_str(Slot::ListenIp) {
                ev.set(Field::DestinationIp, ip);
            }
            if let Some(p) = get(Slot::ListenPort).and_then(j_int) {
                ev.set(Field::DestinationPort, p);
            }
        }
        _ => {}
    }
    // `process_connect`-style endpoints.
    for (slot, field) in [
        (Slot::SourceIp, Field::SourceIp),
        (Slot::DestinationIp, Field::DestinationIp),
    ] {
        if let Some(ip) = get_str(slot) {
            ev.set(field, ip);
        }
    }
    for (slot, field) in [
        (Slot::SourcePort, Field::SourcePort),
        (Slot::DestinationPort, Field::DestinationPort),
    ] {
        if let Some(p) = get(slot).and_then(j_int) {
            ev.set(field, p);
        }
    }
    if let Some(p) = get_str(Slot::Protocol) {
        ev.set(Field::NetworkTransport, transport(p));
    }

    // Hook arguments (kprobe, tracepoint, uprobe, lsm, usdt).
    if let Some(J::Array(args)) = get(Slot::Args) {
        let accept = get_str(Slot::FunctionName).is_some_and(|f| f.contains("accept"));
        hook_args(&mut ev, args, accept);
    }
    let enforced = matches!(
        get_str(Slot::Action),
        Some("KPROBE_ACTION_SIGKILL" | "KPROBE_ACTION_OVERRIDE")
    );
    let returned = get(Slot::ReturnInt)
        .or(get(Slot::ReturnLong))
        .and_then(j_int);
    if enforced || returned.is_some_and(|r| r < 0) {
        ev.set(Field::EventOutcome, "failure");
    } else if returned.is_some() {
        ev.set(Field::EventOutcome, "success");
    }
    if ev.value(Field::EventCategory).is_none() {
        let c = if ev.value(Field::DestinationIp).is_some() || ev.value(Field::SourceIp).is_some() {
            "network"
        } else if ev.value(Field::FilePath).is_some() {
            "file"
        } else {
            "process"
        };
        ev.set(Field::EventCategory, c);
    }

    ev.original = parser.take();
    Ok(ev)
}

/// Normalized fields from a hook's typed arguments (`KprobeArgument`): the first socket and
/// the first path.
fn hook_args(ev: &mut Event, args: &[J], accept: bool) {
    let mut have_socket = false;
    let mut have_path = false;
    for arg in args {
        let Some(obj) = arg.as_object() else { continue };
        for (kind, value) in obj {
            match kind.as_str() {
                "sock_arg" | "skb_arg" if !have_socket => {
                    have_socket = true;
                    let (src, dst) = if accept {
                        (("daddr", "dport"), ("saddr", "sport"))
                    } else {
                        (("saddr", "sport"), ("daddr", "dport"))
                    };
                    if let Some(ip) = value.get(src.0).and_then(J::as_str) {
                        ev.set(Field::SourceIp, ip);
                    }
                    if let Some(p) = value.get(src.1).and_then(j_int) {
                        ev.set(Field::SourcePort, p);
                    }
                    if let Some(ip) = value.get(dst.0).and_then(J::as_str) {
                        ev.set(Field::DestinationIp, ip);
                    }
                    if let Some(p) = value.get(dst.1).and_then(j_int) {
                        ev.set(Field::DestinationPort, p);
                    }
                    if let Some(p) = value.get("protocol").and_then(J::as_str) {
                        ev.set(Field::NetworkTransport, transport(p));
                    } else if let Some(n) = value.get("proto").and_then(j_int) {
                        ev.set(Field::NetworkTransport, iana_transport(n));
                    }
                }
                "sockaddr_arg" if !have_socket => {
                    have_socket = true;
                    if let Some(ip) = value.get("addr").and_then(J::as_str) {
                        ev.set(Field::DestinationIp, ip);
                    }
                    if let Some(p) = value.get("port").and_then(j_int) {
                        ev.set(Field::DestinationPort, p);
                    }
                }
                "file_arg" | "path_arg" | "linux_binprm_arg" if !have_path => {
                    if let Some(p) = value
                        .get("path")
                        .and_then(J::as_str)
                        .filter(|p| !p.is_empty())
                    {
                        have_path = true;
                        // Older releases print the d_path result without its leading slash.
                        if p.starts_with('/') {
                            ev.set(Field::FilePath, p);
                        } else {
                            ev.set(Field::FilePath, format!("/{p}"));
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// `IPPROTO_TCP`, `TCP`, `tcp` → `tcp`.
fn transport(p: &str) -> String {
    p.strip_prefix("IPPROTO_").unwrap_or(p).to_ascii_lowercase()
}

/// IANA protocol number → transport name (the `skb_arg.proto` field).
fn iana_transport(n: i64) -> String {
    match n {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "ipv6-icmp".into(),
        132 => "sctp".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};

    const EXEC: &str = r#"{"process_exec":{"process":{"exec_id":"d29ya2VyLTE6MTIzNDU2Nzg5OjQ0MjE=","pid":4421,"uid":1000,"cwd":"/home/app","binary":"/usr/bin/ssh","arguments":"-i /tmp/k admin@10.40.2.8","flags":"execve clone","start_time":"2024-05-20T08:00:00.100000000Z","auid":1000,"pod":{"namespace":"ci","name":"runner-5f7d","container":{"id":"containerd://6b1f0c5e8d2a4f3b9c7e1d0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e","name":"runner","image":{"id":"registry.example.com/ci/runner@sha256:0011","name":"registry.example.com/ci/runner:7"},"start_time":"2024-05-20T07:59:00Z","pid":12},"pod_labels":{"app":"runner"}},"docker":"6b1f0c5e8d2a4f3b9c7e1d0a2b3c4d5","parent_exec_id":"d29ya2VyLTE6MTIzNDAwMDAwOjQ0MDA=","tid":4421},"parent":{"exec_id":"d29ya2VyLTE6MTIzNDAwMDAwOjQ0MDA=","pid":4400,"uid":1000,"binary":"/bin/bash","flags":"execve clone","start_time":"2024-05-20T07:59:30Z"}},"node_name":"worker-1","time":"2024-05-20T08:00:00.100000000Z"}"#;

    #[test]
    fn exec_event() {
        let e = &decode_ok(&FORMAT, EXEC.as_bytes())[0];
        assert_eq!(e.timestamp, 1_716_192_000_100_000_000);
        assert_eq!(e.str(Field::EventAction), Some("process-started"));
        assert_eq!(e.str(Field::EventCategory), Some("process"));
        assert_eq!(e.str(Field::ProcessExecutable), Some("/usr/bin/ssh"));
        assert_eq!(
            e.str(Field::ProcessCommandLine),
            Some("/usr/bin/ssh -i /tmp/k admin@10.40.2.8")
        );
        assert_eq!(e.int(Field::ProcessPid), Some(4421));
        assert_eq!(
            e.str(Field::ProcessEntityId),
            Some("d29ya2VyLTE6MTIzNDU2Nzg5OjQ0MjE=")
        );
        assert_eq!(
            e.str(Field::ProcessParentEntityId),
            Some("d29ya2VyLTE6MTIzNDAwMDAwOjQ0MDA=")
        );
        assert_eq!(e.str(Field::ProcessParentExecutable), Some("/bin/bash"));
        assert_eq!(e.int(Field::ProcessParentPid), Some(4400));
        assert_eq!(e.str(Field::UserId), Some("1000"));
        assert_eq!(
            e.str(Field::ContainerId),
            Some("6b1f0c5e8d2a4f3b9c7e1d0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e")
        );
        assert_eq!(
            e.str(Field::ContainerImageName),
            Some("registry.example.com/ci/runner:7")
        );
        assert_eq!(e.str(Field::OrchestratorNamespace), Some("ci"));
        assert_eq!(e.str(Field::OrchestratorResourceName), Some("runner-5f7d"));
        assert_eq!(e.str(Field::HostName), Some("worker-1"));
        assert_eq!(e.bool(Field::ProcessInteractive), None);
        assert_eq!(
            e.original_str("process_exec.process.pod.pod_labels.app")
                .as_deref(),
            Some("runner")
        );
    }

    #[test]
    fn pretty_printed_documents_and_missing_exec_time() {
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<J>(EXEC).unwrap()).unwrap();
        let no_time = EXEC.replace(r#","time":"2024-05-20T08:00:00.100000000Z""#, "");
        let input = format!("{pretty}\n{no_time}\n");
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].timestamp, evs[1].timestamp);
        assert_eq!(evs[1].int(Field::LogOffset), Some(pretty.len() as i64 + 1));
    }

    #[test]
    fn exit_event() {
        let input = r#"{"process_exit":{"process":{"exec_id":"eA==","pid":4421,"binary":"/usr/bin/ssh"},"parent":{"exec_id":"eQ==","pid":4400},"signal":"SIGKILL"},"node_name":"worker-1","time":"2024-05-20T08:00:09Z"}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(e.str(Field::EventAction), Some("process-exited"));
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.str(Field::ProcessCommandLine), Some("/usr/bin/ssh"));
    }

    #[test]
    fn kprobe_connect_and_file_args() {
        let input = r#"{"process_kprobe":{"process":{"exec_id":"eA==","pid":4421,"binary":"/usr/bin/ssh"},"parent":{"exec_id":"eQ=="},"function_name":"tcp_connect","args":[{"sock_arg":{"family":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_TCP","saddr":"10.40.1.5","daddr":"10.40.2.8","sport":51000,"dport":22,"cookie":"1844674407","state":"TCP_SYN_SENT"}}],"action":"KPROBE_ACTION_POST","policy_name":"connect","return_action":"KPROBE_ACTION_POST"},"node_name":"worker-1","time":"2024-05-20T08:00:00.2Z"}
{"process_kprobe":{"process":{"exec_id":"eA==","binary":"/usr/bin/cat"},"function_name":"security_file_permission","args":[{"file_arg":{"path":"etc/shadow"}},{"int_arg":4}],"return":{"int_arg":-13},"action":"KPROBE_ACTION_POST","policy_name":"sensitive-files","message":"read of a credential file","tags":["T1003"]},"time":"2024-05-20T08:00:01Z"}
{"process_kprobe":{"process":{"binary":"/usr/sbin/sshd"},"function_name":"inet_csk_accept","return":{"sock_arg":{"protocol":"IPPROTO_TCP","saddr":"10.40.2.8","daddr":"10.40.1.5","sport":22,"dport":51000}},"args":[{"sock_arg":{"protocol":"IPPROTO_TCP","saddr":"10.40.2.8","daddr":"10.40.1.5","sport":22,"dport":51000}}],"action":"KPROBE_ACTION_SIGKILL"},"time":"2024-05-20T08:00:02Z"}
"#;
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs.len(), 3);
        let c = &evs[0];
        assert_eq!(c.str(Field::EventAction), Some("kprobe:tcp_connect"));
        assert_eq!(c.str(Field::EventCategory), Some("network"));
        assert_eq!(c.ip(Field::SourceIp), Some("10.40.1.5".parse().unwrap()));
        assert_eq!(c.int(Field::DestinationPort), Some(22));
        assert_eq!(c.str(Field::NetworkTransport), Some("tcp"));
        assert_eq!(c.str(Field::RuleName), Some("connect"));
        assert_eq!(c.str(Field::EventOutcome), None);
        let f = &evs[1];
        assert_eq!(f.str(Field::FilePath), Some("/etc/shadow"));
        assert_eq!(f.str(Field::EventCategory), Some("file"));
        assert_eq!(f.str(Field::EventOutcome), Some("failure"));
        assert_eq!(f.str(Field::Message), Some("read of a credential file"));
        let a = &evs[2];
        assert_eq!(a.ip(Field::SourceIp), Some("10.40.1.5".parse().unwrap()));
        assert_eq!(a.int(Field::DestinationPort), Some(22));
        assert_eq!(a.str(Field::EventOutcome), Some("failure"));
    }

    #[test]
    fn book_shapes_connect_and_listen() {
        let input = r#"{"process_connect":{"process":{"exec_id":"eA==","pid":7,"binary":"/usr/bin/nc","arguments":"10.9.9.9 443","pod":{"namespace":"web","name":"front-1","container":{"id":"docker://0a1b2c3d4e5f"}},"docker":"0a1b2c3d4e5f"},"parent":{"binary":"/bin/sh"},"source_ip":"10.1.0.4","source_port":40100,"destination_ip":"10.9.9.9","destination_port":443,"protocol":"TCP"},"node_name":"minikube","time":"2022-02-01T18:01:56.5Z"}
{"process_listen":{"process":{"binary":"/usr/sbin/nginx"},"ip":"0.0.0.0","port":8080,"protocol":"TCP"},"time":"2022-02-01T18:01:57Z"}
"#;
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs[0].str(Field::EventAction), Some("network-connect"));
        assert_eq!(evs[0].int(Field::DestinationPort), Some(443));
        assert_eq!(evs[0].str(Field::ContainerId), Some("0a1b2c3d4e5f"));
        assert_eq!(evs[0].str(Field::NetworkDirection), Some("internal"));
        assert_eq!(evs[1].str(Field::EventAction), Some("network-listen"));
        assert_eq!(evs[1].int(Field::DestinationPort), Some(8080));
    }

    #[test]
    fn other_hooks() {
        let input = r#"{"process_tracepoint":{"process":{"binary":"/bin/x"},"subsys":"syscalls","event":"sys_enter_setns","args":[{"int_arg":3}]},"time":"2024-05-20T08:00:00Z"}
{"process_lsm":{"process":{"binary":"/bin/x"},"function_name":"bprm_check_security","args":[{"linux_binprm_arg":{"path":"/tmp/payload"}}]},"time":"2024-05-20T08:00:00Z"}
{"process_uprobe":{"process":{"binary":"/bin/bash"},"path":"/bin/bash","symbol":"readline"},"time":"2024-05-20T08:00:00Z"}
{"process_loader":{"process":{"binary":"/bin/x"},"path":"/tmp/libevil.so"},"time":"2024-05-20T08:00:00Z"}
"#;
        let evs = decode_ok(&FORMAT, input.as_bytes());
        let actions: Vec<_> = evs
            .iter()
            .map(|e| e.str(Field::EventAction).unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "tracepoint:syscalls/sys_enter_setns",
                "lsm:bprm_check_security",
                "uprobe:readline",
                "library-loaded"
            ]
        );
        assert_eq!(evs[1].str(Field::FilePath), Some("/tmp/payload"));
        assert_eq!(evs[3].str(Field::FilePath), Some("/tmp/libevil.so"));
        assert_eq!(evs[3].str(Field::EventCategory), Some("library"));
    }

    #[test]
    fn malformed_records_are_errors() {
        let input = b"{\"process_exit\":{\"process\":{}}}\n{\"foo\":1}\nnot json\n{\"process_exec\":{\"process\":{\"binary\":\"/x\"}},\"time\":\"yesterday\"}\n{\"a\":\"\xff\"}\n";
        let sink = crate::decode::decode_all(&FORMAT, input, &ctx());
        assert!(sink.events.is_empty());
        assert_eq!(sink.errors.len(), 5, "{:?}", sink.errors);
        assert!(matches!(sink.errors[0], DecodeError::Timestamp { .. }));
    }

    #[test]
    fn detection() {
        assert_eq!(detect("events.json", EXEC.as_bytes()), 95);
        let pretty = b"{\n   \"process_kprobe\":{\n      \"process\":{\n";
        assert_eq!(detect("x.json", pretty), 95);
        assert_eq!(detect("x.json", br#"{"flow":{"verdict":"FORWARDED"}}"#), 0);
        assert_eq!(
            detect(
                "x.json",
                br#"{"rule":"r","output":"process_exec","priority":"p"}"#
            ),
            0
        );
    }
}

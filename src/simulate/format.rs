//! Record writers: one function per record shape, writing the bytes each tool writes.
//!
//! Every writer appends one complete record (one line, ending in `\n`; several lines for an
//! auditd event) to a `String`. The shapes follow the tools' own output and the fixtures in
//! `tests/fixtures/<format>/`:
//!
//! - Hubble: `hubble observe -o json` (`GetFlowsResponse`: `flow`, `node_name`, `time`), L3/L4
//!   TCP/UDP flows and L7 DNS request/response records (Cilium `flow.proto`);
//! - Tetragon: the JSON export (`process_exec`, `process_exit`, `process_kprobe` with
//!   `sock_arg` / `file_arg` arguments; `tetragon.proto`);
//! - Falco: `json_output: true` alerts with `output_fields`;
//! - Windows: winlogbeat 8 documents (`winlog.event_data`, `winlog.channel`, ...);
//! - Zeek: the ASCII writer's TSV with its `#` header block, and Zeek's JSON writer
//!   (`LogAscii::use_json`), per log (conn, dns, kerberos, ntlm, smb_mapping, smb_files,
//!   dce_rpc, rdp, ssh);
//! - syslog: rsyslog's `RSYSLOG_FileFormat` (RFC 3339 timestamps with microseconds), the
//!   default of current Debian and Ubuntu releases;
//! - auditd: `audit.log` with `name_format = hostname` (`node=` prefix), kernel records
//!   (SYSCALL, EXECVE, CWD, PATH, PROCTITLE, EOE) and user-space records (`msg='...'`);
//! - VPC flow logs: the default version 2 layout with the header line S3 delivery writes.
//!
//! The writers never fail and never allocate more than the output (JSON strings are escaped
//! in place), which is what lets `lateral simulate` write millions of records a minute.

use std::fmt::Write;

use crate::event::Nanos;

const NS: i64 = 1_000_000_000;

/// Civil date and time of a UTC instant: (year, month, day, hour, minute, second, nanos).
fn civil(ns: Nanos) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ns.div_euclid(NS);
    let nanos = ns.rem_euclid(NS) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (sod / 3600) as u32,
        (sod / 60 % 60) as u32,
        (sod % 60) as u32,
        nanos,
    )
}

/// `2024-10-08T09:12:03.123456789Z` (Hubble, Tetragon, Falco).
pub fn rfc3339_nanos(out: &mut String, ns: Nanos) {
    let (y, mo, d, h, mi, s, n) = civil(ns);
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{n:09}Z");
}

/// `2024-10-08T09:12:03.123Z` (winlogbeat `@timestamp`).
pub fn rfc3339_millis(out: &mut String, ns: Nanos) {
    let (y, mo, d, h, mi, s, n) = civil(ns);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        n / 1_000_000
    );
}

/// `2024-10-08T09:12:03.1234567Z` (Windows `SystemTime`, 100 ns ticks).
pub fn rfc3339_ticks(out: &mut String, ns: Nanos) {
    let (y, mo, d, h, mi, s, n) = civil(ns);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:07}Z",
        n / 100
    );
}

/// `2024-10-08 09:12:03.123` (Sysmon `UtcTime`).
pub fn sysmon_time(out: &mut String, ns: Nanos) {
    let (y, mo, d, h, mi, s, n) = civil(ns);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{:03}",
        n / 1_000_000
    );
}

/// `2024-10-08T09:12:03.123456+00:00` (rsyslog `RSYSLOG_FileFormat`).
pub fn syslog_time(out: &mut String, ns: Nanos) {
    let (y, mo, d, h, mi, s, n) = civil(ns);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}+00:00",
        n / 1000
    );
}

/// `2024-10-08-09-12-03` (Zeek `#open` / `#close`).
pub fn zeek_open_time(out: &mut String, ns: Nanos) {
    let (y, mo, d, h, mi, s, _) = civil(ns);
    let _ = write!(out, "{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}");
}

/// `1728378723.123456` (Zeek `ts`, microseconds).
pub fn epoch_micros(out: &mut String, ns: Nanos) {
    let _ = write!(out, "{}.{:06}", ns.div_euclid(NS), ns.rem_euclid(NS) / 1000);
}

/// `1728378723.123` (auditd `audit(...)` stamps, milliseconds).
pub fn epoch_millis(out: &mut String, ns: Nanos) {
    let _ = write!(
        out,
        "{}.{:03}",
        ns.div_euclid(NS),
        ns.rem_euclid(NS) / 1_000_000
    );
}

/// A JSON string literal, escaped (RFC 8259: quote, backslash and control characters).
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Zeek's TSV escaping of a string value: tab, newline, backslash and non-printable bytes
/// as `\xNN` (the ASCII writer's `escape` of the separator and control characters).
pub fn zeek_tsv_str(out: &mut String, s: &str) {
    if s.is_empty() {
        out.push_str("(empty)");
        return;
    }
    for c in s.chars() {
        match c {
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
}

/// Standard base64 (RFC 4648) of `bytes`, as Tetragon writes `exec_id`.
pub fn base64(out: &mut String, bytes: &[u8]) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(char::from(A[(n >> 18) as usize & 63]));
        out.push(char::from(A[(n >> 12) as usize & 63]));
        if chunk.len() > 1 {
            out.push(char::from(A[(n >> 6) as usize & 63]));
        } else {
            out.push('=');
        }
        if chunk.len() > 2 {
            out.push(char::from(A[n as usize & 63]));
        } else {
            out.push('=');
        }
    }
}

// ---------------------------------------------------------------------------------------
// Kubernetes identities, rendered once and reused in every record that names them.

/// A pod as Hubble and Tetragon describe it; the JSON fragments are rendered once.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Namespace.
    pub namespace: String,
    /// Pod name (`frontend-6d8f9b7c4d-k2x9p`).
    pub name: String,
    /// Owning workload (`frontend`).
    pub workload: String,
    /// Pod address.
    pub ip: String,
    /// Node name (`ip-10-20-3-41.eu-west-1.compute.internal`).
    pub node: String,
    /// Container runtime id (64 hex digits).
    pub container_id: String,
    /// Hubble's endpoint object for this pod.
    pub hubble_json: String,
    /// Tetragon's `pod` object.
    pub tetragon_json: String,
    /// Image `repo:tag`.
    pub image: String,
}

/// What a pod is made of, before its JSON fragments are rendered.
#[derive(Debug, Clone)]
pub struct PodSpec<'a> {
    /// Cluster name (Hubble `cluster_name`).
    pub cluster: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Pod name.
    pub name: &'a str,
    /// Workload (Deployment, StatefulSet, Job or DaemonSet name).
    pub workload: &'a str,
    /// `Deployment`, `StatefulSet`, `Job`, `DaemonSet`.
    pub workload_kind: &'a str,
    /// Pod address.
    pub ip: &'a str,
    /// Node name.
    pub node: &'a str,
    /// Image `repo:tag`.
    pub image: &'a str,
    /// Cilium endpoint id.
    pub endpoint_id: u32,
    /// Cilium security identity.
    pub identity: u32,
    /// Container runtime id (64 hex digits).
    pub container_id: &'a str,
    /// Image digest (64 hex digits).
    pub image_digest: &'a str,
    /// Container start, RFC 3339.
    pub started: &'a str,
}

impl Pod {
    /// Render a pod's fragments.
    pub fn new(s: &PodSpec<'_>) -> Pod {
        let mut h = String::with_capacity(512);
        let _ = write!(
            h,
            r#"{{"ID":{},"identity":{},"cluster_name":"{}","namespace":"{}","labels":["k8s:app={}","k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={}","k8s:io.cilium.k8s.policy.cluster={}","k8s:io.cilium.k8s.policy.serviceaccount={}","k8s:io.kubernetes.pod.namespace={}"],"pod_name":"{}","workloads":[{{"name":"{}","kind":"{}"}}]}}"#,
            s.endpoint_id,
            s.identity,
            s.cluster,
            s.namespace,
            s.workload,
            s.namespace,
            s.cluster,
            s.workload,
            s.namespace,
            s.name,
            s.workload,
            s.workload_kind
        );
        let repo = s.image.split(':').next().unwrap_or(s.image);
        let template_hash = s
            .name
            .strip_prefix(s.workload)
            .and_then(|r| r.trim_start_matches('-').split('-').next())
            .filter(|h| s.workload_kind == "Deployment" && !h.is_empty());
        let mut t = String::with_capacity(512);
        let _ = write!(
            t,
            r#"{{"namespace":"{}","name":"{}","container":{{"id":"containerd://{}","name":"{}","image":{{"id":"{}@sha256:{}","name":"{}"}},"start_time":"{}","pid":1}},"pod_labels":{{"app":"{}""#,
            s.namespace,
            s.name,
            s.container_id,
            s.workload,
            repo,
            s.image_digest,
            s.image,
            s.started,
            s.workload
        );
        if let Some(hash) = template_hash {
            let _ = write!(t, r#","pod-template-hash":"{hash}""#);
        }
        let _ = write!(
            t,
            r#"}},"workload":"{}","workload_kind":"{}"}}"#,
            s.workload, s.workload_kind
        );
        Pod {
            namespace: s.namespace.to_string(),
            name: s.name.to_string(),
            workload: s.workload.to_string(),
            ip: s.ip.to_string(),
            node: s.node.to_string(),
            container_id: s.container_id.to_string(),
            hubble_json: h,
            tetragon_json: t,
            image: s.image.to_string(),
        }
    }
}

/// A Hubble endpoint that is not a pod: Cilium's reserved identities.
pub fn reserved_endpoint(label: &str) -> String {
    let identity = match label {
        "host" => 1,
        "world" => 2,
        "remote-node" => 6,
        "kube-apiserver" => 7,
        _ => 2,
    };
    format!(r#"{{"identity":{identity},"labels":["reserved:{label}"]}}"#)
}

// ---------------------------------------------------------------------------------------
// Hubble

/// The TCP flags of one observed packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
    /// PSH.
    pub psh: bool,
}

/// One Hubble L3/L4 flow (a packet observation).
#[derive(Debug, Clone)]
pub struct HubbleFlow<'a> {
    /// Observation time.
    pub ts: Nanos,
    /// Flow uuid.
    pub uuid: &'a str,
    /// `cluster/node` name.
    pub node: &'a str,
    /// Source endpoint object.
    pub src: &'a str,
    /// Destination endpoint object.
    pub dst: &'a str,
    /// Source address.
    pub src_ip: &'a str,
    /// Destination address.
    pub dst_ip: &'a str,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// TCP flags, or `None` for UDP.
    pub tcp: Option<TcpFlags>,
    /// Whether the packet answers the connection's initiator.
    pub reply: bool,
    /// `Some(reason code)` for a dropped packet.
    pub drop: Option<u32>,
    /// DNS names of the destination (Hubble's `destination_names`), if known.
    pub dst_names: Option<&'a str>,
}

/// Append a Hubble L3/L4 flow.
pub fn hubble_flow(out: &mut String, f: &HubbleFlow<'_>) {
    let start = out.len();
    out.push_str(r#"{"flow":{"time":""#);
    rfc3339_nanos(out, f.ts);
    let time = out[start + 17..].to_string();
    let _ = write!(
        out,
        r#"","uuid":"{}","verdict":"{}","#,
        f.uuid,
        if f.drop.is_some() {
            "DROPPED"
        } else {
            "FORWARDED"
        }
    );
    if let Some(code) = f.drop {
        let _ = write!(out, r#""drop_reason":{code},"#);
    }
    let _ = write!(
        out,
        r#""IP":{{"source":"{}","destination":"{}","ipVersion":"IPv4"}},"l4":{{"#,
        f.src_ip, f.dst_ip
    );
    let summary = match f.tcp {
        Some(fl) => {
            let _ = write!(
                out,
                r#""TCP":{{"source_port":{},"destination_port":{},"flags":{{"#,
                f.sport, f.dport
            );
            let mut names: Vec<&str> = Vec::with_capacity(3);
            for (on, name) in [
                (fl.syn, "SYN"),
                (fl.ack, "ACK"),
                (fl.psh, "PSH"),
                (fl.fin, "FIN"),
                (fl.rst, "RST"),
            ] {
                if on {
                    if !names.is_empty() {
                        out.push(',');
                    }
                    let _ = write!(out, r#""{name}":true"#);
                    names.push(name);
                }
            }
            out.push_str("}}");
            format!("TCP Flags: {}", names.join(", "))
        }
        None => {
            let _ = write!(
                out,
                r#""UDP":{{"source_port":{},"destination_port":{}}}"#,
                f.sport, f.dport
            );
            "UDP".to_string()
        }
    };
    let _ = write!(
        out,
        r#"}},"source":{},"destination":{},"Type":"L3_L4","node_name":"{}","#,
        f.src, f.dst, f.node
    );
    if let Some(names) = f.dst_names {
        let _ = write!(out, r#""destination_names":["{names}."],"#);
    }
    if f.reply {
        out.push_str(r#""reply":true,"#);
    }
    match f.drop {
        Some(code) => {
            let _ = write!(
                out,
                r#""event_type":{{"type":1,"sub_type":{code}}},"traffic_direction":"EGRESS","drop_reason_desc":"POLICY_DENIED","#
            );
        }
        None => out.push_str(
            r#""event_type":{"type":4},"traffic_direction":"EGRESS","trace_observation_point":"TO_ENDPOINT","#,
        ),
    }
    let _ = write!(
        out,
        r#""is_reply":{},"Summary":"{summary}"}},"node_name":"{}","time":"{time}"}}"#,
        f.reply, f.node
    );
    out.push('\n');
}

/// One Hubble L7 DNS record (the DNS proxy's view of a query or its answer).
#[derive(Debug, Clone)]
pub struct HubbleDns<'a> {
    /// Observation time.
    pub ts: Nanos,
    /// Flow uuid.
    pub uuid: &'a str,
    /// `cluster/node` name.
    pub node: &'a str,
    /// The querying pod's endpoint object.
    pub client: &'a str,
    /// The DNS server's endpoint object.
    pub server: &'a str,
    /// Client address.
    pub client_ip: &'a str,
    /// DNS server address.
    pub server_ip: &'a str,
    /// Client port.
    pub client_port: u16,
    /// Query name, without the trailing dot.
    pub query: &'a str,
    /// `None` for the request; for the response, the answer address or `None` with NXDOMAIN.
    pub answer: Option<Option<&'a str>>,
}

/// Append a Hubble L7 DNS request or response.
pub fn hubble_dns(out: &mut String, f: &HubbleDns<'_>) {
    let start = out.len();
    out.push_str(r#"{"flow":{"time":""#);
    rfc3339_nanos(out, f.ts);
    let time = out[start + 17..].to_string();
    let response = f.answer.is_some();
    let (sip, dip, sp, dp, src, dst) = if response {
        (
            f.server_ip,
            f.client_ip,
            53,
            f.client_port,
            f.server,
            f.client,
        )
    } else {
        (
            f.client_ip,
            f.server_ip,
            f.client_port,
            53,
            f.client,
            f.server,
        )
    };
    let _ = write!(
        out,
        r#"","uuid":"{}","verdict":"FORWARDED","IP":{{"source":"{sip}","destination":"{dip}","ipVersion":"IPv4"}},"l4":{{"UDP":{{"source_port":{sp},"destination_port":{dp}}}}},"source":{src},"destination":{dst},"Type":"L7","node_name":"{}","l7":{{"type":"{}","#,
        f.uuid,
        f.node,
        if response { "RESPONSE" } else { "REQUEST" }
    );
    let summary = match f.answer {
        None => {
            let _ = write!(
                out,
                r#""dns":{{"query":"{}.","observation_source":"proxy","qtypes":["A"]}}}},"#,
                f.query
            );
            format!("DNS Query {}. A", f.query)
        }
        Some(Some(ip)) => {
            let _ = write!(
                out,
                r#""latency_ns":"412078","dns":{{"query":"{}.","ips":["{ip}"],"ttl":30,"observation_source":"proxy","qtypes":["A"],"rrtypes":["A"]}}}},"reply":true,"#,
                f.query
            );
            format!("DNS Answer \\\"{ip}\\\" TTL: 30 (Proxy {}. A)", f.query)
        }
        Some(None) => {
            let _ = write!(
                out,
                r#""latency_ns":"388210","dns":{{"query":"{}.","rcode":3,"observation_source":"proxy","qtypes":["A"]}}}},"reply":true,"#,
                f.query
            );
            format!(
                "DNS Answer RCode: Non-Existent Domain TTL: 4294967295 (Proxy {}. A)",
                f.query
            )
        }
    };
    let _ = write!(
        out,
        r#""event_type":{{"type":129}},"traffic_direction":"EGRESS","is_reply":{response},"Summary":"{summary}"}},"node_name":"{}","time":"{time}"}}"#,
        f.node
    );
    out.push('\n');
}

// ---------------------------------------------------------------------------------------
// Tetragon

/// A process as Tetragon reports it.
#[derive(Debug, Clone)]
pub struct TetraProc<'a> {
    /// `exec_id` (base64 of `node:ktime:pid`).
    pub exec_id: &'a str,
    /// Process id.
    pub pid: u32,
    /// Real uid.
    pub uid: u32,
    /// Working directory.
    pub cwd: &'a str,
    /// Executable path.
    pub binary: &'a str,
    /// Arguments (without `argv[0]`); empty when none.
    pub arguments: &'a str,
    /// Exec time.
    pub start: Nanos,
    /// The parent's `exec_id`.
    pub parent_exec_id: &'a str,
    /// The pod's Tetragon object, when in a pod.
    pub pod: Option<&'a Pod>,
}

/// Tetragon's `exec_id` for a process: base64 of `node:ktime:pid`.
pub fn exec_id(node: &str, ktime: Nanos, pid: u32) -> String {
    let mut s = String::with_capacity(80);
    base64(&mut s, format!("{node}:{ktime}:{pid}").as_bytes());
    s
}

fn tetra_process(out: &mut String, p: &TetraProc<'_>, flags: &str) {
    let _ = write!(
        out,
        r#"{{"exec_id":"{}","pid":{},"uid":{},"cwd":"#,
        p.exec_id, p.pid, p.uid
    );
    json_str(out, p.cwd);
    out.push_str(r#","binary":"#);
    json_str(out, p.binary);
    if !p.arguments.is_empty() {
        out.push_str(r#","arguments":"#);
        json_str(out, p.arguments);
    }
    let _ = write!(out, r#","flags":"{flags}","start_time":""#);
    rfc3339_nanos(out, p.start);
    out.push_str(r#"","auid":4294967295"#);
    if let Some(pod) = p.pod {
        let _ = write!(
            out,
            r#","pod":{},"docker":"{}""#,
            pod.tetragon_json,
            &pod.container_id[..31.min(pod.container_id.len())]
        );
    }
    let _ = write!(
        out,
        r#","parent_exec_id":"{}","tid":{},"in_init_tree":false}}"#,
        p.parent_exec_id, p.pid
    );
}

/// Append a `process_exec` event.
pub fn tetragon_exec(out: &mut String, node: &str, p: &TetraProc<'_>, parent: &TetraProc<'_>) {
    out.push_str(r#"{"process_exec":{"process":"#);
    tetra_process(out, p, "execve clone");
    out.push_str(r#","parent":"#);
    tetra_process(out, parent, "execve rootcwd clone");
    let _ = write!(out, r#"}},"node_name":"{node}","time":""#);
    rfc3339_nanos(out, p.start);
    out.push_str("\"}\n");
}

/// Append a `process_exit` event.
pub fn tetragon_exit(
    out: &mut String,
    node: &str,
    ts: Nanos,
    p: &TetraProc<'_>,
    parent: &TetraProc<'_>,
    status: u32,
) {
    out.push_str(r#"{"process_exit":{"process":"#);
    tetra_process(out, p, "execve clone");
    out.push_str(r#","parent":"#);
    tetra_process(out, parent, "execve rootcwd clone");
    let _ = write!(out, r#","status":{status},"time":""#);
    rfc3339_nanos(out, ts);
    let _ = write!(out, r#""}},"node_name":"{node}","time":""#);
    rfc3339_nanos(out, ts);
    out.push_str("\"}\n");
}

/// What a kprobe saw.
#[derive(Debug, Clone)]
pub enum KprobeArg<'a> {
    /// `tcp_connect`: (source address, source port, destination address, destination port).
    Connect(&'a str, u16, &'a str, u16),
    /// `security_file_permission` on a path (read).
    FileRead(&'a str),
}

/// Append a `process_kprobe` event.
pub fn tetragon_kprobe(
    out: &mut String,
    node: &str,
    ts: Nanos,
    p: &TetraProc<'_>,
    parent: &TetraProc<'_>,
    arg: &KprobeArg<'_>,
) {
    out.push_str(r#"{"process_kprobe":{"process":"#);
    tetra_process(out, p, "execve clone");
    out.push_str(r#","parent":"#);
    tetra_process(out, parent, "execve rootcwd clone");
    match arg {
        KprobeArg::Connect(saddr, sport, daddr, dport) => {
            let _ = write!(
                out,
                r#","function_name":"tcp_connect","args":[{{"sock_arg":{{"family":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_TCP","saddr":"{saddr}","daddr":"{daddr}","sport":{sport},"dport":{dport},"cookie":"{}","state":"TCP_SYN_SENT"}}}}],"action":"KPROBE_ACTION_POST","policy_name":"monitor-network-activity","return_action":"KPROBE_ACTION_POST""#,
                18_446_619_000_000_000_000u64 + (ts as u64 % 1_000_000_000)
            );
        }
        KprobeArg::FileRead(path) => {
            out.push_str(
                r#","function_name":"security_file_permission","args":[{"file_arg":{"path":"#,
            );
            json_str(out, path);
            out.push_str(
                r#","permission":"-rw-r--r--"}},{"int_arg":4}],"return":{"int_arg":0},"action":"KPROBE_ACTION_POST","policy_name":"file-monitoring-filtered","return_action":"KPROBE_ACTION_POST""#,
            );
        }
    }
    let _ = write!(out, r#"}},"node_name":"{node}","time":""#);
    rfc3339_nanos(out, ts);
    out.push_str("\"}\n");
}

// ---------------------------------------------------------------------------------------
// Falco

/// A Falco alert about a process in a pod.
#[derive(Debug, Clone)]
pub struct FalcoAlert<'a> {
    /// Alert time.
    pub ts: Nanos,
    /// Alert uuid.
    pub uuid: &'a str,
    /// Node host name.
    pub hostname: &'a str,
    /// Falco rule name.
    pub rule: &'a str,
    /// Priority (`Informational`, `Notice`, `Warning`, ...).
    pub priority: &'a str,
    /// The rule's output text before the `|` field list.
    pub text: &'a str,
    /// Tags.
    pub tags: &'a [&'a str],
    /// The pod.
    pub pod: &'a Pod,
    /// Process name.
    pub proc_name: &'a str,
    /// Executable path.
    pub exepath: &'a str,
    /// Command line.
    pub cmdline: &'a str,
    /// Parent process name.
    pub pname: &'a str,
    /// Event type (`execve`, `connect`, `openat`).
    pub evt_type: &'a str,
    /// `fd.name`, when the rule prints it.
    pub fd_name: Option<&'a str>,
}

/// Append a Falco alert.
pub fn falco_alert(out: &mut String, a: &FalcoAlert<'_>) {
    let short = &a.pod.container_id[..12.min(a.pod.container_id.len())];
    let (repo, tag) = a
        .pod
        .image
        .split_once(':')
        .unwrap_or((&a.pod.image, "latest"));
    let _ = write!(out, r#"{{"hostname":"{}","output":""#, a.hostname);
    let mut text = String::with_capacity(400);
    {
        let (y, mo, d, h, mi, s, n) = civil(a.ts);
        let _ = write!(
            text,
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{n:09}+0000: {} {} | evt_type={} user=root user_uid=0 user_loginuid=-1 process={} proc_exepath={} parent={} command={}",
            a.priority, a.text, a.evt_type, a.proc_name, a.exepath, a.pname, a.cmdline
        );
        if let Some(fd) = a.fd_name {
            let _ = write!(text, " connection={fd}");
        }
        let _ = write!(
            text,
            " terminal=0 container_id={short} container_name={} container_image_repository={repo} container_image_tag={tag} k8s_pod_name={} k8s_ns_name={}",
            a.pod.workload, a.pod.name, a.pod.namespace
        );
    }
    // `output` is the text Falco printed; escape it like every other JSON string.
    let mut escaped = String::with_capacity(text.len() + 8);
    json_str(&mut escaped, &text);
    out.push_str(&escaped[1..escaped.len() - 1]);
    let _ = write!(
        out,
        r#"","output_fields":{{"container.id":"{short}","container.image.repository":"{repo}","container.image.tag":"{tag}","container.name":"{}","evt.time":{},"evt.type":"{}","#,
        a.pod.workload, a.ts, a.evt_type
    );
    if let Some(fd) = a.fd_name {
        out.push_str(r#""fd.name":"#);
        json_str(out, fd);
        out.push(',');
    }
    let _ = write!(
        out,
        r#""k8s.ns.name":"{}","k8s.pod.name":"{}","proc.cmdline":"#,
        a.pod.namespace, a.pod.name
    );
    json_str(out, a.cmdline);
    out.push_str(r#","proc.exepath":"#);
    json_str(out, a.exepath);
    let _ = write!(
        out,
        r#","proc.name":"{}","proc.pname":"{}","proc.tty":0,"user.loginuid":-1,"user.name":"root","user.uid":0}},"priority":"{}","rule":"{}","source":"syscall","tags":["#,
        a.proc_name, a.pname, a.priority, a.rule
    );
    for (i, t) in a.tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#""{t}""#);
    }
    out.push_str(r#"],"time":""#);
    rfc3339_nanos(out, a.ts);
    let _ = write!(out, r#"","uuid":"{}"}}"#, a.uuid);
    out.push('\n');
}

// ---------------------------------------------------------------------------------------
// Windows (winlogbeat 8)

/// A Windows machine as winlogbeat names it.
#[derive(Debug, Clone)]
pub struct WinHost {
    /// Short name (`WS01`).
    pub name: String,
    /// Fully qualified name (`WS01.corp.example.com`).
    pub fqdn: String,
    /// Address.
    pub ip: String,
    /// winlogbeat `agent` and `host` objects, rendered once.
    pub beat_json: String,
}

impl WinHost {
    /// A host in `domain` with address `ip`; `agent_id` makes the agent ids distinct.
    pub fn new(name: &str, domain: &str, ip: &str, os: &str, agent_id: &str) -> WinHost {
        let fqdn = format!("{name}.{domain}");
        let lower = name.to_ascii_lowercase();
        let kernel = if os.contains("Server") {
            "10.0.20348.2582 (WinBuild.160101.0800)"
        } else {
            "10.0.22631.4317 (WinBuild.160101.0800)"
        };
        let beat_json = format!(
            r#""agent":{{"type":"winlogbeat","version":"8.14.3","ephemeral_id":"{agent_id}","id":"{agent_id}","name":"{name}"}},"ecs":{{"version":"8.0.0"}},"host":{{"name":"{lower}.{domain}","hostname":"{lower}","architecture":"x86_64","os":{{"family":"windows","name":"{os}","kernel":"{kernel}","type":"windows","platform":"windows"}},"ip":["{ip}"]}}"#
        );
        WinHost {
            name: name.to_string(),
            fqdn,
            ip: ip.to_string(),
            beat_json,
        }
    }
}

/// A Windows channel and its provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `Security`, `Microsoft-Windows-Security-Auditing`.
    Security,
    /// `System`, `Service Control Manager`.
    System,
    /// `Microsoft-Windows-Sysmon/Operational`.
    Sysmon,
}

/// One Windows event as winlogbeat ships it.
#[derive(Debug, Clone)]
pub struct WinEvent<'a> {
    /// Event time.
    pub ts: Nanos,
    /// Channel.
    pub channel: Channel,
    /// Event id.
    pub id: u32,
    /// Record number in the channel.
    pub record_id: u64,
    /// `event.action` (winlogbeat's task name, e.g. `logged-in`).
    pub action: &'a str,
    /// `event.outcome` for audit events.
    pub outcome: Option<&'a str>,
    /// The first line of the rendered message.
    pub message: &'a str,
    /// `winlog.event_data` as (name, value) pairs, in the provider's order.
    pub data: &'a [(&'a str, &'a str)],
    /// Security UserID of the record (System 7045: who installed the service).
    pub user_sid: Option<&'a str>,
    /// Writing process id (`winlog.process.pid`).
    pub pid: u32,
}

/// Append a winlogbeat document.
pub fn winlogbeat(out: &mut String, host: &WinHost, e: &WinEvent<'_>) {
    let (channel, provider, guid, module) = match e.channel {
        Channel::Security => (
            "Security",
            "Microsoft-Windows-Security-Auditing",
            "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "security",
        ),
        Channel::System => (
            "System",
            "Service Control Manager",
            "{555908d1-a6d7-4695-8e1e-26931d2012f4}",
            "system",
        ),
        Channel::Sysmon => (
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-Sysmon",
            "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
            "sysmon",
        ),
    };
    out.push_str(r#"{"@timestamp":""#);
    rfc3339_millis(out, e.ts);
    let _ = write!(
        out,
        r#"",{},"event":{{"action":"{}","code":"{}","created":""#,
        host.beat_json, e.action, e.id
    );
    rfc3339_millis(out, e.ts + 431_000_000);
    let _ = write!(
        out,
        r#"","kind":"event","module":"{module}","provider":"{provider}""#
    );
    if let Some(o) = e.outcome {
        let _ = write!(out, r#","outcome":"{o}""#);
    }
    out.push_str(r#"},"log":{"level":"information"},"message":"#);
    json_str(out, e.message);
    let _ = write!(
        out,
        r#","winlog":{{"api":"wineventlog","channel":"{channel}","computer_name":"{}","event_data":{{"#,
        host.fqdn
    );
    for (i, (k, v)) in e.data.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#""{k}":"#);
        json_str(out, v);
    }
    let _ = write!(out, r#"}},"event_id":"{}","#, e.id);
    if e.channel == Channel::Security {
        let _ = write!(
            out,
            r#""keywords":["{}"],"#,
            if e.outcome == Some("failure") {
                "Audit Failure"
            } else {
                "Audit Success"
            }
        );
    }
    let _ = write!(
        out,
        r#""opcode":"Info","process":{{"pid":{},"thread":{{"id":{}}}}},"provider_guid":"{guid}","provider_name":"{provider}","record_id":"{}""#,
        e.pid,
        e.pid + 4 + (e.record_id % 97) as u32 * 4,
        e.record_id
    );
    if let Some(sid) = e.user_sid {
        let _ = write!(
            out,
            r#","user":{{"identifier":"{sid}","domain":"NT AUTHORITY","name":"SYSTEM","type":"User"}}"#
        );
    }
    out.push_str("}}\n");
}

// ---------------------------------------------------------------------------------------
// Zeek

/// The Zeek logs the simulator writes, with their `#fields` / `#types` (Zeek 6 defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZeekLog {
    /// conn.log
    Conn,
    /// dns.log
    Dns,
    /// kerberos.log
    Kerberos,
    /// ntlm.log
    Ntlm,
    /// smb_mapping.log
    SmbMapping,
    /// smb_files.log
    SmbFiles,
    /// dce_rpc.log
    DceRpc,
    /// rdp.log
    Rdp,
    /// ssh.log
    Ssh,
}

impl ZeekLog {
    /// Every log, in file-name order.
    pub const ALL: [ZeekLog; 9] = [
        ZeekLog::Conn,
        ZeekLog::DceRpc,
        ZeekLog::Dns,
        ZeekLog::Kerberos,
        ZeekLog::Ntlm,
        ZeekLog::Rdp,
        ZeekLog::SmbFiles,
        ZeekLog::SmbMapping,
        ZeekLog::Ssh,
    ];

    /// The `#path` name.
    pub fn path(self) -> &'static str {
        match self {
            ZeekLog::Conn => "conn",
            ZeekLog::Dns => "dns",
            ZeekLog::Kerberos => "kerberos",
            ZeekLog::Ntlm => "ntlm",
            ZeekLog::SmbMapping => "smb_mapping",
            ZeekLog::SmbFiles => "smb_files",
            ZeekLog::DceRpc => "dce_rpc",
            ZeekLog::Rdp => "rdp",
            ZeekLog::Ssh => "ssh",
        }
    }

    /// (`#fields`, `#types`) of the log.
    pub fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        const ID: [&str; 6] = [
            "ts",
            "uid",
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
        ];
        const IDT: [&str; 6] = ["time", "string", "addr", "port", "addr", "port"];
        macro_rules! cols {
            ($($f:literal : $t:literal),*) => {{
                const F: &[&str] = &[ID[0], ID[1], ID[2], ID[3], ID[4], ID[5], $($f),*];
                const T: &[&str] = &[IDT[0], IDT[1], IDT[2], IDT[3], IDT[4], IDT[5], $($t),*];
                (F, T)
            }};
        }
        match self {
            ZeekLog::Conn => cols!("proto": "enum", "service": "string", "duration": "interval",
                "orig_bytes": "count", "resp_bytes": "count", "conn_state": "string",
                "local_orig": "bool", "local_resp": "bool", "missed_bytes": "count",
                "history": "string", "orig_pkts": "count", "orig_ip_bytes": "count",
                "resp_pkts": "count", "resp_ip_bytes": "count", "tunnel_parents": "set[string]"),
            ZeekLog::Dns => cols!("proto": "enum", "trans_id": "count", "rtt": "interval",
                "query": "string", "qclass": "count", "qclass_name": "string", "qtype": "count",
                "qtype_name": "string", "rcode": "count", "rcode_name": "string", "AA": "bool",
                "TC": "bool", "RD": "bool", "RA": "bool", "Z": "count", "answers": "vector[string]",
                "TTLs": "vector[interval]", "rejected": "bool"),
            ZeekLog::Kerberos => cols!("request_type": "string", "client": "string",
                "service": "string", "success": "bool", "error_msg": "string", "from": "time",
                "till": "time", "cipher": "string", "forwardable": "bool", "renewable": "bool",
                "client_cert_subject": "string", "client_cert_fuid": "string",
                "server_cert_subject": "string", "server_cert_fuid": "string"),
            ZeekLog::Ntlm => cols!("username": "string", "hostname": "string",
                "domainname": "string", "server_nb_computer_name": "string",
                "server_dns_computer_name": "string", "server_tree_name": "string",
                "success": "bool"),
            ZeekLog::SmbMapping => cols!("path": "string", "service": "string",
                "native_file_system": "string", "share_type": "string"),
            ZeekLog::SmbFiles => cols!("fuid": "string", "action": "enum", "path": "string",
                "name": "string", "size": "count", "prev_name": "string",
                "times.modified": "time", "times.accessed": "time", "times.created": "time",
                "times.changed": "time", "data_offset_req": "count", "data_len_req": "count",
                "data_len_rsp": "count"),
            ZeekLog::DceRpc => cols!("rtt": "interval", "named_pipe": "string",
                "endpoint": "string", "operation": "string"),
            ZeekLog::Rdp => cols!("cookie": "string", "result": "string",
                "security_protocol": "string", "client_channels": "vector[string]",
                "keyboard_layout": "string", "client_build": "string", "client_name": "string",
                "client_dig_product_id": "string", "desktop_width": "count",
                "desktop_height": "count", "requested_color_depth": "string",
                "cert_type": "string", "cert_count": "count", "cert_permanent": "bool",
                "encryption_level": "string", "encryption_method": "string"),
            ZeekLog::Ssh => cols!("version": "count", "auth_success": "bool",
                "auth_attempts": "count", "direction": "enum", "client": "string",
                "server": "string", "cipher_alg": "string", "mac_alg": "string",
                "compression_alg": "string", "kex_alg": "string", "host_key_alg": "string",
                "host_key": "string"),
        }
    }
}

/// The ASCII writer's header block for `log`, opened at `open`.
pub fn zeek_tsv_header(out: &mut String, log: ZeekLog, open: Nanos) {
    let (fields, types) = log.columns();
    out.push_str("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n");
    let _ = writeln!(out, "#path\t{}", log.path());
    out.push_str("#open\t");
    zeek_open_time(out, open);
    out.push('\n');
    out.push_str("#fields");
    for f in fields {
        out.push('\t');
        out.push_str(f);
    }
    out.push_str("\n#types");
    for t in types {
        out.push('\t');
        out.push_str(t);
    }
    out.push('\n');
}

/// The ASCII writer's `#close` line.
pub fn zeek_tsv_close(out: &mut String, close: Nanos) {
    out.push_str("#close\t");
    zeek_open_time(out, close);
    out.push('\n');
}

/// A Zeek value: how one column of a record is written in either encoding.
#[derive(Debug, Clone, Copy)]
pub enum Zv<'a> {
    /// Unset (`-` in TSV, left out in JSON).
    Unset,
    /// A string (`string`, `enum`, `addr`).
    Str(&'a str),
    /// A count or port.
    Int(u64),
    /// A `time` or `interval`, in nanoseconds (written with 6 decimals).
    Time(i64),
    /// A `bool`.
    Bool(bool),
    /// A `set` / `vector` of strings.
    List(&'a [&'a str]),
}

/// A Zeek record: the connection id and the log's remaining columns in `#fields` order.
#[derive(Debug, Clone)]
pub struct ZeekRec<'a> {
    /// The log.
    pub log: ZeekLog,
    /// `ts`.
    pub ts: Nanos,
    /// `uid`.
    pub uid: &'a str,
    /// `id.orig_h`.
    pub orig_h: &'a str,
    /// `id.orig_p`.
    pub orig_p: u16,
    /// `id.resp_h`.
    pub resp_h: &'a str,
    /// `id.resp_p`.
    pub resp_p: u16,
    /// The other columns, in `#fields` order (missing trailing ones are unset).
    pub rest: &'a [Zv<'a>],
}

fn secs_6(out: &mut String, ns: i64) {
    epoch_micros(out, ns);
}

/// Append a record in the ASCII writer's TSV.
pub fn zeek_tsv(out: &mut String, r: &ZeekRec<'_>) {
    epoch_micros(out, r.ts);
    let _ = write!(
        out,
        "\t{}\t{}\t{}\t{}\t{}",
        r.uid, r.orig_h, r.orig_p, r.resp_h, r.resp_p
    );
    let n = r.log.columns().0.len() - 6;
    for i in 0..n {
        out.push('\t');
        match r.rest.get(i).copied().unwrap_or(Zv::Unset) {
            Zv::Unset => out.push('-'),
            Zv::Str(s) => zeek_tsv_str(out, s),
            Zv::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Zv::Time(ns) => secs_6(out, ns),
            Zv::Bool(b) => out.push(if b { 'T' } else { 'F' }),
            Zv::List(items) => {
                if items.is_empty() {
                    out.push_str("(empty)");
                }
                for (j, s) in items.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    zeek_tsv_str(out, s);
                }
            }
        }
    }
    out.push('\n');
}

/// Append a record as Zeek's JSON writer writes it (unset fields left out).
pub fn zeek_json(out: &mut String, r: &ZeekRec<'_>) {
    out.push_str(r#"{"ts":"#);
    epoch_micros(out, r.ts);
    let _ = write!(
        out,
        r#","uid":"{}","id.orig_h":"{}","id.orig_p":{},"id.resp_h":"{}","id.resp_p":{}"#,
        r.uid, r.orig_h, r.orig_p, r.resp_h, r.resp_p
    );
    let names = &r.log.columns().0[6..];
    for (name, v) in names.iter().zip(r.rest) {
        match *v {
            Zv::Unset => continue,
            Zv::Str(s) => {
                let _ = write!(out, r#","{name}":"#);
                json_str(out, s);
            }
            Zv::Int(i) => {
                let _ = write!(out, r#","{name}":{i}"#);
            }
            Zv::Time(ns) => {
                let _ = write!(out, r#","{name}":"#);
                secs_6(out, ns);
            }
            Zv::Bool(b) => {
                let _ = write!(out, r#","{name}":{b}"#);
            }
            Zv::List(items) => {
                let _ = write!(out, r#","{name}":["#);
                for (j, s) in items.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    json_str(out, s);
                }
                out.push(']');
            }
        }
    }
    out.push_str("}\n");
}

/// A Zeek connection uid (`C` + 17 base62 characters).
pub fn zeek_uid(prefix: char, bits: u64, more: u64) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = String::with_capacity(18);
    s.push(prefix);
    let mut x = u128::from(bits) << 64 | u128::from(more);
    for _ in 0..17 {
        s.push(char::from(A[(x % 62) as usize]));
        x /= 62;
    }
    s
}

// ---------------------------------------------------------------------------------------
// syslog and auditd

/// Append a syslog line: `TIME host prog[pid]: message`.
pub fn syslog(out: &mut String, ts: Nanos, host: &str, prog: &str, pid: Option<u32>, msg: &str) {
    syslog_time(out, ts);
    out.push(' ');
    out.push_str(host);
    out.push(' ');
    out.push_str(prog);
    if let Some(p) = pid {
        let _ = write!(out, "[{p}]");
    }
    out.push_str(": ");
    out.push_str(msg);
    out.push('\n');
}

/// auditd's encoding of an untrusted string field: quoted when it is plain printable ASCII
/// without spaces, quotes or control bytes, else upper-case hex (auparse's rule).
pub fn audit_str(out: &mut String, s: &str) {
    let plain = s
        .bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\'');
    if plain && !s.is_empty() {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        for b in s.bytes() {
            let _ = write!(out, "{b:02X}");
        }
    }
}

/// An auditd event stamp.
#[derive(Debug, Clone, Copy)]
pub struct AuditStamp<'a> {
    /// `node=` name.
    pub node: &'a str,
    /// Event time.
    pub ts: Nanos,
    /// Serial number.
    pub serial: u64,
}

fn audit_head(out: &mut String, s: &AuditStamp<'_>, ty: &str) {
    let _ = write!(out, "node={} type={ty} msg=audit(", s.node);
    epoch_millis(out, s.ts);
    let _ = write!(out, ":{}): ", s.serial);
}

/// A user-space record (`USER_LOGIN`, `USER_START`, `USER_CMD`, ...): `msg='...'` holds the
/// PAM / tool fields.
pub fn audit_user(
    out: &mut String,
    s: &AuditStamp<'_>,
    ty: &str,
    pid: u32,
    auid: u32,
    ses: u32,
    inner: &str,
) {
    audit_head(out, s, ty);
    let _ = writeln!(
        out,
        "pid={pid} uid=0 auid={auid} ses={ses} subj=unconfined msg='{inner}'"
    );
}

/// A process execution: SYSCALL (execve), EXECVE, CWD, PATH, PROCTITLE and EOE records.
#[derive(Debug, Clone)]
pub struct AuditExec<'a> {
    /// Stamp.
    pub stamp: AuditStamp<'a>,
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Login uid.
    pub auid: u32,
    /// Effective uid.
    pub uid: u32,
    /// Terminal (`pts0`) or `(none)`.
    pub tty: &'a str,
    /// Audit session.
    pub ses: u32,
    /// Executable.
    pub exe: &'a str,
    /// argv.
    pub argv: &'a [&'a str],
    /// Working directory.
    pub cwd: &'a str,
    /// Audit rule key.
    pub key: &'a str,
}

/// Append an execve event (6 records, one decoded event).
pub fn audit_exec(out: &mut String, e: &AuditExec<'_>) {
    let comm = e.exe.rsplit('/').next().unwrap_or(e.exe);
    audit_head(out, &e.stamp, "SYSCALL");
    let _ = write!(
        out,
        "arch=c000003e syscall=59 success=yes exit=0 a0=55d1c2a0b2f0 a1=55d1c2a0c8a0 a2=55d1c2a0b1e0 a3=8 items=2 ppid={} pid={} auid={} uid={u} gid={u} euid={u} suid={u} fsuid={u} egid={u} sgid={u} fsgid={u} tty={} ses={} comm=",
        e.ppid,
        e.pid,
        e.auid,
        e.tty,
        e.ses,
        u = e.uid
    );
    audit_str(out, comm);
    out.push_str(" exe=");
    audit_str(out, e.exe);
    let _ = writeln!(out, " subj=unconfined key=\"{}\"", e.key);
    audit_head(out, &e.stamp, "EXECVE");
    let _ = write!(out, "argc={}", e.argv.len());
    for (i, a) in e.argv.iter().enumerate() {
        let _ = write!(out, " a{i}=");
        audit_str(out, a);
    }
    out.push('\n');
    audit_head(out, &e.stamp, "CWD");
    out.push_str("cwd=");
    audit_str(out, e.cwd);
    out.push('\n');
    audit_head(out, &e.stamp, "PATH");
    out.push_str("item=0 name=");
    audit_str(out, e.exe);
    out.push_str(" inode=1573391 dev=fd:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n");
    audit_head(out, &e.stamp, "PROCTITLE");
    out.push_str("proctitle=");
    let title = e.argv.join("\0");
    for b in title.bytes() {
        let _ = write!(out, "{b:02X}");
    }
    out.push('\n');
    audit_head(out, &e.stamp, "EOE");
    out.push('\n');
}

// ---------------------------------------------------------------------------------------
// VPC flow logs

/// The header line of the default (version 2) format, as S3 delivery writes it.
pub const VPC_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";

/// One VPC flow log record (default format).
#[derive(Debug, Clone)]
pub struct VpcFlow<'a> {
    /// Account id.
    pub account: &'a str,
    /// Network interface id.
    pub eni: &'a str,
    /// Source address.
    pub src: &'a str,
    /// Destination address.
    pub dst: &'a str,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// IANA protocol number.
    pub proto: u8,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Aggregation window start (the record's event time).
    pub start: Nanos,
    /// `true` for ACCEPT, `false` for REJECT.
    pub accept: bool,
}

/// Append a VPC flow log record (aggregation windows of 60 s).
pub fn vpc_flow(out: &mut String, f: &VpcFlow<'_>) {
    let start = f.start.div_euclid(NS);
    let _ = writeln!(
        out,
        "2 {} {} {} {} {} {} {} {} {} {} {} {} OK",
        f.account,
        f.eni,
        f.src,
        f.dst,
        f.sport,
        f.dport,
        f.proto,
        f.packets,
        f.bytes,
        start,
        start + 60,
        if f.accept { "ACCEPT" } else { "REJECT" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{self, Context};
    use crate::event::{Field, Networks, format_timestamp, parse_timestamp};

    fn decode_one(format: &str, text: &str) -> Vec<crate::event::Event> {
        let f = decode::format_by_name(format).unwrap();
        let ctx = Context::new("t", "t.log", Networks::default(), 1_800_000_000_000_000_000);
        let sink = decode::decode_all(f, text.as_bytes(), &ctx);
        assert!(
            sink.errors.is_empty(),
            "{format}: {:?}\n{text}",
            sink.errors
        );
        let detected = decode::detect("t.log", text.as_bytes()).map(|f| f.name);
        assert_eq!(detected, Some(format), "{text}");
        sink.events
    }

    #[test]
    fn civil_times_match_chrono() {
        for ns in [
            0i64,
            1_728_378_723_123_456_789,
            951_782_400_000_000_000, // 2000-02-29
            4_102_444_799_999_999_999,
        ] {
            let mut s = String::new();
            rfc3339_nanos(&mut s, ns);
            assert_eq!(s, format_timestamp(ns));
            assert_eq!(parse_timestamp(&s), Some(ns));
        }
        let mut s = String::new();
        syslog_time(&mut s, 1_728_378_723_123_456_789);
        assert_eq!(s, "2024-10-08T09:12:03.123456+00:00");
        s.clear();
        sysmon_time(&mut s, 1_728_378_723_123_456_789);
        assert_eq!(s, "2024-10-08 09:12:03.123");
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        json_str(&mut s, "C:\\Windows\\\"x\"\n\u{1}");
        assert_eq!(s, r#""C:\\Windows\\\"x\"\n\u0001""#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v, "C:\\Windows\\\"x\"\n\u{1}");
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
        ] {
            let mut s = String::new();
            base64(&mut s, input.as_bytes());
            assert_eq!(s, want);
        }
    }

    fn pod() -> Pod {
        Pod::new(&PodSpec {
            cluster: "prod",
            namespace: "shop",
            name: "cart-5c8d9f7b6-q2wzp",
            workload: "cart",
            workload_kind: "Deployment",
            ip: "10.20.3.77",
            node: "node-a",
            image: "registry.example.net/shop/cart:3.8.2",
            endpoint_id: 1843,
            identity: 48211,
            container_id: "7c41d2e9a0b3f58c61d0e2a4b7c9d8e1f0a3b5c7d9e2f4a6b8c0d1e3f5a7b9c2",
            image_digest: "4b1c8e0d2f6a9c3e5b7d1f0a2c4e6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e",
            started: "2024-10-07T22:03:51Z",
        })
    }

    #[test]
    fn every_writer_decodes_as_its_format() {
        let p = pod();
        let world = reserved_endpoint("world");
        let mut s = String::new();
        hubble_flow(
            &mut s,
            &HubbleFlow {
                ts: 1_728_378_723_000_000_000,
                uuid: "u",
                node: "prod/node-a",
                src: &p.hubble_json,
                dst: &world,
                src_ip: "10.20.3.77",
                dst_ip: "10.30.0.5",
                sport: 40000,
                dport: 22,
                tcp: Some(TcpFlags {
                    syn: true,
                    ..TcpFlags::default()
                }),
                reply: false,
                drop: None,
                dst_names: None,
            },
        );
        let e = &decode_one("hubble", &s)[0];
        assert_eq!(
            e.str(Field::OrchestratorResourceName),
            Some("cart-5c8d9f7b6-q2wzp")
        );
        assert_eq!(e.int(Field::DestinationPort), Some(22));
        s.clear();
        hubble_dns(
            &mut s,
            &HubbleDns {
                ts: 1_728_378_723_000_000_000,
                uuid: "u",
                node: "prod/node-a",
                client: &p.hubble_json,
                server: &world,
                client_ip: "10.20.3.77",
                server_ip: "10.20.0.10",
                client_port: 40001,
                query: "postgres.db.svc.cluster.local",
                answer: None,
            },
        );
        hubble_dns(
            &mut s,
            &HubbleDns {
                ts: 1_728_378_723_000_100_000,
                uuid: "v",
                node: "prod/node-a",
                client: &p.hubble_json,
                server: &world,
                client_ip: "10.20.3.77",
                server_ip: "10.20.0.10",
                client_port: 40001,
                query: "postgres.db.svc.cluster.local",
                answer: Some(Some("10.20.12.40")),
            },
        );
        let evs = decode_one("hubble", &s);
        assert_eq!(evs[0].str(Field::EventAction), Some("dns-query"));
        assert_eq!(evs[1].str(Field::EventAction), Some("dns-response"));

        s.clear();
        let parent = TetraProc {
            exec_id: "cA==",
            pid: 1,
            uid: 0,
            cwd: "/app",
            binary: "/usr/local/bin/node",
            arguments: "server.js",
            start: 1_728_000_000_000_000_000,
            parent_exec_id: "cQ==",
            pod: Some(&p),
        };
        let child = TetraProc {
            exec_id: "cg==",
            pid: 77,
            binary: "/usr/bin/cat",
            arguments: "/var/run/secrets/kubernetes.io/serviceaccount/token",
            start: 1_728_378_723_000_000_000,
            parent_exec_id: "cA==",
            ..parent.clone()
        };
        tetragon_exec(&mut s, "node-a", &child, &parent);
        tetragon_kprobe(
            &mut s,
            "node-a",
            1_728_378_723_100_000_000,
            &child,
            &parent,
            &KprobeArg::FileRead("/var/run/secrets/kubernetes.io/serviceaccount/token"),
        );
        tetragon_exit(
            &mut s,
            "node-a",
            1_728_378_723_200_000_000,
            &child,
            &parent,
            0,
        );
        let evs = decode_one("tetragon", &s);
        assert_eq!(evs.len(), 3);
        assert_eq!(
            evs[1].str(Field::FilePath),
            Some("/var/run/secrets/kubernetes.io/serviceaccount/token")
        );
        assert_eq!(evs[0].str(Field::OrchestratorNamespace), Some("shop"));

        s.clear();
        falco_alert(
            &mut s,
            &FalcoAlert {
                ts: 1_728_378_723_000_000_000,
                uuid: "u",
                hostname: "node-a",
                rule: "Contact K8S API Server From Container",
                priority: "Notice",
                text: "Unexpected connection to K8s API Server from container",
                tags: &["T1565", "container"],
                pod: &p,
                proc_name: "curl",
                exepath: "/usr/bin/curl",
                cmdline: "curl -sk https://10.100.0.1/api",
                pname: "sh",
                evt_type: "connect",
                fd_name: Some("10.20.3.77:51000->10.100.0.1:443"),
            },
        );
        let e = &decode_one("falco", &s)[0];
        assert_eq!(
            e.str(Field::OrchestratorResourceName),
            Some("cart-5c8d9f7b6-q2wzp")
        );

        s.clear();
        let host = WinHost::new(
            "FS01",
            "corp.example.com",
            "10.1.1.20",
            "Windows Server 2022 Standard",
            "a1",
        );
        winlogbeat(
            &mut s,
            &host,
            &WinEvent {
                ts: 1_728_378_723_000_000_000,
                channel: Channel::Security,
                id: 4624,
                record_id: 9,
                action: "logged-in",
                outcome: Some("success"),
                message: "An account was successfully logged on.",
                data: &[
                    ("TargetUserName", "svc_backup"),
                    ("TargetLogonId", "0x6a1f0c"),
                    ("LogonType", "3"),
                    ("IpAddress", "10.1.20.31"),
                    ("AuthenticationPackageName", "NTLM"),
                    ("KeyLength", "0"),
                ],
                user_sid: None,
                pid: 636,
            },
        );
        let e = &decode_one("windows-json", &s)[0];
        assert_eq!(e.str(Field::LogonId), Some("0x6a1f0c"));
        assert_eq!(e.str(Field::HostName), Some("FS01.corp.example.com"));

        s.clear();
        zeek_tsv_header(&mut s, ZeekLog::SmbMapping, 1_728_378_700_000_000_000);
        zeek_tsv(
            &mut s,
            &ZeekRec {
                log: ZeekLog::SmbMapping,
                ts: 1_728_378_723_000_000_000,
                uid: "C1",
                orig_h: "10.1.20.31",
                orig_p: 50000,
                resp_h: "10.1.1.20",
                resp_p: 445,
                rest: &[
                    Zv::Str("\\\\FS01\\ADMIN$"),
                    Zv::Unset,
                    Zv::Str("NTFS"),
                    Zv::Str("DISK"),
                ],
            },
        );
        zeek_tsv_close(&mut s, 1_728_378_800_000_000_000);
        let e = &decode_one("zeek-tsv", &s)[0];
        assert_eq!(e.str(Field::FilePath), Some("\\\\FS01\\ADMIN$"));
        s.clear();
        zeek_json(
            &mut s,
            &ZeekRec {
                log: ZeekLog::DceRpc,
                ts: 1_728_378_723_000_000_000,
                uid: "C1",
                orig_h: "10.1.20.31",
                orig_p: 50000,
                resp_h: "10.1.1.20",
                resp_p: 445,
                rest: &[
                    Zv::Time(611_000),
                    Zv::Str("\\pipe\\svcctl"),
                    Zv::Str("svcctl"),
                    Zv::Str("CreateServiceW"),
                ],
            },
        );
        let e = &decode_one("zeek-json", &s)[0];
        assert_eq!(e.str(Field::EventDataset), Some("zeek.dce_rpc"));

        s.clear();
        syslog(
            &mut s,
            1_728_378_723_000_000_000,
            "app-2",
            "sshd",
            Some(4242),
            "Accepted password for deploy from 10.30.2.7 port 51514 ssh2",
        );
        let e = &decode_one("syslog", &s)[0];
        assert_eq!(e.str(Field::EventAction), Some("logged-in"));

        s.clear();
        let stamp = AuditStamp {
            node: "app-2",
            ts: 1_728_378_723_000_000_000,
            serial: 811,
        };
        audit_exec(
            &mut s,
            &AuditExec {
                stamp,
                pid: 5001,
                ppid: 5000,
                auid: 1001,
                uid: 0,
                tty: "pts0",
                ses: 41,
                exe: "/usr/bin/cat",
                argv: &["cat", "/root/.ssh/id_ed25519"],
                cwd: "/root",
                key: "exec",
            },
        );
        let e = &decode_one("auditd", &s)[0];
        assert_eq!(
            e.str(Field::ProcessCommandLine),
            Some("cat /root/.ssh/id_ed25519")
        );
        assert_eq!(e.str(Field::SessionId), Some("41"));
        assert_eq!(e.str(Field::HostName), Some("app-2"));

        s.clear();
        s.push_str(VPC_HEADER);
        vpc_flow(
            &mut s,
            &VpcFlow {
                account: "123456789012",
                eni: "eni-0a1b2c3d4e5f60718",
                src: "10.20.3.118",
                dst: "10.20.12.7",
                sport: 51000,
                dport: 22,
                proto: 6,
                packets: 12,
                bytes: 3120,
                start: 1_728_378_720_000_000_000,
                accept: true,
            },
        );
        let e = &decode_one("vpcflow", &s)[0];
        assert_eq!(e.int(Field::DestinationPort), Some(22));
    }
}

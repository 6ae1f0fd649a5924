//! Zeek (formerly Bro) network security monitor logs, in both of Zeek's text encodings:
//!
//! - [`TSV_FORMAT`]: the default ASCII writer. A header block (`#separator`, `#set_separator`,
//!   `#empty_field`, `#unset_field`, `#path`, `#open`, `#fields`, `#types`) describes the
//!   tab-separated data lines after it; `#close` ends the block. Decoding lives in [`tsv`].
//! - [`JSON_FORMAT`]: one JSON object per line, as written by Zeek's JSON mode
//!   (`LogAscii::use_json`, dotted keys such as `id.orig_h`) or by the json-streaming-logs
//!   package (`@stream` names the log, `@system` the sensor, and dots become underscores:
//!   `id_orig_h`). Decoding lives in [`json`].
//!
//! Both encodings feed the same per-log-type normalization ([`normalize`]), so a `conn.log`
//! record yields the same normalized event whichever writer produced it. Every field of the
//! record is kept in `original` under Zeek's own (dotted) name. The json-streaming-logs
//! spelling of the connection tuple (`id_orig_h`, `id_orig_p`, `id_resp_h`, `id_resp_p`) is
//! renamed to the dotted form in `original` so rules and queries name one field whatever the
//! writer; every other key is kept exactly as written. Zeek's JSON writer leaves unset
//! fields out, while the TSV writer marks them (`-`): those are kept as JSON null, so a TSV
//! `original` lists every column of its `#fields` header.
//!
//! References: Zeek documentation, "Logs" (per-log field lists: conn, dns, smb_mapping,
//! smb_files, dce_rpc, kerberos, ntlm, rdp, ssh, http, notice, weird, ...) and "Zeek ASCII
//! writer" / `LogAscii` options; the json-streaming-logs package README.

pub mod json;
pub mod tsv;

use serde_json::Value as J;

use super::Format;
use super::Framing;
use crate::event::{Event, Field, FieldKind, Value, parse_int, parse_ip};

/// Zeek's default tab-separated ASCII logs.
pub const TSV_FORMAT: Format = Format {
    name: "zeek-tsv",
    description: "Zeek TSV logs (default ASCII writer with #fields/#types headers)",
    framing: Framing::Lines,
    detect: tsv::detect,
    decoder: || Box::new(tsv::TsvDecoder::default()),
};

/// Zeek JSON logs, Zeek's own JSON writer or json-streaming-logs style.
pub const JSON_FORMAT: Format = Format {
    name: "zeek-json",
    description: "Zeek JSON logs (LogAscii::use_json or json-streaming-logs with @stream)",
    framing: Framing::Lines,
    detect: json::detect,
    decoder: || Box::new(json::JsonDecoder),
};

/// The kind of Zeek log a record comes from (`#path`, `_path`, `@stream`, or inferred).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogType {
    /// `conn.log`: one record per connection.
    Conn,
    /// `dns.log`: one record per query/response.
    Dns,
    /// `smb_mapping.log`: tree connects to shares.
    SmbMapping,
    /// `smb_files.log`: file actions over SMB.
    SmbFiles,
    /// `dce_rpc.log`: one record per RPC operation.
    DceRpc,
    /// `kerberos.log`: AS / TGS exchanges.
    Kerberos,
    /// `ntlm.log`: NTLM authentications.
    Ntlm,
    /// `rdp.log`: RDP connections.
    Rdp,
    /// `ssh.log`: SSH connections with the authentication heuristic.
    Ssh,
    /// `http.log`: one record per request/response.
    Http,
    /// `notice.log`: Zeek's alerts.
    Notice,
    /// `weird.log`: protocol anomalies.
    Weird,
    /// `files.log`: file transfers (endpoints in `tx_hosts` / `rx_hosts`).
    Files,
    /// `ssl.log`: TLS handshakes.
    Ssl,
    /// `known_services.log`: servers seen offering a service.
    KnownServices,
    /// `known_hosts.log`: hosts seen completing a TCP handshake.
    KnownHosts,
    /// `software.log`: software versions seen on hosts.
    Software,
    /// Any other log (x509, dpd, pe, ...), by its path name.
    Other(String),
}

impl LogType {
    /// The log type for a path name (`conn`, `dns`, ...).
    pub fn from_path(path: &str) -> LogType {
        match path {
            "conn" => LogType::Conn,
            "dns" => LogType::Dns,
            "smb_mapping" => LogType::SmbMapping,
            "smb_files" => LogType::SmbFiles,
            "dce_rpc" => LogType::DceRpc,
            "kerberos" => LogType::Kerberos,
            "ntlm" => LogType::Ntlm,
            "rdp" => LogType::Rdp,
            "ssh" => LogType::Ssh,
            "http" => LogType::Http,
            "notice" => LogType::Notice,
            "weird" => LogType::Weird,
            "files" => LogType::Files,
            "ssl" => LogType::Ssl,
            "known_services" => LogType::KnownServices,
            "known_hosts" => LogType::KnownHosts,
            "software" => LogType::Software,
            other => LogType::Other(other.to_string()),
        }
    }

    /// The log's path name.
    pub fn name(&self) -> &str {
        match self {
            LogType::Conn => "conn",
            LogType::Dns => "dns",
            LogType::SmbMapping => "smb_mapping",
            LogType::SmbFiles => "smb_files",
            LogType::DceRpc => "dce_rpc",
            LogType::Kerberos => "kerberos",
            LogType::Ntlm => "ntlm",
            LogType::Rdp => "rdp",
            LogType::Ssh => "ssh",
            LogType::Http => "http",
            LogType::Notice => "notice",
            LogType::Weird => "weird",
            LogType::Files => "files",
            LogType::Ssl => "ssl",
            LogType::KnownServices => "known_services",
            LogType::KnownHosts => "known_hosts",
            LogType::Software => "software",
            LogType::Other(name) => name,
        }
    }

    /// The application protocol every record of this log is about, when there is one.
    fn protocol(&self) -> Option<&'static str> {
        Some(match self {
            LogType::SmbMapping | LogType::SmbFiles => "smb",
            LogType::DceRpc => "dce_rpc",
            LogType::Kerberos => "kerberos",
            LogType::Ntlm => "ntlm",
            LogType::Rdp => "rdp",
            LogType::Ssh => "ssh",
            LogType::Dns => "dns",
            LogType::Http => "http",
            LogType::Ssl => "ssl",
            LogType::Other(name) if name.starts_with("smb") => "smb",
            _ => return None,
        })
    }

    /// Guess the log from the fields a record has, for JSON without `_path` / `@stream` and
    /// TSV without `#path`. Each test names fields that only that log writes (Zeek "Logs"
    /// reference); the order puts the most specific first.
    pub fn infer(slots: &Slots) -> LogType {
        let has = |k: Key| slots.has(k);
        if has(Key::ConnState) {
            LogType::Conn
        } else if has(Key::Query) && (has(Key::Qtype) || has(Key::RcodeName) || has(Key::TransId)) {
            LogType::Dns
        } else if has(Key::ShareType) {
            LogType::SmbMapping
        } else if has(Key::NamedPipe) && has(Key::Endpoint) && has(Key::Operation) {
            LogType::DceRpc
        } else if has(Key::RequestType) && has(Key::Client) {
            LogType::Kerberos
        } else if has(Key::Cookie) || has(Key::SecurityProtocol) {
            LogType::Rdp
        } else if has(Key::AuthSuccess) && (has(Key::Client) || has(Key::Server)) {
            LogType::Ssh
        } else if has(Key::Username)
            && has(Key::Domainname)
            && (has(Key::Success) || has(Key::ServerNbComputerName))
        {
            LogType::Ntlm
        } else if has(Key::Method) && has(Key::Uri) {
            LogType::Http
        } else if has(Key::Note) && has(Key::Msg) {
            LogType::Notice
        } else if has(Key::Name) && (has(Key::Notice) || has(Key::Peer)) {
            LogType::Weird
        } else if has(Key::Action) && (has(Key::Path) || has(Key::Name)) && has(Key::Uid) {
            LogType::SmbFiles
        } else if has(Key::Fuid) && (has(Key::TxHosts) || has(Key::RxHosts)) {
            LogType::Files
        } else if has(Key::CertificateVersion) {
            LogType::Other("x509".into())
        } else if has(Key::Analyzer) && has(Key::FailureReason) {
            LogType::Other("dpd".into())
        } else if has(Key::SoftwareType) {
            LogType::Software
        } else if has(Key::PortNum) && has(Key::PortProto) {
            LogType::KnownServices
        } else if has(Key::Cipher) && (has(Key::ServerName) || has(Key::Established)) {
            LogType::Ssl
        } else if has(Key::IsExe) || has(Key::Machine) && has(Key::Subsystem) {
            LogType::Other("pe".into())
        } else {
            LogType::Other("unknown".into())
        }
    }

    /// `event.dataset` for this log.
    pub fn dataset(&self) -> String {
        format!("zeek.{}", self.name())
    }
}

macro_rules! keys {
    ($( $variant:ident = $($name:literal)|+ ),+ $(,)?) => {
        /// Zeek field names the normalization reads (or uses to infer the log type).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Key { $( $variant, )+ }

        /// Number of [`Key`]s.
        const KEY_COUNT: usize = [$( Key::$variant, )+].len();

        impl Key {
            /// The key for a Zeek field name, dotted or json-streaming spelling.
            pub fn of(name: &str) -> Option<Key> {
                match name {
                    $( $($name)|+ => Some(Key::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

keys! {
    Ts = "ts",
    Uid = "uid",
    OrigH = "id.orig_h",
    OrigP = "id.orig_p",
    RespH = "id.resp_h",
    RespP = "id.resp_p",
    Proto = "proto",
    Service = "service",
    ConnState = "conn_state",
    Query = "query",
    Qtype = "qtype" | "qtype_name",
    TransId = "trans_id",
    RcodeName = "rcode_name",
    Path = "path",
    ShareType = "share_type",
    Action = "action",
    Name = "name",
    NamedPipe = "named_pipe",
    Endpoint = "endpoint",
    Operation = "operation",
    RequestType = "request_type",
    Client = "client",
    Server = "server",
    Success = "success",
    Status = "status",
    ErrorMsg = "error_msg",
    Username = "username",
    Domainname = "domainname",
    Hostname = "hostname",
    ServerNbComputerName = "server_nb_computer_name",
    ServerDnsComputerName = "server_dns_computer_name",
    Cookie = "cookie",
    Result = "result",
    SecurityProtocol = "security_protocol",
    AuthSuccess = "auth_success",
    Host = "host",
    HostP = "host_p",
    PortNum = "port_num",
    PortProto = "port_proto",
    Method = "method",
    Uri = "uri",
    Note = "note",
    Msg = "msg",
    Src = "src",
    Dst = "dst",
    P = "p",
    Notice = "notice",
    Peer = "peer",
    Fuid = "fuid",
    TxHosts = "tx_hosts",
    RxHosts = "rx_hosts",
    CertificateVersion = "certificate.version" | "certificate_version",
    Analyzer = "analyzer",
    FailureReason = "failure_reason",
    SoftwareType = "software_type",
    Cipher = "cipher",
    ServerName = "server_name",
    Established = "established",
    IsExe = "is_exe",
    Machine = "machine",
    Subsystem = "subsystem",
    Stream = "@stream" | "_path",
    System = "@system" | "_system_name",
}

/// Where each [`Key`] sits in a record's field list (TSV: computed once per `#fields`
/// header; JSON: per record).
#[derive(Debug, Clone)]
pub struct Slots([u16; KEY_COUNT]);

const NONE: u16 = u16::MAX;

impl Default for Slots {
    fn default() -> Self {
        Slots([NONE; KEY_COUNT])
    }
}

impl Slots {
    /// Slots for fields named in order.
    pub fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> Slots {
        let mut s = Slots::default();
        for (i, name) in names.enumerate() {
            if let (Some(k), Ok(i)) = (Key::of(name), u16::try_from(i))
                && let Some(slot) = s.0.get_mut(k as usize)
                && *slot == NONE
            {
                *slot = i;
            }
        }
        s
    }

    /// Position of `k`, if the record has it.
    pub fn get(&self, k: Key) -> Option<usize> {
        match self.0.get(k as usize) {
            Some(&i) if i != NONE => Some(usize::from(i)),
            _ => None,
        }
    }

    /// Whether the record has `k`.
    pub fn has(&self, k: Key) -> bool {
        self.get(k).is_some()
    }
}

/// A record's fields (Zeek names, typed JSON values) with its key positions.
pub struct Record<'a> {
    /// Fields in record order.
    pub fields: &'a [(String, J)],
    /// Positions of the keys the normalization reads.
    pub slots: &'a Slots,
}

impl Record<'_> {
    /// The value of `k` (unset fields are JSON null and count as absent).
    pub fn get(&self, k: Key) -> Option<&J> {
        self.slots
            .get(k)
            .and_then(|i| self.fields.get(i))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// The value of `k` when it is a non-empty string other than `-`.
    pub fn str(&self, k: Key) -> Option<&str> {
        self.get(k)
            .and_then(J::as_str)
            .filter(|s| !s.is_empty() && *s != "-")
    }

    /// The value of `k` as a boolean (JSON `true`/`false`, or Zeek's `T`/`F` as text).
    pub fn bool(&self, k: Key) -> Option<bool> {
        match self.get(k)? {
            J::Bool(b) => Some(*b),
            J::String(s) if s == "T" || s == "true" => Some(true),
            J::String(s) if s == "F" || s == "false" => Some(false),
            _ => None,
        }
    }

    /// Copy `k` into `field` (strings, integers and booleans; other values are ignored).
    /// Addresses and numbers in text are converted in place, without a temporary string.
    fn copy(&self, k: Key, ev: &mut Event, field: Field) {
        let Some(v) = self.get(k) else { return };
        let value = match (field.kind(), v) {
            (FieldKind::Ip, J::String(s)) => parse_ip(s).map(Value::Ip),
            (FieldKind::Integer, J::String(s)) => parse_int(s).map(Value::Int),
            (_, J::String(s)) if s.is_empty() || s == "-" => None,
            _ => scalar(v),
        };
        if let Some(value) = value {
            ev.set(field, value);
        }
    }

    /// The first element of a set/vector field, or the value itself when it is a scalar.
    fn first(&self, k: Key) -> Option<&J> {
        match self.get(k)? {
            J::Array(a) => a.first(),
            v => Some(v),
        }
    }
}

/// A JSON scalar as a normalized value.
fn scalar(v: &J) -> Option<Value> {
    match v {
        J::String(s) => Some(Value::Str(s.clone())),
        J::Number(n) => match n.as_i64() {
            Some(i) => Some(Value::Int(i)),
            None => Some(Value::Str(n.to_string())),
        },
        J::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// Fill the normalized fields of `ev` from a Zeek record of log `ty`. Shared by TSV and JSON
/// so both encodings of a record normalize identically. The caller sets the timestamp,
/// `original`, `raw`, and stamps the event.
pub fn normalize(ty: &LogType, dataset: &str, rec: &Record<'_>, ev: &mut Event) {
    ev.set(Field::EventModule, "zeek");
    ev.set(Field::EventDataset, dataset);
    ev.set(Field::EventCategory, "network");
    // The connection 4-tuple (`conn_id` record) most logs carry.
    rec.copy(Key::OrigH, ev, Field::SourceIp);
    rec.copy(Key::OrigP, ev, Field::SourcePort);
    rec.copy(Key::RespH, ev, Field::DestinationIp);
    rec.copy(Key::RespP, ev, Field::DestinationPort);
    if let Some(p) = rec.str(Key::Proto) {
        set_lowercase(ev, Field::NetworkTransport, p);
    }
    if let Some(p) = ty.protocol() {
        ev.set(Field::NetworkProtocol, p);
    }
    rec.copy(Key::System, ev, Field::HostName);

    match ty {
        LogType::Conn => conn(rec, ev),
        LogType::Dns => {
            rec.copy(Key::Query, ev, Field::DnsQuestionName);
            ev.set(Field::EventAction, "dns-query");
            // rcode_name is the response code (RFC 1035 / IANA names); no response, no outcome.
            match rec.str(Key::RcodeName) {
                Some("NOERROR") => ev.set(Field::EventOutcome, "success"),
                Some(_) => ev.set(Field::EventOutcome, "failure"),
                None => {}
            }
        }
        LogType::SmbMapping => {
            ev.set(Field::EventAction, "smb-mapping");
            if let Some(path) = rec.str(Key::Path) {
                ev.set(Field::FilePath, path);
                unc_host(path, ev);
            }
        }
        LogType::SmbFiles => smb_files(rec, ev),
        LogType::DceRpc => {
            // `endpoint` is the RPC interface (svcctl, atsvc, ITaskSchedulerService,
            // IWbemServices, drsuapi, ...) and `operation` the call made on it.
            rec.copy(Key::Endpoint, ev, Field::ServiceName);
            rec.copy(Key::Operation, ev, Field::EventAction);
        }
        LogType::Kerberos => kerberos(rec, ev),
        LogType::Ntlm => ntlm(rec, ev),
        LogType::Rdp => {
            ev.set(Field::EventAction, "rdp-connection");
            // The mstshash cookie the client sends is the user name it intends to log on
            // with (truncated by some clients); scanners put their own tags in it.
            rec.copy(Key::Cookie, ev, Field::UserName);
            // `result` is the server's connection-confirm result. "encrypted" means the
            // session switched to TLS/CredSSP before Zeek could see the outcome.
            match rec.str(Key::Result) {
                Some("Success") => ev.set(Field::EventOutcome, "success"),
                Some("encrypted") => ev.set(Field::EventOutcome, "unknown"),
                Some(_) => ev.set(Field::EventOutcome, "failure"),
                None => {}
            }
        }
        LogType::Ssh => {
            ev.set(Field::EventAction, "ssh-connection");
            // auth_success is Zeek's heuristic on the encrypted exchange; unset means it
            // could not tell.
            match rec.bool(Key::AuthSuccess) {
                Some(true) => ev.set(Field::EventOutcome, "success"),
                Some(false) => ev.set(Field::EventOutcome, "failure"),
                None => {}
            }
        }
        LogType::Http => {
            rec.copy(Key::Method, ev, Field::EventAction);
            let host = rec.str(Key::Host);
            if let Some(h) = host {
                // `host` is the Host header, which carries the port when it is not the
                // default; destination.port already has it.
                ev.set(Field::DestinationDomain, strip_port(h));
            }
            if let Some(uri) = rec.str(Key::Uri) {
                // Proxy requests carry an absolute URI already.
                if uri.starts_with("http://") || uri.starts_with("https://") {
                    ev.set(Field::UrlFull, uri);
                } else if let Some(h) = host {
                    ev.set(Field::UrlFull, format!("http://{h}{uri}"));
                } else {
                    ev.set(Field::UrlFull, uri);
                }
            }
        }
        LogType::Notice => {
            ev.set(Field::EventAction, "notice");
            rec.copy(Key::Note, ev, Field::RuleName);
            rec.copy(Key::Msg, ev, Field::Message);
            // Notices raised outside a connection name their endpoints in src/dst/p.
            if ev.value(Field::SourceIp).is_none() {
                rec.copy(Key::Src, ev, Field::SourceIp);
            }
            if ev.value(Field::DestinationIp).is_none() {
                rec.copy(Key::Dst, ev, Field::DestinationIp);
                rec.copy(Key::P, ev, Field::DestinationPort);
            }
        }
        LogType::Weird => rec.copy(Key::Name, ev, Field::EventAction),
        LogType::Files => {
            // Sets of hosts; a transfer normally has one sender and one receiver.
            if let Some(v) = rec.first(Key::TxHosts).and_then(scalar) {
                ev.set(Field::SourceIp, v);
            }
            if let Some(v) = rec.first(Key::RxHosts).and_then(scalar) {
                ev.set(Field::DestinationIp, v);
            }
        }
        LogType::Ssl => rec.copy(Key::ServerName, ev, Field::DestinationDomain),
        LogType::KnownServices => {
            rec.copy(Key::Host, ev, Field::SourceIp);
            rec.copy(Key::PortNum, ev, Field::SourcePort);
            if let Some(p) = rec.str(Key::PortProto) {
                set_lowercase(ev, Field::NetworkTransport, p);
            }
        }
        LogType::KnownHosts | LogType::Software => {
            rec.copy(Key::Host, ev, Field::SourceIp);
            rec.copy(Key::HostP, ev, Field::SourcePort);
        }
        LogType::Other(_) => {}
    }
}

/// conn.log: service → protocol, conn_state → outcome.
fn conn(rec: &Record<'_>, ev: &mut Event) {
    ev.set(Field::EventAction, "connection");
    if let Some(service) = rec.str(Key::Service) {
        ev.set(Field::NetworkProtocol, conn_protocol(service));
    }
    // Zeek "conn.log" conn_state: whether the handshake completed.
    let outcome = match rec.str(Key::ConnState) {
        // Established (and possibly closed or reset afterwards).
        Some("SF" | "S1" | "S2" | "S3" | "RSTO" | "RSTR") => "success",
        // No answer (S0), rejected (REJ), or the originator gave up before the responder's
        // SYN-ACK (RSTOS0, SH).
        Some("S0" | "REJ" | "RSTOS0" | "SH") => "failure",
        // Midstream (OTH) or the originator's SYN was never seen (SHR, RSTRH).
        Some(_) => "unknown",
        None => return,
    };
    ev.set(Field::EventOutcome, outcome);
}

/// `network.protocol` from conn.log's `service`, a comma list of the analyzers that
/// confirmed the protocol (e.g. `gssapi,smb,krb` for an SMB session authenticated with
/// Kerberos). The carrier protocol is what a hunt filters on, so authentication
/// sub-analyzers riding inside it are skipped when there is anything else; Zeek's `krb` /
/// `krb_tcp` become `kerberos` like the kerberos log's protocol.
fn conn_protocol(service: &str) -> String {
    let is_krb = |s: &str| s.eq_ignore_ascii_case("krb") || s.eq_ignore_ascii_case("krb_tcp");
    let is_auth =
        |s: &str| is_krb(s) || s.eq_ignore_ascii_case("gssapi") || s.eq_ignore_ascii_case("ntlm");
    let pick = service
        .split(',')
        .map(str::trim)
        .find(|s| !s.is_empty() && !is_auth(s))
        .or_else(|| service.split(',').map(str::trim).find(|s| !s.is_empty()))
        .unwrap_or(service);
    if is_krb(pick) {
        "kerberos".to_string()
    } else {
        pick.to_ascii_lowercase()
    }
}

/// Set a keyword lowercased, copying only once.
fn set_lowercase(ev: &mut Event, field: Field, s: &str) {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        ev.set(field, s.to_ascii_lowercase());
    } else {
        ev.set(field, s);
    }
}

/// smb_files.log: SMB::FILE_OPEN → `file-open`; the share path and file name joined.
fn smb_files(rec: &Record<'_>, ev: &mut Event) {
    if let Some(action) = rec.str(Key::Action) {
        let a = action.strip_prefix("SMB::").unwrap_or(action);
        ev.set(Field::EventAction, a.to_ascii_lowercase().replace('_', "-"));
    }
    let path = rec.str(Key::Path);
    let name = rec.str(Key::Name);
    if let Some(p) = path {
        unc_host(p, ev);
    }
    match (path, name) {
        (Some(p), Some(n)) => {
            let sep = if p.ends_with('\\') || n.starts_with('\\') {
                ""
            } else {
                "\\"
            };
            ev.set(Field::FilePath, format!("{p}{sep}{n}"));
        }
        (Some(p), None) => ev.set(Field::FilePath, p),
        (None, Some(n)) => ev.set(Field::FilePath, n),
        (None, None) => {}
    }
}

/// A Host header without its `:port` (`[v6]:port` loses the brackets too).
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port))
            if !h.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            h
        }
        _ => host,
    }
}

/// The server of a UNC path (`\\SERVER\share`) as `destination.domain`, when it is a name
/// rather than the address already in `destination.ip`.
fn unc_host(path: &str, ev: &mut Event) {
    if let Some(rest) = path.strip_prefix("\\\\") {
        let host = rest.split('\\').next().unwrap_or(rest);
        if !host.is_empty() && crate::event::parse_ip(host).is_none() {
            ev.set(Field::DestinationDomain, host);
        }
    }
}

/// kerberos.log: `client` is `name/REALM` (the name may itself hold slashes, e.g.
/// `host/ws01.corp.local`), `service` the requested principal, `success` the KDC's answer.
fn kerberos(rec: &Record<'_>, ev: &mut Event) {
    ev.set(Field::AuthPackage, "Kerberos");
    if let Some(rt) = rec.str(Key::RequestType) {
        let action = match rt {
            "AS" => "as-request".to_string(),
            "TGS" => "tgs-request".to_string(),
            other => other.to_ascii_lowercase(),
        };
        ev.set(Field::EventAction, action);
    }
    if let Some(client) = rec.str(Key::Client) {
        match client.rsplit_once('/') {
            Some((user, realm)) => {
                ev.set(Field::UserName, user);
                ev.set(Field::UserDomain, realm);
            }
            None => ev.set(Field::UserName, client),
        }
    }
    rec.copy(Key::Service, ev, Field::ServiceName);
    outcome_from_bool(rec.bool(Key::Success), ev);
    rec.copy(Key::ErrorMsg, ev, Field::Message);
}

/// ntlm.log: the client's claimed user, domain and workstation; the server's names.
fn ntlm(rec: &Record<'_>, ev: &mut Event) {
    ev.set(Field::AuthPackage, "NTLM");
    ev.set(Field::EventAction, "ntlm-authentication");
    rec.copy(Key::Username, ev, Field::UserName);
    rec.copy(Key::Domainname, ev, Field::UserDomain);
    rec.copy(Key::Hostname, ev, Field::SourceDomain);
    match rec.str(Key::ServerDnsComputerName) {
        Some(n) => ev.set(Field::DestinationDomain, n),
        None => rec.copy(Key::ServerNbComputerName, ev, Field::DestinationDomain),
    }
    // Older Zeek logs `success` (bool); newer ones log the SMB/NT `status` name instead.
    match (rec.bool(Key::Success), rec.str(Key::Status)) {
        (Some(b), _) => outcome_from_bool(Some(b), ev),
        (None, Some("SUCCESS")) => ev.set(Field::EventOutcome, "success"),
        (None, Some(_)) => ev.set(Field::EventOutcome, "failure"),
        (None, None) => {}
    }
}

fn outcome_from_bool(b: Option<bool>, ev: &mut Event) {
    match b {
        Some(true) => ev.set(Field::EventOutcome, "success"),
        Some(false) => ev.set(Field::EventOutcome, "failure"),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};
    use crate::decode::{Sink, decode_all};

    /// The same smb_mapping record through both writers normalizes identically.
    #[test]
    fn tsv_and_json_normalize_alike() {
        let tsv = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tsmb_mapping\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tpath\tservice\tnative_file_system\tshare_type\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\n1709630401.140118\tC1\t10.20.4.31\t51544\t10.20.1.10\t445\t\\\\\\\\FS01\\\\ADMIN$\t-\tNTFS\tDISK\n";
        let json = br#"{"ts":1709630401.140118,"uid":"C1","id.orig_h":"10.20.4.31","id.orig_p":51544,"id.resp_h":"10.20.1.10","id.resp_p":445,"path":"\\\\FS01\\ADMIN$","native_file_system":"NTFS","share_type":"DISK"}"#;
        let a = decode_ok(&TSV_FORMAT, tsv);
        let b = decode_ok(&JSON_FORMAT, json);
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 1);
        let norm = |e: &Event| -> Vec<(Field, Value)> {
            e.fields()
                .filter(|(f, _)| !matches!(f, Field::LogOffset))
                .map(|(f, v)| (f, v.clone()))
                .collect()
        };
        assert_eq!(norm(&a[0]), norm(&b[0]));
        assert_eq!(a[0].timestamp, b[0].timestamp);
        assert_eq!(a[0].str(Field::FilePath), Some("\\\\FS01\\ADMIN$"));
        assert_eq!(a[0].original("path"), b[0].original("path"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            for f in [&TSV_FORMAT, &JSON_FORMAT] {
                let _: Sink = decode_all(f, &bytes, &ctx());
            }
        }

        #[test]
        fn mangled_records_never_panic(tail in "[\\\\x0-9a-fT\t,(){}\":.\\-]{0,200}") {
            let tsv = format!("#separator \\x09\n#fields\tts\tid.orig_h\tservice\n#types\ttime\taddr\tset[count]\n{tail}\n1.5\t{tail}\t{tail}\n");
            let _: Sink = decode_all(&TSV_FORMAT, tsv.as_bytes(), &ctx());
            let json = format!("{{\"ts\":{tail},\"id.orig_h\":\"{tail}\"}}\n{{{tail}}}\n");
            let _: Sink = decode_all(&JSON_FORMAT, json.as_bytes(), &ctx());
        }
    }

    #[test]
    fn conn_protocol_prefers_the_carrier() {
        assert_eq!(conn_protocol("gssapi,smb,krb"), "smb");
        assert_eq!(conn_protocol("krb,smb,gssapi"), "smb");
        assert_eq!(conn_protocol("krb_tcp"), "kerberos");
        assert_eq!(conn_protocol("DNS"), "dns");
        assert_eq!(conn_protocol("ssl,http"), "ssl");
    }

    #[test]
    fn host_header_port_is_stripped() {
        assert_eq!(strip_port("app02.corp.example:5985"), "app02.corp.example");
        assert_eq!(strip_port("[fd00::1]:8080"), "fd00::1");
        assert_eq!(strip_port("fd00::1"), "fd00::1");
        assert_eq!(strip_port("intranet"), "intranet");
        assert_eq!(strip_port("odd:"), "odd:");
    }

    #[test]
    fn inference_from_fields() {
        let infer = |names: &[&str]| LogType::infer(&Slots::from_names(names.iter().copied()));
        assert_eq!(infer(&["ts", "uid", "conn_state"]), LogType::Conn);
        assert_eq!(infer(&["ts", "query", "qtype"]), LogType::Dns);
        assert_eq!(infer(&["ts", "path", "share_type"]), LogType::SmbMapping);
        assert_eq!(
            infer(&["named_pipe", "endpoint", "operation"]),
            LogType::DceRpc
        );
        assert_eq!(infer(&["request_type", "client"]), LogType::Kerberos);
        assert_eq!(infer(&["cookie", "result"]), LogType::Rdp);
        assert_eq!(infer(&["auth_success", "client", "server"]), LogType::Ssh);
        assert_eq!(infer(&["username", "domainname", "success"]), LogType::Ntlm);
        assert_eq!(infer(&["method", "uri", "host"]), LogType::Http);
        assert_eq!(infer(&["note", "msg"]), LogType::Notice);
        assert_eq!(infer(&["name", "notice", "peer"]), LogType::Weird);
        assert_eq!(infer(&["uid", "action", "name"]), LogType::SmbFiles);
        assert_eq!(
            infer(&["certificate.version"]),
            LogType::Other("x509".into())
        );
        assert_eq!(infer(&["ts", "x"]), LogType::Other("unknown".into()));
    }
}

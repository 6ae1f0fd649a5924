//! The normalized event model every other module consumes.
//!
//! One [`Field`] list names every normalized field. Decoders set fields by it, the index builds
//! its schema from it, rules and the UI look fields up through it. Names follow the Elastic
//! Common Schema (ECS) where ECS has one, so analysts' queries and Sigma mappings carry over.
//!
//! An [`Event`] holds:
//! - `@timestamp` in UTC nanoseconds and a stable `event.id` (source identity + offset or record
//!   id), always present;
//! - a fixed slot per [`Field`] (most are empty for any one event);
//! - every original field of the record under its source name (`original`), so nothing the
//!   source said is lost and rules can match vendor field names directly;
//! - the raw record text, bounded to [`RAW_LIMIT`] bytes.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// Raw record text kept per event, in bytes. Longer records are cut at a char boundary.
pub const RAW_LIMIT: usize = 4096;

/// How a field's values are typed, indexed and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// UTC instant, nanoseconds since the Unix epoch.
    Timestamp,
    /// Exact-match string (names, ids, enumerations).
    Keyword,
    /// Free text, tokenized for search (command lines, paths, messages).
    Text,
    /// IPv4 or IPv6 address.
    Ip,
    /// Signed integer (ports, pids, codes, logon types).
    Integer,
    /// true / false.
    Bool,
}

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal : $kind:ident ),+ $(,)?) => {
        /// Every normalized field, by its ECS-style name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Field {
            $( $(#[$doc])* $variant, )+
        }

        impl Field {
            /// All fields, in declaration order (the order of JSON output and the index schema).
            pub const ALL: &'static [Field] = &[ $( Field::$variant, )+ ];

            /// The dotted ECS-style name, e.g. `source.ip`.
            pub const fn name(self) -> &'static str {
                match self { $( Field::$variant => $name, )+ }
            }

            /// How values of this field are typed.
            pub const fn kind(self) -> FieldKind {
                match self { $( Field::$variant => FieldKind::$kind, )+ }
            }
        }
    };
}

fields! {
    /// When the event happened (event time, UTC).
    Timestamp = "@timestamp": Timestamp,
    /// Stable identity: source identity plus offset or record id.
    EventId = "event.id": Keyword,
    /// Producing system family: `windows`, `zeek`, `sshd`, `auditd`, `hubble`, ...
    EventModule = "event.module": Keyword,
    /// Dataset within the module, e.g. `zeek.conn`, `windows.security`, `windows.sysmon`.
    EventDataset = "event.dataset": Keyword,
    /// Vendor event code, e.g. Windows event id `4624`.
    EventCode = "event.code": Keyword,
    /// ECS category: `authentication`, `process`, `network`, `file`, `registry`, `iam`, ...
    EventCategory = "event.category": Keyword,
    /// What happened, in words: `logged-in`, `process-started`, `connection`, ...
    EventAction = "event.action": Keyword,
    /// `success`, `failure` or `unknown`.
    EventOutcome = "event.outcome": Keyword,
    /// Host that recorded the event.
    HostName = "host.name": Keyword,
    /// Address of the host that recorded the event.
    HostIp = "host.ip": Ip,
    /// Source address of a connection or logon.
    SourceIp = "source.ip": Ip,
    /// Source port.
    SourcePort = "source.port": Integer,
    /// Source host or workstation name.
    SourceDomain = "source.domain": Keyword,
    /// Destination address.
    DestinationIp = "destination.ip": Ip,
    /// Destination port.
    DestinationPort = "destination.port": Integer,
    /// Destination host or service name.
    DestinationDomain = "destination.domain": Keyword,
    /// `tcp`, `udp`, `icmp`, ...
    NetworkTransport = "network.transport": Keyword,
    /// Application protocol: `smb`, `rdp`, `ssh`, `dns`, `http`, `kerberos`, ...
    NetworkProtocol = "network.protocol": Keyword,
    /// `internal`, `inbound`, `outbound` or `external`, from the configured internal networks.
    NetworkDirection = "network.direction": Keyword,
    /// Acting or authenticating account.
    UserName = "user.name": Keyword,
    /// Domain of `user.name`.
    UserDomain = "user.domain": Keyword,
    /// Numeric user id (Linux uid / audit auid, Windows SID) when no name is known.
    UserId = "user.id": Keyword,
    /// Account acted upon (the target of a logon as another user, an account change, sudo).
    UserTargetName = "user.target.name": Keyword,
    /// Group acted upon (group membership changes).
    GroupName = "group.name": Keyword,
    /// Windows logon type (2 interactive, 3 network, 9 new credentials, 10 remote interactive).
    LogonType = "winlog.logon.type": Integer,
    /// Windows logon id (hex), the key that ties a logon session's events together.
    LogonId = "winlog.logon.id": Keyword,
    /// Authentication package or protocol: `NTLM`, `Kerberos`, `Negotiate`, `password`, `publickey`.
    AuthPackage = "authentication.package": Keyword,
    /// Login session of non-Windows sources: audit `ses`, the sshd session's process id.
    /// (Windows uses `winlog.logon.id`.)
    SessionId = "session.id": Keyword,
    /// Process id.
    ProcessPid = "process.pid": Integer,
    /// Globally unique process identity (Tetragon `exec_id`, Sysmon `ProcessGuid`).
    ProcessEntityId = "process.entity_id": Keyword,
    /// Executable path or name.
    ProcessExecutable = "process.executable": Text,
    /// Full command line.
    ProcessCommandLine = "process.command_line": Text,
    /// Parent process id.
    ProcessParentPid = "process.parent.pid": Integer,
    /// Parent process executable.
    ProcessParentExecutable = "process.parent.executable": Text,
    /// Parent's unique identity (Tetragon `parent_exec_id`, Sysmon `ParentProcessGuid`).
    ProcessParentEntityId = "process.parent.entity_id": Keyword,
    /// Whether the process or session is interactive (TTY, interactive logon).
    ProcessInteractive = "process.interactive": Bool,
    /// Container id.
    ContainerId = "container.id": Keyword,
    /// Container image name.
    ContainerImageName = "container.image.name": Keyword,
    /// Kubernetes namespace.
    OrchestratorNamespace = "orchestrator.namespace": Keyword,
    /// Kubernetes pod name.
    OrchestratorResourceName = "orchestrator.resource.name": Keyword,
    /// Service name (Windows service, Kerberos service, systemd unit).
    ServiceName = "service.name": Keyword,
    /// File, share, pipe or registry path touched.
    FilePath = "file.path": Text,
    /// DNS question name.
    DnsQuestionName = "dns.question.name": Keyword,
    /// URL.
    UrlFull = "url.full": Text,
    /// Name of the vendor rule that produced an alert (Falco rule, Zeek notice).
    RuleName = "rule.name": Keyword,
    /// Human readable message, when the source has one.
    Message = "message": Text,
    /// File the event was read from.
    LogFilePath = "log.file.path": Keyword,
    /// Byte offset (text) or record id (EVTX) within that file.
    LogOffset = "log.offset": Integer,
}

/// Number of normalized fields.
pub const FIELD_COUNT: usize = Field::ALL.len();

impl Field {
    /// Look a field up by its dotted name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Position of the field in [`Field::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown field name, with the closest known name as a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown field `{name}`{}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
pub struct UnknownField {
    /// What was asked for.
    pub name: String,
    /// Closest known field name.
    pub suggestion: Option<&'static str>,
}

impl FromStr for Field {
    type Err = UnknownField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::from_name(s).ok_or_else(|| UnknownField {
            name: s.to_string(),
            suggestion: Field::ALL
                .iter()
                .map(|f| (edit_distance(s, f.name()), f.name()))
                .filter(|(d, _)| *d <= 3)
                .min_by_key(|(d, _)| *d)
                .map(|(_, n)| n),
        })
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A normalized field value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Keyword or text.
    Str(String),
    /// Integer.
    Int(i64),
    /// IP address.
    Ip(IpAddr),
    /// Boolean.
    Bool(bool),
}

impl Value {
    /// The value as a string slice, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The value as an integer, when it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// The value as an IP address, when it is one.
    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            _ => None,
        }
    }
    /// The value as a boolean, when it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Ip(ip) => write!(f, "{ip}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Str(v) => s.serialize_str(v),
            Value::Int(v) => s.serialize_i64(*v),
            Value::Ip(v) => s.collect_str(v),
            Value::Bool(v) => s.serialize_bool(*v),
        }
    }
}

/// Nanoseconds since the Unix epoch, UTC.
pub type Nanos = i64;

/// Format nanoseconds as RFC 3339 UTC with nanosecond precision, e.g.
/// `2020-04-30T00:06:39.824370000Z`.
pub fn format_timestamp(ns: Nanos) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let sub = ns.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, sub) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string(),
        None => format!("{ns}ns"),
    }
}

/// Parse an RFC 3339 / ISO 8601 timestamp (with `Z` or an offset, `T` or space separator,
/// any fraction) into UTC nanoseconds. A timestamp without zone is taken as UTC.
pub fn parse_timestamp(s: &str) -> Option<Nanos> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return dt.timestamp_nanos_opt();
    }
    let t = s.replacen(' ', "T", 1);
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(&t) {
        return dt.timestamp_nanos_opt();
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(dt) = chrono::DateTime::parse_from_str(&t, fmt) {
            return dt.timestamp_nanos_opt();
        }
    }
    let naive = t.trim_end_matches('Z');
    chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .and_then(|dt| dt.and_utc().timestamp_nanos_opt())
}

/// Convert fractional epoch seconds (Zeek `ts`, Falco) to nanoseconds without float drift
/// in the microseconds.
pub fn epoch_seconds_to_nanos(secs: f64) -> Option<Nanos> {
    if !secs.is_finite() || secs.abs() > 9.2e9 {
        return None;
    }
    let whole = secs.trunc();
    let frac = ((secs - whole) * 1e6).round() as i64; // sources give at most microseconds
    Some(whole as i64 * 1_000_000_000 + frac * 1_000)
}

/// Parse an epoch-seconds string such as `1588205199.82437` exactly (no float rounding).
pub fn parse_epoch_seconds(s: &str) -> Option<Nanos> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let neg = whole.starts_with('-');
    let w: i64 = if whole.is_empty() || whole == "-" {
        0
    } else {
        whole.parse().ok()?
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = frac
        .as_bytes()
        .iter()
        .take(9)
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    for _ in frac.len().min(9)..9 {
        digits *= 10;
    }
    let base = w.checked_mul(1_000_000_000)?;
    Some(if neg { base - digits } else { base + digits })
}

/// Whether an address belongs to the monitored (internal) networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Networks {
    cidrs: Vec<Cidr>,
}

impl Default for Networks {
    /// RFC 1918, RFC 4193 unique local, link-local and loopback (IPv4 and IPv6), and the
    /// RFC 6598 shared range that Kubernetes pod networks often use.
    fn default() -> Self {
        let defaults = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
            "127.0.0.0/8",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
        ];
        Networks {
            cidrs: defaults.iter().filter_map(|c| c.parse().ok()).collect(),
        }
    }
}

impl Networks {
    /// Networks from CIDR strings.
    pub fn new(cidrs: Vec<Cidr>) -> Self {
        Networks { cidrs }
    }
    /// Whether `ip` is internal.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidrs.iter().any(|c| c.contains(ip))
    }
    /// `network.direction` for a flow from `src` to `dst`.
    pub fn direction(&self, src: IpAddr, dst: IpAddr) -> &'static str {
        match (self.contains(src), self.contains(dst)) {
            (true, true) => "internal",
            (true, false) => "outbound",
            (false, true) => "inbound",
            (false, false) => "external",
        }
    }
}

/// An address range in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Error for a malformed CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR `{0}` (expected e.g. 10.0.0.0/8 or fd00::/8)")]
pub struct InvalidCidr(pub String);

impl FromStr for Cidr {
    type Err = InvalidCidr;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidCidr(s.to_string());
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` lies in this range. IPv4-mapped IPv6 addresses match IPv4 ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
    /// First and last address of the range (for index range queries).
    pub fn bounds(&self) -> (IpAddr, IpAddr) {
        match self.addr {
            IpAddr::V4(net) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                let lo = u32::from(net) & mask;
                (IpAddr::V4(lo.into()), IpAddr::V4((lo | !mask).into()))
            }
            IpAddr::V6(net) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                let lo = u128::from(net) & mask;
                (IpAddr::V6(lo.into()), IpAddr::V6((lo | !mask).into()))
            }
        }
    }
}

/// One normalized event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// Event time, UTC nanoseconds (`@timestamp`).
    pub timestamp: Nanos,
    /// Stable identity (`event.id`).
    pub id: String,
    /// Set fields only, sorted by field position: most events carry a dozen of the ~50
    /// fields, so a sparse list is smaller and faster to build than a slot per field.
    values: Vec<(Field, Value)>,
    /// Every original field of the record under its source name, in source order.
    /// Nested source objects are flattened with dots (`process.pod.name`).
    pub original: Vec<(String, serde_json::Value)>,
    /// The raw record text, at most [`RAW_LIMIT`] bytes.
    pub raw: Option<String>,
}

impl Event {
    /// An empty event at `timestamp`.
    pub fn new(timestamp: Nanos) -> Self {
        Event {
            timestamp,
            ..Event::default()
        }
    }

    /// The value of a normalized field. `@timestamp` and `event.id` are served from the
    /// dedicated members as `Int` and `Str`.
    pub fn get(&self, field: Field) -> Option<Value> {
        match field {
            Field::Timestamp => Some(Value::Int(self.timestamp)),
            Field::EventId => Some(Value::Str(self.id.clone())),
            f => self.value(f).cloned(),
        }
    }

    /// Borrow a field's value (not for `@timestamp` / `event.id`, which have members).
    pub fn value(&self, field: Field) -> Option<&Value> {
        self.values
            .binary_search_by(|(f, _)| f.cmp(&field))
            .ok()
            .map(|i| &self.values[i].1)
    }

    /// A field as a string slice (keyword and text fields).
    pub fn str(&self, field: Field) -> Option<&str> {
        match field {
            Field::EventId => Some(&self.id),
            f => self.value(f).and_then(Value::as_str),
        }
    }

    /// A field as an integer.
    pub fn int(&self, field: Field) -> Option<i64> {
        match field {
            Field::Timestamp => Some(self.timestamp),
            f => self.value(f).and_then(Value::as_int),
        }
    }

    /// A field as an IP address.
    pub fn ip(&self, field: Field) -> Option<IpAddr> {
        self.value(field).and_then(Value::as_ip)
    }

    /// A field as a boolean.
    pub fn bool(&self, field: Field) -> Option<bool> {
        self.value(field).and_then(Value::as_bool)
    }

    /// Set a field, converting the value to the field's kind. Empty strings, Windows' `-`
    /// placeholders and values that do not convert (a port that is not a number) are
    /// ignored, so decoders can pass source values straight through.
    pub fn set(&mut self, field: Field, value: impl Into<Value>) {
        let value = value.into();
        match field {
            Field::Timestamp => {
                if let Value::Int(t) = value {
                    self.timestamp = t;
                }
                return;
            }
            Field::EventId => {
                self.id = value.to_string();
                return;
            }
            _ => {}
        }
        if let Some(v) = coerce(field.kind(), value) {
            match self.values.binary_search_by(|(f, _)| f.cmp(&field)) {
                Ok(i) => self.values[i].1 = v,
                Err(i) => self.values.insert(i, (field, v)),
            }
        }
    }

    /// Set a field only when it is still empty.
    pub fn set_default(&mut self, field: Field, value: impl Into<Value>) {
        if self.value(field).is_none() {
            self.set(field, value);
        }
    }

    /// Remove a field's value.
    pub fn clear(&mut self, field: Field) {
        self.values.retain(|(f, _)| *f != field);
    }

    /// Fields that hold a value, in [`Field::ALL`] order (without `@timestamp` / `event.id`).
    pub fn fields(&self) -> impl Iterator<Item = (Field, &Value)> {
        self.values.iter().map(|(f, v)| (*f, v))
    }

    /// An original field by its source name.
    pub fn original(&self, name: &str) -> Option<&serde_json::Value> {
        self.original
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// An original field as text (numbers and booleans rendered).
    pub fn original_str(&self, name: &str) -> Option<String> {
        self.original(name).and_then(json_scalar_string)
    }

    /// Keep the raw record text, cut to [`RAW_LIMIT`] bytes at a char boundary.
    pub fn set_raw(&mut self, raw: &str) {
        self.raw = Some(truncate_str(raw, RAW_LIMIT).to_string());
    }

    /// Set `network.direction` from the source and destination addresses when both are known.
    pub fn classify_direction(&mut self, networks: &Networks) {
        if self.value(Field::NetworkDirection).is_some() {
            return;
        }
        if let (Some(s), Some(d)) = (self.ip(Field::SourceIp), self.ip(Field::DestinationIp)) {
            self.set(Field::NetworkDirection, networks.direction(s, d));
        }
    }
}

/// Render a scalar JSON value as text (strings as-is, numbers and bools formatted).
pub fn json_scalar_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Cut `s` to at most `max` bytes without splitting a character.
pub fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn coerce(kind: FieldKind, value: Value) -> Option<Value> {
    match (kind, value) {
        (_, Value::Str(s)) if s.is_empty() || s == "-" => None,
        (FieldKind::Keyword | FieldKind::Text, Value::Str(s)) => Some(Value::Str(s)),
        (FieldKind::Keyword | FieldKind::Text, v) => Some(Value::Str(v.to_string())),
        (FieldKind::Integer | FieldKind::Timestamp, Value::Int(i)) => Some(Value::Int(i)),
        (FieldKind::Integer | FieldKind::Timestamp, Value::Str(s)) => parse_int(&s).map(Value::Int),
        (FieldKind::Integer | FieldKind::Timestamp, Value::Bool(b)) => {
            Some(Value::Int(i64::from(b)))
        }
        (FieldKind::Ip, Value::Ip(ip)) => Some(Value::Ip(ip)),
        (FieldKind::Ip, Value::Str(s)) => parse_ip(&s).map(Value::Ip),
        (FieldKind::Bool, Value::Bool(b)) => Some(Value::Bool(b)),
        (FieldKind::Bool, Value::Str(s)) => parse_bool(&s).map(Value::Bool),
        (FieldKind::Bool, Value::Int(i)) => Some(Value::Bool(i != 0)),
        _ => None,
    }
}

/// Parse an integer written in decimal or `0x` hex.
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    s.parse().ok()
}

/// Parse an IP address as sources write it: plain, `::ffff:`-mapped, bracketed, or with
/// a `%zone`. Windows' `-` and `::1`-style placeholders are handled by the caller.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    let s = s.split('%').next().unwrap_or(s);
    let ip: IpAddr = s.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => Some(true),
        "false" | "f" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Str(s.clone())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<u16> for Value {
    fn from(i: u16) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<u64> for Value {
    fn from(i: u64) -> Self {
        Value::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Self {
        Value::Ip(ip)
    }
}

/// JSON output: normalized fields as nested ECS objects (`{"source": {"ip": ...}}`), then
/// `original` (a flat object of source field names) and `raw`.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let tree = self.to_json();
        let serde_json::Value::Object(map) = tree else {
            return s.serialize_map(Some(0))?.end();
        };
        let mut m = s.serialize_map(Some(map.len()))?;
        for (k, v) in &map {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Event {
    /// The event as a JSON tree with nested ECS objects.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value as J};
        let mut root = Map::new();
        root.insert(
            "@timestamp".into(),
            J::String(format_timestamp(self.timestamp)),
        );
        insert_dotted(&mut root, "event.id", J::String(self.id.clone()));
        for (field, value) in self.fields() {
            let j = match value {
                Value::Str(s) => J::String(s.clone()),
                Value::Int(i) => J::from(*i),
                Value::Ip(ip) => J::String(ip.to_string()),
                Value::Bool(b) => J::Bool(*b),
            };
            insert_dotted(&mut root, field.name(), j);
        }
        if !self.original.is_empty() {
            let mut o = Map::new();
            for (k, v) in &self.original {
                o.insert(k.clone(), v.clone());
            }
            root.insert("original".into(), J::Object(o));
        }
        if let Some(raw) = &self.raw {
            root.insert("raw".into(), J::String(raw.clone()));
        }
        J::Object(root)
    }

    /// Rebuild an event from [`Event::to_json`] output (round trip for the index and bundles).
    pub fn from_json(j: &serde_json::Value) -> Option<Event> {
        let obj = j.as_object()?;
        let ts = parse_timestamp(obj.get("@timestamp")?.as_str()?)?;
        let mut ev = Event::new(ts);
        for field in Field::ALL.iter().copied() {
            if matches!(field, Field::Timestamp) {
                continue;
            }
            let mut cur = j;
            let mut found = true;
            for part in field.name().split('.') {
                match cur.get(part) {
                    Some(n) => cur = n,
                    None => {
                        found = false;
                        break;
                    }
                }
            }
            if !found {
                continue;
            }
            let v = match cur {
                serde_json::Value::String(s) => Value::Str(s.clone()),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Value::Int(i),
                    None => continue,
                },
                serde_json::Value::Bool(b) => Value::Bool(*b),
                _ => continue,
            };
            ev.set(field, v);
        }
        if let Some(serde_json::Value::Object(o)) = obj.get("original") {
            ev.original = o.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        ev.raw = obj.get("raw").and_then(|r| r.as_str()).map(str::to_string);
        Some(ev)
    }
}

fn insert_dotted(
    root: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    v: serde_json::Value,
) {
    let mut parts = name.split('.').peekable();
    let mut cur = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_string(), v);
            return;
        }
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if !entry.is_object() {
            // A scalar already sits where an object is needed (never for our field list);
            // keep the scalar rather than lose it.
            return;
        }
        match entry {
            serde_json::Value::Object(m) => cur = m,
            _ => return,
        }
    }
}

/// Control characters, and the bidirectional overrides that can make a terminal show text in
/// an order other than the bytes' (CVE-2021-42574 "Trojan Source").
fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Make untrusted text safe to print on a terminal: control characters (including ESC, so
/// no escape sequence survives), DEL and C1 controls are shown escaped (`\x1b`, `\n`), and the
/// result is cut to `max_chars` characters with an ellipsis.
pub fn sanitize(s: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    let clean = s.chars().all(|c| !is_unsafe_char(c)) && s.chars().nth(max_chars).is_none();
    if clean {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    for (count, c) in s.chars().enumerate() {
        if count >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => {
                use std::fmt::Write;
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// 64-bit FNV-1a, stable across runs and platforms (std's hasher is not).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Event severity, shared by rules, sessions and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (info, low, medium, high, critical)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for f in Field::ALL {
            assert!(seen.insert(f.name()), "duplicate field name {}", f.name());
            assert_eq!(Field::from_name(f.name()), Some(*f));
            assert_eq!(Field::ALL[f.index()], *f);
        }
    }

    #[test]
    fn unknown_field_suggests_the_closest() {
        let err = "source.iq".parse::<Field>().unwrap_err();
        assert_eq!(err.suggestion, Some("source.ip"));
        assert!(err.to_string().contains("did you mean `source.ip`"));
    }

    #[test]
    fn set_coerces_to_the_field_kind() {
        let mut e = Event::new(0);
        e.set(Field::SourcePort, "445");
        e.set(Field::SourceIp, "::ffff:10.0.0.1");
        e.set(Field::LogonType, "0x3");
        e.set(Field::ProcessInteractive, "T");
        e.set(Field::UserName, "-");
        e.set(Field::DestinationIp, "not an ip");
        assert_eq!(e.int(Field::SourcePort), Some(445));
        assert_eq!(e.ip(Field::SourceIp), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(e.int(Field::LogonType), Some(3));
        assert_eq!(e.bool(Field::ProcessInteractive), Some(true));
        assert_eq!(e.str(Field::UserName), None);
        assert_eq!(e.ip(Field::DestinationIp), None);
    }

    #[test]
    fn direction_follows_internal_networks() {
        let n = Networks::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(n.direction(ip("10.0.1.4"), ip("10.0.1.6")), "internal");
        assert_eq!(n.direction(ip("10.0.1.4"), ip("8.8.8.8")), "outbound");
        assert_eq!(n.direction(ip("8.8.8.8"), ip("fd00::1")), "inbound");
        assert_eq!(n.direction(ip("8.8.8.8"), ip("1.1.1.1")), "external");
        assert!(n.contains(ip("fe80::1")));
        assert!(n.contains(ip("169.254.169.254")));
    }

    #[test]
    fn cidr_bounds_and_membership() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.255.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert_eq!(c.bounds().1, "10.1.255.255".parse::<IpAddr>().unwrap());
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn timestamps_parse_exactly() {
        assert_eq!(
            parse_epoch_seconds("1588205199.82437"),
            Some(1_588_205_199_824_370_000)
        );
        assert_eq!(parse_epoch_seconds("1"), Some(1_000_000_000));
        assert_eq!(parse_epoch_seconds("x"), None);
        let t = parse_timestamp("2021-06-16T16:52:13.136834446Z").unwrap();
        assert_eq!(format_timestamp(t), "2021-06-16T16:52:13.136834446Z");
        assert_eq!(
            parse_timestamp("2020-08-06 15:56:04.866"),
            parse_timestamp("2020-08-06T15:56:04.866Z")
        );
        assert_eq!(
            parse_timestamp("2024-05-07T18:54:19.341081180+0000"),
            parse_timestamp("2024-05-07T18:54:19.341081180Z")
        );
    }

    #[test]
    fn json_round_trip_keeps_every_field() {
        let mut e = Event::new(1_588_205_199_824_370_000);
        e.id = "abc-1".into();
        e.set(Field::SourceIp, "10.0.1.4");
        e.set(Field::DestinationPort, 445i64);
        e.set(Field::UserName, "pgustavo");
        e.set(Field::ProcessInteractive, true);
        e.original
            .push(("LogonType".into(), serde_json::json!("3")));
        e.set_raw("raw line");
        let j = e.to_json();
        assert_eq!(j["source"]["ip"], "10.0.1.4");
        assert_eq!(j["destination"]["port"], 445);
        let back = Event::from_json(&j).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn sanitize_escapes_terminal_controls() {
        assert_eq!(sanitize("plain", 10), "plain");
        assert_eq!(sanitize("a\x1b[31mred\x07", 50), "a\\x1b[31mred\\x07");
        assert_eq!(sanitize("l1\nl2", 50), "l1\\nl2");
        assert_eq!(sanitize("\u{9b}2J", 50), "\\x9b2J");
        assert_eq!(sanitize("abcdef", 3), "abc…");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate_str("héllo", 2), "h");
        assert_eq!(truncate_str("abc", 10), "abc");
    }
}

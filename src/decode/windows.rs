//! Windows event normalization shared by the EVTX decoder ([`super::evtx`]) and the JSON
//! decoder ([`super::winjson`]), so a record gives the same normalized event whether it was
//! read from the `.evtx` file or from a winlogbeat / NXLog / OTRF export of it.
//!
//! The decoders first put every field of the record into [`Event::original`]: the
//! `EventData` / `UserData` fields under their own names (`TargetUserName`, `LogonType`,
//! `Image`, `CommandLine`, ... as Sigma rules name them), plus the System fields under the
//! canonical names `Channel`, `EventID`, `Provider_Name` and `Computer` (the Sigma names).
//! [`normalize`] then reads those and fills the normalized fields: `event.module` `windows`,
//! `event.dataset` by channel, `event.code`, `host.name`, and per event id the category,
//! action, outcome, users, addresses, processes, services and paths.
//!
//! Field meanings follow Microsoft's "Advanced security audit policy" event reference
//! (learn.microsoft.com, `windows/security/threat-protection/auditing/event-<id>`), the
//! Sysmon documentation (Sysinternals, "Events" section), and the provider manifests of the
//! TerminalServices, WinRM, PowerShell, WMI-Activity and TaskScheduler channels.

use std::borrow::Cow;

use serde_json::Value as J;

use crate::event::{Event, Field, Nanos, Value, parse_timestamp};

/// A read-only view of the record's fields (what is in [`Event::original`]).
#[derive(Debug, Clone, Copy)]
pub struct Data<'a>(pub &'a [(String, J)]);

impl<'a> Data<'a> {
    /// A field by its exact name.
    pub fn get(self, name: &str) -> Option<&'a J> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A string field, trimmed; `None` when absent, not a string, empty or `-`.
    pub fn str(self, name: &str) -> Option<&'a str> {
        match self.get(name)? {
            J::String(s) => {
                let s = s.trim();
                (!s.is_empty() && s != "-").then_some(s)
            }
            _ => None,
        }
    }

    /// The first of `names` that holds a usable string.
    pub fn str_any(self, names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|n| self.str(n))
    }

    /// A scalar field as a normalized [`Value`], for [`Event::set`] to coerce.
    pub fn value(self, name: &str) -> Option<Value> {
        match self.get(name)? {
            J::String(_) => self.str(name).map(Value::from),
            J::Number(n) => Some(match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Str(n.to_string()),
            }),
            J::Bool(b) => Some(Value::Bool(*b)),
            _ => None,
        }
    }

    /// An integer field, from a JSON number or a decimal / `0x` hex string.
    pub fn int(self, name: &str) -> Option<i64> {
        match self.get(name)? {
            J::Number(n) => n.as_i64(),
            J::String(s) => crate::event::parse_int(s),
            _ => None,
        }
    }
}

/// Which family of channels a record comes from; decides how its event id is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Security` (the audit log).
    Security,
    /// `Microsoft-Windows-Sysmon/Operational`.
    Sysmon,
    /// `System` (Service Control Manager, DCOM, ...).
    System,
    /// `Windows PowerShell` and `Microsoft-Windows-PowerShell/Operational`.
    PowerShell,
    /// `Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational`.
    RdpConnectionManager,
    /// `Microsoft-Windows-TerminalServices-LocalSessionManager/Operational`.
    RdpSessionManager,
    /// `Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational`.
    RdpCore,
    /// Any other TerminalServices / RemoteDesktopServices channel.
    RdpOther,
    /// `Microsoft-Windows-WinRM/Operational`.
    WinRm,
    /// `Microsoft-Windows-WMI-Activity/Operational`.
    Wmi,
    /// `Microsoft-Windows-TaskScheduler/Operational`.
    TaskScheduler,
    /// Anything else.
    Other,
}

/// ASCII case-insensitive substring test; `needle` must be lowercase.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty()
        && hay.len() >= n.len()
        && hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

/// Classify a channel name (exports differ in case: OTRF has both `Security` and `security`).
pub fn classify(channel: &str) -> Kind {
    if channel.eq_ignore_ascii_case("Security") {
        Kind::Security
    } else if channel.eq_ignore_ascii_case("System") {
        Kind::System
    } else if contains_ci(channel, "sysmon") {
        Kind::Sysmon
    } else if contains_ci(channel, "powershell") {
        Kind::PowerShell
    } else if contains_ci(channel, "terminalservices-remoteconnectionmanager") {
        Kind::RdpConnectionManager
    } else if contains_ci(channel, "terminalservices-localsessionmanager") {
        Kind::RdpSessionManager
    } else if contains_ci(channel, "rdpcorets") {
        Kind::RdpCore
    } else if contains_ci(channel, "terminalservices-")
        || contains_ci(channel, "remotedesktopservices-")
    {
        Kind::RdpOther
    } else if contains_ci(channel, "winrm") {
        Kind::WinRm
    } else if contains_ci(channel, "wmi-activity") {
        Kind::Wmi
    } else if contains_ci(channel, "taskscheduler") {
        Kind::TaskScheduler
    } else {
        Kind::Other
    }
}

/// `event.dataset` for a channel: a fixed name for the channels lateral movement hunting
/// reads, else `windows.<channel>` lowercased with `Microsoft-Windows-` dropped and every run
/// of other characters turned into one `_` (`Microsoft-Windows-Bits-Client/Operational` →
/// `windows.bits_client_operational`).
pub fn dataset(kind: Kind, channel: &str) -> Cow<'static, str> {
    Cow::Borrowed(match kind {
        Kind::Security => "windows.security",
        Kind::Sysmon => "windows.sysmon",
        Kind::System => "windows.system",
        Kind::PowerShell => "windows.powershell",
        Kind::RdpConnectionManager | Kind::RdpSessionManager | Kind::RdpCore | Kind::RdpOther => {
            "windows.rdp"
        }
        Kind::WinRm => "windows.winrm",
        Kind::Wmi => "windows.wmi",
        Kind::TaskScheduler => "windows.taskscheduler",
        Kind::Other => return Cow::Owned(sanitized_dataset(channel)),
    })
}

fn sanitized_dataset(channel: &str) -> String {
    let mut rest = channel.trim();
    let prefix = "microsoft-windows-";
    if rest
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    {
        rest = rest.get(prefix.len()..).unwrap_or(rest);
    }
    let mut out = String::with_capacity(8 + rest.len());
    out.push_str("windows.");
    let start = out.len();
    for c in rest.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if out.len() > start && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.len() == start {
        out.push_str("unknown");
    }
    out
}

/// The event id of a record: a number, a numeric string, or the EVTX rendering of an
/// `EventID` element with a `Qualifiers` attribute (`{"#attributes": ..., "#text": 7045}`).
pub fn event_id_of(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64(),
        J::String(s) => s.trim().parse().ok(),
        J::Object(m) => m.get("#text").and_then(event_id_of),
        _ => None,
    }
}

/// Sysmon's own `UtcTime`: when the process started, the connection was made or the file was
/// created, in true UTC with milliseconds. Sysmon writes some records seconds after the fact
/// (network connections are batched), and collectors stamp `@timestamp` when they receive a
/// record, so `UtcTime` is the time that lines Sysmon up with the other sources. Only for
/// Sysmon records: other providers do not define the field.
pub fn sysmon_time(d: Data<'_>) -> Option<Nanos> {
    let channel = d.str("Channel")?;
    if classify(channel) != Kind::Sysmon {
        return None;
    }
    parse_time(d.str("UtcTime")?)
}

/// Parse the timestamps Windows sources write, fast: `2019-06-15T07:13:42.2941098Z`
/// (EVTX SystemTime, `@timestamp`) and `2019-06-15 07:13:42.278` (Sysmon UtcTime, zone-less
/// UTC). Anything else goes to the general [`parse_timestamp`].
pub fn parse_time(s: &str) -> Option<Nanos> {
    fast_time(s.trim()).or_else(|| parse_timestamp(s))
}

fn fast_time(s: &str) -> Option<Nanos> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    if b.len() < 19
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 2)?, num(8, 2)?)?;
    let mut rest = b.get(19..)?;
    let mut nanos = 0u32;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, d) in frac.iter().take(digits).enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
        }
        for _ in digits..9 {
            nanos *= 10;
        }
        rest = frac.get(digits..)?;
    }
    // `Z` or nothing (UTC); an offset goes to the general parser.
    if !matches!(rest, b"" | b"Z" | b"z") {
        return None;
    }
    let dt = date.and_hms_nano_opt(num(11, 2)?, num(14, 2)?, num(17, 2)?, nanos)?;
    dt.and_utc().timestamp_nanos_opt()
}

/// Fill the normalized fields of `ev` from its original fields (see the module doc).
/// `@timestamp`, `event.id` and `log.*` are the decoder's job.
pub fn normalize(ev: &mut Event) {
    // Read the originals while writing the normalized fields: move them out and back.
    let original = std::mem::take(&mut ev.original);
    let d = Data(&original);
    normalize_from(ev, d);
    ev.original = original;
}

fn normalize_from(ev: &mut Event, d: Data<'_>) {
    let channel = d.str("Channel").unwrap_or("");
    let kind = classify(channel);
    ev.set(Field::EventModule, "windows");
    let ds = if channel.is_empty() {
        // No channel (a stripped-down export): name the dataset after the provider.
        Cow::Owned(sanitized_dataset(d.str("Provider_Name").unwrap_or("")))
    } else {
        dataset(kind, channel)
    };
    ev.set(Field::EventDataset, ds.into_owned());
    let id = d.get("EventID").and_then(event_id_of);
    if let Some(id) = id {
        ev.set(Field::EventCode, id);
    }
    if let Some(host) = d.str("Computer") {
        ev.set(Field::HostName, host);
    }
    if let Some(id) = id {
        match kind {
            Kind::Security => security(ev, d, id),
            Kind::Sysmon => sysmon(ev, d, id),
            Kind::System => system(ev, d, id),
            Kind::PowerShell => powershell(ev, d, id),
            Kind::RdpConnectionManager | Kind::RdpSessionManager | Kind::RdpCore => {
                rdp(ev, d, kind, id)
            }
            Kind::WinRm => winrm(ev, d, id),
            Kind::Wmi => wmi(ev, d, id),
            Kind::TaskScheduler => task_scheduler(ev, d, id),
            Kind::RdpOther | Kind::Other => {}
        }
    }
    if kind == Kind::Security
        && ev.value(Field::EventOutcome).is_none()
        && let Some(outcome) = audit_outcome(d)
    {
        ev.set(Field::EventOutcome, outcome);
    }
    // The rendered message of JSON exports (NXLog `Message`, winlogbeat `message`); EVTX
    // files carry no rendered text.
    if ev.value(Field::Message).is_none()
        && let Some(m) = d.str_any(&["Message", "message"])
    {
        ev.set(Field::Message, m);
    }
}

// ---------------------------------------------------------------------------------------
// Small setters. `Event::set` already drops "" and "-" and values that do not convert.

fn put(ev: &mut Event, field: Field, d: Data<'_>, name: &str) {
    if let Some(v) = d.value(name) {
        ev.set(field, v);
    }
}

/// A process id; `0` / `0x0` is Windows' "no process" (network logons).
fn put_pid(ev: &mut Event, field: Field, d: Data<'_>, names: &[&str]) {
    if let Some(pid) = names.iter().find_map(|n| d.int(n)).filter(|p| *p > 0) {
        ev.set(field, pid);
    }
}

/// A SID; `S-1-0-0` (the NULL SID) is what Windows writes when there is no account.
fn put_sid(ev: &mut Event, d: Data<'_>, name: &str) {
    if let Some(sid) = d.str(name).filter(|s| *s != "S-1-0-0") {
        ev.set(Field::UserId, sid);
    }
}

fn put_any(ev: &mut Event, field: Field, d: Data<'_>, names: &[&str]) {
    if let Some(v) = names.iter().find_map(|n| d.value(n)) {
        ev.set(field, v);
    }
}

fn act(ev: &mut Event, category: &str, action: &str) {
    ev.set(Field::EventCategory, category);
    ev.set(Field::EventAction, action);
}

/// An address field. Windows writes `-` when there is none and `::` / `0.0.0.0` for "no
/// address" in some events, and `LOCAL` for console sessions: those are not addresses.
/// Loopback (`::1`, `127.0.0.1`) is kept: it says the logon came from the machine itself.
/// `::ffff:a.b.c.d` (Kerberos events) is unmapped by [`Event::set`].
fn put_ip_str(ev: &mut Event, field: Field, raw: &str) {
    let s = raw.trim();
    if matches!(s, "" | "-" | "::" | "0.0.0.0") {
        return;
    }
    ev.set(field, s);
}

fn put_ip(ev: &mut Event, field: Field, d: Data<'_>, name: &str) {
    if let Some(s) = d.str(name) {
        put_ip_str(ev, field, s);
    }
}

/// A port field; `0` is Windows' "no port".
fn put_port(ev: &mut Event, field: Field, d: Data<'_>, name: &str) {
    if let Some(p) = d.int(name).filter(|p| *p > 0) {
        ev.set(field, p);
    }
}

/// `DOMAIN\user` or `user@domain` into `user.name` / `user.domain`.
fn put_account(ev: &mut Event, account: &str) {
    let a = account.trim();
    if let Some((domain, user)) = a.split_once('\\') {
        ev.set(Field::UserDomain, domain);
        ev.set(Field::UserName, user);
    } else if let Some((user, domain)) = a.split_once('@') {
        ev.set(Field::UserName, user);
        ev.set(Field::UserDomain, domain);
    } else {
        ev.set(Field::UserName, a);
    }
}

/// The subject of a Security event: the account that did it and its logon session.
fn subject(ev: &mut Event, d: Data<'_>) {
    put(ev, Field::UserName, d, "SubjectUserName");
    put(ev, Field::UserDomain, d, "SubjectDomainName");
    put_sid(ev, d, "SubjectUserSid");
    put(ev, Field::LogonId, d, "SubjectLogonId");
}

/// The account a logon / logoff event is about.
fn target_account(ev: &mut Event, d: Data<'_>) {
    put(ev, Field::UserName, d, "TargetUserName");
    put(ev, Field::UserDomain, d, "TargetDomainName");
    put_sid(ev, d, "TargetUserSid");
    put(ev, Field::LogonId, d, "TargetLogonId");
}

/// The process that asked for it (`ProcessName` / `ProcessId` in Security events).
fn caller_process(ev: &mut Event, d: Data<'_>) {
    put(ev, Field::ProcessExecutable, d, "ProcessName");
    put_pid(ev, Field::ProcessPid, d, &["ProcessId"]);
}

/// Logon types 2 (interactive), 10 (remote interactive, RDP) and 11 (cached interactive)
/// give the user a desktop; the others (network, batch, service, ...) do not.
fn logon_interactive(ev: &mut Event) {
    if let Some(t) = ev.int(Field::LogonType) {
        ev.set(Field::ProcessInteractive, matches!(t, 2 | 10 | 11));
    }
}

/// Kerberos / NTLM result codes: `0x0` is success, anything else a failure code.
fn status_outcome(ev: &mut Event, d: Data<'_>, name: &str) {
    if let Some(status) = d.int(name) {
        ev.set(
            Field::EventOutcome,
            if status == 0 { "success" } else { "failure" },
        );
    }
}

/// Audit success / failure from the record's keywords: bit 53 (`0x0020000000000000`) is
/// "Audit Success", bit 52 (`0x0010000000000000`) "Audit Failure". Exports write the mask as
/// hex text, as a signed 64-bit number (NXLog), or as words (winlogbeat, NXLog `EventType`).
fn audit_outcome(d: Data<'_>) -> Option<&'static str> {
    const SUCCESS: u64 = 0x0020_0000_0000_0000;
    const FAILURE: u64 = 0x0010_0000_0000_0000;
    let bits = match d.get("Keywords") {
        Some(J::Number(n)) => n.as_u64().or_else(|| n.as_i64().map(|i| i as u64)),
        Some(J::String(s)) => {
            let s = s.trim();
            s.strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .and_then(|h| u64::from_str_radix(h, 16).ok())
        }
        _ => None,
    };
    if let Some(bits) = bits {
        if bits & FAILURE != 0 {
            return Some("failure");
        }
        if bits & SUCCESS != 0 {
            return Some("success");
        }
    }
    let words = d
        .str("EventType")
        .or_else(|| match d.get("winlog.keywords") {
            Some(J::Array(a)) => a.iter().find_map(J::as_str),
            _ => None,
        })?;
    if contains_ci(words, "failure") {
        Some("failure")
    } else if contains_ci(words, "success") {
        Some("success")
    } else {
        None
    }
}

/// The executable of a service image path or command line: the quoted part, else up to and
/// including the first `.exe`, else the first word (`%COMSPEC% /c ...`).
fn executable_of(cmd: &str) -> &str {
    let c = cmd.trim();
    if let Some(rest) = c.strip_prefix('"') {
        return rest.split('"').next().unwrap_or(rest);
    }
    if let Some(p) = c
        .as_bytes()
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b".exe"))
        && let Some(exe) = c.get(..p + 4)
    {
        return exe;
    }
    c.split_whitespace().next().unwrap_or(c)
}

/// A service's image path: the whole as the command line, its executable as the executable.
fn put_image_path(ev: &mut Event, path: &str) {
    ev.set(Field::ProcessExecutable, executable_of(path));
    ev.set(Field::ProcessCommandLine, path.trim());
}

/// The text of the first `<tag>...</tag>` in a small XML document, entities decoded.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let rest = xml.get(start..)?;
    let end = rest.find(&close)?;
    let raw = rest.get(..end)?.trim();
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// The value of a `key = value` or `key=value` line in a block of text (PowerShell's
/// `ContextInfo`, the engine state text of classic PowerShell events).
fn line_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let v = line
            .trim()
            .strip_prefix(key)?
            .trim_start()
            .strip_prefix('=')?;
        let v = v.trim();
        (!v.is_empty()).then_some(v)
    })
}

/// `ip:port`, `[v6]:port` or a bare address.
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[')
        && let Some((ip, port)) = rest.split_once("]:")
    {
        return (ip, Some(port));
    }
    match s.rsplit_once(':') {
        // One colon: IPv4 (or a name) with a port. More: a bare IPv6 address.
        Some((ip, port)) if !ip.contains(':') => (ip, Some(port)),
        _ => (s, None),
    }
}

// ---------------------------------------------------------------------------------------
// Security

fn security(ev: &mut Event, d: Data<'_>, id: i64) {
    match id {
        4624 | 4625 => {
            if id == 4624 {
                act(ev, "authentication", "logged-in");
                ev.set(Field::EventOutcome, "success");
            } else {
                act(ev, "authentication", "logon-failed");
                ev.set(Field::EventOutcome, "failure");
            }
            target_account(ev, d);
            put(ev, Field::LogonType, d, "LogonType");
            put_ip(ev, Field::SourceIp, d, "IpAddress");
            put_port(ev, Field::SourcePort, d, "IpPort");
            put(ev, Field::SourceDomain, d, "WorkstationName");
            put(ev, Field::AuthPackage, d, "AuthenticationPackageName");
            caller_process(ev, d);
            logon_interactive(ev);
        }
        4634 | 4647 => {
            act(ev, "authentication", "logged-out");
            ev.set(Field::EventOutcome, "success");
            target_account(ev, d);
            put(ev, Field::LogonType, d, "LogonType");
            logon_interactive(ev);
        }
        4648 => {
            // "A logon was attempted using explicit credentials": the subject used the
            // target account's credentials against TargetServerName; the network address
            // is that of the server (Microsoft's 4648 reference, "Network Address").
            act(ev, "authentication", "logged-in-explicit");
            subject(ev, d);
            put(ev, Field::UserTargetName, d, "TargetUserName");
            put(ev, Field::DestinationDomain, d, "TargetServerName");
            put_ip(ev, Field::DestinationIp, d, "IpAddress");
            put_port(ev, Field::DestinationPort, d, "IpPort");
            caller_process(ev, d);
        }
        4672 => {
            act(ev, "iam", "logged-in-special");
            subject(ev, d);
        }
        4688 => {
            act(ev, "process", "created-process");
            subject(ev, d);
            // Since Windows 10 the "Target Subject" names the account the new process runs
            // as when it differs from the creator's (a service starting a process for a
            // remote user, runas): that account and its logon session are the ones Sysmon 1
            // reports and the ones that tie the process to a network logon.
            if d.str("TargetUserName").is_some() && d.int("TargetLogonId").is_some_and(|id| id != 0)
            {
                target_account(ev, d);
            }
            put(ev, Field::ProcessExecutable, d, "NewProcessName");
            put_pid(ev, Field::ProcessPid, d, &["NewProcessId"]);
            put(ev, Field::ProcessCommandLine, d, "CommandLine");
            put(ev, Field::ProcessParentExecutable, d, "ParentProcessName");
            // ProcessId is the creator process, i.e. the parent.
            put_pid(ev, Field::ProcessParentPid, d, &["ProcessId"]);
        }
        4689 => {
            act(ev, "process", "terminated-process");
            subject(ev, d);
            caller_process(ev, d);
        }
        4697 => {
            act(ev, "configuration", "service-installed");
            subject(ev, d);
            put(ev, Field::ServiceName, d, "ServiceName");
            if let Some(p) = d.str("ServiceFileName") {
                put_image_path(ev, p);
            }
        }
        4698..=4702 => {
            let action = match id {
                4698 => "scheduled-task-created",
                4699 => "scheduled-task-deleted",
                4700 => "scheduled-task-enabled",
                4701 => "scheduled-task-disabled",
                _ => "scheduled-task-updated",
            };
            act(ev, "configuration", action);
            subject(ev, d);
            // A scheduled task is named like a service is: what runs, under which name.
            put(ev, Field::ServiceName, d, "TaskName");
            if let Some(xml) = d.str("TaskContent") {
                task_command(ev, xml);
            }
        }
        4720 | 4722 | 4724 | 4725 | 4726 | 4738 => {
            let action = match id {
                4720 => "added-user-account",
                4722 => "enabled-user-account",
                4724 => "reset-password",
                4725 => "disabled-user-account",
                4726 => "deleted-user-account",
                _ => "modified-user-account",
            };
            act(ev, "iam", action);
            subject(ev, d);
            put(ev, Field::UserTargetName, d, "TargetUserName");
        }
        4728 | 4732 | 4756 | 4729 | 4733 | 4757 => {
            // Group membership: TargetUserName is the group, MemberName the member's
            // distinguished name (`-` for local accounts, which only have MemberSid).
            let added = matches!(id, 4728 | 4732 | 4756);
            act(
                ev,
                "iam",
                if added {
                    "added-member-to-group"
                } else {
                    "removed-member-from-group"
                },
            );
            subject(ev, d);
            put(ev, Field::GroupName, d, "TargetUserName");
            put_any(ev, Field::UserTargetName, d, &["MemberName", "MemberSid"]);
        }
        4798 => {
            act(ev, "iam", "user-member-enumerated");
            subject(ev, d);
            put(ev, Field::UserTargetName, d, "TargetUserName");
            put(ev, Field::ProcessExecutable, d, "CallerProcessName");
            put(ev, Field::ProcessPid, d, "CallerProcessId");
        }
        4799 => {
            act(ev, "iam", "group-membership-enumerated");
            subject(ev, d);
            put(ev, Field::GroupName, d, "TargetUserName");
            put(ev, Field::ProcessExecutable, d, "CallerProcessName");
            put(ev, Field::ProcessPid, d, "CallerProcessId");
        }
        4768..=4771 => {
            let action = match id {
                4768 => "kerberos-authentication-ticket-requested",
                4769 => "kerberos-service-ticket-requested",
                4770 => "kerberos-service-ticket-renewed",
                _ => "kerberos-preauth-failed",
            };
            act(ev, "authentication", action);
            // 4769 names the client as `user@REALM`.
            if let Some(u) = d.str("TargetUserName") {
                put_account(ev, u);
            }
            put(ev, Field::UserDomain, d, "TargetDomainName");
            put_sid(ev, d, "TargetSid");
            put(ev, Field::ServiceName, d, "ServiceName");
            put_ip(ev, Field::SourceIp, d, "IpAddress");
            put_port(ev, Field::SourcePort, d, "IpPort");
            ev.set(Field::AuthPackage, "Kerberos");
            ev.set(Field::NetworkProtocol, "kerberos");
            status_outcome(ev, d, "Status");
        }
        4776 => {
            act(ev, "authentication", "credential-validated");
            put(ev, Field::UserName, d, "TargetUserName");
            put(ev, Field::SourceDomain, d, "Workstation");
            ev.set(Field::AuthPackage, "NTLM");
            status_outcome(ev, d, "Status");
        }
        4778 | 4779 => {
            // Session reconnected / disconnected (RDP and fast user switching).
            act(
                ev,
                "session",
                if id == 4778 {
                    "session-reconnected"
                } else {
                    "session-disconnected"
                },
            );
            ev.set(Field::EventOutcome, "success");
            put(ev, Field::UserName, d, "AccountName");
            put(ev, Field::UserDomain, d, "AccountDomain");
            put(ev, Field::LogonId, d, "LogonID");
            put(ev, Field::SourceDomain, d, "ClientName");
            put_ip(ev, Field::SourceIp, d, "ClientAddress");
            if d.str("SessionName").is_some_and(|s| {
                s.len() >= 3 && s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("rdp"))
            }) {
                ev.set(Field::NetworkProtocol, "rdp");
            }
        }
        5140 | 5145 => {
            act(
                ev,
                "file",
                if id == 5140 {
                    "network-share-object-accessed"
                } else {
                    "network-share-object-access-checked"
                },
            );
            subject(ev, d);
            put_ip(ev, Field::SourceIp, d, "IpAddress");
            put_port(ev, Field::SourcePort, d, "IpPort");
            ev.set(Field::NetworkProtocol, "smb");
            share_path(ev, d);
        }
        5142..=5144 => {
            let action = match id {
                5142 => "network-share-added",
                5143 => "network-share-modified",
                _ => "network-share-deleted",
            };
            act(ev, "configuration", action);
            subject(ev, d);
            put_any(ev, Field::FilePath, d, &["ShareName", "ShareLocalPath"]);
        }
        5158 | 5159 => {
            // A bind to a local port permitted / blocked: only the local side is known.
            act(
                ev,
                "network",
                if id == 5158 {
                    "port-bind-allowed"
                } else {
                    "port-bind-blocked"
                },
            );
            ev.set(
                Field::EventOutcome,
                if id == 5158 { "success" } else { "failure" },
            );
            put(ev, Field::ProcessExecutable, d, "Application");
            put_pid(ev, Field::ProcessPid, d, &["ProcessId", "ProcessID"]);
            put_ip(ev, Field::SourceIp, d, "SourceAddress");
            put_port(ev, Field::SourcePort, d, "SourcePort");
            if let Some(p) = d.int("Protocol") {
                ev.set(Field::NetworkTransport, iana_protocol(p));
            }
        }
        5156 | 5157 => {
            // Windows Filtering Platform: Source is the side that initiated (for inbound
            // connections the remote client), whatever the Direction.
            act(
                ev,
                "network",
                if id == 5156 {
                    "connection-allowed"
                } else {
                    "connection-blocked"
                },
            );
            ev.set(
                Field::EventOutcome,
                if id == 5156 { "success" } else { "failure" },
            );
            put(ev, Field::ProcessExecutable, d, "Application");
            put_pid(ev, Field::ProcessPid, d, &["ProcessID", "ProcessId"]);
            put_ip(ev, Field::SourceIp, d, "SourceAddress");
            put_port(ev, Field::SourcePort, d, "SourcePort");
            put_ip(ev, Field::DestinationIp, d, "DestAddress");
            put_port(ev, Field::DestinationPort, d, "DestPort");
            if let Some(p) = d.int("Protocol") {
                ev.set(Field::NetworkTransport, iana_protocol(p));
            }
        }
        1102 => {
            act(ev, "configuration", "audit-log-cleared");
            subject(ev, d);
        }
        _ => {
            // Other audit events (object access, privilege use, ...) still say who and which
            // process; events about a logon session (4627, ...) have no subject but a target.
            subject(ev, d);
            if ev.value(Field::UserName).is_none() {
                target_account(ev, d);
            }
            caller_process(ev, d);
        }
    }
}

/// `\\*\C$` + `Windows\Temp\x.exe` → `\\*\C$\Windows\Temp\x.exe`.
fn share_path(ev: &mut Event, d: Data<'_>) {
    match (d.str("ShareName"), d.str("RelativeTargetName")) {
        (Some(share), Some(rel)) => {
            let sep = if share.ends_with('\\') || rel.starts_with('\\') {
                ""
            } else {
                "\\"
            };
            ev.set(Field::FilePath, format!("{share}{sep}{rel}"));
        }
        (Some(share), None) => ev.set(Field::FilePath, share),
        (None, Some(rel)) => ev.set(Field::FilePath, rel),
        (None, None) => {}
    }
}

/// The command of a task's first `Exec` action, from the task XML of 4698 / 4702.
fn task_command(ev: &mut Event, xml: &str) {
    let Some(command) = xml_text(xml, "Command") else {
        return;
    };
    let cmdline = match xml_text(xml, "Arguments") {
        Some(args) if !args.is_empty() => format!("{command} {args}"),
        _ => command.clone(),
    };
    ev.set(Field::ProcessExecutable, command);
    ev.set(Field::ProcessCommandLine, cmdline);
}

fn iana_protocol(p: i64) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "ipv6-icmp".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Sysmon

fn sysmon(ev: &mut Event, d: Data<'_>, id: i64) {
    // Fields most Sysmon events share: the process that did it and its account.
    put(ev, Field::ProcessExecutable, d, "Image");
    put(ev, Field::ProcessPid, d, "ProcessId");
    put(ev, Field::ProcessEntityId, d, "ProcessGuid");
    if let Some(u) = d.str("User") {
        put_account(ev, u);
    }
    // The Sysmon configuration rule that matched.
    put(ev, Field::RuleName, d, "RuleName");
    match id {
        1 => {
            act(ev, "process", "created-process");
            put(ev, Field::ProcessCommandLine, d, "CommandLine");
            put(ev, Field::ProcessParentExecutable, d, "ParentImage");
            put(ev, Field::ProcessParentPid, d, "ParentProcessId");
            put(ev, Field::ProcessParentEntityId, d, "ParentProcessGuid");
            put(ev, Field::LogonId, d, "LogonId");
        }
        2 => file_event(ev, d, "file-creation-time-changed", "TargetFilename"),
        3 => {
            act(ev, "network", "network-connection");
            put_ip(ev, Field::SourceIp, d, "SourceIp");
            put_port(ev, Field::SourcePort, d, "SourcePort");
            put(ev, Field::SourceDomain, d, "SourceHostname");
            put_ip(ev, Field::DestinationIp, d, "DestinationIp");
            put_port(ev, Field::DestinationPort, d, "DestinationPort");
            put(ev, Field::DestinationDomain, d, "DestinationHostname");
            if let Some(p) = d.str("Protocol") {
                ev.set(Field::NetworkTransport, p.to_ascii_lowercase());
            }
        }
        5 => act(ev, "process", "terminated-process"),
        6 => file_event(ev, d, "driver-loaded", "ImageLoaded"),
        7 => file_event(ev, d, "image-loaded", "ImageLoaded"),
        8 | 10 => {
            // CreateRemoteThread / ProcessAccess: the actor is the source process; the
            // target (TargetImage, GrantedAccess) stays in the originals.
            act(
                ev,
                "process",
                if id == 8 {
                    "remote-thread-created"
                } else {
                    "process-accessed"
                },
            );
            put(ev, Field::ProcessExecutable, d, "SourceImage");
            put(ev, Field::ProcessPid, d, "SourceProcessId");
            put_any(
                ev,
                Field::ProcessEntityId,
                d,
                &["SourceProcessGuid", "SourceProcessGUID"],
            );
            if let Some(u) = d.str("SourceUser") {
                put_account(ev, u);
            }
        }
        9 => file_event(ev, d, "raw-access-read", "Device"),
        11 => file_event(ev, d, "file-created", "TargetFilename"),
        12..=14 => {
            let action = match (id, d.str("EventType")) {
                (12, Some("CreateKey")) => "registry-key-created",
                (12, Some("DeleteKey")) => "registry-key-deleted",
                (12, Some("DeleteValue")) => "registry-value-deleted",
                (12, _) => "registry-object-added-or-deleted",
                (13, _) => "registry-value-set",
                _ => "registry-key-renamed",
            };
            file_event(ev, d, action, "TargetObject");
            ev.set(Field::EventCategory, "registry");
        }
        15 => file_event(ev, d, "file-stream-created", "TargetFilename"),
        17 => file_event(ev, d, "pipe-created", "PipeName"),
        18 => file_event(ev, d, "pipe-connected", "PipeName"),
        19..=21 => {
            let action = match id {
                19 => "wmi-filter-registered",
                20 => "wmi-consumer-registered",
                _ => "wmi-binding-registered",
            };
            act(ev, "configuration", action);
        }
        22 => {
            act(ev, "network", "dns-query");
            put(ev, Field::DnsQuestionName, d, "QueryName");
            ev.set(Field::NetworkProtocol, "dns");
            status_outcome(ev, d, "QueryStatus");
        }
        23 => file_event(ev, d, "file-deleted", "TargetFilename"),
        24 => act(ev, "process", "clipboard-changed"),
        25 => act(ev, "process", "process-tampered"),
        26 => file_event(ev, d, "file-delete-detected", "TargetFilename"),
        27 => file_event(ev, d, "file-block-executable", "TargetFilename"),
        28 => file_event(ev, d, "file-block-shredding", "TargetFilename"),
        29 => file_event(ev, d, "file-executable-detected", "TargetFilename"),
        _ => {}
    }
}

fn file_event(ev: &mut Event, d: Data<'_>, action: &str, path_field: &str) {
    act(ev, "file", action);
    put(ev, Field::FilePath, d, path_field);
}

// ---------------------------------------------------------------------------------------
// System

fn system(ev: &mut Event, d: Data<'_>, id: i64) {
    match id {
        7045 => {
            // Service Control Manager "A service was installed in the system". The record's
            // Security UserID is the account that installed it; AccountName is the account
            // the service runs as (kept as original).
            act(ev, "configuration", "service-installed");
            put(ev, Field::ServiceName, d, "ServiceName");
            if let Some(p) = d.str("ImagePath") {
                put_image_path(ev, p);
            }
            put(ev, Field::UserId, d, "UserID");
        }
        7036 | 7040 => {
            act(
                ev,
                "configuration",
                if id == 7036 {
                    "service-state-changed"
                } else {
                    "service-start-type-changed"
                },
            );
            put(ev, Field::ServiceName, d, "param1");
        }
        104 => {
            act(ev, "configuration", "audit-log-cleared");
            put(ev, Field::UserName, d, "SubjectUserName");
            put(ev, Field::UserDomain, d, "SubjectDomainName");
        }
        10016 => {
            // DistributedCOM: "The application-specific permission settings do not grant
            // <param2> <param3> permission for the COM Server application with CLSID
            // <param4> ... to the user <param6>\<param7> SID (<param8>) from address
            // <param9>": a refused (often remote) DCOM activation.
            act(ev, "authentication", "dcom-permission-denied");
            ev.set(Field::EventOutcome, "failure");
            put(ev, Field::UserDomain, d, "param6");
            put(ev, Field::UserName, d, "param7");
            put(ev, Field::UserId, d, "param8");
            put_ip(ev, Field::SourceIp, d, "param9");
        }
        10028 => {
            // DistributedCOM: "DCOM was unable to communicate with the computer <param1>
            // using any of the configured protocols; requested by PID <param2> (<param3>)".
            act(ev, "network", "dcom-connection-failed");
            ev.set(Field::EventOutcome, "failure");
            if let Some(target) = d.str("param1") {
                if target.parse::<std::net::IpAddr>().is_ok() {
                    put_ip_str(ev, Field::DestinationIp, target);
                } else {
                    ev.set(Field::DestinationDomain, target);
                }
            }
            // The PID is hexadecimal without a prefix, padded with spaces.
            if let Some(pid) = d
                .str("param2")
                .and_then(|p| i64::from_str_radix(p.trim(), 16).ok())
            {
                ev.set(Field::ProcessPid, pid);
            }
            put(ev, Field::ProcessExecutable, d, "param3");
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// PowerShell

fn powershell(ev: &mut Event, d: Data<'_>, id: i64) {
    match id {
        4103 => {
            // Module logging: Payload is what ran, ContextInfo says by whom and in which host
            // (`Host Application = C:\windows\system32\wsmprovhost.exe -Embedding` for
            // PowerShell remoting).
            act(ev, "process", "pipeline-executed");
            put(ev, Field::Message, d, "Payload");
            if let Some(ctx) = d.str("ContextInfo") {
                if let Some(u) = line_value(ctx, "User") {
                    put_account(ev, u);
                }
                if let Some(h) = line_value(ctx, "Host Application") {
                    ev.set(Field::ProcessCommandLine, h);
                    ev.set(Field::ProcessExecutable, executable_of(h));
                }
            }
            put(ev, Field::UserId, d, "UserID");
        }
        4104 => {
            act(ev, "process", "script-block-logged");
            put(ev, Field::Message, d, "ScriptBlockText");
            put(ev, Field::FilePath, d, "Path");
            put(ev, Field::UserId, d, "UserID");
        }
        400 | 403 | 600 | 800 => {
            // Classic "Windows PowerShell" log: the engine state text (third unnamed data
            // item, or the rendered message of exports) has `HostApplication=...`.
            let action = match id {
                400 => "engine-started",
                403 => "engine-stopped",
                600 => "provider-started",
                _ => "pipeline-executed",
            };
            act(ev, "process", action);
            let text = d.str_any(&["param3", "Message", "message"]);
            if let Some(h) = text.and_then(|t| line_value(t, "HostApplication")) {
                ev.set(Field::ProcessCommandLine, h);
                ev.set(Field::ProcessExecutable, executable_of(h));
            }
            if let Some(u) = d
                .str_any(&["param2", "Message", "message"])
                .and_then(|t| line_value(t, "UserId"))
            {
                put_account(ev, u);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Remote Desktop

fn rdp(ev: &mut Event, d: Data<'_>, kind: Kind, id: i64) {
    match (kind, id) {
        (Kind::RdpConnectionManager, 1149) => {
            // "Remote Desktop Services: User authentication succeeded": Param1 user,
            // Param2 domain, Param3 source network address.
            act(ev, "authentication", "rdp-user-authenticated");
            ev.set(Field::EventOutcome, "success");
            ev.set(Field::NetworkProtocol, "rdp");
            put(ev, Field::UserName, d, "Param1");
            put(ev, Field::UserDomain, d, "Param2");
            put_ip(ev, Field::SourceIp, d, "Param3");
        }
        (Kind::RdpSessionManager, 21..=25 | 39 | 40) => {
            // LocalSessionManager: User is DOMAIN\user, Address the client address or
            // `LOCAL` for the console.
            let action = match id {
                21 => "session-logon",
                22 => "shell-started",
                23 => "session-logoff",
                24 => "session-disconnected",
                25 => "session-reconnected",
                39 => "session-disconnected-by-session",
                _ => "session-disconnected-reason",
            };
            act(ev, "session", action);
            ev.set(Field::EventOutcome, "success");
            if let Some(u) = d.str("User") {
                put_account(ev, u);
            }
            put_ip(ev, Field::SourceIp, d, "Address");
            if ev.value(Field::SourceIp).is_some() {
                ev.set(Field::NetworkProtocol, "rdp");
            }
        }
        (Kind::RdpCore, 131) => {
            // "The server accepted a new TCP connection from client <ip>:<port>".
            act(ev, "network", "rdp-connection-accepted");
            ev.set(Field::EventOutcome, "success");
            ev.set(Field::NetworkProtocol, "rdp");
            if let Some(client) = d.str("ClientIP") {
                let (ip, port) = split_host_port(client);
                put_ip_str(ev, Field::SourceIp, ip);
                if let Some(p) = port.and_then(|p| p.parse::<i64>().ok()).filter(|p| *p > 0) {
                    ev.set(Field::SourcePort, p);
                }
            }
        }
        (Kind::RdpCore, 140) => {
            // "A connection from the client computer with an IP address of <IPString>
            // failed because the user name or password is not correct."
            act(ev, "authentication", "rdp-logon-failed");
            ev.set(Field::EventOutcome, "failure");
            ev.set(Field::NetworkProtocol, "rdp");
            put_ip(ev, Field::SourceIp, d, "IPString");
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// WinRM

fn winrm(ev: &mut Event, d: Data<'_>, id: i64) {
    match id {
        6 => {
            // Client side: "Creating WSMan Session. The connection string is:
            // <host>/wsman?PSVersion=...".
            act(ev, "network", "wsman-session-created");
            if let Some(conn) = d.str("connection") {
                let host = conn
                    .trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .split(['/', '?'])
                    .next()
                    .unwrap_or(conn);
                let (host, port) = split_host_port(host);
                if host.parse::<std::net::IpAddr>().is_ok() {
                    put_ip_str(ev, Field::DestinationIp, host);
                } else {
                    ev.set(Field::DestinationDomain, host);
                }
                if let Some(p) = port.and_then(|p| p.parse::<i64>().ok()) {
                    ev.set(Field::DestinationPort, p);
                }
            }
            put(ev, Field::UserId, d, "UserID");
        }
        91 => {
            // Server side: "Creating WSMan shell on server with ResourceUri: <resourceUri>";
            // the record's Security UserID is the remote user.
            act(ev, "session", "wsman-shell-created");
            put(ev, Field::UserId, d, "UserID");
            put(ev, Field::UrlFull, d, "resourceUri");
        }
        169 => {
            // "User <username> authenticated successfully using <authenticationMechanism>
            // authentication".
            act(ev, "authentication", "wsman-user-authenticated");
            ev.set(Field::EventOutcome, "success");
            if let Some(u) = d.str("username") {
                put_account(ev, u);
            }
            // (The record's Security UserID is the WinRM service's, not the user's.)
            put(ev, Field::AuthPackage, d, "authenticationMechanism");
        }
        _ => put(ev, Field::UserId, d, "UserID"),
    }
}

// ---------------------------------------------------------------------------------------
// WMI-Activity

fn wmi(ev: &mut Event, d: Data<'_>, id: i64) {
    if !(5857..=5861).contains(&id) {
        return;
    }
    let action = match id {
        5857 => "wmi-provider-started",
        5858 => "wmi-operation-failed",
        5859 => "wmi-event-filter-activated",
        5860 => "wmi-temporary-consumer-registered",
        _ => "wmi-permanent-consumer-bound",
    };
    act(
        ev,
        if id >= 5859 {
            "configuration"
        } else {
            "process"
        },
        action,
    );
    if id == 5858 {
        ev.set(Field::EventOutcome, "failure");
    }
    // Field names differ by event (and by case): ClientProcessId / processid / ProcessID.
    if let Some(u) = d.str("User") {
        put_account(ev, u);
    }
    put_any(
        ev,
        Field::SourceDomain,
        d,
        &["ClientMachine", "MachineName"],
    );
    put_any(
        ev,
        Field::ProcessPid,
        d,
        &["ClientProcessId", "processid", "ProcessID"],
    );
    put(ev, Field::ProcessExecutable, d, "HostProcess");
    put(ev, Field::FilePath, d, "ProviderPath");
    put_any(
        ev,
        Field::Message,
        d,
        &["Operation", "PossibleCause", "Query", "CONSUMER"],
    );
}

// ---------------------------------------------------------------------------------------
// Task Scheduler

fn task_scheduler(ev: &mut Event, d: Data<'_>, id: i64) {
    let (category, action) = match id {
        106 => ("configuration", "scheduled-task-registered"),
        140 => ("configuration", "scheduled-task-updated"),
        141 => ("configuration", "scheduled-task-deleted"),
        100 => ("process", "scheduled-task-started"),
        102 => ("process", "scheduled-task-completed"),
        129 => ("process", "scheduled-task-process-created"),
        200 => ("process", "scheduled-task-action-started"),
        201 => ("process", "scheduled-task-action-completed"),
        _ => return,
    };
    act(ev, category, action);
    put(ev, Field::ServiceName, d, "TaskName");
    if let Some(u) = d.str_any(&["UserContext", "UserName"]) {
        put_account(ev, u);
    }
    // 200/201 ActionName is the executable (or COM handler) the task ran; 129 Path.
    put_any(ev, Field::ProcessExecutable, d, &["ActionName", "Path"]);
    put(ev, Field::ProcessPid, d, "ProcessID");
    if id == 201 {
        status_outcome(ev, d, "ResultCode");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev_of(fields: serde_json::Value) -> Event {
        let mut ev = Event::new(0);
        if let J::Object(m) = fields {
            ev.original = m.into_iter().collect();
        }
        normalize(&mut ev);
        ev
    }

    #[test]
    fn datasets_by_channel() {
        let ds = |c: &str| dataset(classify(c), c).into_owned();
        assert_eq!(ds("Security"), "windows.security");
        assert_eq!(ds("security"), "windows.security");
        assert_eq!(ds("Microsoft-Windows-Sysmon/Operational"), "windows.sysmon");
        assert_eq!(ds("Windows PowerShell"), "windows.powershell");
        assert_eq!(
            ds("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"),
            "windows.rdp"
        );
        assert_eq!(
            ds("Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational"),
            "windows.rdp"
        );
        assert_eq!(ds("Microsoft-Windows-WinRM/Operational"), "windows.winrm");
        assert_eq!(
            ds("Microsoft-Windows-WMI-Activity/Operational"),
            "windows.wmi"
        );
        assert_eq!(
            ds("Microsoft-Windows-TaskScheduler/Operational"),
            "windows.taskscheduler"
        );
        assert_eq!(
            ds("Microsoft-Windows-Bits-Client/Operational"),
            "windows.bits_client_operational"
        );
        assert_eq!(ds("Application"), "windows.application");
        assert_eq!(ds("///"), "windows.unknown");
    }

    #[test]
    fn event_ids_in_every_shape() {
        assert_eq!(event_id_of(&json!(4624)), Some(4624));
        assert_eq!(event_id_of(&json!("1149")), Some(1149));
        assert_eq!(
            event_id_of(&json!({"#attributes": {"Qualifiers": 16384}, "#text": 7045})),
            Some(7045)
        );
        assert_eq!(event_id_of(&json!(null)), None);
    }

    #[test]
    fn network_logon() {
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4624, "Computer": "FS01.corp.example",
            "TargetUserName": "jdoe", "TargetDomainName": "CORP", "TargetLogonId": "0x5a1f2",
            "TargetUserSid": "S-1-5-21-1-2-3-1104",
            "LogonType": "3", "IpAddress": "::ffff:10.1.2.3", "IpPort": "50123",
            "WorkstationName": "WS7", "AuthenticationPackageName": "NTLM",
            "ProcessName": "-", "ProcessId": "0x0", "Keywords": "0x8020000000000000"
        }));
        assert_eq!(ev.str(Field::EventDataset), Some("windows.security"));
        assert_eq!(ev.str(Field::EventCode), Some("4624"));
        assert_eq!(ev.str(Field::EventAction), Some("logged-in"));
        assert_eq!(ev.str(Field::EventOutcome), Some("success"));
        assert_eq!(ev.str(Field::HostName), Some("FS01.corp.example"));
        assert_eq!(ev.str(Field::UserName), Some("jdoe"));
        assert_eq!(ev.str(Field::UserDomain), Some("CORP"));
        assert_eq!(ev.int(Field::LogonType), Some(3));
        assert_eq!(ev.str(Field::LogonId), Some("0x5a1f2"));
        assert_eq!(ev.ip(Field::SourceIp), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(ev.int(Field::SourcePort), Some(50123));
        assert_eq!(ev.str(Field::SourceDomain), Some("WS7"));
        assert_eq!(ev.str(Field::AuthPackage), Some("NTLM"));
        assert_eq!(ev.bool(Field::ProcessInteractive), Some(false));
        assert_eq!(ev.str(Field::ProcessExecutable), None);
        // Originals stay under their EventData names.
        assert_eq!(ev.original_str("LogonType").as_deref(), Some("3"));
    }

    #[test]
    fn rdp_logon_is_interactive_and_placeholders_are_dropped() {
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4624, "LogonType": 10,
            "TargetUserName": "admin", "IpAddress": "-", "IpPort": "0"
        }));
        assert_eq!(ev.bool(Field::ProcessInteractive), Some(true));
        assert_eq!(ev.ip(Field::SourceIp), None);
        assert_eq!(ev.int(Field::SourcePort), None);
        let ev = ev_of(json!({"Channel": "Security", "EventID": 4625, "IpAddress": "::1"}));
        assert_eq!(ev.str(Field::EventOutcome), Some("failure"));
        assert_eq!(ev.ip(Field::SourceIp), Some("::1".parse().unwrap()));
    }

    #[test]
    fn explicit_credentials_point_at_the_server() {
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4648, "SubjectUserName": "alice",
            "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
            "TargetUserName": "svc_backup", "TargetServerName": "DB02.corp.example",
            "IpAddress": "10.0.0.9", "IpPort": "445", "ProcessName": "C:\\Windows\\System32\\wbem\\WMIC.exe"
        }));
        assert_eq!(ev.str(Field::UserName), Some("alice"));
        assert_eq!(ev.str(Field::UserTargetName), Some("svc_backup"));
        assert_eq!(ev.str(Field::DestinationDomain), Some("DB02.corp.example"));
        assert_eq!(
            ev.ip(Field::DestinationIp),
            Some("10.0.0.9".parse().unwrap())
        );
        assert_eq!(ev.ip(Field::SourceIp), None);
    }

    #[test]
    fn process_creation_4688_and_sysmon_1_agree() {
        let a = ev_of(json!({
            "Channel": "Security", "EventID": 4688, "SubjectUserName": "bob",
            "SubjectDomainName": "CORP", "SubjectLogonId": "0x1234",
            "NewProcessName": "C:\\Windows\\System32\\cmd.exe", "NewProcessId": "0x1870",
            "CommandLine": "cmd.exe /c whoami", "ProcessId": "0x181c",
            "ParentProcessName": "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"
        }));
        let b = ev_of(json!({
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
            "Image": "C:\\Windows\\System32\\cmd.exe", "ProcessId": 6256,
            "CommandLine": "cmd.exe /c whoami", "User": "CORP\\bob", "LogonId": "0x1234",
            "ParentImage": "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", "ParentProcessId": "6172",
            "ProcessGuid": "{a}", "ParentProcessGuid": "{b}", "RuleName": "-"
        }));
        for ev in [&a, &b] {
            assert_eq!(ev.str(Field::EventAction), Some("created-process"));
            assert_eq!(ev.str(Field::UserName), Some("bob"));
            assert_eq!(ev.str(Field::UserDomain), Some("CORP"));
            assert_eq!(ev.str(Field::LogonId), Some("0x1234"));
            assert_eq!(
                ev.str(Field::ProcessParentExecutable),
                Some("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")
            );
        }
        assert_eq!(a.int(Field::ProcessPid), Some(0x1870));
        let c = ev_of(json!({
            "Channel": "Security", "EventID": 4688, "SubjectUserName": "FS02$",
            "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7", "TargetUserName": "bob",
            "TargetDomainName": "CORP", "TargetLogonId": "0x1234", "NewProcessName": "C:\\x.exe"
        }));
        assert_eq!(c.str(Field::UserName), Some("bob"));
        assert_eq!(c.str(Field::LogonId), Some("0x1234"));
        assert_eq!(a.int(Field::ProcessParentPid), Some(0x181c));
        assert_eq!(b.int(Field::ProcessPid), Some(6256));
        assert_eq!(b.int(Field::ProcessParentPid), Some(6172));
        assert_eq!(b.str(Field::ProcessEntityId), Some("{a}"));
        assert_eq!(b.str(Field::ProcessParentEntityId), Some("{b}"));
        assert_eq!(b.str(Field::RuleName), None);
    }

    #[test]
    fn share_access_joins_share_and_relative_name() {
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 5145, "ShareName": "\\\\*\\ADMIN$",
            "RelativeTargetName": "PSEXESVC.exe", "IpAddress": "10.0.2.16", "IpPort": "49710",
            "SubjectUserName": "admin", "SubjectLogonId": "0x9"
        }));
        assert_eq!(ev.str(Field::FilePath), Some("\\\\*\\ADMIN$\\PSEXESVC.exe"));
        assert_eq!(ev.str(Field::NetworkProtocol), Some("smb"));
        assert_eq!(ev.str(Field::LogonId), Some("0x9"));
        assert_eq!(ev.int(Field::SourcePort), Some(49710));
    }

    #[test]
    fn services_and_tasks() {
        let ev = ev_of(json!({
            "Channel": "System", "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
            "ServiceName": "updsvc", "ImagePath": "\"C:\\Windows\\upd.exe\" -k run",
            "UserID": "S-1-5-21-9"
        }));
        assert_eq!(ev.str(Field::EventCode), Some("7045"));
        assert_eq!(ev.str(Field::ServiceName), Some("updsvc"));
        assert_eq!(
            ev.str(Field::ProcessExecutable),
            Some("C:\\Windows\\upd.exe")
        );
        assert_eq!(
            ev.str(Field::ProcessCommandLine),
            Some("\"C:\\Windows\\upd.exe\" -k run")
        );
        assert_eq!(ev.str(Field::UserId), Some("S-1-5-21-9"));
        assert_eq!(executable_of("%COMSPEC% /c echo"), "%COMSPEC%");
        assert_eq!(
            executable_of("C:\\Program Files\\X\\x.EXE /svc"),
            "C:\\Program Files\\X\\x.EXE"
        );

        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4698, "SubjectUserName": "admin",
            "TaskName": "\\Updater",
            "TaskContent": "<Task><Actions><Exec><Command>cmd.exe</Command><Arguments>/c a &gt; b</Arguments></Exec></Actions></Task>"
        }));
        assert_eq!(ev.str(Field::ServiceName), Some("\\Updater"));
        assert_eq!(ev.str(Field::ProcessCommandLine), Some("cmd.exe /c a > b"));
    }

    #[test]
    fn kerberos_and_ntlm() {
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4769, "TargetUserName": "jdoe@CORP.EXAMPLE",
            "ServiceName": "FS01$", "IpAddress": "::ffff:10.1.1.5", "IpPort": "51000",
            "Status": "0x0"
        }));
        assert_eq!(ev.str(Field::UserName), Some("jdoe"));
        assert_eq!(ev.str(Field::UserDomain), Some("CORP.EXAMPLE"));
        assert_eq!(ev.str(Field::ServiceName), Some("FS01$"));
        assert_eq!(ev.ip(Field::SourceIp), Some("10.1.1.5".parse().unwrap()));
        assert_eq!(ev.str(Field::EventOutcome), Some("success"));
        assert_eq!(ev.str(Field::AuthPackage), Some("Kerberos"));
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4771, "TargetUserName": "jdoe", "Status": "0x18"
        }));
        assert_eq!(ev.str(Field::EventOutcome), Some("failure"));
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4776, "TargetUserName": "jdoe",
            "Workstation": "WS1", "Status": "0xc000006a"
        }));
        assert_eq!(ev.str(Field::AuthPackage), Some("NTLM"));
        assert_eq!(ev.str(Field::SourceDomain), Some("WS1"));
        assert_eq!(ev.str(Field::EventOutcome), Some("failure"));
    }

    #[test]
    fn group_changes() {
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4732, "SubjectUserName": "admin",
            "TargetUserName": "Administrators", "MemberName": "-", "MemberSid": "S-1-5-21-1-1001"
        }));
        assert_eq!(ev.str(Field::GroupName), Some("Administrators"));
        assert_eq!(ev.str(Field::UserTargetName), Some("S-1-5-21-1-1001"));
        assert_eq!(ev.str(Field::UserName), Some("admin"));
        let ev = ev_of(json!({
            "Channel": "Security", "EventID": 4720, "SubjectUserName": "admin",
            "TargetUserName": "backdoor"
        }));
        assert_eq!(ev.str(Field::UserTargetName), Some("backdoor"));
        assert_eq!(ev.str(Field::EventCategory), Some("iam"));
    }

    #[test]
    fn rdp_events() {
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
            "EventID": 1149, "Param1": "jdoe", "Param2": "CORP", "Param3": "10.9.8.7"
        }));
        assert_eq!(ev.str(Field::UserName), Some("jdoe"));
        assert_eq!(ev.str(Field::UserDomain), Some("CORP"));
        assert_eq!(ev.ip(Field::SourceIp), Some("10.9.8.7".parse().unwrap()));
        assert_eq!(ev.str(Field::NetworkProtocol), Some("rdp"));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "EventID": 21, "User": "CORP\\jdoe", "SessionID": "3", "Address": "10.9.8.7"
        }));
        assert_eq!(ev.str(Field::EventAction), Some("session-logon"));
        assert_eq!(ev.str(Field::UserName), Some("jdoe"));
        assert_eq!(ev.ip(Field::SourceIp), Some("10.9.8.7".parse().unwrap()));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "EventID": 21, "User": "CORP\\jdoe", "Address": "LOCAL"
        }));
        assert_eq!(ev.ip(Field::SourceIp), None);
        assert_eq!(ev.str(Field::NetworkProtocol), None);
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
            "EventID": 131, "ConnType": "TCP", "ClientIP": "10.9.8.7:53011"
        }));
        assert_eq!(ev.ip(Field::SourceIp), Some("10.9.8.7".parse().unwrap()));
        assert_eq!(ev.int(Field::SourcePort), Some(53011));
        assert_eq!(split_host_port("[fe80::1]:3389"), ("fe80::1", Some("3389")));
        assert_eq!(split_host_port("fe80::1"), ("fe80::1", None));
    }

    #[test]
    fn winrm_powershell_wmi_tasks() {
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-WinRM/Operational", "EventID": 169,
            "username": "CORP\\jdoe", "authenticationMechanism": "Kerberos"
        }));
        assert_eq!(ev.str(Field::UserName), Some("jdoe"));
        assert_eq!(ev.str(Field::AuthPackage), Some("Kerberos"));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-WinRM/Operational", "EventID": 6,
            "connection": "fs01.corp.example:5985/wsman?PSVersion=5.1.17763.1"
        }));
        assert_eq!(ev.str(Field::DestinationDomain), Some("fs01.corp.example"));
        assert_eq!(ev.int(Field::DestinationPort), Some(5985));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4104,
            "ScriptBlockText": "Get-Process", "Path": ""
        }));
        assert_eq!(ev.str(Field::Message), Some("Get-Process"));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4103,
            "Payload": "CommandInvocation(Get-Process)",
            "ContextInfo": "        Severity = Informational\r\n        Host Application = C:\\windows\\system32\\wsmprovhost.exe -Embedding\r\n        User = CORP\\jdoe\r\n        Connected User = CORP\\jdoe\r\n"
        }));
        assert_eq!(ev.str(Field::UserName), Some("jdoe"));
        assert_eq!(
            ev.str(Field::ProcessExecutable),
            Some("C:\\windows\\system32\\wsmprovhost.exe")
        );
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-WMI-Activity/Operational", "EventID": 5861,
            "Namespace": "//./root/subscription", "CONSUMER": "CommandLineEventConsumer=\"x\"",
            "PossibleCause": "Binding EventFilter ..."
        }));
        assert_eq!(
            ev.str(Field::EventAction),
            Some("wmi-permanent-consumer-bound")
        );
        assert_eq!(ev.str(Field::Message), Some("Binding EventFilter ..."));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-TaskScheduler/Operational", "EventID": 106,
            "TaskName": "\\Updater", "UserContext": "CORP\\admin"
        }));
        assert_eq!(ev.str(Field::ServiceName), Some("\\Updater"));
        assert_eq!(ev.str(Field::UserName), Some("admin"));
    }

    #[test]
    fn sysmon_network_dns_and_pipes() {
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3,
            "Image": "C:\\Windows\\System32\\svchost.exe", "Protocol": "tcp",
            "SourceIp": "10.0.0.5", "SourcePort": 50000, "DestinationIp": "10.0.0.6",
            "DestinationPort": 445, "DestinationHostname": "fs01", "User": "NT AUTHORITY\\SYSTEM"
        }));
        assert_eq!(ev.str(Field::NetworkTransport), Some("tcp"));
        assert_eq!(ev.int(Field::DestinationPort), Some(445));
        assert_eq!(ev.str(Field::DestinationDomain), Some("fs01"));
        assert_eq!(ev.str(Field::UserDomain), Some("NT AUTHORITY"));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 22,
            "QueryName": "fs01.corp.example", "QueryStatus": "0"
        }));
        assert_eq!(ev.str(Field::DnsQuestionName), Some("fs01.corp.example"));
        assert_eq!(ev.str(Field::EventOutcome), Some("success"));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 18,
            "PipeName": "\\PSEXESVC-WS1-1234-stdin"
        }));
        assert_eq!(ev.str(Field::FilePath), Some("\\PSEXESVC-WS1-1234-stdin"));
        let ev = ev_of(json!({
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 10,
            "SourceImage": "C:\\x\\mimikatz.exe", "SourceProcessGUID": "{g}",
            "TargetImage": "C:\\Windows\\system32\\lsass.exe", "GrantedAccess": "0x1010"
        }));
        assert_eq!(
            ev.str(Field::ProcessExecutable),
            Some("C:\\x\\mimikatz.exe")
        );
        assert_eq!(ev.str(Field::ProcessEntityId), Some("{g}"));
        assert_eq!(ev.original_str("GrantedAccess").as_deref(), Some("0x1010"));
    }

    #[test]
    fn audit_keywords_give_the_outcome() {
        let ev = ev_of(
            json!({"Channel": "Security", "EventID": 4663, "Keywords": -9214364837600034816i64}),
        );
        assert_eq!(ev.str(Field::EventOutcome), Some("success"));
        let ev = ev_of(
            json!({"Channel": "Security", "EventID": 4663, "Keywords": "0x8010000000000000"}),
        );
        assert_eq!(ev.str(Field::EventOutcome), Some("failure"));
        let ev =
            ev_of(json!({"Channel": "Security", "EventID": 4663, "EventType": "AUDIT_FAILURE"}));
        assert_eq!(ev.str(Field::EventOutcome), Some("failure"));
    }

    #[test]
    fn fast_time_agrees_with_the_general_parser() {
        for t in [
            "2019-06-15T07:13:42.2941098Z",
            "2019-06-15 07:13:42.278",
            "2020-12-19T06:59:28.410Z",
            "2021-12-16T10:25:32.351835800Z",
            "2021-12-16T10:25:32.3518358001Z",
            "2021-12-16T10:25:32Z",
            "2024-02-29 23:59:59",
        ] {
            assert_eq!(fast_time(t), parse_timestamp(t), "{t}");
            assert!(fast_time(t).is_some(), "{t}");
        }
        assert_eq!(fast_time("2021-12-16T10:25:32+02:00"), None);
        assert_eq!(
            parse_time("2021-12-16T10:25:32+02:00"),
            parse_timestamp("2021-12-16T08:25:32Z")
        );
        for bad in [
            "2021-13-16T10:25:32Z",
            "2021-12-16T10:25:32.",
            "2021-12-16T1x:25:32Z",
            "",
            "é",
        ] {
            assert_eq!(fast_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn sysmon_time_only_for_sysmon() {
        let s = [
            (
                "Channel".to_string(),
                json!("Microsoft-Windows-Sysmon/Operational"),
            ),
            ("UtcTime".to_string(), json!("2021-03-04 05:06:07.890")),
        ];
        assert_eq!(
            sysmon_time(Data(&s)),
            parse_timestamp("2021-03-04T05:06:07.890Z")
        );
        let s = [
            ("Channel".to_string(), json!("Security")),
            ("UtcTime".to_string(), json!("2021-03-04 05:06:07.890")),
        ];
        assert_eq!(sysmon_time(Data(&s)), None);
    }

    #[test]
    fn odd_values_do_not_panic() {
        for v in [
            json!(null),
            json!([1, 2]),
            json!({"a": 1}),
            json!(""),
            json!("é\\"),
        ] {
            let ev = ev_of(json!({
                "Channel": "Security", "EventID": 4624, "TargetUserName": v.clone(),
                "IpAddress": v.clone(), "LogonType": v.clone(), "ShareName": v.clone()
            }));
            assert_eq!(ev.str(Field::EventCode), Some("4624"));
        }
        assert_eq!(xml_text("<Command>x", "Command"), None);
        assert_eq!(line_value("User", "User"), None);
    }
}

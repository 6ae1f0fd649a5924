//! Linux audit logs: `/var/log/audit/audit.log` as auditd writes it (`log_format = RAW` or
//! `ENRICHED`), with or without the `node=HOST` prefix (`name_format`), and `ausearch` output
//! (`----` event separators, `time->...` lines, `ausearch -i` interpreted values).
//!
//! A record is one line: `[node=HOST ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): k=v ...`.
//! The kernel and user space write several records for one event (a syscall's `SYSCALL`,
//! `EXECVE`, `CWD`, `PATH`..., `PROCTITLE`, then `EOE`), all with the same
//! `audit(time:serial)` stamp. This decoder joins them and emits **one event per stamp**:
//!
//! - when its `EOE` (end of event) record arrives;
//! - at once for user-space record types (`USER_*`, `CRED_*`, `ADD_USER`, ...), which the
//!   audit library always sends as a single record;
//! - at an ausearch `----` separator (ausearch prints whole events);
//! - when more than [`WINDOW`] events are open (records of concurrent events interleave a
//!   little; a small bounded window keeps memory constant), oldest first;
//! - at the end of the input ([`Decoder::finish`]).
//!
//! The event's offset is the offset of its first record. Record lines without a
//! `msg=audit(time:serial)` stamp are [`DecodeError`]s; unknown record types are kept as
//! generic events with all their fields.
//!
//! Values are quoted (`comm="ls"`), bare (`pid=42`) or, for fields auditd treats as untrusted
//! strings (`proctitle`, EXECVE `aN`, `comm`, `exe`, `cwd`, PATH `name`, `acct`, `cmd`,
//! `key`, ...), hex-encoded when they contain spaces, quotes or control bytes. Originals hold
//! the **decoded** text (the raw record keeps the hex); PROCTITLE's NUL argument separators
//! become spaces. User-space records carry their own fields inside `msg='...'`; those are
//! flattened next to the outer ones. Enriched logs append interpreted fields (`UID="root"
//! AUID="bob"`) after a 0x1d (GS) byte; they are kept under their upper-case names.
//!
//! Originals are named `TYPE.field` (`SYSCALL.exe`, `EXECVE.a1`, `USER_LOGIN.acct`); a
//! second record of the same type in one event is `TYPE.1.field` (the second `PATH`), and
//! `record_types` lists the event's record types in order.
//!
//! Normalized mapping:
//! - `event.code` = the main record type: the first record that is not context (`LOGIN`,
//!   `AVC`, `CONFIG_CHANGE`, `USER_*`...), else `SYSCALL`; an accompanying SYSCALL record
//!   fills the process fields the main record lacks;
//! - `user.id` = `auid`, the login uid that survives su/sudo, or for kernel records `uid`
//!   when the login uid is unset (4294967295: daemons, cron); `user.name` = the enriched
//!   `AUID` name (or `ausearch -i`'s name); `user.target.name` = the enriched `UID` when a
//!   kernel record runs as someone else than its login user; `session.id` = `ses`
//!   (unset → none);
//! - SYSCALL: `process.pid`/`parent.pid` (`pid`/`ppid`), `process.executable` (`exe`),
//!   `process.interactive` (`tty` other than `(none)`), `event.outcome` (`success`),
//!   `rule.name` (the audit rule `key`), `event.action` = `process-started` for execve and
//!   the syscall name otherwise (numbers resolved for x86_64 and aarch64);
//! - EXECVE arguments → `process.command_line` (PROCTITLE when there is no EXECVE);
//!   PATH → `file.path` (the created/deleted/normal item before parent directories, made
//!   absolute with CWD); SOCKADDR → the peer address (`destination.*` for connect/sendto,
//!   `source.*` for accept/recvfrom);
//! - user-space records: `acct` → `user.name`, the account PAM worked on — except for
//!   identity-switching tools (su, sudo, runuser, pkexec, doas), where the caller stays the
//!   login user and `acct` is the account switched to (`user.target.name`; sudo's own
//!   USER_AUTH/USER_ACCT are about the caller). Account management records put the account
//!   changed in `user.target.name` / `group.name` (`acct`, `grp`, or the enriched `ID`).
//!   For login-type records `addr`/`hostname` → `source.ip` / `source.domain` (account tools
//!   write the local host there, so they are not mapped); `res` → `event.outcome`; `exe` →
//!   `process.executable`; a terminal device → `process.interactive`; USER_CMD `cmd` →
//!   `process.command_line`. The action comes from the type (`USER_LOGIN` → `logged-in` /
//!   `logon-failed`, `USER_AUTH` → `authenticated`, `USER_ACCT` → `authorized`, `USER_START`
//!   → `session-started`, `USER_CMD` → `sudo`, `ADD_USER` → `user-created`, `USER_MGMT`
//!   add-to-group → `group-member-added`, `CONFIG_CHANGE` → `audit-config-changed`, ...).
//!
//! Timestamps are UTC epoch seconds; `ausearch -i` prints local time without a zone, which
//! is taken as UTC.
//!
//! References: Red Hat "Understanding Audit Log Files", linux-audit `auparse` field types
//! (which fields are hex-encoded), `audit.rules(7)`, `auditd.conf(5)`, kernel `auditsc.c`.

use std::collections::VecDeque;

use serde_json::Value as J;

use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::{Event, Field, Nanos, RAW_LIMIT, parse_epoch_seconds, parse_ip};

/// The auditd format.
pub const FORMAT: Format = Format {
    name: "auditd",
    description: "Linux audit logs (audit.log raw or enriched, node= prefix, ausearch output): \
                  syscalls, execve, logins, sudo, account changes",
    framing: Framing::Lines,
    detect,
    decoder: || Box::new(AuditDecoder::default()),
};

/// Events kept open waiting for more records before the oldest is emitted.
pub const WINDOW: usize = 16;

/// `(uid_t)-1`: login uid / session id never set.
fn is_unset(v: &str) -> bool {
    matches!(v, "4294967295" | "-1" | "unset" | "(none)" | "")
}

// ---------------------------------------------------------------------------------------------
// Record parsing
// ---------------------------------------------------------------------------------------------

/// The stamp and body of one record line.
#[derive(Debug)]
struct Line<'a> {
    node: Option<&'a str>,
    ty: &'a str,
    /// `SECONDS.MILLIS:SERIAL` as written (the event key).
    stamp: &'a str,
    ts: Nanos,
    body: &'a str,
}

fn word(s: &str) -> (&str, &str) {
    match s.split_once(' ') {
        Some((w, rest)) => (w, rest.trim_start_matches(' ')),
        None => (s, ""),
    }
}

/// `ausearch -i` time: `05/01/2024 10:00:00.123` (or a 2-digit year), taken as UTC.
fn interpreted_time(s: &str) -> Option<Nanos> {
    ["%m/%d/%Y %H:%M:%S%.f", "%m/%d/%y %H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .and_then(|dt| dt.and_utc().timestamp_nanos_opt())
}

fn parse_line(line: &str) -> Result<Line<'_>, String> {
    let mut rest = line;
    let mut node = None;
    if let Some(r) = rest.strip_prefix("node=") {
        let (n, r) = word(r);
        node = Some(n);
        rest = r;
    }
    let Some(r) = rest.strip_prefix("type=") else {
        return Err("not an audit record (no `type=`)".into());
    };
    let (ty, r) = word(r);
    let Some(r) = r.strip_prefix("msg=audit(") else {
        return Err(format!("{ty} record without msg=audit(time:serial)"));
    };
    let Some((stamp, body)) = r.split_once(')') else {
        return Err(format!("{ty} record with an unterminated audit( stamp"));
    };
    let Some((time, serial)) = stamp.rsplit_once(':') else {
        return Err(format!("audit({stamp}) has no serial"));
    };
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("audit({stamp}) has a bad serial"));
    }
    let ts = if time.contains('/') {
        interpreted_time(time)
    } else {
        parse_epoch_seconds(time)
    };
    let Some(ts) = ts else {
        return Err(format!("audit({stamp}) has a bad time"));
    };
    let body = body.trim_start_matches([' ', ':']);
    Ok(Line {
        node,
        ty,
        stamp,
        ts,
        body,
    })
}

/// Whether a field of record type `ty` is one auditd writes hex-encoded when it holds
/// untrusted characters (auparse's "escaped" field types).
fn is_encoded(ty: &str, key: &str) -> bool {
    match key {
        "proctitle" | "comm" | "exe" | "cwd" | "name" | "acct" | "cmd" | "key" | "path"
        | "ocomm" | "data" | "dir" | "watch" | "grp" | "new_group" | "root_dir" | "vm"
        | "old-disk" | "new-disk" | "old-fs" | "new-fs" | "old-net" | "new-net" | "old-chardev"
        | "new-chardev" | "device" | "file" | "sw" | "root" => true,
        _ => ty == "EXECVE" && is_arg_key(key),
    }
}

/// EXECVE argument keys: `a0`, `a12`, `a1[0]`.
fn is_arg_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix('a') else {
        return false;
    };
    let digits = rest.split('[').next().unwrap_or("");
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(nib(*p.first()?)? << 4 | nib(*p.get(1)?)?))
        .collect()
}

/// Decode a bare value of an encoded field: hex → text. `(null)`, `(none)`, `?` and
/// anything else that is not hex stay as they are (`None`).
fn decode_value(ty: &str, key: &str, bare: &str) -> Option<String> {
    if !is_encoded(ty, key) {
        return None;
    }
    let bytes = hex_decode(bare)?;
    let text = String::from_utf8_lossy(&bytes);
    Some(match key {
        // The kernel copies the argument vector with its NUL separators.
        "proctitle" => text.trim_end_matches('\0').replace('\0', " "),
        // Several rule keys are joined by 0x01.
        "key" => text.replace('\u{1}', ","),
        _ => text.into_owned(),
    })
}

/// Parse `k=v k="v" k='inner k=v'` into `out` (decoded values). Bare words after a value are
/// appended to it (`ausearch -i` prints `proctitle=ls -la` unquoted).
fn parse_fields(ty: &str, body: &str, out: &mut Vec<(String, String)>) {
    let b = body.as_bytes();
    let mut i = 0;
    // Start of the last bare value in `body`, to extend it with following bare words.
    let mut last_bare: Option<(usize, usize)> = None;
    while i < b.len() {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && !matches!(b.get(i), Some(b'=' | b' ')) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            // A word without `=`: continuation of the previous bare value, or leading text
            // (SELinux AVC `avc:  denied  { read } for`), which the raw record keeps.
            if let Some((idx, vstart)) = last_bare
                && let Some(v) = body.get(vstart..i)
                && let Some(slot) = out.get_mut(idx)
            {
                slot.1 = v.to_string();
            }
            continue;
        }
        let key = body.get(start..i).unwrap_or("");
        i += 1;
        match b.get(i) {
            Some(b'"') => {
                let vstart = i + 1;
                let end = body
                    .get(vstart..)
                    .and_then(|r| r.find('"'))
                    .map_or(b.len(), |e| vstart + e);
                out.push((key.to_string(), body.get(vstart..end).unwrap_or("").into()));
                i = end + 1;
                last_bare = None;
            }
            Some(b'{') => {
                // Enriched SOCKADDR: `SADDR={ saddr_fam=inet laddr=10.0.0.7 lport=22 }`.
                let vstart = i + 1;
                let end = body
                    .get(vstart..)
                    .and_then(|r| r.find('}'))
                    .map_or(b.len(), |e| vstart + e);
                out.push((
                    key.to_string(),
                    body.get(vstart..end).unwrap_or("").trim().to_string(),
                ));
                i = end + 1;
                last_bare = None;
            }
            Some(b'\'') => {
                let vstart = i + 1;
                let end = body
                    .get(vstart..)
                    .and_then(|r| r.find('\''))
                    .map_or(b.len(), |e| vstart + e);
                let inner = body.get(vstart..end).unwrap_or("");
                let before = out.len();
                if key == "msg" {
                    parse_fields(ty, inner, out);
                }
                if out.len() == before {
                    out.push((key.to_string(), inner.to_string()));
                }
                i = end + 1;
                last_bare = None;
            }
            _ => {
                let vstart = i;
                while i < b.len() && b.get(i) != Some(&b' ') {
                    i += 1;
                }
                let v = body.get(vstart..i).unwrap_or("");
                match decode_value(ty, key, v) {
                    Some(decoded) => {
                        out.push((key.to_string(), decoded));
                        last_bare = None;
                    }
                    None => {
                        out.push((key.to_string(), v.to_string()));
                        last_bare = Some((out.len() - 1, vstart));
                    }
                }
            }
        }
    }
}

/// One decoded record.
#[derive(Debug)]
struct Record {
    ty: String,
    fields: Vec<(String, String)>,
    /// Enriched (interpreted) fields after the GS byte.
    enriched: Vec<(String, String)>,
}

impl Record {
    fn new(ty: &str, body: &str) -> Record {
        let (raw, enriched) = body.split_once('\u{1d}').unwrap_or((body, ""));
        let mut fields = Vec::with_capacity(16);
        parse_fields(ty, raw, &mut fields);
        let mut interpreted = Vec::new();
        if !enriched.is_empty() {
            // Enriched values are already interpreted text; nothing is hex here.
            parse_fields("", enriched, &mut interpreted);
        }
        Record {
            ty: ty.to_string(),
            fields,
            enriched: interpreted,
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn enriched(&self, key: &str) -> Option<&str> {
        self.enriched
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !is_unset(v))
    }
}

/// Record types written by user-space programs through libaudit: always one record per
/// event, so they need not wait for an EOE.
fn is_user_space(ty: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "USER_",
        "CRED_",
        "ADD_",
        "DEL_",
        "GRP_",
        "CHGRP_",
        "CHUSER_",
        "SERVICE_",
        "SYSTEM_",
        "DAEMON_",
        "ROLE_",
        "USYS_",
        "ACCT_",
        "RESP_",
        "CRYPTO_",
        "VIRT_",
        "ANOM_LOGIN",
        "ANOM_ADD_ACCT",
        "ANOM_DEL_ACCT",
        "ANOM_MOD_ACCT",
        "ANOM_ROOT_TRANS",
    ];
    PREFIXES.iter().any(|p| ty.starts_with(p)) || ty == "SOFTWARE_UPDATE"
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

fn detect(_name: &str, head: &[u8]) -> u8 {
    let first = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| {
            !l.iter().all(u8::is_ascii_whitespace)
                && !l.starts_with(b"----")
                && !l.starts_with(b"time->")
        });
    let Some(line) = first else {
        return 0;
    };
    let record = line.starts_with(b"type=")
        || (line.starts_with(b"node=") && memchr::memmem::find(line, b" type=").is_some());
    if record && memchr::memmem::find(line, b"msg=audit(").is_some() {
        95
    } else {
        0
    }
}

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

/// An event whose records are still arriving.
#[derive(Debug)]
struct Open {
    node: Option<String>,
    stamp: String,
    ts: Nanos,
    offset: u64,
    records: Vec<Record>,
    raw: String,
}

/// Per-input state: the open events, oldest first.
#[derive(Debug, Default)]
struct AuditDecoder {
    open: VecDeque<Open>,
}

impl AuditDecoder {
    fn flush_all(&mut self, ctx: &Context, out: &mut Sink) {
        while let Some(e) = self.open.pop_front() {
            out.events.push(build(e, ctx));
        }
    }

    fn position(&self, node: Option<&str>, stamp: &str) -> Option<usize> {
        self.open
            .iter()
            .position(|e| e.stamp == stamp && e.node.as_deref() == node)
    }
}

impl Decoder for AuditDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        let line = super::text(record, out);
        let line = line.trim();
        if line.is_empty() || line.starts_with("time->") {
            return;
        }
        if line.starts_with("----") {
            // ausearch prints complete events between separators.
            self.flush_all(ctx, out);
            return;
        }
        let rec = match parse_line(line) {
            Ok(r) => r,
            Err(reason) => {
                out.errors.push(DecodeError::malformed(offset, reason));
                return;
            }
        };
        let pos = self.position(rec.node, rec.stamp);
        if rec.ty == "EOE" {
            if let Some(i) = pos
                && let Some(e) = self.open.remove(i)
            {
                out.events.push(build(e, ctx));
            }
            return;
        }
        let idx = match pos {
            Some(i) => i,
            None => {
                if self.open.len() >= WINDOW
                    && let Some(oldest) = self.open.pop_front()
                {
                    out.events.push(build(oldest, ctx));
                }
                self.open.push_back(Open {
                    node: rec.node.map(str::to_string),
                    stamp: rec.stamp.to_string(),
                    ts: rec.ts,
                    offset,
                    records: Vec::with_capacity(6),
                    raw: String::new(),
                });
                self.open.len() - 1
            }
        };
        let Some(open) = self.open.get_mut(idx) else {
            return;
        };
        if open.raw.len() < RAW_LIMIT {
            if !open.raw.is_empty() {
                open.raw.push('\n');
            }
            open.raw.push_str(line);
        }
        open.records.push(Record::new(rec.ty, rec.body));
        if is_user_space(rec.ty)
            && open.records.len() == 1
            && let Some(e) = self.open.remove(idx)
        {
            out.events.push(build(e, ctx));
        }
    }

    fn finish(&mut self, ctx: &Context, out: &mut Sink) {
        self.flush_all(ctx, out);
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

fn outcome(v: &str) -> Option<&'static str> {
    match v {
        "success" | "yes" | "1" => Some("success"),
        "failed" | "fail" | "no" | "0" => Some("failure"),
        _ => None,
    }
}

/// A real value (not `?`, `(null)`, `(none)`, `(unknown)`, `(invalid user)`).
fn real(v: Option<&str>) -> Option<&str> {
    v.filter(|v| !v.is_empty() && *v != "?" && !v.starts_with('('))
}

/// Every record's fields as `TYPE.field` (a repeated type as `TYPE.N.field`), moving the
/// decoded values out of the records.
fn originals(node: Option<String>, records: Vec<Record>) -> Vec<(String, J)> {
    let n: usize = records
        .iter()
        .map(|r| r.fields.len() + r.enriched.len())
        .sum();
    let mut o = Vec::with_capacity(n + 2);
    if let Some(node) = node {
        o.push(("node".to_string(), J::String(node)));
    }
    o.push((
        "record_types".to_string(),
        J::Array(records.iter().map(|r| J::String(r.ty.clone())).collect()),
    ));
    let mut seen: Vec<(String, usize)> = Vec::with_capacity(records.len());
    for r in records {
        let nth = match seen.iter_mut().find(|(t, _)| *t == r.ty) {
            Some((_, count)) => {
                *count += 1;
                *count - 1
            }
            None => {
                seen.push((r.ty.clone(), 1));
                0
            }
        };
        let prefix = if nth == 0 {
            r.ty
        } else {
            format!("{}.{nth}", r.ty)
        };
        for (k, v) in r.fields.into_iter().chain(r.enriched) {
            let mut key = String::with_capacity(prefix.len() + 1 + k.len());
            key.push_str(&prefix);
            key.push('.');
            key.push_str(&k);
            o.push((key, J::String(v)));
        }
    }
    o
}

/// Record types that only add context to an event (the syscall, its arguments, paths,
/// process title); an event's main record is the first record of another type, e.g. the
/// `LOGIN`, `AVC` or `CONFIG_CHANGE` that a `SYSCALL` record accompanies.
fn is_auxiliary(ty: &str) -> bool {
    matches!(
        ty,
        "SYSCALL"
            | "EXECVE"
            | "CWD"
            | "PATH"
            | "PROCTITLE"
            | "SOCKADDR"
            | "EOE"
            | "OBJ_PID"
            | "FD_PAIR"
            | "MMAP"
            | "BPRM_FCAPS"
            | "CAPSET"
            | "IPC"
            | "SOCKETCALL"
    )
}

fn build(e: Open, ctx: &Context) -> Event {
    let mut ev = Event::new(e.ts);
    ev.set(Field::EventModule, "auditd");
    ev.set(Field::EventDataset, "auditd.log");
    if let Some(node) = &e.node {
        ev.set(Field::HostName, node.as_str());
    }
    let recs = &e.records;
    let sys = recs.iter().find(|r| r.ty == "SYSCALL");
    let main = recs
        .iter()
        .find(|r| !is_auxiliary(&r.ty))
        .or(sys)
        .or_else(|| recs.first());
    if let Some(m) = main {
        ev.set(Field::EventCode, m.ty.as_str());
        subject(&mut ev, m, false);
        match sys {
            Some(s) if std::ptr::eq(s, m) => syscall(&mut ev, s, recs),
            Some(s) => {
                subject(&mut ev, s, true);
                user_record(&mut ev, m);
            }
            None => user_record(&mut ev, m),
        }
    }
    command_line(&mut ev, recs);
    if let Some(path) = file_path(recs) {
        ev.set(Field::FilePath, path);
    }
    ev.set_raw(&e.raw);
    ctx.stamp(&mut ev, e.offset);
    ev.original = originals(e.node, e.records);
    ev
}

/// Who did it: pid, login uid, session, executable, result — fields every kernel and user
/// record has. With `fill_only`, only fields still empty are set (the SYSCALL record that
/// accompanies a LOGIN or AVC record).
fn subject(ev: &mut Event, p: &Record, fill_only: bool) {
    let put = |ev: &mut Event, f: Field, v: &str| {
        if fill_only {
            ev.set_default(f, v);
        } else {
            ev.set(f, v);
        }
    };
    if let Some(pid) = p.get("pid") {
        put(ev, Field::ProcessPid, pid);
    }
    if let Some(ppid) = p.get("ppid") {
        put(ev, Field::ProcessParentPid, ppid);
    }
    let auid = p.get("auid").filter(|v| !is_unset(v));
    // Without a login uid, the uid is who acts — for kernel records. User-space records are
    // written by a daemon (sshd, sudo as root) about someone else: its uid says nothing.
    let kernel = !is_user_space(&p.ty);
    let (id, name) = match auid {
        Some(a) => (Some(a), p.enriched("AUID")),
        None if kernel => (p.get("uid").filter(|v| !is_unset(v)), p.enriched("UID")),
        None => (None, None),
    };
    if let Some(id) = id {
        // `ausearch -i` prints names instead of numbers.
        if id.bytes().all(|b| b.is_ascii_digit()) {
            put(ev, Field::UserId, id);
        } else {
            put(ev, Field::UserName, id);
        }
    }
    if let Some(n) = name {
        put(ev, Field::UserName, n);
    }
    // A kernel record running as someone else than the login user (sudo, su, setuid). In
    // user-space records UID is the daemon writing the record, not a target.
    if kernel
        && let (Some(a), Some(u)) = (p.enriched("AUID"), p.enriched("UID"))
        && a != u
    {
        put(ev, Field::UserTargetName, u);
    }
    if let Some(ses) = p.get("ses").filter(|v| !is_unset(v)) {
        put(ev, Field::SessionId, ses);
    }
    if let Some(tty) = p.get("tty") {
        put(
            ev,
            Field::ProcessInteractive,
            if tty == "(none)" { "false" } else { "true" },
        );
    }
    if let Some(exe) = real(p.get("exe")).or_else(|| real(p.get("comm"))) {
        put(ev, Field::ProcessExecutable, exe);
    }
    // CONFIG_CHANGE's key names the rule being changed, not the rule that fired.
    if let Some(key) = real(p.get("key")).filter(|_| p.ty != "CONFIG_CHANGE") {
        put(ev, Field::RuleName, key);
    }
    if let Some(o) = p.get("success").or_else(|| p.get("res")).and_then(outcome) {
        put(ev, Field::EventOutcome, o);
    }
}

fn syscall(ev: &mut Event, p: &Record, recs: &[Record]) {
    let raw = p.get("syscall").unwrap_or("");
    let name = p
        .enriched("SYSCALL")
        .or_else(|| {
            if raw.bytes().all(|b| b.is_ascii_digit()) {
                syscall_name(p.get("arch").unwrap_or(""), raw)
            } else {
                Some(raw)
            }
        })
        .filter(|n| !n.is_empty());
    let Some(name) = name else {
        return;
    };
    let (category, action) = match name {
        "execve" | "execveat" => ("process", "process-started"),
        _ => (syscall_category(name), name),
    };
    if !category.is_empty() {
        ev.set(Field::EventCategory, category);
    }
    ev.set(Field::EventAction, action);
    let peer = recs.iter().find(|r| r.ty == "SOCKADDR").and_then(|r| {
        let raw = r.get("saddr");
        raw.and_then(sockaddr)
            .or_else(|| r.enriched("SADDR").and_then(interpreted_sockaddr))
            .or_else(|| raw.and_then(interpreted_sockaddr))
    });
    if let Some(sa) = peer {
        let (ip, port) = match name {
            "connect" | "sendto" | "sendmsg" | "sendmmsg" => {
                (Field::DestinationIp, Field::DestinationPort)
            }
            "accept" | "accept4" | "recvfrom" | "recvmsg" | "recvmmsg" => {
                (Field::SourceIp, Field::SourcePort)
            }
            _ => return,
        };
        ev.set(ip, sa.0);
        ev.set(port, i64::from(sa.1));
    }
}

/// A SOCKADDR `saddr` (hex `struct sockaddr`, family in host byte order — little-endian on
/// the platforms audit runs on — port and address in network order) → (ip, port).
fn sockaddr(hex: &str) -> Option<(std::net::IpAddr, u16)> {
    let b = hex_decode(hex)?;
    let family = u16::from_le_bytes([*b.first()?, *b.get(1)?]);
    let port = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]);
    match family {
        2 => {
            let a: [u8; 4] = b.get(4..8)?.try_into().ok()?;
            Some((std::net::IpAddr::from(a), port))
        }
        10 => {
            let a: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let ip = std::net::Ipv6Addr::from(a);
            Some((
                ip.to_ipv4_mapped()
                    .map_or(std::net::IpAddr::V6(ip), std::net::IpAddr::V4),
                port,
            ))
        }
        _ => None,
    }
}

/// An interpreted socket address (`ausearch -i`, enriched `SADDR`):
/// `saddr_fam=inet laddr=10.0.0.7 lport=22`.
fn interpreted_sockaddr(s: &str) -> Option<(std::net::IpAddr, u16)> {
    let mut ip = None;
    let mut port = None;
    for part in s.split_ascii_whitespace() {
        if let Some(a) = part.strip_prefix("laddr=") {
            ip = parse_ip(a);
        } else if let Some(p) = part.strip_prefix("lport=") {
            port = p.parse().ok();
        }
    }
    Some((ip?, port?))
}

fn syscall_category(name: &str) -> &'static str {
    match name {
        "clone" | "clone3" | "fork" | "vfork" | "kill" | "tkill" | "tgkill" | "ptrace"
        | "setuid" | "setgid" | "setreuid" | "setregid" | "setresuid" | "setresgid"
        | "setfsuid" | "setfsgid" | "memfd_create" | "process_vm_readv" | "process_vm_writev"
        | "unshare" | "setns" | "personality" | "exit" | "exit_group" => "process",
        "socket" | "connect" | "accept" | "accept4" | "bind" | "listen" | "sendto" | "recvfrom"
        | "sendmsg" | "recvmsg" | "socketcall" => "network",
        "open" | "openat" | "openat2" | "creat" | "truncate" | "ftruncate" | "unlink"
        | "unlinkat" | "rename" | "renameat" | "renameat2" | "mkdir" | "mkdirat" | "rmdir"
        | "link" | "linkat" | "symlink" | "symlinkat" | "chmod" | "fchmod" | "fchmodat"
        | "chown" | "fchown" | "fchownat" | "lchown" | "mknod" | "mknodat" | "setxattr"
        | "lsetxattr" | "fsetxattr" | "removexattr" | "lremovexattr" | "fremovexattr"
        | "open_by_handle_at" | "mount" | "umount2" | "chroot" => "file",
        "init_module" | "finit_module" | "delete_module" => "driver",
        _ => "",
    }
}

/// Syscall numbers of the syscalls security rules watch, for x86_64 (`arch=c000003e`),
/// aarch64 (`c00000b7`) and i386 (`40000003`) — from the kernel's syscall tables.
fn syscall_name(arch: &str, nr: &str) -> Option<&'static str> {
    let nr: u32 = nr.parse().ok()?;
    let name = match arch.to_ascii_lowercase().as_str() {
        "c000003e" | "x86_64" => match nr {
            2 => "open",
            10 => "mprotect",
            41 => "socket",
            42 => "connect",
            43 => "accept",
            44 => "sendto",
            45 => "recvfrom",
            46 => "sendmsg",
            47 => "recvmsg",
            49 => "bind",
            50 => "listen",
            56 => "clone",
            57 => "fork",
            58 => "vfork",
            59 => "execve",
            60 => "exit",
            62 => "kill",
            76 => "truncate",
            77 => "ftruncate",
            82 => "rename",
            83 => "mkdir",
            84 => "rmdir",
            85 => "creat",
            86 => "link",
            87 => "unlink",
            88 => "symlink",
            90 => "chmod",
            91 => "fchmod",
            92 => "chown",
            93 => "fchown",
            94 => "lchown",
            101 => "ptrace",
            105 => "setuid",
            106 => "setgid",
            113 => "setreuid",
            114 => "setregid",
            117 => "setresuid",
            119 => "setresgid",
            122 => "setfsuid",
            123 => "setfsgid",
            133 => "mknod",
            135 => "personality",
            161 => "chroot",
            165 => "mount",
            166 => "umount2",
            170 => "sethostname",
            175 => "init_module",
            176 => "delete_module",
            188 => "setxattr",
            189 => "lsetxattr",
            190 => "fsetxattr",
            197 => "removexattr",
            198 => "lremovexattr",
            199 => "fremovexattr",
            200 => "tkill",
            231 => "exit_group",
            234 => "tgkill",
            257 => "openat",
            258 => "mkdirat",
            259 => "mknodat",
            260 => "fchownat",
            263 => "unlinkat",
            264 => "renameat",
            265 => "linkat",
            266 => "symlinkat",
            268 => "fchmodat",
            272 => "unshare",
            288 => "accept4",
            304 => "open_by_handle_at",
            308 => "setns",
            310 => "process_vm_readv",
            311 => "process_vm_writev",
            313 => "finit_module",
            316 => "renameat2",
            319 => "memfd_create",
            321 => "bpf",
            322 => "execveat",
            435 => "clone3",
            437 => "openat2",
            _ => return None,
        },
        "c00000b7" | "aarch64" => match nr {
            5 => "setxattr",
            6 => "lsetxattr",
            7 => "fsetxattr",
            14 => "removexattr",
            15 => "lremovexattr",
            16 => "fremovexattr",
            33 => "mknodat",
            34 => "mkdirat",
            35 => "unlinkat",
            36 => "symlinkat",
            37 => "linkat",
            38 => "renameat",
            39 => "umount2",
            40 => "mount",
            45 => "truncate",
            46 => "ftruncate",
            51 => "chroot",
            52 => "fchmod",
            53 => "fchmodat",
            54 => "fchownat",
            55 => "fchown",
            56 => "openat",
            93 => "exit",
            94 => "exit_group",
            97 => "unshare",
            105 => "init_module",
            106 => "delete_module",
            117 => "ptrace",
            129 => "kill",
            130 => "tkill",
            131 => "tgkill",
            143 => "setregid",
            144 => "setgid",
            145 => "setreuid",
            146 => "setuid",
            147 => "setresuid",
            149 => "setresgid",
            151 => "setfsuid",
            152 => "setfsgid",
            161 => "sethostname",
            198 => "socket",
            200 => "bind",
            201 => "listen",
            202 => "accept",
            203 => "connect",
            206 => "sendto",
            207 => "recvfrom",
            211 => "sendmsg",
            212 => "recvmsg",
            220 => "clone",
            221 => "execve",
            226 => "mprotect",
            242 => "accept4",
            268 => "setns",
            270 => "process_vm_readv",
            271 => "process_vm_writev",
            273 => "finit_module",
            276 => "renameat2",
            279 => "memfd_create",
            280 => "bpf",
            281 => "execveat",
            435 => "clone3",
            437 => "openat2",
            _ => return None,
        },
        "40000003" | "i386" => match nr {
            2 => "fork",
            5 => "open",
            10 => "unlink",
            11 => "execve",
            26 => "ptrace",
            37 => "kill",
            38 => "rename",
            102 => "socketcall",
            120 => "clone",
            190 => "vfork",
            213 => "setuid32",
            295 => "openat",
            301 => "unlinkat",
            358 => "execveat",
            _ => return None,
        },
        _ => return None,
    };
    Some(name)
}

/// User-space records (PAM, sshd, sudo, shadow-utils): `msg='op=... acct=... res=...'`.
fn user_record(ev: &mut Event, p: &Record) {
    let ty = p.ty.as_str();
    let res = p.get("res").and_then(outcome);
    let ok = res != Some("failure");
    let (category, action) = match ty {
        "USER_LOGIN" => (
            "authentication",
            if ok { "logged-in" } else { "logon-failed" },
        ),
        "USER_LOGOUT" => ("authentication", "logged-out"),
        "USER_AUTH" => ("authentication", "authenticated"),
        "USER_ACCT" => ("authentication", "authorized"),
        "USER_ERR" => ("authentication", "error"),
        "CRED_ACQ" => ("authentication", "credentials-acquired"),
        "CRED_REFR" => ("authentication", "credentials-refreshed"),
        "CRED_DISP" => ("authentication", "credentials-disposed"),
        "ANOM_LOGIN_FAILURES" => ("authentication", "too-many-authentication-failures"),
        "USER_START" => ("session", "session-started"),
        "USER_END" => ("session", "session-ended"),
        "LOGIN" => ("session", "login-id-changed"),
        "USER_CMD" => ("process", "sudo"),
        // auditctl changing the rules (`op=remove_rule`, `op=set` ...): tampering with audit.
        "CONFIG_CHANGE" => ("configuration", "audit-config-changed"),
        "SERVICE_START" => ("", "service-started"),
        "SERVICE_STOP" => ("", "service-stopped"),
        "USER_CHAUTHTOK" | "GRP_CHAUTHTOK" => ("iam", "password-changed"),
        "ADD_USER" => ("iam", "user-created"),
        "DEL_USER" => ("iam", "user-deleted"),
        "ADD_GROUP" => ("iam", "group-created"),
        "DEL_GROUP" => ("iam", "group-deleted"),
        "GRP_MGMT" => ("iam", "group-changed"),
        "USER_MGMT" => {
            let op = p.get("op").unwrap_or("");
            let action = if op.contains("group") && op.contains("add") {
                "group-member-added"
            } else if op.contains("group") && (op.contains("del") || op.contains("remov")) {
                "group-member-removed"
            } else {
                "user-changed"
            };
            ("iam", action)
        }
        _ => ("", ""),
    };
    if !category.is_empty() {
        ev.set(Field::EventCategory, category);
    }
    if !action.is_empty() {
        ev.set(Field::EventAction, action);
    }
    if let Some(unit) = real(p.get("unit")) {
        ev.set(Field::ServiceName, unit);
    }
    // The account a record is about: the user logging in, or the account being changed.
    // Account tools that pass a uid instead of a name write `id=`; enriched logs name it.
    let acct = real(p.get("acct"));
    let group = real(p.get("grp"));
    if category == "iam" {
        let account = acct.or_else(|| p.enriched("ID"));
        let group_record = matches!(ty, "ADD_GROUP" | "DEL_GROUP" | "GRP_MGMT" | "GRP_CHAUTHTOK");
        if group_record {
            if let Some(g) = group.or(account) {
                ev.set(Field::GroupName, g);
            }
        } else {
            if let Some(a) = account {
                ev.set(Field::UserTargetName, a);
            }
            if let Some(g) = group {
                ev.set(Field::GroupName, g);
            }
        }
    } else if let Some(a) = acct {
        // Identity-switching tools: the caller is the login user (auid), acct the account
        // switched to — except sudo's own authentication and account check, which are about
        // the caller. For sshd, login and the like acct is the user logging in.
        let exe = p.get("exe").unwrap_or("");
        let tool = exe.rsplit('/').next().unwrap_or(exe);
        let switch = matches!(
            tool,
            "su" | "runuser" | "pkexec" | "doas" | "sudo" | "sudo-rs" | "sudoedit"
        );
        let caller = tool.starts_with("sudo") && matches!(ty, "USER_AUTH" | "USER_ACCT");
        if switch && !caller {
            if p.enriched("AUID") != Some(a) {
                ev.set(Field::UserTargetName, a);
            }
        } else {
            ev.set(Field::UserName, a);
        }
    }
    // USER_LOGIN has `id=` (the uid logging in) instead of acct.
    if ty == "USER_LOGIN"
        && acct.is_none()
        && let Some(id) = p.get("id").filter(|v| !is_unset(v))
    {
        ev.set(Field::UserId, id);
        if let Some(n) = p.enriched("ID") {
            ev.set(Field::UserName, n);
        }
    }
    // For logins `hostname`/`addr` name the remote peer; account tools and sudo write the
    // local host name there, which is not a source.
    if matches!(category, "authentication" | "session") {
        let addr = real(p.get("addr"));
        let host = real(p.get("hostname"));
        if let Some(a) = addr.filter(|a| parse_ip(a).is_some()) {
            ev.set(Field::SourceIp, a);
        }
        if let Some(h) = host {
            if parse_ip(h).is_some() {
                ev.set_default(Field::SourceIp, h);
            } else {
                ev.set(Field::SourceDomain, h);
            }
        }
    }
    if let Some(t) = real(p.get("terminal")) {
        if t == "ssh" || t == "sshd" {
            ev.set(Field::NetworkProtocol, "ssh");
        }
        // A terminal device means a person at a shell; `ssh`, `cron`, `?` say nothing about it.
        if t.starts_with("/dev/") || t.starts_with("pts") || t.starts_with("tty") {
            ev.set(Field::ProcessInteractive, true);
        }
    }
    if ty == "USER_CMD"
        && let Some(cmd) = real(p.get("cmd"))
    {
        ev.set(Field::ProcessCommandLine, cmd);
    }
    if let Some(o) = res {
        ev.set(Field::EventOutcome, o);
    }
}

/// EXECVE arguments (joined with spaces; long arguments come as `aN[0]`, `aN[1]`... parts,
/// possibly over several EXECVE records), else PROCTITLE.
fn command_line(ev: &mut Event, recs: &[Record]) {
    if ev.value(Field::ProcessCommandLine).is_some() {
        return;
    }
    let mut args: Vec<String> = Vec::new();
    for r in recs.iter().filter(|r| r.ty == "EXECVE") {
        for (k, v) in &r.fields {
            if !is_arg_key(k) || k.ends_with("_len") {
                continue;
            }
            let digits = k.get(1..).unwrap_or("").split('[').next().unwrap_or("");
            let Ok(n) = digits.parse::<usize>() else {
                continue;
            };
            if n > 65_536 {
                continue;
            }
            if args.len() <= n {
                args.resize(n + 1, String::new());
            }
            if let Some(slot) = args.get_mut(n) {
                slot.push_str(v);
            }
        }
    }
    if !args.is_empty() {
        ev.set(Field::ProcessCommandLine, args.join(" "));
        return;
    }
    if let Some(t) = recs
        .iter()
        .find(|r| r.ty == "PROCTITLE")
        .and_then(|r| real(r.get("proctitle")))
    {
        ev.set(Field::ProcessCommandLine, t);
    }
}

/// The PATH item the event is about: a created or deleted entry, else the first normal one,
/// before parent directories; relative names are joined to CWD.
fn file_path(recs: &[Record]) -> Option<String> {
    let rank = |r: &Record| match r.get("nametype") {
        Some("CREATE" | "DELETE") => 0,
        Some("NORMAL") | None => 1,
        _ => 2,
    };
    // ausearch prints records last-first, so order by the item number, not the line.
    let item = recs
        .iter()
        .filter(|r| r.ty == "PATH" && real(r.get("name")).is_some())
        .min_by_key(|r| {
            let n = r.get("item").and_then(|i| i.parse::<u32>().ok());
            (rank(r), n.unwrap_or(u32::MAX))
        })?;
    let name = real(item.get("name"))?;
    if name.starts_with('/') {
        return Some(name.to_string());
    }
    let cwd = recs
        .iter()
        .find(|r| r.ty == "CWD")
        .and_then(|r| real(r.get("cwd")));
    Some(match cwd {
        Some(c) => format!(
            "{}/{}",
            c.trim_end_matches('/'),
            name.trim_start_matches("./")
        ),
        None => name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02X}")).collect()
    }

    #[test]
    fn ssh_login_then_commands_in_the_same_session() {
        let input = format!(
            "type=USER_AUTH msg=audit(1717171200.100:501): pid=2345 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 msg='op=PAM:authentication grantors=pam_unix acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 terminal=ssh res=success'\n\
             type=LOGIN msg=audit(1717171200.200:504): pid=2345 uid=0 subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 old-auid=4294967295 auid=1000 tty=(none) old-ses=4294967295 ses=7 res=1\n\
             type=SYSCALL msg=audit(1717171200.200:504): arch=c000003e syscall=1 success=yes exit=4 a0=9 a1=7ffd2c1e4f50 a2=4 a3=0 items=0 ppid=1022 pid=2345 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=7 comm=\"sshd\" exe=\"/usr/sbin/sshd\" key=(null)\n\
             type=PROCTITLE msg=audit(1717171200.200:504): proctitle=737368643A20616C696365205B707269765D\n\
             type=EOE msg=audit(1717171200.200:504): \n\
             type=USER_START msg=audit(1717171200.300:506): pid=2345 uid=0 auid=1000 ses=7 subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 msg='op=PAM:session_open grantors=pam_selinux,pam_loginuid,pam_unix acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 terminal=ssh res=success'\n\
             type=USER_LOGIN msg=audit(1717171200.400:509): pid=2345 uid=0 auid=1000 ses=7 subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 terminal=/dev/pts/0 res=success'\n\
             type=SYSCALL msg=audit(1717171260.500:520): arch=c000003e syscall=59 success=yes exit=0 a0=55d4c6f0a2b0 a1=55d4c6f0a320 a2=55d4c6ef8e30 a3=8 items=2 ppid=2360 pid=2391 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=7 comm=\"bash\" exe=\"/usr/bin/bash\" key=\"exec\"\n\
             type=EXECVE msg=audit(1717171260.500:520): argc=3 a0=\"bash\" a1=\"-c\" a2={}\n\
             type=CWD msg=audit(1717171260.500:520): cwd=\"/home/alice\"\n\
             type=PATH msg=audit(1717171260.500:520): item=0 name=\"/usr/bin/bash\" inode=1234 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL\n\
             type=PATH msg=audit(1717171260.500:520): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" inode=99 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL\n\
             type=PROCTITLE msg=audit(1717171260.500:520): proctitle={}\n\
             type=EOE msg=audit(1717171260.500:520): \n\
             type=USER_CMD msg=audit(1717171270.000:530): pid=2400 uid=1000 auid=1000 ses=7 msg='cwd=\"/home/alice\" cmd={} exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'\n",
            hex("id; hostname"),
            hex("bash\0-c\0id; hostname"),
            hex("systemctl restart nginx"),
        );
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs.len(), 6);
        let auth = &evs[0];
        assert_eq!(auth.str(Field::EventCode), Some("USER_AUTH"));
        assert_eq!(auth.str(Field::EventAction), Some("authenticated"));
        assert_eq!(auth.str(Field::UserName), Some("alice"));
        assert_eq!(auth.ip(Field::SourceIp), Some("10.0.0.5".parse().unwrap()));
        assert_eq!(auth.str(Field::EventOutcome), Some("success"));
        assert_eq!(auth.str(Field::SessionId), None);
        assert_eq!(auth.str(Field::NetworkProtocol), Some("ssh"));
        assert_eq!(auth.timestamp, 1_717_171_200_100_000_000);
        assert_eq!(
            auth.original_str("USER_AUTH.op").as_deref(),
            Some("PAM:authentication")
        );

        let login_id = &evs[1];
        assert_eq!(login_id.str(Field::EventCode), Some("LOGIN"));
        assert_eq!(login_id.str(Field::EventAction), Some("login-id-changed"));
        assert_eq!(login_id.str(Field::SessionId), Some("7"));
        assert_eq!(login_id.str(Field::UserId), Some("1000"));
        assert_eq!(
            login_id.str(Field::ProcessExecutable),
            Some("/usr/sbin/sshd")
        );
        assert_eq!(login_id.int(Field::ProcessParentPid), Some(1022));
        assert_eq!(
            login_id.str(Field::ProcessCommandLine),
            Some("sshd: alice [priv]")
        );

        assert_eq!(evs[2].str(Field::EventAction), Some("session-started"));
        assert_eq!(evs[2].str(Field::SessionId), Some("7"));
        let login = &evs[3];
        assert_eq!(login.str(Field::EventAction), Some("logged-in"));
        assert_eq!(login.str(Field::UserId), Some("1000"));
        assert_eq!(login.bool(Field::ProcessInteractive), Some(true));

        let exec = &evs[4];
        assert_eq!(exec.str(Field::EventCode), Some("SYSCALL"));
        assert_eq!(exec.str(Field::EventCategory), Some("process"));
        assert_eq!(exec.str(Field::EventAction), Some("process-started"));
        assert_eq!(exec.str(Field::SessionId), Some("7"));
        assert_eq!(exec.str(Field::UserId), Some("1000"));
        assert_eq!(exec.int(Field::ProcessPid), Some(2391));
        assert_eq!(exec.int(Field::ProcessParentPid), Some(2360));
        assert_eq!(exec.str(Field::ProcessExecutable), Some("/usr/bin/bash"));
        assert_eq!(
            exec.str(Field::ProcessCommandLine),
            Some("bash -c id; hostname")
        );
        assert_eq!(exec.bool(Field::ProcessInteractive), Some(true));
        assert_eq!(exec.str(Field::RuleName), Some("exec"));
        assert_eq!(exec.str(Field::FilePath), Some("/usr/bin/bash"));
        assert_eq!(exec.str(Field::EventOutcome), Some("success"));
        assert_eq!(
            exec.original_str("EXECVE.a2").as_deref(),
            Some("id; hostname")
        );
        assert_eq!(
            exec.original_str("PROCTITLE.proctitle").as_deref(),
            Some("bash -c id; hostname")
        );
        assert_eq!(
            exec.original_str("PATH.1.name").as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(
            exec.original("record_types")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            6
        );
        // Offset of the event's first record (the SYSCALL line).
        let first = input.find("type=SYSCALL msg=audit(1717171260").unwrap() as i64;
        assert_eq!(exec.int(Field::LogOffset), Some(first));
        assert_eq!(exec.raw.as_deref().unwrap().lines().count(), 6);

        let sudo = &evs[5];
        assert_eq!(sudo.str(Field::EventAction), Some("sudo"));
        assert_eq!(
            sudo.str(Field::ProcessCommandLine),
            Some("systemctl restart nginx")
        );
        assert_eq!(sudo.str(Field::ProcessExecutable), Some("/usr/bin/sudo"));
        assert_eq!(sudo.str(Field::SessionId), Some("7"));
        assert_eq!(sudo.str(Field::UserId), Some("1000"));
    }

    #[test]
    fn interleaved_records_join_by_serial() {
        let input = b"type=SYSCALL msg=audit(1717171300.000:600): arch=c000003e syscall=42 success=no exit=-111 items=0 ppid=1 pid=700 auid=1000 uid=1000 tty=(none) ses=3 comm=\"curl\" exe=\"/usr/bin/curl\" key=(null)\n\
type=SYSCALL msg=audit(1717171300.001:601): arch=c000003e syscall=257 success=yes exit=3 items=2 ppid=1 pid=701 auid=4294967295 uid=0 tty=(none) ses=4294967295 comm=\"vi\" exe=\"/usr/bin/vi\" key=\"shadow\"\n\
type=SOCKADDR msg=audit(1717171300.000:600): saddr=020000160A000007000000000000000000\n\
type=CWD msg=audit(1717171300.001:601): cwd=\"/etc\"\n\
type=PATH msg=audit(1717171300.001:601): item=0 name=\"/etc/\" nametype=PARENT\n\
type=PATH msg=audit(1717171300.001:601): item=1 name=\"shadow\" nametype=NORMAL\n\
type=EOE msg=audit(1717171300.001:601): \n\
type=EOE msg=audit(1717171300.000:600): \n";
        let evs = decode_ok(&FORMAT, input);
        assert_eq!(evs.len(), 2);
        let open = &evs[0];
        assert_eq!(open.str(Field::EventAction), Some("openat"));
        assert_eq!(open.str(Field::EventCategory), Some("file"));
        assert_eq!(open.str(Field::FilePath), Some("/etc/shadow"));
        assert_eq!(open.str(Field::UserId), Some("0"));
        assert_eq!(open.str(Field::SessionId), None);
        assert_eq!(open.bool(Field::ProcessInteractive), Some(false));
        assert_eq!(open.str(Field::RuleName), Some("shadow"));
        let conn = &evs[1];
        assert_eq!(conn.str(Field::EventAction), Some("connect"));
        assert_eq!(conn.str(Field::EventCategory), Some("network"));
        assert_eq!(conn.str(Field::EventOutcome), Some("failure"));
        assert_eq!(
            conn.ip(Field::DestinationIp),
            Some("10.0.0.7".parse().unwrap())
        );
        assert_eq!(conn.int(Field::DestinationPort), Some(22));
        assert_eq!(conn.str(Field::RuleName), None);
        assert_eq!(conn.int(Field::LogOffset), Some(0));
    }

    #[test]
    fn window_and_finish_flush_events_without_eoe() {
        let mut input = String::new();
        for i in 0..(WINDOW + 3) {
            input.push_str(&format!(
                "type=CONFIG_CHANGE msg=audit(1717171300.000:{}): auid=1000 ses=2 op=add_rule key=\"k\" list=4 res=1\n",
                700 + i
            ));
        }
        let mut dec = (FORMAT.decoder)();
        let mut sink = Sink::default();
        let mut offset = 0;
        for line in input.split_inclusive('\n') {
            dec.decode(line.trim_end().as_bytes(), offset, &ctx(), &mut sink);
            offset += line.len() as u64;
        }
        assert_eq!(
            sink.events.len(),
            3,
            "the oldest leave when the window is full"
        );
        dec.finish(&ctx(), &mut sink);
        assert_eq!(sink.events.len(), WINDOW + 3);
        assert_eq!(sink.events[0].str(Field::EventCode), Some("CONFIG_CHANGE"));
        assert_eq!(sink.events[0].str(Field::EventOutcome), Some("success"));
        assert_eq!(
            sink.events[0].original_str("CONFIG_CHANGE.op").as_deref(),
            Some("add_rule")
        );
    }

    #[test]
    fn enriched_node_prefix_and_account_changes() {
        let gs = '\u{1d}';
        let input = format!(
            "node=web01 type=ADD_USER msg=audit(1717171400.000:800): pid=3001 uid=0 auid=1000 ses=7 subj=unconfined msg='op=add-user acct=\"svc-backup\" exe=\"/usr/sbin/useradd\" hostname=web01 addr=? terminal=pts/0 res=success'{gs}UID=\"root\" AUID=\"alice\"\n\
             node=web01 type=USER_MGMT msg=audit(1717171400.100:801): pid=3005 uid=0 auid=1000 ses=7 msg='op=add-user-to-group grp=\"wheel\" acct=\"svc-backup\" exe=\"/usr/sbin/usermod\" hostname=web01 addr=? terminal=pts/0 res=success'{gs}UID=\"root\" AUID=\"alice\"\n\
             node=web01 type=ADD_GROUP msg=audit(1717171400.200:802): pid=3001 uid=0 auid=1000 ses=7 msg='op=add-group acct=\"backup\" exe=\"/usr/sbin/groupadd\" hostname=web01 addr=? terminal=pts/0 res=success'{gs}UID=\"root\" AUID=\"alice\"\n\
             node=web01 type=SYSCALL msg=audit(1717171400.300:803): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=3000 pid=3010 auid=1000 uid=0 tty=pts0 ses=7 comm=\"id\" exe=\"/usr/bin/id\" key=(null){gs}ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"root\"\n\
             node=web01 type=EOE msg=audit(1717171400.300:803): \n\
             node=web01 type=USER_LOGIN msg=audit(1717171400.400:804): pid=3100 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=\"(unknown)\" exe=\"/usr/sbin/sshd\" hostname=? addr=203.0.113.50 terminal=sshd res=failed'{gs}UID=\"root\" AUID=\"unset\"\n"
        );
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs.len(), 5);
        let add = &evs[0];
        assert_eq!(add.str(Field::HostName), Some("web01"));
        assert_eq!(add.str(Field::EventCategory), Some("iam"));
        assert_eq!(add.str(Field::EventAction), Some("user-created"));
        assert_eq!(add.str(Field::UserTargetName), Some("svc-backup"));
        assert_eq!(add.str(Field::UserName), Some("alice"));
        assert_eq!(add.str(Field::UserId), Some("1000"));
        assert_eq!(add.original_str("ADD_USER.AUID").as_deref(), Some("alice"));
        assert_eq!(add.original_str("node").as_deref(), Some("web01"));
        let member = &evs[1];
        assert_eq!(member.str(Field::EventAction), Some("group-member-added"));
        assert_eq!(member.str(Field::GroupName), Some("wheel"));
        assert_eq!(member.str(Field::UserTargetName), Some("svc-backup"));
        assert_eq!(evs[2].str(Field::GroupName), Some("backup"));
        assert_eq!(evs[2].str(Field::EventAction), Some("group-created"));
        let exec = &evs[3];
        assert_eq!(exec.str(Field::UserName), Some("alice"));
        assert_eq!(exec.str(Field::UserTargetName), Some("root"));
        assert_eq!(exec.str(Field::EventAction), Some("process-started"));
        let failed = &evs[4];
        assert_eq!(failed.str(Field::EventAction), Some("logon-failed"));
        assert_eq!(failed.str(Field::EventOutcome), Some("failure"));
        assert_eq!(failed.str(Field::UserName), None);
        assert_eq!(
            failed.ip(Field::SourceIp),
            Some("203.0.113.50".parse().unwrap())
        );
        assert_eq!(failed.str(Field::NetworkProtocol), Some("ssh"));
    }

    #[test]
    fn ausearch_output() {
        let input = b"----\n\
time->Sat Jun  1 10:00:00 2024\n\
type=PROCTITLE msg=audit(1717236000.100:900): proctitle=7363700066696C65007573657240686F73743A2F746D70\n\
type=PATH msg=audit(1717236000.100:900): item=0 name=\"/usr/bin/scp\" nametype=NORMAL\n\
type=EXECVE msg=audit(1717236000.100:900): argc=3 a0=\"scp\" a1=\"file\" a2=\"user@host:/tmp\"\n\
type=SYSCALL msg=audit(1717236000.100:900): arch=c000003e syscall=59 success=yes exit=0 ppid=10 pid=11 auid=1000 uid=1000 tty=pts1 ses=9 comm=\"scp\" exe=\"/usr/bin/scp\" key=(null)\n\
----\n\
type=PROCTITLE msg=audit(06/01/2024 10:00:01.200:901) : proctitle=ls -la /tmp \n\
type=SYSCALL msg=audit(06/01/2024 10:00:01.200:901) : arch=x86_64 syscall=execve success=yes exit=0 ppid=10 pid=12 auid=alice uid=alice tty=pts1 ses=9 comm=ls exe=/usr/bin/ls key=(null) \n";
        let evs = decode_ok(&FORMAT, input);
        assert_eq!(evs.len(), 2);
        assert_eq!(
            evs[0].str(Field::ProcessCommandLine),
            Some("scp file user@host:/tmp")
        );
        assert_eq!(evs[0].int(Field::LogOffset), Some(36));
        assert_eq!(evs[0].str(Field::EventCode), Some("SYSCALL"));
        let i = &evs[1];
        assert_eq!(i.timestamp, 1_717_236_001_200_000_000);
        assert_eq!(i.str(Field::UserName), Some("alice"));
        assert_eq!(i.str(Field::EventAction), Some("process-started"));
        assert_eq!(i.str(Field::ProcessCommandLine), Some("ls -la /tmp"));
    }

    #[test]
    fn long_arguments_and_hex_values() {
        let input = format!(
            "type=SYSCALL msg=audit(1717171500.000:950): arch=c00000b7 syscall=221 success=yes exit=0 items=1 ppid=1 pid=2 auid=1001 uid=1001 tty=(none) ses=5 comm={} exe=\"/usr/bin/python3\" key={}\n\
             type=EXECVE msg=audit(1717171500.000:950): argc=3 a0=\"python3\" a1=\"-c\" a2_len=12 a2[0]={} a2[1]={}\n\
             type=EOE msg=audit(1717171500.000:950): \n",
            hex("my prog"),
            hex("exec\u{1}t1059"),
            hex("print("),
            hex("'hi')"),
        );
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs.len(), 1);
        let e = &evs[0];
        assert_eq!(e.str(Field::EventAction), Some("process-started"));
        assert_eq!(
            e.str(Field::ProcessCommandLine),
            Some("python3 -c print('hi')")
        );
        assert_eq!(e.str(Field::RuleName), Some("exec,t1059"));
        assert_eq!(e.original_str("SYSCALL.comm").as_deref(), Some("my prog"));
        assert_eq!(e.bool(Field::ProcessInteractive), Some(false));
    }

    #[test]
    fn unknown_types_and_malformed_lines() {
        let input: &[u8] = b"type=AVC msg=audit(1717171600.000:990): avc:  denied  { read } for  pid=5 comm=\"x\" name=\"y\" tclass=file permissive=0\n\
              type=SYSCALL arch=c000003e syscall=59\n\
              garbage line\n\
              type=X msg=audit(abc:1): a=b\n\
              type=X msg=audit(1.0:): a=b\n\
              type=X msg=audit(1.0:5\n\
              type=FUTURE_TYPE msg=audit(1717171600.000:991): foo=bar baz=\"q\"\n\
              type=EOE msg=audit(1717171600.000:990): \n";
        let sink = crate::decode::decode_all(&FORMAT, input, &ctx());
        assert_eq!(sink.errors.len(), 5, "{:?}", sink.errors);
        let bad = memchr::memmem::find(input, b"type=SYSCALL arch").unwrap() as u64;
        assert_eq!(sink.errors[0].offset(), bad);
        assert_eq!(sink.events.len(), 2);
        let avc = sink
            .events
            .iter()
            .find(|e| e.str(Field::EventCode) == Some("AVC"))
            .unwrap();
        assert_eq!(avc.original_str("AVC.tclass").as_deref(), Some("file"));
        assert_eq!(avc.int(Field::ProcessPid), Some(5));
        let fut = sink
            .events
            .iter()
            .find(|e| e.str(Field::EventCode) == Some("FUTURE_TYPE"))
            .unwrap();
        assert_eq!(fut.original_str("FUTURE_TYPE.baz").as_deref(), Some("q"));
        for junk in [
            &b"type="[..],
            b"node=",
            b"node=x type=Y msg=audit(",
            b"type=Y msg=audit(1:2): k='unterminated",
            b"type=Y msg=audit(1:2): k=\"unterminated",
            b"type=EXECVE msg=audit(1:2): a99999999999=\"x\" a1[=4 a=ZZ",
            b"type=SOCKADDR msg=audit(1:2): saddr=0A00",
            b"type=Y msg=audit(1:2): = == ' \" \x1d \x1d=",
            b"type=Y msg=audit(1:2): a={ b=c \x1dS={ x",
            b"\xff\xfe type=",
        ] {
            let _ = crate::decode::decode_all(&FORMAT, junk, &ctx());
        }
    }

    #[test]
    fn sockaddr_ipv6_and_accept() {
        // AF_INET6 (10), port 443, flowinfo 0, 2001:db8::1, scope 0.
        let saddr = "0A0001BB0000000020010DB8000000000000000000000001000000000";
        let input = format!(
            "type=SYSCALL msg=audit(1717171700.000:1000): arch=c000003e syscall=43 success=yes exit=4 items=0 ppid=1 pid=9 auid=4294967295 uid=0 tty=(none) ses=4294967295 comm=\"sshd\" exe=\"/usr/sbin/sshd\" key=\"net\"\n\
             type=SOCKADDR msg=audit(1717171700.000:1000): saddr={}\n\
             type=EOE msg=audit(1717171700.000:1000): \n",
            &saddr[..saddr.len() - 1]
        );
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs[0].str(Field::EventAction), Some("accept"));
        assert_eq!(
            evs[0].ip(Field::SourceIp),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(evs[0].int(Field::SourcePort), Some(443));
    }

    #[test]
    fn switch_tools_config_changes_and_services() {
        let gs = '\u{1d}';
        let input = format!(
            "type=USER_AUTH msg=audit(1717171800.000:1100): pid=50 uid=1004 auid=1004 ses=5 msg='op=PAM:authentication grantors=? acct=\"root\" exe=\"/usr/bin/su\" hostname=? addr=? terminal=pts/1 res=failed'{gs}UID=\"eve\" AUID=\"eve\"\n\
             type=USER_ACCT msg=audit(1717171800.100:1101): pid=51 uid=1000 auid=1000 ses=3 msg='op=PAM:accounting grantors=pam_unix acct=\"alice\" exe=\"/usr/bin/sudo\" hostname=? addr=? terminal=/dev/pts/0 res=success'\n\
             type=CRED_REFR msg=audit(1717171800.200:1102): pid=51 uid=1000 auid=1000 ses=3 msg='op=PAM:setcred grantors=pam_unix acct=\"root\" exe=\"/usr/bin/sudo\" hostname=? addr=? terminal=/dev/pts/0 res=success'\n\
             type=CONFIG_CHANGE msg=audit(1717171800.300:1103): auid=1000 ses=3 op=remove_rule key=\"logins\" list=4 res=1\n\
             type=SYSCALL msg=audit(1717171800.300:1103): arch=c000003e syscall=44 success=yes exit=1080 items=0 ppid=40 pid=52 auid=1000 uid=0 tty=pts0 ses=3 comm=\"auditctl\" exe=\"/usr/sbin/auditctl\" key=(null)\n\
             type=EOE msg=audit(1717171800.300:1103): \n\
             type=SERVICE_START msg=audit(1717171800.400:1104): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='unit=sshd comm=\"systemd\" exe=\"/usr/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'\n\
             type=SYSCALL msg=audit(06/01/2024 10:00:01.200:1105) : arch=x86_64 syscall=accept4 success=yes exit=4 ppid=1 pid=60 auid=unset uid=root tty=(none) ses=unset comm=sshd exe=/usr/sbin/sshd key=(null)\n\
             type=SOCKADDR msg=audit(06/01/2024 10:00:01.200:1105) : saddr={{ saddr_fam=inet6 laddr=2001:db8::9 lport=50022 }}\n"
        );
        let evs = decode_ok(&FORMAT, input.as_bytes());
        assert_eq!(evs.len(), 6);
        let su = &evs[0];
        assert_eq!(su.str(Field::UserName), Some("eve"));
        assert_eq!(su.str(Field::UserId), Some("1004"));
        assert_eq!(su.str(Field::UserTargetName), Some("root"));
        assert_eq!(su.str(Field::EventOutcome), Some("failure"));
        // sudo's account check is about the caller; its credentials are the target's.
        assert_eq!(evs[1].str(Field::UserName), Some("alice"));
        assert_eq!(evs[1].str(Field::UserTargetName), None);
        assert_eq!(evs[2].str(Field::UserTargetName), Some("root"));
        assert_eq!(evs[2].str(Field::UserId), Some("1000"));
        let conf = &evs[3];
        assert_eq!(conf.str(Field::EventCode), Some("CONFIG_CHANGE"));
        assert_eq!(conf.str(Field::EventAction), Some("audit-config-changed"));
        assert_eq!(
            conf.str(Field::ProcessExecutable),
            Some("/usr/sbin/auditctl")
        );
        assert_eq!(conf.int(Field::ProcessPid), Some(52));
        assert_eq!(conf.str(Field::RuleName), None);
        let svc = &evs[4];
        assert_eq!(svc.str(Field::ServiceName), Some("sshd"));
        assert_eq!(svc.str(Field::EventAction), Some("service-started"));
        assert_eq!(svc.str(Field::UserId), None);
        let acc = &evs[5];
        assert_eq!(acc.str(Field::EventAction), Some("accept4"));
        assert_eq!(
            acc.ip(Field::SourceIp),
            Some("2001:db8::9".parse().unwrap())
        );
        assert_eq!(acc.int(Field::SourcePort), Some(50022));
        assert_eq!(acc.str(Field::UserName), Some("root"));
    }

    #[test]
    fn detection() {
        assert_eq!(
            detect(
                "audit.log",
                b"type=DAEMON_START msg=audit(1717171200.000:1): op=start\n"
            ),
            95
        );
        assert_eq!(
            detect(
                "x",
                b"node=web01 type=SYSCALL msg=audit(1717171200.000:1): arch=c000003e\n"
            ),
            95
        );
        assert_eq!(
            detect("x", b"----\ntime->Sat Jun  1 10:00:00 2024\ntype=SYSCALL msg=audit(1717171200.000:1): a=b\n"),
            95
        );
        assert_eq!(detect("x", b"Feb  9 21:19:40 h sshd[1]: x\n"), 0);
        assert_eq!(detect("x", b"{\"type\":\"SYSCALL\"}\n"), 0);
        assert_eq!(detect("x", b"type=SYSCALL but no stamp\n"), 0);
        // Syslog-forwarded audit records belong to the syslog format.
        assert_eq!(
            detect(
                "x",
                b"May  1 10:00:00 h audispd: node=h type=SYSCALL msg=audit(1.0:1): a=b\n"
            ),
            0
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_records_never_panic(lines in proptest::collection::vec(
            proptest::string::string_regex("(node=[a-z]{0,4} )?type=(SYSCALL|EXECVE|PATH|CWD|PROCTITLE|SOCKADDR|EOE|USER_LOGIN|USER_CMD|ADD_USER|X) msg=audit\\(([0-9]{1,10}\\.[0-9]{0,3}|06/01/2024 10:00:00\\.1)?:?[0-9]{0,3}\\)?:? ?([a-z0-9_\\[\\]]{1,6}=(\"[ -~]{0,8}\"?|'[ -~]{0,20}'?|\\{[ -~]{0,10}|[0-9A-F]{0,12}|[ -~]{0,6}) ?){0,6}\\x1d?[ -~]{0,10}").unwrap(),
            0..12,
        ), junk in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut input = lines.join("\n").into_bytes();
            input.push(b'\n');
            input.extend_from_slice(&junk);
            let sink = crate::decode::decode_all(&FORMAT, &input, &ctx());
            proptest::prop_assert!(sink.events.len() + sink.errors.len() <= input.len() + 1);
            let _ = detect("x", &input);
        }
    }
}

//! Linux syslog text, as written to `/var/log/auth.log` (Debian/Ubuntu), `/var/log/secure`
//! (RHEL family) and `/var/log/syslog` / `/var/log/messages`.
//!
//! Every non-empty line is one event. Three header shapes are read:
//!
//! - RFC 3164 (BSD): `[<PRI>]Mmm dd hh:mm:ss host prog[pid]: msg` (what rsyslog's traditional
//!   file format and `journalctl -o short` write). The timestamp has **no year and no zone**:
//!   it is taken as UTC, and the year is inferred from [`Context::reference_time`] (the file's
//!   modification time): a record is assumed not to be later than the reference time plus one
//!   day, so the latest year that satisfies that is chosen. A `Dec 31` record read with a
//!   January reference time therefore lands in the previous year, and `Feb 29` goes back to
//!   the latest leap year.
//! - RFC 5424: `<PRI>1 2024-05-01T10:00:00.123Z host app procid msgid [sd] msg`, structured
//!   data kept as `structured_data.<SD-ID>.<PARAM>` original fields.
//! - RFC 3339 / ISO 8601 prefixes: `2024-05-01T10:00:00.123456+02:00 host prog[pid]: msg`
//!   (rsyslog's `RSYSLOG_FileFormat`, `journalctl -o short-iso[-precise]`).
//!
//! A line without a recognisable header (the continuation of a message that contained a raw
//! newline) is still an event, stamped with the previous record's time.
//!
//! Messages of sshd, sudo, su, PAM, shadow-utils (useradd, usermod, groupadd, passwd, ...),
//! login, systemd-logind and cron are normalized (user, source address, outcome, session,
//! command line); every other line is kept as a generic event with its host, program, pid
//! and message. Field decisions:
//!
//! - `process.executable` is the syslog program name (`sshd`, `sudo`, `CRON`): the tag is all
//!   syslog says about the emitting process. It is also kept as the `program` original field.
//!   For sudo the executed command goes to `process.command_line` (as auditd's `USER_CMD`
//!   keeps `exe=/usr/bin/sudo` with the command in `cmd`).
//! - sshd lines about a connection carry `session.id` = the sshd process id: the
//!   privilege-separation monitor logs the authentication, the PAM session open/close and
//!   most disconnects of one connection under the same pid, so they join. (The listener's
//!   own lines, `Server listening on ...`, get none.) systemd-logind lines carry logind's
//!   session number, which is the audit session id (`ses`) on audited systems.
//! - `message repeated N times: [ MSG ]` is decoded as MSG, with `repeat_count` = N.
//! - Failed logins use `event.action` `logon-failed` (as winlogbeat names Windows 4625),
//!   successful ones `logged-in`.
//! - PAM `session opened for user T by B(uid=N)`: when the service is a privilege change
//!   (sudo, su, runuser, pkexec, doas) `B` is `user.name` and `T` is `user.target.name`;
//!   otherwise (sshd, login, cron, systemd-user) `T` is `user.name`, the user of the session.
//! - `event.dataset` is `system.auth` for authentication programs (sshd, sudo, su,
//!   shadow-utils, login, systemd-logind, ...) and for any PAM message, else `system.syslog`.
//!
//! References: RFC 3164, RFC 5424, OpenSSH `auth.c`/`auth2.c`/`packet.c` log messages,
//! sudo's log format (sudoers(5) "Log format"), shadow-utils and util-linux messages.

use serde_json::Value as J;

use super::{Context, DecodeError, Decoder, Format, Framing, Sink};
use crate::event::{Event, Field, Nanos, parse_ip};

/// The syslog format.
pub const FORMAT: Format = Format {
    name: "syslog",
    description: "Linux syslog / auth.log / secure (RFC 3164, RFC 5424, ISO timestamps): sshd, \
                  sudo, su, PAM, useradd, systemd-logind",
    framing: Framing::Lines,
    detect,
    decoder: || Box::new(SyslogDecoder::default()),
};

const NANOS: i64 = 1_000_000_000;
const DAY: i64 = 86_400;

type Orig = Vec<(String, J)>;

fn put(o: &mut Orig, key: &str, value: &str) {
    o.push((key.to_string(), J::String(value.to_string())));
}

// ---------------------------------------------------------------------------------------------
// Header parsing
// ---------------------------------------------------------------------------------------------

/// A header timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// A complete instant (RFC 5424, RFC 3339 prefixes).
    Absolute(Nanos),
    /// RFC 3164: no year (inferred later from the reference time), taken as UTC.
    NoYear {
        month: u32,
        day: u32,
        /// Seconds since midnight.
        secs: i64,
        nanos: i64,
    },
    /// RFC 5424 NILVALUE (`-`).
    Missing,
}

/// The parts of a syslog line.
#[derive(Debug, Clone, Copy)]
struct Header<'a> {
    stamp: Stamp,
    stamp_text: &'a str,
    pri: Option<u16>,
    rfc5424: bool,
    host: Option<&'a str>,
    program: Option<&'a str>,
    pid: Option<&'a str>,
    msgid: Option<&'a str>,
    /// Raw RFC 5424 structured data (`[id k="v"]...`), empty when none.
    sd: &'a str,
    msg: &'a str,
}

/// Byte at `i`, or 0 past the end (keeps the scanners free of bounds panics).
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn digit(b: u8) -> Option<i64> {
    b.is_ascii_digit().then(|| i64::from(b - b'0'))
}

/// Two ASCII digits at `i`.
fn two(b: &[u8], i: usize) -> Option<i64> {
    Some(digit(at(b, i))? * 10 + digit(at(b, i + 1))?)
}

fn month_number(m: &[u8]) -> Option<u32> {
    Some(match m {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil year of a day count since 1970-01-01.
fn year_from_days(z: i64) -> i64 {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

/// Resolve an RFC 3164 timestamp against the reference time: the latest year in which the
/// date exists and the instant is not later than `reference` plus one day.
fn infer_year(reference: Nanos, month: u32, day: u32, secs: i64, nanos: i64) -> Option<Nanos> {
    let ref_secs = reference.div_euclid(NANOS);
    let ref_year = year_from_days(ref_secs.div_euclid(DAY));
    let limit = ref_secs + DAY;
    // Eight years back always reaches a leap year for Feb 29.
    for year in (ref_year - 8..=ref_year + 1).rev() {
        if day == 0 || day > days_in_month(year, month) {
            continue;
        }
        let t = days_from_civil(year, month, day) * DAY + secs;
        if t <= limit {
            return t.checked_mul(NANOS)?.checked_add(nanos);
        }
    }
    None
}

/// `hh:mm:ss` at `i` → seconds since midnight.
fn hms(b: &[u8], i: usize) -> Option<i64> {
    let h = two(b, i)?;
    let m = two(b, i + 3)?;
    let s = two(b, i + 6)?;
    if at(b, i + 2) != b':' || at(b, i + 5) != b':' || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(h * 3600 + m * 60 + s.min(59))
}

/// Fraction digits at `i` (after the dot) → (nanoseconds, index after the digits).
fn fraction(b: &[u8], mut i: usize) -> Option<(i64, usize)> {
    let start = i;
    let mut nanos = 0i64;
    while let Some(d) = digit(at(b, i)) {
        if i - start < 9 {
            nanos = nanos * 10 + d;
        }
        i += 1;
    }
    if i == start {
        return None;
    }
    for _ in (i - start).min(9)..9 {
        nanos *= 10;
    }
    Some((nanos, i))
}

/// RFC 3164 `Mmm dd hh:mm:ss[.frac]` at the start of `s` → (stamp, its length).
fn parse_bsd(s: &str) -> Option<(Stamp, usize)> {
    let b = s.as_bytes();
    let month = month_number(b.get(..3)?)?;
    if at(b, 3) != b' ' {
        return None;
    }
    let mut i = 4;
    if at(b, i) == b' ' {
        i += 1;
    }
    let mut day = digit(at(b, i))?;
    i += 1;
    if let Some(d) = digit(at(b, i)) {
        day = day * 10 + d;
        i += 1;
    }
    if at(b, i) != b' ' || !(1..=31).contains(&day) {
        return None;
    }
    let secs = hms(b, i + 1)?;
    i += 9;
    let mut nanos = 0;
    if at(b, i) == b'.' {
        (nanos, i) = fraction(b, i + 1)?;
    }
    if i < b.len() && at(b, i) != b' ' {
        return None;
    }
    let day = u32::try_from(day).ok()?;
    Some((
        Stamp::NoYear {
            month,
            day,
            secs,
            nanos,
        },
        i,
    ))
}

/// RFC 3339 / ISO 8601 `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm|±hhmm]` at the start of `s`,
/// followed by a space or the end → (nanoseconds UTC, its length). No zone means UTC.
fn parse_iso(s: &str) -> Option<(Nanos, usize)> {
    let b = s.as_bytes();
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let month = two(b, 5)?;
    let day = two(b, 8)?;
    if at(b, 4) != b'-' || at(b, 7) != b'-' || at(b, 10) != b'T' {
        return None;
    }
    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    let day = u32::try_from(day).ok()?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let secs = hms(b, 11)?;
    let mut i = 19;
    let mut nanos = 0;
    if at(b, i) == b'.' || at(b, i) == b',' {
        (nanos, i) = fraction(b, i + 1)?;
    }
    let mut offset = 0i64;
    match at(b, i) {
        b'Z' | b'z' => i += 1,
        sign @ (b'+' | b'-') => {
            let h = two(b, i + 1)?;
            let (m, len) = if at(b, i + 3) == b':' {
                (two(b, i + 4)?, 6)
            } else {
                (two(b, i + 3)?, 5)
            };
            offset = (h * 3600 + m * 60) * if sign == b'+' { 1 } else { -1 };
            i += len;
        }
        _ => {}
    }
    if i < b.len() && at(b, i) != b' ' {
        return None;
    }
    let t = days_from_civil(year, month, day) * DAY + secs - offset;
    Some((t.checked_mul(NANOS)?.checked_add(nanos)?, i))
}

/// `<PRI>` prefix → (priority, rest).
fn split_pri(line: &str) -> (Option<u16>, &str) {
    let b = line.as_bytes();
    if at(b, 0) != b'<' {
        return (None, line);
    }
    let Some(close) = b.iter().take(5).position(|c| *c == b'>') else {
        return (None, line);
    };
    match line
        .get(1..close)
        .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|d| d.parse::<u16>().ok())
        .filter(|p| *p <= 191)
    {
        Some(p) => (Some(p), line.get(close + 1..).unwrap_or("")),
        None => (None, line),
    }
}

/// First space-separated word and what follows the single space after it.
fn word(s: &str) -> (&str, &str) {
    match s.split_once(' ') {
        Some((w, rest)) => (w, rest),
        None => (s, ""),
    }
}

/// `prog[pid]:` / `prog:` / `prog[pid]` → (program, pid).
fn parse_tag(token: &str) -> Option<(&str, Option<&str>)> {
    let t = token.strip_suffix(':').unwrap_or(token);
    if let Some(open) = t.find('[') {
        let pid = t.get(open + 1..)?.strip_suffix(']')?;
        let prog = t.get(..open)?;
        return (!prog.is_empty()).then_some((prog, Some(pid)));
    }
    // A bare program needs its colon, else it is the first word of the message.
    (token.ends_with(':') && !t.is_empty() && !t.contains(['=', '(', '"'])).then_some((t, None))
}

/// After an RFC 3164 / ISO timestamp: `host prog[pid]: msg`, where the host may be missing
/// (two spaces, or the tag right after the time) and the tag may be missing.
fn host_and_tag(after: &str) -> (Option<&str>, Option<&str>, Option<&str>, &str) {
    let Some(r) = after.strip_prefix(' ') else {
        return (None, None, None, after.trim_start());
    };
    let (host, r) = if r.starts_with(' ') {
        (None, r.trim_start_matches(' '))
    } else {
        let (first, rest) = word(r);
        if first.ends_with(':') && parse_tag(first).is_some() {
            (None, r)
        } else {
            (Some(first), rest.trim_start_matches(' '))
        }
    };
    let (tag, msg) = word(r);
    match parse_tag(tag) {
        Some((prog, pid)) => (host, Some(prog), pid, msg.trim_start_matches(' ')),
        None => (host, None, None, r),
    }
}

fn nil(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

/// End (exclusive) of RFC 5424 structured data starting with `[` at 0.
fn sd_end(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let mut in_quote = false;
    while i < b.len() {
        match at(b, i) {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            // `][` continues with the next SD-ELEMENT.
            b']' if !in_quote && at(b, i + 1) != b'[' => return i + 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn parse_5424(pri: Option<u16>, r: &str) -> Option<Header<'_>> {
    let (ts, r) = word(r);
    let stamp = if ts == "-" {
        Stamp::Missing
    } else {
        let (t, len) = parse_iso(ts)?;
        if len != ts.len() {
            return None;
        }
        Stamp::Absolute(t)
    };
    let (host, r) = word(r);
    let (app, r) = word(r);
    let (procid, r) = word(r);
    let (msgid, r) = word(r);
    let (sd, msg) = if r.starts_with('[') {
        let end = sd_end(r);
        (r.get(..end).unwrap_or(r), r.get(end..).unwrap_or(""))
    } else {
        let (nilsd, msg) = word(r);
        if nilsd != "-" {
            return None;
        }
        ("", msg)
    };
    let msg = msg.strip_prefix(' ').unwrap_or(msg);
    let msg = msg
        .strip_prefix('\u{feff}')
        .unwrap_or(msg)
        .trim_start_matches(' ');
    Some(Header {
        stamp,
        stamp_text: ts,
        pri,
        rfc5424: true,
        host: nil(host),
        program: nil(app),
        pid: nil(procid),
        msgid: nil(msgid),
        sd,
        msg,
    })
}

fn parse_header(line: &str) -> Option<Header<'_>> {
    let (pri, rest) = split_pri(line);
    if pri.is_some()
        && let Some(r) = rest.strip_prefix("1 ")
    {
        return parse_5424(pri, r);
    }
    let (stamp, len) = if let Some((stamp, len)) = parse_bsd(rest) {
        (stamp, len)
    } else {
        let (t, len) = parse_iso(rest)?;
        (Stamp::Absolute(t), len)
    };
    let stamp_text = rest.get(..len)?;
    let (host, program, pid, msg) = host_and_tag(rest.get(len..)?);
    Some(Header {
        stamp,
        stamp_text,
        pri,
        rfc5424: false,
        host,
        program,
        pid,
        msgid: None,
        sd: "",
        msg,
    })
}

/// RFC 5424 structured data → `structured_data.<id>.<param>` originals (values unescaped).
fn push_sd(sd: &str, o: &mut Orig) {
    let mut rest = sd;
    while let Some(r) = rest.strip_prefix('[') {
        let id_end = r.find([' ', ']']).unwrap_or(r.len());
        let id = r.get(..id_end).unwrap_or("");
        let mut p = r.get(id_end..).unwrap_or("");
        loop {
            p = p.trim_start_matches(' ');
            if let Some(after) = p.strip_prefix(']') {
                rest = after;
                break;
            }
            let Some((name, v)) = p.split_once("=\"") else {
                return;
            };
            let mut value = String::new();
            let mut chars = v.char_indices();
            let mut end = v.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            if !matches!(n, '"' | '\\' | ']') {
                                value.push('\\');
                            }
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            o.push((
                format!("structured_data.{id}.{}", name.trim()),
                J::String(value),
            ));
            p = v.get(end..).unwrap_or("");
            if p.is_empty() {
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/// Programs whose messages are authentication / account events (`system.auth`).
fn is_auth_program(p: &str) -> bool {
    p.starts_with("sshd")
        || matches!(
            p,
            "sudo"
                | "su"
                | "login"
                | "systemd-logind"
                | "useradd"
                | "usermod"
                | "userdel"
                | "groupadd"
                | "groupmod"
                | "groupdel"
                | "gpasswd"
                | "passwd"
                | "chpasswd"
                | "chage"
                | "chfn"
                | "chsh"
                | "newusers"
                | "runuser"
                | "pkexec"
                | "polkitd"
                | "doas"
                | "unix_chkpwd"
                | "sssd"
                | "gdm-password"
                | "lightdm"
        )
}

fn detect(_name: &str, head: &[u8]) -> u8 {
    if super::json::head_is_json_object(head) {
        return 0;
    }
    let (mut seen, mut parsed, mut known) = (0u32, 0u32, false);
    for line in head
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(10)
    {
        seen += 1;
        let Ok(s) = std::str::from_utf8(line) else {
            continue;
        };
        // A program tag (or a full RFC 5424 header) is required: other timestamp-led formats
        // (Falco text, CSV exports) do not have `host prog[pid]:` after the time.
        if let Some(h) = parse_header(s.trim_end_matches('\r'))
            && (h.program.is_some() || h.rfc5424)
        {
            parsed += 1;
            let p = h.program.unwrap_or("");
            known |= is_auth_program(p) || matches!(p, "CRON" | "cron" | "crond");
        }
    }
    if parsed == 0 || parsed * 2 < seen {
        0
    } else if known {
        80
    } else {
        60
    }
}

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

/// Per-input state: the last record's time, for header-less continuation lines.
#[derive(Debug, Default)]
struct SyslogDecoder {
    last_ts: Option<Nanos>,
}

impl Decoder for SyslogDecoder {
    fn decode(&mut self, record: &[u8], offset: u64, ctx: &Context, out: &mut Sink) {
        let line = super::text(record, out);
        let line = line.trim_end();
        if line.is_empty() {
            return;
        }
        let header = parse_header(line);
        let ts = match header.map(|h| h.stamp) {
            Some(Stamp::Absolute(t)) => Some(t),
            Some(Stamp::NoYear {
                month,
                day,
                secs,
                nanos,
            }) => infer_year(ctx.reference_time, month, day, secs, nanos),
            Some(Stamp::Missing) | None => self.last_ts,
        };
        let Some(ts) = ts else {
            out.errors.push(DecodeError::Timestamp {
                offset,
                reason: match header {
                    Some(h) => format!("syslog time {:?} cannot be placed", h.stamp_text),
                    None => "no syslog header and no earlier record".into(),
                },
            });
            return;
        };
        self.last_ts = Some(ts);
        let mut ev = Event::new(ts);
        ev.set(Field::EventModule, "system");
        let mut o: Orig = Vec::with_capacity(12);
        let auth = match header {
            Some(h) => {
                fill_header(&h, &mut ev, &mut o);
                interpret(&mut ev, &mut o, h.program.unwrap_or(""), h.pid, h.msg)
            }
            None => {
                ev.set(Field::Message, line.trim_start());
                put(&mut o, "message", line.trim_start());
                false
            }
        };
        ev.set(
            Field::EventDataset,
            if auth { "system.auth" } else { "system.syslog" },
        );
        ev.original = o;
        ev.set_raw(line);
        ctx.stamp(&mut ev, offset);
        out.events.push(ev);
    }
}

fn fill_header(h: &Header<'_>, ev: &mut Event, o: &mut Orig) {
    put(o, "timestamp", h.stamp_text);
    if let Some(p) = h.pri {
        // RFC 5424 section 6.2.1: PRI = facility * 8 + severity.
        o.push(("priority".into(), J::from(p)));
        o.push(("facility".into(), J::from(p / 8)));
        o.push(("severity".into(), J::from(p % 8)));
    }
    if h.rfc5424 {
        o.push(("version".into(), J::from(1)));
    }
    if let Some(host) = h.host {
        put(o, "hostname", host);
        ev.set(Field::HostName, host);
    }
    if let Some(p) = h.program {
        put(o, "program", p);
        ev.set(Field::ProcessExecutable, p);
    }
    if let Some(pid) = h.pid {
        put(o, "pid", pid);
        ev.set(Field::ProcessPid, pid);
    }
    if let Some(m) = h.msgid {
        put(o, "msgid", m);
    }
    if !h.sd.is_empty() {
        push_sd(h.sd, o);
    }
    put(o, "message", h.msg);
    ev.set(Field::Message, h.msg);
}

// ---------------------------------------------------------------------------------------------
// Message interpretation
// ---------------------------------------------------------------------------------------------

/// Normalize a message by program. Returns whether it is an authentication-log event.
fn interpret(ev: &mut Event, o: &mut Orig, prog: &str, pid: Option<&str>, msg: &str) -> bool {
    // rsyslog / syslog-ng repeat compression: `message repeated 5 times: [ Failed password ...]`
    // stands for five identical lines; the inner message is what happened.
    let msg = match repeated(msg) {
        Some((n, inner)) => {
            put(o, "repeat_count", n);
            inner
        }
        None => msg,
    };
    let mut auth = is_auth_program(prog);
    if let Some(rest) = msg.strip_prefix("pam_") {
        pam(ev, o, rest);
        auth = true;
    }
    if prog.starts_with("sshd") {
        sshd(ev, o, msg);
        // Only lines about a connection: the listener's own messages (`Server listening`,
        // `Received signal 15`) come from the master sshd, which is no session.
        if let Some(pid) = pid
            && ev.value(Field::EventAction).is_some()
        {
            ev.set(Field::SessionId, pid);
        }
        if ev.value(Field::SourceIp).is_some() || ev.value(Field::SourceDomain).is_some() {
            ev.set(Field::NetworkProtocol, "ssh");
        }
    } else {
        match prog {
            "sudo" => sudo(ev, o, msg),
            "su" => su(ev, msg),
            "systemd-logind" => logind(ev, msg),
            "login" => login(ev, msg),
            "CRON" | "cron" | "crond" => cron(ev, msg),
            "useradd" | "usermod" | "userdel" | "groupadd" | "groupmod" | "groupdel"
            | "gpasswd" | "passwd" | "chpasswd" | "chage" | "chfn" | "chsh" | "newusers" => {
                shadow(ev, o, msg)
            }
            _ => {}
        }
    }
    auth
}

fn repeated(msg: &str) -> Option<(&str, &str)> {
    let rest = msg.strip_prefix("message repeated ")?;
    let (n, rest) = rest.split_once(" times: [")?;
    let inner = rest.strip_suffix(']').unwrap_or(rest).trim();
    n.bytes().all(|b| b.is_ascii_digit()).then_some((n, inner))
}

/// Set the source address: an IP when it parses, else a host name (sshd with `UseDNS yes`,
/// PAM `rhost`).
fn set_source(ev: &mut Event, addr: &str) {
    let addr = addr.trim_end_matches([':', ',']);
    if parse_ip(addr).is_some() {
        ev.set(Field::SourceIp, addr);
    } else if !addr.is_empty() && addr != "UNKNOWN" && addr != "?" {
        ev.set(Field::SourceDomain, addr);
    }
}

fn set_port(ev: &mut Event, port: Option<&str>) {
    if let Some(p) = port {
        ev.set(Field::SourcePort, p.trim_end_matches([':', ',']));
    }
}

fn auth_event(ev: &mut Event, action: &str, success: bool) {
    ev.set(Field::EventCategory, "authentication");
    ev.set(Field::EventAction, action);
    ev.set(
        Field::EventOutcome,
        if success { "success" } else { "failure" },
    );
}

/// `USER from ADDR [port N] TAIL` → (user, addr, port, tail). The last ` from ` is used, so a
/// user name that itself contains ` from ` is kept whole.
fn user_from(s: &str) -> Option<(&str, &str, Option<&str>, &str)> {
    let i = s.rfind(" from ")?;
    let user = s.get(..i)?;
    let (addr, after) = word(s.get(i + 6..)?);
    match after.strip_prefix("port ") {
        Some(r) => {
            let (port, tail) = word(r);
            Some((user, addr, Some(port), tail))
        }
        None => Some((user, addr, None, after)),
    }
}

/// Split a trailing ` port N` off.
fn split_port(s: &str) -> (&str, Option<&str>) {
    if let Some(i) = s.rfind(" port ")
        && let Some(p) = s.get(i + 6..)
        && !p.is_empty()
        && p.bytes().all(|b| b.is_ascii_digit())
    {
        return (s.get(..i).unwrap_or(s), Some(p));
    }
    (s, None)
}

/// `[authenticating user U |invalid user U |user U ]ADDR[ port N]` (sshd's connection
/// closing messages) → (user, invalid, addr, port).
fn who_at(s: &str) -> (Option<&str>, bool, &str, Option<&str>) {
    let (s, port) = split_port(s.trim());
    let (before, addr) = s.rsplit_once(' ').unwrap_or(("", s));
    let (user, invalid) = if let Some(u) = before.strip_prefix("invalid user") {
        (Some(u.trim_start_matches(' ')), true)
    } else if let Some(u) = before.strip_prefix("authenticating user") {
        (Some(u.trim_start_matches(' ')), false)
    } else if let Some(u) = before.strip_prefix("user") {
        (Some(u.trim_start_matches(' ')), false)
    } else {
        (None, false)
    };
    (user, invalid, addr, port)
}

fn set_who(ev: &mut Event, o: &mut Orig, s: &str) {
    let (user, invalid, addr, port) = who_at(s);
    if let Some(u) = user {
        ev.set(Field::UserName, u);
    }
    if invalid {
        o.push(("invalid_user".into(), J::Bool(true)));
    }
    set_source(ev, addr);
    set_port(ev, port);
}

/// OpenSSH server messages (auth.c, auth2.c, sshd.c, packet.c, serverloop.c, session.c).
fn sshd(ev: &mut Event, o: &mut Orig, msg: &str) {
    let msg = msg
        .strip_prefix("error: ")
        .or_else(|| msg.strip_prefix("fatal: "))
        .unwrap_or(msg);
    let msg = msg.strip_suffix(" [preauth]").unwrap_or(msg).trim_end();

    // `Accepted publickey for bob from 10.0.0.5 port 50522 ssh2: ED25519 SHA256:...`
    // `Failed password for invalid user admin from 203.0.113.9 port 41000 ssh2`
    let login = msg
        .strip_prefix("Accepted ")
        .map(|r| (true, r))
        .or_else(|| msg.strip_prefix("Failed ").map(|r| (false, r)));
    if let Some((ok, rest)) = login
        && let Some((method, rest)) = rest.split_once(" for ")
        && let Some((user, addr, port, tail)) = user_from(rest)
    {
        auth_event(ev, if ok { "logged-in" } else { "logon-failed" }, ok);
        let user = match user.strip_prefix("invalid user ") {
            Some(u) => {
                o.push(("invalid_user".into(), J::Bool(true)));
                u
            }
            None => user,
        };
        ev.set(Field::UserName, user);
        set_source(ev, addr);
        set_port(ev, port);
        ev.set(Field::AuthPackage, method);
        if let Some((_, key)) = tail.split_once(": ") {
            let (key_type, fp) = word(key);
            put(o, "key_type", key_type);
            put(o, "key_fingerprint", word(fp).0);
        }
        return;
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        auth_event(ev, "invalid-user", false);
        o.push(("invalid_user".into(), J::Bool(true)));
        // `Invalid user  from ADDR` (empty name) leaves `rest` starting with ` from `.
        if let Some((user, addr, port, _)) = user_from(rest) {
            ev.set(Field::UserName, user);
            set_source(ev, addr);
            set_port(ev, port);
        }
        return;
    }
    if let Some(user) = msg.strip_prefix("input_userauth_request: invalid user ") {
        auth_event(ev, "invalid-user", false);
        o.push(("invalid_user".into(), J::Bool(true)));
        ev.set(Field::UserName, user);
        return;
    }
    // `maximum authentication attempts exceeded for root from 203.0.113.9 port 2222 ssh2`
    if let Some(rest) = msg.strip_prefix("maximum authentication attempts exceeded for ") {
        auth_event(ev, "too-many-authentication-failures", false);
        if let Some((user, addr, port, _)) = user_from(rest) {
            let user = match user.strip_prefix("invalid user ") {
                Some(u) => {
                    o.push(("invalid_user".into(), J::Bool(true)));
                    u
                }
                None => user,
            };
            ev.set(Field::UserName, user);
            set_source(ev, addr);
            set_port(ev, port);
        }
        return;
    }
    // Old: `Disconnecting: Too many authentication failures for root`
    // New: `Disconnecting invalid user admin 203.0.113.9 port 4000: Too many authentication failures`
    if let Some(rest) = msg.strip_prefix("Disconnecting") {
        if let Some(r) = rest.strip_prefix(": ") {
            if let Some(user) = r.strip_prefix("Too many authentication failures for ") {
                auth_event(ev, "too-many-authentication-failures", false);
                ev.set(Field::UserName, user);
            } else if r.starts_with("Too many authentication failures") {
                auth_event(ev, "too-many-authentication-failures", false);
            }
        } else if let Some((who, reason)) = rest.trim_start().split_once(": ") {
            if reason.starts_with("Too many authentication failures") {
                auth_event(ev, "too-many-authentication-failures", false);
            } else {
                ev.set(Field::EventCategory, "network");
                ev.set(Field::EventAction, "disconnected");
            }
            set_who(ev, o, who);
            put(o, "reason", reason);
        }
        return;
    }
    for (prefix, action) in [
        ("Connection closed by ", "connection-closed"),
        ("Connection reset by ", "connection-reset"),
        ("Disconnected from ", "disconnected"),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            // `Connection reset by peer` (fatal: Read from socket failed) names no address.
            if rest == "peer" {
                return;
            }
            ev.set(Field::EventCategory, "network");
            ev.set(Field::EventAction, action);
            set_who(ev, o, rest);
            return;
        }
    }
    // `Received disconnect from 198.51.100.7 port 50522:11: disconnected by user`
    // (older: `Received disconnect from 10.0.2.2: 11: disconnected by user`)
    if let Some(rest) = msg.strip_prefix("Received disconnect from ") {
        ev.set(Field::EventCategory, "network");
        ev.set(Field::EventAction, "disconnected");
        let (head, reason) = split_disconnect(rest);
        let (addr, port) = split_port(head);
        set_source(ev, addr);
        set_port(ev, port);
        if !reason.is_empty() {
            put(o, "reason", reason);
        }
        return;
    }
    if let Some(rest) = msg.strip_prefix("Did not receive identification string from ") {
        ev.set(Field::EventCategory, "network");
        ev.set(Field::EventAction, "no-identification");
        let (addr, port) = split_port(rest);
        set_source(ev, addr);
        set_port(ev, port);
        return;
    }
    // `Connection from 198.51.100.7 port 50522 on 10.0.0.4 port 22 rdomain ""` (VERBOSE)
    if let Some(rest) = msg.strip_prefix("Connection from ")
        && let Some((src, dst)) = rest.split_once(" on ")
    {
        ev.set(Field::EventCategory, "network");
        ev.set(Field::EventAction, "connection-started");
        let (addr, port) = split_port(src);
        set_source(ev, addr);
        set_port(ev, port);
        let dst = dst.split(" rdomain").next().unwrap_or(dst);
        let (daddr, dport) = split_port(dst);
        ev.set(Field::DestinationIp, daddr);
        if let Some(p) = dport {
            ev.set(Field::DestinationPort, p);
        }
        return;
    }
    // `reverse mapping checking getaddrinfo for NAME [IP] failed - POSSIBLE BREAK-IN ATTEMPT!`
    if let Some(rest) = msg.strip_prefix("reverse mapping checking getaddrinfo for ") {
        ev.set(Field::EventCategory, "network");
        ev.set(Field::EventAction, "reverse-mapping-failed");
        if let Some((name, r)) = rest.split_once(" [")
            && let Some((ip, _)) = r.split_once(']')
        {
            ev.set(Field::SourceDomain, name);
            set_source(ev, ip);
        }
        return;
    }
    // `Address IP maps to NAME, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!`
    if let Some(rest) = msg.strip_prefix("Address ")
        && let Some((ip, r)) = rest.split_once(" maps to ")
    {
        ev.set(Field::EventCategory, "network");
        ev.set(Field::EventAction, "reverse-mapping-failed");
        set_source(ev, ip);
        if let Some((name, _)) = r.split_once(',') {
            ev.set(Field::SourceDomain, name);
        }
        return;
    }
    // `User bob from 198.51.100.7 not allowed because not listed in AllowUsers`
    if let Some(rest) = msg.strip_prefix("User ")
        && let Some((head, reason)) = rest.split_once(" not allowed because ")
        && let Some((user, addr, _, _)) = user_from(head)
    {
        auth_event(ev, "logon-failed", false);
        ev.set(Field::UserName, user);
        set_source(ev, addr);
        put(o, "reason", reason);
        return;
    }
    // `subsystem request for sftp by user bob`
    if let Some(rest) = msg.strip_prefix("subsystem request for ") {
        ev.set(Field::EventCategory, "session");
        ev.set(Field::EventAction, "subsystem-request");
        let (sub, user) = match rest.split_once(" by user ") {
            Some((s, u)) => (s, Some(u)),
            None => (rest, None),
        };
        put(o, "subsystem", sub);
        if let Some(u) = user {
            ev.set(Field::UserName, u);
        }
        return;
    }
    // `Starting session: shell on pts/0 for bob from 198.51.100.7 port 50522 id 0` (VERBOSE)
    if let Some(rest) = msg.strip_prefix("Starting session: ")
        && let Some(i) = rest.rfind(" for ")
        && let Some((user, addr, port, _)) = user_from(rest.get(i + 5..).unwrap_or(""))
    {
        ev.set(Field::EventCategory, "session");
        ev.set(Field::EventAction, "session-started");
        ev.set(Field::UserName, user);
        set_source(ev, addr);
        set_port(ev, port);
        let kind = rest.get(..i).unwrap_or("");
        put(o, "session_type", kind);
        ev.set(Field::ProcessInteractive, kind.contains(" on "));
        return;
    }
    // `PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=...`
    if let Some(rest) = msg.strip_prefix("PAM ")
        && let Some((count, kv)) = rest.split_once(" more authentication failure")
    {
        auth_event(ev, "logon-failed", false);
        put(o, "failures", count);
        let kv = kv.split_once(';').map_or("", |(_, k)| k);
        pam_kv(ev, o, kv);
    }
}

/// `ADDR[ port N]:CODE: REASON` / `ADDR: CODE: REASON` → (address part, reason).
fn split_disconnect(s: &str) -> (&str, &str) {
    // A port-qualified address ends before the first colon after ` port `; IPv6 addresses
    // contain colons but never `: `.
    if let Some(i) = s.find(" port ") {
        let after = s.get(i + 6..).unwrap_or("");
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let end = i + 6 + digits;
        let reason = s.get(end..).unwrap_or("").trim_start_matches(':').trim();
        return (s.get(..end).unwrap_or(s), reason);
    }
    match s.split_once(": ") {
        Some((a, r)) => (a, r.trim()),
        None => (s.trim_end_matches(':'), ""),
    }
}

/// PAM `key=value` lists (`logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root`).
fn pam_kv(ev: &mut Event, o: &mut Orig, kv: &str) {
    for pair in kv.split_ascii_whitespace() {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        put(o, k, v);
        match k {
            "user" => ev.set(Field::UserName, v),
            "rhost" => set_source(ev, v),
            _ => {}
        }
    }
}

/// Services whose PAM sessions switch identity: the `by` user acts, the `for` user is the
/// target.
fn is_switch_service(service: &str) -> bool {
    matches!(
        service,
        "sudo" | "sudo-i" | "su" | "su-l" | "runuser" | "runuser-l" | "pkexec" | "doas"
    )
}

/// `user(uid=N)` → (user, uid).
fn name_uid(s: &str) -> (&str, Option<&str>) {
    match s.split_once("(uid=") {
        Some((n, u)) => (n, Some(u.trim_end_matches(')'))),
        None => (s, None),
    }
}

/// `pam_MODULE(SERVICE:TYPE): REST` (the `pam_` prefix already removed).
fn pam(ev: &mut Event, o: &mut Orig, rest: &str) {
    let Some((module, rest)) = rest.split_once('(') else {
        return;
    };
    let Some((svc, rest)) = rest.split_once("): ") else {
        return;
    };
    let (service, kind) = svc.split_once(':').unwrap_or((svc, ""));
    put(o, "pam.module", &format!("pam_{module}"));
    put(o, "pam.service", service);
    put(o, "pam.type", kind);
    if let Some(r) = rest.strip_prefix("session opened for user ") {
        ev.set(Field::EventCategory, "session");
        ev.set(Field::EventAction, "session-opened");
        ev.set(Field::EventOutcome, "success");
        let (target, by) = r.split_once(" by ").unwrap_or((r, ""));
        let (target, target_uid) = name_uid(target.trim());
        let (by, by_uid) = name_uid(by.trim());
        if !by.is_empty() && is_switch_service(service) {
            ev.set(Field::UserName, by);
            ev.set(Field::UserTargetName, target);
            if let Some(u) = by_uid {
                ev.set(Field::UserId, u);
            }
        } else {
            ev.set(Field::UserName, target);
            if let Some(u) = target_uid {
                ev.set(Field::UserId, u);
            }
        }
    } else if let Some(r) = rest.strip_prefix("session closed for user ") {
        ev.set(Field::EventCategory, "session");
        ev.set(Field::EventAction, "session-closed");
        ev.set(Field::EventOutcome, "success");
        let user = name_uid(r.trim()).0;
        ev.set(
            if is_switch_service(service) {
                Field::UserTargetName
            } else {
                Field::UserName
            },
            user,
        );
    } else if let Some(kv) = rest.strip_prefix("authentication failure;") {
        auth_event(ev, "logon-failed", false);
        pam_kv(ev, o, kv);
    } else if let Some(user) = rest.strip_prefix("password changed for ") {
        ev.set(Field::EventCategory, "iam");
        ev.set(Field::EventAction, "password-changed");
        ev.set(Field::EventOutcome, "success");
        ev.set(Field::UserTargetName, user.trim());
    }
}

/// sudo's log line (sudoers(5), "Log format"):
/// `USER : [ERROR ; ]TTY=pts/0 ; PWD=/home/u ; USER=root ; [GROUP=g ; ][ENV=... ; ]COMMAND=cmd`.
fn sudo(ev: &mut Event, o: &mut Orig, msg: &str) {
    let Some((user, rest)) = msg.split_once(" : ") else {
        return;
    };
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return;
    }
    ev.set(Field::UserName, user);
    if rest.starts_with("(command continued)") {
        put(
            o,
            "command_continued",
            rest.trim_start_matches("(command continued)").trim(),
        );
        return;
    }
    let mut error = None;
    let mut tty = None;
    let mut rest = rest;
    loop {
        // COMMAND is last and may itself contain ` ; `.
        let (part, next) = if rest.starts_with("COMMAND=") {
            (rest, None)
        } else {
            match rest.split_once(" ; ") {
                Some((p, n)) => (p, Some(n)),
                None => (rest, None),
            }
        };
        match part.split_once('=') {
            Some((k, v)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase()) => {
                put(o, k, v);
                match k {
                    "TTY" => tty = Some(v),
                    "USER" => ev.set(Field::UserTargetName, v),
                    "COMMAND" => ev.set(Field::ProcessCommandLine, v),
                    _ => {}
                }
            }
            _ if error.is_none() => error = Some(part.trim()),
            _ => {}
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    if tty.is_none() && error.is_none() {
        return; // not a sudo command line
    }
    ev.set(Field::EventCategory, "process");
    ev.set(Field::EventAction, "sudo");
    if let Some(t) = tty {
        ev.set(Field::ProcessInteractive, t != "unknown");
    }
    match error {
        Some(e) => {
            put(o, "error", e);
            ev.set(Field::EventOutcome, "failure");
        }
        None => ev.set(Field::EventOutcome, "success"),
    }
}

/// shadow-utils su (`Successful su for T by U`, `+ TTY U:T`) and util-linux su
/// (`(to T) U on TTY`, `FAILED SU (to T) U on TTY`).
fn su(ev: &mut Event, msg: &str) {
    fn set(ev: &mut Event, ok: bool, user: &str, target: &str) {
        auth_event(ev, "su", ok);
        ev.set(Field::UserName, user);
        ev.set(Field::UserTargetName, target);
    }
    for (prefix, ok) in [("Successful su for ", true), ("FAILED su for ", false)] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((target, user)) = rest.split_once(" by ")
        {
            set(ev, ok, user, target);
            return;
        }
    }
    for (prefix, ok) in [("+ ", true), ("- ", false)] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((tty, pair)) = rest.split_once(' ')
            && let Some((user, target)) = pair.split_once(':')
        {
            set(ev, ok, user, target);
            ev.set(Field::ProcessInteractive, tty.starts_with("/dev/"));
            return;
        }
    }
    let (ok, rest) = match msg.strip_prefix("FAILED SU ") {
        Some(r) => (false, r),
        None => (true, msg),
    };
    if let Some(rest) = rest.strip_prefix("(to ")
        && let Some((target, rest)) = rest.split_once(") ")
    {
        let (user, tty) = rest.split_once(" on ").unwrap_or((rest, ""));
        set(ev, ok, user, target);
        if !tty.is_empty() {
            ev.set(Field::ProcessInteractive, tty != "none");
        }
    }
}

/// Text between the first pair of single quotes after `s`'s start.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let r = s.strip_prefix('\'')?;
    r.split_once('\'')
}

fn iam(ev: &mut Event, action: &str) {
    ev.set(Field::EventCategory, "iam");
    ev.set(Field::EventAction, action);
    ev.set(Field::EventOutcome, "success");
}

/// shadow-utils account management messages (useradd, usermod, groupadd, passwd, chage, ...).
fn shadow(ev: &mut Event, o: &mut Orig, msg: &str) {
    // `new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0`
    let kv = |o: &mut Orig, s: &str| -> Option<String> {
        let mut name = None;
        for part in s.split(", ") {
            if let Some((k, v)) = part.split_once('=') {
                put(o, k.trim(), v.trim());
                if k.trim() == "name" {
                    name = Some(v.trim().to_string());
                }
            }
        }
        name
    };
    if let Some(rest) = msg.strip_prefix("new user: ") {
        iam(ev, "user-created");
        if let Some(n) = kv(o, rest) {
            ev.set(Field::UserTargetName, n);
        }
        return;
    }
    let group_created = msg.strip_prefix("new group: ").or_else(|| {
        msg.split_once("group added to ")
            .and_then(|(_, r)| r.split_once(": ").map(|(_, kv)| kv))
    });
    if let Some(rest) = group_created {
        iam(ev, "group-created");
        if let Some(n) = kv(o, rest) {
            ev.set(Field::GroupName, n);
        }
        return;
    }
    // usermod/useradd: `add 'bob' to group 'sudo'`, `add 'bob' to shadow group 'sudo'`,
    // `delete 'bob' from group 'sudo'`.
    for (prefix, sep, action) in [
        ("add ", " to ", "group-member-added"),
        ("delete ", " from ", "group-member-removed"),
    ] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((user, rest)) = quoted(rest)
            && let Some(rest) = rest.strip_prefix(sep)
        {
            let rest = rest.strip_prefix("shadow ").unwrap_or(rest);
            if let Some(g) = rest.strip_prefix("group ")
                && let Some((group, _)) = quoted(g)
            {
                iam(ev, action);
                ev.set(Field::UserTargetName, user);
                ev.set(Field::GroupName, group);
                return;
            }
        }
    }
    // gpasswd: `user bob added by root to group sudo`, `user bob removed by root from group sudo`
    if let Some(rest) = msg.strip_prefix("user ") {
        for (verb, sep, action) in [
            (" added by ", " to group ", "group-member-added"),
            (" removed by ", " from group ", "group-member-removed"),
        ] {
            if let Some((user, r)) = rest.split_once(verb)
                && let Some((actor, group)) = r.split_once(sep)
            {
                iam(ev, action);
                ev.set(Field::UserTargetName, user);
                ev.set(Field::UserName, actor);
                ev.set(Field::GroupName, group);
                return;
            }
        }
    }
    // userdel: `delete user 'bob'`; groupdel / userdel: `removed group 'bob' owned by 'bob'`,
    // `group 'bob' removed`.
    if let Some(rest) = msg.strip_prefix("delete user ")
        && let Some((user, _)) = quoted(rest)
    {
        iam(ev, "user-deleted");
        ev.set(Field::UserTargetName, user);
        return;
    }
    let removed = msg
        .strip_prefix("removed group ")
        .or_else(|| msg.strip_prefix("removed shadow group "))
        .or_else(|| msg.strip_prefix("group "));
    if let Some(rest) = removed
        && let Some((group, tail)) = quoted(rest)
        && (msg.starts_with("removed") || tail.starts_with(" removed"))
    {
        iam(ev, "group-deleted");
        ev.set(Field::GroupName, group);
        return;
    }
    // passwd: `password for 'bob' changed by 'root'`
    if let Some(rest) = msg.strip_prefix("password for ")
        && let Some((user, rest)) = quoted(rest)
    {
        iam(ev, "password-changed");
        ev.set(Field::UserTargetName, user);
        if let Some(by) = rest.strip_prefix(" changed by ")
            && let Some((actor, _)) = quoted(by)
        {
            ev.set(Field::UserName, actor);
        }
        return;
    }
    // usermod: `change user 'bob' password`, `change user 'bob' shell from ... to ...`,
    // `lock user 'bob' password`; chfn: `changed user 'bob' information`;
    // chage: `changed password expiry for bob`.
    for prefix in [
        "change user ",
        "changed user ",
        "lock user ",
        "unlock user ",
    ] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((user, what)) = quoted(rest)
        {
            iam(
                ev,
                if what.trim() == "password" && prefix == "change user " {
                    "password-changed"
                } else {
                    "user-changed"
                },
            );
            ev.set(Field::UserTargetName, user);
            return;
        }
    }
    if let Some(user) = msg.strip_prefix("changed password expiry for ") {
        iam(ev, "user-changed");
        ev.set(Field::UserTargetName, user.trim());
    }
}

/// systemd-logind: `New session 12 of user bob.`, `Removed session 12.`,
/// `Session 12 logged out. Waiting for processes to exit.`
fn logind(ev: &mut Event, msg: &str) {
    if let Some(rest) = msg.strip_prefix("New session ")
        && let Some((id, user)) = rest.split_once(" of user ")
    {
        ev.set(Field::EventCategory, "session");
        ev.set(Field::EventAction, "session-opened");
        ev.set(Field::EventOutcome, "success");
        ev.set(Field::SessionId, id);
        ev.set(Field::UserName, user.trim_end_matches('.'));
    } else if let Some(rest) = msg.strip_prefix("Removed session ") {
        ev.set(Field::EventCategory, "session");
        ev.set(Field::EventAction, "session-closed");
        ev.set(Field::SessionId, rest.trim_end_matches('.'));
    } else if let Some(rest) = msg.strip_prefix("Session ")
        && let Some((id, _)) = rest.split_once(" logged out")
    {
        ev.set(Field::EventCategory, "session");
        ev.set(Field::EventAction, "logged-out");
        ev.set(Field::SessionId, id);
    }
}

/// util-linux / shadow login: `ROOT LOGIN ON tty1`, `LOGIN ON tty1 BY bob`,
/// `FAILED LOGIN (1) on '/dev/tty1' FOR 'bob', Authentication failure`.
fn login(ev: &mut Event, msg: &str) {
    let unquote = |s: &str| s.trim().trim_matches(['\'', '"']).to_string();
    if msg.starts_with("ROOT LOGIN") {
        auth_event(ev, "logged-in", true);
        ev.set(Field::UserName, "root");
        ev.set(Field::ProcessInteractive, true);
    } else if let Some(rest) = msg.strip_prefix("LOGIN ON ")
        && let Some((_, user)) = rest.split_once(" BY ")
    {
        auth_event(ev, "logged-in", true);
        let user = user.split(" FROM ").next().unwrap_or(user);
        ev.set(Field::UserName, unquote(user));
        ev.set(Field::ProcessInteractive, true);
    } else if msg.starts_with("FAILED LOGIN") {
        auth_event(ev, "logon-failed", false);
        if let Some((_, r)) = msg.split_once(" FOR ") {
            let user = r.split(',').next().unwrap_or(r);
            ev.set(Field::UserName, unquote(user));
        }
        if let Some((_, r)) = msg
            .split_once(" FROM ")
            .or_else(|| msg.split_once(" from "))
        {
            let host = unquote(r.split([' ', ',']).next().unwrap_or(r));
            set_source(ev, &host);
        }
    }
}

/// cron: `(root) CMD (command)`.
fn cron(ev: &mut Event, msg: &str) {
    if let Some(rest) = msg.strip_prefix('(')
        && let Some((user, cmd)) = rest.split_once(") CMD (")
    {
        ev.set(Field::EventCategory, "process");
        ev.set(Field::EventAction, "cron-command");
        ev.set(Field::UserName, user);
        ev.set(
            Field::ProcessCommandLine,
            cmd.strip_suffix(')').unwrap_or(cmd),
        );
        ev.set(Field::ProcessInteractive, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testing::{ctx, decode_ok};
    use crate::event::parse_timestamp;

    fn one(line: &str) -> Event {
        let mut evs = decode_ok(&FORMAT, line.as_bytes());
        assert_eq!(evs.len(), 1, "{line}");
        evs.remove(0)
    }

    fn ts(s: &str) -> Nanos {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn rfc3164_header_and_year_inference() {
        // Reference time is 2024-06-01T00:00:00Z.
        let e = one("Feb  9 21:19:40 web01 sshd[8317]: Server listening on 0.0.0.0 port 22.");
        assert_eq!(e.timestamp, ts("2024-02-09T21:19:40Z"));
        assert_eq!(e.str(Field::HostName), Some("web01"));
        assert_eq!(e.int(Field::ProcessPid), Some(8317));
        assert_eq!(e.str(Field::ProcessExecutable), Some("sshd"));
        assert_eq!(e.original_str("program").as_deref(), Some("sshd"));
        assert_eq!(e.str(Field::EventDataset), Some("system.auth"));
        assert_eq!(e.str(Field::EventModule), Some("system"));
        // A December record with a June reference is from the previous December... no:
        // December 2024 would be later than June 2024, so it is December 2023.
        let e = one("Dec 31 23:59:59 web01 cron[1]: x");
        assert_eq!(e.timestamp, ts("2023-12-31T23:59:59Z"));
        // Up to one day ahead of the reference stays in the reference year (clock skew).
        let e = one("Jun  1 12:00:00 web01 cron[1]: x");
        assert_eq!(e.timestamp, ts("2024-06-01T12:00:00Z"));
    }

    #[test]
    fn year_inference_at_year_boundaries() {
        let jan = ts("2025-01-02T08:00:00Z");
        assert_eq!(
            infer_year(jan, 12, 31, 23 * 3600, 0),
            Some(ts("2024-12-31T23:00:00Z"))
        );
        let dec31 = ts("2024-12-31T23:00:00Z");
        assert_eq!(
            infer_year(dec31, 1, 1, 1800, 0),
            Some(ts("2025-01-01T00:30:00Z"))
        );
        // Feb 29 goes back to the latest leap year.
        assert_eq!(
            infer_year(ts("2023-06-01T00:00:00Z"), 2, 29, 0, 0),
            Some(ts("2020-02-29T00:00:00Z"))
        );
        assert_eq!(year_from_days(days_from_civil(2000, 2, 29)), 2000);
        assert_eq!(year_from_days(-1), 1969);
    }

    #[test]
    fn iso_and_rfc5424_headers() {
        let e = one(
            "2024-05-01T10:00:00.123456+02:00 db02 sshd[912]: Accepted password for carol from 2001:db8::7 port 50022 ssh2",
        );
        assert_eq!(e.timestamp, ts("2024-05-01T08:00:00.123456Z"));
        assert_eq!(e.str(Field::HostName), Some("db02"));
        assert_eq!(e.ip(Field::SourceIp), Some("2001:db8::7".parse().unwrap()));
        assert_eq!(e.str(Field::EventAction), Some("logged-in"));

        let e = one(
            "<38>1 2024-05-01T10:00:00.123Z bastion sshd 4242 - [origin ip=\"10.1.1.1\" x=\"a\\\"b\\]\"][meta seq=\"7\"] \u{feff}Failed password for root from 198.51.100.20 port 4022 ssh2",
        );
        assert_eq!(e.timestamp, ts("2024-05-01T10:00:00.123Z"));
        assert_eq!(e.int(Field::ProcessPid), Some(4242));
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.original_str("facility").as_deref(), Some("4"));
        assert_eq!(e.original_str("severity").as_deref(), Some("6"));
        assert_eq!(
            e.original_str("structured_data.origin.x").as_deref(),
            Some("a\"b]")
        );
        assert_eq!(
            e.original_str("structured_data.meta.seq").as_deref(),
            Some("7")
        );
        assert_eq!(e.str(Field::UserName), Some("root"));

        let e = one("<13>1 2024-05-01T10:00:00Z - - - - - hello");
        assert_eq!(e.str(Field::Message), Some("hello"));
        assert_eq!(e.str(Field::HostName), None);

        // journalctl -o short-iso: offset without colon.
        let e = one("2024-05-01T10:00:00+0200 h kernel: x");
        assert_eq!(e.timestamp, ts("2024-05-01T08:00:00Z"));
        // <PRI> with an RFC 3164 body.
        let e = one("<86>May  1 10:00:00 h su: (to root) alice on pts/1");
        assert_eq!(e.original_str("priority").as_deref(), Some("86"));
        assert_eq!(e.str(Field::UserTargetName), Some("root"));
    }

    #[test]
    fn missing_host_and_tag() {
        let e = one("Feb 22 10:21:43  sshd[1332]: last message repeated 2 times");
        assert_eq!(e.str(Field::HostName), None);
        assert_eq!(e.str(Field::ProcessExecutable), Some("sshd"));
        assert_eq!(e.str(Field::Message), Some("last message repeated 2 times"));
        let e = one("Feb 22 10:21:43 sshd[1332]: hello");
        assert_eq!(e.str(Field::HostName), None);
        assert_eq!(e.int(Field::ProcessPid), Some(1332));
        let e = one("Feb 22 10:21:43 web01 last message repeated 3 times");
        assert_eq!(e.str(Field::HostName), Some("web01"));
        assert_eq!(e.str(Field::ProcessExecutable), None);
        assert_eq!(e.str(Field::Message), Some("last message repeated 3 times"));
        assert_eq!(e.str(Field::EventDataset), Some("system.syslog"));
    }

    #[test]
    fn sshd_logins() {
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2201]: Accepted publickey for deploy from 10.20.0.5 port 52814 ssh2: ED25519 SHA256:q3Vb0yW8bYq7rK2nQn1S2b8mJ4Q0nqg8Qh8cTn0fX2Y",
        );
        assert_eq!(e.str(Field::EventCategory), Some("authentication"));
        assert_eq!(e.str(Field::EventAction), Some("logged-in"));
        assert_eq!(e.str(Field::EventOutcome), Some("success"));
        assert_eq!(e.str(Field::UserName), Some("deploy"));
        assert_eq!(e.ip(Field::SourceIp), Some("10.20.0.5".parse().unwrap()));
        assert_eq!(e.int(Field::SourcePort), Some(52814));
        assert_eq!(e.str(Field::AuthPackage), Some("publickey"));
        assert_eq!(e.str(Field::SessionId), Some("2201"));
        assert_eq!(e.str(Field::NetworkProtocol), Some("ssh"));
        assert_eq!(e.original_str("key_type").as_deref(), Some("ED25519"));
        assert!(
            e.original_str("key_fingerprint")
                .unwrap()
                .starts_with("SHA256:")
        );

        let e = one(
            "Mar  3 09:12:01 web01 sshd[2201]: Accepted keyboard-interactive/pam for bob from 10.0.0.9 port 1 ssh2",
        );
        assert_eq!(e.str(Field::AuthPackage), Some("keyboard-interactive/pam"));

        let e = one(
            "Mar  3 09:12:01 web01 sshd[2202]: Failed password for invalid user from from 203.0.113.4 port 4000 ssh2",
        );
        assert_eq!(e.str(Field::EventAction), Some("logon-failed"));
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.str(Field::UserName), Some("from"));
        assert_eq!(e.original("invalid_user"), Some(&J::Bool(true)));

        let e = one(
            "Mar  3 09:12:01 web01 sshd[2202]: message repeated 5 times: [ Failed password for root from 203.0.113.4 port 4000 ssh2]",
        );
        assert_eq!(e.str(Field::UserName), Some("root"));
        assert_eq!(e.original_str("repeat_count").as_deref(), Some("5"));

        let e =
            one("Mar  3 09:12:01 web01 sshd[2203]: Invalid user oracle from 203.0.113.4 port 4100");
        assert_eq!(e.str(Field::EventAction), Some("invalid-user"));
        assert_eq!(e.str(Field::UserName), Some("oracle"));
        assert_eq!(e.int(Field::SourcePort), Some(4100));
        let e = one("Mar  3 09:12:01 web01 sshd[2203]: Invalid user  from 203.0.113.4");
        assert_eq!(e.str(Field::UserName), None);
        assert_eq!(e.ip(Field::SourceIp), Some("203.0.113.4".parse().unwrap()));

        let e = one(
            "Mar  3 09:12:01 web01 sshd[2204]: error: maximum authentication attempts exceeded for invalid user admin from 2001:db8::99 port 2222 ssh2 [preauth]",
        );
        assert_eq!(
            e.str(Field::EventAction),
            Some("too-many-authentication-failures")
        );
        assert_eq!(e.str(Field::UserName), Some("admin"));
        assert_eq!(e.ip(Field::SourceIp), Some("2001:db8::99".parse().unwrap()));
    }

    #[test]
    fn sshd_connections() {
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2205]: Connection closed by authenticating user root 198.51.100.3 port 41122 [preauth]",
        );
        assert_eq!(e.str(Field::EventAction), Some("connection-closed"));
        assert_eq!(e.str(Field::UserName), Some("root"));
        assert_eq!(e.ip(Field::SourceIp), Some("198.51.100.3".parse().unwrap()));
        assert_eq!(e.int(Field::SourcePort), Some(41122));
        let e =
            one("Mar  3 09:12:01 web01 sshd[2205]: Connection closed by 198.51.100.3 [preauth]");
        assert_eq!(e.ip(Field::SourceIp), Some("198.51.100.3".parse().unwrap()));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2205]: Connection reset by invalid user test 2001:db8::5 port 22 [preauth]",
        );
        assert_eq!(e.str(Field::EventAction), Some("connection-reset"));
        assert_eq!(e.str(Field::UserName), Some("test"));
        assert_eq!(e.ip(Field::SourceIp), Some("2001:db8::5".parse().unwrap()));
        let e =
            one("Mar  3 09:12:01 web01 sshd[2205]: Disconnected from user bob 10.0.0.8 port 50000");
        assert_eq!(e.str(Field::EventAction), Some("disconnected"));
        assert_eq!(e.str(Field::UserName), Some("bob"));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2205]: Received disconnect from 10.0.0.8 port 50000:11: disconnected by user",
        );
        assert_eq!(e.ip(Field::SourceIp), Some("10.0.0.8".parse().unwrap()));
        assert_eq!(e.int(Field::SourcePort), Some(50000));
        assert_eq!(
            e.original_str("reason").as_deref(),
            Some("11: disconnected by user")
        );
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2205]: Received disconnect from 2001:db8::5: 11: Bye Bye [preauth]",
        );
        assert_eq!(e.ip(Field::SourceIp), Some("2001:db8::5".parse().unwrap()));
        assert_eq!(e.original_str("reason").as_deref(), Some("11: Bye Bye"));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2206]: reverse mapping checking getaddrinfo for scan.example.net [192.0.2.50] failed - POSSIBLE BREAK-IN ATTEMPT!",
        );
        assert_eq!(e.str(Field::EventAction), Some("reverse-mapping-failed"));
        assert_eq!(e.str(Field::SourceDomain), Some("scan.example.net"));
        assert_eq!(e.ip(Field::SourceIp), Some("192.0.2.50".parse().unwrap()));
        let e = one("Mar  3 09:12:01 web01 sshd[2207]: subsystem request for sftp by user deploy");
        assert_eq!(e.str(Field::EventAction), Some("subsystem-request"));
        assert_eq!(e.str(Field::UserName), Some("deploy"));
        assert_eq!(e.original_str("subsystem").as_deref(), Some("sftp"));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2208]: Connection from 198.51.100.3 port 41122 on 10.0.0.4 port 22 rdomain \"\"",
        );
        assert_eq!(
            e.ip(Field::DestinationIp),
            Some("10.0.0.4".parse().unwrap())
        );
        assert_eq!(e.int(Field::DestinationPort), Some(22));
        assert_eq!(e.str(Field::NetworkDirection), Some("inbound"));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2209]: Disconnecting invalid user admin 192.0.2.7 port 4000: Too many authentication failures [preauth]",
        );
        assert_eq!(
            e.str(Field::EventAction),
            Some("too-many-authentication-failures")
        );
        assert_eq!(e.str(Field::UserName), Some("admin"));
        assert_eq!(e.ip(Field::SourceIp), Some("192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn pam_lines() {
        let e = one(
            "Mar  3 09:12:01 web01 sshd[2201]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
        );
        assert_eq!(e.str(Field::EventAction), Some("session-opened"));
        assert_eq!(e.str(Field::UserName), Some("deploy"));
        assert_eq!(e.str(Field::UserId), Some("1001"));
        assert_eq!(e.str(Field::SessionId), Some("2201"));
        assert_eq!(e.original_str("pam.service").as_deref(), Some("sshd"));
        let e = one(
            "Mar  3 09:12:01 web01 sudo: pam_unix(sudo:session): session opened for user root(uid=0) by deploy(uid=1001)",
        );
        assert_eq!(e.str(Field::UserName), Some("deploy"));
        assert_eq!(e.str(Field::UserTargetName), Some("root"));
        assert_eq!(e.str(Field::UserId), Some("1001"));
        let e =
            one("Mar  3 09:12:01 web01 sudo: pam_unix(sudo:session): session closed for user root");
        assert_eq!(e.str(Field::EventAction), Some("session-closed"));
        assert_eq!(e.str(Field::UserTargetName), Some("root"));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[77]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.9  user=root",
        );
        assert_eq!(e.str(Field::EventAction), Some("logon-failed"));
        assert_eq!(e.str(Field::UserName), Some("root"));
        assert_eq!(e.ip(Field::SourceIp), Some("192.0.2.9".parse().unwrap()));
        assert_eq!(e.original_str("tty").as_deref(), Some("ssh"));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[77]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=host.example.org",
        );
        assert_eq!(e.str(Field::SourceDomain), Some("host.example.org"));
        let e = one(
            "Mar  3 09:12:01 web01 CRON[5]: pam_unix(cron:session): session opened for user root by (uid=0)",
        );
        assert_eq!(e.str(Field::EventDataset), Some("system.auth"));
        assert_eq!(e.str(Field::UserName), Some("root"));
        let e = one(
            "Mar  3 09:12:01 web01 passwd[9]: pam_unix(passwd:chauthtok): password changed for eve",
        );
        assert_eq!(e.str(Field::EventAction), Some("password-changed"));
        assert_eq!(e.str(Field::UserTargetName), Some("eve"));
        let e = one(
            "Mar  3 09:12:01 web01 sshd[77]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.9  user=root",
        );
        assert_eq!(e.str(Field::EventAction), Some("logon-failed"));
        assert_eq!(e.original_str("failures").as_deref(), Some("2"));
    }

    #[test]
    fn sudo_lines() {
        let e = one(
            "Mar  3 09:13:00 web01 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/sh -c echo a ; echo b",
        );
        assert_eq!(e.str(Field::EventAction), Some("sudo"));
        assert_eq!(e.str(Field::EventOutcome), Some("success"));
        assert_eq!(e.str(Field::UserName), Some("deploy"));
        assert_eq!(e.str(Field::UserTargetName), Some("root"));
        assert_eq!(
            e.str(Field::ProcessCommandLine),
            Some("/bin/sh -c echo a ; echo b")
        );
        assert_eq!(e.bool(Field::ProcessInteractive), Some(true));
        assert_eq!(e.original_str("PWD").as_deref(), Some("/home/deploy"));
        let e = one(
            "Mar  3 09:13:00 web01 sudo: eve : 3 incorrect password attempts ; TTY=unknown ; PWD=/tmp ; USER=root ; COMMAND=/bin/ls",
        );
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.bool(Field::ProcessInteractive), Some(false));
        assert_eq!(
            e.original_str("error").as_deref(),
            Some("3 incorrect password attempts")
        );
        let e = one(
            "Mar  3 09:13:00 web01 sudo: eve : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/ls",
        );
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        let e = one(
            "Mar  3 09:13:00 web01 sudo: unable to execute /usr/sbin/sendmail: No such file or directory",
        );
        assert_eq!(e.str(Field::EventAction), None);
        assert_eq!(e.str(Field::EventDataset), Some("system.auth"));
    }

    #[test]
    fn su_shadow_logind_login_cron() {
        let e = one("Mar  3 09:14:00 web01 su[4496]: Successful su for app by root");
        assert_eq!(e.str(Field::EventAction), Some("su"));
        assert_eq!(e.str(Field::UserName), Some("root"));
        assert_eq!(e.str(Field::UserTargetName), Some("app"));
        let e = one("Mar  3 09:14:00 web01 su[4496]: - /dev/pts/1 eve:root");
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        let e = one("Mar  3 09:14:00 web01 su[4496]: FAILED SU (to root) eve on pts/1");
        assert_eq!(e.str(Field::EventOutcome), Some("failure"));
        assert_eq!(e.str(Field::UserName), Some("eve"));

        let e = one(
            "Mar  3 09:15:00 web01 useradd[5001]: new user: name=svc-backup, UID=1002, GID=1002, home=/home/svc-backup, shell=/bin/bash, from=/dev/pts/0",
        );
        assert_eq!(e.str(Field::EventCategory), Some("iam"));
        assert_eq!(e.str(Field::EventAction), Some("user-created"));
        assert_eq!(e.str(Field::UserTargetName), Some("svc-backup"));
        assert_eq!(e.original_str("UID").as_deref(), Some("1002"));
        let e = one(
            "Mar  3 09:15:00 web01 groupadd[5000]: group added to /etc/group: name=svc-backup, GID=1002",
        );
        assert_eq!(e.str(Field::EventAction), Some("group-created"));
        assert_eq!(e.str(Field::GroupName), Some("svc-backup"));
        let e = one("Mar  3 09:15:00 web01 usermod[5003]: add 'svc-backup' to shadow group 'sudo'");
        assert_eq!(e.str(Field::EventAction), Some("group-member-added"));
        assert_eq!(e.str(Field::GroupName), Some("sudo"));
        assert_eq!(e.str(Field::UserTargetName), Some("svc-backup"));
        let e = one("Mar  3 09:15:00 web01 gpasswd[5004]: user eve added by root to group docker");
        assert_eq!(e.str(Field::EventAction), Some("group-member-added"));
        assert_eq!(e.str(Field::UserName), Some("root"));
        assert_eq!(e.str(Field::GroupName), Some("docker"));
        let e = one("Mar  3 09:15:00 web01 userdel[5005]: delete user 'eve'");
        assert_eq!(e.str(Field::EventAction), Some("user-deleted"));
        let e = one("Mar  3 09:15:00 web01 groupdel[5006]: group 'eve' removed");
        assert_eq!(e.str(Field::EventAction), Some("group-deleted"));
        let e = one("Mar  3 09:15:00 web01 passwd[5007]: password for 'eve' changed by 'root'");
        assert_eq!(e.str(Field::EventAction), Some("password-changed"));
        assert_eq!(e.str(Field::UserName), Some("root"));
        let e = one(
            "Mar  3 09:15:00 web01 usermod[5008]: change user 'eve' shell from '/bin/sh' to '/bin/bash'",
        );
        assert_eq!(e.str(Field::EventAction), Some("user-changed"));

        let e = one("Mar  3 09:16:00 web01 systemd-logind[610]: New session 12 of user deploy.");
        assert_eq!(e.str(Field::SessionId), Some("12"));
        assert_eq!(e.str(Field::UserName), Some("deploy"));
        assert_eq!(e.str(Field::EventAction), Some("session-opened"));
        let e = one("Mar  3 09:16:00 web01 systemd-logind[610]: Removed session 12.");
        assert_eq!(e.str(Field::SessionId), Some("12"));

        let e = one(
            "Mar  3 09:16:00 web01 login[700]: FAILED LOGIN (1) on '/dev/tty1' FOR 'eve', Authentication failure",
        );
        assert_eq!(e.str(Field::EventAction), Some("logon-failed"));
        assert_eq!(e.str(Field::UserName), Some("eve"));
        let e = one("Mar  3 09:16:00 web01 login[700]: ROOT LOGIN  on '/dev/tty1'");
        assert_eq!(e.str(Field::UserName), Some("root"));

        let e = one(
            "Mar  3 09:17:01 web01 CRON[900]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
        );
        assert_eq!(e.str(Field::EventAction), Some("cron-command"));
        assert_eq!(e.str(Field::EventDataset), Some("system.syslog"));
    }

    #[test]
    fn every_line_is_an_event() {
        let evs = decode_ok(
            &FORMAT,
            b"Mar  3 09:12:01 web01 kernel: [  1.0] a\n\n    continuation without header\nMar  3 09:12:02 web01 app: b\n",
        );
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[1].timestamp, evs[0].timestamp);
        assert_eq!(
            evs[1].str(Field::Message),
            Some("continuation without header")
        );
    }

    #[test]
    fn malformed_input_gives_errors_not_panics() {
        let sink = crate::decode::decode_all(&FORMAT, b"no header at all\n", &ctx());
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].offset(), 0);
        let sink = crate::decode::decode_all(&FORMAT, b"Feb 30 10:00:00 h p: x\n", &ctx());
        assert_eq!(sink.errors.len(), 1);
        for junk in [
            &b"<"[..],
            b"<999>1 x",
            b"<1>1 - - - - - [unterminated \"x",
            b"<1>1 - - - - - [a b=\"c\\",
            b"Jan",
            b"Jan 1",
            b"Jan 1 10:00",
            b"2024-13-01T00:00:00Z h p: x",
            b"2024-02-01T00:00:00+0 h p: x",
            b"Mar  3 09:12:01 h sshd[1]: Accepted",
            b"Mar  3 09:12:01 h sshd[1]: Received disconnect from ",
            b"Mar  3 09:12:01 h sudo:  : ",
            b"Mar  3 09:12:01 h su: + ",
            b"Mar  3 09:12:01 h useradd[1]: add '",
            b"Mar  3 09:12:01 h x[: y",
            b"\xff\xfe\x00",
        ] {
            let _ = crate::decode::decode_all(&FORMAT, junk, &ctx());
        }
    }

    #[test]
    fn detection() {
        let auth =
            b"Feb  9 21:19:40 precise32 sshd[8317]: subsystem request for sftp by user vagrant\n";
        assert_eq!(detect("auth.log", auth), 80);
        assert_eq!(
            detect("x", b"2024-05-01T10:00:00.123456+02:00 h nginx[1]: GET /\n"),
            60
        );
        assert_eq!(
            detect("x", b"<34>1 2024-05-01T10:00:00Z h app - - - hi\n"),
            60
        );
        // Not syslog: auditd, Zeek TSV, VPC flow logs, JSON, Falco text output.
        assert_eq!(
            detect(
                "audit.log",
                b"type=SYSCALL msg=audit(1717171200.123:456): arch=c000003e syscall=59\n"
            ),
            0
        );
        assert_eq!(
            detect("conn.log", b"#separator \\x09\n#set_separator\t,\n"),
            0
        );
        assert_eq!(
            detect("vpc", b"2 123456789010 eni-1 10.0.1.5 10.0.2.9 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK\n"),
            0
        );
        assert_eq!(detect("x.json", b"{\"ts\":\"2024-05-01T10:00:00Z\"}\n"), 0);
        assert_eq!(
            detect(
                "falco",
                b"2024-05-01T10:00:00.123456789+0000: Warning Shell spawned\n"
            ),
            0
        );
        assert_eq!(detect("x", b"1717171200.123\tCabc\t10.0.0.1\n"), 0);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_lines_never_panic(lines in proptest::collection::vec(
            proptest::string::string_regex("(<[0-9]{1,3}>(1 )?)?(Mar  4 09:0[0-9]:1[0-9]|2024-05-01T10:00:0[0-9](\\.[0-9]{1,9})?([+-][0-9]{2}:?[0-9]{2}|Z)?|-) ?[a-z0-9: ]{0,8} ?(sshd|sudo|su|useradd|usermod|systemd-logind|login|CRON|pam)?(\\[[0-9]{0,5}\\]?)?:? ?(Accepted |Failed |Invalid user |Connection closed by |Received disconnect from |pam_unix\\(sshd:session\\): |message repeated 2 times: \\[ |add '|new user: |New session |\\(to |FAILED |PAM 2 more |Disconnecting )?[ -~]{0,40}").unwrap(),
            0..8,
        ), junk in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut input = lines.join("\n").into_bytes();
            input.push(b'\n');
            input.extend_from_slice(&junk);
            let sink = crate::decode::decode_all(&FORMAT, &input, &ctx());
            // Every line with a placeable header becomes an event; nothing panics.
            proptest::prop_assert!(sink.events.len() + sink.errors.len() <= input.len() + 1);
            let _ = detect("x", &input);
        }
    }
}

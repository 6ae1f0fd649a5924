//! Activities: what happened, written as every log that saw it.
//!
//! A [`Sim`] holds the file registry, the PRNG and the per-host counters real logs carry
//! (Windows record numbers, sshd and process ids, audit serials and sessions). Its methods
//! append the records one activity produces — a TCP connection as Hubble observes it (SYN,
//! SYN-ACK, FIN), an SSH login as sshd, PAM, logind and auditd write it — to [`Sim::out`].
//! The sample day and the scale generator are both written with these, so a record shape is
//! defined once.
//!
//! File layout (relative to the output directory):
//!
//! | what | path |
//! |---|---|
//! | Hubble exporter, per node | `k8s/hubble/<node>.json` |
//! | Tetragon export, per node | `k8s/tetragon/<node>.json` |
//! | Falco alerts | `k8s/falco/alerts.json` |
//! | sshd / auth syslog | `linux/<host>/auth.log` (cluster nodes: `k8s/nodes/<node>/auth.log`) |
//! | auditd | `linux/<host>/audit.log` |
//! | winlogbeat, per host | `windows/<HOST>/winlogbeat.ndjson` |
//! | Zeek, per sensor and log | `zeek/<sensor>/<log>.log` (TSV or JSON per sensor) |
//! | VPC flow logs | `aws/vpcflowlogs/<account>_vpcflowlogs_<region>_<id>.log` |

use std::collections::HashMap;
use std::fmt::Write;

use super::format::{self, Channel, Pod, TcpFlags, WinHost, ZeekLog, ZeekRec, Zv};
use super::rng::Rng;
use super::{FileKind, Files, Record};
use crate::event::Nanos;

/// Nanoseconds per second.
pub const SEC: Nanos = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const MS: Nanos = 1_000_000;

/// A Kubernetes node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Node name (`ip-10-20-3-41.eu-west-1.compute.internal`).
    pub name: String,
    /// Short name, for file names (`ip-10-20-3-41`).
    pub short: String,
    /// Address.
    pub ip: String,
    /// Hubble's `cluster/node` name.
    pub hubble: String,
}

impl Node {
    /// A node of `cluster` at `ip` in `region`.
    pub fn new(cluster: &str, ip: &str, region: &str) -> Node {
        let short = format!("ip-{}", ip.replace('.', "-"));
        let name = format!("{short}.{region}.compute.internal");
        Node {
            hubble: format!("{cluster}/{name}"),
            name,
            short,
            ip: ip.to_string(),
        }
    }
}

/// A Linux machine with sshd (and maybe auditd).
#[derive(Debug, Clone)]
pub struct LinuxHost {
    /// Host name as syslog writes it.
    pub name: String,
    /// Address.
    pub ip: String,
    /// Directory under the output (`linux/app-02`, `k8s/nodes/ip-10-20-12-7`).
    pub dir: String,
}

/// A Zeek sensor: its name and encoding.
#[derive(Debug, Clone)]
pub struct Sensor {
    /// Directory name under `zeek/`.
    pub name: String,
    /// JSON writer (`LogAscii::use_json`) instead of TSV.
    pub json: bool,
}

/// A Hubble endpoint: its JSON object, address and (for pods) the node it runs on.
#[derive(Debug, Clone, Copy)]
pub struct Ep<'a> {
    /// Endpoint object.
    pub json: &'a str,
    /// Address.
    pub ip: &'a str,
    /// DNS name Hubble knows it by.
    pub name: Option<&'a str>,
}

impl<'a> Ep<'a> {
    /// A pod endpoint.
    pub fn pod(p: &'a Pod) -> Ep<'a> {
        Ep {
            json: &p.hubble_json,
            ip: &p.ip,
            name: None,
        }
    }
}

/// How a TCP connection attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tcp {
    /// Established, data exchanged, closed after this long.
    Open(Nanos),
    /// Refused: SYN answered by RST.
    Refused,
    /// Dropped by policy (only the SYN is seen).
    Dropped,
}

/// A process as Tetragon tracks it.
#[derive(Debug, Clone)]
pub struct Proc {
    /// `exec_id`.
    pub exec_id: String,
    /// Process id.
    pub pid: u32,
    /// uid.
    pub uid: u32,
    /// Working directory.
    pub cwd: String,
    /// Executable.
    pub binary: String,
    /// Arguments.
    pub args: String,
    /// Exec time.
    pub start: Nanos,
    /// Parent's `exec_id`.
    pub parent_exec_id: String,
}

/// The generator state shared by every activity.
#[derive(Debug)]
pub struct Sim {
    /// Output files.
    pub files: Files,
    /// Randomness.
    pub rng: Rng,
    /// Records produced and not yet taken.
    pub out: Vec<Record>,
    seq: u64,
    counters: HashMap<String, u64>,
    /// AWS account of the VPC flow logs.
    pub account: String,
    /// VPC flow log file name.
    pub vpc_file: String,
}

/// A Windows account: (domain, name, SID).
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    /// NetBIOS domain (`CORP`).
    pub domain: &'a str,
    /// Account name.
    pub name: &'a str,
    /// SID.
    pub sid: &'a str,
}

impl Sim {
    /// A generator seeded with `seed`; `vpc_file` names the flow log object.
    pub fn new(seed: u64, account: &str, vpc_file: &str) -> Sim {
        Sim {
            files: Files::default(),
            rng: Rng::new(seed),
            out: Vec::new(),
            seq: 0,
            counters: HashMap::new(),
            account: account.to_string(),
            vpc_file: vpc_file.to_string(),
        }
    }

    /// Take the records produced so far.
    pub fn take(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.out)
    }

    /// The next value of a named counter, starting at `start`.
    pub fn next(&mut self, name: &str, start: u64, step: u64) -> u64 {
        match self.counters.get_mut(name) {
            Some(v) => {
                *v += step;
                *v
            }
            None => {
                self.counters.insert(name.to_string(), start);
                start
            }
        }
    }

    /// Append a record of `events` events to the file at `path`.
    pub fn push(&mut self, ts: Nanos, path: &str, kind: FileKind, text: String, events: u32) {
        let file = self.files.id(path, kind);
        self.seq += 1;
        self.out.push(Record {
            ts,
            seq: self.seq,
            file,
            text,
            events,
        });
    }

    /// An ephemeral source port (Linux default range, `ip_local_port_range`).
    pub fn eport(&mut self) -> u16 {
        self.rng.range(32768, 60999) as u16
    }

    /// An ephemeral source port of a Windows client (IANA dynamic range).
    pub fn wport(&mut self) -> u16 {
        self.rng.range(49152, 65535) as u16
    }

    // -----------------------------------------------------------------------------------
    // Kubernetes

    /// A TCP connection as the Hubble exporter of `node` records it: the SYN, then the
    /// SYN-ACK and the client's FIN (open), or the RST answer (refused), or the dropped SYN.
    #[allow(clippy::too_many_arguments)]
    pub fn hubble_tcp(
        &mut self,
        ts: Nanos,
        node: &Node,
        src: Ep<'_>,
        dst: Ep<'_>,
        sport: u16,
        dport: u16,
        how: Tcp,
    ) {
        let path = format!("k8s/hubble/{}.json", node.short);
        let syn = TcpFlags {
            syn: true,
            ..TcpFlags::default()
        };
        let mut packets: Vec<(Nanos, bool, TcpFlags, Option<u32>)> =
            vec![(ts, false, syn, (how == Tcp::Dropped).then_some(133))];
        match how {
            Tcp::Open(dur) => {
                let rtt = 180_000 + self.rng.below(600_000) as Nanos;
                packets.push((
                    ts + rtt,
                    true,
                    TcpFlags {
                        syn: true,
                        ack: true,
                        ..TcpFlags::default()
                    },
                    None,
                ));
                packets.push((
                    ts + dur.max(2 * rtt),
                    false,
                    TcpFlags {
                        fin: true,
                        ack: true,
                        ..TcpFlags::default()
                    },
                    None,
                ));
            }
            Tcp::Refused => packets.push((
                ts + 90_000,
                true,
                TcpFlags {
                    rst: true,
                    ack: true,
                    ..TcpFlags::default()
                },
                None,
            )),
            Tcp::Dropped => {}
        }
        for (t, reply, flags, drop) in packets {
            let uuid = self.rng.uuid();
            let mut s = String::with_capacity(1600);
            let (a, b, ap, bp) = if reply {
                (dst, src, dport, sport)
            } else {
                (src, dst, sport, dport)
            };
            format::hubble_flow(
                &mut s,
                &format::HubbleFlow {
                    ts: t,
                    uuid: &uuid,
                    node: &node.hubble,
                    src: a.json,
                    dst: b.json,
                    src_ip: a.ip,
                    dst_ip: b.ip,
                    sport: ap,
                    dport: bp,
                    tcp: Some(flags),
                    reply,
                    drop,
                    dst_names: if reply { None } else { b.name },
                },
            );
            self.push(t, &path, FileKind::Plain, s, 1);
        }
    }

    /// A DNS lookup through the cluster DNS, as Hubble's DNS proxy records it: the query and
    /// its answer (`None`: NXDOMAIN).
    pub fn hubble_dns(
        &mut self,
        ts: Nanos,
        node: &Node,
        client: &Pod,
        server: Ep<'_>,
        query: &str,
        answer: Option<&str>,
    ) {
        let path = format!("k8s/hubble/{}.json", node.short);
        let port = self.eport();
        for (t, ans) in [(ts, None), (ts + 400_000, Some(answer))] {
            let uuid = self.rng.uuid();
            let mut s = String::with_capacity(1600);
            format::hubble_dns(
                &mut s,
                &format::HubbleDns {
                    ts: t,
                    uuid: &uuid,
                    node: &node.hubble,
                    client: &client.hubble_json,
                    server: server.json,
                    client_ip: &client.ip,
                    server_ip: server.ip,
                    client_port: port,
                    query,
                    answer: ans,
                },
            );
            self.push(t, &path, FileKind::Plain, s, 1);
        }
    }

    /// The first process of a pod's container (started before the window; not written).
    pub fn pod_init(
        &mut self,
        node: &Node,
        pod: &Pod,
        binary: &str,
        args: &str,
        start: Nanos,
    ) -> Proc {
        let pid = self.next(&format!("pid:{}", node.name), 4100, 37) as u32;
        let runc = format::exec_id(&node.name, start - 5 * MS, pid - 3);
        let _ = pod;
        Proc {
            exec_id: format::exec_id(&node.name, start, pid),
            pid,
            uid: 0,
            cwd: "/app".into(),
            binary: binary.into(),
            args: args.into(),
            start,
            parent_exec_id: runc,
        }
    }

    /// A process started in `pod` by `parent`: Tetragon's `process_exec`.
    #[allow(clippy::too_many_arguments)]
    pub fn exec(
        &mut self,
        ts: Nanos,
        node: &Node,
        pod: &Pod,
        parent: &Proc,
        binary: &str,
        args: &str,
    ) -> Proc {
        let pid = self.next(&format!("pid:{}", node.name), 4100, 1 + self.rng.below(40)) as u32;
        let p = Proc {
            exec_id: format::exec_id(&node.name, ts, pid),
            pid,
            uid: parent.uid,
            cwd: parent.cwd.clone(),
            binary: binary.into(),
            args: args.into(),
            start: ts,
            parent_exec_id: parent.exec_id.clone(),
        };
        let mut s = String::with_capacity(3000);
        format::tetragon_exec(&mut s, &node.name, &tp(&p, pod), &tp(parent, pod));
        self.push(
            ts,
            &format!("k8s/tetragon/{}.json", node.short),
            FileKind::Plain,
            s,
            1,
        );
        p
    }

    /// A process ended: Tetragon's `process_exit`.
    pub fn exit(
        &mut self,
        ts: Nanos,
        node: &Node,
        pod: &Pod,
        p: &Proc,
        parent: &Proc,
        status: u32,
    ) {
        let mut s = String::with_capacity(3000);
        format::tetragon_exit(
            &mut s,
            &node.name,
            ts,
            &tp(p, pod),
            &tp(parent, pod),
            status,
        );
        self.push(
            ts,
            &format!("k8s/tetragon/{}.json", node.short),
            FileKind::Plain,
            s,
            1,
        );
    }

    /// A kprobe hit for a process (`tcp_connect`, `security_file_permission`).
    #[allow(clippy::too_many_arguments)]
    pub fn kprobe(
        &mut self,
        ts: Nanos,
        node: &Node,
        pod: &Pod,
        p: &Proc,
        parent: &Proc,
        arg: &format::KprobeArg<'_>,
    ) {
        let mut s = String::with_capacity(3000);
        format::tetragon_kprobe(&mut s, &node.name, ts, &tp(p, pod), &tp(parent, pod), arg);
        self.push(
            ts,
            &format!("k8s/tetragon/{}.json", node.short),
            FileKind::Plain,
            s,
            1,
        );
    }

    /// A Falco alert about a process in a pod.
    #[allow(clippy::too_many_arguments)]
    pub fn falco(
        &mut self,
        ts: Nanos,
        node: &Node,
        pod: &Pod,
        rule: &str,
        priority: &str,
        text: &str,
        tags: &[&str],
        process: (&str, &str, &str, &str),
        evt_type: &str,
        fd_name: Option<&str>,
    ) {
        let uuid = self.rng.uuid();
        let (name, exe, cmdline, pname) = process;
        let mut s = String::with_capacity(1500);
        format::falco_alert(
            &mut s,
            &format::FalcoAlert {
                ts,
                uuid: &uuid,
                hostname: &node.short,
                rule,
                priority,
                text,
                tags,
                pod,
                proc_name: name,
                exepath: exe,
                cmdline,
                pname,
                evt_type,
                fd_name,
            },
        );
        self.push(ts, "k8s/falco/alerts.json", FileKind::Plain, s, 1);
    }

    // -----------------------------------------------------------------------------------
    // Windows

    /// A Windows event from `host`, with the channel's next record number.
    #[allow(clippy::too_many_arguments)]
    pub fn win(
        &mut self,
        ts: Nanos,
        host: &WinHost,
        channel: Channel,
        id: u32,
        action: &str,
        outcome: Option<&str>,
        message: &str,
        data: &[(&str, &str)],
        user_sid: Option<&str>,
    ) {
        let (counter, start, pid) = match channel {
            Channel::Security => ("sec", 188_000, 640),
            Channel::System => ("sys", 41_000, 612),
            Channel::Sysmon => ("smn", 902_000, 2932),
        };
        let record_id = self.next(&format!("{counter}:{}", host.name), start, 1);
        let mut s = String::with_capacity(1800);
        format::winlogbeat(
            &mut s,
            host,
            &format::WinEvent {
                ts,
                channel,
                id,
                record_id,
                action,
                outcome,
                message,
                data,
                user_sid,
                pid,
            },
        );
        self.push(
            ts,
            &format!("windows/{}/winlogbeat.ndjson", host.name),
            FileKind::Plain,
            s,
            1,
        );
    }

    /// 4624 (or 4625 when `failure` is given) on `host`.
    #[allow(clippy::too_many_arguments)]
    pub fn logon(
        &mut self,
        ts: Nanos,
        host: &WinHost,
        who: Account<'_>,
        logon_type: u32,
        logon_id: &str,
        from: Option<(&str, &str)>,
        package: &str,
        failure: Option<&str>,
    ) {
        let port = if from.is_some() {
            self.wport().to_string()
        } else {
            "0".to_string()
        };
        let (ip, ws) = from.unwrap_or(("-", "-"));
        let (process, pname, logon_process) = match logon_type {
            2 | 11 => ("0x2c4", "C:\\Windows\\System32\\svchost.exe", "User32 "),
            10 => ("0x0", "-", "User32 "),
            _ => (
                "0x0",
                "-",
                if package == "NTLM" {
                    "NtLmSsp "
                } else {
                    "Kerberos"
                },
            ),
        };
        // NTLM network logons made with a hash carry no session key (KeyLength 0); Kerberos
        // and interactive logons report 0 as well, so the field alone does not convict.
        let key_len = "0";
        let lt = logon_type.to_string();
        let guid = if package == "Kerberos" {
            format!("{{{}}}", self.rng.uuid())
        } else {
            "{00000000-0000-0000-0000-000000000000}".to_string()
        };
        let lmp = if package == "NTLM" { "NTLM V2" } else { "-" };
        let (id, action, outcome, msg) = match failure {
            None => (
                4624,
                "logged-in",
                "success",
                "An account was successfully logged on.",
            ),
            Some(_) => (
                4625,
                "logon-failed",
                "failure",
                "An account failed to log on.",
            ),
        };
        // Interactive and RDP logons are made by the machine (winlogon, as SYSTEM); network
        // logons have no subject.
        let by_system = logon_type == 2 || logon_type == 10;
        let machine = format!("{}$", host.name);
        let mut data: Vec<(&str, &str)> = vec![
            (
                "SubjectUserSid",
                if by_system { "S-1-5-18" } else { "S-1-0-0" },
            ),
            (
                "SubjectUserName",
                if by_system { machine.as_str() } else { "-" },
            ),
            (
                "SubjectDomainName",
                if by_system { who.domain } else { "-" },
            ),
            ("SubjectLogonId", if by_system { "0x3e7" } else { "0x0" }),
            (
                "TargetUserSid",
                if failure.is_some() {
                    "S-1-0-0"
                } else {
                    who.sid
                },
            ),
            ("TargetUserName", who.name),
            ("TargetDomainName", who.domain),
        ];
        if let Some(status) = failure {
            data.push(("Status", "0xc000006d"));
            data.push(("FailureReason", "%%2313"));
            data.push(("SubStatus", status));
        } else {
            data.push(("TargetLogonId", logon_id));
        }
        data.extend_from_slice(&[
            ("LogonType", lt.as_str()),
            ("LogonProcessName", logon_process),
            ("AuthenticationPackageName", package),
            ("WorkstationName", ws),
        ]);
        if failure.is_none() {
            data.push(("LogonGuid", guid.as_str()));
        }
        data.extend_from_slice(&[
            ("TransmittedServices", "-"),
            ("LmPackageName", lmp),
            ("KeyLength", key_len),
            ("ProcessId", process),
            ("ProcessName", pname),
            ("IpAddress", ip),
            ("IpPort", if from.is_some() { port.as_str() } else { "0" }),
        ]);
        if failure.is_none() {
            data.extend_from_slice(&[
                ("ImpersonationLevel", "%%1833"),
                ("RestrictedAdminMode", "-"),
                ("VirtualAccount", "%%1843"),
                (
                    "ElevatedToken",
                    if logon_type == 3 { "%%1842" } else { "%%1843" },
                ),
            ]);
        }
        self.win(
            ts,
            host,
            Channel::Security,
            id,
            action,
            Some(outcome),
            msg,
            &data,
            None,
        );
    }

    /// 4634 logoff.
    pub fn logoff(
        &mut self,
        ts: Nanos,
        host: &WinHost,
        who: Account<'_>,
        logon_type: u32,
        logon_id: &str,
    ) {
        let lt = logon_type.to_string();
        self.win(
            ts,
            host,
            Channel::Security,
            4634,
            "logged-out",
            Some("success"),
            "An account was logged off.",
            &[
                ("TargetUserSid", who.sid),
                ("TargetUserName", who.name),
                ("TargetDomainName", who.domain),
                ("TargetLogonId", logon_id),
                ("LogonType", &lt),
            ],
            None,
        );
    }

    /// 4672: special privileges assigned to a new logon (administrators).
    pub fn special_logon(&mut self, ts: Nanos, host: &WinHost, who: Account<'_>, logon_id: &str) {
        self.win(
            ts,
            host,
            Channel::Security,
            4672,
            "logged-in-special",
            Some("success"),
            "Special privileges assigned to new logon.",
            &[
                ("SubjectUserSid", who.sid),
                ("SubjectUserName", who.name),
                ("SubjectDomainName", who.domain),
                ("SubjectLogonId", logon_id),
                ("PrivilegeList", "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege\n\t\t\tSeSystemEnvironmentPrivilege\n\t\t\tSeLoadDriverPrivilege\n\t\t\tSeImpersonatePrivilege\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"),
            ],
            None,
        );
    }

    /// 5140 / 5145: a share (and an object in it) accessed over the network.
    #[allow(clippy::too_many_arguments)]
    pub fn share_access(
        &mut self,
        ts: Nanos,
        host: &WinHost,
        who: Account<'_>,
        logon_id: &str,
        from_ip: &str,
        share: &str,
        local_path: &str,
        object: Option<(&str, &str)>,
    ) {
        let port = self.wport().to_string();
        let share_name = format!("\\\\*\\{share}");
        let mut data: Vec<(&str, &str)> = vec![
            ("SubjectUserSid", who.sid),
            ("SubjectUserName", who.name),
            ("SubjectDomainName", who.domain),
            ("SubjectLogonId", logon_id),
            ("ObjectType", "File"),
            ("IpAddress", from_ip),
            ("IpPort", &port),
            ("ShareName", &share_name),
            ("ShareLocalPath", local_path),
        ];
        let (id, action, msg) = match object {
            None => {
                data.push(("AccessMask", "0x1"));
                data.push(("AccessList", "%%4416\n\t\t\t\t"));
                (
                    5140,
                    "network-share-object-accessed",
                    "A network share object was accessed.",
                )
            }
            Some((name, mask)) => {
                data.push(("RelativeTargetName", name));
                data.push(("AccessMask", mask));
                data.push(("AccessReason", "-"));
                (
                    5145,
                    "network-share-object-access-checked",
                    "A network share object was checked to see whether client can be granted desired access.",
                )
            }
        };
        self.win(
            ts,
            host,
            Channel::Security,
            id,
            action,
            Some("success"),
            msg,
            &data,
            None,
        );
    }

    /// Sysmon 1: process created.
    #[allow(clippy::too_many_arguments)]
    pub fn sysmon_process(
        &mut self,
        ts: Nanos,
        host: &WinHost,
        image: &str,
        cmdline: &str,
        user: &str,
        logon_id: &str,
        parent: (&str, &str, &str),
        integrity: &str,
    ) -> String {
        let guid = self.win_guid(host, ts);
        let pid = self
            .next(
                &format!("wpid:{}", host.name),
                5200,
                4 * (1 + self.rng.below(90)),
            )
            .to_string();
        let (parent_guid, parent_image, parent_cmd) = parent;
        let ppid = (self.rng.range(700, 9000) / 4 * 4).to_string();
        let mut utc = String::new();
        format::sysmon_time(&mut utc, ts);
        let (description, product, company, original) = pe_metadata(image);
        let lguid = format!(
            "{{9d6f4a2b-{:04x}-{:04x}-0000-0020{}}}",
            self.rng.below(65536),
            crate::event::fnv1a(logon_id.as_bytes()) as u16,
            self.rng.hex(8)
        );
        let hashes = format!("SHA256={}", self.rng.hex(64).to_ascii_uppercase());
        let cwd = match user.rsplit_once('\\') {
            Some((_, name)) if !user.ends_with("SYSTEM") => format!("C:\\Users\\{name}\\"),
            _ => "C:\\Windows\\system32\\".to_string(),
        };
        let parent_user = if parent_image.ends_with("services.exe") {
            "NT AUTHORITY\\SYSTEM"
        } else {
            user
        };
        self.win(
            ts,
            host,
            Channel::Sysmon,
            1,
            "Process Create (rule: ProcessCreate)",
            None,
            "Process Create:",
            &[
                ("RuleName", "-"),
                ("UtcTime", &utc),
                ("ProcessGuid", &guid),
                ("ProcessId", &pid),
                ("Image", image),
                ("FileVersion", "-"),
                ("Description", description),
                ("Product", product),
                ("Company", company),
                ("OriginalFileName", original),
                ("CommandLine", cmdline),
                ("CurrentDirectory", &cwd),
                ("User", user),
                ("LogonGuid", &lguid),
                ("LogonId", logon_id),
                (
                    "TerminalSessionId",
                    if user.ends_with("SYSTEM") { "0" } else { "1" },
                ),
                ("IntegrityLevel", integrity),
                ("Hashes", &hashes),
                ("ParentProcessGuid", parent_guid),
                ("ParentProcessId", &ppid),
                ("ParentImage", parent_image),
                ("ParentCommandLine", parent_cmd),
                ("ParentUser", parent_user),
            ],
            None,
        );
        guid
    }

    /// Sysmon 3: a network connection made (or accepted) by a process.
    #[allow(clippy::too_many_arguments)]
    pub fn sysmon_network(
        &mut self,
        ts: Nanos,
        host: &WinHost,
        image: &str,
        user: &str,
        src: (&str, u16),
        dst: (&str, u16, &str),
        initiated: bool,
    ) {
        let guid = self.win_guid(host, ts - 40 * SEC);
        let pid = (self.rng.range(700, 9000) / 4 * 4).to_string();
        let mut utc = String::new();
        format::sysmon_time(&mut utc, ts);
        let sport = src.1.to_string();
        let dport = dst.1.to_string();
        self.win(
            ts,
            host,
            Channel::Sysmon,
            3,
            "Network connection detected (rule: NetworkConnect)",
            None,
            "Network connection detected:",
            &[
                ("RuleName", "-"),
                ("UtcTime", &utc),
                ("ProcessGuid", &guid),
                ("ProcessId", &pid),
                ("Image", image),
                ("User", user),
                ("Protocol", "tcp"),
                ("Initiated", if initiated { "true" } else { "false" }),
                ("SourceIsIpv6", "false"),
                ("SourceIp", src.0),
                ("SourceHostname", &host.fqdn),
                ("SourcePort", &sport),
                ("SourcePortName", "-"),
                ("DestinationIsIpv6", "false"),
                ("DestinationIp", dst.0),
                ("DestinationHostname", dst.2),
                ("DestinationPort", &dport),
                (
                    "DestinationPortName",
                    match dst.1 {
                        445 => "microsoft-ds",
                        443 => "https",
                        389 => "ldap",
                        88 => "kerberos",
                        135 => "epmap",
                        3389 => "ms-wbt-server",
                        _ => "-",
                    },
                ),
            ],
            None,
        );
    }

    /// A Sysmon process GUID (`{machine-id-time-...}` layout).
    pub fn win_guid(&mut self, host: &WinHost, ts: Nanos) -> String {
        let machine = crate::event::fnv1a(host.name.as_bytes());
        format!(
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            machine as u32,
            (ts / SEC / 65536) as u16,
            (ts / SEC) as u16,
            self.rng.below(65536),
            self.rng.next_u64() & 0xffff_ffff_ffff
        )
    }

    // -----------------------------------------------------------------------------------
    // Zeek

    /// A Zeek record from `sensor`.
    pub fn zeek(&mut self, sensor: &Sensor, rec: &ZeekRec<'_>) {
        let path = format!("zeek/{}/{}.log", sensor.name, rec.log.path());
        let mut s = String::with_capacity(320);
        if sensor.json {
            format::zeek_json(&mut s, rec);
            self.push(rec.ts, &path, FileKind::Plain, s, 1);
        } else {
            format::zeek_tsv(&mut s, rec);
            self.push(rec.ts, &path, FileKind::ZeekTsv(rec.log), s, 1);
        }
    }

    /// A Zeek connection uid.
    pub fn zeek_uid(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        format::zeek_uid('C', a, b)
    }

    /// conn.log: one TCP or UDP connection.
    #[allow(clippy::too_many_arguments)]
    pub fn zeek_conn(
        &mut self,
        sensor: &Sensor,
        ts: Nanos,
        uid: &str,
        orig: (&str, u16),
        resp: (&str, u16),
        udp: bool,
        service: Option<&str>,
        state: &str,
        duration: Nanos,
        bytes: (u64, u64),
    ) {
        let history = match (udp, state) {
            (true, _) => "Dd",
            (false, "S0") => "S",
            (false, "REJ") => "Sr",
            (false, "RSTO") => "ShADdaR",
            (false, "RSTR") => "ShADadr",
            (false, "SH") => "ShF",
            _ => "ShADadFf",
        };
        let (op, rp) = if state == "S0" || state == "REJ" {
            (if state == "S0" { 2 } else { 1 }, u64::from(state == "REJ"))
        } else {
            (
                bytes.0 / 900 + 3 + self.rng.below(3),
                bytes.1 / 1200 + 3 + self.rng.below(3),
            )
        };
        let header = if udp { 28 } else { 52 };
        self.zeek(
            sensor,
            &ZeekRec {
                log: ZeekLog::Conn,
                ts,
                uid,
                orig_h: orig.0,
                orig_p: orig.1,
                resp_h: resp.0,
                resp_p: resp.1,
                rest: &[
                    Zv::Str(if udp { "udp" } else { "tcp" }),
                    service.map_or(Zv::Unset, Zv::Str),
                    if state == "S0" && !udp {
                        Zv::Time(duration.min(3 * SEC))
                    } else {
                        Zv::Time(duration)
                    },
                    Zv::Int(bytes.0),
                    Zv::Int(bytes.1),
                    Zv::Str(state),
                    Zv::Bool(true),
                    Zv::Bool(true),
                    Zv::Int(0),
                    Zv::Str(history),
                    Zv::Int(op),
                    Zv::Int(bytes.0 + op * header),
                    Zv::Int(rp),
                    Zv::Int(bytes.1 + rp * header),
                    Zv::List(&[]),
                ],
            },
        );
    }

    // -----------------------------------------------------------------------------------
    // Linux

    /// A syslog line on `host`'s auth.log.
    pub fn syslog(&mut self, ts: Nanos, host: &LinuxHost, prog: &str, pid: Option<u32>, msg: &str) {
        let mut s = String::with_capacity(200);
        format::syslog(&mut s, ts, &host.name, prog, pid, msg);
        self.push(ts, &format!("{}/auth.log", host.dir), FileKind::Plain, s, 1);
    }

    /// The next sshd (or other daemon) process id on `host`.
    pub fn pid(&mut self, host: &str) -> u32 {
        let step = 3 + self.rng.below(200);
        self.next(
            &format!("lpid:{host}"),
            20_000 + self.rng.below(20_000),
            step,
        ) as u32
    }

    /// An audit event serial on `host`.
    pub fn serial(&mut self, host: &str) -> u64 {
        let step = 1 + self.rng.below(6);
        self.next(&format!("aser:{host}"), 4000 + self.rng.below(4000), step)
    }

    /// A new audit session id (logind session number) on `host`.
    pub fn session(&mut self, host: &str) -> u32 {
        self.next(&format!("ses:{host}"), 3 + self.rng.below(40), 1) as u32
    }

    /// A user-space audit record (one event).
    #[allow(clippy::too_many_arguments)]
    pub fn audit_user(
        &mut self,
        ts: Nanos,
        host: &LinuxHost,
        ty: &str,
        pid: u32,
        auid: u32,
        ses: u32,
        inner: &str,
    ) {
        let serial = self.serial(&host.name);
        let mut s = String::with_capacity(400);
        let stamp = format::AuditStamp {
            node: &host.name,
            ts,
            serial,
        };
        format::audit_user(&mut s, &stamp, ty, pid, auid, ses, inner);
        self.push(
            ts,
            &format!("{}/audit.log", host.dir),
            FileKind::Plain,
            s,
            1,
        );
    }

    /// An execve audit event (six records, one event).
    #[allow(clippy::too_many_arguments)]
    pub fn audit_exec(
        &mut self,
        ts: Nanos,
        host: &LinuxHost,
        session: (u32, u32, u32),
        tty: &str,
        ppid: u32,
        exe: &str,
        argv: &[&str],
        cwd: &str,
    ) -> u32 {
        let (auid, uid, ses) = session;
        let pid = self.pid(&host.name);
        let serial = self.serial(&host.name);
        let mut s = String::with_capacity(1600);
        format::audit_exec(
            &mut s,
            &format::AuditExec {
                stamp: format::AuditStamp {
                    node: &host.name,
                    ts,
                    serial,
                },
                pid,
                ppid,
                auid,
                uid,
                tty,
                ses,
                exe,
                argv,
                cwd,
                key: "exec",
            },
        );
        self.push(
            ts,
            &format!("{}/audit.log", host.dir),
            FileKind::Plain,
            s,
            1,
        );
        pid
    }

    /// An SSH login as sshd, PAM and logind write it (and auditd, when `audit` is given:
    /// `(auid, interactive)`). Returns (sshd pid, session id, port).
    #[allow(clippy::too_many_arguments)]
    pub fn ssh_login(
        &mut self,
        ts: Nanos,
        host: &LinuxHost,
        user: &str,
        uid: u32,
        from: &str,
        method: &str,
        audit: Option<bool>,
    ) -> (u32, u32, u16) {
        let pid = self.pid(&host.name);
        let port = self.eport();
        let ses = self.session(&host.name);
        let fp = self.rng.hex(43);
        let key = match method {
            "publickey" => format!(" ssh2: ED25519 SHA256:{fp}"),
            _ => " ssh2".to_string(),
        };
        self.syslog(
            ts,
            host,
            "sshd",
            Some(pid),
            &format!("Accepted {method} for {user} from {from} port {port}{key}"),
        );
        self.syslog(
            ts + 9 * MS,
            host,
            "sshd",
            Some(pid),
            &format!(
                "pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)"
            ),
        );
        self.syslog(
            ts + 21 * MS,
            host,
            "systemd-logind",
            Some(612),
            &format!("New session {ses} of user {user}."),
        );
        if let Some(interactive) = audit {
            let inner = |op: &str, res: &str, term: &str| {
                format!(
                    "op={op} acct=\"{user}\" exe=\"/usr/sbin/sshd\" hostname={from} addr={from} terminal={term} res={res}"
                )
            };
            self.audit_user(
                ts - 3 * MS,
                host,
                "USER_AUTH",
                pid,
                4_294_967_295,
                4_294_967_295,
                &inner("PAM:authentication grantors=pam_unix", "success", "ssh"),
            );
            self.audit_user(
                ts - MS,
                host,
                "USER_ACCT",
                pid,
                4_294_967_295,
                4_294_967_295,
                &inner("PAM:accounting grantors=pam_unix", "success", "ssh"),
            );
            self.audit_user(
                ts + 7 * MS,
                host,
                "USER_START",
                pid,
                uid,
                ses,
                &inner(
                    "PAM:session_open grantors=pam_loginuid,pam_unix,pam_systemd",
                    "success",
                    "ssh",
                ),
            );
            let term = if interactive { "/dev/pts/0" } else { "ssh" };
            let login = format!(
                "op=login id={uid} exe=\"/usr/sbin/sshd\" hostname={from} addr={from} terminal={term} res=success"
            );
            self.audit_user(ts + 31 * MS, host, "USER_LOGIN", pid, uid, ses, &login);
        }
        (pid, ses, port)
    }

    /// The end of an SSH session (sshd, PAM, logind).
    pub fn ssh_logout(
        &mut self,
        ts: Nanos,
        host: &LinuxHost,
        user: &str,
        from: &str,
        conn: (u32, u32, u16),
    ) {
        let (pid, ses, port) = conn;
        self.syslog(
            ts,
            host,
            "sshd",
            Some(pid),
            &format!("Received disconnect from {from} port {port}:11: disconnected by user"),
        );
        self.syslog(
            ts + MS,
            host,
            "sshd",
            Some(pid),
            &format!("Disconnected from user {user} {from} port {port}"),
        );
        self.syslog(
            ts + 2 * MS,
            host,
            "sshd",
            Some(pid),
            &format!("pam_unix(sshd:session): session closed for user {user}"),
        );
        self.syslog(
            ts + 4 * MS,
            host,
            "systemd-logind",
            Some(612),
            &format!("Session {ses} logged out. Waiting for processes to exit."),
        );
        self.syslog(
            ts + 9 * MS,
            host,
            "systemd-logind",
            Some(612),
            &format!("Removed session {ses}."),
        );
    }

    /// A failed SSH password attempt (one connection, one failure).
    pub fn ssh_fail(&mut self, ts: Nanos, host: &LinuxHost, user: &str, from: &str, invalid: bool) {
        let pid = self.pid(&host.name);
        let port = self.eport();
        let who = if invalid {
            format!("invalid user {user}")
        } else {
            user.to_string()
        };
        if invalid {
            self.syslog(
                ts - 1900 * MS,
                host,
                "sshd",
                Some(pid),
                &format!("Invalid user {user} from {from} port {port}"),
            );
        }
        self.syslog(
            ts - 2 * MS,
            host,
            "sshd",
            Some(pid),
            &format!(
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={from}{}",
                if invalid { String::new() } else { format!("  user={user}") }
            ),
        );
        self.syslog(
            ts,
            host,
            "sshd",
            Some(pid),
            &format!("Failed password for {who} from {from} port {port} ssh2"),
        );
        self.syslog(
            ts + 1400 * MS,
            host,
            "sshd",
            Some(pid),
            &format!(
                "Connection closed by {} {from} port {port} [preauth]",
                if invalid {
                    format!("invalid user {user}")
                } else {
                    format!("authenticating user {user}")
                }
            ),
        );
    }

    /// sudo running `command` as root for `user` on `tty`.
    #[allow(clippy::too_many_arguments)]
    pub fn sudo(
        &mut self,
        ts: Nanos,
        host: &LinuxHost,
        user: &str,
        uid: u32,
        tty: &str,
        pwd: &str,
        command: &str,
    ) {
        self.syslog(
            ts,
            host,
            "sudo",
            None,
            &format!("{user:>8} : TTY={tty} ; PWD={pwd} ; USER=root ; COMMAND={command}"),
        );
        self.syslog(
            ts + MS,
            host,
            "sudo",
            None,
            &format!(
                "pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={uid})"
            ),
        );
    }

    /// A cron job run: CRON's session lines and the command.
    pub fn cron(&mut self, ts: Nanos, host: &LinuxHost, user: &str, uid: u32, command: &str) {
        let pid = self.pid(&host.name);
        self.syslog(
            ts,
            host,
            "CRON",
            Some(pid),
            &format!(
                "pam_unix(cron:session): session opened for user {user}(uid={uid}) by (uid=0)"
            ),
        );
        self.syslog(
            ts + 2 * MS,
            host,
            "CRON",
            Some(pid + 1),
            &format!("({user}) CMD ({command})"),
        );
        self.syslog(
            ts + (1 + self.rng.below(40)) as Nanos * SEC,
            host,
            "CRON",
            Some(pid),
            &format!("pam_unix(cron:session): session closed for user {user}"),
        );
    }

    // -----------------------------------------------------------------------------------
    // AWS

    /// A VPC flow log record on interface `eni`.
    #[allow(clippy::too_many_arguments)]
    pub fn vpc(
        &mut self,
        ts: Nanos,
        eni: &str,
        src: (&str, u16),
        dst: (&str, u16),
        proto: u8,
        packets: u64,
        accept: bool,
    ) {
        let window = ts - ts.rem_euclid(60 * SEC);
        let bytes = packets
            * (if accept {
                180 + self.rng.below(900)
            } else {
                44 + self.rng.below(16)
            });
        let mut s = String::with_capacity(160);
        let account = self.account.clone();
        format::vpc_flow(
            &mut s,
            &format::VpcFlow {
                account: &account,
                eni,
                src: src.0,
                dst: dst.0,
                sport: src.1,
                dport: dst.1,
                proto,
                packets,
                bytes,
                start: window,
                accept,
            },
        );
        let path = format!("aws/vpcflowlogs/{}", self.vpc_file);
        // The record's event time is its window start, but it is written when the window
        // closes: order it there, so a file read or tailed in order never goes back in time
        // by more than one window.
        self.push(window + 60 * SEC, &path, FileKind::VpcFlow, s, 1);
    }
}

/// The version resource Sysmon reports for an image (Description, Product, Company,
/// OriginalFileName): what the binary says it is, which survives renaming — a renamed
/// mimikatz still says `mimikatz.exe`, PsExec says `psexec.c`.
fn pe_metadata(image: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    const MS_OS: &str = "Microsoft® Windows® Operating System";
    const MS: &str = "Microsoft Corporation";
    let file = image
        .rsplit('\\')
        .next()
        .unwrap_or(image)
        .to_ascii_lowercase();
    match file.as_str() {
        "cmd.exe" => ("Windows Command Processor", MS_OS, MS, "Cmd.Exe"),
        "whoami.exe" => (
            "whoami - displays logged on user information",
            MS_OS,
            MS,
            "whoami.exe",
        ),
        "net.exe" => ("Net Command", MS_OS, MS, "net.exe"),
        "nltest.exe" => (
            "Microsoft® Logon Server Test Utility",
            MS_OS,
            MS,
            "nltestrk.exe",
        ),
        "ntdsutil.exe" => ("NT5DS", MS_OS, MS, "ntdsutil.exe"),
        "explorer.exe" => ("Windows Explorer", MS_OS, MS, "EXPLORER.EXE"),
        "mmc.exe" => ("Microsoft Management Console", MS_OS, MS, "MMC.EXE"),
        "cleanmgr.exe" => (
            "Disk Space Cleanup Manager for Windows",
            MS_OS,
            MS,
            "CLEANMGR.EXE",
        ),
        "outlook.exe" => ("Microsoft Outlook", "Microsoft Outlook", MS, "Outlook.exe"),
        "chrome.exe" => ("Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"),
        "teams.exe" => ("Microsoft Teams", "Microsoft Teams", MS, "Teams.exe"),
        "psexec64.exe" => (
            "Execute processes remotely",
            "Sysinternals PsExec",
            "Sysinternals - www.sysinternals.com",
            "psexec.c",
        ),
        "psexesvc.exe" => (
            "PsExec Service",
            "Sysinternals PsExec",
            "Sysinternals",
            "psexesvc.exe",
        ),
        "m64.exe" => (
            "mimikatz for Windows",
            "mimikatz",
            "gentilkiwi (Benjamin DELPY)",
            "mimikatz.exe",
        ),
        "nmap.exe" => ("Nmap", "Nmap", "Insecure.Org", "nmap.exe"),
        _ => ("-", "-", "-", "-"),
    }
}

fn tp<'a>(p: &'a Proc, pod: &'a Pod) -> format::TetraProc<'a> {
    format::TetraProc {
        exec_id: &p.exec_id,
        pid: p.pid,
        uid: p.uid,
        cwd: &p.cwd,
        binary: &p.binary,
        arguments: &p.args,
        start: p.start,
        parent_exec_id: &p.parent_exec_id,
        pod: Some(pod),
    }
}

/// A Windows logon id, as Windows prints it (`0x` + lowercase hex).
pub fn logon_id(n: u64) -> String {
    let mut s = String::with_capacity(10);
    let _ = write!(s, "0x{n:x}");
    s
}

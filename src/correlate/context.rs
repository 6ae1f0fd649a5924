//! Execution-context stitching: which context an event belongs to.
//!
//! In order of preference:
//! 1. **Pod or container**: `orchestrator.namespace` + `orchestrator.resource.name`
//!    (`pod:ns/name`), else `container.id` (`container:id`).
//! 2. **Host + logon session**: Windows `winlog.logon.id` (`win:HOST:logon:0x...`; the
//!    logon's `TargetLogonId` and later events' `SubjectLogonId`/`LogonId` are the same
//!    value, so they meet here); Linux audit `ses` (`linux:HOST:ses:N`); a Tetragon process
//!    inherits its parent's context through `process.parent.entity_id`; sshd/sudo syslog lines
//!    carry no session key, so they join by user on host (`linux:HOST:user:NAME`).
//! 3. **Network-only events** (Zeek, VPC, Hubble flows without a pod) join the context that
//!    owns their source address at that time: the last pod or host seen with that address;
//!    otherwise the address itself (`ip:10.0.1.4`).
//! 4. Otherwise the **host** (`host:NAME`).
//!
//! Windows system logon sessions (SYSTEM `0x3e7`, LOCAL SERVICE `0x3e5`, NETWORK SERVICE
//! `0x3e4`) are not user sessions; events in them belong to the host.
//!
//! **Across hosts.** A Windows process's later events (Sysmon network connections, file
//! writes) carry its process GUID but no logon id; they join the context its creation event
//! had. When such a connection goes from host A to a remote-administration port of B (SMB,
//! RPC, WinRM, RDP, SSH) and B then records an inbound network or RDP logon from A's address
//! within two minutes, B's logon session becomes part of A's context: the PsExec on A and
//! what the intruder then does on B under that logon are one session. B's address must match
//! the connection's destination when B's address is known (`host.ip`, or B's own earlier
//! connections); otherwise A must have connected to exactly one such host in the window.

use std::collections::HashMap;
use std::net::IpAddr;

use super::session::ContextInfo;
use crate::event::{Event, Field, Nanos};

/// Logon ids of Windows' built-in service sessions.
const SYSTEM_LOGONS: &[&str] = &["0x3e7", "0x3e4", "0x3e5", "0x0"];

/// Ports of remote administration: SMB, RPC endpoint mapper, NetBIOS session, WinRM, RDP,
/// SSH.
const REMOTE_ADMIN_PORTS: &[i64] = &[445, 135, 139, 5985, 5986, 3389, 22];
/// How long after an outbound connection the inbound logon it caused may come.
const LINK_WINDOW: Nanos = 120 * 1_000_000_000;
/// How soon after a process start a connection the host makes is taken as that process's.
const EXEC_TO_CONNECT: Nanos = 5 * 1_000_000_000;

/// Resolves events to context keys; keeps the state stitching needs (address owners, process
/// ancestry), bounded by expiry.
#[derive(Debug, Default)]
pub struct Resolver {
    /// Address → (context key, last seen).
    ip_owner: HashMap<IpAddr, (String, Nanos)>,
    /// Process entity id → (context key, last seen).
    process_ctx: HashMap<String, (String, Nanos)>,
    /// Source address → outbound remote-administration connections from it:
    /// (destination address, the connecting context, when).
    links: HashMap<IpAddr, Vec<(IpAddr, String, Nanos)>>,
    /// Logon context on the target host → the remote context it continues.
    remote_logons: HashMap<String, (String, Nanos)>,
    /// Host → the user context that last started a process there, and when (SMB connections
    /// are made by the kernel, so Sysmon shows them under `System`, not the tool).
    last_exec: HashMap<String, (String, Nanos)>,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Short host name: `WS01.corp.local` and `ws01` are the same machine.
pub fn short_host(h: &str) -> String {
    lower(h.split('.').next().unwrap_or(h))
}

impl Resolver {
    /// The context of `ev`, and what is known about it.
    pub fn resolve(&mut self, ev: &Event) -> ContextInfo {
        let ts = ev.timestamp;
        let host = ev.str(Field::HostName).map(short_host);
        let user = ev.str(Field::UserName).map(str::to_string);
        let mut info = ContextInfo {
            host: host.clone(),
            user: user.clone(),
            ..ContextInfo::default()
        };
        if let Some(ip) = ev.ip(Field::SourceIp) {
            info.source_ip = Some(ip.to_string());
        }

        // 1. Pod or container.
        if let (Some(ns), Some(pod)) = (
            ev.str(Field::OrchestratorNamespace),
            ev.str(Field::OrchestratorResourceName),
        ) {
            info.key = format!("pod:{ns}/{pod}");
            info.kind = "pod".into();
            info.namespace = Some(ns.to_string());
            info.pod = Some(pod.to_string());
            info.container = ev.str(Field::ContainerId).map(str::to_string);
            self.learn(ev, &info.key, ts);
            return info;
        }
        if let Some(c) = ev.str(Field::ContainerId) {
            info.key = format!("container:{c}");
            info.kind = "container".into();
            info.container = Some(c.to_string());
            self.learn(ev, &info.key, ts);
            return info;
        }
        // 2. Process ancestry (Tetragon exec ids, Sysmon process GUIDs).
        if let Some(parent) = ev.str(Field::ProcessParentEntityId)
            && let Some((key, _)) = self.process_ctx.get(parent)
        {
            let key = key.clone();
            info.kind = "process_tree".into();
            info.key = key;
            self.learn(ev, &info.key, ts);
            return info;
        }
        // A process's later events (no logon id on them) join its creation's context.
        if ev.str(Field::LogonId).is_none()
            && let Some(entity) = ev.str(Field::ProcessEntityId)
            && let Some((key, _)) = self.process_ctx.get(entity)
        {
            info.key = key.clone();
            info.kind = "process".into();
            self.learn(ev, &info.key, ts);
            return info;
        }
        if let Some(h) = &host {
            if let Some(logon) = ev.str(Field::LogonId).map(lower)
                && !SYSTEM_LOGONS.contains(&logon.as_str())
            {
                let key = format!("win:{h}:logon:{logon}");
                info.logon_id = Some(logon);
                if let Some(remote) = self.continued(ev, h, &key) {
                    info.key = remote;
                    info.kind = "remote_logon".into();
                } else {
                    info.key = key;
                    info.kind = "logon".into();
                }
                self.learn(ev, &info.key, ts);
                return info;
            }
            if let Some(ses) = ev.str(Field::SessionId) {
                info.key = format!("linux:{h}:ses:{ses}");
                info.kind = "audit_session".into();
                info.logon_id = Some(ses.to_string());
                self.learn(ev, &info.key, ts);
                return info;
            }
            let module = ev.str(Field::EventModule).unwrap_or("");
            if module == "system"
                && let Some(u) = &user
            {
                info.key = format!("linux:{h}:user:{}", lower(u));
                info.kind = "user_on_host".into();
                self.learn(ev, &info.key, ts);
                return info;
            }
        }
        // 3. Network-only events: the owner of the source address.
        let network_only =
            host.is_none() || matches!(ev.str(Field::EventModule), Some("zeek" | "aws" | "cilium"));
        if network_only && let Some(src) = ev.ip(Field::SourceIp) {
            // The host that logged a network event is the sensor, not the actor.
            info.host = None;
            if let Some((key, _)) = self.ip_owner.get(&src) {
                info.key = key.clone();
                info.kind = "source_ip_owner".into();
                return info;
            }
            info.key = format!("ip:{src}");
            info.kind = "source_ip".into();
            return info;
        }
        // 4. The host.
        match host {
            Some(h) => {
                info.key = format!("host:{h}");
                info.kind = "host".into();
                self.learn(ev, &info.key, ts);
            }
            None => {
                info.key = "unknown".into();
                info.kind = "unknown".into();
            }
        }
        info
    }

    /// The remote context a logon session on `host` continues, if any (see the module docs).
    fn continued(&mut self, ev: &Event, host: &str, key: &str) -> Option<String> {
        if let Some((remote, seen)) = self.remote_logons.get_mut(key) {
            *seen = ev.timestamp.max(*seen);
            return Some(remote.clone());
        }
        let inbound = ev.str(Field::EventCategory) == Some("authentication")
            && matches!(ev.int(Field::LogonType), Some(3 | 10))
            && ev.str(Field::EventOutcome) != Some("failure");
        if !inbound {
            return None;
        }
        let src = ev.ip(Field::SourceIp).filter(|ip| !ip.is_loopback())?;
        let ts = ev.timestamp;
        let recent: Vec<&(IpAddr, String, Nanos)> = self
            .links
            .get(&src)?
            .iter()
            .filter(|(_, _, t)| *t <= ts && ts - *t <= LINK_WINDOW)
            .collect();
        // This host's own addresses, when known.
        let own_prefix = format!("win:{host}:");
        let host_key = format!("host:{host}");
        let is_ours = |ip: &IpAddr| {
            ev.ip(Field::HostIp) == Some(*ip)
                || self
                    .ip_owner
                    .get(ip)
                    .is_some_and(|(k, _)| k == &host_key || k.starts_with(&own_prefix))
        };
        let knows_own = ev.ip(Field::HostIp).is_some()
            || self
                .ip_owner
                .values()
                .any(|(k, _)| k == &host_key || k.starts_with(&own_prefix));
        let chosen = if knows_own {
            recent.iter().rev().find(|(dst, _, _)| is_ours(dst))
        } else {
            let mut dsts: Vec<&IpAddr> = recent.iter().map(|(d, _, _)| d).collect();
            dsts.sort();
            dsts.dedup();
            if dsts.len() == 1 { recent.last() } else { None }
        };
        let remote = chosen.map(|(_, k, _)| k.clone())?;
        if remote.starts_with(&own_prefix) || remote == host_key {
            return None;
        }
        self.remote_logons
            .insert(key.to_string(), (remote.clone(), ts));
        Some(remote)
    }

    /// Remember what this event says about who owns an address or a process.
    fn learn(&mut self, ev: &Event, key: &str, ts: Nanos) {
        if ev.str(Field::EventModule) == Some("windows")
            && ev.str(Field::EventCode) == Some("3")
            && let (Some(src), Some(dst), Some(port)) = (
                ev.ip(Field::SourceIp),
                ev.ip(Field::DestinationIp),
                ev.int(Field::DestinationPort),
            )
            && REMOTE_ADMIN_PORTS.contains(&port)
            && src != dst
        {
            // A connection made by the host itself (SMB) belongs to whoever started a process
            // on it just before.
            let from = match key.strip_prefix("host:") {
                Some(h) => match self.last_exec.get(h) {
                    Some((k, t)) if ts >= *t && ts - *t <= EXEC_TO_CONNECT => k.clone(),
                    _ => key.to_string(),
                },
                None => key.to_string(),
            };
            let list = self.links.entry(src).or_default();
            list.retain(|(d, _, t)| *d != dst && ts - *t <= LINK_WINDOW);
            if list.len() < 256 {
                list.push((dst, from, ts));
            }
        }
        if ev.str(Field::EventModule) == Some("windows")
            && ev.str(Field::EventCode) == Some("1")
            && !key.starts_with("host:")
            && let Some(h) = ev.str(Field::HostName).map(short_host)
        {
            self.last_exec.insert(h, (key.to_string(), ts));
        }
        if let Some(e) = ev.str(Field::ProcessEntityId) {
            self.process_ctx
                .insert(e.to_string(), (key.to_string(), ts));
        }
        // A pod's or host's own address: Hubble/Tetragon source endpoint of a pod, Sysmon 3's
        // source address on the host that logged it, host.ip.
        let owned = match ev.str(Field::EventModule) {
            Some("cilium" | "tetragon" | "falco") if key.starts_with("pod:") => {
                ev.ip(Field::SourceIp)
            }
            Some("windows") if ev.str(Field::EventCode) == Some("3") => ev.ip(Field::SourceIp),
            _ => None,
        };
        for ip in owned.into_iter().chain(ev.ip(Field::HostIp)) {
            self.ip_owner.insert(ip, (key.to_string(), ts));
        }
    }

    /// Forget ownership and ancestry not refreshed since `before`.
    pub fn expire(&mut self, before: Nanos) {
        self.ip_owner.retain(|_, (_, t)| *t >= before);
        self.process_ctx.retain(|_, (_, t)| *t >= before);
        self.remote_logons.retain(|_, (_, t)| *t >= before);
        self.last_exec.retain(|_, (_, t)| *t >= before);
        self.links.retain(|_, l| {
            l.retain(|(_, _, t)| *t >= before);
            !l.is_empty()
        });
    }

    /// Entries held (for memory accounting).
    pub fn len(&self) -> usize {
        self.ip_owner.len() + self.process_ctx.len() + self.remote_logons.len() + self.links.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The context key owning an address now, or the address itself.
    pub fn owner_of(&self, ip: IpAddr) -> String {
        self.ip_owner
            .get(&ip)
            .map_or_else(|| format!("ip:{ip}"), |(k, _)| k.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(pairs: &[(Field, &str)]) -> Event {
        let mut e = Event::new(1);
        for (f, v) in pairs {
            e.set(*f, *v);
        }
        e
    }

    #[test]
    fn pods_first_then_logons_then_hosts() {
        let mut r = Resolver::default();
        let pod = ev(&[
            (Field::OrchestratorNamespace, "shop"),
            (Field::OrchestratorResourceName, "frontend-1"),
            (Field::HostName, "node1"),
            (Field::EventModule, "cilium"),
            (Field::SourceIp, "10.1.0.5"),
        ]);
        assert_eq!(r.resolve(&pod).key, "pod:shop/frontend-1");
        let logon = ev(&[
            (Field::HostName, "FS01.corp.local"),
            (Field::LogonId, "0x1A2B"),
        ]);
        assert_eq!(r.resolve(&logon).key, "win:fs01:logon:0x1a2b");
        let system = ev(&[(Field::HostName, "FS01"), (Field::LogonId, "0x3e7")]);
        assert_eq!(r.resolve(&system).key, "host:fs01");
        // A Zeek flow from the pod's address joins the pod.
        let flow = ev(&[
            (Field::EventModule, "zeek"),
            (Field::SourceIp, "10.1.0.5"),
            (Field::DestinationIp, "10.2.0.9"),
        ]);
        assert_eq!(r.resolve(&flow).key, "pod:shop/frontend-1");
        let other = ev(&[(Field::EventModule, "zeek"), (Field::SourceIp, "10.0.1.4")]);
        assert_eq!(r.resolve(&other).key, "ip:10.0.1.4");
        r.expire(2);
        assert_eq!(r.resolve(&flow).key, "ip:10.1.0.5");
    }

    #[test]
    fn process_children_inherit_their_parents_context() {
        let mut r = Resolver::default();
        let parent = ev(&[
            (Field::HostName, "db1"),
            (Field::SessionId, "7"),
            (Field::ProcessEntityId, "p1"),
        ]);
        assert_eq!(r.resolve(&parent).key, "linux:db1:ses:7");
        let child = ev(&[
            (Field::HostName, "db1"),
            (Field::ProcessParentEntityId, "p1"),
            (Field::ProcessEntityId, "p2"),
        ]);
        assert_eq!(r.resolve(&child).key, "linux:db1:ses:7");
        let grandchild = ev(&[
            (Field::HostName, "db1"),
            (Field::ProcessParentEntityId, "p2"),
        ]);
        assert_eq!(r.resolve(&grandchild).key, "linux:db1:ses:7");
    }

    fn at(ts: Nanos, pairs: &[(Field, &str)]) -> Event {
        let mut e = ev(pairs);
        e.timestamp = ts;
        e
    }

    #[test]
    fn an_inbound_logon_continues_the_context_that_connected() {
        const S: Nanos = 1_000_000_000;
        let mut r = Resolver::default();
        // WS01: the implant's logon starts PsExec, which connects to FS01:445.
        let exec = at(
            S,
            &[
                (Field::EventModule, "windows"),
                (Field::HostName, "WS01"),
                (Field::LogonId, "0x2a7f31"),
                (Field::ProcessEntityId, "{psexec}"),
            ],
        );
        assert_eq!(r.resolve(&exec).key, "win:ws01:logon:0x2a7f31");
        let mut conn = at(
            2 * S,
            &[
                (Field::EventModule, "windows"),
                (Field::EventCode, "3"),
                (Field::HostName, "WS01"),
                (Field::ProcessEntityId, "{psexec}"),
                (Field::SourceIp, "10.1.20.31"),
                (Field::DestinationIp, "10.1.1.20"),
            ],
        );
        conn.set(Field::DestinationPort, 445i64);
        assert_eq!(r.resolve(&conn).key, "win:ws01:logon:0x2a7f31");
        // FS01 records the network logon from WS01's address; its session joins WS01's.
        let mut logon = at(
            3 * S,
            &[
                (Field::EventModule, "windows"),
                (Field::EventCategory, "authentication"),
                (Field::HostName, "FS01"),
                (Field::HostIp, "10.1.1.20"),
                (Field::LogonId, "0x6a1f0c"),
                (Field::SourceIp, "10.1.20.31"),
            ],
        );
        logon.set(Field::LogonType, 3i64);
        let info = r.resolve(&logon);
        assert_eq!(info.key, "win:ws01:logon:0x2a7f31");
        assert_eq!(info.kind, "remote_logon");
        let later = at(
            4 * S,
            &[(Field::HostName, "FS01"), (Field::LogonId, "0x6A1F0C")],
        );
        assert_eq!(r.resolve(&later).key, "win:ws01:logon:0x2a7f31");
        // A logon on another host from the same address, not the connection's target: apart.
        let mut other = at(
            5 * S,
            &[
                (Field::EventCategory, "authentication"),
                (Field::HostName, "DC01"),
                (Field::HostIp, "10.1.1.10"),
                (Field::LogonId, "0x99"),
                (Field::SourceIp, "10.1.20.31"),
            ],
        );
        other.set(Field::LogonType, 3i64);
        assert_eq!(r.resolve(&other).key, "win:dc01:logon:0x99");
        // Too late: more than two minutes after the connection.
        let mut late = at(
            200 * S,
            &[
                (Field::EventCategory, "authentication"),
                (Field::HostName, "FS01"),
                (Field::HostIp, "10.1.1.20"),
                (Field::LogonId, "0x77"),
                (Field::SourceIp, "10.1.20.31"),
            ],
        );
        late.set(Field::LogonType, 3i64);
        assert_eq!(r.resolve(&late).key, "win:fs01:logon:0x77");
    }
}

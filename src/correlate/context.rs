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

use std::collections::HashMap;
use std::net::IpAddr;

use super::session::ContextInfo;
use crate::event::{Event, Field, Nanos};

/// Logon ids of Windows' built-in service sessions.
const SYSTEM_LOGONS: &[&str] = &["0x3e7", "0x3e4", "0x3e5", "0x0"];

/// Resolves events to context keys; keeps the state stitching needs (address owners, process
/// ancestry), bounded by expiry.
#[derive(Debug, Default)]
pub struct Resolver {
    /// Address → (context key, last seen).
    ip_owner: HashMap<IpAddr, (String, Nanos)>,
    /// Process entity id → (context key, last seen).
    process_ctx: HashMap<String, (String, Nanos)>,
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
        if let Some(h) = &host {
            if let Some(logon) = ev.str(Field::LogonId).map(lower)
                && !SYSTEM_LOGONS.contains(&logon.as_str())
            {
                info.key = format!("win:{h}:logon:{logon}");
                info.kind = "logon".into();
                info.logon_id = Some(logon);
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

    /// Remember what this event says about who owns an address or a process.
    fn learn(&mut self, ev: &Event, key: &str, ts: Nanos) {
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
    }

    /// Entries held (for memory accounting).
    pub fn len(&self) -> usize {
        self.ip_owner.len() + self.process_ctx.len()
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
}

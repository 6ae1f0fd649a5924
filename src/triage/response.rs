//! Response artifacts: containment commands and policies for a session's context, generated
//! as text for the analyst to review and run. lateral never executes them.
//!
//! Every value that came from a log is untrusted: it is quoted for the language it lands in
//! (POSIX shell, PowerShell, YAML) or, where a value must be a name (a Kubernetes pod, an
//! instance id, an address), validated and left out with a comment when it is not one. A
//! hostile user name such as `x'; rm -rf / #` therefore cannot turn into a command.

use std::net::IpAddr;

use serde::Serialize;

use crate::correlate::Session;

/// One generated artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// What it is for (`kubernetes`, `aws`, `windows`, `linux`, `network`).
    pub platform: &'static str,
    /// Short title.
    pub title: String,
    /// File name to write it to.
    pub file_name: String,
    /// The text itself.
    pub text: String,
}

/// POSIX shell single-quoting.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// PowerShell single-quoting (a quote is doubled).
pub fn ps_quote(s: &str) -> String {
    format!(
        "'{}'",
        s.replace('\'', "''")
            .replace(['\u{2018}', '\u{2019}'], "''")
    )
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
pub fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Whether `s` is a valid Kubernetes object name (RFC 1123 subdomain, at most 253 chars).
pub fn is_k8s_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn is_instance_id(s: &str) -> bool {
    s.len() >= 10 && s.starts_with("i-") && s[2..].chars().all(|c| c.is_ascii_hexdigit())
}

fn ip(s: &Option<String>) -> Option<IpAddr> {
    s.as_deref().and_then(|v| v.parse().ok())
}

fn cidr(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}/32"),
        IpAddr::V6(_) => format!("{ip}/128"),
    }
}

/// Every artifact that applies to the session's context.
pub fn artifacts(s: &Session) -> Vec<Artifact> {
    let mut out = Vec::new();
    let c = &s.context;
    let short = &s.id.0[..s.id.0.len().min(8)];
    let source = ip(&c.source_ip);
    let targets: Vec<IpAddr> = c.targets.iter().filter_map(|t| t.parse().ok()).collect();

    if let (Some(ns), Some(pod)) = (&c.namespace, &c.pod) {
        out.push(kubernetes(ns, pod, short));
    }
    if c.key.starts_with("win:") || s.rules.iter().any(|r| r.starts_with("win-")) {
        out.push(windows(s, source, short));
    }
    if c.key.starts_with("linux:")
        || c.key.starts_with("pod:")
        || s.rules.iter().any(|r| r.starts_with("ra-ssh"))
    {
        out.push(linux(s, source, &targets));
    }
    let instance = c.host.as_deref().filter(|h| is_instance_id(h));
    if instance.is_some() || source.is_some() {
        out.push(aws(instance, source, short));
    }
    out
}

fn kubernetes(ns: &str, pod: &str, short: &str) -> Artifact {
    let policy_name = format!("lateral-quarantine-{short}");
    let mut text = String::new();
    text.push_str(&format!(
        "# Quarantine for pod {pod} in namespace {ns} (session {short}).\n\
         # 1. Apply the policy once per namespace; it selects pods labelled security.quarantine=true\n\
         #    and denies all their traffic to and from the cluster and the world.\n\
         # 2. Label the pod (command below). Cilium drops its traffic at once.\n\
         # 3. TTL: a quarantine is a hypothesis. Review within 15 minutes; remove the label to\n\
         #    release the pod, or keep it and move to forensics. Never delete the pod before\n\
         #    capturing what you need (kubectl debug, node-level capture).\n\
         ---\n\
         apiVersion: cilium.io/v2\n\
         kind: CiliumNetworkPolicy\n\
         metadata:\n  name: {}\n  namespace: {}\n\
         spec:\n  endpointSelector:\n    matchLabels:\n      security.quarantine: \"true\"\n\
         \x20 egressDeny:\n    - toEntities:\n        - cluster\n        - world\n\
         \x20 ingressDeny:\n    - fromEntities:\n        - cluster\n        - world\n",
        yaml_quote(&policy_name),
        yaml_quote(ns),
    ));
    if is_k8s_name(ns) && is_k8s_name(pod) {
        text.push_str(&format!(
            "---\n# Apply and label:\n# kubectl apply -f {policy_name}.yaml\n\
             # kubectl label pod {} -n {} security.quarantine=true --overwrite\n\
             # Release (after review):\n# kubectl label pod {} -n {} security.quarantine-\n",
            sh_quote(pod),
            sh_quote(ns),
            sh_quote(pod),
            sh_quote(ns)
        ));
    } else {
        text.push_str("# The pod or namespace name from the logs is not a valid Kubernetes name; label it by hand after checking.\n");
    }
    Artifact {
        platform: "kubernetes",
        title: format!("Cilium quarantine for {ns}/{pod}"),
        file_name: format!("{policy_name}.yaml"),
        text,
    }
}

fn windows(s: &Session, source: Option<IpAddr>, short: &str) -> Artifact {
    let c = &s.context;
    let mut t = String::from(
        "# PowerShell, run from an admin workstation with the ActiveDirectory module. Review first.\n",
    );
    if let Some(u) = &c.user {
        let account = u.split_once('\\').map_or(u.as_str(), |(_, a)| a);
        t.push_str(&format!(
            "# Disable the account used in the session:\nDisable-ADAccount -Identity {}\n\n",
            ps_quote(account)
        ));
    }
    if let Some(ip) = source {
        let name = ps_quote(&format!("lateral quarantine {ip} ({short})"));
        t.push_str(&format!(
            "# Block the source address on the target host(s):\n\
             New-NetFirewallRule -DisplayName {name} -Direction Inbound -RemoteAddress {} -Action Block\n\
             New-NetFirewallRule -DisplayName {name} -Direction Outbound -RemoteAddress {} -Action Block\n\n",
            ps_quote(&ip.to_string()),
            ps_quote(&ip.to_string())
        ));
    }
    if let Some(h) = &c.host {
        t.push_str(&format!(
            "# Log the session off (find its id with quser first):\nquser /server:{}\n# logoff <SESSION_ID> /server:{}\n",
            ps_quote(h),
            ps_quote(h)
        ));
    }
    Artifact {
        platform: "windows",
        title: "Windows containment".into(),
        file_name: format!("windows-{short}.ps1"),
        text: t,
    }
}

fn linux(s: &Session, source: Option<IpAddr>, targets: &[IpAddr]) -> Artifact {
    let c = &s.context;
    let mut t = String::from(
        "#!/bin/sh\n# Linux containment, run as root on the affected host. Review first.\nset -eu\n",
    );
    if let Some(u) = &c.user {
        let q = sh_quote(u);
        t.push_str(&format!(
            "# Lock the account and end its terminals (find the tty with: who | grep {q}):\nusermod -L {q}\n# pkill -KILL -t pts/N\npkill -KILL -u {q} || true\n"
        ));
    }
    if let Some(ip) = source {
        let fam = if ip.is_ipv4() { "ip" } else { "ip6" };
        t.push_str(&format!("# Drop traffic from the source:\nnft add rule inet filter input {fam} saddr {ip} drop\n"));
    }
    for ip in targets.iter().take(16) {
        let fam = if ip.is_ipv4() { "ip" } else { "ip6" };
        t.push_str(&format!(
            "nft add rule inet filter output {fam} daddr {ip} drop\n"
        ));
    }
    Artifact {
        platform: "linux",
        title: "Linux containment".into(),
        file_name: format!("linux-{}.sh", &s.id.0[..s.id.0.len().min(8)]),
        text: t,
    }
}

fn aws(instance: Option<&str>, source: Option<IpAddr>, short: &str) -> Artifact {
    let mut t = String::from(
        "#!/bin/sh\n# AWS isolation with the AWS CLI. Fill <VPC_ID>, <NACL_ID>, <ROLE_NAME>; review first.\nset -eu\n",
    );
    if let Some(i) = instance {
        t.push_str(&format!(
            "# A security group with no rules denies everything; keep a forensic path if you need one.\n\
             SG=$(aws ec2 create-security-group --group-name lateral-quarantine-{short} \\\n  --description 'lateral quarantine' --vpc-id <VPC_ID> --query GroupId --output text)\n\
             aws ec2 revoke-security-group-egress --group-id \"$SG\" --ip-permissions '[{{\"IpProtocol\":\"-1\",\"IpRanges\":[{{\"CidrIp\":\"0.0.0.0/0\"}}]}}]'\n\
             aws ec2 modify-instance-attribute --instance-id {i} --groups \"$SG\"\n\n"
        ));
    }
    if let Some(ip) = source {
        t.push_str(&format!(
            "# Deny the source address at the subnet boundary (rule numbers must be free):\n\
             aws ec2 create-network-acl-entry --network-acl-id <NACL_ID> --ingress --rule-number 90 --protocol -1 --rule-action deny --cidr-block {}\n\
             aws ec2 create-network-acl-entry --network-acl-id <NACL_ID> --egress --rule-number 90 --protocol -1 --rule-action deny --cidr-block {}\n\n",
            cidr(ip),
            cidr(ip)
        ));
    }
    t.push_str(
        "# Revoke role sessions issued before now (instance credentials taken from IMDS stop working):\n\
         NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)\n\
         aws iam put-role-policy --role-name <ROLE_NAME> --policy-name lateral-revoke-older-sessions --policy-document \\\n  \"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{\\\"Effect\\\":\\\"Deny\\\",\\\"Action\\\":\\\"*\\\",\\\"Resource\\\":\\\"*\\\",\\\"Condition\\\":{\\\"DateLessThan\\\":{\\\"aws:TokenIssueTime\\\":\\\"$NOW\\\"}}}]}\"\n",
    );
    Artifact {
        platform: "aws",
        title: "AWS isolation".into(),
        file_name: format!("aws-{short}.sh"),
        text: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlate::session::{ContextInfo, NearMiss, SessionId};
    use crate::event::Severity;

    fn session(ctx: ContextInfo, rules: &[&str]) -> Session {
        Session {
            id: SessionId("0123456789abcdef".into()),
            rule_id: "x".into(),
            title: "t".into(),
            severity: Severity::High,
            case: None,
            tactics: vec![],
            techniques: vec![],
            groups: vec![],
            context: ctx,
            interactive: false,
            first_seen: 0,
            last_seen: 0,
            event_count: 0,
            evidence: vec![],
            explanation: vec![],
            near_miss: NearMiss::default(),
            rules: rules.iter().map(|r| (*r).to_string()).collect(),
            closed: false,
        }
    }

    #[test]
    fn quoting_neutralises_hostile_values() {
        assert_eq!(sh_quote("x'; rm -rf / #"), r"'x'\''; rm -rf / #'");
        assert_eq!(ps_quote("a'b"), "'a''b'");
        assert_eq!(yaml_quote("a\"b\n"), r#""a\"b\n""#);
        assert!(is_k8s_name("frontend-7d9f8b6c5d-abcde"));
        assert!(!is_k8s_name("evil;rm"));
    }

    #[test]
    fn pod_sessions_get_a_cilium_quarantine() {
        let s = session(
            ContextInfo {
                key: "pod:shop/frontend-1".into(),
                namespace: Some("shop".into()),
                pod: Some("frontend-1".into()),
                source_ip: Some("10.1.0.5".into()),
                ..ContextInfo::default()
            },
            &[],
        );
        let a = artifacts(&s);
        let k = a.iter().find(|a| a.platform == "kubernetes").unwrap();
        assert!(k.text.contains("kind: CiliumNetworkPolicy"));
        assert!(k.text.contains("security.quarantine: \"true\""));
        assert!(k.text.contains("egressDeny") && k.text.contains("ingressDeny"));
        assert!(
            k.text
                .contains("kubectl label pod 'frontend-1' -n 'shop' security.quarantine=true")
        );
        assert!(
            a.iter()
                .any(|a| a.platform == "aws" && a.text.contains("cidr-block 10.1.0.5/32"))
        );
    }

    #[test]
    fn windows_and_linux_commands_quote_the_user() {
        let s = session(
            ContextInfo {
                key: "win:fs01:logon:0x1".into(),
                host: Some("fs01".into()),
                user: Some("CORP\\x'; Remove-Item C:\\ #".into()),
                source_ip: Some("10.0.0.5".into()),
                ..ContextInfo::default()
            },
            &["win-psexec"],
        );
        let w = artifacts(&s)
            .into_iter()
            .find(|a| a.platform == "windows")
            .unwrap();
        assert!(
            w.text
                .contains("Disable-ADAccount -Identity 'x''; Remove-Item C:\\ #'"),
            "{}",
            w.text
        );
        assert!(
            w.text.contains("New-NetFirewallRule") && w.text.contains("-RemoteAddress '10.0.0.5'")
        );
        let l = session(
            ContextInfo {
                key: "linux:db1:user:bob".into(),
                host: Some("db1".into()),
                user: Some("bob".into()),
                ..ContextInfo::default()
            },
            &[],
        );
        let t = artifacts(&l)
            .into_iter()
            .find(|a| a.platform == "linux")
            .unwrap()
            .text;
        assert!(t.contains("usermod -L 'bob'") && t.contains("pkill -KILL"));
    }
}

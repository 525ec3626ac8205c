//! Authorization rules in Mesos's ACL shape (`--acls FILE`): [`Acls`].
//! Masters and agents read the same file; each enforces the actions that
//! are its own, and ignores (without refusing) the others'.
//!
//! For each action there is an ordered list of rules, each naming a subject
//! (`principals`) and an object (here `roles`). The first rule whose
//! subject and object both match the request decides it. A rule matches
//! when the request's principals and objects are among its values, when
//! it says `ANY`, or when it says `NONE`. A `NONE` rule matches in order to
//! deny, so `{"principals": {"values": ["a"]}, "roles": {"type": "NONE"}}`
//! stops principal `a` registering anywhere. When no rule matches,
//! `permissive` decides (true by default, as in Mesos). A framework that
//! proved no principal only matches rules whose principals are `ANY` or
//! `NONE`.
//!
//! Eight actions are enforced:
//! - `register_frameworks`: which principals may subscribe frameworks in
//!   which `roles`;
//! - `run_tasks`: which principals may run tasks as which `users` (the
//!   framework's `user`; a framework that names none runs as the agent's
//!   user, which only `ANY` and `NONE` rules match);
//! - `teardown_frameworks` (Mesos's): which operator principals may tear
//!   down the frameworks of which `framework_principals`;
//! - `kill_tasks` (Corral's, for its operator kill, which Mesos lacks):
//!   which operator principals may kill tasks of the frameworks of which
//!   `framework_principals`;
//! - `view_frameworks` and `view_tasks` (Mesos's): which principals reading
//!   the master's HTTP views see the frameworks, and the tasks, of which
//!   `users` (the framework's `user`). Agents, totals and metrics are
//!   shown to every reader, as in Mesos;
//! - `access_sandboxes` (Mesos's, enforced by agents): which principals may
//!   read the sandboxes of which `users` (the user the sandbox's framework
//!   runs as). A sandbox whose owner the agent no longer knows is, as in
//!   Mesos, matched only by `ANY` and `NONE` rules;
//! - `access_mesos_logs` (Mesos's, enforced by masters and agents): which
//!   principals may read the node's own log. Its object, `logs`, is
//!   implicit: only `ANY` and `NONE` make sense there, as in Mesos.
//!
//! A framework that registered with no principal is matched, as an object,
//! only by `ANY` and `NONE`.
//!
//! A file naming any other action is refused rather than silently ignored.

use std::collections::BTreeSet;

use serde::Deserialize;

/// One side of a rule: some named values, anything, or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entity {
    Any,
    None,
    Values(BTreeSet<String>),
}

/// A rule's entity as written: `{"values": [...]}` or `{"type": "ANY"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityJson {
    #[serde(default)]
    values: Option<Vec<String>>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl TryFrom<EntityJson> for Entity {
    type Error = String;

    fn try_from(e: EntityJson) -> Result<Entity, String> {
        match (e.values, e.kind.as_deref()) {
            (Some(values), None) if !values.is_empty() => {
                Ok(Entity::Values(values.into_iter().collect()))
            }
            (None, Some("ANY")) => Ok(Entity::Any),
            (None, Some("NONE")) => Ok(Entity::None),
            (None, Some(other)) => Err(format!("type {other:?} is not ANY or NONE")),
            _ => Err("give either non-empty values or a type (ANY or NONE)".to_owned()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterJson {
    principals: EntityJson,
    roles: EntityJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunJson {
    principals: EntityJson,
    users: EntityJson,
}

/// A rule over the node's log, whose object is implicit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsJson {
    principals: EntityJson,
    logs: EntityJson,
}

/// A rule over frameworks by their principal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverFrameworksJson {
    principals: EntityJson,
    framework_principals: EntityJson,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AclsJson {
    #[serde(default = "yes")]
    permissive: bool,
    #[serde(default)]
    register_frameworks: Vec<RegisterJson>,
    #[serde(default)]
    run_tasks: Vec<RunJson>,
    #[serde(default)]
    teardown_frameworks: Vec<OverFrameworksJson>,
    #[serde(default)]
    kill_tasks: Vec<OverFrameworksJson>,
    #[serde(default)]
    view_frameworks: Vec<RunJson>,
    #[serde(default)]
    view_tasks: Vec<RunJson>,
    #[serde(default)]
    access_sandboxes: Vec<RunJson>,
    #[serde(default)]
    access_mesos_logs: Vec<LogsJson>,
}

fn yes() -> bool {
    true
}

/// A subject and an object: the first rule matching both decides.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    principals: Entity,
    objects: Entity,
}

/// Why an ACL file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// Not JSON of Mesos's ACL shape, or an action not enforced yet.
    #[error(
        "not an ACL file of the actions enforced (register_frameworks, run_tasks, \
         teardown_frameworks, kill_tasks, view_frameworks, view_tasks, \
         access_sandboxes, access_mesos_logs): {0}"
    )]
    Syntax(String),
    /// A rule whose entity cannot be read.
    #[error("{action} rule {index}: {why}")]
    Entity {
        /// The action the rule is for.
        action: &'static str,
        /// The rule's place in its list, from 1.
        index: usize,
        /// What is wrong.
        why: String,
    },
}

/// The authorization rules of a master or an agent; see the module doc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acls {
    permissive: bool,
    register_frameworks: Vec<Rule>,
    run_tasks: Vec<Rule>,
    teardown_frameworks: Vec<Rule>,
    kill_tasks: Vec<Rule>,
    view_frameworks: Vec<Rule>,
    view_tasks: Vec<Rule>,
    access_sandboxes: Vec<Rule>,
    access_mesos_logs: Vec<Rule>,
}

impl Default for Acls {
    /// No rules, permissive: everything is allowed.
    fn default() -> Acls {
        Acls {
            permissive: true,
            register_frameworks: Vec::new(),
            run_tasks: Vec::new(),
            teardown_frameworks: Vec::new(),
            kill_tasks: Vec::new(),
            view_frameworks: Vec::new(),
            view_tasks: Vec::new(),
            access_sandboxes: Vec::new(),
            access_mesos_logs: Vec::new(),
        }
    }
}

impl Acls {
    /// Reads Mesos's JSON ACL file.
    pub fn parse(text: &str) -> Result<Acls, AclError> {
        let file: AclsJson =
            serde_json::from_str(text).map_err(|e| AclError::Syntax(e.to_string()))?;
        let register_frameworks = rules(
            "register_frameworks",
            file.register_frameworks
                .into_iter()
                .map(|r| (r.principals, r.roles)),
        )?;
        let run_tasks = rules(
            "run_tasks",
            file.run_tasks.into_iter().map(|r| (r.principals, r.users)),
        )?;
        let over = |action, written: Vec<OverFrameworksJson>| {
            let written = written
                .into_iter()
                .map(|r| (r.principals, r.framework_principals));
            rules(action, written)
        };
        let by_user = |action, written: Vec<RunJson>| {
            rules(action, written.into_iter().map(|r| (r.principals, r.users)))
        };
        Ok(Acls {
            permissive: file.permissive,
            register_frameworks,
            run_tasks,
            teardown_frameworks: over("teardown_frameworks", file.teardown_frameworks)?,
            kill_tasks: over("kill_tasks", file.kill_tasks)?,
            view_frameworks: by_user("view_frameworks", file.view_frameworks)?,
            view_tasks: by_user("view_tasks", file.view_tasks)?,
            access_sandboxes: by_user("access_sandboxes", file.access_sandboxes)?,
            access_mesos_logs: rules(
                "access_mesos_logs",
                file.access_mesos_logs
                    .into_iter()
                    .map(|r| (r.principals, r.logs)),
            )?,
        })
    }

    /// Whether `principal` (None: it proved none) may register frameworks
    /// in `role`.
    pub fn may_register(&self, principal: Option<&str>, role: &str) -> bool {
        decide(&self.register_frameworks, principal, role).unwrap_or(self.permissive)
    }

    /// Whether `principal` (None: it proved none) may run tasks as `user`
    /// ("": the agent's own user).
    pub fn may_run_as(&self, principal: Option<&str>, user: &str) -> bool {
        decide(&self.run_tasks, principal, user).unwrap_or(self.permissive)
    }

    /// Whether operator `principal` may tear down a framework registered
    /// by `framework_principal` (None: by none).
    pub fn may_teardown(&self, principal: Option<&str>, framework_principal: Option<&str>) -> bool {
        decide(
            &self.teardown_frameworks,
            principal,
            framework_principal.unwrap_or(""),
        )
        .unwrap_or(self.permissive)
    }

    /// Whether some reader may be refused a view: with no view rules and
    /// `permissive`, every reader sees everything.
    pub fn restricts_views(&self) -> bool {
        !self.permissive || !self.view_frameworks.is_empty() || !self.view_tasks.is_empty()
    }

    /// Whether `principal` (None: it proved none) may see the frameworks
    /// of `user` ("": the agent's own user).
    pub fn may_view_framework(&self, principal: Option<&str>, user: &str) -> bool {
        decide(&self.view_frameworks, principal, user).unwrap_or(self.permissive)
    }

    /// Whether `principal` may see the tasks of frameworks of `user`.
    pub fn may_view_task(&self, principal: Option<&str>, user: &str) -> bool {
        decide(&self.view_tasks, principal, user).unwrap_or(self.permissive)
    }

    /// Whether operator `principal` may kill tasks of a framework
    /// registered by `framework_principal` (None: by none).
    pub fn may_kill(&self, principal: Option<&str>, framework_principal: Option<&str>) -> bool {
        decide(
            &self.kill_tasks,
            principal,
            framework_principal.unwrap_or(""),
        )
        .unwrap_or(self.permissive)
    }

    /// Whether some reader may be refused a sandbox: with no
    /// `access_sandboxes` rules and `permissive`, every reader may read
    /// every sandbox, and a node need not find out whose a sandbox is.
    pub fn restricts_sandboxes(&self) -> bool {
        !self.permissive || !self.access_sandboxes.is_empty()
    }

    /// Whether `principal` (None: it proved none) may read the sandboxes
    /// of `user`, the user their framework runs as (None: not known, which
    /// only `ANY` and `NONE` rules match).
    pub fn may_access_sandbox(&self, principal: Option<&str>, user: Option<&str>) -> bool {
        decide_over(&self.access_sandboxes, principal, user).unwrap_or(self.permissive)
    }

    /// Whether `principal` (None: it proved none) may read the node's own
    /// log (`/master/log`, `/slave/log`).
    pub fn may_access_log(&self, principal: Option<&str>) -> bool {
        decide_over(&self.access_mesos_logs, principal, None).unwrap_or(self.permissive)
    }
}

/// The rules of `action` as written, each a subject and an object.
fn rules(
    action: &'static str,
    written: impl Iterator<Item = (EntityJson, EntityJson)>,
) -> Result<Vec<Rule>, AclError> {
    written
        .enumerate()
        .map(|(i, (principals, objects))| {
            let entity = |e| {
                Entity::try_from(e).map_err(|why| AclError::Entity {
                    action,
                    index: i + 1,
                    why,
                })
            };
            Ok(Rule {
                principals: entity(principals)?,
                objects: entity(objects)?,
            })
        })
        .collect()
}

/// What the first rule matching `subject` and `object` says, if any does.
fn decide(rules: &[Rule], subject: Option<&str>, object: &str) -> Option<bool> {
    decide_over(rules, subject, Some(object))
}

/// [`decide`] where the object may be unknown (None), which only `ANY`
/// and `NONE` rules match: Mesos's object of type `ANY`.
fn decide_over(rules: &[Rule], subject: Option<&str>, object: Option<&str>) -> Option<bool> {
    rules.iter().find_map(|rule| {
        let subject_matches = match (&rule.principals, subject) {
            (Entity::Any | Entity::None, _) => true,
            (Entity::Values(values), Some(s)) => values.contains(s),
            (Entity::Values(_), None) => false,
        };
        let object_matches = match (&rule.objects, object) {
            (Entity::Any | Entity::None, _) => true,
            (Entity::Values(values), Some(o)) => values.contains(o),
            (Entity::Values(_), None) => false,
        };
        (subject_matches && object_matches)
            .then(|| rule.principals != Entity::None && rule.objects != Entity::None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_decides_and_permissive_the_rest() {
        let acls = Acls::parse(
            r#"{
              "permissive": false,
              "register_frameworks": [
                {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
                {"principals": {"values": ["web"]}, "roles": {"values": ["web", "*"]}},
                {"principals": {"values": ["banned"]}, "roles": {"type": "NONE"}},
                {"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}
              ]
            }"#,
        )
        .unwrap();
        let cases = [
            (Some("ops"), "anything", true),
            (Some("web"), "web", true),
            (Some("web"), "batch", false),
            (Some("banned"), "*", false),
            // Any principal, or none proved, may use the default role only.
            (Some("other"), "*", true),
            (None, "*", true),
            (None, "web", false),
        ];
        for (principal, role, allowed) in cases {
            assert_eq!(
                acls.may_register(principal, role),
                allowed,
                "{principal:?} in {role}"
            );
        }
    }

    #[test]
    fn run_tasks_rules_name_users_and_a_framework_without_one_matches_only_any() {
        let acls = Acls::parse(
            r#"{"run_tasks": [
                 {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
                 {"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}},
                 {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#,
        )
        .unwrap();
        let cases = [
            (Some("ops"), "root", true),
            (Some("ops"), "", true),
            (Some("dev"), "nobody", true),
            (None, "nobody", true),
            (Some("dev"), "root", false),
            (Some("dev"), "", false),
        ];
        for (principal, user, allowed) in cases {
            assert_eq!(
                acls.may_run_as(principal, user),
                allowed,
                "{principal:?} as {user:?}"
            );
        }
    }

    #[test]
    fn no_rules_allow_everything_unless_not_permissive() {
        assert!(Acls::default().may_register(None, "web"));
        let strict = Acls::parse(r#"{"permissive": false}"#).unwrap();
        assert!(!strict.may_register(Some("ops"), "*"));
    }

    #[test]
    fn bad_files_are_errors_in_words() {
        let cases = [
            ("nope", "not an ACL file"),
            (r#"{"view_roles": []}"#, "unknown field `view_roles`"),
            (
                r#"{"access_mesos_logs": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}"#,
                "unknown field `users`",
            ),
            (
                r#"{"register_frameworks": [{"principals": {"type": "SOME"}, "roles": {"type": "ANY"}}]}"#,
                "rule 1: type \"SOME\" is not ANY or NONE",
            ),
            (
                r#"{"register_frameworks": [{"principals": {"values": []}, "roles": {"type": "ANY"}}]}"#,
                "rule 1: give either non-empty values or a type",
            ),
        ];
        for (text, expected) in cases {
            let e = Acls::parse(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn views_are_decided_by_the_frameworks_user() {
        let acls = Acls::parse(
            r#"{"view_frameworks": [
                  {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
                  {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
                  {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
                "view_tasks": [
                  {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
                  {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#,
        )
        .unwrap();
        assert!(acls.restricts_views());
        assert!(acls.may_view_framework(Some("ops"), "bob"));
        assert!(acls.may_view_framework(Some("alice"), "alice"));
        assert!(!acls.may_view_framework(Some("alice"), "bob"));
        assert!(!acls.may_view_framework(None, ""));
        assert!(acls.may_view_task(Some("ops"), ""));
        assert!(!acls.may_view_task(Some("alice"), "alice"));
        assert!(!Acls::default().restricts_views());
        assert!(Acls::parse(r#"{"permissive": false}"#)
            .unwrap()
            .restricts_views());
    }

    #[test]
    fn operators_kill_and_tear_down_by_the_frameworks_principal() {
        let acls = Acls::parse(
            r#"{"permissive": false,
                "kill_tasks": [
                  {"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}},
                  {"principals": {"values": ["web-ops"]}, "framework_principals": {"values": ["web"]}}],
                "teardown_frameworks": [
                  {"principals": {"values": ["ops"]}, "framework_principals": {"values": ["web"]}}]}"#,
        )
        .unwrap();
        let cases = [
            (Some("ops"), Some("batch"), true, false),
            (Some("ops"), None, true, false),
            (Some("ops"), Some("web"), true, true),
            (Some("web-ops"), Some("web"), true, false),
            (Some("web-ops"), Some("batch"), false, false),
            // A framework without principal matches only ANY or NONE.
            (Some("web-ops"), None, false, false),
            (None, Some("web"), false, false),
        ];
        for (operator, framework, kill, teardown) in cases {
            assert_eq!(
                acls.may_kill(operator, framework),
                kill,
                "kill {operator:?} {framework:?}"
            );
            assert_eq!(
                acls.may_teardown(operator, framework),
                teardown,
                "teardown {operator:?} {framework:?}"
            );
        }
        assert!(Acls::default().may_kill(None, Some("x")));
        assert!(Acls::parse(r#"{"kill_tasks": [{"principals": {"type": "ANY"}}]}"#).is_err());
    }

    #[test]
    fn sandboxes_are_decided_by_their_user_and_an_unknown_one_by_any_rules() {
        let acls = Acls::parse(
            r#"{"access_sandboxes": [
                  {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
                  {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
                  {"principals": {"values": ["mallory"]}, "users": {"type": "NONE"}},
                  {"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}}],
                "permissive": false}"#,
        )
        .unwrap();
        assert!(acls.restricts_sandboxes());
        let cases = [
            (Some("ops"), Some("root"), true),
            (Some("ops"), None, true),
            (Some("alice"), Some("alice"), true),
            (Some("alice"), Some("bob"), false),
            // An owner no longer known matches only ANY and NONE rules.
            (Some("alice"), None, false),
            (Some("mallory"), Some("nobody"), false),
            (Some("bob"), Some("nobody"), true),
            // A reader that proved no principal matches only ANY rules.
            (None, Some("nobody"), true),
            (None, Some("alice"), false),
            (None, None, false),
        ];
        for (principal, user, allowed) in cases {
            assert_eq!(
                acls.may_access_sandbox(principal, user),
                allowed,
                "{principal:?} reading {user:?}"
            );
        }
        // No rules: permissive decides, and says whether to ask at all.
        assert!(!Acls::default().restricts_sandboxes());
        assert!(Acls::default().may_access_sandbox(None, None));
        let strict = Acls::parse(r#"{"permissive": false}"#).unwrap();
        assert!(strict.restricts_sandboxes());
        assert!(!strict.may_access_sandbox(Some("ops"), Some("ops")));
        // Rules of other actions do not restrict sandboxes.
        let views = Acls::parse(
            r#"{"view_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#,
        )
        .unwrap();
        assert!(!views.restricts_sandboxes());
    }

    #[test]
    fn logs_are_for_principals_given_any_and_refused_by_none() {
        let acls = Acls::parse(
            r#"{"permissive": false, "access_mesos_logs": [
                  {"principals": {"values": ["ops"]}, "logs": {"type": "ANY"}},
                  {"principals": {"values": ["dev"]}, "logs": {"type": "NONE"}}]}"#,
        )
        .unwrap();
        assert!(acls.may_access_log(Some("ops")));
        assert!(!acls.may_access_log(Some("dev")));
        assert!(!acls.may_access_log(Some("other")));
        assert!(!acls.may_access_log(None));
        // Values name no log: such a rule never matches.
        let named = Acls::parse(
            r#"{"permissive": false, "access_mesos_logs": [
                  {"principals": {"type": "ANY"}, "logs": {"values": ["x"]}}]}"#,
        )
        .unwrap();
        assert!(!named.may_access_log(Some("ops")));
        assert!(Acls::default().may_access_log(None));
    }
}

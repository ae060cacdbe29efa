//! SimulatePrincipalPolicy and SimulateCustomPolicy, answered by the policy engine: the same
//! `gatehouse_policy::evaluate` that authorises real requests decides every action × resource, and its
//! reasons (the deciding statements) become MatchedStatements.
//!
//! What the engine cannot decide is refused rather than guessed: actions outside its catalogue (S3, IAM,
//! STS) are InvalidInput, and resource-based policies are S3 bucket policies (the only kind Gatehouse has).
//! Only the caller's account can be simulated: PolicySourceArn must name a user, group or role of it.

use std::sync::Arc;

use gatehouse_meta::{AttachedDoc, Page, PrincipalAuthz};
use gatehouse_policy::catalogue::catalogue;
use gatehouse_policy::{
    CompiledPolicy, Context, Decision, Layer, Layers, Outcome, ParseOptions, PolicyKind, Principal,
    Request, SizeLimit, evaluate, is_principal_key,
};

use crate::params::policy_name_path;
use crate::positions::{Position, statement_positions};
use crate::sim_input::{
    ContextEntry, apply_principal_keys, context_entries, context_of, full_path, iam_arn,
    owner_account,
};
use crate::*;

/// SourcePolicyType of identity policies and permissions boundaries as IAM sends it (the service answers
/// "IAM Policy" for inline, managed and input policies alike, not the names of its documented enum).
const IAM_POLICY: &str = "IAM Policy";
/// SourcePolicyType of the ResourcePolicy input (the documented enum's `resource`).
const RESOURCE_POLICY: &str = "resource";

/// One policy of a simulation and what the answer calls it.
struct Source {
    /// SourcePolicyId: `PolicyInputList.1`, a managed policy's name, `user_NAME_POLICY` for inline ones.
    id: String,
    kind: &'static str,
    positions: Vec<(Position, Position)>,
    compiled: Arc<CompiledPolicy>,
}

/// Everything one simulation evaluates.
struct Sim {
    /// Every policy; its compile-time id is its index here, so a reason maps back to it.
    sources: Vec<Source>,
    identity: Vec<usize>,
    boundary: Option<usize>,
    resource: Option<usize>,
}

/// Whose document it is: a caller's input (errors are InvalidInput) or a stored one (PolicyEvaluation).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Input,
    Stored,
}

impl Sim {
    fn new() -> Self {
        Sim {
            sources: Vec::new(),
            identity: Vec::new(),
            boundary: None,
            resource: None,
        }
    }

    fn add(
        &mut self,
        id: String,
        kind: &'static str,
        doc: &str,
        pk: PolicyKind,
        origin: Origin,
    ) -> Result<usize, IamError> {
        let n = self.sources.len();
        let opts = ParseOptions {
            limit: SizeLimit::Unlimited,
            bucket: None,
        };
        let compiled =
            CompiledPolicy::parse_with(doc, pk, &n.to_string(), &opts).map_err(
                |e| match origin {
                    Origin::Input => IamError::invalid_input(e.to_string()),
                    Origin::Stored => IamError::new(
                        IamErrorCode::PolicyEvaluation,
                        format!("The policy {id} could not be evaluated: {e}"),
                    ),
                },
            )?;
        self.sources.push(Source {
            id,
            kind,
            positions: statement_positions(doc),
            compiled,
        });
        Ok(n)
    }

    fn identity(&mut self, id: String, doc: &str, origin: Origin) -> Result<(), IamError> {
        let n = self.add(id, IAM_POLICY, doc, PolicyKind::Identity, origin)?;
        self.identity.push(n);
        Ok(())
    }

    /// An entity's inline (`{prefix}_{entity}_{name}`) and attached managed (by name) policies.
    fn entity(&mut self, prefix: &str, entity: &str, p: &PrincipalAuthz) -> Result<(), IamError> {
        for (name, doc) in &p.inline {
            self.identity(format!("{prefix}_{entity}_{name}"), doc, Origin::Stored)?;
        }
        for m in &p.managed {
            let doc = stored_doc(m)?;
            self.identity(policy_name_path(&m.arn).0, doc, Origin::Stored)?;
        }
        Ok(())
    }

    fn compiled(&self, i: usize) -> &CompiledPolicy {
        &self.sources[i].compiled
    }
}

fn stored_doc(m: &AttachedDoc) -> Result<&str, IamError> {
    m.document.as_deref().ok_or_else(|| {
        IamError::new(
            IamErrorCode::PolicyEvaluation,
            format!("The policy {} could not be evaluated.", m.arn),
        )
    })
}

/// A policy document input: 1..=131,072 characters of `[\t\n\r\x20-\xFF]`.
fn check_input_doc(k: &str, v: &str) -> Result<(), IamError> {
    let n = v.chars().count();
    if n == 0
        || n > 131_072
        || !v
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
    {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+ and have length between 1 and 131072",
            lower_first(k)
        )));
    }
    Ok(())
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The inputs both calls share: PolicyInputList, PermissionsBoundaryPolicyInputList, ResourcePolicy.
fn input_policies(cx: &Cx<'_>, sim: &mut Sim) -> Result<(), IamError> {
    for (i, doc) in cx.p.members("PolicyInputList").iter().enumerate() {
        check_input_doc("PolicyInputList", doc)?;
        sim.identity(format!("PolicyInputList.{}", i + 1), doc, Origin::Input)?;
    }
    let boundaries = cx.p.members("PermissionsBoundaryPolicyInputList");
    if boundaries.len() > 1 {
        return Err(IamError::invalid_input(
            "The list of Permissions Boundary policies cannot exceed 1 items.",
        ));
    }
    if let Some(doc) = boundaries.first() {
        check_input_doc("PermissionsBoundaryPolicyInputList", doc)?;
        // An input boundary replaces the entity's own (AWS: it is simulated instead).
        sim.boundary = Some(sim.add(
            "PermissionsBoundaryPolicyInputList.1".into(),
            IAM_POLICY,
            doc,
            PolicyKind::Boundary,
            Origin::Input,
        )?);
    }
    if let Some(doc) = cx.p.get("ResourcePolicy") {
        check_input_doc("ResourcePolicy", doc)?;
        sim.resource = Some(sim.add(
            "ResourcePolicy".into(),
            RESOURCE_POLICY,
            doc,
            PolicyKind::Resource,
            Origin::Input,
        )?);
    }
    Ok(())
}

fn no_such(kind: &str, name: &str) -> IamError {
    IamError::no_such(format!("The {kind} with name {name} cannot be found."))
}

/// The simulated caller named by CallerArn: an IAM user (of any account, as AWS allows).
async fn caller_principal(cx: &Cx<'_>, arn: &str) -> Result<Principal, IamError> {
    let Some((account, "user", path, name)) = iam_arn(arn) else {
        return Err(IamError::invalid_input(format!(
            "Invalid CallerArn {arn}: only the ARN of an IAM user can be the simulated caller."
        )));
    };
    let path = full_path(path);
    // The user id is known for users of the caller's own account only.
    let id = if account == cx.account() {
        cx.meta
            .get_iam_user(account, name)
            .await?
            .filter(|u| u.path == path)
            .map(|u| u.user_id)
    } else {
        None
    };
    let mut p = Principal::user(account, &path, name, id.as_deref().unwrap_or(""), None);
    if id.is_none() {
        p.userid = None;
    }
    Ok(p)
}

/// A caller with identity policies but no identity of its own (a group, or custom policies without
/// CallerArn): only its account is known.
fn nameless(account: &str) -> Principal {
    let mut p = Principal::user(account, "/", "", "", None);
    p.arn = None;
    p.userid = None;
    p.username = None;
    p
}

const CALLER_ARN_REQUIRED: &str =
    "CallerArn is required when a ResourcePolicy is specified and PolicySourceArn is not a user.";

pub(crate) async fn simulate_principal(cx: &Cx<'_>) -> Out {
    let source = cx.p.req("PolicySourceArn")?;
    let Some((account, ty, path, name)) = iam_arn(source) else {
        return Err(IamError::invalid_input(format!(
            "ARN {source} is not valid."
        )));
    };
    let path = full_path(path);
    let mut sim = Sim::new();
    let resolver = |arn: &str| resolve_aws_managed(arn);
    let resolver: gatehouse_meta::AwsManagedResolver<'_> = &resolver;
    if !matches!(ty, "user" | "group" | "role") {
        return Err(IamError::invalid_input(format!(
            "PolicySourceArn {source} must name a user, group or role."
        )));
    }
    if account != cx.account() {
        return Err(no_such(ty, name));
    }
    let entity_principal: Option<Principal>;
    let mut boundary_doc: Option<(String, String)> = None;
    match ty {
        "user" => {
            let u = cx
                .meta
                .user_authz(account, name, Some(resolver))
                .await?
                .filter(|u| u.user.path == path)
                .ok_or_else(|| no_such("user", name))?;
            sim.entity("user", &u.user.name, &u.policies)?;
            for g in &u.groups {
                sim.entity("group", &g.group.name, &g.policies)?;
            }
            if let Some(b) = &u.boundary {
                boundary_doc = Some((policy_name_path(&b.arn).0, stored_doc(b)?.to_string()));
            }
            entity_principal = Some(Principal::user(
                account,
                &u.user.path,
                &u.user.name,
                &u.user.user_id,
                None,
            ));
        }
        "group" => {
            let g = cx
                .meta
                .group_authz(account, name, Some(resolver))
                .await?
                .filter(|g| g.group.path == path)
                .ok_or_else(|| no_such("group", name))?;
            sim.entity("group", &g.group.name, &g.policies)?;
            entity_principal = None;
        }
        _ => {
            let r = cx
                .meta
                .role_authz(account, name, Some(resolver))
                .await?
                .filter(|r| r.role.path == path)
                .ok_or_else(|| no_such("role", name))?;
            sim.entity("role", &r.role.name, &r.policies)?;
            if let Some(b) = &r.boundary {
                boundary_doc = Some((policy_name_path(&b.arn).0, stored_doc(b)?.to_string()));
            }
            entity_principal = Some(Principal::assumed_role(
                account,
                &r.role.path,
                &r.role.name,
                &r.role.name,
                &r.role.role_id,
                None,
            ));
        }
    }
    input_policies(cx, &mut sim)?;
    if sim.boundary.is_none()
        && let Some((id, doc)) = boundary_doc
    {
        sim.boundary = Some(sim.add(id, IAM_POLICY, &doc, PolicyKind::Boundary, Origin::Stored)?);
    }
    let principal = match cx.p.get("CallerArn") {
        Some(arn) => caller_principal(cx, arn).await?,
        None if sim.resource.is_some() && ty != "user" => {
            return Err(IamError::invalid_input(CALLER_ARN_REQUIRED));
        }
        None => entity_principal.unwrap_or_else(|| nameless(account)),
    };
    run(cx, &sim, principal)
}

pub(crate) async fn simulate_custom(cx: &Cx<'_>) -> Out {
    if cx.p.members("PolicyInputList").is_empty() {
        return Err(IamError::validation(
            "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null",
        ));
    }
    let mut sim = Sim::new();
    input_policies(cx, &mut sim)?;
    let principal = match cx.p.get("CallerArn") {
        Some(arn) => caller_principal(cx, arn).await?,
        None if sim.resource.is_some() => {
            return Err(IamError::invalid_input(
                "CallerArn is required when a ResourcePolicy is specified.",
            ));
        }
        None => nameless(cx.account()),
    };
    run(cx, &sim, principal)
}

/// The result for one action on one resource.
struct Eval<'a> {
    action: &'a str,
    resource: &'a str,
    decision: Decision,
    missing: Vec<String>,
    /// Whether the permissions boundary allows it, when there is one.
    boundary_allows: Option<bool>,
}

fn run(cx: &Cx<'_>, sim: &Sim, mut principal: Principal) -> Out {
    let actions = cx.p.members("ActionNames");
    if actions.is_empty() {
        return Err(IamError::validation(
            "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
        ));
    }
    let cat = catalogue();
    for a in &actions {
        if cat.lookup(a).is_none() {
            return Err(IamError::invalid_input(format!(
                "Action {a} cannot be simulated: Gatehouse evaluates the S3, IAM and STS actions it serves."
            )));
        }
    }
    let given = cx.p.members("ResourceArns");
    let resources: Vec<&str> = if given.is_empty() {
        vec!["*"]
    } else {
        given.clone()
    };
    for r in &resources {
        if r.is_empty() || r.chars().count() > 2048 {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{r}' at 'resourceArns' failed to satisfy constraint: Member must have length between 1 and 2048"
            )));
        }
    }
    // ResourceHandlingOption only changes EC2 simulations (instance scenarios); Gatehouse serves no EC2.
    let owner = match cx.p.get("ResourceOwner") {
        Some(v) => owner_account(v).ok_or_else(|| {
            IamError::invalid_input(format!("ResourceOwner {v} is not a valid account ARN."))
        })?,
        None => principal
            .account
            .clone()
            .unwrap_or_else(|| cx.account().to_string()),
    };
    let entries: Vec<ContextEntry> = context_entries(&cx.p)?;
    apply_principal_keys(&mut principal, &entries);
    let ctx = context_of(&entries);
    let page = cx.p.page()?;

    let identity: Vec<Arc<CompiledPolicy>> = sim
        .identity
        .iter()
        .map(|&i| sim.sources[i].compiled.clone())
        .collect();
    let layers = Layers {
        identity: &identity,
        boundary: sim.boundary.map(|i| sim.compiled(i)),
        resource: sim.resource.map(|i| sim.compiled(i)),
        ..Default::default()
    };
    let mut results = Vec::with_capacity(actions.len() * resources.len());
    for action in &actions {
        let missing = missing_keys(sim, action, &ctx, &principal);
        for resource in &resources {
            let req = Request::new(&principal, action, resource, &owner, &ctx);
            let decision = evaluate(&req, &layers);
            let boundary_allows = sim.boundary.map(|b| {
                let only = [sim.sources[b].compiled.clone()];
                let own = principal.account.clone().unwrap_or_else(|| owner.clone());
                let req = Request::new(&principal, action, resource, &own, &ctx);
                evaluate(
                    &req,
                    &Layers {
                        identity: &only,
                        ..Default::default()
                    },
                )
                .is_allowed()
            });
            results.push(Eval {
                action,
                resource,
                decision,
                missing: missing.clone(),
                boundary_allows,
            });
        }
    }
    let keyed: Vec<(String, Eval<'_>)> = results
        .into_iter()
        .enumerate()
        .map(|(i, e)| (format!("{i:08}"), e))
        .collect();
    let Page { items, next_marker } = Page::of_sorted(keyed, page, |(k, _)| k.clone());
    let mut x = Xml::new();
    x.open("EvaluationResults");
    for (_, e) in &items {
        write_eval(&mut x, sim, e, !given.is_empty());
    }
    x.close("EvaluationResults")
        .truncation(next_marker.as_deref());
    Ok(Some(x))
}

/// Condition keys the policies read for `action` that neither the context entries nor the simulated
/// principal supply (in the order the policies name them).
fn missing_keys(sim: &Sim, action: &str, ctx: &Context, principal: &Principal) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &sim.sources {
        for k in s.compiled.condition_keys_for(action) {
            let lk = k.to_ascii_lowercase();
            let supplied = if is_principal_key(&lk) {
                principal.key_value(&lk).is_some()
            } else {
                ctx.get(&lk).is_some()
            };
            if !supplied && !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
                out.push(k.to_string());
            }
        }
    }
    out
}

fn decision_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "allowed",
        Outcome::ExplicitDeny => "explicitDeny",
        Outcome::ImplicitDeny => "implicitDeny",
    }
}

fn write_position(x: &mut Xml, tag: &str, p: Position) {
    x.open(tag)
        .el("Line", &p.line.to_string())
        .el("Column", &p.column.to_string())
        .close(tag);
}

fn write_matches(x: &mut Xml, sim: &Sim, e: &Eval<'_>) {
    // Identity policies, then the boundary, then the resource policy, each in the order they were loaded.
    let mut matched: Vec<(u8, usize, usize)> = e
        .decision
        .reasons
        .iter()
        .filter_map(|r| {
            let rank = match r.layer {
                Layer::Identity => 0,
                Layer::Boundary => 1,
                Layer::Resource => 2,
                _ => return None,
            };
            Some((rank, r.policy_id.parse::<usize>().ok()?, r.statement))
        })
        .collect();
    matched.sort_unstable();
    x.open("MatchedStatements");
    for (_, i, statement) in matched {
        let Some(src) = sim.sources.get(i) else {
            continue;
        };
        x.open("member")
            .el("SourcePolicyId", &src.id)
            .el("SourcePolicyType", src.kind);
        if let Some(&(start, end)) = src.positions.get(statement) {
            write_position(x, "StartPosition", start);
            write_position(x, "EndPosition", end);
        }
        x.close("member");
    }
    x.close("MatchedStatements");
    x.open("MissingContextValues");
    for k in &e.missing {
        x.el("member", k);
    }
    x.close("MissingContextValues");
    if let Some(allowed) = e.boundary_allows {
        x.open("PermissionsBoundaryDecisionDetail")
            .bool("AllowedByPermissionsBoundary", allowed)
            .close("PermissionsBoundaryDecisionDetail");
    }
}

fn write_eval(x: &mut Xml, sim: &Sim, e: &Eval<'_>, resource_specific: bool) {
    let decision = decision_name(e.decision.outcome);
    x.open("member")
        .el("EvalActionName", e.action)
        .el("EvalResourceName", e.resource)
        .el("EvalDecision", decision);
    write_matches(x, sim, e);
    // As IAM does when ResourceArns are given: the result per resource again (one each here, since every
    // result is already for one action and one resource).
    if resource_specific {
        x.open("ResourceSpecificResults")
            .open("member")
            .el("EvalResourceName", e.resource)
            .el("EvalResourceDecision", decision);
        write_matches(x, sim, e);
        x.close("member").close("ResourceSpecificResults");
    }
    x.close("member");
}

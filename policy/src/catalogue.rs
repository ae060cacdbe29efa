//! The action catalogue: every S3, IAM and STS action with its resource types and action-specific
//! condition keys, read from the TSV data files in `src/catalogue/` (the Service Authorization Reference).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::pattern::glob_match_ci;

const S3_TSV: &str = include_str!("catalogue/s3.tsv");
const IAM_TSV: &str = include_str!("catalogue/iam.tsv");
const STS_TSV: &str = include_str!("catalogue/sts.tsv");

/// Condition keys every S3 action supports (besides the global `aws:` keys).
pub const S3_COMMON_KEYS: &[&str] = &[
    "s3:authType",
    "s3:ResourceAccount",
    "s3:signatureAge",
    "s3:signatureversion",
    "s3:TlsVersion",
    "s3:x-amz-content-sha256",
    "s3:AccessPointNetworkOrigin",
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
];

/// Index of an action in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(pub u16);

/// One action of the catalogue.
#[derive(Debug, Clone)]
pub struct ActionInfo {
    /// Canonical name, e.g. `s3:GetObject`.
    pub name: String,
    /// Service prefix, e.g. `s3`.
    pub service: &'static str,
    /// Resource types (`bucket`, `object`, `role`, ...); empty means the action takes no resource (`*`).
    pub resource_types: Vec<&'static str>,
    /// Action-specific condition keys (the service's common keys and global keys are not repeated).
    pub condition_keys: Vec<&'static str>,
}

/// A set of catalogue actions, as a bitset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionSet {
    bits: Vec<u64>,
}

impl ActionSet {
    /// An empty set sized for the catalogue.
    pub fn empty(n: usize) -> Self {
        ActionSet {
            bits: vec![0; n.div_ceil(64)],
        }
    }
    /// Adds an action.
    pub fn insert(&mut self, id: ActionId) {
        let i = usize::from(id.0);
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    }
    /// Whether the set holds the action.
    pub fn contains(&self, id: ActionId) -> bool {
        let i = usize::from(id.0);
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }
    /// Union with another set.
    pub fn union_with(&mut self, other: &ActionSet) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= *b;
        }
    }
    /// The complement within a catalogue of `n` actions.
    pub fn complement(&self, n: usize) -> ActionSet {
        let mut out = ActionSet::empty(n);
        for i in 0..n {
            let id = ActionId(i as u16);
            if !self.contains(id) {
                out.insert(id);
            }
        }
        out
    }
    /// Whether no action is in the set.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }
    /// The ids in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = ActionId> + '_ {
        self.bits.iter().enumerate().flat_map(|(wi, w)| {
            (0..64)
                .filter(move |b| w & (1u64 << b) != 0)
                .map(move |b| ActionId((wi * 64 + b) as u16))
        })
    }
}

/// The catalogue of known actions.
#[derive(Debug)]
pub struct Catalogue {
    actions: Vec<ActionInfo>,
    by_lower_name: HashMap<String, ActionId>,
}

/// The process-wide catalogue (immutable data, built on first use).
pub fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(Catalogue::build)
}

fn split_list(field: &str) -> Vec<&str> {
    if field.trim() == "-" || field.trim().is_empty() {
        Vec::new()
    } else {
        field
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

impl Catalogue {
    fn build() -> Catalogue {
        let mut actions = Vec::new();
        for (service, tsv) in [("s3", S3_TSV), ("iam", IAM_TSV), ("sts", STS_TSV)] {
            for line in tsv.lines() {
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                let mut cols = line.split('\t');
                let name = cols.next().unwrap_or_default().trim();
                let resources = split_list(cols.next().unwrap_or("-"));
                let keys = split_list(cols.next().unwrap_or("-"));
                actions.push(ActionInfo {
                    name: format!("{service}:{name}"),
                    service,
                    resource_types: resources,
                    condition_keys: keys,
                });
            }
        }
        let by_lower_name = actions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.to_ascii_lowercase(), ActionId(i as u16)))
            .collect();
        Catalogue {
            actions,
            by_lower_name,
        }
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether the catalogue is empty (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The action with this id.
    pub fn get(&self, id: ActionId) -> Option<&ActionInfo> {
        self.actions.get(usize::from(id.0))
    }

    /// All actions.
    pub fn actions(&self) -> &[ActionInfo] {
        &self.actions
    }

    /// Looks an exact action name up, case-insensitively (`s3:getobject` finds `s3:GetObject`).
    pub fn lookup(&self, action: &str) -> Option<ActionId> {
        self.by_lower_name
            .get(&action.to_ascii_lowercase())
            .copied()
    }

    /// Whether a service prefix is known to the catalogue.
    pub fn knows_service(&self, service: &str) -> bool {
        ["s3", "iam", "sts"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(service))
    }

    /// Expands an IAM action pattern (`*`, `s3:Get*`, `iam:?etUser`) to the catalogue actions it matches.
    /// Matching is case-insensitive, as in IAM.
    pub fn expand(&self, pattern: &str) -> ActionSet {
        let mut set = ActionSet::empty(self.len());
        for (i, a) in self.actions.iter().enumerate() {
            if glob_match_ci(pattern, &a.name) {
                set.insert(ActionId(i as u16));
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive() {
        let c = catalogue();
        let id = c.lookup("S3:getobject").expect("known");
        assert_eq!(c.get(id).map(|a| a.name.as_str()), Some("s3:GetObject"));
        assert!(c.lookup("s3:NoSuchThing").is_none());
    }

    #[test]
    fn expand_globs() {
        let c = catalogue();
        let gets = c.expand("s3:Get*");
        let names: Vec<_> = gets
            .iter()
            .filter_map(|i| c.get(i))
            .map(|a| a.name.clone())
            .collect();
        assert!(names.contains(&"s3:GetObject".to_string()));
        assert!(names.iter().all(|n| n.starts_with("s3:Get")));
        assert!(
            !c.expand("s3:PutObject?")
                .iter()
                .any(|i| c.get(i).is_some_and(|a| a.name == "s3:PutObject"))
        );
        assert!(
            c.expand("s3:PutObject?cl")
                .iter()
                .any(|i| c.get(i).is_some_and(|a| a.name == "s3:PutObjectAcl"))
        );
        assert_eq!(c.expand("*").iter().count(), c.len());
        assert!(c.expand("ec2:*").is_empty());
    }

    #[test]
    fn catalogue_has_the_three_services_and_resource_types() {
        let c = catalogue();
        for (name, rt) in [
            ("s3:PutObject", vec!["object"]),
            ("s3:ListBucket", vec!["bucket"]),
            ("s3:ListAllMyBuckets", vec![]),
            ("iam:CreateUser", vec!["user"]),
            ("sts:AssumeRole", vec!["role"]),
            ("sts:GetFederationToken", vec!["federated-user"]),
        ] {
            let a = c.lookup(name).and_then(|i| c.get(i)).expect(name);
            assert_eq!(a.resource_types, rt, "{name}");
        }
        let n = |s: &str| c.actions().iter().filter(|a| a.service == s).count();
        assert!(n("s3") > 120 && n("iam") > 150 && n("sts") >= 12);
        let names: std::collections::HashSet<_> = c
            .actions()
            .iter()
            .map(|a| a.name.to_ascii_lowercase())
            .collect();
        assert_eq!(names.len(), c.len(), "duplicate action in catalogue");
    }
}

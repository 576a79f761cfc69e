//! The JumpCloud clients of a deployment: one per organisation a tenant works on.

use std::collections::BTreeMap;

use passdesk_config::Config;
use passdesk_core::jumpcloud::{self, JumpCloudClient, OrgId};
use secrecy::SecretString;

/// The JumpCloud client of every tenant, by organisation: `None` is the API key's own
/// organisation (no `x-org-id`), `Some(org)` sends `x-org-id: org`.
///
/// Built from the configuration ([`JumpCloudClients::from_config`]: one client per organisation
/// named by `jumpcloud.org_id`, `[jumpcloud.tenants]`, `[discord.guilds]` and `[slack.teams]`),
/// or given directly ([`JumpCloudClients::single`], [`JumpCloudClients::with_org`]) by tests and
/// embedders. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct JumpCloudClients {
    by_org: BTreeMap<Option<OrgId>, JumpCloudClient>,
    fallback: Option<JumpCloudClient>,
}

impl JumpCloudClients {
    /// No JumpCloud at all: `reset` and `expire` answer "not configured".
    pub fn none() -> Self {
        Self::default()
    }

    /// One client for every tenant (a single-organisation deployment, tests).
    pub fn single(client: JumpCloudClient) -> Self {
        Self {
            by_org: BTreeMap::new(),
            fallback: Some(client),
        }
    }

    /// Adds (or replaces) the client of one organisation (`None`: the key's own).
    #[must_use]
    pub fn with_org(mut self, org: Option<OrgId>, client: JumpCloudClient) -> Self {
        self.by_org.insert(org, client);
        self
    }

    /// One client per organisation the configuration names, all with `[jumpcloud]`'s base URL,
    /// key and timeouts; none when `[jumpcloud]` is absent.
    ///
    /// # Errors
    ///
    /// A client the core refuses to build (an API key that is not a valid header value, a
    /// base URL that is neither https nor loopback http).
    pub fn from_config(config: &Config) -> Result<Self, jumpcloud::Error> {
        let Some(jc) = &config.jumpcloud else {
            return Ok(Self::none());
        };
        let mut orgs: Vec<Option<OrgId>> = vec![jc.org_id.clone()];
        orgs.extend(jc.tenants.values().cloned().map(Some));
        if let Some(discord) = &config.discord {
            orgs.extend(discord.guilds.values().map(|t| t.org_id.clone()));
        }
        if let Some(slack) = &config.slack {
            orgs.extend(slack.teams.values().map(|t| t.org_id.clone()));
        }
        let mut clients = Self::none();
        for org in orgs {
            if clients.by_org.contains_key(&org) {
                continue;
            }
            let client = build(jc, org.as_ref())?;
            clients.by_org.insert(org, client);
        }
        Ok(clients)
    }

    /// The client for `org` (`None`: the key's own organisation), or the single client.
    pub fn for_org(&self, org: Option<&OrgId>) -> Option<&JumpCloudClient> {
        self.by_org.get(&org.cloned()).or(self.fallback.as_ref())
    }

    /// Whether there is no client at all.
    pub fn is_empty(&self) -> bool {
        self.by_org.is_empty() && self.fallback.is_none()
    }
}

fn build(
    jc: &passdesk_config::JumpCloudConfig,
    org: Option<&OrgId>,
) -> Result<JumpCloudClient, jumpcloud::Error> {
    let key: SecretString = jc.api_key.clone();
    let mut builder = JumpCloudClient::builder(key)
        .base_url(jc.base_url.as_str())
        .timeout(jc.timeout)
        .connect_timeout(jc.connect_timeout);
    if let Some(org) = org {
        builder = builder.org_id(org.clone());
    }
    builder.build()
}

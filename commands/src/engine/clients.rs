//! The JumpCloud clients of a deployment: one per organisation a tenant works on.

use std::collections::BTreeMap;

use passdesk_config::Config;
use passdesk_core::jumpcloud::{self, JumpCloudClient, JumpCloudClientBuilder, OrgId};
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
    /// `[jumpcloud]`'s settings without an organisation, for [`JumpCloudClients::for_any_org`].
    /// Its `Debug` leaves the key out.
    template: Option<JumpCloudClientBuilder>,
}

impl JumpCloudClients {
    /// No JumpCloud at all: `reset` and `expire` answer "not configured".
    pub fn none() -> Self {
        Self::default()
    }

    /// One client for every tenant (a single-organisation deployment, tests).
    pub fn single(client: JumpCloudClient) -> Self {
        Self {
            fallback: Some(client),
            ..Self::default()
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
        let template = builder(jc);
        let mut clients = Self::none();
        for org in orgs {
            if clients.by_org.contains_key(&org) {
                continue;
            }
            let mut builder = template.clone();
            if let Some(org) = &org {
                builder = builder.org_id(org.clone());
            }
            clients.by_org.insert(org, builder.build()?);
        }
        clients.template = Some(template);
        Ok(clients)
    }

    /// The client for `org` (`None`: the key's own organisation), or the single client.
    pub fn for_org(&self, org: Option<&OrgId>) -> Option<&JumpCloudClient> {
        self.by_org.get(&org.cloned()).or(self.fallback.as_ref())
    }

    /// The client for `org` as [`JumpCloudClients::for_org`] finds it; for an organisation the
    /// configuration does not name, a new client with `[jumpcloud]`'s key and settings that
    /// sends `x-org-id: org` (the command line's `--org-id`, which JumpCloud checks against the
    /// key). `None` without JumpCloud.
    ///
    /// # Errors
    ///
    /// The core refuses to build the new client.
    pub fn for_any_org(
        &self,
        org: Option<&OrgId>,
    ) -> Result<Option<JumpCloudClient>, jumpcloud::Error> {
        match (self.for_org(org), &self.template, org) {
            (Some(client), _, _) => Ok(Some(client.clone())),
            (None, Some(template), Some(org)) => {
                template.clone().org_id(org.clone()).build().map(Some)
            }
            (None, Some(template), None) => template.clone().build().map(Some),
            (None, None, _) => Ok(None),
        }
    }

    /// Whether there is no client at all.
    pub fn is_empty(&self) -> bool {
        self.by_org.is_empty() && self.fallback.is_none()
    }
}

/// A builder with `[jumpcloud]`'s key, base URL and timeouts, and no organisation.
fn builder(jc: &passdesk_config::JumpCloudConfig) -> JumpCloudClientBuilder {
    let key: SecretString = jc.api_key.clone();
    JumpCloudClient::builder(key)
        .base_url(jc.base_url.as_str())
        .timeout(jc.timeout)
        .connect_timeout(jc.connect_timeout)
}

//! The seed: people, assignments, mappings and password reset settings covering every outcome
//! of a password notification, and the OpenIdClients allowed to call the API.
//!
//! | mapping | settings | outcome |
//! |---|---|---|
//! | 10 `AD_Entry_NominativeUser` | 1 `ToManager` (Mode 1, notified = the owner's manager, CC `it-security@acme.example`) | the documented example: ART 1000 mails Ada Lovelace's manager Grace Hopper with Ada's name |
//! | 11 `LDAP_NoSettings` | — | no password reset settings |
//! | 12 `Legacy_Off` | 2 `Off` (Mode 0) | disabled |
//! | 13 `Muted` | 3 `Muted` (DisableNotifications) | disabled |
//! | 14 `NoRecipient` | 4 `NoRecipient` (no NotifiedEmailBinding) | nobody to mail |
//! | 15 `Nameless` | 5 `Nameless` (no BeneficiaryFullNameBinding) | warning, or refusal by policy |
//! | 16 `UnknownBinding` | 6 `UnknownBinding` (binds `MainRecord.PersonalMail`) | the server answers 400 |
//! | 17 `SelfService` | 7 `ToUser` (notified = the owner) | mails the owner |
//! | 18 `Dangling` | 42 (does not exist) | no password reset settings |
//! | 19 `BadPath` | 9 `BadPath` (`Owner.Mail`, not rooted) | invalid binding |
//! | 20 `TwoWay` | 8 `TwoWay` (Mode 2) | warning |
//! | 99 | — | not found |
//!
//! Assigned resource types: 1000 (Ada, resource type 10), 1001 (Alan, 10: his manager has no
//! mail), 1002 (Katherine, 10: no organisation), 1003 (Edsger, 10: his manager's mail is not an
//! address), 1100 (Ada, 11), and 1012 … 1020 (Ada, resource type = the number minus 1000);
//! 9999 does not exist.

use sha2::{Digest, Sha256};

use super::model::{EntityBuilder, EntityRef, Model};

/// The documented example's assigned resource type (`--assigned-resource-type 1000`).
pub const EXAMPLE_ASSIGNED_RESOURCE_TYPE: i64 = 1000;
/// The documented example's resource type mapping (`--resource-type-mapping 10`).
pub const EXAMPLE_MAPPING: i64 = 10;
/// The example's beneficiary (the owner of ART 1000).
pub const EXAMPLE_BENEFICIARY_NAME: &str = "Ada Lovelace";
/// The example's beneficiary's address.
pub const EXAMPLE_BENEFICIARY_MAIL: &str = "ada.lovelace@acme.example";
/// The example's notified person (Ada's manager).
pub const EXAMPLE_NOTIFIED_NAME: &str = "Grace Hopper";
/// The example's notified address.
pub const EXAMPLE_NOTIFIED_MAIL: &str = "grace.hopper@acme.example";
/// `NotificationCC` of the example's settings.
pub const EXAMPLE_SETTINGS_CC: &str = "it-security@acme.example";

/// A mapping without `PasswordResetSetting`.
pub const MAPPING_WITHOUT_SETTINGS: i64 = 11;
/// A mapping whose settings have `Mode="0"`.
pub const MAPPING_MODE_OFF: i64 = 12;
/// A mapping whose settings have `DisableNotifications="true"`.
pub const MAPPING_NOTIFICATIONS_DISABLED: i64 = 13;
/// A mapping whose settings have no `NotifiedEmailBinding`.
pub const MAPPING_WITHOUT_NOTIFIED_EMAIL: i64 = 14;
/// A mapping whose settings have no `BeneficiaryFullNameBinding`.
pub const MAPPING_WITHOUT_BENEFICIARY_NAME: i64 = 15;
/// A mapping whose settings bind a property the server does not know.
pub const MAPPING_UNKNOWN_BINDING: i64 = 16;
/// A mapping whose settings notify the owner themself.
pub const MAPPING_TO_USER: i64 = 17;
/// A mapping whose `PasswordResetSetting` names settings that do not exist.
pub const MAPPING_DANGLING_SETTINGS: i64 = 18;
/// A mapping whose settings hold a binding path that does not parse.
pub const MAPPING_BAD_BINDING_PATH: i64 = 19;
/// A mapping whose settings are Two-Way.
pub const MAPPING_TWO_WAY: i64 = 20;
/// A mapping id that does not exist.
pub const MISSING_MAPPING: i64 = 99;

/// ART whose owner's manager has no mail (resource type 10).
pub const ART_MANAGER_WITHOUT_MAIL: i64 = 1001;
/// ART whose owner has no organisation (resource type 10).
pub const ART_WITHOUT_ORGANIZATION: i64 = 1002;
/// ART whose owner's manager's mail is not an address (resource type 10).
pub const ART_MANAGER_WITH_BAD_MAIL: i64 = 1003;
/// ART of resource type 11 (not 10).
pub const ART_OF_OTHER_RESOURCE_TYPE: i64 = 1100;
/// An ART id that does not exist.
pub const MISSING_ART: i64 = 9999;

/// The ART of Ada Lovelace on the resource type of `mapping` (12 … 20).
pub const fn art_for_mapping(mapping: i64) -> i64 {
    1000 + mapping
}

/// The documented OpenIdClient `Job` (its `HashedSecret` is the documented example's).
pub const DOC_CLIENT_ID: &str = "Job";
/// The documented example secret of `Job`.
pub const DOC_CLIENT_SECRET: &str = "secret";
/// The documented `HashedSecret` of `secret` (`Usercube-New-OpenIDSecret`, F7).
pub const DOC_HASHED_SECRET: &str = "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=";
/// A client for Passdesk, with a secret distinctive enough to scan logs for.
pub const CLIENT_ID: &str = "Passdesk";
/// Its secret.
pub const CLIENT_SECRET: &str = "Sim-Client-Secret-4d9b27e1";
/// A client whose `ExpirationDate` has passed.
pub const EXPIRED_CLIENT_ID: &str = "Retired";
/// Its secret.
pub const EXPIRED_CLIENT_SECRET: &str = "Retired-Secret-0b55";

/// `HashedSecret` = Base64(SHA-256(secret)), as `Usercube-New-OpenIDSecret` prints it (F7).
pub fn hashed_secret(secret: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(secret.as_bytes()))
}

const ART: &str = "AssignedResourceType";
const USER: &str = "Directory_User";
const RECORD: &str = "Directory_UserRecord";
const ORGANIZATION: &str = "Directory_Organization";
const MAPPING: &str = "ResourceTypeMapping";
const SETTINGS: &str = "PasswordResetSetting";

const OWN_MAIL: &str = "AssignedResourceType:Owner.Directory_User:MainRecord.Mail";
const OWN_NAME: &str = "AssignedResourceType:Owner.Directory_User:MainRecord.InternalDisplayName";
const MANAGER_MAIL: &str =
    "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.Mail";
const MANAGER_NAME: &str = "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.InternalDisplayName";

fn person(model: &mut Model, id: i64, name: &str, mail: Option<&str>, organization: Option<i64>) {
    let record_id = id + 10_000;
    let mut record = EntityBuilder::new()
        .set("InternalDisplayName", name)
        .link("User", EntityRef::new(USER, id));
    if let Some((first, last)) = name.split_once(' ') {
        record = record.set("FirstName", first).set("LastName", last);
    }
    if let Some(mail) = mail {
        record = record.set("Mail", mail);
    }
    if let Some(org) = organization {
        record = record.link("Organization", EntityRef::new(ORGANIZATION, org));
    }
    model.insert(EntityRef::new(RECORD, record_id), record.build());
    let identifier = name.to_lowercase().replace(' ', ".");
    model.insert(
        EntityRef::new(USER, id),
        EntityBuilder::new()
            .set("Identifier", identifier)
            .link("MainRecord", EntityRef::new(RECORD, record_id))
            .build(),
    );
}

fn organization(model: &mut Model, id: i64, name: &str, manager: i64) {
    model.insert(
        EntityRef::new(ORGANIZATION, id),
        EntityBuilder::new()
            .set("Identifier", name.to_lowercase())
            .set("DisplayName_L1", name)
            .link("Manager", EntityRef::new(USER, manager))
            .build(),
    );
}

fn assignment(model: &mut Model, id: i64, owner: i64, resource_type: i64) {
    model.insert(
        EntityRef::new(ART, id),
        EntityBuilder::new()
            .set_id("RoleId", resource_type)
            .set_id("OwnerId", owner)
            .set("OwnerType", USER)
            .set("ProvisioningState", 1)
            .link("Owner", EntityRef::new(USER, owner))
            .build(),
    );
}

fn mapping(model: &mut Model, id: i64, identifier: &str, settings: Option<i64>) {
    let mut m = EntityBuilder::new()
        .set("Identifier", identifier)
        .set_id("ConnectionId", 1);
    m = match settings {
        Some(s) => m.set_id("PasswordResetSettingId", s),
        None => m.set("PasswordResetSettingId", serde_json::Value::Null),
    };
    model.insert(EntityRef::new(MAPPING, id), m.build());
}

/// Settings with the documented defaults and the given overrides.
fn settings(
    model: &mut Model,
    id: i64,
    identifier: &str,
    tweak: impl FnOnce(EntityBuilder) -> EntityBuilder,
) {
    let base = EntityBuilder::new()
        .set("Identifier", identifier)
        .set("AutoGenerate", false)
        .set("DefaultPassword", "Usercube@2019")
        .set("MustChange", true)
        .set("Mode", 1)
        .set("DisableNotifications", false)
        .set("GeneratedLength", 12)
        .set("GeneratedLowerCaseCharsCount", 6)
        .set("GeneratedUpperCaseCharsCount", 2)
        .set("GeneratedDigitCharsCount", 2)
        .set("GeneratedSymbolCharsCount", 2)
        .set("StrengthCheck", "'^..........*$','^.*[0-9].*$'");
    model.insert(EntityRef::new(SETTINGS, id), tweak(base).build());
}

/// The seeded model.
pub fn model() -> Model {
    let mut m = Model::with_schema();
    // People and organisations.
    organization(&mut m, 301, "Engineering", 2002);
    organization(&mut m, 302, "Logistics", 2005);
    organization(&mut m, 303, "Research", 2006);
    person(
        &mut m,
        2001,
        EXAMPLE_BENEFICIARY_NAME,
        Some(EXAMPLE_BENEFICIARY_MAIL),
        Some(301),
    );
    person(
        &mut m,
        2002,
        EXAMPLE_NOTIFIED_NAME,
        Some(EXAMPLE_NOTIFIED_MAIL),
        None,
    );
    person(
        &mut m,
        2003,
        "Alan Turing",
        Some("alan.turing@acme.example"),
        Some(302),
    );
    person(
        &mut m,
        2004,
        "Katherine Johnson",
        Some("katherine.johnson@acme.example"),
        None,
    );
    person(&mut m, 2005, "Linus Mailless", None, None);
    person(
        &mut m,
        2006,
        "Barbara Liskov",
        Some("helpdesk at acme"),
        None,
    );
    person(
        &mut m,
        2007,
        "Edsger Dijkstra",
        Some("edsger.dijkstra@acme.example"),
        Some(303),
    );

    // Assigned resource types.
    assignment(
        &mut m,
        EXAMPLE_ASSIGNED_RESOURCE_TYPE,
        2001,
        EXAMPLE_MAPPING,
    );
    assignment(&mut m, ART_MANAGER_WITHOUT_MAIL, 2003, EXAMPLE_MAPPING);
    assignment(&mut m, ART_WITHOUT_ORGANIZATION, 2004, EXAMPLE_MAPPING);
    assignment(&mut m, ART_MANAGER_WITH_BAD_MAIL, 2007, EXAMPLE_MAPPING);
    assignment(
        &mut m,
        ART_OF_OTHER_RESOURCE_TYPE,
        2001,
        MAPPING_WITHOUT_SETTINGS,
    );
    for mapping_id in MAPPING_MODE_OFF..=MAPPING_TWO_WAY {
        assignment(&mut m, art_for_mapping(mapping_id), 2001, mapping_id);
    }

    // Password reset settings.
    let to_manager = |b: EntityBuilder| {
        b.set("BeneficiaryEmailBinding", OWN_MAIL)
            .set("BeneficiaryFullNameBinding", OWN_NAME)
            .set("NotifiedEmailBinding", MANAGER_MAIL)
            .set("NotifiedFullNameBinding", MANAGER_NAME)
    };
    settings(&mut m, 1, "ToManager", |b| {
        to_manager(b).set("NotificationCC", EXAMPLE_SETTINGS_CC)
    });
    settings(&mut m, 2, "Off", |b| to_manager(b).set("Mode", 0));
    settings(&mut m, 3, "Muted", |b| {
        to_manager(b).set("DisableNotifications", true)
    });
    settings(&mut m, 4, "NoRecipient", |b| {
        b.set("BeneficiaryEmailBinding", OWN_MAIL)
            .set("BeneficiaryFullNameBinding", OWN_NAME)
    });
    settings(&mut m, 5, "Nameless", |b| {
        b.set("NotifiedEmailBinding", MANAGER_MAIL)
            .set("NotifiedFullNameBinding", MANAGER_NAME)
    });
    settings(&mut m, 6, "UnknownBinding", |b| {
        to_manager(b).set(
            "NotifiedEmailBinding",
            "AssignedResourceType:Owner.Directory_User:MainRecord.PersonalMail",
        )
    });
    settings(&mut m, 7, "ToUser", |b| {
        b.set("BeneficiaryEmailBinding", OWN_MAIL)
            .set("BeneficiaryFullNameBinding", OWN_NAME)
            .set("NotifiedEmailBinding", OWN_MAIL)
            .set("NotifiedFullNameBinding", OWN_NAME)
    });
    settings(&mut m, 8, "TwoWay", |b| to_manager(b).set("Mode", 2));
    settings(&mut m, 9, "BadPath", |b| {
        to_manager(b).set("NotifiedEmailBinding", "Owner.Mail")
    });

    // Resource type mappings (same id as their resource type, F5).
    mapping(&mut m, EXAMPLE_MAPPING, "AD_Entry_NominativeUser", Some(1));
    mapping(&mut m, MAPPING_WITHOUT_SETTINGS, "LDAP_NoSettings", None);
    mapping(&mut m, MAPPING_MODE_OFF, "Legacy_Off", Some(2));
    mapping(&mut m, MAPPING_NOTIFICATIONS_DISABLED, "Muted", Some(3));
    mapping(
        &mut m,
        MAPPING_WITHOUT_NOTIFIED_EMAIL,
        "NoRecipient",
        Some(4),
    );
    mapping(
        &mut m,
        MAPPING_WITHOUT_BENEFICIARY_NAME,
        "Nameless",
        Some(5),
    );
    mapping(&mut m, MAPPING_UNKNOWN_BINDING, "UnknownBinding", Some(6));
    mapping(&mut m, MAPPING_TO_USER, "SelfService", Some(7));
    mapping(&mut m, MAPPING_DANGLING_SETTINGS, "Dangling", Some(42));
    mapping(&mut m, MAPPING_BAD_BINDING_PATH, "BadPath", Some(9));
    mapping(&mut m, MAPPING_TWO_WAY, "TwoWay", Some(8));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_hashed_secret() {
        assert_eq!(hashed_secret(DOC_CLIENT_SECRET), DOC_HASHED_SECRET);
    }
}

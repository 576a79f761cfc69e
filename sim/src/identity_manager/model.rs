//! A small entity model behind the simulated API: entity types with scalar and navigation
//! properties, and entities keyed by type and id.
//!
//! The types follow the vendor's documented examples: an `AssignedResourceType` whose `Owner`
//! can be any resource (so a binding casts it, `Owner.Directory_User:MainRecord`), users with a
//! `MainRecord` holding `Mail`, `InternalDisplayName` and `Organization`, organisations with a
//! `Manager` (the `PasswordResetSettings` example bindings, F4), resource type mappings and
//! password reset settings.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

/// What a property holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyKind {
    /// A value (string, number, boolean or null). Ids are answered as strings.
    Scalar,
    /// A link to one entity of the named (possibly abstract) type.
    Navigation {
        /// The declared target type.
        target: String,
    },
}

/// A reference to an entity: its type and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    /// The entity type.
    pub entity_type: String,
    /// The id.
    pub id: i64,
}

impl EntityRef {
    /// A reference to `entity_type` `id`.
    pub fn new(entity_type: &str, id: i64) -> Self {
        Self {
            entity_type: entity_type.to_owned(),
            id,
        }
    }
}

/// One entity: scalar values and navigation links (absent = null).
#[derive(Debug, Clone, Default)]
pub struct Entity {
    /// Scalar properties (`Id` included, as a string).
    pub values: BTreeMap<String, Value>,
    /// Navigation properties.
    pub links: BTreeMap<String, EntityRef>,
}

/// The schema and the data.
#[derive(Debug, Clone, Default)]
pub struct Model {
    types: BTreeMap<String, BTreeMap<String, PropertyKind>>,
    entities: HashMap<EntityRef, Entity>,
}

/// An id property's JSON value: ids are answered as strings (squery page example, F13).
pub fn id_value(id: i64) -> Value {
    Value::String(id.to_string())
}

impl Model {
    /// An empty model with the simulator's entity types declared.
    pub fn with_schema() -> Self {
        let mut model = Self::default();
        let scalar = |names: &[&str]| -> Vec<(String, PropertyKind)> {
            names
                .iter()
                .map(|n| ((*n).to_owned(), PropertyKind::Scalar))
                .collect()
        };
        let nav = |name: &str, target: &str| {
            (
                name.to_owned(),
                PropertyKind::Navigation {
                    target: target.to_owned(),
                },
            )
        };
        // Every entity type derives from the abstract resource, which has only an id.
        model.declare("Resource", scalar(&["Id"]));
        let mut art = scalar(&[
            "Id",
            "RoleId",
            "OwnerId",
            "OwnerType",
            "ProvisioningState",
            "StartDate",
            "EndDate",
        ]);
        art.push(nav("Owner", "Resource"));
        model.declare("AssignedResourceType", art);
        let mut user = scalar(&["Id", "Identifier"]);
        user.push(nav("MainRecord", "Directory_UserRecord"));
        model.declare("Directory_User", user);
        let mut record = scalar(&[
            "Id",
            "Mail",
            "InternalDisplayName",
            "FirstName",
            "LastName",
            "Login",
        ]);
        record.push(nav("Organization", "Directory_Organization"));
        record.push(nav("User", "Directory_User"));
        model.declare("Directory_UserRecord", record);
        let mut organization = scalar(&["Id", "Identifier", "DisplayName_L1"]);
        organization.push(nav("Manager", "Directory_User"));
        model.declare("Directory_Organization", organization);
        model.declare(
            "ResourceTypeMapping",
            scalar(&["Id", "Identifier", "ConnectionId", "PasswordResetSettingId"]),
        );
        model.declare(
            "PasswordResetSetting",
            scalar(&[
                "Id",
                "Identifier",
                "AutoGenerate",
                "DefaultPassword",
                "MustChange",
                "Mode",
                "DisableNotifications",
                "NotificationCC",
                "BeneficiaryEmailBinding",
                "BeneficiaryFullNameBinding",
                "NotifiedEmailBinding",
                "NotifiedFullNameBinding",
                "GeneratedLength",
                "GeneratedLowerCaseCharsCount",
                "GeneratedUpperCaseCharsCount",
                "GeneratedDigitCharsCount",
                "GeneratedSymbolCharsCount",
                "StrengthCheck",
            ]),
        );
        model
    }

    fn declare(&mut self, name: &str, properties: Vec<(String, PropertyKind)>) {
        self.types
            .insert(name.to_owned(), properties.into_iter().collect());
    }

    /// Whether the entity type is declared.
    pub fn has_type(&self, entity_type: &str) -> bool {
        self.types.contains_key(entity_type)
    }

    /// The kind of `property` on `entity_type`, when declared.
    pub fn property(&self, entity_type: &str, property: &str) -> Option<&PropertyKind> {
        self.types.get(entity_type)?.get(property)
    }

    /// Adds or replaces an entity; `Id` is set from the reference.
    pub fn insert(&mut self, at: EntityRef, mut entity: Entity) {
        entity.values.insert("Id".to_owned(), id_value(at.id));
        self.entities.insert(at, entity);
    }

    /// Removes an entity.
    pub fn remove(&mut self, at: &EntityRef) -> Option<Entity> {
        self.entities.remove(at)
    }

    /// An entity.
    pub fn get(&self, at: &EntityRef) -> Option<&Entity> {
        self.entities.get(at)
    }

    /// A mutable entity.
    pub fn get_mut(&mut self, at: &EntityRef) -> Option<&mut Entity> {
        self.entities.get_mut(at)
    }

    /// The ids of every entity of a type, in ascending order.
    pub fn ids_of(&self, entity_type: &str) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .entities
            .keys()
            .filter(|r| r.entity_type == entity_type)
            .map(|r| r.id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Builds an [`Entity`] fluently.
#[derive(Debug, Clone, Default)]
pub struct EntityBuilder(Entity);

impl EntityBuilder {
    /// An entity with no properties set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a scalar.
    pub fn set(mut self, property: &str, value: impl Into<Value>) -> Self {
        self.0.values.insert(property.to_owned(), value.into());
        self
    }

    /// Sets a scalar id (answered as a string).
    pub fn set_id(self, property: &str, id: i64) -> Self {
        self.set(property, id_value(id))
    }

    /// Sets a navigation.
    pub fn link(mut self, property: &str, to: EntityRef) -> Self {
        self.0.links.insert(property.to_owned(), to);
        self
    }

    /// The entity.
    pub fn build(self) -> Entity {
        self.0
    }
}

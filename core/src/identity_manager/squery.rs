//! Building `squery` texts (the API query grammar,
//! `docs/identitymanager/6.2/integration-guide/api/squery/index.md`, F13) and reading their
//! answers.
//!
//! The grammar's relevant rules are
//! `join = "join" binding ["of type" identifier] alias`, `binding = [alias "."] property` and
//! `select = "select" binding {"," binding}`: a join follows one navigation from the root or from
//! an earlier alias, and a projection reads one property of the root or of an alias. A
//! [`Binding`] path therefore becomes one join per navigation step (with `of type` when the next
//! step names an entity type) and one projection of its last property on the last alias.
//!
//! The documented example answer nests joined entities under their navigation property's name
//! (`"Properties": [{"Association1": {"Identifier": …}}]`), so the value of a binding is read by
//! walking the answer along the binding's property names.

use serde_json::Value;

use super::binding::Binding;

/// Two bindings cast the same navigation to different entity types: the answer nests both under
/// the same property name, so they cannot be read from one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CastConflict {
    pub(crate) navigation: String,
}

#[derive(Debug, Clone)]
struct Join {
    /// The navigation properties from the root to (and including) this join.
    path: Vec<String>,
    of_type: Option<String>,
    alias: String,
    source: Option<String>,
}

/// A squery that selects root properties and the values of bindings.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    joins: Vec<Join>,
    select: Vec<String>,
    filter: Option<String>,
}

impl Query {
    /// A query selecting these root properties (identifiers from this module's callers only).
    pub(crate) fn select(fields: &[&str]) -> Self {
        Self {
            select: fields.iter().map(|f| (*f).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Adds `where Id = <id>`.
    pub(crate) fn where_id(mut self, id: i64) -> Self {
        self.filter = Some(format!("Id = {id}"));
        self
    }

    /// Adds the joins and the projection that read `binding`, sharing joins with earlier
    /// bindings that follow the same navigations.
    pub(crate) fn add_binding(&mut self, binding: &Binding) -> Result<(), CastConflict> {
        let steps = binding.steps();
        let mut source: Option<String> = None;
        let mut path = Vec::new();
        for (i, step) in steps.iter().enumerate().take(steps.len().saturating_sub(1)) {
            path.push(step.property().to_owned());
            let of_type = steps
                .get(i + 1)
                .and_then(|next| next.entity_type())
                .map(str::to_owned);
            let alias = match self.joins.iter().find(|j| j.path == path) {
                Some(existing) if existing.of_type == of_type => existing.alias.clone(),
                Some(_) => {
                    return Err(CastConflict {
                        navigation: path.join("."),
                    });
                }
                None => {
                    let alias = format!("j{}", self.joins.len());
                    self.joins.push(Join {
                        path: path.clone(),
                        of_type,
                        alias: alias.clone(),
                        source: source.clone(),
                    });
                    alias
                }
            };
            source = Some(alias);
        }
        let projection = match source {
            Some(alias) => format!("{alias}.{}", binding.property()),
            None => binding.property().to_owned(),
        };
        if !self.select.contains(&projection) {
            self.select.push(projection);
        }
        Ok(())
    }

    /// The squery text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for join in &self.joins {
            out.push_str("join ");
            if let Some(source) = &join.source {
                out.push_str(source);
                out.push('.');
            }
            out.push_str(join.path.last().map(String::as_str).unwrap_or_default());
            if let Some(of_type) = &join.of_type {
                out.push_str(" of type ");
                out.push_str(of_type);
            }
            out.push(' ');
            out.push_str(&join.alias);
            out.push(' ');
        }
        out.push_str("select ");
        out.push_str(&self.select.join(", "));
        if let Some(filter) = &self.filter {
            out.push_str(" where ");
            out.push_str(filter);
        }
        out
    }
}

/// The value a binding reads in an answer: the answer walked along the binding's properties.
/// `None` when a navigation on the way is missing or null, or the value is null.
pub(crate) fn read<'a>(answer: &'a Value, binding: &Binding) -> Option<&'a Value> {
    let mut at = answer;
    for step in binding.steps() {
        at = at.get(step.property())?;
    }
    (!at.is_null()).then_some(at)
}

/// A binding's value as text: strings trimmed (empty counts as absent), numbers written out.
pub(crate) fn read_text(answer: &Value, binding: &Binding) -> Option<String> {
    match read(answer, binding)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b(path: &str) -> Binding {
        Binding::parse(path).unwrap()
    }

    #[test]
    fn one_binding_becomes_joins_and_a_projection() {
        let mut q = Query::select(&["Id", "RoleId"]);
        q.add_binding(&b(
            "AssignedResourceType:Owner.Directory_User:MainRecord.Mail",
        ))
        .unwrap();
        assert_eq!(
            q.render(),
            "join Owner of type Directory_User j0 join j0.MainRecord j1 select Id, RoleId, j1.Mail"
        );
    }

    #[test]
    fn bindings_share_joins() {
        let mut q = Query::select(&["Id"]);
        for path in [
            "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.Mail",
            "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.InternalDisplayName",
            "AssignedResourceType:Owner.Directory_User:MainRecord.InternalDisplayName",
        ] {
            q.add_binding(&b(path)).unwrap();
        }
        assert_eq!(
            q.render(),
            "join Owner of type Directory_User j0 join j0.MainRecord j1 join j1.Organization j2 \
             join j2.Manager j3 join j3.MainRecord j4 \
             select Id, j4.Mail, j4.InternalDisplayName, j1.InternalDisplayName"
        );
    }

    #[test]
    fn root_property_and_filter() {
        let mut q = Query::select(&["Id"]).where_id(-41);
        q.add_binding(&b("AssignedResourceType:Mail")).unwrap();
        assert_eq!(q.render(), "select Id, Mail where Id = -41");
    }

    #[test]
    fn conflicting_casts_are_refused() {
        let mut q = Query::select(&["Id"]);
        q.add_binding(&b("AssignedResourceType:Owner.Directory_User:Mail"))
            .unwrap();
        let err = q
            .add_binding(&b("AssignedResourceType:Owner.Directory_Guest:Mail"))
            .unwrap_err();
        assert_eq!(err.navigation, "Owner");
    }

    #[test]
    fn answers_are_read_along_the_property_names() {
        let answer = json!({
            "Id": "1000",
            "Owner": {"MainRecord": {
                "InternalDisplayName": "  Ada Lovelace ",
                "Mail": "",
                "Organization": null
            }}
        });
        let name = b("AssignedResourceType:Owner.Directory_User:MainRecord.InternalDisplayName");
        let mail = b("AssignedResourceType:Owner.Directory_User:MainRecord.Mail");
        let manager = b(
            "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.Mail",
        );
        assert_eq!(read_text(&answer, &name).as_deref(), Some("Ada Lovelace"));
        assert_eq!(read_text(&answer, &mail), None);
        assert_eq!(read_text(&answer, &manager), None);
    }
}

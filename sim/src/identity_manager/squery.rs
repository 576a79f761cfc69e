//! A parser and evaluator for the `squery` grammar
//! (`docs/identitymanager/6.2/integration-guide/api/squery/index.md`, F13):
//!
//! ```text
//! query      = [joins] [limit] [select] [where] [orderby] ;
//! join       = "join" binding ["of type" identifier] alias ;
//! binding    = [alias "."] property ;
//! limit      = "pagesize" integer ;
//! select     = "select" binding {"," binding} ;
//! where      = "where" filter ;
//! filter     = comparison | "(" filter {("and" | "or") filter} ")" ;
//! comparison = binding operator (value | binding) ;
//! orderby    = "order by" binding ("asc" | "desc") {"," binding ("asc" | "desc")} ;
//! ```
//!
//! Keywords are case-insensitive (the page writes both `pagesize` and `PageSize`). Historization
//! filters are refused. Unlike the formal grammar, a parenthesised single comparison
//! (`where (Id = 123)`) is accepted, and a combinator may not mix `and` with `or`. Unknown
//! properties, aliases and entity types are errors (the server answers 400).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use super::model::{EntityRef, Model, PropertyKind};

/// Why a query was refused; answered as a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid squery: {}", self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError(message.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Int(i64),
    Str(String),
    Op(&'static str),
    Dot,
    Comma,
    Open,
    Close,
}

const OPERATORS: &[&str] = &[
    "!%=%", "!%=", "!=%", "%=%", "!=", "<=", ">=", "%=", "=%", "&=", "=", "<", ">",
];

fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse()
                .map_err(|_| QueryError(format!("integer out of range: {text}")))?;
            tokens.push(Token::Int(n));
        } else if c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return err("unterminated string"),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                        s.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(&other) => {
                        s.push(other);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Str(s));
        } else if c == '.' {
            tokens.push(Token::Dot);
            i += 1;
        } else if c == ',' {
            tokens.push(Token::Comma);
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if let Some(op) = OPERATORS.iter().find(|op| {
            let op: Vec<char> = op.chars().collect();
            chars.get(i..i + op.len()) == Some(op.as_slice())
        }) {
            tokens.push(Token::Op(op));
            i += op.chars().count();
        } else {
            return err(format!("unexpected character '{c}' at {}", i + 1));
        }
    }
    Ok(tokens)
}

/// `[alias "."] property`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRef {
    /// The alias, `None` for the root.
    pub alias: Option<String>,
    /// The property.
    pub property: String,
}

/// `join <binding> [of type <type>] <alias>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// The navigation followed.
    pub binding: BindingRef,
    /// The cast, when given.
    pub of_type: Option<String>,
    /// The alias introduced.
    pub alias: String,
}

/// A right operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal.
    Value(Value),
    /// Another binding.
    Binding(BindingRef),
}

/// A `where` filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `binding op operand`.
    Compare(BindingRef, &'static str, Operand),
    /// `(a and b …)`.
    And(Vec<Filter>),
    /// `(a or b …)`.
    Or(Vec<Filter>),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// The joins, in order.
    pub joins: Vec<Join>,
    /// `pagesize n`.
    pub page_size: Option<i64>,
    /// The projections (empty: ids only).
    pub select: Vec<BindingRef>,
    /// The filter.
    pub filter: Option<Filter>,
    /// `order by`, `true` for descending.
    pub order: Vec<(BindingRef, bool)>,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(s)) if s.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), QueryError> {
        if self.peek_keyword(keyword) {
            self.at += 1;
            Ok(())
        } else {
            err(format!("expected '{keyword}' {}", self.where_am_i()))
        }
    }

    fn where_am_i(&self) -> String {
        match self.peek() {
            None => "at the end of the query".to_owned(),
            Some(token) => format!("at token {} ({})", self.at + 1, describe(token)),
        }
    }

    fn identifier(&mut self, what: &str) -> Result<String, QueryError> {
        match self.peek().cloned() {
            Some(Token::Ident(s)) => {
                self.at += 1;
                Ok(s)
            }
            _ => err(format!("expected {what} {}", self.where_am_i())),
        }
    }

    fn binding(&mut self) -> Result<BindingRef, QueryError> {
        let first = self.identifier("a property")?;
        if self.peek() == Some(&Token::Dot) {
            self.at += 1;
            let property = self.identifier("a property after '.'")?;
            if self.peek() == Some(&Token::Dot) {
                return err(format!(
                    "a binding is [alias.]property; join the navigation first ({})",
                    self.where_am_i()
                ));
            }
            Ok(BindingRef {
                alias: Some(first),
                property,
            })
        } else {
            Ok(BindingRef {
                alias: None,
                property: first,
            })
        }
    }

    fn filter(&mut self) -> Result<Filter, QueryError> {
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let first = self.filter()?;
            let mut and = Vec::new();
            let mut or = Vec::new();
            loop {
                if self.peek() == Some(&Token::Close) {
                    self.at += 1;
                    break;
                }
                if self.peek_keyword("and") {
                    self.at += 1;
                    and.push(self.filter()?);
                } else if self.peek_keyword("or") {
                    self.at += 1;
                    or.push(self.filter()?);
                } else {
                    return err(format!("expected 'and', 'or' or ')' {}", self.where_am_i()));
                }
            }
            return match (and.is_empty(), or.is_empty()) {
                (true, true) => Ok(first),
                (false, true) => Ok(Filter::And(std::iter::once(first).chain(and).collect())),
                (true, false) => Ok(Filter::Or(std::iter::once(first).chain(or).collect())),
                (false, false) => err("'and' and 'or' mixed without parentheses"),
            };
        }
        let left = self.binding()?;
        let op = match self.peek().cloned() {
            Some(Token::Op(op)) => {
                self.at += 1;
                op
            }
            _ => return err(format!("expected an operator {}", self.where_am_i())),
        };
        let right = match self.peek().cloned() {
            Some(Token::Int(n)) => {
                self.at += 1;
                Operand::Value(Value::from(n))
            }
            Some(Token::Str(s)) => {
                self.at += 1;
                Operand::Value(Value::String(s))
            }
            Some(Token::Ident(s)) if s.eq_ignore_ascii_case("true") => {
                self.at += 1;
                Operand::Value(Value::Bool(true))
            }
            Some(Token::Ident(s)) if s.eq_ignore_ascii_case("false") => {
                self.at += 1;
                Operand::Value(Value::Bool(false))
            }
            Some(Token::Ident(s)) if s.eq_ignore_ascii_case("null") => {
                self.at += 1;
                Operand::Value(Value::Null)
            }
            Some(Token::Ident(_)) => Operand::Binding(self.binding()?),
            _ => return err(format!("expected a value {}", self.where_am_i())),
        };
        Ok(Filter::Compare(left, op, right))
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(s) => format!("'{s}'"),
        Token::Int(n) => n.to_string(),
        Token::Str(_) => "a string".to_owned(),
        Token::Op(op) => format!("'{op}'"),
        Token::Dot => "'.'".to_owned(),
        Token::Comma => "','".to_owned(),
        Token::Open => "'('".to_owned(),
        Token::Close => "')'".to_owned(),
    }
}

/// Parses a query text.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let mut p = Parser {
        tokens: tokenize(text)?,
        at: 0,
    };
    let mut query = Query::default();
    if p.peek_keyword("as") || p.peek_keyword("between") || p.peek_keyword("contained") {
        return err("historization filters are not supported here");
    }
    if matches!(p.peek(), Some(Token::Str(_))) {
        return err("historization filters are not supported here");
    }
    while p.peek_keyword("join") {
        p.at += 1;
        let binding = p.binding()?;
        let of_type = if p.peek_keyword("of") {
            p.at += 1;
            p.keyword("type")?;
            Some(p.identifier("an entity type after 'of type'")?)
        } else {
            None
        };
        let alias = p.identifier("an alias")?;
        if ["select", "where", "join", "order", "pagesize"]
            .iter()
            .any(|k| alias.eq_ignore_ascii_case(k))
        {
            return err(format!("expected an alias before '{alias}'"));
        }
        query.joins.push(Join {
            binding,
            of_type,
            alias,
        });
    }
    if p.peek_keyword("pagesize") {
        p.at += 1;
        match p.peek().cloned() {
            Some(Token::Int(n)) if n > 0 => {
                p.at += 1;
                query.page_size = Some(n);
            }
            _ => return err(format!("expected a positive page size {}", p.where_am_i())),
        }
    }
    if p.peek_keyword("select") {
        p.at += 1;
        query.select.push(p.binding()?);
        while p.peek() == Some(&Token::Comma) {
            p.at += 1;
            query.select.push(p.binding()?);
        }
    }
    if p.peek_keyword("where") {
        p.at += 1;
        query.filter = Some(p.filter()?);
    }
    if p.peek_keyword("order") {
        p.at += 1;
        p.keyword("by")?;
        loop {
            let binding = p.binding()?;
            let descending = if p.peek_keyword("desc") {
                true
            } else if p.peek_keyword("asc") {
                false
            } else {
                return err(format!("expected 'asc' or 'desc' {}", p.where_am_i()));
            };
            p.at += 1;
            query.order.push((binding, descending));
            if p.peek() == Some(&Token::Comma) {
                p.at += 1;
            } else {
                break;
            }
        }
    }
    if let Some(token) = p.peek() {
        return err(format!(
            "unexpected {} at token {}",
            describe(token),
            p.at + 1
        ));
    }
    Ok(query)
}

/// What an alias stands for while evaluating one root entity.
#[derive(Debug, Clone)]
struct Bound {
    /// The navigation properties from the root, each with the entity reached (None = null).
    chain: Vec<(String, Option<EntityRef>)>,
}

impl Bound {
    fn entity(&self) -> Option<&EntityRef> {
        self.chain.last().and_then(|(_, e)| e.as_ref())
    }
}

/// Checks a query against the schema, for a root of `root_type`, without data.
pub fn check(model: &Model, root_type: &str, query: &Query) -> Result<(), QueryError> {
    let mut declared: HashMap<&str, String> = HashMap::new();
    for join in &query.joins {
        let source = match &join.binding.alias {
            None => root_type.to_owned(),
            Some(alias) => declared
                .get(alias.as_str())
                .cloned()
                .ok_or_else(|| QueryError(format!("unknown alias '{alias}'")))?,
        };
        let target = match model.property(&source, &join.binding.property) {
            Some(PropertyKind::Navigation { target }) => target.clone(),
            Some(PropertyKind::Scalar) => {
                return err(format!(
                    "{} of {source} is not a navigation and cannot be joined",
                    join.binding.property
                ));
            }
            None => {
                return err(format!(
                    "unknown property {} on {source}",
                    join.binding.property
                ));
            }
        };
        let ty = match &join.of_type {
            Some(ty) if !model.has_type(ty) => return err(format!("unknown entity type {ty}")),
            Some(ty) => ty.clone(),
            None => target,
        };
        if join.alias.eq_ignore_ascii_case(root_type) || declared.contains_key(join.alias.as_str())
        {
            return err(format!("alias '{}' is used twice", join.alias));
        }
        declared.insert(&join.alias, ty);
    }
    let check_binding = |b: &BindingRef| -> Result<(), QueryError> {
        let ty = match &b.alias {
            None => root_type.to_owned(),
            Some(alias) => declared
                .get(alias.as_str())
                .cloned()
                .ok_or_else(|| QueryError(format!("unknown alias '{alias}'")))?,
        };
        match model.property(&ty, &b.property) {
            Some(_) => Ok(()),
            None => err(format!("unknown property {} on {ty}", b.property)),
        }
    };
    for b in &query.select {
        check_binding(b)?;
    }
    fn walk(
        f: &Filter,
        check: &dyn Fn(&BindingRef) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        match f {
            Filter::Compare(left, _, right) => {
                check(left)?;
                if let Operand::Binding(b) = right {
                    check(b)?;
                }
                Ok(())
            }
            Filter::And(all) | Filter::Or(all) => all.iter().try_for_each(|f| walk(f, check)),
        }
    }
    if let Some(filter) = &query.filter {
        walk(filter, &check_binding)?;
    }
    for (b, _) in &query.order {
        check_binding(b)?;
    }
    Ok(())
}

/// One root entity evaluated: its joins bound.
struct Row<'a> {
    model: &'a Model,
    root: EntityRef,
    aliases: HashMap<String, Bound>,
}

impl<'a> Row<'a> {
    fn new(model: &'a Model, root: EntityRef, query: &Query) -> Self {
        let mut aliases: HashMap<String, Bound> = HashMap::new();
        for join in &query.joins {
            let (source_entity, mut chain) = match &join.binding.alias {
                None => (Some(root.clone()), Vec::new()),
                Some(alias) => match aliases.get(alias) {
                    Some(bound) => (bound.entity().cloned(), bound.chain.clone()),
                    None => (None, Vec::new()),
                },
            };
            let reached = source_entity
                .and_then(|e| model.get(&e))
                .and_then(|e| e.links.get(&join.binding.property))
                .filter(|target| {
                    join.of_type
                        .as_ref()
                        .is_none_or(|ty| &target.entity_type == ty)
                })
                .filter(|target| model.get(target).is_some())
                .cloned();
            chain.push((join.binding.property.clone(), reached));
            aliases.insert(join.alias.clone(), Bound { chain });
        }
        Self {
            model,
            root,
            aliases,
        }
    }

    /// The value of a binding and the navigation chain leading to it.
    fn value(&self, b: &BindingRef) -> (Vec<(String, Option<EntityRef>)>, Value) {
        let (chain, entity) = match &b.alias {
            None => (Vec::new(), Some(self.root.clone())),
            Some(alias) => match self.aliases.get(alias) {
                Some(bound) => (bound.chain.clone(), bound.entity().cloned()),
                None => (Vec::new(), None),
            },
        };
        let value = entity
            .and_then(|e| {
                let found = self.model.get(&e)?;
                match found.values.get(&b.property) {
                    Some(v) => Some(v.clone()),
                    None => found
                        .links
                        .get(&b.property)
                        .map(|link| super::model::id_value(link.id)),
                }
            })
            .unwrap_or(Value::Null);
        (chain, value)
    }

    fn matches(&self, filter: &Filter) -> bool {
        match filter {
            Filter::And(all) => all.iter().all(|f| self.matches(f)),
            Filter::Or(all) => all.iter().any(|f| self.matches(f)),
            Filter::Compare(left, op, right) => {
                let (_, l) = self.value(left);
                let r = match right {
                    Operand::Value(v) => v.clone(),
                    Operand::Binding(b) => self.value(b).1,
                };
                compare(&l, op, &r)
            }
        }
    }

    fn project(&self, query: &Query) -> Value {
        let mut out = Map::new();
        if query.select.is_empty() {
            out.insert("Id".to_owned(), super::model::id_value(self.root.id));
        }
        for b in &query.select {
            let (chain, value) = self.value(b);
            insert(&mut out, &chain, &b.property, value);
        }
        Value::Object(out)
    }
}

/// Puts `value` at `chain` + `property`, nesting objects per navigation, and a null at the
/// first navigation that leads nowhere.
fn insert(
    out: &mut Map<String, Value>,
    chain: &[(String, Option<EntityRef>)],
    property: &str,
    value: Value,
) {
    let Some(((navigation, reached), rest)) = chain.split_first() else {
        out.insert(property.to_owned(), value);
        return;
    };
    if reached.is_none() {
        out.entry(navigation.clone()).or_insert(Value::Null);
        return;
    }
    let slot = out
        .entry(navigation.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        insert(inner, rest, property, value);
    }
}

fn as_number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn compare(l: &Value, op: &str, r: &Value) -> bool {
    let ordering = || -> Option<Ordering> {
        match (as_number(l), as_number(r)) {
            (Some(a), Some(b)) if !matches!((l, r), (Value::String(_), Value::String(_))) => {
                Some(a.cmp(&b))
            }
            _ => match (l, r) {
                (Value::String(a), Value::String(b)) => {
                    Some(a.to_lowercase().cmp(&b.to_lowercase()))
                }
                (Value::Null, Value::Null) => Some(Ordering::Equal),
                (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
                _ => None,
            },
        }
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.to_lowercase()),
        _ => None,
    };
    match op {
        "=" => ordering() == Some(Ordering::Equal),
        "!=" => ordering() != Some(Ordering::Equal),
        "<" => ordering() == Some(Ordering::Less),
        ">" => ordering() == Some(Ordering::Greater),
        "<=" => matches!(ordering(), Some(Ordering::Less | Ordering::Equal)),
        ">=" => matches!(ordering(), Some(Ordering::Greater | Ordering::Equal)),
        "&=" => matches!((as_number(l), as_number(r)), (Some(a), Some(b)) if a & b == b),
        _ => {
            let (Some(a), Some(b)) = (text(l), text(r)) else {
                return false;
            };
            match op {
                "%=" => a.starts_with(&b),
                "=%" => a.ends_with(&b),
                "%=%" => a.contains(&b),
                "!%=" => !a.starts_with(&b),
                "!=%" => !a.ends_with(&b),
                "!%=%" => !a.contains(&b),
                _ => false,
            }
        }
    }
}

/// Evaluates a checked query on the given roots: filter, order, then projection.
pub fn evaluate(model: &Model, roots: &[EntityRef], query: &Query) -> Vec<Value> {
    let rows: Vec<Row<'_>> = roots
        .iter()
        .map(|root| Row::new(model, root.clone(), query))
        .filter(|row| query.filter.as_ref().is_none_or(|f| row.matches(f)))
        .collect();
    let mut rows = rows;
    if !query.order.is_empty() {
        rows.sort_by(|a, b| {
            for (binding, descending) in &query.order {
                let (_, va) = a.value(binding);
                let (_, vb) = b.value(binding);
                let mut o = match (as_number(&va), as_number(&vb)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => va.to_string().cmp(&vb.to_string()),
                };
                if *descending {
                    o = o.reverse();
                }
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    rows.iter().map(|row| row.project(query)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity_manager::seed;
    use serde_json::json;

    #[test]
    fn parses_the_documented_complete_query() {
        let q = parse(
            "join Properties p join p.Association1 ea1  PageSize 2 select Id,Identifier,p.Id,p.Identifier,ea1.Id,ea1.Identifier where Id > 45 order by DisplayName_L1 asc",
        )
        .unwrap();
        assert_eq!(q.joins.len(), 2);
        assert_eq!(q.joins[1].binding.alias.as_deref(), Some("p"));
        assert_eq!(q.page_size, Some(2));
        assert_eq!(q.select.len(), 6);
        assert!(matches!(q.filter, Some(Filter::Compare(_, ">", _))));
        assert_eq!(q.order.len(), 1);
    }

    #[test]
    fn parses_filters() {
        for (text, ok) in [
            ("where Id = 123", true),
            ("where (Id = 123)", true),
            (
                "where (Id = 1 and Mode != 0 and Identifier %= \"To\")",
                true,
            ),
            ("where (Id = 1 or Id = 2)", true),
            ("where (Id = 1 and Id = 2 or Id = 3)", false),
            ("where Id", false),
            ("where Id = ", false),
            ("select Id,", false),
            ("select a.b.c", false),
            ("join Owner of Directory_User o", false),
            ("as of \"2022-01-01T00:00:00Z\" select Id", false),
            ("select Id; drop table", false),
            ("select Id extra", false),
        ] {
            assert_eq!(parse(text).is_ok(), ok, "{text}");
        }
    }

    fn seeded() -> Model {
        seed::model()
    }

    #[test]
    fn joins_with_cast_resolve_the_documented_bindings() {
        let model = seeded();
        let q = parse(
            "join Owner of type Directory_User o join o.MainRecord r join r.Organization g \
             join g.Manager m join m.MainRecord mr select Id, RoleId, mr.Mail, r.InternalDisplayName",
        )
        .unwrap();
        check(&model, "AssignedResourceType", &q).unwrap();
        let root = EntityRef::new("AssignedResourceType", seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE);
        let out = evaluate(&model, &[root], &q);
        assert_eq!(
            out,
            vec![json!({
                "Id": "1000",
                "RoleId": "10",
                "Owner": {"MainRecord": {
                    "InternalDisplayName": "Ada Lovelace",
                    "Organization": {"Manager": {"MainRecord": {"Mail": "grace.hopper@acme.example"}}}
                }}
            })]
        );
    }

    #[test]
    fn a_wrong_cast_or_a_missing_link_reads_null() {
        let model = seeded();
        let q = parse("join Owner of type Directory_Organization o select o.Identifier").unwrap();
        check(&model, "AssignedResourceType", &q).unwrap();
        let root = EntityRef::new("AssignedResourceType", seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE);
        assert_eq!(evaluate(&model, &[root], &q), vec![json!({"Owner": null})]);
    }

    #[test]
    fn unknown_bindings_are_refused() {
        let model = seeded();
        for (text, message) in [
            (
                "join Owner o select o.MainRecord",
                "unknown property MainRecord on Resource",
            ),
            (
                "join Owner of type Directory_User o join o.MainRecord r select r.PersonalMail",
                "unknown property PersonalMail on Directory_UserRecord",
            ),
            (
                "join Owner of type Nobody o select Id",
                "unknown entity type Nobody",
            ),
            (
                "join RoleId r select Id",
                "RoleId of AssignedResourceType is not a navigation and cannot be joined",
            ),
            ("select x.Id", "unknown alias 'x'"),
            (
                "join Owner o join Owner o select Id",
                "alias 'o' is used twice",
            ),
        ] {
            let q = parse(text).unwrap();
            assert_eq!(
                check(&model, "AssignedResourceType", &q),
                Err(QueryError(message.to_owned())),
                "{text}"
            );
        }
    }

    #[test]
    fn filters_compare_ids_given_as_strings() {
        let model = seeded();
        let roots: Vec<EntityRef> = model
            .ids_of("PasswordResetSetting")
            .into_iter()
            .map(|id| EntityRef::new("PasswordResetSetting", id))
            .collect();
        let q = parse("select Id, Identifier where (Id = 1)").unwrap();
        assert_eq!(
            evaluate(&model, &roots, &q),
            vec![json!({"Id": "1", "Identifier": "ToManager"})]
        );
        let q = parse("select Identifier where Identifier %= \"to\" order by Id desc").unwrap();
        let names: Vec<Value> = evaluate(&model, &roots, &q);
        assert_eq!(
            names,
            vec![
                json!({"Identifier": "ToUser"}),
                json!({"Identifier": "ToManager"})
            ]
        );
    }
}

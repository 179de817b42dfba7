//! Limits on one request's work, and the `extensions.code` of the errors
//! async-graphql raises itself, as one async-graphql extension.
//!
//! The document is parsed once, by async-graphql: this extension counts its
//! aliases where the parse ends, and compares the depth and complexity the
//! validation computes with the limits. Codes come from where an error
//! arises — a parse error is GRAPHQL_PARSE_FAILED, a rule the document
//! breaks GRAPHQL_VALIDATION_FAILED, a limit QUERY_TOO_COMPLEX, a field
//! error without a code of its own (an argument async-graphql could not
//! take) BAD_USER_INPUT — never from an error's text.
//!
//! It also keeps input honest before anything reaches a service: every
//! string in the variables and in the document's arguments is refused with
//! BAD_USER_INPUT if it carries a control character (other than tab and
//! line breaks) or is longer than [`MAX_STRING`] characters; and it caps a
//! response's errors at [`MAX_ERRORS`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Value as ConstValue;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
    NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    Name, PathSegment, Request, Response, ServerError, ServerResult, ValidationResult, Value,
    Variables,
};

use crate::cost::{self, BatchBudget};
use crate::error::ErrorCode;
use crate::services::aggregates::FigureCache;

/// The longest string any argument may be, in characters. Fields have
/// smaller limits of their own (a title 200, a description 2,000, a text
/// answer its question's).
pub const MAX_STRING: usize = 10_000;

/// Most errors one response lists; the rest are counted in one more.
pub const MAX_ERRORS: usize = 20;

/// Limits that keep one request cheap while GraphiQL can still introspect.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
    /// Most aliases one document may use.
    pub aliases: usize,
    /// Most directives one document may use (`@include`, `@skip`).
    pub directives: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 15,
            complexity: 1_000,
            aliases: 30,
            directives: 50,
        }
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            limits: *self,
            surcharge: AtomicUsize::new(0),
            label: std::sync::Mutex::new(None),
            operation: std::sync::Mutex::new(None),
        })
    }
}

/// Where the limits extension leaves a request's operation label (its type
/// and first root field, e.g. `query maturityTrend`) for the HTTP layer's
/// logs and metrics, once the document has passed validation: a label is
/// always a name the schema has, so metrics stay bounded whatever clients send.
#[derive(Clone, Debug, Default)]
pub struct OperationLabel(Arc<std::sync::Mutex<Option<String>>>);

impl OperationLabel {
    /// The label, once the request has been validated.
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|l| l.clone())
    }

    fn set(&self, label: String) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(label);
        }
    }
}

/// `query maturityTrend`: the type and first root field of the operation
/// the request runs.
fn label_of(doc: &ExecutableDocument, name: Option<&str>) -> Option<String> {
    let op = match name {
        Some(name) => {
            doc.operations
                .iter()
                .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?
                .1
        }
        None => doc.operations.iter().next()?.1,
    };
    let field = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            Selection::Field(f) => Some(f.node.name.node.to_string()),
            _ => None,
        });
    Some(format!("{} {}", op.node.ty, field.unwrap_or_default()))
}

/// One request's limits (a new one for every request).
struct LimitsExtension {
    limits: Limits,
    /// What the request's figures add to its complexity ([`crate::cost`]).
    surcharge: AtomicUsize,
    /// The operation's label, published once validation passes.
    label: std::sync::Mutex<Option<String>>,
    /// The operation name the request asks for.
    operation: std::sync::Mutex<Option<String>>,
}

/// `error` with `code`, unless it carries one already.
fn coded(mut error: ServerError, code: ErrorCode) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}

fn too_complex(message: String) -> ServerError {
    coded(ServerError::new(message, None), ErrorCode::QueryTooComplex)
}

/// Why a string may not be an argument, if it may not.
fn bad_string(s: &str) -> Option<&'static str> {
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Some("holds a control character")
    } else if s.chars().count() > MAX_STRING {
        Some("is longer than 10000 characters")
    } else {
        None
    }
}

fn refused(place: &str, why: &str) -> ServerError {
    coded(
        ServerError::new(format!("{place} {why}"), None),
        ErrorCode::BadUserInput,
    )
}

/// Every string of a variable's value.
fn check_const(value: &ConstValue, place: &str) -> ServerResult<()> {
    match value {
        ConstValue::String(s) => bad_string(s).map_or(Ok(()), |why| Err(refused(place, why))),
        ConstValue::List(items) => items.iter().try_for_each(|v| check_const(v, place)),
        ConstValue::Object(fields) => fields
            .iter()
            .try_for_each(|(k, v)| check_const(v, &format!("{place}.{k}"))),
        _ => Ok(()),
    }
}

/// Puts `null` where `path` ends, if its parent object is there and lacks it.
fn null_at(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = data;
    for segment in parents {
        let next = match (segment, here) {
            (PathSegment::Field(name), Value::Object(fields)) => fields.get_mut(name.as_str()),
            (PathSegment::Index(i), Value::List(items)) => items.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else {
            return;
        };
        here = next;
    }
    if let (PathSegment::Field(name), Value::Object(fields)) = (last, here) {
        let key = Name::new(name);
        if !fields.contains_key(&key) {
            fields.insert(key, Value::Null);
        }
    }
}

/// What one walk over a document finds: its aliases and directives.
#[derive(Default)]
struct Tally {
    aliases: usize,
    directives: usize,
}

/// Walks every selection of the document's operations and fragments once:
/// counts aliases and directives, and refuses a string literal in an
/// argument that [`bad_string`] refuses (variables are checked where they
/// are given).
fn inspect(doc: &ExecutableDocument) -> ServerResult<Tally> {
    fn walk(set: &SelectionSet, tally: &mut Tally) -> ServerResult<()> {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    tally.aliases += usize::from(f.node.alias.is_some());
                    tally.directives += f.node.directives.len();
                    for (name, value) in &f.node.arguments {
                        let place = format!("argument {} of {}", name.node, f.node.name.node);
                        let literal = value
                            .node
                            .clone()
                            .into_const_with(|_| Ok::<_, ()>(ConstValue::Null))
                            .unwrap_or_default();
                        check_const(&literal, &place)?;
                    }
                    walk(&f.node.selection_set.node, tally)?;
                }
                Selection::InlineFragment(f) => {
                    tally.directives += f.node.directives.len();
                    walk(&f.node.selection_set.node, tally)?;
                }
                Selection::FragmentSpread(f) => tally.directives += f.node.directives.len(),
            }
        }
        Ok(())
    }
    let mut tally = Tally::default();
    for (_, op) in doc.operations.iter() {
        tally.directives += op.node.directives.len();
        walk(&op.node.selection_set.node, &mut tally)?;
    }
    for f in doc.fragments.values() {
        tally.directives += f.node.directives.len();
        walk(&f.node.selection_set.node, &mut tally)?;
    }
    Ok(tally)
}

#[async_graphql::async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        if response.errors.len() > MAX_ERRORS {
            let more = response.errors.len() - MAX_ERRORS;
            response.errors.truncate(MAX_ERRORS);
            let code = response.errors[MAX_ERRORS - 1]
                .extensions
                .as_ref()
                .and_then(|e| e.get("code").cloned());
            let mut summary = ServerError::new(format!("… and {more} more errors"), None);
            if let Some(code) = code {
                summary
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", code);
            }
            response.errors.push(summary);
        }
        // A field that failed is null in `data`, not missing (async-graphql
        // leaves a failed nullable field out).
        for error in &response.errors {
            null_at(&mut response.data, &error.path);
        }
        // Whatever is left: the request could not run (an operation name
        // missing or unknown), or a field's argument could not be taken.
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| {
                let code = if e.path.is_empty() {
                    ErrorCode::GraphqlValidationFailed
                } else {
                    ErrorCode::BadUserInput
                };
                coded(e, code)
            })
            .collect();
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        for (name, value) in request.variables.iter() {
            check_const(value, &format!("${name}"))?;
        }
        if let Ok(mut operation) = self.operation.lock() {
            operation.clone_from(&request.operation_name);
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| coded(e, ErrorCode::GraphqlParseFailed))?;
        let Tally {
            aliases,
            directives,
        } = inspect(&doc)?;
        if directives > self.limits.directives {
            return Err(too_complex(format!(
                "the query uses {directives} directives; at most {} are allowed",
                self.limits.directives
            )));
        }
        let operation = self.operation.lock().ok().and_then(|o| o.clone());
        if let Ok(mut label) = self.label.lock() {
            *label = label_of(&doc, operation.as_deref());
        }
        if let Some(cache) = ctx.data_opt::<FigureCache>() {
            let cost = cost::surcharge(&doc, variables, cache);
            self.surcharge.store(cost, Ordering::Relaxed);
        }
        if aliases > self.limits.aliases {
            return Err(too_complex(format!(
                "the query uses {aliases} aliases; at most {} are allowed",
                self.limits.aliases
            )));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| coded(e, ErrorCode::GraphqlValidationFailed))
                .collect::<Vec<_>>()
        })?;
        if result.depth > self.limits.depth {
            return Err(vec![too_complex(format!(
                "the query is nested too deep: {} levels; at most {} are allowed",
                result.depth, self.limits.depth
            ))]);
        }
        let complexity = result.complexity + self.surcharge.load(Ordering::Relaxed);
        if complexity > self.limits.complexity {
            return Err(vec![too_complex(format!(
                "the query is too complex: {complexity}; at most {} is allowed (figures not in memory weigh {}, panel trends {})",
                self.limits.complexity,
                cost::FIGURE,
                cost::PANEL
            ))]);
        }
        if let Some(budget) = ctx.data_opt::<BatchBudget>()
            && !budget.take(complexity)
        {
            return Err(vec![too_complex(format!(
                "the batch is too complex: its operations together may weigh at most {}",
                self.limits.complexity
            ))]);
        }
        if let (Some(slot), Ok(label)) = (ctx.data_opt::<OperationLabel>(), self.label.lock())
            && let Some(label) = label.clone()
        {
            slot.set(label);
        }
        Ok(result)
    }
}

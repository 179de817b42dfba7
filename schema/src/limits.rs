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

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    Name, PathSegment, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
};

use crate::error::ErrorCode;

/// Limits that keep one request cheap while GraphiQL can still introspect.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub depth: usize,
    pub complexity: usize,
    /// Most aliases one document may use.
    pub aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 15,
            complexity: 5_000,
            aliases: 30,
        }
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension(*self))
    }
}

struct LimitsExtension(Limits);

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

/// Aliases in the document's operations and fragments.
fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(f.node.alias.is_some()) + walk(&f.node.selection_set.node)
                }
                Selection::InlineFragment(f) => walk(&f.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| walk(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

#[async_graphql::async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
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
        let aliases = count_aliases(&doc);
        if aliases > self.0.aliases {
            return Err(too_complex(format!(
                "the query uses {aliases} aliases; at most {} are allowed",
                self.0.aliases
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
        if result.depth > self.0.depth {
            return Err(vec![too_complex(format!(
                "the query is nested too deep: {} levels; at most {} are allowed",
                result.depth, self.0.depth
            ))]);
        }
        if result.complexity > self.0.complexity {
            return Err(vec![too_complex(format!(
                "the query is too complex: {}; at most {} is allowed",
                result.complexity, self.0.complexity
            ))]);
        }
        Ok(result)
    }
}

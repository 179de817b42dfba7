//! Limits on one request's work, and the `extensions.code` of the errors
//! async-graphql raises itself, as one async-graphql extension.
//!
//! **Bounded before it starts.** The document is parsed once, when the
//! request is prepared, and measured as written with every fragment spread
//! where it is used ([`cost::measure`], each fragment measured once):
//! selections, depth, nesting, aliases, directives and cost at every depth.
//! A document above a limit is refused there, in microseconds, before
//! async-graphql's own passes run — and those passes spread fragments
//! without remembering them: the recursion-depth and directive checks of
//! the parse (`check_recursive_depth`), validation's second walk (cache
//! control, complexity and depth, visited with every fragment inlined) and
//! field collection at execution each walk every spread anew, so a 594-byte
//! document of fragments spreading each other six times over nine levels
//! would have them walk ten million selections. Once the measure admits a
//! document, each of those passes is linear in [`Limits::selections`].
//!
//! Codes come from where an error
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
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{
    Name, PathSegment, Request, Response, ServerError, ServerResult, ValidationResult, Value,
    Variables,
};

use crate::ReadPool;
use crate::budget::ClientBudget;
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
    /// Deepest nesting of fields.
    pub depth: usize,
    /// Most a request's operation may cost: one per field, plus its figures' weights.
    pub complexity: usize,
    /// Most selections (fields, fragment spreads and inline fragments) the
    /// document's operations and fragments hold once every fragment is
    /// spread where it is used.
    pub selections: usize,
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
            selections: 2_000,
            aliases: 30,
            directives: 50,
        }
    }
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            limits: *self,
            cost: AtomicUsize::new(0),
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

/// The type of the operation a request runs, if it can be told.
fn operation_type(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// One request's limits (a new one for every request).
struct LimitsExtension {
    limits: Limits,
    /// The request's cost, as measured when it was prepared ([`crate::cost`]).
    cost: AtomicUsize,
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

/// RATE_LIMITED: the client's cost budget ([`crate::budget`]) does not hold
/// `cost` now; `retryAfter` (whole seconds) says when it will.
fn spent(cost: usize, wait: std::time::Duration) -> ServerError {
    let error = crate::budget::spent(cost, wait);
    let seconds = error.retry_after().unwrap_or(1);
    let mut server = ServerError::new(error.message(), None);
    let extensions = server.extensions.get_or_insert_with(Default::default);
    extensions.set("code", ErrorCode::RateLimited.as_str());
    extensions.set("retryAfter", seconds);
    server
}

fn too_complex(message: String) -> ServerError {
    coded(ServerError::new(message, None), ErrorCode::QueryTooComplex)
}

/// Why a string may not be an argument, if it may not: a control character
/// (other than tab and line breaks), or more than [`MAX_STRING`]
/// characters. The importer applies the same rule to every cell.
pub fn refused_text(s: &str) -> Option<&'static str> {
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
        ConstValue::String(s) => refused_text(s).map_or(Ok(()), |why| Err(refused(place, why))),
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

/// The deepest nesting of brackets (`{`, `[`, `(`) a document's text may
/// have: async-graphql's parser stops selection sets at 64 levels, but
/// values (`[[[…]]]`, `{a: {a: …}}`) it nests as deep as they come, and
/// every pass after it walks them recursively — 1,000 levels in 2 KB
/// overflow a thread's stack.
pub const MAX_TEXT_NESTING: usize = 64;

/// Whether `text` nests brackets deeper than [`MAX_TEXT_NESTING`], read
/// before it is parsed, in one pass without recursion. Every place that
/// parses a document asks first.
///
/// Strings and comments are skipped as async-graphql's grammar reads them:
/// a regular string ends at its closing quote (a backslash escapes the next
/// character), a block string at `"""` (`\"""` escaped) — and a `"""`
/// that is never closed is what the grammar then makes of it, an empty
/// string `""` followed by a regular string. As a second guard the
/// brackets are also counted without regard to strings, up to four times
/// the limit, so that no reading of quotes can hide a deep value.
pub fn nests_too_deep(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut blind = 0usize;
    for b in bytes {
        match b {
            b'{' | b'[' | b'(' => {
                blind += 1;
                if blind > 4 * MAX_TEXT_NESTING {
                    return true;
                }
            }
            b'}' | b']' | b')' => blind = blind.saturating_sub(1),
            _ => {}
        }
    }
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                let mut end = i + 3;
                while end < bytes.len() && !bytes[end..].starts_with(b"\"\"\"") {
                    end += if bytes[end..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                // Closed: past it. Never closed: `""`, and the third quote
                // opens a regular string, read next.
                i = if end < bytes.len() { end + 2 } else { i + 1 };
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_TEXT_NESTING {
                    return true;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// Refuses a string that [`refused_text`] refuses wherever the document
/// writes one — a field's or directive's argument, a variable's default —
/// walking the document as written (every selection set once; variables
/// are checked where they are given).
fn inspect(doc: &ExecutableDocument) -> ServerResult<()> {
    use async_graphql::parser::types::Directive;
    /// Arguments as written, a variable read as null (variables are
    /// checked where they are given).
    macro_rules! literals {
        ($arguments:expr) => {
            $arguments.iter().map(|(name, value)| {
                let value = value
                    .node
                    .clone()
                    .into_const_with(|_| Ok::<_, ()>(ConstValue::Null))
                    .unwrap_or_default();
                (&name.node, value)
            })
        };
    }
    fn arguments<'a>(
        list: impl IntoIterator<Item = (&'a Name, ConstValue)>,
        of: &str,
    ) -> ServerResult<()> {
        list.into_iter()
            .try_for_each(|(name, value)| check_const(&value, &format!("argument {name} of {of}")))
    }
    fn directives(list: &[async_graphql::Positioned<Directive>]) -> ServerResult<()> {
        list.iter().try_for_each(|d| {
            arguments(
                literals!(d.node.arguments),
                &format!("@{}", d.node.name.node),
            )
        })
    }
    fn walk(set: &SelectionSet) -> ServerResult<()> {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    arguments(literals!(f.node.arguments), f.node.name.node.as_str())?;
                    directives(&f.node.directives)?;
                    walk(&f.node.selection_set.node)?;
                }
                Selection::InlineFragment(f) => {
                    directives(&f.node.directives)?;
                    walk(&f.node.selection_set.node)?;
                }
                Selection::FragmentSpread(s) => directives(&s.node.directives)?,
            }
        }
        Ok(())
    }
    for (_, op) in doc.operations.iter() {
        for v in &op.node.variable_definitions {
            if let Some(default) = &v.node.default_value {
                check_const(
                    &default.node,
                    &format!("the default of ${}", v.node.name.node),
                )?;
            }
        }
        directives(&op.node.directives)?;
        walk(&op.node.selection_set.node)?;
    }
    for f in doc.fragments.values() {
        directives(&f.node.directives)?;
        walk(&f.node.selection_set.node)?;
    }
    Ok(())
}

/// The variables a document's cost is measured with: those the request
/// gives, and for the others the default its operations declare — where
/// they agree (a name several operations default differently is left out,
/// and measured at its worst).
fn with_defaults<'a>(
    doc: &ExecutableDocument,
    given: &'a Variables,
) -> std::borrow::Cow<'a, Variables> {
    let mut defaults: std::collections::HashMap<&Name, Option<&ConstValue>> = Default::default();
    for (_, op) in doc.operations.iter() {
        for v in &op.node.variable_definitions {
            let default = v.node.default_value.as_ref().map(|d| &d.node);
            defaults
                .entry(&v.node.name.node)
                .and_modify(|known| {
                    if *known != default {
                        *known = None;
                    }
                })
                .or_insert(default);
        }
    }
    let missing: Vec<(&Name, &ConstValue)> = defaults
        .into_iter()
        .filter_map(|(name, default)| Some((name, default?)))
        .filter(|(name, _)| !given.contains_key(*name))
        .collect();
    if missing.is_empty() {
        // The common case: nothing to add, nothing copied.
        return std::borrow::Cow::Borrowed(given);
    }
    let mut all = given.clone();
    for (name, default) in missing {
        all.insert(name.clone(), default.clone());
    }
    std::borrow::Cow::Owned(all)
}

impl LimitsExtension {
    /// Measures the document and refuses it above a limit (see the module's
    /// documentation); keeps its cost for the budgets taken after validation.
    fn admit(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
        cache: Option<&FigureCache>,
    ) -> ServerResult<()> {
        let limits = &self.limits;
        inspect(doc)?;
        let variables = with_defaults(doc, variables);
        let measure = cost::measure(doc, &variables, cache).map_err(|cost::TooDeep| {
            too_complex(format!(
                "the query is nested too deep: more than {} levels of selections and fragments",
                cost::MAX_NESTING
            ))
        })?;
        for (measured, most, said) in [
            (
                measure.selections,
                limits.selections,
                "the query selects too much: {} fields and fragments once its fragments are spread where they are used; at most {} are allowed",
            ),
            (
                measure.depth,
                limits.depth,
                "the query is nested too deep: {} levels; at most {} are allowed",
            ),
            (
                measure.directives,
                limits.directives,
                "the query uses {} directives; at most {} are allowed",
            ),
            (
                measure.aliases,
                limits.aliases,
                "the query uses {} aliases; at most {} are allowed",
            ),
        ] {
            if measured > most {
                let message = said.replacen("{}", &measured.to_string(), 1).replacen(
                    "{}",
                    &most.to_string(),
                    1,
                );
                return Err(too_complex(message));
            }
        }
        if measure.cost > limits.complexity {
            return Err(too_complex(format!(
                "the query is too complex: {}; at most {} is allowed (figures not in memory weigh {}, panel trends {})",
                measure.cost,
                limits.complexity,
                cost::FIGURE,
                cost::PANEL
            )));
        }
        self.cost.store(measure.cost, Ordering::Relaxed);
        Ok(())
    }
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
        let mut request = request;
        // Parsed here, once (async-graphql takes the document from the
        // request); a document that does not parse is left to its parse,
        // which says why.
        if nests_too_deep(&request.query) {
            return Err(too_complex(format!(
                "the query nests brackets deeper than {MAX_TEXT_NESTING} levels"
            )));
        }
        if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
            self.admit(&doc, &request.variables, ctx.data_opt::<FigureCache>())?;
            // A query reads through the pool kept for reads (see [`ReadPool`]).
            if let Some(ReadPool(reads)) = ctx.data_opt::<ReadPool>()
                && operation_type(&doc, request.operation_name.as_deref())
                    == Some(OperationType::Query)
            {
                request.data.insert(reads.clone());
            }
            request.set_parsed_query(doc);
        }
        // What its rows ask for alike is computed once (see [`crate::once`]).
        request.data.insert(crate::once::PerRequest::default());
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
        let operation = self.operation.lock().ok().and_then(|o| o.clone());
        if let Ok(mut label) = self.label.lock() {
            *label = label_of(&doc, operation.as_deref());
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
        // As measured when the request was prepared.
        let complexity = self.cost.load(Ordering::Relaxed);
        if let Some(budget) = ctx.data_opt::<BatchBudget>()
            && !budget.take(complexity)
        {
            return Err(vec![too_complex(format!(
                "the batch is too complex: its operations together may weigh at most {}",
                self.limits.complexity
            ))]);
        }
        if let Some(budget) = ctx.data_opt::<ClientBudget>()
            && let Err(wait) = budget.take(complexity)
        {
            return Err(vec![spent(complexity, wait)]);
        }
        if let (Some(slot), Ok(label)) = (ctx.data_opt::<OperationLabel>(), self.label.lock())
            && let Some(label) = label.clone()
        {
            slot.set(label);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// How deep the values of a parsed document nest (lists and objects).
    fn value_depth(doc: &ExecutableDocument) -> usize {
        fn depth(v: &ConstValue) -> usize {
            match v {
                ConstValue::List(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
                ConstValue::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
                _ => 0,
            }
        }
        fn set(s: &SelectionSet) -> usize {
            s.items
                .iter()
                .map(|item| match &item.node {
                    Selection::Field(f) => {
                        let args = f
                            .node
                            .arguments
                            .iter()
                            .chain(
                                f.node
                                    .directives
                                    .iter()
                                    .flat_map(|d| d.node.arguments.iter()),
                            )
                            .map(|(_, v)| {
                                depth(
                                    &v.node
                                        .clone()
                                        .into_const_with(|_| Ok::<_, ()>(ConstValue::Null))
                                        .unwrap_or_default(),
                                )
                            })
                            .max()
                            .unwrap_or(0);
                        args.max(set(&f.node.selection_set.node))
                    }
                    Selection::InlineFragment(f) => set(&f.node.selection_set.node),
                    Selection::FragmentSpread(_) => 0,
                })
                .max()
                .unwrap_or(0)
        }
        doc.operations
            .iter()
            .map(|(_, op)| set(&op.node.selection_set.node))
            .max()
            .unwrap_or(0)
    }

    /// Parses on a thread with room for any depth, and measures.
    fn parsed_depth(text: &str) -> Option<usize> {
        let text = text.to_owned();
        std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn(move || {
                async_graphql::parser::parse_query(&text)
                    .ok()
                    .map(|d| value_depth(&d))
            })
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn an_unclosed_block_string_hides_no_brackets() {
        // The grammar reads `"""x"` as `""` and a string `"x"`: the list after it is real.
        let deep = format!(
            "{{ __typename @include(if: [\"\"\"x\" {}1{}]) }}",
            "[".repeat(1000),
            "]".repeat(1000)
        );
        assert!(nests_too_deep(&deep));
        assert!(parsed_depth(&deep).unwrap() > MAX_TEXT_NESTING);
        // Brackets inside strings, block strings and comments are not nesting.
        let shallow = format!(
            "{{ f(a: \"{0}\", b: \"\"\"{0} \\\"\"\" {0}\"\"\") # {0}\n }}",
            "[".repeat(60)
        );
        assert!(!nests_too_deep(&shallow));
        assert_eq!(parsed_depth(&shallow), Some(0));
    }

    /// Values of lists and objects nested 40 to 150 deep, with strings,
    /// block strings, escapes and comments holding brackets between them.
    /// A document has either closed block strings or unclosed ones (`"""x"`,
    /// which the grammar reads as two strings), not both: a later `"""`
    /// would close an earlier one and leave nothing that parses.
    fn value() -> impl Strategy<Value = String> {
        let kinds = |block: &'static str| {
            prop_oneof![
                6 => Just(String::new()),
                1 => Just("\"[[\" ".to_owned()),
                2 => Just(block.to_owned()),
                1 => Just("\"a\\\"[\" ".to_owned()),
                1 => Just("# [[[\n".to_owned()),
                1 => Just("# ]]]\r\n".to_owned()),
            ]
        };
        let closed = kinds("\"\"\"[[ \\\"\"\" ]]\"\"\" ");
        let unclosed = kinds("\"\"\"x\" ");
        let levels = |noise: BoxedStrategy<String>| {
            proptest::collection::vec((noise, any::<bool>()), 40..150)
        };
        prop_oneof![levels(closed.boxed()), levels(unclosed.boxed())].prop_map(|levels| {
            let mut open = String::new();
            let mut close = String::new();
            for (noise, object) in &levels {
                if *object {
                    // An object's field takes one value: only a comment fits beside it.
                    let noise = if noise.starts_with('#') {
                        noise.as_str()
                    } else {
                        ""
                    };
                    open.push_str(&format!("{{ a: {noise}"));
                    close.insert_str(0, " }");
                } else {
                    open.push_str(&format!("[{noise}"));
                    close.insert(0, ']');
                }
            }
            format!("{open}1{close}")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn no_deep_value_gets_past_the_text_check(v in value()) {
            let doc = format!("{{ f(a: {v}) }}");
            if let Some(depth) = parsed_depth(&doc) {
                prop_assert!(
                    depth <= MAX_TEXT_NESTING || nests_too_deep(&doc),
                    "depth {depth} passed: {doc}"
                );
            }
        }
    }
}

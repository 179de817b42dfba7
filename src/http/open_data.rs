//! Open data: a round's figures as files (CSV, XLSX, JSON), shaped like
//! Kolada's — one row per segment and area (or option), a header of
//! snake_case columns. The same rules as the GraphQL figures: a PUBLISHED
//! round's files for anyone, a CLOSED round's for SKR with a token, an OPEN
//! or DRAFT round's for no one; the rows come from the same release plan
//! (a suppressed cell is a row with empty numbers), so a file shows exactly
//! what `maturityAggregates` and `answerDistribution` show. Participation
//! counts are SKR's, as in GraphQL. Never a single kommun's answers.
//!
//! `GET /open-data/rounds/{year}/{file}.{csv|xlsx|json}` with `file` one of
//! `maturity` (`?grouping=NATIONAL|GROUP|SUBGROUP`), `answers`
//! (`?question=KEY&grouping=…`) and `participation`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use entity::{RoundStatus, SegmentKind, survey_round};
use schema::cost::Figure;
use schema::domain::QuestionKey;
use schema::services::aggregates::{self, Grouping, SegmentRef};
use schema::services::{participation, rounds};
use schema::{ApiError, Principal, policy};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::AppState;

/// A file's format, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Xlsx,
    Json,
}

impl Format {
    fn parse(extension: &str) -> Option<Self> {
        match extension {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Json => "application/json",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Json => "json",
        }
    }
}

/// One value of a table: written as text, a number or a boolean in each
/// format; `Empty` is an empty CSV field, an empty cell, JSON `null`.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Empty,
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Int(n) => n.to_string(),
            Self::Float(x) => x.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Empty => String::new(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Self::Text(t) => json!(t),
            Self::Int(n) => json!(n),
            Self::Float(x) => json!(x),
            Self::Bool(b) => json!(b),
            Self::Empty => serde_json::Value::Null,
        }
    }
}

/// A file's content before it is written in a format.
struct Table {
    columns: &'static [&'static str],
    rows: Vec<Vec<Cell>>,
}

impl Table {
    fn write(&self, format: Format) -> Result<Vec<u8>, ApiError> {
        match format {
            Format::Csv => {
                let mut out = csv::Writer::from_writer(Vec::new());
                let failed = |_| ApiError::Internal;
                out.write_record(self.columns).map_err(failed)?;
                for row in &self.rows {
                    out.write_record(row.iter().map(Cell::text))
                        .map_err(failed)?;
                }
                out.into_inner().map_err(|_| ApiError::Internal)
            }
            Format::Json => {
                let rows: Vec<serde_json::Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        let object: serde_json::Map<String, serde_json::Value> = self
                            .columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| ((*c).to_owned(), v.json()))
                            .collect();
                        serde_json::Value::Object(object)
                    })
                    .collect();
                serde_json::to_vec(&json!({ "columns": self.columns, "rows": rows }))
                    .map_err(|_| ApiError::Internal)
            }
            Format::Xlsx => self.xlsx().map_err(|e| {
                tracing::error!(error = %e, "an XLSX file could not be written");
                ApiError::Internal
            }),
        }
    }

    fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, name) in (0u16..).zip(self.columns) {
            sheet.write_string_with_format(0, c, *name, &bold)?;
        }
        for (r, row) in (1u32..).zip(&self.rows) {
            for (c, cell) in (0u16..).zip(row) {
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Int(n) => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    Cell::Float(x) => {
                        sheet.write_number(r, c, *x)?;
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(r, c, *b)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        book.save_to_buffer()
    }
}

#[derive(Deserialize)]
pub struct Params {
    grouping: Option<String>,
    question: Option<String>,
}

/// The columns of `maturity.*`.
pub const MATURITY: &[&str] = &[
    "round_year",
    "segment_kind",
    "segment_code",
    "segment_name",
    "area_number",
    "area_title",
    "respondents",
    "level2_count",
    "mean_level",
    "suppressed",
];

/// The columns of `answers.*`.
pub const ANSWERS: &[&str] = &[
    "round_year",
    "segment_kind",
    "segment_code",
    "segment_name",
    "question_key",
    "option_key",
    "option_label",
    "respondents",
    "count",
    "percent",
    "suppressed",
];

/// The columns of `participation.*`.
pub const PARTICIPATION: &[&str] = &[
    "round_year",
    "population",
    "submitted",
    "in_progress",
    "not_started",
    "response_rate",
];

/// `GET /open-data/rounds/{year}/{file}`.
pub async fn file(
    state: web::Data<std::sync::Arc<AppState>>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    params: web::Query<Params>,
) -> HttpResponse {
    let (year, file) = path.into_inner();
    let principal = match super::graphql::principal_of(&state, &req).await {
        Ok(p) => p,
        Err(e) => return super::graphql::unauthorized(&e.to_string()),
    };
    match serve(&state, &req, &principal, &year, &file, &params).await {
        Ok((round, name, format, body)) => reply(&req, &round, &name, format, body),
        Err(e) => refused(&e),
    }
}

/// The file's round, its name, format and bytes.
async fn serve(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    year: &str,
    file: &str,
    params: &Params,
) -> Result<(survey_round::Model, String, Format, Vec<u8>), ApiError> {
    let unknown = || ApiError::not_found(format!("no open-data file {file:?}"));
    let (stem, extension) = file.rsplit_once('.').ok_or_else(unknown)?;
    let format = Format::parse(extension).ok_or_else(unknown)?;
    if !matches!(stem, "maturity" | "answers" | "participation") {
        return Err(unknown());
    }
    let year: i32 = year
        .parse()
        .map_err(|_| ApiError::bad_input(format!("{year:?} is not a year")))?;
    let grouping = grouping(params.grouping.as_deref())?;
    let round = rounds::find(&state.reads, principal, None, Some(year))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no round {year}")))?;
    // What the file costs the client's budget: the GraphQL field it shows.
    let charge = |figure: Figure, grouping: Option<Grouping>| {
        let cost = schema::cost::figure(figure, round.id, grouping, Some(&state.memory));
        super::ratelimit::charge(state, principal, req, cost)
    };
    let (table, name) = match stem {
        "maturity" => {
            policy::figures(principal, &round)?;
            charge(Figure::MaturityAggregates, Some(grouping))?;
            (
                maturity(state, &round, grouping).await?,
                format!("mognad-{year}-maturity-{}", grouping_name(grouping)),
            )
        }
        "answers" => {
            policy::figures(principal, &round)?;
            charge(Figure::AnswerDistribution, Some(grouping))?;
            let key = params
                .question
                .as_deref()
                .ok_or_else(|| ApiError::bad_input("give the question: ?question=KEY"))?;
            let key = QuestionKey::parse(key)?;
            (
                answers(state, &round, &key, grouping).await?,
                format!(
                    "mognad-{year}-answers-{}-{}",
                    key.as_str(),
                    grouping_name(grouping)
                ),
            )
        }
        _ => {
            policy::skr(principal)?;
            charge(Figure::Participation, None)?;
            (
                participation_table(state, &round).await?,
                format!("mognad-{year}-participation"),
            )
        }
    };
    Ok((round, name, format, table.write(format)?))
}

fn grouping(value: Option<&str>) -> Result<Grouping, ApiError> {
    match value.unwrap_or("NATIONAL") {
        "NATIONAL" => Ok(Grouping::National),
        "GROUP" => Ok(Grouping::Group),
        "SUBGROUP" => Ok(Grouping::Subgroup),
        "COUNTY" => Ok(Grouping::County),
        other => Err(ApiError::bad_input(format!(
            "grouping {other:?}: use NATIONAL, GROUP, SUBGROUP or COUNTY"
        ))),
    }
}

fn grouping_name(g: Grouping) -> &'static str {
    match g {
        Grouping::National => "national",
        Grouping::Group => "group",
        Grouping::Subgroup => "subgroup",
        Grouping::County => "county",
    }
}

/// The three segment columns.
fn segment(s: &SegmentRef) -> [Cell; 3] {
    let kind = match s.kind {
        None => "NATIONAL",
        Some(SegmentKind::Group) => "GROUP",
        Some(SegmentKind::Subgroup) => "SUBGROUP",
        Some(SegmentKind::County) => "COUNTY",
    };
    [
        Cell::Text(kind.into()),
        Cell::Text(s.code.clone()),
        Cell::Text(s.name.clone()),
    ]
}

/// A number, or empty where the figure is suppressed.
fn shown<T>(value: Option<T>, cell: impl Fn(T) -> Cell) -> Cell {
    value.map_or(Cell::Empty, cell)
}

async fn maturity(
    state: &AppState,
    round: &survey_round::Model,
    grouping: Grouping,
) -> Result<Table, ApiError> {
    let rows =
        aggregates::maturity(&state.reads, &state.memory, round, grouping, state.min_cell).await?;
    let rows = rows
        .iter()
        .map(|r| {
            let mut row = vec![Cell::Int(round.year.into())];
            row.extend(segment(&r.segment));
            row.extend([
                shown(r.area.number, |n| Cell::Int(n.into())),
                Cell::Text(r.area.title_sv.clone()),
                Cell::Int(r.respondents),
                shown(r.level2_count, Cell::Int),
                shown(r.mean_level, Cell::Float),
                Cell::Bool(r.suppressed.is_some()),
            ]);
            row
        })
        .collect();
    Ok(Table {
        columns: MATURITY,
        rows,
    })
}

async fn answers(
    state: &AppState,
    round: &survey_round::Model,
    key: &QuestionKey,
    grouping: Grouping,
) -> Result<Table, ApiError> {
    let rows = aggregates::distribution(
        &state.reads,
        &state.memory,
        round,
        key,
        grouping,
        state.min_cell,
    )
    .await?;
    let mut out = Vec::new();
    for r in rows.iter() {
        let head = |option: [Cell; 2]| {
            let mut row = vec![Cell::Int(round.year.into())];
            row.extend(segment(&r.segment));
            row.push(Cell::Text(r.question.key.clone()));
            row.extend(option);
            row.push(Cell::Int(r.respondents));
            row
        };
        if r.suppressed.is_some() {
            // One row for the segment, with empty numbers.
            let mut row = head([Cell::Empty, Cell::Empty]);
            row.extend([Cell::Empty, Cell::Empty, Cell::Bool(true)]);
            out.push(row);
            continue;
        }
        for (option, count) in &r.counts {
            // No option: the municipalities without an answer to the question.
            let mut row = head(match option {
                Some(o) => [Cell::Text(o.key.clone()), Cell::Text(o.label_sv.clone())],
                None => [Cell::Empty, Cell::Text("(inget svar)".into())],
            });
            let percent = if r.segment.population > 0 {
                Cell::Float(*count as f64 / r.segment.population as f64 * 100.0)
            } else {
                Cell::Empty
            };
            row.extend([Cell::Int(*count), percent, Cell::Bool(false)]);
            out.push(row);
        }
    }
    Ok(Table {
        columns: ANSWERS,
        rows: out,
    })
}

async fn participation_table(
    state: &AppState,
    round: &survey_round::Model,
) -> Result<Table, ApiError> {
    let counts = participation::shown(&state.reads, &state.memory, round, state.min_cell).await?;
    let not_started = counts.population - counts.submitted - counts.in_progress;
    let rate = if counts.population > 0 {
        Cell::Float(counts.respondents as f64 / counts.population as f64)
    } else {
        Cell::Empty
    };
    Ok(Table {
        columns: PARTICIPATION,
        rows: vec![vec![
            Cell::Int(round.year.into()),
            Cell::Int(counts.population),
            Cell::Int(counts.submitted),
            Cell::Int(counts.in_progress),
            Cell::Int(not_started),
            rate,
        ]],
    })
}

/// The file, with its name; a PUBLISHED round's files are public and never
/// change, so they carry an `ETag` (of their bytes) and may be cached by
/// anyone; a CLOSED round's are SKR's and are not stored by caches.
fn reply(
    req: &HttpRequest,
    round: &survey_round::Model,
    name: &str,
    format: Format,
    body: Vec<u8>,
) -> HttpResponse {
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(format!(
            "{name}.{}",
            format.extension()
        ))],
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.media_type())
        .insert_header(disposition);
    if round.status != RoundStatus::Published {
        response.insert_header((header::CACHE_CONTROL, "private, no-store"));
        return response.body(body);
    }
    let digest = Sha256::digest(&body);
    let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{tag}\"");
    response
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    let matched = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matched {
        return response.status(StatusCode::NOT_MODIFIED).finish();
    }
    response.body(body)
}

/// An error as a JSON body with the contract's code, and the HTTP status a
/// file download would give it.
pub(super) fn refused(err: &ApiError) -> HttpResponse {
    let code = err.code();
    let status = match code {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "BAD_USER_INPUT" => StatusCode::BAD_REQUEST,
        "FAILED_PRECONDITION" => StatusCode::CONFLICT,
        "TIMEOUT" | "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut reply = HttpResponse::build(status);
    if let Some(seconds) = err.retry_after() {
        reply.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    reply.json(json!({ "errors": [{ "message": err.message(), "extensions": { "code": code } }] }))
}

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
//! `maturity` (`?grouping=NATIONAL|GROUP|SUBGROUP|COUNTY`), `answers`
//! (`?question=KEY&grouping=…`) and `participation`; CSV also as Swedish
//! Excel reads it (`?dialect=excel-sv`, see [`crate::tabular::Dialect`]).
//!
//! A hidden row says why (`reason`) and keeps its `population`, the
//! denominator of `mean_level` and `percent`. Rows carry Kolada's ids where
//! Kolada has the segment (`kolada_id`: `0000` for the nation, `00` and the
//! län code for a län) and a stable `indicator_id` per figure, so the files
//! join with Kolada's.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use entity::{SegmentKind, survey_round};
use schema::cost::Figure;
use schema::domain::QuestionKey;
use schema::policy::{Caching, Released};
use schema::services::aggregates::{self, Grouping, SegmentRef};
use schema::services::{participation, rounds};
use schema::{ApiError, Principal, policy};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::tabular::{Cell, Dialect, Format, Table};

#[derive(Deserialize)]
pub struct Params {
    grouping: Option<String>,
    question: Option<String>,
    dialect: Option<String>,
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
    "reason",
    "population",
    "kolada_id",
    "indicator_id",
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
    "reason",
    "population",
    "kolada_id",
    "indicator_id",
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
        Err(e) => return super::graphql::unauthorized(&state, &e),
    };
    let caching = policy::audience(&principal).caching();
    match serve(&state, &req, &principal, &year, &file, &params).await {
        Ok((name, format, body)) => reply(&req, caching, &name, format, body),
        Err(e) => refused(&e),
    }
}

/// The file's name, format and bytes.
async fn serve(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    year: &str,
    file: &str,
    params: &Params,
) -> Result<(String, Format, Vec<u8>), ApiError> {
    let unknown = || ApiError::not_found(format!("no open-data file {file:?}"));
    let (stem, extension) = file.rsplit_once('.').ok_or_else(unknown)?;
    let format = Format::parse(extension).ok_or_else(unknown)?;
    if !matches!(stem, "maturity" | "answers" | "participation") {
        return Err(unknown());
    }
    let dialect = match (params.dialect.as_deref(), format) {
        (None, _) => Dialect::Rfc4180,
        (Some(name), Format::Csv) => Dialect::parse(name).ok_or_else(|| {
            ApiError::bad_input(format!(
                "dialect {name:?}: use rfc4180 (the default) or excel-sv"
            ))
        })?,
        (Some(_), _) => {
            return Err(ApiError::bad_input(
                "a dialect is for CSV files only: ask for a .csv file, or leave it out",
            ));
        }
    };
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
            let released = policy::figures(principal, &round)?;
            charge(Figure::MaturityAggregates, Some(grouping))?;
            (
                maturity(state, &released, grouping).await?,
                format!("mognad-{year}-maturity-{}", grouping_name(grouping)),
            )
        }
        "answers" => {
            let released = policy::figures(principal, &round)?;
            charge(Figure::AnswerDistribution, Some(grouping))?;
            let key = params
                .question
                .as_deref()
                .ok_or_else(|| ApiError::bad_input("give the question: ?question=KEY"))?;
            let key = QuestionKey::parse(key)?;
            (
                answers(state, &released, &key, grouping).await?,
                format!(
                    "mognad-{year}-answers-{}-{}",
                    key.as_str(),
                    grouping_name(grouping)
                ),
            )
        }
        _ => {
            let _skr = policy::skr(principal)?;
            charge(Figure::Participation, None)?;
            (
                participation_table(state, &round).await?,
                format!("mognad-{year}-participation"),
            )
        }
    };
    let bytes = table.write_in(format, dialect).map_err(|e| {
        tracing::error!(error = %e, "an open-data file could not be written");
        ApiError::Internal
    })?;
    Ok((name, format, bytes))
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
        Cell::code(&s.code),
        Cell::Text(s.name.clone()),
    ]
}

/// The segment's id in Kolada: `0000` for the nation, `00` and the län code
/// for a län (Kolada's region ids); empty for SKR's groups, which Kolada
/// does not have.
fn kolada_id(s: &SegmentRef) -> Cell {
    match s.kind {
        None => Cell::code("0000"),
        Some(SegmentKind::County) => Cell::code(&format!("00{}", s.code)),
        Some(SegmentKind::Group | SegmentKind::Subgroup) => Cell::Empty,
    }
}

/// Why a row's figures are hidden (`SMALL_CELL`, …), empty where shown.
fn reason(suppressed: Option<schema::disclosure::Reason>) -> Cell {
    suppressed.map_or(Cell::Empty, |r| Cell::Text(r.name().into()))
}

/// Places of a mean level in CSV and XLSX (the report's).
const MEAN_PLACES: u8 = 2;
/// Places of a percent in CSV and XLSX.
const PERCENT_PLACES: u8 = 1;
/// Places of a fraction (a response rate) in CSV and XLSX.
const FRACTION_PLACES: u8 = 3;

/// A number, or empty where the figure is suppressed.
fn shown<T>(value: Option<T>, cell: impl Fn(T) -> Cell) -> Cell {
    value.map_or(Cell::Empty, cell)
}

async fn maturity(
    state: &AppState,
    round: &Released,
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
                shown(r.mean_level, |m| Cell::Decimal(m, MEAN_PLACES)),
                Cell::Bool(r.suppressed.is_some()),
                reason(r.suppressed),
                Cell::Int(r.segment.population),
                kolada_id(&r.segment),
                Cell::Text(format!("maturity.{}", r.area.key)),
            ]);
            row
        })
        .collect();
    Ok(Table {
        columns: MATURITY,
        rows,
        sheet: format!("maturity {}", round.year),
    })
}

async fn answers(
    state: &AppState,
    round: &Released,
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
        let tail = |option: &str| {
            [
                reason(r.suppressed),
                Cell::Int(r.segment.population),
                kolada_id(&r.segment),
                Cell::Text(format!("answers.{}.{option}", r.question.key)),
            ]
        };
        if r.suppressed.is_some() {
            // One row for the segment, with empty numbers.
            let mut row = head([Cell::Empty, Cell::Empty]);
            row.extend([Cell::Empty, Cell::Empty, Cell::Bool(true)]);
            row.extend(tail("*"));
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
                let share = *count as f64 / r.segment.population as f64 * 100.0;
                Cell::Decimal(share, PERCENT_PLACES)
            } else {
                Cell::Empty
            };
            row.extend([Cell::Int(*count), percent, Cell::Bool(false)]);
            row.extend(tail(
                option.as_ref().map_or("no_answer", |o| o.key.as_str()),
            ));
            out.push(row);
        }
    }
    Ok(Table {
        columns: ANSWERS,
        rows: out,
        sheet: format!("{} {}", key.as_str(), round.year),
    })
}

async fn participation_table(
    state: &AppState,
    round: &survey_round::Model,
) -> Result<Table, ApiError> {
    let counts = participation::shown(&state.reads, &state.memory, round, state.min_cell).await?;
    let not_started = counts.population - counts.submitted - counts.in_progress;
    let rate = if counts.population > 0 {
        Cell::Decimal(
            counts.respondents as f64 / counts.population as f64,
            FRACTION_PLACES,
        )
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
        sheet: format!("participation {}", round.year),
    })
}

/// The file, with its name and the caching its audience allows
/// ([`policy::Audience::caching`]): a file fetched without a token is one
/// of a PUBLISHED round's, public and unchanging, so it carries an `ETag`
/// (of its bytes) and may be kept by shared caches for an hour; a file read
/// with a token is the caller's and is not stored.
fn reply(
    req: &HttpRequest,
    caching: Caching,
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
    if caching == Caching::Private {
        super::caching::headers(&mut response, caching, None);
        return response.body(body);
    }
    if super::caching::shared_frozen(req, &mut response, &body) {
        return response.finish();
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
    super::caching::refusal(&mut reply);
    if let Some(seconds) = err.retry_after() {
        reply.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    reply.json(json!({ "errors": [{ "message": err.message(), "extensions": { "code": code } }] }))
}

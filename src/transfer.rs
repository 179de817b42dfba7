//! An operator's tools with database access (never API routes): a round's
//! answers written out in the long format an import reads —
//! `municipality_code,question_key,value,status,submitted_at`, one row per
//! answer, in municipality and questionnaire order. `value` is a choice's
//! option key, a multi-choice answer's option keys joined by `|`, a number,
//! or the text. A response without any answer (all cleared) is one row
//! with an empty `question_key` and `value`, so its status is kept.

use std::collections::HashMap;
use std::io::Write;

use entity::{answer, answer_choice, answer_option, question, response, survey_round};
use sea_orm::{ActiveEnum, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::tabular::{Cell, CsvRows};

/// The header of the long format.
pub const HEADER: [&str; 5] = [
    "municipality_code",
    "question_key",
    "value",
    "status",
    "submitted_at",
];

/// The round of `year`, or why there is none.
async fn round_of(db: &DatabaseConnection, year: i32) -> Result<survey_round::Model, String> {
    survey_round::Entity::find()
        .filter(survey_round::Column::Year.eq(year))
        .one(db)
        .await
        .map_err(|e| format!("reading the round failed: {e}"))?
        .ok_or_else(|| format!("there is no round {year}"))
}

/// Writes round `year`'s answers to `out`; returns how many rows.
pub async fn export_answers(
    db: &DatabaseConnection,
    year: i32,
    out: impl Write,
) -> Result<usize, String> {
    let fail = |e: sea_orm::DbErr| format!("reading the round failed: {e}");
    let round = round_of(db, year).await?;
    // Questions in questionnaire order (areas, then their questions).
    let q = schema::services::questionnaire::Questionnaire::load(db, round.id)
        .await
        .map_err(|e| format!("reading the questionnaire failed: {}", e.message()))?;
    let questions = &q.questions;
    let order: HashMap<Uuid, usize> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id, i))
        .collect();
    let options: HashMap<Uuid, &answer_option::Model> =
        q.options.values().flatten().map(|o| (o.id, o)).collect();
    let responses = response::Entity::find()
        .filter(response::Column::RoundId.eq(round.id))
        .order_by_asc(response::Column::MunicipalityCode)
        .all(db)
        .await
        .map_err(fail)?;
    let mut answers: HashMap<String, Vec<answer::Model>> = HashMap::new();
    for a in answer::Entity::find()
        .filter(answer::Column::RoundId.eq(round.id))
        .all(db)
        .await
        .map_err(fail)?
    {
        answers
            .entry(a.municipality_code.clone())
            .or_default()
            .push(a);
    }
    let mut chosen: HashMap<(String, Uuid), Vec<Uuid>> = HashMap::new();
    for c in answer_choice::Entity::find()
        .filter(answer_choice::Column::RoundId.eq(round.id))
        .all(db)
        .await
        .map_err(fail)?
    {
        chosen
            .entry((c.municipality_code, c.question_id))
            .or_default()
            .push(c.option_id);
    }
    // The one tabular encoder: a text answer a spreadsheet would run as a
    // formula is written as text (see `crate::tabular`).
    let mut writer = CsvRows::new(out, &HEADER).map_err(|e| format!("writing failed: {e}"))?;
    let io = |e: csv::Error| format!("writing failed: {e}");
    let mut rows = 0;
    for r in responses {
        let status = r.status.to_value();
        let submitted = r
            .submitted_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let mut mine = answers.remove(&r.municipality_code).unwrap_or_default();
        mine.sort_by_key(|a| order.get(&a.question_id).copied().unwrap_or(usize::MAX));
        if mine.is_empty() {
            writer
                .row(&[
                    Cell::Text(r.municipality_code.clone()),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Text(status.clone()),
                    Cell::Text(submitted.clone()),
                ])
                .map_err(io)?;
            rows += 1;
            continue;
        }
        for a in mine {
            let Some(q) = order.get(&a.question_id).map(|i| &questions[*i]) else {
                continue;
            };
            let key_of = |id: &Uuid| options.get(id).map(|o| o.key.clone()).unwrap_or_default();
            let value = if let Some(option) = a.option_id {
                Cell::Text(key_of(&option))
            } else if let Some(n) = a.number_value {
                Cell::Float(n)
            } else if let Some(t) = &a.text_value {
                Cell::Text(t.clone())
            } else {
                let mut keys: Vec<(i32, String)> = chosen
                    .get(&(a.municipality_code.clone(), a.question_id))
                    .map(|ids| {
                        ids.iter()
                            .filter_map(|id| options.get(id).map(|o| (o.position, o.key.clone())))
                            .collect()
                    })
                    .unwrap_or_default();
                keys.sort();
                Cell::Text(
                    keys.into_iter()
                        .map(|(_, k)| k)
                        .collect::<Vec<_>>()
                        .join("|"),
                )
            };
            writer
                .row(&[
                    Cell::Text(a.municipality_code.clone()),
                    Cell::Text(q.key.clone()),
                    value,
                    Cell::Text(status.clone()),
                    Cell::Text(submitted.clone()),
                ])
                .map_err(io)?;
            rows += 1;
        }
    }
    writer
        .finish()
        .map_err(|e| format!("writing failed: {e}"))?;
    Ok(rows)
}

/// Refuses a round an import cannot load: a PUBLISHED one, or one that has
/// responses already.
async fn refuse_unless_empty(
    db: &impl sea_orm::ConnectionTrait,
    round: &survey_round::Model,
) -> Result<(), String> {
    let year = round.year;
    if round.status == entity::RoundStatus::Published {
        return Err(format!(
            "round {year} is PUBLISHED: its figures are out, its answers cannot be replaced"
        ));
    }
    let existing = response::Entity::find()
        .filter(response::Column::RoundId.eq(round.id))
        .one(db)
        .await
        .map_err(|e| format!("reading the round failed: {e}"))?;
    if existing.is_some() {
        return Err(format!(
            "round {year} has responses already: an import loads a whole round into an empty one"
        ));
    }
    Ok(())
}

/// One row of an import file, with its line number (the header is line 1).
#[derive(Clone, Debug)]
struct Row {
    line: usize,
    code: String,
    key: String,
    value: String,
    status: String,
    submitted_at: String,
}

/// The most an import file may hold, read: a CSV's bytes, or an XLSX's
/// contents unpacked (a round's answers take a few megabytes).
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;
/// The most rows an import file may have (a round of 290 municipalities
/// and a hundred questions has 29,000).
pub const MAX_IMPORT_ROWS: usize = 200_000;
/// The most entries an XLSX archive may have (a workbook has a dozen).
const MAX_XLSX_ENTRIES: usize = 1_000;

/// Checks an XLSX file before it is read: a zip archive of at most
/// [`MAX_XLSX_ENTRIES`] entries whose contents unpack to at most
/// [`MAX_IMPORT_BYTES`] — counted as they inflate, not as the archive
/// declares them, so a zip bomb is refused after that many bytes of work
/// and none kept.
fn check_xlsx(path: &std::path::Path) -> Result<(), String> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|_| format!("{shown} is not an XLSX file (not a zip archive)"))?;
    let too_large = || {
        format!(
            "{shown} unpacks to more than {} MiB; an import file holds one round's answers",
            MAX_IMPORT_BYTES / 1024 / 1024
        )
    };
    if archive.len() > MAX_XLSX_ENTRIES {
        return Err(format!(
            "{shown} has {} parts; an XLSX file has a few",
            archive.len()
        ));
    }
    let mut unpacked = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|_| format!("{shown}: a part of the archive cannot be read"))?;
        if unpacked.saturating_add(entry.size()) > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
        let room = MAX_IMPORT_BYTES - unpacked;
        let read = std::io::copy(&mut entry.by_ref().take(room + 1), &mut std::io::sink())
            .map_err(|_| format!("{shown}: a part of the archive cannot be unpacked"))?;
        unpacked += read;
        if unpacked > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
    }
    Ok(())
}

/// The most cells a row of an import file may have (five are read).
const MAX_CELLS: usize = HEADER.len() + 10;
/// The longest cell, in bytes (a text answer has at most 10,000 characters).
const MAX_CELL_BYTES: usize = 64 * 1024;

/// The rows of a CSV file (RFC 4180, UTF-8, a BOM allowed; text that
/// `export-answers` neutralised read back as it was), at most
/// [`MAX_IMPORT_BYTES`], [`MAX_IMPORT_ROWS`] rows of [`MAX_CELLS`] cells of
/// [`MAX_CELL_BYTES`]: read field by field, so a row of millions of empty
/// cells is refused at its sixteenth, not held in memory.
fn read_csv(path: &std::path::Path) -> Result<Vec<Vec<String>>, String> {
    use csv_core::ReadFieldResult;
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?
        .len();
    if size > MAX_IMPORT_BYTES {
        return Err(format!(
            "{shown} is larger than {} MiB; an import file holds one round's answers",
            MAX_IMPORT_BYTES / 1024 / 1024
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut reader = csv_core::Reader::new();
    let (mut table, mut record, mut field) = (Vec::new(), Vec::new(), Vec::new());
    let mut buffer = vec![0u8; 8 * 1024];
    let mut input = bytes.as_slice();
    loop {
        let (result, read, written) = reader.read_field(input, &mut buffer);
        input = &input[read..];
        let line = table.len() + 1;
        if field.len() + written > MAX_CELL_BYTES {
            return Err(format!(
                "{shown}:{line}: a cell is longer than {MAX_CELL_BYTES} bytes"
            ));
        }
        field.extend_from_slice(&buffer[..written]);
        match result {
            ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
            ReadFieldResult::Field { record_end } => {
                let text = String::from_utf8(std::mem::take(&mut field))
                    .map_err(|_| format!("{shown}:{line}: not UTF-8"))?;
                // Text the exporter wrote as text (`'=…`) is read as it was.
                let text = match crate::tabular::unneutralised(&text) {
                    kept if kept.len() == text.len() => text,
                    read => read.to_owned(),
                };
                record.push(text);
                if record.len() > MAX_CELLS {
                    return Err(format!("{shown}:{line}: more than {MAX_CELLS} cells"));
                }
                if record_end {
                    if table.len() >= MAX_IMPORT_ROWS {
                        return Err(format!("{shown} has more than {MAX_IMPORT_ROWS} rows"));
                    }
                    table.push(std::mem::take(&mut record));
                }
            }
            ReadFieldResult::End => return Ok(table),
        }
    }
}

/// The rows of an XLSX file's first sheet, checked first ([`check_xlsx`])
/// and read cell by cell: from its first used row and column, at most
/// [`MAX_IMPORT_ROWS`] rows of [`MAX_CELLS`] cells.
fn read_xlsx(path: &std::path::Path) -> Result<Vec<Vec<String>>, String> {
    use calamine::Reader;
    let shown = path.display();
    check_xlsx(path)?;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| format!("{shown} has no sheet"))?;
    let mut cells = book
        .worksheet_cells_reader(&first)
        .map_err(|e| format!("{shown}: {e}"))?;
    // The used cells by row, in whatever order the sheet has them; the table
    // starts at the first used row and column, as a sheet's range does.
    let mut used: std::collections::BTreeMap<u32, Vec<(u32, calamine::Data)>> = Default::default();
    let mut count = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|e| format!("{shown}: {e}"))? {
        let (row, column) = cell.get_position();
        let value = calamine::Data::from(cell.get_value().clone());
        if value == calamine::Data::Empty {
            continue;
        }
        count += 1;
        if count > MAX_IMPORT_ROWS * MAX_CELLS {
            return Err(format!(
                "{shown} has more cells than {MAX_IMPORT_ROWS} rows hold"
            ));
        }
        used.entry(row).or_default().push((column, value));
    }
    let (Some(top), Some(left)) = (
        used.keys().next().copied(),
        used.values().flatten().map(|(c, _)| *c).min(),
    ) else {
        return Ok(Vec::new());
    };
    let mut table = Vec::new();
    for (row, cells) in used {
        let at = (row - top) as usize;
        if at >= MAX_IMPORT_ROWS {
            return Err(format!("{shown} has more than {MAX_IMPORT_ROWS} rows"));
        }
        table.resize_with(at + 1, Vec::new);
        let line = &mut table[at];
        for (column, value) in cells {
            let column = (column - left) as usize;
            if column >= MAX_CELLS {
                return Err(format!("{shown}:{}: more than {MAX_CELLS} cells", at + 1));
            }
            if line.len() <= column {
                line.resize(column + 1, String::new());
            }
            line[column] = match value {
                // A code typed as a number loses its leading zero.
                calamine::Data::Int(n) if column == 0 => format!("{n:04}"),
                calamine::Data::Float(n) if column == 0 && n.fract() == 0.0 => {
                    format!("{:04}", n as i64)
                }
                other => other.to_string(),
            };
        }
    }
    Ok(table)
}

/// Reads the rows of a CSV or XLSX file (by its extension).
fn read_rows(path: &std::path::Path) -> Result<Vec<Row>, String> {
    let shown = path.display();
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let table: Vec<Vec<String>> = match extension.as_str() {
        "csv" => read_csv(path)?,
        "xlsx" => read_xlsx(path)?,
        _ => return Err(format!("{shown}: use a .csv or .xlsx file")),
    };
    let mut lines = table.into_iter();
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| format!("{shown} is empty"))?
        .into_iter()
        // Excel's "CSV UTF-8" starts the file with a byte-order mark.
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    if header.len() == 1 && header[0].split(';').map(str::trim).eq(HEADER) {
        return Err(format!(
            "{shown} is separated by semicolons (as Excel saves CSV with Swedish settings); \
             the import reads commas: save it as \"CSV UTF-8 (kommaavgränsad)\", or import the \
             .xlsx file itself"
        ));
    }
    if header != HEADER {
        return Err(format!(
            "{shown}: the header must be {} (it is {})",
            HEADER.join(","),
            header.join(",")
        ));
    }
    Ok(lines
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(i, cells)| {
            let cell = |n: usize| {
                cells
                    .get(n)
                    .map(|c| c.trim().to_owned())
                    .unwrap_or_default()
            };
            Row {
                line: i + 2,
                code: cell(0),
                key: cell(1),
                value: cell(2),
                status: cell(3),
                submitted_at: cell(4),
            }
        })
        .collect())
}

/// What an import found wrong: every bad row with its line number.
#[derive(Debug)]
pub struct Refused(pub Vec<(usize, String)>);

/// What an import did (or, dry, would do).
#[derive(Debug, PartialEq, Eq)]
pub struct Imported {
    pub rows: usize,
    pub responses: usize,
    pub answers: usize,
    pub scores_frozen: u64,
}

/// One municipality's response as read from the file.
struct Incoming<'q> {
    /// The municipality's first line.
    line: usize,
    submitted: bool,
    submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// (line, question, value, the options it chooses)
    answers: Vec<(
        usize,
        &'q question::Model,
        schema::services::responses::AnswerValue,
        Vec<Uuid>,
    )>,
}

/// Imports a whole round's answers from `path` into round `year`, all or
/// nothing: into a round that has none yet (DRAFT, OPEN, or CLOSED — whose
/// scores are then frozen from them and its release planned anew with
/// `min_cell`). Every bad row is reported with its line number and nothing
/// is written; with `dry_run` nothing is written either way. The audit
/// trail names `actor` (e.g. `import:answers-2023.csv`) as the subject.
pub async fn import_answers(
    db: &DatabaseConnection,
    year: i32,
    path: &std::path::Path,
    dry_run: bool,
    min_cell: i64,
    progress: bool,
) -> Result<Result<Imported, Refused>, String> {
    use schema::services::questionnaire::Questionnaire;
    use schema::services::responses::AnswerValue;

    let rows = read_rows(path)?;
    let fail = |e: sea_orm::DbErr| format!("reading the round failed: {e}");
    let round = round_of(db, year).await?;
    refuse_unless_empty(db, &round).await?;
    let q = Questionnaire::load(db, round.id)
        .await
        .map_err(|e| format!("reading the questionnaire failed: {}", e.message()))?;
    let members: std::collections::HashSet<String> = entity::municipality_segment::Entity::find()
        .filter(entity::municipality_segment::Column::ClassificationId.eq(&round.classification_id))
        .all(db)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|m| m.municipality_code)
        .collect();

    let bar = if progress {
        indicatif::ProgressBar::new(rows.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message("checking");
    let mut errors: Vec<(usize, String)> = Vec::new();
    let mut incoming: std::collections::BTreeMap<String, Incoming> = Default::default();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for row in &rows {
        bar.inc(1);
        let mut bad = |m: String| errors.push((row.line, m));
        // The same text rule as every string the API takes.
        let refused = HEADER
            .iter()
            .zip([
                &row.code,
                &row.key,
                &row.value,
                &row.status,
                &row.submitted_at,
            ])
            .find_map(|(column, text)| {
                schema::limits::refused_text(text).map(|why| format!("{column} {why}"))
            });
        if let Some(why) = refused {
            bad(why);
            continue;
        }
        if !members.contains(&row.code) {
            bad(unknown_municipality(&row.code, &members));
            continue;
        }
        let submitted = match row.status.as_str() {
            "SUBMITTED" => true,
            "IN_PROGRESS" => false,
            other => {
                bad(format!("status {other:?}: use SUBMITTED or IN_PROGRESS"));
                continue;
            }
        };
        let submitted_at = match (submitted, row.submitted_at.as_str()) {
            (true, "") => {
                bad("a SUBMITTED response needs submitted_at (RFC 3339)".into());
                continue;
            }
            (true, text) => match chrono::DateTime::parse_from_rfc3339(text) {
                Ok(t) => Some(t.with_timezone(&chrono::Utc)),
                Err(_) => {
                    bad(not_a_time(text));
                    continue;
                }
            },
            (false, "") => None,
            (false, _) => {
                bad("an IN_PROGRESS response has no submitted_at".into());
                continue;
            }
        };
        let entry = incoming.entry(row.code.clone()).or_insert(Incoming {
            line: row.line,
            submitted,
            submitted_at,
            answers: Vec::new(),
        });
        if entry.submitted != submitted || entry.submitted_at != submitted_at {
            bad(format!(
                "municipality {} has another status or submitted_at on an earlier line",
                row.code
            ));
            continue;
        }
        if row.key.is_empty() {
            if !row.value.is_empty() {
                bad("a value without a question_key".into());
            }
            continue;
        }
        let Some(question) = q.question_by_key(&row.key) else {
            bad(format!("unknown question key {:?}", row.key));
            continue;
        };
        if let Some(first) = seen.insert((row.code.clone(), row.key.clone()), row.line) {
            bad(format!(
                "{} answers {} twice (also on line {first})",
                row.code, row.key
            ));
            continue;
        }
        let value = match question.kind {
            entity::QuestionKind::SingleChoice => AnswerValue::Choice(row.value.clone()),
            entity::QuestionKind::MultiChoice => {
                AnswerValue::Choices(row.value.split('|').map(|k| k.trim().to_owned()).collect())
            }
            entity::QuestionKind::Number => match row.value.parse::<f64>() {
                Ok(n) => AnswerValue::Number(n),
                Err(_) => {
                    bad(format!("{:?} is not a number {} takes", row.value, row.key));
                    continue;
                }
            },
            entity::QuestionKind::Text => AnswerValue::Text(row.value.clone()),
        };
        // The same check as saveAnswers makes.
        match schema::services::responses::check_value(&q, question, &value) {
            Ok(ids) => entry.answers.push((row.line, question, value, ids)),
            Err(e) => bad(e.message().to_owned()),
        }
    }
    for (code, response) in &incoming {
        let values: HashMap<String, AnswerValue> = response
            .answers
            .iter()
            .map(|(_, question, v, _)| (question.key.clone(), v.clone()))
            .collect();
        // A conditional answer needs its condition met by the same response.
        for (line, question, _, _) in &response.answers {
            if schema::services::responses::asked(&q, question, &values) {
                continue;
            }
            if let Some(condition) = q.conditions.get(&question.id) {
                errors.push((
                    *line,
                    format!(
                        "{} is asked only when {} is {}: that answer is missing",
                        question.key,
                        condition.question_key,
                        condition.option_keys.join(" or ")
                    ),
                ));
            }
        }
        // A SUBMITTED response has every required question it is asked
        // answered, as `submitResponse` demands.
        let missing = schema::services::responses::unanswered_required(&q, &values);
        if response.submitted && !missing.is_empty() {
            errors.push((
                response.line,
                format!(
                    "{code} is SUBMITTED without the required answers to {}",
                    missing.join(", ")
                ),
            ));
        }
    }
    bar.finish_and_clear();
    if !errors.is_empty() {
        errors.sort();
        return Ok(Err(Refused(errors)));
    }
    let answers: usize = incoming.values().map(|i| i.answers.len()).sum();
    let mut summary = Imported {
        rows: rows.len(),
        responses: incoming.len(),
        answers,
        scores_frozen: 0,
    };
    if dry_run {
        return Ok(Ok(summary));
    }
    summary.scores_frozen = write_import(db, &round, incoming, path, min_cell, progress).await?;
    Ok(Ok(summary))
}

/// Writes checked responses in one transaction (see [`import_answers`]).
async fn write_import(
    db: &DatabaseConnection,
    round: &survey_round::Model,
    incoming: std::collections::BTreeMap<String, Incoming<'_>>,
    path: &std::path::Path,
    min_cell: i64,
    progress: bool,
) -> Result<u64, String> {
    use entity::{ResponseStatus, answer_event};
    use schema::services::responses::AnswerValue;
    use sea_orm::{ActiveValue::Set, TransactionTrait};

    let actor = format!(
        "import:{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    #[expect(
        clippy::disallowed_methods,
        reason = "the command line imports as SKR's admin, with database access already"
    )]
    let operator = schema::Principal::skr(actor.clone(), schema::Role::SkrAdmin);
    let admin = schema::policy::admin(&operator).map_err(|e| e.message().to_owned())?;
    let now = chrono::Utc::now();
    let (mut responses, mut answers, mut choices, mut events) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (code, r) in incoming {
        let at = r.submitted_at.unwrap_or(now);
        let version = r.answers.len() as i32 + i32::from(r.submitted);
        responses.push(response::ActiveModel {
            municipality_code: Set(code.clone()),
            round_id: Set(round.id),
            status: Set(if r.submitted {
                ResponseStatus::Submitted
            } else {
                ResponseStatus::InProgress
            }),
            version: Set(version),
            created_at: Set(at),
            updated_at: Set(Some(at)),
            submitted_at: Set(r.submitted_at),
        });
        for (i, (_, question, value, ids)) in r.answers.into_iter().enumerate() {
            let question = question.id;
            let (option, number, text) = match &value {
                AnswerValue::Choice(_) => (ids.first().copied(), None, None),
                AnswerValue::Number(n) => (None, Some(*n), None),
                AnswerValue::Text(t) => (None, None, Some(t.clone())),
                AnswerValue::Choices(_) => {
                    for id in ids {
                        choices.push(answer_choice::ActiveModel {
                            municipality_code: Set(code.clone()),
                            round_id: Set(round.id),
                            question_id: Set(question),
                            option_id: Set(id),
                        });
                    }
                    (None, None, None)
                }
            };
            answers.push(answer::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round.id),
                question_id: Set(question),
                option_id: Set(option),
                number_value: Set(number),
                text_value: Set(text),
                updated_at: Set(at),
            });
            events.push(answer_event::ActiveModel {
                municipality_code: Set(code.clone()),
                round_id: Set(round.id),
                question_id: Set(question),
                version: Set(i as i32 + 1),
                subject: Set(actor.clone()),
                at: Set(at),
                before: Set(None),
                after: Set(Some(value.to_json())),
                ..Default::default()
            });
        }
    }
    let total = (responses.len() + answers.len() + choices.len() + events.len()) as u64;
    let bar = if progress {
        indicatif::ProgressBar::new(total)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message("writing");
    let fail = |e: sea_orm::DbErr| format!("the import was not written: {e}");
    let txn = db.begin().await.map_err(fail)?;
    // The round first (the documented lock order), then what was checked
    // before it is checked again: no kommun's write or transition came between.
    let round = schema::services::rounds::take(&txn, round.id)
        .await
        .map_err(|e| format!("the import was not written: {}", e.message()))?
        .ok_or_else(|| format!("round {} is gone", round.year))?;
    refuse_unless_empty(&txn, &round).await?;
    insert_chunks(&txn, responses, &bar).await.map_err(fail)?;
    insert_chunks(&txn, answers, &bar).await.map_err(fail)?;
    insert_chunks(&txn, choices, &bar).await.map_err(fail)?;
    insert_chunks(&txn, events, &bar).await.map_err(fail)?;
    let frozen = schema::services::lifecycle::freeze_imported(&txn, &admin, &round, min_cell)
        .await
        .map_err(|e| format!("freezing the scores failed: {}", e.message()))?;
    txn.commit().await.map_err(fail)?;
    bar.finish_and_clear();
    tracing::info!(round = round.year, actor, "answers imported");
    Ok(frozen)
}

/// Inserts rows 200 at a time (SQLite's bound on parameters).
async fn insert_chunks<A: sea_orm::ActiveModelTrait>(
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<A>,
    bar: &indicatif::ProgressBar,
) -> Result<(), sea_orm::DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(200).collect();
        let n = chunk.len() as u64;
        A::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
        bar.inc(n);
    }
    Ok(())
}
/// Why a municipality code is unknown, and the code meant where a
/// spreadsheet dropped its leading zeros (`180` for `0180`).
fn unknown_municipality(code: &str, members: &std::collections::HashSet<String>) -> String {
    let padded = format!("{code:0>4}");
    if code.len() < 4 && code.bytes().all(|b| b.is_ascii_digit()) && members.contains(&padded) {
        return format!(
            "unknown municipality code {code:?}: did you mean {padded:?}? SCB codes have four \
             digits; a spreadsheet drops the leading zero unless the column is text"
        );
    }
    format!("unknown municipality code {code:?} (SCB codes have four digits, e.g. 0180)")
}

/// Why `submitted_at` is not a time, recognising an Excel date serial (days
/// since 1899-12-30, as a cell formatted as a date is saved as a number).
fn not_a_time(text: &str) -> String {
    let serial = text
        .parse::<f64>()
        .ok()
        .filter(|days| (1.0..2_958_466.0).contains(days));
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|d| d.and_hms_opt(0, 0, 0));
    if let (Some(days), Some(base)) = (serial, base) {
        let time = base + chrono::Duration::seconds((days * 86_400.0).round() as i64);
        let time = time
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return format!(
            "submitted_at {text:?} is an Excel date serial number, not an RFC 3339 time: \
             write {time} (the same moment, if it was UTC), and format the column as text"
        );
    }
    format!("submitted_at {text:?} is not an RFC 3339 time (e.g. 2023-04-01T10:00:00Z)")
}

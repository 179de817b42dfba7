//! Questionnaire authoring: SKR admins add, edit, move and remove a DRAFT
//! round's areas, questions and options; once the round opens its
//! questionnaire is locked (and answers refer to it).
//!
//! Every change runs in one transaction that takes the round first
//! ([`rounds::take`]: its gate, exclusive, then its row), so it is ordered
//! against `openSurveyRound` and against other changes: a change that comes
//! after the open is refused with FAILED_PRECONDITION and writes nothing.
//! The change is made to the questionnaire in memory, the whole result is
//! validated ([`problems`]), and only a valid result is written back (the
//! round's rows replaced; a DRAFT round has no answers, scores or plans
//! that refer to them — a round with imported answers is refused), with a
//! QUESTIONNAIRE_CHANGED event in the change feed.
//!
//! Validation refuses at once whatever would make the questionnaire wrong:
//! a malformed or duplicate key, a kind without its options (or options on
//! a NUMBER or TEXT question), maturity levels outside 1..4 or on a question
//! that is not a maturity question, two maturity questions in one area, a
//! condition on an unknown question or option or on itself, a cycle of
//! conditions, a predecessor the baseline does not have, two options of a
//! question continuing one. What is merely unfinished — a maturity area
//! without its maturity question, a round without questions, two questions
//! continuing one (a renamed question beside its old self, until that is
//! removed) — is allowed while the round is DRAFT, listed by
//! `surveyRound { questionnaireProblems }` and refused by `openSurveyRound`.

use std::collections::{HashMap, HashSet};

use entity::{ChangeKind, QuestionKind, RoundStatus, answer, answer_option, area, question};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::QuestionKey;
use crate::error::{ApiError, ApiResult, retrying};
use crate::policy::AdminScope;
use crate::services::lifecycle::insert_chunks;
use crate::services::questionnaire::{Condition, Questionnaire, condition};
use crate::services::{changes, rounds};

/// One thing wrong with a questionnaire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    /// Only unfinished: allowed in DRAFT, refused when the round opens.
    pub unfinished: bool,
}

impl Problem {
    fn wrong(message: String) -> Self {
        Self {
            message,
            unfinished: false,
        }
    }
}

/// What `upsertArea` asks for.
#[derive(Clone, Debug)]
pub struct AreaEdit {
    pub key: String,
    pub number: Option<i32>,
    pub title_sv: String,
    pub title_en: String,
    /// 1-based place among the areas; `None`: where it is, or last if new.
    pub position: Option<i32>,
}

/// An option as `upsertQuestion` gives it.
#[derive(Clone, Debug)]
pub struct OptionEdit {
    pub key: String,
    pub label_sv: String,
    pub label_en: String,
    pub maturity_level: Option<i32>,
    pub affirmative: bool,
    pub hours_from: Option<f64>,
    pub hours_to: Option<f64>,
    pub predecessor_key: Option<String>,
}

/// What `upsertQuestion` asks for: the whole question with its options.
#[derive(Clone, Debug)]
pub struct QuestionEdit {
    pub key: String,
    pub area_key: String,
    pub text_sv: String,
    pub text_en: String,
    pub kind: QuestionKind,
    pub required: bool,
    pub maturity: bool,
    /// 1-based place among the area's questions; `None`: where it is, or
    /// last if new or moved to another area.
    pub position: Option<i32>,
    pub condition: Option<Condition>,
    pub min_number: Option<f64>,
    pub max_number: Option<f64>,
    pub max_length: Option<i32>,
    pub predecessor_key: Option<String>,
    pub options: Vec<OptionEdit>,
}

fn key_problem(what: &str, key: &str) -> Option<String> {
    QuestionKey::parse(key)
        .err()
        .map(|_| format!("{what} {key:?}: a key has 1 to 64 of a-z, 0-9 and _"))
}

fn text_problem(what: &str, text: &str, max: usize) -> Option<String> {
    let n = text.trim().chars().count();
    (n == 0 || n > max).then(|| format!("{what} must have 1 to {max} characters"))
}

/// Everything wrong with `q`, checked against `baseline` where the round has
/// one. Empty for a questionnaire that can be opened and scored.
pub fn problems(q: &Questionnaire, baseline: Option<&Questionnaire>) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let mut wrong = |m: String| out.push(Problem::wrong(m));

    // Areas.
    let mut area_keys = HashSet::new();
    let mut numbers = HashSet::new();
    for a in &q.areas {
        if let Some(p) = key_problem("area", &a.key) {
            wrong(p);
        }
        if !area_keys.insert(a.key.as_str()) {
            wrong(format!("area {:?} appears twice", a.key));
        }
        for (what, text) in [("title", &a.title_sv), ("titleEn", &a.title_en)] {
            if let Some(p) = text_problem(&format!("area {:?}: {what}", a.key), text, 200) {
                wrong(p);
            }
        }
        if let Some(n) = a.number {
            if !(1..=99).contains(&n) {
                wrong(format!("area {:?}: number {n} is outside 1..99", a.key));
            } else if !numbers.insert(n) {
                wrong(format!("area {:?}: another area has number {n}", a.key));
            }
        }
    }

    // Questions and options.
    let area_of: HashMap<Uuid, &area::Model> = q.areas.iter().map(|a| (a.id, a)).collect();
    let mut question_keys = HashSet::new();
    let mut maturity_in: HashMap<Uuid, usize> = HashMap::new();
    for x in &q.questions {
        let name = format!("question {:?}", x.key);
        if let Some(p) = key_problem("question", &x.key) {
            wrong(p);
        }
        if !question_keys.insert(x.key.as_str()) {
            wrong(format!("{name} appears twice"));
        }
        for (what, text) in [("text", &x.text_sv), ("textEn", &x.text_en)] {
            if let Some(p) = text_problem(&format!("{name}: {what}"), text, 2000) {
                wrong(p);
            }
        }
        let options = q.options_of(x.id);
        let choice = matches!(
            x.kind,
            QuestionKind::SingleChoice | QuestionKind::MultiChoice
        );
        if choice && options.len() < 2 {
            wrong(format!(
                "{name}: a choice question needs at least two options"
            ));
        }
        if !choice && !options.is_empty() {
            wrong(format!("{name}: a {:?} question has no options", x.kind));
        }
        if x.kind != QuestionKind::Number && (x.min_number.is_some() || x.max_number.is_some()) {
            wrong(format!(
                "{name}: minNumber and maxNumber are for NUMBER questions"
            ));
        }
        if let (Some(a), Some(b)) = (x.min_number, x.max_number)
            && (!a.is_finite() || !b.is_finite() || a > b)
        {
            wrong(format!("{name}: minNumber must not exceed maxNumber"));
        }
        if let Some(n) = x.max_length
            && (x.kind != QuestionKind::Text || !(1..=100_000).contains(&n))
        {
            wrong(format!(
                "{name}: maxLength is for TEXT questions, 1 to 100000"
            ));
        }
        if x.maturity {
            *maturity_in.entry(x.area_id).or_default() += 1;
            if x.kind != QuestionKind::SingleChoice {
                wrong(format!("{name}: a maturity question is SINGLE_CHOICE"));
            }
            if area_of.get(&x.area_id).is_none_or(|a| a.number.is_none()) {
                wrong(format!(
                    "{name}: a maturity question belongs in a numbered (maturity) area"
                ));
            }
        }
        let mut option_keys = HashSet::new();
        for o in options {
            let oname = format!("{name}, option {:?}", o.key);
            if let Some(p) = key_problem("option", &o.key) {
                wrong(format!("{name}: {p}"));
            }
            if !option_keys.insert(o.key.as_str()) {
                wrong(format!("{oname} appears twice"));
            }
            for (what, text) in [("label", &o.label_sv), ("labelEn", &o.label_en)] {
                if let Some(p) = text_problem(&format!("{oname}: {what}"), text, 500) {
                    wrong(p);
                }
            }
            match (x.maturity, o.maturity_level) {
                (true, Some(l)) if (1..=4).contains(&l) => {}
                (true, _) => wrong(format!(
                    "{oname}: every option of a maturity question gives a level 1 to 4"
                )),
                (false, Some(_)) => wrong(format!(
                    "{oname}: only options of a maturity question give a maturity level"
                )),
                (false, None) => {}
            }
            match (o.hours_from, o.hours_to) {
                (None, None) => {}
                (Some(a), Some(b)) if (0.0..=168.0).contains(&a) && a <= b && b <= 168.0 => {}
                _ => wrong(format!(
                    "{oname}: hoursFrom and hoursTo go together, 0 <= hoursFrom <= hoursTo <= 168"
                )),
            }
        }
    }
    for a in &q.areas {
        match (a.number, maturity_in.get(&a.id).copied().unwrap_or(0)) {
            (Some(_), 0) => out.push(Problem {
                message: format!(
                    "area {:?} is a maturity area without its maturity question",
                    a.key
                ),
                unfinished: true,
            }),
            (Some(_), n) if n > 1 => out.push(Problem::wrong(format!(
                "area {:?} has {n} maturity questions; a maturity area has exactly one",
                a.key
            ))),
            _ => {}
        }
    }
    if q.questions.is_empty() {
        out.push(Problem {
            message: "the questionnaire has no questions".into(),
            unfinished: true,
        });
    }
    out.extend(condition_problems(q).into_iter().map(Problem::wrong));
    if let Some(b) = baseline {
        out.extend(predecessor_problems(q, b));
    } else {
        for x in &q.questions {
            let named = x.predecessor_key.is_some()
                || q.options_of(x.id)
                    .iter()
                    .any(|o| o.predecessor_key.is_some());
            if named {
                out.push(Problem::wrong(format!(
                    "question {:?} names a predecessor, but the round has no baseline round",
                    x.key
                )));
            }
        }
    }
    out
}

/// Conditions on unknown questions or options, on the question itself, on
/// a question that is not a choice question, and cycles.
fn condition_problems(q: &Questionnaire) -> Vec<String> {
    let mut out = Vec::new();
    let by_key: HashMap<&str, &question::Model> =
        q.questions.iter().map(|x| (x.key.as_str(), x)).collect();
    for x in &q.questions {
        let Some(c) = condition(x) else { continue };
        let name = format!("question {:?}: its condition", x.key);
        let Some(on) = by_key.get(c.question_key.as_str()) else {
            out.push(format!(
                "{name} names no question of the round ({:?})",
                c.question_key
            ));
            continue;
        };
        if on.key == x.key {
            out.push(format!("{name} is on the question itself"));
            continue;
        }
        if !matches!(
            on.kind,
            QuestionKind::SingleChoice | QuestionKind::MultiChoice
        ) {
            out.push(format!(
                "{name} is on {:?}, which is not a choice question",
                on.key
            ));
            continue;
        }
        if c.option_keys.is_empty() {
            out.push(format!("{name} names no option"));
        }
        let keys: HashSet<&str> = q.options_of(on.id).iter().map(|o| o.key.as_str()).collect();
        for k in &c.option_keys {
            if !keys.contains(k.as_str()) {
                out.push(format!(
                    "{name} names {k:?}, which is not an option of {:?}",
                    on.key
                ));
            }
        }
    }
    // Cycles: follow each chain of conditions; a chain longer than the
    // questionnaire, or one that comes back to where it began, is a cycle.
    for x in &q.questions {
        let mut seen: HashSet<&str> = HashSet::from([x.key.as_str()]);
        let mut at = x;
        while let Some(next) = at
            .condition_question_key
            .as_deref()
            .and_then(|k| by_key.get(k))
        {
            if next.key == at.key {
                break; // reported above
            }
            if !seen.insert(next.key.as_str()) {
                if next.key == x.key {
                    out.push(format!(
                        "question {:?}: its conditions go round in a cycle",
                        x.key
                    ));
                }
                break;
            }
            at = next;
        }
    }
    out
}

/// Predecessors the baseline does not have, and predecessors continued
/// twice. Two questions continuing one (a question renamed, its old self
/// not yet removed) is only unfinished: a rename goes through that state.
fn predecessor_problems(q: &Questionnaire, b: &Questionnaire) -> Vec<Problem> {
    let mut out: Vec<String> = Vec::new();
    let mut twice = Vec::new();
    let mut taken: HashMap<&str, &str> = HashMap::new();
    for x in &q.questions {
        if let Some(p) = &x.predecessor_key
            && b.question_by_key(p).is_none()
        {
            out.push(format!(
                "question {:?}: the baseline round has no question {p:?} to continue",
                x.key
            ));
            continue;
        }
        let target = x.predecessor_key.as_deref().unwrap_or(&x.key);
        let Some(before) = b.question_by_key(target) else {
            if q.options_of(x.id)
                .iter()
                .any(|o| o.predecessor_key.is_some())
            {
                out.push(format!(
                    "question {:?} is new in the round: its options have no predecessors to name",
                    x.key
                ));
            }
            continue;
        };
        if let Some(other) = taken.insert(before.key.as_str(), x.key.as_str()) {
            twice.push(format!(
                "questions {other:?} and {:?} both continue the baseline's {:?}",
                x.key, before.key
            ));
        }
        let earlier: HashSet<&str> = b
            .options_of(before.id)
            .iter()
            .map(|o| o.key.as_str())
            .collect();
        let mut used: HashMap<&str, &str> = HashMap::new();
        for o in q.options_of(x.id) {
            if let Some(p) = &o.predecessor_key
                && !earlier.contains(p.as_str())
            {
                out.push(format!(
                    "question {:?}, option {:?}: the baseline's {:?} has no option {p:?}",
                    x.key, o.key, before.key
                ));
                continue;
            }
            let wanted = o.predecessor_key.as_deref().unwrap_or(&o.key);
            if earlier.contains(wanted)
                && let Some(other) = used.insert(wanted, o.key.as_str())
            {
                out.push(format!(
                    "question {:?}: options {other:?} and {:?} both continue {wanted:?}",
                    x.key, o.key
                ));
            }
        }
    }
    let mut problems: Vec<Problem> = out.into_iter().map(Problem::wrong).collect();
    problems.extend(twice.into_iter().map(|message| Problem {
        message,
        unfinished: true,
    }));
    problems
}

/// Refuses `q` where anything in it is wrong (unfinished too, if `opening`),
/// listing every problem in one BAD_USER_INPUT.
pub fn check(q: &Questionnaire, baseline: Option<&Questionnaire>, opening: bool) -> ApiResult<()> {
    let found: Vec<String> = problems(q, baseline)
        .into_iter()
        .filter(|p| opening || !p.unfinished)
        .map(|p| p.message)
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let what = if opening {
        "the questionnaire cannot be opened"
    } else {
        "the questionnaire would be wrong"
    };
    let message = format!("{what}: {}", found.join("; "));
    Err(ApiError::bad_input(message).listing("problems", found))
}

/// The baseline round's questionnaire, where the round has a baseline.
pub async fn baseline_of(
    db: &impl ConnectionTrait,
    round: &entity::survey_round::Model,
) -> ApiResult<Option<Questionnaire>> {
    match round.baseline_id {
        Some(id) => Ok(Some(Questionnaire::load(db, id).await?)),
        None => Ok(None),
    }
}

/// Moves the element at `from` to the 1-based `position` (clamped).
fn place<T>(items: &mut Vec<T>, from: usize, position: Option<i32>) {
    let Some(p) = position else { return };
    let item = items.remove(from);
    let to = usize::try_from(p.max(1) - 1).unwrap_or(0).min(items.len());
    items.insert(to, item);
}

fn area_mut<'a>(q: &'a mut Questionnaire, key: &str) -> ApiResult<&'a mut area::Model> {
    q.areas
        .iter_mut()
        .find(|a| a.key == key)
        .ok_or_else(|| ApiError::not_found(format!("the round has no area {key:?}")))
}

/// Adds an area or changes one (by key).
pub fn upsert_area(q: &mut Questionnaire, round_id: Uuid, edit: AreaEdit) -> ApiResult<()> {
    let at = match q.areas.iter().position(|a| a.key == edit.key) {
        Some(i) => {
            let a = &mut q.areas[i];
            a.number = edit.number;
            a.title_sv = edit.title_sv.trim().to_owned();
            a.title_en = edit.title_en.trim().to_owned();
            i
        }
        None => {
            q.areas.push(area::Model {
                id: Uuid::new_v4(),
                round_id,
                key: edit.key,
                number: edit.number,
                title_sv: edit.title_sv.trim().to_owned(),
                title_en: edit.title_en.trim().to_owned(),
                position: 0,
            });
            q.areas.len() - 1
        }
    };
    place(&mut q.areas, at, edit.position);
    Ok(())
}

/// Removes an area without questions.
pub fn remove_area(q: &mut Questionnaire, key: &str) -> ApiResult<()> {
    let id = area_mut(q, key)?.id;
    let held: Vec<&str> = q
        .questions
        .iter()
        .filter(|x| x.area_id == id)
        .map(|x| x.key.as_str())
        .collect();
    if !held.is_empty() {
        return Err(ApiError::FailedPrecondition(format!(
            "area {key:?} still has questions ({}): remove or move them first",
            held.join(", ")
        )));
    }
    q.areas.retain(|a| a.key != key);
    Ok(())
}

/// Adds a question or replaces one (by key), with all its options.
pub fn upsert_question(q: &mut Questionnaire, round_id: Uuid, edit: QuestionEdit) -> ApiResult<()> {
    let area_id = area_mut(q, &edit.area_key)?.id;
    let existing = q.questions.iter().position(|x| x.key == edit.key);
    let id = existing.map_or_else(Uuid::new_v4, |i| q.questions[i].id);
    let moved = existing.is_some_and(|i| q.questions[i].area_id != area_id);
    let model = question::Model {
        id,
        round_id,
        area_id,
        key: edit.key.clone(),
        text_sv: edit.text_sv.trim().to_owned(),
        text_en: edit.text_en.trim().to_owned(),
        kind: edit.kind,
        required: edit.required,
        maturity: edit.maturity,
        position: 0,
        condition_question_key: edit.condition.as_ref().map(|c| c.question_key.clone()),
        condition_option_keys: edit
            .condition
            .as_ref()
            .map(|c| serde_json::to_string(&c.option_keys).unwrap_or_default()),
        min_number: edit.min_number,
        max_number: edit.max_number,
        max_length: edit.max_length,
        predecessor_key: edit.predecessor_key.filter(|p| *p != edit.key),
    };
    // The area's questions in order, this one in its place.
    let mut siblings: Vec<question::Model> = q
        .questions
        .iter()
        .filter(|x| x.area_id == area_id && x.key != edit.key)
        .cloned()
        .collect();
    let keep_place = existing.filter(|_| !moved).map(|i| {
        q.questions[..i]
            .iter()
            .filter(|x| x.area_id == area_id)
            .count()
    });
    let at = keep_place.unwrap_or(siblings.len()).min(siblings.len());
    siblings.insert(at, model);
    place(&mut siblings, at, edit.position);
    q.questions
        .retain(|x| x.area_id != area_id && x.key != edit.key);
    q.questions.extend(siblings);
    order_questions(q);
    let options = edit
        .options
        .into_iter()
        .enumerate()
        .map(|(i, o)| answer_option::Model {
            id: Uuid::new_v4(),
            question_id: id,
            predecessor_key: o.predecessor_key.filter(|p| *p != o.key),
            key: o.key,
            label_sv: o.label_sv.trim().to_owned(),
            label_en: o.label_en.trim().to_owned(),
            position: i as i32 + 1,
            maturity_level: o.maturity_level,
            affirmative: o.affirmative,
            hours_from: o.hours_from,
            hours_to: o.hours_to,
        })
        .collect();
    q.options.insert(id, options);
    reparse_conditions(q);
    Ok(())
}

/// Removes a question with its options.
pub fn remove_question(q: &mut Questionnaire, key: &str) -> ApiResult<()> {
    let Some(i) = q.questions.iter().position(|x| x.key == key) else {
        return Err(ApiError::not_found(format!(
            "the round has no question {key:?}"
        )));
    };
    let removed = q.questions.remove(i);
    q.options.remove(&removed.id);
    reparse_conditions(q);
    Ok(())
}

/// Questions in questionnaire order: by area, keeping their order within it.
fn order_questions(q: &mut Questionnaire) {
    let rank: HashMap<Uuid, usize> = q.areas.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    q.questions
        .sort_by_key(|x| rank.get(&x.area_id).copied().unwrap_or(usize::MAX));
}

fn reparse_conditions(q: &mut Questionnaire) {
    q.conditions = q
        .questions
        .iter()
        .filter_map(|x| Some((x.id, condition(x)?)))
        .collect();
}

/// Writes `q` as the round's whole questionnaire in place of the one whose
/// questions were `old`, positions renumbered.
async fn write(
    txn: &DatabaseTransaction,
    round_id: Uuid,
    old: Vec<Uuid>,
    q: &Questionnaire,
) -> ApiResult<()> {
    answer_option::Entity::delete_many()
        .filter(answer_option::Column::QuestionId.is_in(old))
        .exec(txn)
        .await?;
    question::Entity::delete_many()
        .filter(question::Column::RoundId.eq(round_id))
        .exec(txn)
        .await?;
    area::Entity::delete_many()
        .filter(area::Column::RoundId.eq(round_id))
        .exec(txn)
        .await?;
    let areas: Vec<area::ActiveModel> = q
        .areas
        .iter()
        .enumerate()
        .map(|(i, a)| area::ActiveModel {
            position: Set(i as i32 + 1),
            ..a.clone().into()
        })
        .collect();
    let mut within: HashMap<Uuid, i32> = HashMap::new();
    let questions: Vec<question::ActiveModel> = q
        .questions
        .iter()
        .map(|x| {
            let n = within.entry(x.area_id).or_default();
            *n += 1;
            question::ActiveModel {
                position: Set(*n),
                ..x.clone().into()
            }
        })
        .collect();
    let options: Vec<answer_option::ActiveModel> = q
        .questions
        .iter()
        .flat_map(|x| q.options_of(x.id))
        .map(|o| answer_option::ActiveModel::from(o.clone()))
        .collect();
    insert_chunks(txn, areas).await?;
    insert_chunks(txn, questions).await?;
    insert_chunks(txn, options).await
}

/// Applies `change` to a DRAFT round's questionnaire in one transaction
/// (the round taken first), validates the result and writes it with a
/// QUESTIONNAIRE_CHANGED event. Returns the round as it is after.
pub async fn edit<F>(
    db: &DatabaseConnection,
    admin: &AdminScope,
    round_id: &str,
    what: &str,
    change: F,
) -> ApiResult<entity::survey_round::Model>
where
    F: Fn(&mut Questionnaire, Uuid) -> ApiResult<()>,
{
    let id = rounds::parse_id(round_id)
        .ok_or_else(|| ApiError::not_found(format!("no round with id {round_id:?}")))?;
    let change = &change;
    let round = retrying(|| async move {
        let txn = db.begin().await?;
        let round = rounds::take(&txn, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no round with id {id}")))?;
        if round.status != RoundStatus::Draft {
            return Err(ApiError::FailedPrecondition(format!(
                "round {} is {}: its questionnaire is locked once it opens",
                round.year, round.status
            )));
        }
        let answered = answer::Entity::find()
            .filter(answer::Column::RoundId.eq(id))
            .count(&txn)
            .await?;
        if answered > 0 {
            return Err(ApiError::FailedPrecondition(format!(
                "round {} holds imported answers: its questionnaire can no longer change",
                round.year
            )));
        }
        let mut q = Questionnaire::load(&txn, id).await?;
        let old: Vec<Uuid> = q.questions.iter().map(|x| x.id).collect();
        change(&mut q, id)?;
        let baseline = baseline_of(&txn, &round).await?;
        check(&q, baseline.as_ref(), false)?;
        write(&txn, id, old, &q).await?;
        changes::record(&txn, ChangeKind::QuestionnaireChanged, id, None).await?;
        txn.commit().await?;
        Ok(round)
    })
    .await?;
    tracing::info!(
        admin = admin.actor(),
        round = round.year,
        change = what,
        "questionnaire changed"
    );
    Ok(round)
}

//! Writes the reference data idempotently: rows that exist (by natural key) are
//! left as they are, missing rows are inserted, so a second run changes nothing.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{
    RoundStatus, SegmentKind, answer_option, area, classification, municipality,
    municipality_segment, question, segment, survey_round,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::reference::{self, DataError, RoundSpec};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("reference data: {0}")]
    Data(#[from] DataError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

/// How many rows one run inserted; all zero on a second run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub municipalities: usize,
    pub classifications: usize,
    pub segments: usize,
    pub memberships: usize,
    pub rounds: usize,
    pub areas: usize,
    pub questions: usize,
    pub options: usize,
}

impl SeedReport {
    pub fn total(&self) -> usize {
        self.municipalities
            + self.classifications
            + self.segments
            + self.memberships
            + self.rounds
            + self.areas
            + self.questions
            + self.options
    }
}

/// True when the database holds no municipalities yet (a fresh database).
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(municipality::Entity::find().count(db).await? == 0)
}

/// Loads the municipalities, both classifications and the 2019 and 2023
/// reference rounds with their questionnaires, in one transaction.
pub async fn reference(db: &DatabaseConnection) -> Result<SeedReport, SeedError> {
    let data = reference::load()?;
    let txn = db.begin().await?;
    let mut report = SeedReport::default();

    let have: HashSet<String> = municipality::Entity::find()
        .select_only()
        .column(municipality::Column::Code)
        .into_tuple()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let rows: Vec<_> = data
        .municipalities
        .iter()
        .filter(|m| !have.contains(&m.code))
        .map(|m| municipality::ActiveModel {
            code: Set(m.code.clone()),
            name: Set(m.name.clone()),
            county_code: Set(m.county_code.clone()),
            county_name: Set(m.county_name.clone()),
        })
        .collect();
    report.municipalities = rows.len();
    insert_all(&txn, rows).await?;

    for c in &data.classifications {
        if classification::Entity::find_by_id(c.id)
            .one(&txn)
            .await?
            .is_none()
        {
            classification::Entity::insert(classification::ActiveModel {
                id: Set(c.id.into()),
                name: Set(c.name.into()),
                year: Set(c.year),
                is_current: Set(c.is_current),
            })
            .exec(&txn)
            .await?;
            report.classifications += 1;
        }
        let have: HashSet<String> = segment::Entity::find()
            .filter(segment::Column::ClassificationId.eq(c.id))
            .select_only()
            .column(segment::Column::Code)
            .into_tuple()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let rows: Vec<_> = c
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| !have.contains(&s.code))
            .map(|(i, s)| segment::ActiveModel {
                classification_id: Set(c.id.into()),
                code: Set(s.code.clone()),
                kind: Set(if s.parent.is_some() {
                    SegmentKind::Subgroup
                } else {
                    SegmentKind::Group
                }),
                parent_code: Set(s.parent.clone()),
                name: Set(s.name.clone()),
                position: Set(i as i32),
            })
            .collect();
        report.segments += rows.len();
        insert_all(&txn, rows).await?;

        let have: HashSet<String> = municipality_segment::Entity::find()
            .filter(municipality_segment::Column::ClassificationId.eq(c.id))
            .select_only()
            .column(municipality_segment::Column::MunicipalityCode)
            .into_tuple()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let rows: Vec<_> = c
            .members
            .iter()
            .filter(|m| !have.contains(&m.municipality_code))
            .map(|m| municipality_segment::ActiveModel {
                municipality_code: Set(m.municipality_code.clone()),
                classification_id: Set(c.id.into()),
                group_code: Set(m.group_code.clone()),
                subgroup_code: Set(m.subgroup_code.clone()),
            })
            .collect();
        report.memberships += rows.len();
        insert_all(&txn, rows).await?;
    }

    for spec in &data.rounds {
        seed_round(&txn, spec, &mut report).await?;
    }
    txn.commit().await?;
    Ok(report)
}

/// Inserts rows in chunks that keep every statement under SQLite's bound-parameter limit.
pub(crate) async fn insert_all<C, A>(db: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(500).collect();
        A::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

async fn seed_round<C: ConnectionTrait>(
    txn: &C,
    spec: &RoundSpec,
    report: &mut SeedReport,
) -> Result<(), DbErr> {
    let round_id = match survey_round::Entity::find()
        .filter(survey_round::Column::Year.eq(spec.year))
        .one(txn)
        .await?
    {
        Some(existing) => existing.id,
        None => {
            let now = Utc::now();
            survey_round::Entity::insert(survey_round::ActiveModel {
                id: Set(spec.id),
                year: Set(spec.year),
                title: Set(spec.title.clone()),
                description: Set(Some(spec.description.clone())),
                status: Set(RoundStatus::Closed),
                opens_at: Set(spec.opens_at),
                closes_at: Set(spec.closes_at),
                published_at: Set(None),
                baseline_id: Set(spec.baseline_id),
                classification_id: Set(spec.classification_id.into()),
                demo: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec_without_returning(txn)
            .await?;
            report.rounds += 1;
            spec.id
        }
    };

    let areas: HashMap<String, Uuid> = area::Entity::find()
        .filter(area::Column::RoundId.eq(round_id))
        .select_only()
        .columns([area::Column::Key, area::Column::Id])
        .into_tuple()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let questions: HashMap<String, Uuid> = question::Entity::find()
        .filter(question::Column::RoundId.eq(round_id))
        .select_only()
        .columns([question::Column::Key, question::Column::Id])
        .into_tuple()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let options: HashSet<(Uuid, String)> = answer_option::Entity::find()
        .filter(answer_option::Column::QuestionId.is_in(questions.values().copied()))
        .select_only()
        .columns([
            answer_option::Column::QuestionId,
            answer_option::Column::Key,
        ])
        .into_tuple()
        .all(txn)
        .await?
        .into_iter()
        .collect();

    let (mut new_areas, mut new_questions, mut new_options) = (Vec::new(), Vec::new(), Vec::new());
    let mut position = 0;
    for (area_pos, a) in spec.areas.iter().enumerate() {
        let area_id = match areas.get(&a.key) {
            Some(id) => *id,
            None => {
                let id = Uuid::new_v4();
                new_areas.push(area::ActiveModel {
                    id: Set(id),
                    round_id: Set(round_id),
                    key: Set(a.key.clone()),
                    number: Set(a.number),
                    title_sv: Set(a.title_sv.clone()),
                    title_en: Set(a.title_en.clone()),
                    position: Set(area_pos as i32),
                });
                id
            }
        };
        for q in &a.questions {
            position += 1;
            let question_id = match questions.get(&q.key) {
                Some(id) => *id,
                None => {
                    let id = Uuid::new_v4();
                    new_questions.push(question::ActiveModel {
                        id: Set(id),
                        round_id: Set(round_id),
                        area_id: Set(area_id),
                        key: Set(q.key.clone()),
                        text_sv: Set(q.text_sv.clone()),
                        text_en: Set(q.text_en.clone()),
                        kind: Set(q.kind),
                        required: Set(q.required),
                        maturity: Set(q.maturity),
                        position: Set(position),
                        condition_question_key: Set(q.condition.as_ref().map(|(k, _)| k.clone())),
                        condition_option_keys: Set(q
                            .condition
                            .as_ref()
                            .map(|(_, keys)| serde_json::to_string(keys).unwrap_or_default())),
                        min_number: Set(None),
                        max_number: Set(None),
                        max_length: Set(None),
                        predecessor_key: Set(None),
                    });
                    id
                }
            };
            for (i, o) in q.options.iter().enumerate() {
                if options.contains(&(question_id, o.key.clone())) {
                    continue;
                }
                new_options.push(answer_option::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    question_id: Set(question_id),
                    key: Set(o.key.clone()),
                    label_sv: Set(o.label_sv.clone()),
                    label_en: Set(o.label_en.clone()),
                    position: Set(i as i32),
                    maturity_level: Set(o.maturity_level),
                    affirmative: Set(o.affirmative),
                    hours_from: Set(o.hours.map(|(from, _)| from)),
                    hours_to: Set(o.hours.map(|(_, to)| to)),
                    predecessor_key: Set(None),
                });
            }
        }
    }
    report.areas += new_areas.len();
    report.questions += new_questions.len();
    report.options += new_options.len();
    insert_all(txn, new_areas).await?;
    insert_all(txn, new_questions).await?;
    insert_all(txn, new_options).await?;
    Ok(())
}

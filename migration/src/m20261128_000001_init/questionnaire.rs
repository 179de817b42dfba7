//! Rounds and their questionnaires: areas, questions, options.

use entity::{answer_option, area, classification, question, survey_round};
use sea_orm_migration::prelude::*;

use super::{at, fk, id, index, short, text};

/// The round and questionnaire tables.
pub(super) async fn up(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    use answer_option::Column as Opt;
    use area::Column as Ar;
    use classification::Column as Cl;
    use question::Column as Qu;
    use survey_round::Column as Ro;

    m.create_table(
        Table::create()
            .table(survey_round::Entity)
            .col(id(Ro::Id).primary_key())
            .col(ColumnDef::new(Ro::Year).integer().not_null().unique_key())
            .col(text(Ro::Title))
            .col(ColumnDef::new(Ro::Description).text())
            .col(short(Ro::Status))
            .col(at(Ro::OpensAt))
            .col(at(Ro::ClosesAt))
            .col(ColumnDef::new(Ro::BaselineId).uuid())
            .col(short(Ro::ClassificationId))
            .col(ColumnDef::new(Ro::Demo).boolean().not_null())
            .col(at(Ro::CreatedAt).not_null())
            .col(at(Ro::UpdatedAt).not_null())
            .foreign_key(
                fk("fk_round_baseline")
                    .from(survey_round::Entity, Ro::BaselineId)
                    .to(survey_round::Entity, Ro::Id),
            )
            .foreign_key(
                fk("fk_round_classification")
                    .from(survey_round::Entity, Ro::ClassificationId)
                    .to(classification::Entity, Cl::Id),
            )
            .to_owned(),
    )
    .await?;
    m.create_index(
        index("ix_round_status")
            .table(survey_round::Entity)
            .col(Ro::Status)
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(area::Entity)
            .col(id(Ar::Id).primary_key())
            .col(id(Ar::RoundId))
            .col(short(Ar::Key).string_len(64))
            .col(ColumnDef::new(Ar::Number).integer())
            .col(text(Ar::TitleSv))
            .col(text(Ar::TitleEn))
            .col(ColumnDef::new(Ar::Position).integer().not_null())
            .foreign_key(
                fk("fk_area_round")
                    .from(area::Entity, Ar::RoundId)
                    .to(survey_round::Entity, Ro::Id),
            )
            .to_owned(),
    )
    .await?;
    m.create_index(
        index("ux_area_round_key")
            .table(area::Entity)
            .col(Ar::RoundId)
            .col(Ar::Key)
            .unique()
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(question::Entity)
            .col(id(Qu::Id).primary_key())
            .col(id(Qu::RoundId))
            .col(id(Qu::AreaId))
            .col(short(Qu::Key).string_len(64))
            .col(ColumnDef::new(Qu::TextSv).text().not_null())
            .col(ColumnDef::new(Qu::TextEn).text().not_null())
            .col(short(Qu::Kind))
            .col(ColumnDef::new(Qu::Required).boolean().not_null())
            .col(ColumnDef::new(Qu::Maturity).boolean().not_null())
            .col(ColumnDef::new(Qu::Position).integer().not_null())
            .col(ColumnDef::new(Qu::ConditionQuestionKey).string_len(64))
            .col(ColumnDef::new(Qu::ConditionOptionKeys).text())
            .col(ColumnDef::new(Qu::MinNumber).double())
            .col(ColumnDef::new(Qu::MaxNumber).double())
            .col(ColumnDef::new(Qu::MaxLength).integer())
            .foreign_key(
                fk("fk_question_round")
                    .from(question::Entity, Qu::RoundId)
                    .to(survey_round::Entity, Ro::Id),
            )
            .foreign_key(
                fk("fk_question_area")
                    .from(question::Entity, Qu::AreaId)
                    .to(area::Entity, Ar::Id),
            )
            .to_owned(),
    )
    .await?;
    m.create_index(
        index("ux_question_round_key")
            .table(question::Entity)
            .col(Qu::RoundId)
            .col(Qu::Key)
            .unique()
            .to_owned(),
    )
    .await?;
    m.create_index(
        index("ix_question_area")
            .table(question::Entity)
            .col(Qu::AreaId)
            .col(Qu::Position)
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(answer_option::Entity)
            .col(id(Opt::Id).primary_key())
            .col(id(Opt::QuestionId))
            .col(short(Opt::Key).string_len(64))
            .col(text(Opt::LabelSv))
            .col(text(Opt::LabelEn))
            .col(ColumnDef::new(Opt::Position).integer().not_null())
            .col(ColumnDef::new(Opt::MaturityLevel).integer())
            .foreign_key(
                fk("fk_option_question")
                    .from(answer_option::Entity, Opt::QuestionId)
                    .to(question::Entity, Qu::Id),
            )
            .to_owned(),
    )
    .await?;
    m.create_index(
        index("ux_option_question_key")
            .table(answer_option::Entity)
            .col(Opt::QuestionId)
            .col(Opt::Key)
            .unique()
            .to_owned(),
    )
    .await?;

    Ok(())
}

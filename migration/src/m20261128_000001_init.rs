//! The initial schema: reference data, questionnaires, responses and the audit trail.
//!
//! Every lookup the API makes is an index lookup: natural keys are unique
//! indexes, and tenant-owned tables lead with `municipality_code`.

use entity::{
    answer, answer_choice, answer_event, answer_option, area, area_score, classification,
    municipality, municipality_segment, question, response, segment, survey_round,
};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_init"
    }
}

fn code(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(4).not_null().to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

fn short(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(32).not_null().to_owned()
}

fn at(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().to_owned()
}

fn fk(name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Restrict)
        .to_owned()
}

fn index(name: &str) -> IndexCreateStatement {
    Index::create().name(name).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use answer::Column as Ans;
        use answer_choice::Column as Cho;
        use answer_event::Column as Ev;
        use answer_option::Column as Opt;
        use area::Column as Ar;
        use area_score::Column as Sc;
        use classification::Column as Cl;
        use municipality::Column as Mu;
        use municipality_segment::Column as Ms;
        use question::Column as Qu;
        use response::Column as Re;
        use segment::Column as Se;
        use survey_round::Column as Ro;

        m.create_table(
            Table::create()
                .table(municipality::Entity)
                .col(code(Mu::Code).primary_key())
                .col(text(Mu::Name))
                .col(ColumnDef::new(Mu::CountyCode).string_len(2).not_null())
                .col(text(Mu::CountyName))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(classification::Entity)
                .col(short(Cl::Id).primary_key())
                .col(text(Cl::Name))
                .col(ColumnDef::new(Cl::Year).integer().not_null())
                .col(ColumnDef::new(Cl::IsCurrent).boolean().not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(segment::Entity)
                .col(short(Se::ClassificationId))
                .col(short(Se::Code))
                .col(short(Se::Kind))
                .col(ColumnDef::new(Se::ParentCode).string_len(32))
                .col(text(Se::Name))
                .col(ColumnDef::new(Se::Position).integer().not_null())
                .primary_key(Index::create().col(Se::ClassificationId).col(Se::Code))
                .foreign_key(
                    fk("fk_segment_classification")
                        .from(segment::Entity, Se::ClassificationId)
                        .to(classification::Entity, Cl::Id),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(municipality_segment::Entity)
                .col(code(Ms::MunicipalityCode))
                .col(short(Ms::ClassificationId))
                .col(short(Ms::GroupCode))
                .col(short(Ms::SubgroupCode))
                .primary_key(
                    Index::create()
                        .col(Ms::MunicipalityCode)
                        .col(Ms::ClassificationId),
                )
                .foreign_key(
                    fk("fk_ms_municipality")
                        .from(municipality_segment::Entity, Ms::MunicipalityCode)
                        .to(municipality::Entity, Mu::Code),
                )
                .foreign_key(
                    fk("fk_ms_group")
                        .from(
                            municipality_segment::Entity,
                            (Ms::ClassificationId, Ms::GroupCode),
                        )
                        .to(segment::Entity, (Se::ClassificationId, Se::Code)),
                )
                .foreign_key(
                    fk("fk_ms_subgroup")
                        .from(
                            municipality_segment::Entity,
                            (Ms::ClassificationId, Ms::SubgroupCode),
                        )
                        .to(segment::Entity, (Se::ClassificationId, Se::Code)),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_ms_classification_subgroup")
                .table(municipality_segment::Entity)
                .col(Ms::ClassificationId)
                .col(Ms::SubgroupCode)
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_ms_classification_group")
                .table(municipality_segment::Entity)
                .col(Ms::ClassificationId)
                .col(Ms::GroupCode)
                .to_owned(),
        )
        .await?;

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

        m.create_table(
            Table::create()
                .table(response::Entity)
                .col(code(Re::MunicipalityCode))
                .col(id(Re::RoundId))
                .col(short(Re::Status))
                .col(ColumnDef::new(Re::Version).integer().not_null())
                .col(at(Re::CreatedAt).not_null())
                .col(at(Re::UpdatedAt))
                .col(at(Re::SubmittedAt))
                .primary_key(Index::create().col(Re::MunicipalityCode).col(Re::RoundId))
                .foreign_key(
                    fk("fk_response_municipality")
                        .from(response::Entity, Re::MunicipalityCode)
                        .to(municipality::Entity, Mu::Code),
                )
                .foreign_key(
                    fk("fk_response_round")
                        .from(response::Entity, Re::RoundId)
                        .to(survey_round::Entity, Ro::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_response_round_status")
                .table(response::Entity)
                .col(Re::RoundId)
                .col(Re::Status)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(answer::Entity)
                .col(code(Ans::MunicipalityCode))
                .col(id(Ans::RoundId))
                .col(id(Ans::QuestionId))
                .col(ColumnDef::new(Ans::NumberValue).double())
                .col(ColumnDef::new(Ans::TextValue).text())
                .col(at(Ans::UpdatedAt).not_null())
                .primary_key(
                    Index::create()
                        .col(Ans::MunicipalityCode)
                        .col(Ans::RoundId)
                        .col(Ans::QuestionId),
                )
                .foreign_key(
                    fk("fk_answer_response")
                        .from(answer::Entity, (Ans::MunicipalityCode, Ans::RoundId))
                        .to(response::Entity, (Re::MunicipalityCode, Re::RoundId)),
                )
                .foreign_key(
                    fk("fk_answer_question")
                        .from(answer::Entity, Ans::QuestionId)
                        .to(question::Entity, Qu::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_answer_round_question")
                .table(answer::Entity)
                .col(Ans::RoundId)
                .col(Ans::QuestionId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(answer_choice::Entity)
                .col(code(Cho::MunicipalityCode))
                .col(id(Cho::RoundId))
                .col(id(Cho::QuestionId))
                .col(id(Cho::OptionId))
                .primary_key(
                    Index::create()
                        .col(Cho::MunicipalityCode)
                        .col(Cho::RoundId)
                        .col(Cho::QuestionId)
                        .col(Cho::OptionId),
                )
                .foreign_key(
                    fk("fk_choice_answer")
                        .from(
                            answer_choice::Entity,
                            (Cho::MunicipalityCode, Cho::RoundId, Cho::QuestionId),
                        )
                        .to(
                            answer::Entity,
                            (Ans::MunicipalityCode, Ans::RoundId, Ans::QuestionId),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    fk("fk_choice_option")
                        .from(answer_choice::Entity, Cho::OptionId)
                        .to(answer_option::Entity, Opt::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_choice_round_option")
                .table(answer_choice::Entity)
                .col(Cho::RoundId)
                .col(Cho::OptionId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(answer_event::Entity)
                .col(
                    ColumnDef::new(Ev::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(code(Ev::MunicipalityCode))
                .col(id(Ev::RoundId))
                .col(id(Ev::QuestionId))
                .col(ColumnDef::new(Ev::Version).integer().not_null())
                .col(text(Ev::Subject))
                .col(at(Ev::At).not_null())
                .col(ColumnDef::new(Ev::Before).text())
                .col(ColumnDef::new(Ev::After).text())
                .foreign_key(
                    fk("fk_event_response")
                        .from(answer_event::Entity, (Ev::MunicipalityCode, Ev::RoundId))
                        .to(response::Entity, (Re::MunicipalityCode, Re::RoundId)),
                )
                .foreign_key(
                    fk("fk_event_question")
                        .from(answer_event::Entity, Ev::QuestionId)
                        .to(question::Entity, Qu::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_event_response")
                .table(answer_event::Entity)
                .col(Ev::MunicipalityCode)
                .col(Ev::RoundId)
                .col(Ev::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(area_score::Entity)
                .col(code(Sc::MunicipalityCode))
                .col(id(Sc::RoundId))
                .col(id(Sc::AreaId))
                .col(ColumnDef::new(Sc::Level).integer().not_null())
                .primary_key(
                    Index::create()
                        .col(Sc::MunicipalityCode)
                        .col(Sc::RoundId)
                        .col(Sc::AreaId),
                )
                .foreign_key(
                    fk("fk_score_response")
                        .from(area_score::Entity, (Sc::MunicipalityCode, Sc::RoundId))
                        .to(response::Entity, (Re::MunicipalityCode, Re::RoundId)),
                )
                .foreign_key(
                    fk("fk_score_area")
                        .from(area_score::Entity, Sc::AreaId)
                        .to(area::Entity, Ar::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_score_round_area")
                .table(area_score::Entity)
                .col(Sc::RoundId)
                .col(Sc::AreaId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            area_score::Entity.into_table_ref(),
            answer_event::Entity.into_table_ref(),
            answer_choice::Entity.into_table_ref(),
            answer::Entity.into_table_ref(),
            response::Entity.into_table_ref(),
            answer_option::Entity.into_table_ref(),
            question::Entity.into_table_ref(),
            area::Entity.into_table_ref(),
            survey_round::Entity.into_table_ref(),
            municipality_segment::Entity.into_table_ref(),
            segment::Entity.into_table_ref(),
            classification::Entity.into_table_ref(),
            municipality::Entity.into_table_ref(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

//! The tenant tables: responses, answers, chosen options, the audit trail
//! and frozen scores, each keyed with the municipality code first.

use entity::{
    answer, answer_choice, answer_event, answer_option, area, area_score, municipality, question,
    response, survey_round,
};
use sea_orm_migration::prelude::*;

use super::{at, code, fk, id, index, short, text};

/// The tenant tables.
pub(super) async fn up(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    use answer::Column as Ans;
    use answer_choice::Column as Cho;
    use answer_event::Column as Ev;
    use answer_option::Column as Opt;
    use area::Column as Ar;
    use area_score::Column as Sc;
    use municipality::Column as Mu;
    use question::Column as Qu;
    use response::Column as Re;
    use survey_round::Column as Ro;

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

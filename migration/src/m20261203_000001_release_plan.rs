//! The release plans of the disclosure control: one row per round and per
//! pair of rounds a panel was asked for.

use entity::{release_plan, survey_round};
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000001_release_plan"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use release_plan::Column as Rp;
        let fk = |name: &str, column: Rp| {
            ForeignKey::create()
                .name(name)
                .from(release_plan::Entity, column)
                .to(survey_round::Entity, survey_round::Column::Id)
                .on_delete(ForeignKeyAction::Restrict)
                .on_update(ForeignKeyAction::Restrict)
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(release_plan::Entity)
                .col(
                    ColumnDef::new(Rp::Id)
                        .string_len(100)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Rp::RoundId).uuid().not_null())
                .col(ColumnDef::new(Rp::PairedRoundId).uuid())
                .col(ColumnDef::new(Rp::MinCell).integer().not_null())
                .col(ColumnDef::new(Rp::Plan).text().not_null())
                .col(
                    ColumnDef::new(Rp::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(&mut fk("fk_release_plan_round", Rp::RoundId))
                .foreign_key(&mut fk("fk_release_plan_paired_round", Rp::PairedRoundId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_release_plan_round")
                .table(release_plan::Entity)
                .col(Rp::RoundId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_release_plan_paired_round")
                .table(release_plan::Entity)
                .col(Rp::PairedRoundId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(release_plan::Entity).to_owned())
            .await
    }
}

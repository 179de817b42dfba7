//! Guidance: SKR's text per round and maturity area of what the next
//! maturity level asks, replacing the built-in default
//! (`schema::services::guidance`). Public text, no kommun's data.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000010_guidance"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("guidance")
                .col(ColumnDef::new("round_id").uuid().not_null())
                .col(ColumnDef::new("area_key").string_len(64).not_null())
                .col(ColumnDef::new("text_sv").text().not_null())
                .col(ColumnDef::new("text_en").text().not_null())
                .col(ColumnDef::new("reference").string_len(500).not_null())
                .col(ColumnDef::new("updated_by").string().not_null())
                .col(
                    ColumnDef::new("updated_at")
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .primary_key(Index::create().col("round_id").col("area_key"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_guidance_round")
                        .from("guidance", "round_id")
                        .to("survey_round", "id"),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("guidance").to_owned())
            .await
    }
}

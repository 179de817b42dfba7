//! Webhooks: endpoints SKR admins register (`webhook`), one delivery per
//! endpoint and change-feed event (`webhook_delivery`, unique per pair), and
//! every attempt to deliver it (`webhook_attempt`). The change feed is the
//! outbox: its events are written in the transaction of the change; the
//! dispatcher turns them into deliveries after `webhook.cursor` (the last
//! event it has fanned out to the endpoint) and retries until delivered.
//! None of these tables belongs to a kommun: only the server's role uses them.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000009_webhooks"
    }
}

fn at(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("webhook")
                .col(ColumnDef::new("id").uuid().not_null().primary_key())
                .col(ColumnDef::new("url").string_len(2048).not_null())
                .col(ColumnDef::new("events").string_len(512).not_null())
                .col(ColumnDef::new("secret").string_len(256).not_null())
                .col(ColumnDef::new("created_by").string().not_null())
                .col(at("created_at").not_null())
                .col(ColumnDef::new("cursor").big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_delivery")
                .col(
                    ColumnDef::new("id")
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new("webhook_id").uuid().not_null())
                .col(ColumnDef::new("change_id").big_integer().not_null())
                .col(ColumnDef::new("status").string_len(16).not_null())
                .col(ColumnDef::new("attempts").integer().not_null())
                .col(at("next_attempt_at").not_null())
                .col(at("created_at").not_null())
                .col(at("delivered_at").null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_delivery_webhook")
                        .from("webhook_delivery", "webhook_id")
                        .to("webhook", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_delivery_webhook_change")
                .table("webhook_delivery")
                .col("webhook_id")
                .col("change_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_delivery_due")
                .table("webhook_delivery")
                .col("status")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_attempt")
                .col(ColumnDef::new("delivery_id").big_integer().not_null())
                .col(ColumnDef::new("number").integer().not_null())
                .col(at("at").not_null())
                .col(ColumnDef::new("status_code").integer().null())
                .col(ColumnDef::new("error").string_len(512).null())
                .col(ColumnDef::new("duration_ms").big_integer().not_null())
                .primary_key(Index::create().col("delivery_id").col("number"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_attempt_delivery")
                        .from("webhook_attempt", "delivery_id")
                        .to("webhook_delivery", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_attempt", "webhook_delivery", "webhook"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

//! What an option means, as data: `affirmative` (it says "Ja") and the
//! bounds of an hour span, so that derived figures, the demo generator and
//! the tests read them from the questionnaire instead of spelling keys.
//! Existing options get them from [`crate::reference::semantics`].

use entity::answer_option;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ActiveValue::Set, EntityTrait, QuerySelect};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000003_option_semantics"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use answer_option::Column as Opt;
        // One column per statement: SQLite alters one at a time.
        for column in [
            ColumnDef::new(Opt::Affirmative)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Opt::HoursFrom).double().to_owned(),
            ColumnDef::new(Opt::HoursTo).double().to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(answer_option::Entity)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        let options: Vec<(uuid::Uuid, String)> = answer_option::Entity::find()
            .select_only()
            .columns([Opt::Id, Opt::Key])
            .into_tuple()
            .all(db)
            .await?;
        for (id, key) in options {
            let (affirmative, hours) = crate::reference::semantics(&key);
            if !affirmative && hours.is_none() {
                continue;
            }
            answer_option::Entity::update(answer_option::ActiveModel {
                id: Set(id),
                affirmative: Set(affirmative),
                hours_from: Set(hours.map(|(from, _)| from)),
                hours_to: Set(hours.map(|(_, to)| to)),
                ..Default::default()
            })
            .exec(db)
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use answer_option::Column as Opt;
        for column in [Opt::Affirmative, Opt::HoursFrom, Opt::HoursTo] {
            m.alter_table(
                Table::alter()
                    .table(answer_option::Entity)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

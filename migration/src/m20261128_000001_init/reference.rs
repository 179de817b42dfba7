//! Municipalities, classifications and their segments.

use entity::{classification, municipality, municipality_segment, segment};
use sea_orm_migration::prelude::*;

use super::{code, fk, index, short, text};

/// The reference tables.
pub(super) async fn up(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    use classification::Column as Cl;
    use municipality::Column as Mu;
    use municipality_segment::Column as Ms;
    use segment::Column as Se;

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

    Ok(())
}

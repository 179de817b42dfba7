//! Tenancy: a municipality's rows are reachable only through its
//! [`KommunScope`], which only a verified kommun principal hands out.
//!
//! It is enforced three times over:
//!
//! 1. **By type.** The tenant tables are [`TenantOwned`]; services query them
//!    through the scope's constructors ([`KommunScope::find`], `update`,
//!    `delete`), which carry the municipality filter, so no service writes it
//!    by hand, and no function takes a municipality code from an argument.
//! 2. **By policy.** [`crate::policy`] is the contract's access table; every
//!    resolver asks it for the scope it needs.
//! 3. **By the database.** On PostgreSQL a kommun's work runs in a
//!    transaction begun by [`KommunScope::begin`] (or narrowed by
//!    [`KommunScope::enter`]): it switches to the role [`KOMMUN_ROLE`] and sets
//!    `mognad.kommun`, and row-level security on every tenant table admits
//!    only that municipality's rows. The server's own role is named by a
//!    policy of its own for SKR's and the aggregates' reads (see the
//!    migration `m20261203_000002_row_level_security`). On SQLite the type is
//!    the guard.

use entity::{answer, answer_choice, answer_event, area_score, response};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DeleteMany,
    EntityTrait, QueryFilter, Select, Statement, TransactionTrait, UpdateMany,
};

use crate::domain::KommunCode;
use crate::error::ApiResult;

/// The PostgreSQL role a kommun's transactions run as.
pub const KOMMUN_ROLE: &str = "mognad_kommun";

/// A table whose rows belong to one municipality.
pub trait TenantOwned: EntityTrait {
    /// The column holding the municipality code.
    fn municipality() -> Self::Column;
}

macro_rules! tenant_owned {
    ($($table:ident),*) => {$(
        impl TenantOwned for $table::Entity {
            fn municipality() -> Self::Column {
                $table::Column::MunicipalityCode
            }
        }
    )*};
}

tenant_owned!(response, answer, answer_choice, answer_event, area_score);

/// Permission to read and write one municipality's own rows: the token's
/// municipality, and the token's subject for the audit trail. Made only by
/// [`crate::Principal::kommun_scope`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KommunScope {
    code: KommunCode,
    subject: String,
}

impl KommunScope {
    pub(crate) fn new(code: KommunCode, subject: String) -> Self {
        Self { code, subject }
    }

    /// The municipality's code, for the rows the scope inserts.
    pub fn code(&self) -> &str {
        self.code.as_str()
    }

    /// The token subject, written into the audit trail.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The scope's own rows of a tenant table.
    pub fn find<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::municipality().eq(self.code()))
    }

    /// An update of the scope's own rows of a tenant table.
    pub fn update<E: TenantOwned>(&self) -> UpdateMany<E> {
        E::update_many().filter(E::municipality().eq(self.code()))
    }

    /// A delete of the scope's own rows of a tenant table.
    pub fn delete<E: TenantOwned>(&self) -> DeleteMany<E> {
        E::delete_many().filter(E::municipality().eq(self.code()))
    }

    /// A transaction in which the database shows this municipality's tenant
    /// rows only (PostgreSQL; on SQLite a plain transaction).
    pub async fn begin(&self, db: &DatabaseConnection) -> ApiResult<DatabaseTransaction> {
        let txn = db.begin().await?;
        self.enter(&txn).await?;
        Ok(txn)
    }

    /// Narrows a transaction to this municipality's tenant rows from here on
    /// (PostgreSQL): after the locks on shared rows it takes as the server.
    pub async fn enter(&self, txn: &DatabaseTransaction) -> ApiResult<()> {
        if txn.get_database_backend() == DbBackend::Postgres {
            // `set_config('role', …, true)` is `SET LOCAL ROLE`, in the same statement.
            txn.query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('role', $1, true), set_config('mognad.kommun', $2, true)",
                [KOMMUN_ROLE.into(), self.code().into()],
            ))
            .await?;
        }
        Ok(())
    }
}

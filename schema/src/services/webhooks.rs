//! Webhooks: SKR admins register endpoints for kinds of change-feed events;
//! the server delivers each event to each endpoint, signed, until the
//! endpoint takes it (a 2xx answer) or the attempts run out.
//!
//! **The outbox.** The change feed is the transactional outbox: an event is
//! written in the transaction that makes the change ([`super::changes`]),
//! so no change goes without its event and no event without its change.
//! The dispatcher ([`fan_out`]) turns the events after an endpoint's
//! `cursor` into deliveries and moves the cursor, in one transaction; the
//! feed's ordering guarantee (events commit in id order) means that no
//! event can appear behind a cursor that has passed it. Deliveries are rows,
//! so they survive a restart; a delivery is taken for an attempt
//! ([`claim`]) by moving its `next_attempt_at` a lease ahead (on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several servers share the
//! work), and a server that dies mid-attempt leaves it to be taken again
//! when the lease ends. Delivery is therefore at least once: receivers
//! deduplicate by the delivery id.
//!
//! **Retries** ([`retry_delay`]): after the n-th failed attempt the next one
//! waits `base × 2^(n−1)`, at most an hour, times a random factor in
//! [0.5, 1) (jitter, so that endpoints that come back are not hit by every
//! delivery at once); after `max_attempts` the delivery is FAILED.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{ChangeKind, change, survey_round, webhook, webhook_attempt, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cursor::{Cursors, List};
use crate::error::{ApiError, ApiResult, retrying};
use crate::policy::{self, AdminScope};
use crate::services::changes;
use crate::services::targets::Targets;

/// Most endpoints that may be registered at once.
pub const MAX_WEBHOOKS: u64 = 50;
/// The longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);
/// How many events one fan-out takes per endpoint.
const FAN_OUT_BATCH: u64 = 500;

/// Where a delivery stands.
pub const PENDING: &str = "PENDING";
pub const DELIVERED: &str = "DELIVERED";
pub const FAILED: &str = "FAILED";

/// What `createWebhook` asks for.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<ChangeKind>,
    pub secret: String,
}

/// Registers an endpoint for events after the newest one committed now.
/// The URL must reach a public address (or one the operator allows):
/// see [`Targets`].
pub async fn create(
    db: &DatabaseConnection,
    admin: &AdminScope,
    targets: &Targets,
    input: NewWebhook,
) -> ApiResult<webhook::Model> {
    let endpoint = targets
        .check(input.url.trim())
        .await
        .map_err(ApiError::bad_input)?;
    let (url, host) = (endpoint.url, endpoint.host);
    let mut events = input.events;
    events.sort_by_key(|k| k.to_value());
    events.dedup();
    if events.is_empty() {
        return Err(ApiError::bad_input("events must name at least one kind"));
    }
    let secret_len = input.secret.len();
    if !(16..=256).contains(&secret_len) {
        return Err(ApiError::bad_input(
            "secret must have 16 to 256 bytes (use a random one)",
        ));
    }
    if webhook::Entity::find().count(db).await? >= MAX_WEBHOOKS {
        return Err(ApiError::bad_input(format!(
            "at most {MAX_WEBHOOKS} webhooks may be registered; delete one first"
        )));
    }
    let cursor: Option<i64> = change::Entity::find()
        .select_only()
        .column_as(change::Column::Id.max(), "max")
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    let model = webhook::Model {
        id: Uuid::new_v4(),
        url,
        events: events
            .iter()
            .map(|k| k.to_value())
            .collect::<Vec<_>>()
            .join(","),
        secret: input.secret,
        created_by: admin.actor().to_owned(),
        created_at: Utc::now(),
        cursor: cursor.unwrap_or(0),
    };
    webhook::Entity::insert(webhook::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await?;
    // The host only: a receiver's path may carry its own secret.
    tracing::info!(admin = admin.actor(), webhook = %model.id, host = %host, events = %model.events, "webhook created");
    Ok(model)
}

/// The kinds an endpoint takes.
pub fn kinds(hook: &webhook::Model) -> Vec<ChangeKind> {
    hook.events
        .split(',')
        .filter_map(|k| ChangeKind::try_from_value(&k.to_owned()).ok())
        .collect()
}

/// Every endpoint, oldest first.
pub async fn list(db: &DatabaseConnection, _admin: &AdminScope) -> ApiResult<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .order_by_asc(webhook::Column::CreatedAt)
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

fn parse_id(what: &str, id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("no {what} with id {id:?}")))
}

/// Deletes an endpoint with its deliveries; nothing more is sent to it.
pub async fn delete(db: &DatabaseConnection, admin: &AdminScope, id: &str) -> ApiResult<()> {
    let uuid = parse_id("webhook", id)?;
    let txn = db.begin().await?;
    // Attempts and deliveries go by the foreign keys' cascade; SQLite's
    // too (foreign keys are on), but explicitly is clearer.
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(uuid))
        .select_only()
        .column(webhook_delivery::Column::Id);
    webhook_attempt::Entity::delete_many()
        .filter(
            webhook_attempt::Column::DeliveryId
                .in_subquery(sea_orm::QueryTrait::into_query(deliveries)),
        )
        .exec(&txn)
        .await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(uuid))
        .exec(&txn)
        .await?;
    let deleted = webhook::Entity::delete_by_id(uuid).exec(&txn).await?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found(format!("no webhook with id {id:?}")));
    }
    txn.commit().await?;
    tracing::info!(admin = admin.actor(), webhook = %uuid, "webhook deleted");
    Ok(())
}

/// A delivery with its event and attempts, for `webhookDeliveries`.
#[derive(Clone, Debug)]
pub struct DeliveryView {
    pub delivery: webhook_delivery::Model,
    pub event: change::Model,
    pub attempts: Vec<webhook_attempt::Model>,
}

/// Deliveries, newest first: of one endpoint or all, in one status or any.
pub async fn deliveries(
    db: &DatabaseConnection,
    _admin: &AdminScope,
    webhook: Option<&str>,
    status: Option<&str>,
    first: u64,
) -> ApiResult<Vec<DeliveryView>> {
    let mut select = webhook_delivery::Entity::find()
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(first);
    if let Some(id) = webhook {
        select = select.filter(webhook_delivery::Column::WebhookId.eq(parse_id("webhook", id)?));
    }
    if let Some(status) = status {
        select = select.filter(webhook_delivery::Column::Status.eq(status));
    }
    let rows = select.all(db).await?;
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let events = events_by_id(db, rows.iter().map(|d| d.change_id)).await?;
    let mut attempts: HashMap<i64, Vec<webhook_attempt::Model>> = HashMap::new();
    for a in webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(webhook_attempt::Column::Number)
        .all(db)
        .await?
    {
        attempts.entry(a.delivery_id).or_default().push(a);
    }
    // A delivery whose event went with its deleted DRAFT round is not
    // listed (the dispatcher removes it when it next comes due).
    Ok(rows
        .into_iter()
        .filter_map(|delivery| {
            let event = events.get(&delivery.change_id).cloned()?;
            let attempts = attempts.remove(&delivery.id).unwrap_or_default();
            Some(DeliveryView {
                delivery,
                event,
                attempts,
            })
        })
        .collect())
}

/// Change-feed events by id.
async fn events_by_id(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = i64>,
) -> ApiResult<HashMap<i64, change::Model>> {
    Ok(change::Entity::find()
        .filter(change::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// The ids of every endpoint.
pub async fn endpoint_ids(db: &DatabaseConnection) -> ApiResult<Vec<Uuid>> {
    Ok(webhook::Entity::find()
        .select_only()
        .column(webhook::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Turns the events after each endpoint's cursor into deliveries (of the
/// kinds it takes), and moves its cursor past them, in one transaction per
/// endpoint. Returns how many deliveries were made.
pub async fn fan_out(db: &DatabaseConnection) -> ApiResult<u64> {
    let ids = endpoint_ids(db).await?;
    let mut made = 0;
    for id in ids {
        made += retrying(|| fan_out_one(db, id)).await?;
    }
    Ok(made)
}

/// [`fan_out`] for one endpoint, in one transaction.
async fn fan_out_one(db: &DatabaseConnection, id: Uuid) -> ApiResult<u64> {
    let txn = db.begin().await?;
    // Another server fanning out the same endpoint holds its row; skip it.
    let hook = if txn.get_database_backend() == DbBackend::Postgres {
        webhook::Model::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT * FROM webhook WHERE id = $1 FOR UPDATE SKIP LOCKED",
            [id.into()],
        ))
        .one(&txn)
        .await?
    } else {
        webhook::Entity::find_by_id(id).one(&txn).await?
    };
    let Some(hook) = hook else {
        return Ok(0);
    };
    let events = change::Entity::find()
        .filter(change::Column::Id.gt(hook.cursor))
        .order_by_asc(change::Column::Id)
        .limit(FAN_OUT_BATCH)
        .all(&txn)
        .await?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(0);
    };
    let wanted = kinds(&hook);
    let now = Utc::now();
    let rows: Vec<webhook_delivery::ActiveModel> = events
        .iter()
        .filter(|e| wanted.contains(&e.kind))
        .map(|e| webhook_delivery::ActiveModel {
            webhook_id: Set(hook.id),
            change_id: Set(e.id),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            delivered_at: Set(None),
            ..Default::default()
        })
        .collect();
    let count = rows.len() as u64;
    if !rows.is_empty() {
        webhook_delivery::Entity::insert_many(rows)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    webhook_delivery::Column::WebhookId,
                    webhook_delivery::Column::ChangeId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    webhook::Entity::update_many()
        .col_expr(webhook::Column::Cursor, Expr::value(last))
        .filter(webhook::Column::Id.eq(hook.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(count)
}

/// A delivery taken for an attempt: what to send where.
#[derive(Clone, Debug)]
pub struct Due {
    pub delivery_id: i64,
    /// Attempts made before this one.
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub webhook_id: Uuid,
    pub event: change::Model,
    pub round_year: i32,
}

#[derive(Debug, FromQueryResult)]
struct Claimed {
    id: i64,
    webhook_id: Uuid,
    change_id: i64,
    attempts: i32,
}

/// The endpoints that have deliveries due now, oldest due first.
pub async fn due_endpoints(db: &DatabaseConnection) -> ApiResult<Vec<Uuid>> {
    let rows: Vec<(Uuid, DateTime<Utc>)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::WebhookId)
        .column_as(webhook_delivery::Column::NextAttemptAt.min(), "due")
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(Utc::now()))
        .group_by(webhook_delivery::Column::WebhookId)
        .into_tuple()
        .all(db)
        .await?;
    let mut rows = rows;
    rows.sort_by_key(|(id, due)| (*due, *id));
    Ok(rows.into_iter().map(|(id, _)| id).collect())
}

/// Takes up to `limit` due deliveries of endpoint `webhook` for an
/// attempt: each is pushed `lease` ahead, so no other server takes it
/// meanwhile, and taken again after the lease if this server does not
/// finish it.
pub async fn claim(
    db: &DatabaseConnection,
    webhook: Uuid,
    lease: Duration,
    limit: u64,
) -> ApiResult<Vec<Due>> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        "UPDATE webhook_delivery SET next_attempt_at = $1 WHERE id IN (\
           SELECT id FROM webhook_delivery WHERE webhook_id = $4 AND status = 'PENDING' AND next_attempt_at <= $2 \
           ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id, webhook_id, change_id, attempts"
    } else {
        "UPDATE webhook_delivery SET next_attempt_at = ?1 WHERE id IN (\
           SELECT id FROM webhook_delivery WHERE webhook_id = ?4 AND status = 'PENDING' AND next_attempt_at <= ?2 \
           ORDER BY next_attempt_at, id LIMIT ?3) \
         RETURNING id, webhook_id, change_id, attempts"
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let claimed = Claimed::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [until.into(), now.into(), limit.into(), webhook.into()],
    ))
    .all(db)
    .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let hooks: HashMap<Uuid, webhook::Model> = webhook::Entity::find()
        .filter(webhook::Column::Id.is_in(claimed.iter().map(|c| c.webhook_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    let events = events_by_id(db, claimed.iter().map(|c| c.change_id)).await?;
    // Deliveries of events that went with a deleted DRAFT round (fanned out
    // while it was being deleted) are removed, not tried.
    let orphans: Vec<i64> = claimed
        .iter()
        .filter(|c| !events.contains_key(&c.change_id))
        .map(|c| c.id)
        .collect();
    if !orphans.is_empty() {
        webhook_attempt::Entity::delete_many()
            .filter(webhook_attempt::Column::DeliveryId.is_in(orphans.clone()))
            .exec(db)
            .await?;
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::Id.is_in(orphans))
            .exec(db)
            .await?;
    }
    let years: HashMap<Uuid, i32> = survey_round::Entity::find()
        .filter(survey_round::Column::Id.is_in(events.values().map(|e| e.round_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.year))
        .collect();
    Ok(claimed
        .into_iter()
        .filter_map(|c| {
            let hook = hooks.get(&c.webhook_id)?;
            let event = events.get(&c.change_id)?.clone();
            Some(Due {
                delivery_id: c.id,
                attempts: c.attempts,
                url: hook.url.clone(),
                secret: hook.secret.clone(),
                webhook_id: hook.id,
                round_year: years.get(&event.round_id).copied().unwrap_or_default(),
                event,
            })
        })
        .collect())
}

/// The JSON body of a delivery: the event as the feed shows it to its
/// receivers' audience ([`policy::webhook_receivers`]: SKR admins, so a
/// response's event is dated by the day), the delivery's ids, and the time
/// it was signed (`timestamp`, Unix seconds, inside the signed body
/// against replays).
pub fn payload(due: &Due, timestamp: i64, cursors: &Cursors) -> Value {
    let e = &due.event;
    let audience = policy::webhook_receivers();
    json!({
        "deliveryId": cursors.delivery_id(due.webhook_id, due.delivery_id),
        "webhookId": due.webhook_id.to_string(),
        "timestamp": timestamp,
        "event": {
            "id": cursors.seal(List::Feed, &audience, e.id),
            "kind": e.kind.to_value(),
            "at": crate::domain::rfc3339(changes::shown_time(&audience, e)),
            "roundId": e.round_id.to_string(),
            "roundYear": due.round_year,
            "municipalityCode": e.municipality_code,
        }
    })
}

/// What one attempt came to.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration: Duration,
}

impl Attempt {
    /// Whether the endpoint took the delivery (a 2xx answer).
    pub fn delivered(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The wait before the attempt after `failed` failed ones: `base ×
/// 2^(failed−1)`, at most [`MAX_DELAY`], times `0.5 + jitter / 2` with
/// `jitter` in [0, 1).
pub fn retry_delay(failed: i32, base: Duration, jitter: f64) -> Duration {
    let exponent = u32::try_from(failed.saturating_sub(1)).unwrap_or(0).min(30);
    let full = base.saturating_mul(1 << exponent).min(MAX_DELAY);
    full.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// When to try again: the first retry's delay (doubling after), and the
/// attempts before a delivery is FAILED.
#[derive(Clone, Copy, Debug)]
pub struct Retries {
    pub base: Duration,
    pub max_attempts: i32,
}

/// Records an attempt and what follows it: delivered, another attempt
/// after [`retry_delay`] (with `jitter` in [0, 1)), or FAILED after
/// `max_attempts` (counted since the delivery was last put in line).
pub async fn record_attempt(
    db: &DatabaseConnection,
    due: &Due,
    attempt: &Attempt,
    retries: Retries,
    jitter: f64,
) -> ApiResult<()> {
    retrying(|| record_once(db, due, attempt, retries, jitter)).await
}

/// One try of [`record_attempt`]: it writes first, so that on SQLite the
/// transaction takes the write lock (waiting for it) before it reads.
async fn record_once(
    db: &DatabaseConnection,
    due: &Due,
    attempt: &Attempt,
    Retries { base, max_attempts }: Retries,
    jitter: f64,
) -> ApiResult<()> {
    let series = due.attempts + 1;
    let now = Utc::now();
    let (status, next, delivered_at) = if attempt.delivered() {
        (DELIVERED, now, Some(now))
    } else if series >= max_attempts {
        (FAILED, now, None)
    } else {
        let wait = retry_delay(series, base, jitter);
        let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
        (PENDING, next, None)
    };
    let txn = db.begin().await?;
    let updated = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(series))
        .col_expr(webhook_delivery::Column::Status, Expr::value(status))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            webhook_delivery::Column::DeliveredAt,
            Expr::value(delivered_at),
        )
        .filter(webhook_delivery::Column::Id.eq(due.delivery_id))
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .filter(webhook_delivery::Column::Attempts.eq(due.attempts))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        // Deleted with its webhook, or recorded by another server after a
        // lease ran out.
        return Ok(());
    }
    // Attempts are numbered across retries.
    let logged: Option<i32> = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(due.delivery_id))
        .select_only()
        .column_as(webhook_attempt::Column::Number.max(), "max")
        .into_tuple()
        .one(&txn)
        .await?
        .flatten();
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        delivery_id: Set(due.delivery_id),
        number: Set(logged.unwrap_or(0) + 1),
        at: Set(attempt.at),
        status_code: Set(attempt.status_code.map(i32::from)),
        error: Set(attempt
            .error
            .as_ref()
            .map(|e| e.chars().take(500).collect())),
        duration_ms: Set(i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX)),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Puts a FAILED delivery back in line, due now, with its attempts so far kept.
pub async fn retry(db: &DatabaseConnection, admin: &AdminScope, id: &str) -> ApiResult<()> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no delivery with id {id:?}")))?;
    let delivery = webhook_delivery::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no delivery with id {id}")))?;
    if delivery.status != FAILED {
        return Err(ApiError::FailedPrecondition(format!(
            "only a FAILED delivery can be retried; this one is {}",
            delivery.status
        )));
    }
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(PENDING))
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Utc::now()),
        )
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Status.eq(FAILED))
        .exec(db)
        .await?;
    tracing::info!(
        admin = admin.actor(),
        delivery = id,
        "webhook delivery retried"
    );
    Ok(())
}

/// The event kind of a test delivery (`testWebhook`): not a feed event, and
/// never recorded as a delivery.
pub const TEST_EVENT: &str = "WEBHOOK_TEST";

/// A signed test event's request, for a [`TestSender`] to post.
#[derive(Clone, Debug)]
pub struct TestDelivery {
    pub url: String,
    pub secret: String,
    /// `test-` and a random id: receivers may tell it from real deliveries.
    pub delivery_id: String,
    /// The JSON body, as a real delivery's ([`payload`]) with the event's
    /// `kind` `WEBHOOK_TEST` and no round.
    pub body: String,
    pub timestamp: i64,
}

/// Posts a [`TestDelivery`] as the dispatcher posts deliveries (signed, to
/// an address a webhook may reach, within its timeout): the HTTP part lives
/// with the dispatcher in the server, and the schema calls it through this.
pub trait TestSender: Send + Sync {
    fn send_test(
        &self,
        delivery: TestDelivery,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Attempt> + Send + '_>>;
}

/// The sender of test events a schema is built with.
#[derive(Clone)]
pub struct Tester(pub std::sync::Arc<dyn TestSender>);

/// Sends webhook `id` a signed test event now and says what came of it;
/// nothing is stored (the attempt is logged).
pub async fn test(
    db: &DatabaseConnection,
    admin: &AdminScope,
    tester: &Tester,
    id: &str,
) -> ApiResult<Attempt> {
    let hook = Uuid::parse_str(id)
        .ok()
        .map(|uuid| webhook::Entity::find_by_id(uuid).one(db));
    let hook = match hook {
        Some(find) => find.await?,
        None => None,
    }
    .ok_or_else(|| ApiError::not_found(format!("no webhook with id {id:?}")))?;
    let at = Utc::now();
    let delivery_id = format!("test-{}", Uuid::new_v4().simple());
    let body = json!({
        "deliveryId": delivery_id,
        "webhookId": hook.id.to_string(),
        "timestamp": at.timestamp(),
        "event": {
            "id": null,
            "kind": TEST_EVENT,
            "at": crate::domain::rfc3339(at),
            "roundId": null,
            "roundYear": null,
            "municipalityCode": null,
        }
    });
    let attempt = tester
        .0
        .send_test(TestDelivery {
            url: hook.url.clone(),
            secret: hook.secret.clone(),
            delivery_id,
            body: body.to_string(),
            timestamp: at.timestamp(),
        })
        .await;
    tracing::info!(admin = admin.actor(), webhook = %hook.id, status = ?attempt.status_code, "webhook test event sent");
    Ok(attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_an_hour_with_jitter_in_the_upper_half() {
        let base = Duration::from_secs(10);
        assert_eq!(retry_delay(1, base, 1.0), Duration::from_secs(10));
        assert_eq!(retry_delay(1, base, 0.0), Duration::from_secs(5));
        assert_eq!(retry_delay(2, base, 1.0), Duration::from_secs(20));
        assert_eq!(retry_delay(4, base, 1.0), Duration::from_secs(80));
        assert_eq!(retry_delay(10, base, 1.0), MAX_DELAY);
        assert_eq!(retry_delay(1000, base, 1.0), MAX_DELAY);
        let d = retry_delay(3, base, 0.5);
        assert!(d >= Duration::from_secs(20) && d < Duration::from_secs(40));
    }
}

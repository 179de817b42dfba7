//! `Webhook`, `WebhookDelivery` and `WebhookAttempt`: SKR admins' view of
//! the endpoints they registered and of what was sent to them.

use crate::types::time::Timestamp;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};

use entity::{webhook, webhook_attempt};
use sea_orm::DatabaseConnection;

use crate::policy;
use crate::principal::Principal;
use crate::services::webhooks::{self, DeliveryView};
use crate::types::change::{Change, ChangeKind};

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not delivered yet: due at `nextAttemptAt`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed; `retryWebhookDelivery` puts it back in line.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => webhooks::PENDING,
            Self::Delivered => webhooks::DELIVERED,
            Self::Failed => webhooks::FAILED,
        }
    }

    fn of(status: &str) -> Self {
        match status {
            webhooks::DELIVERED => Self::Delivered,
            webhooks::FAILED => Self::Failed,
            _ => Self::Pending,
        }
    }
}

pub struct Webhook(pub webhook::Model);

/// An endpoint that receives change-feed events, signed with its secret.
#[Object]
impl Webhook {
    /// The webhook's id (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The kinds of events delivered.
    async fn events(&self) -> Vec<ChangeKind> {
        webhooks::kinds(&self.0)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Who registered it (the token's subject).
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }

    /// When it was registered; it receives the events committed after.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// Its deliveries, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deliveries in this status.")] status: Option<DeliveryStatus>,
        #[graphql(default = 50, desc = "At most this many (1 to 500).")] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let admin = policy::admin(Principal::of(ctx))?;
        let db = ctx.data::<DatabaseConnection>()?;
        let first = crate::services::changes::page_size(first)?;
        let id = self.0.id.to_string();
        let list = webhooks::deliveries(
            db,
            &admin,
            Some(&id),
            status.map(DeliveryStatus::as_str),
            first,
        )
        .await?;
        Ok(list.into_iter().map(WebhookDelivery).collect())
    }
}

pub struct WebhookDelivery(pub DeliveryView);

/// One event for one endpoint, with every attempt to deliver it.
#[Object]
impl WebhookDelivery {
    /// The delivery's id, sent as `X-Mognad-Delivery` and `deliveryId` (receivers deduplicate by it).
    async fn id(&self) -> ID {
        ID(self.0.delivery.id.to_string())
    }

    /// The endpoint's id.
    async fn webhook_id(&self) -> ID {
        ID(self.0.delivery.webhook_id.to_string())
    }

    /// The event delivered, as its payload shows it.
    async fn event(&self, ctx: &Context<'_>) -> Result<Change> {
        let cursors = &ctx.data::<crate::Settings>()?.cursors;
        Ok(Change::shown(
            self.0.event.clone(),
            &crate::policy::webhook_receivers(),
            cursors,
        ))
    }

    /// PENDING, DELIVERED or FAILED.
    async fn status(&self) -> DeliveryStatus {
        DeliveryStatus::of(&self.0.delivery.status)
    }

    /// How many attempts were made (across retries).
    async fn attempt_count(&self) -> i32 {
        i32::try_from(self.0.attempts.len()).unwrap_or(i32::MAX)
    }

    /// When the next attempt is due; null unless PENDING.
    async fn next_attempt_at(&self) -> Option<Timestamp> {
        (self.0.delivery.status == webhooks::PENDING)
            .then_some(Timestamp(self.0.delivery.next_attempt_at))
    }

    /// When the endpoint took it; null unless DELIVERED.
    async fn delivered_at(&self) -> Option<Timestamp> {
        self.0.delivery.delivered_at.map(Timestamp)
    }

    /// Every attempt, oldest first.
    async fn attempts(&self) -> Vec<WebhookAttempt> {
        self.0
            .attempts
            .iter()
            .map(|a: &webhook_attempt::Model| WebhookAttempt {
                number: a.number,
                at: Timestamp(a.at),
                status_code: a.status_code,
                error: a.error.clone(),
                duration_ms: i32::try_from(a.duration_ms).unwrap_or(i32::MAX),
            })
            .collect()
    }
}

/// One try at a delivery.
#[derive(SimpleObject)]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub number: i32,
    /// When it was sent.
    pub at: Timestamp,
    /// The endpoint's HTTP status; null where none came (refused, timed out).
    pub status_code: Option<i32>,
    /// Why it failed; null when delivered.
    pub error: Option<String>,
    /// How long the endpoint took to answer, in milliseconds.
    pub duration_ms: i32,
}
